//! Diagnostics: which file, where, how bad, and what to do about it.
//!
//! Every diagnostic renders as one line: `path:line:col: severity: context > keyword: message`,
//! for example
//! `/etc/keepvip/keepvip.conf:12:5: error: vrrp_instance VI_1 > priorty: unknown keyword, did you
//! mean 'priority'?`. A diagnostic about a whole file (one that cannot be read, say) has no line
//! and renders as `path: error: message`.

use std::fmt;
use std::path::{Path, PathBuf};

/// Index of a file in [`crate::config::Config::files`] (the main file is 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A position in a configuration file: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
}

/// A resolved position: the file's path instead of its id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    pub path: PathBuf,
    /// 0 when the diagnostic is about the file as a whole.
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.path.display())
        } else {
            write!(f, "{}:{}:{}", self.path.display(), self.line, self.col)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding about the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Location,
    /// The block path down to the offending keyword, outermost first, for example
    /// `["vrrp_instance VI_1", "priorty"]`. Empty for file-level problems.
    pub context: Vec<String>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.location, self.severity)?;
        if !self.context.is_empty() {
            write!(f, "{}: ", self.context.join(" > "))?;
        }
        f.write_str(&self.message)
    }
}

/// Everything found while loading a configuration: all errors and warnings, in source order as
/// far as possible.
///
/// `Display` prints one line per diagnostic, then a summary line (`2 errors, 1 warning`), each
/// line terminated by a newline, so that `--config-test` only needs `eprint!("{report}")`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.errors().count()
    }

    pub fn warning_count(&self) -> usize {
        self.warnings().count()
    }

    /// `"2 errors, 1 warning"`.
    pub fn summary(&self) -> String {
        fn plural(n: usize, word: &str) -> String {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        }
        format!(
            "{}, {}",
            plural(self.error_count(), "error"),
            plural(self.warning_count(), "warning")
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        writeln!(f, "{}", self.summary())
    }
}

impl std::error::Error for Report {}

/// A diagnostic before spans are resolved to paths (files are still being discovered).
#[derive(Clone, Debug)]
pub(crate) struct RawDiag {
    pub severity: Severity,
    /// `None`: about the main file as a whole.
    pub span: Option<Span>,
    pub context: Vec<String>,
    pub message: String,
}

/// Collects diagnostics while lexing, parsing and building.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    pub items: Vec<RawDiag>,
}

impl Diags {
    pub fn error(&mut self, span: Option<Span>, context: &[String], message: impl Into<String>) {
        self.push(Severity::Error, span, context, message.into());
    }

    pub fn warning(&mut self, span: Option<Span>, context: &[String], message: impl Into<String>) {
        self.push(Severity::Warning, span, context, message.into());
    }

    fn push(
        &mut self,
        severity: Severity,
        span: Option<Span>,
        context: &[String],
        message: String,
    ) {
        self.items.push(RawDiag {
            severity,
            span,
            context: context.to_vec(),
            message,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Resolves spans to paths. `files[0]` is the main file.
    pub fn resolve(self, files: &[PathBuf], main: &Path) -> Vec<Diagnostic> {
        self.items
            .into_iter()
            .map(|d| Diagnostic {
                severity: d.severity,
                location: match d.span {
                    Some(span) => locate(files, span),
                    None => Location {
                        path: main.to_path_buf(),
                        line: 0,
                        col: 0,
                    },
                },
                context: d.context,
                message: d.message,
            })
            .collect()
    }
}

/// Resolves a span against a file table; an unknown file id yields `<unknown>` rather than a
/// panic.
pub(crate) fn locate(files: &[PathBuf], span: Span) -> Location {
    let path = usize::try_from(span.file.0)
        .ok()
        .and_then(|i| files.get(i))
        .cloned()
        .unwrap_or_else(|| PathBuf::from("<unknown>"));
    Location {
        path,
        line: span.line,
        col: span.col,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(severity: Severity, line: u32, context: &[&str], message: &str) -> Diagnostic {
        Diagnostic {
            severity,
            location: Location {
                path: PathBuf::from("/etc/keepvip/keepvip.conf"),
                line,
                col: 5,
            },
            context: context.iter().map(|s| s.to_string()).collect(),
            message: message.to_string(),
        }
    }

    #[test]
    fn diagnostic_renders_path_line_col_severity_context_message() {
        let d = diag(
            Severity::Error,
            12,
            &["vrrp_instance VI_1", "priorty"],
            "unknown keyword, did you mean 'priority'?",
        );
        assert_eq!(
            d.to_string(),
            "/etc/keepvip/keepvip.conf:12:5: error: vrrp_instance VI_1 > priorty: unknown keyword, did you mean 'priority'?"
        );
    }

    #[test]
    fn file_level_diagnostic_has_no_line() {
        let d = diag(Severity::Warning, 0, &[], "empty");
        assert_eq!(d.to_string(), "/etc/keepvip/keepvip.conf: warning: empty");
    }

    #[test]
    fn report_lists_every_diagnostic_then_a_summary() {
        let report = Report {
            diagnostics: vec![
                diag(Severity::Error, 1, &[], "a"),
                diag(Severity::Warning, 2, &["global_defs"], "b"),
                diag(Severity::Error, 3, &[], "c"),
            ],
        };
        assert!(report.has_errors());
        assert_eq!(report.error_count(), 2);
        assert_eq!(report.warning_count(), 1);
        assert_eq!(
            report.to_string(),
            "/etc/keepvip/keepvip.conf:1:5: error: a\n\
             /etc/keepvip/keepvip.conf:2:5: warning: global_defs: b\n\
             /etc/keepvip/keepvip.conf:3:5: error: c\n\
             2 errors, 1 warning\n"
        );
    }

    #[test]
    fn locate_tolerates_unknown_file_ids() {
        let loc = locate(
            &[],
            Span {
                file: FileId(7),
                line: 1,
                col: 1,
            },
        );
        assert_eq!(loc.path, PathBuf::from("<unknown>"));
    }
}
