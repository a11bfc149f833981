//! `config`: keepalived.conf syntax for the VRRP parts, parsed into a validated model.
//!
//! Pure apart from reading the configuration files and listing the directories that `include`
//! globs walk: no clock, no network, no user database, no panics on any input.
//!
//! Layers, each with its own tests:
//! - `preproc`: keepalived's preprocessor on one line (definitions, substitution, generators).
//! - `lexer`: lines, comments, the preprocessor, quotes, braces, `include` splicing (spans carry
//!   the file id and the original column).
//! - `tree`: the generic `keyword args... [{ block }]` grammar.
//! - `keywords`: which keepalived keywords keepvip implements, ignores (warning) or does not
//!   support yet (error), per block.
//! - `build`: keyword handlers, keepalived's defaults and fix-ups, validation.
//!
//! Where keepvip is stricter than keepalived 2.2.7 (which logs and carries on with a changed
//! configuration), it reports an error: out-of-range numbers, unknown keywords and values, a
//! missing literal `include` file, an include cycle, `version 2` with IPv6 addresses, mixed
//! families, duplicate names and VRIDs. Where keepalived silently changes what the file says,
//! keepvip does the same and warns (`state MASTER` without `priority` becomes priority 255,
//! `nopreempt` with `state MASTER` is cleared, ...).

mod build;
mod diag;
mod glob;
pub mod keywords;
mod lexer;
mod model;
mod preproc;
mod source;
mod tree;
mod values;
mod vmac;

use std::path::Path;

pub use diag::{Diagnostic, FileId, Location, Report, Severity, Span};
pub use model::DumpLocations;
pub use model::Fifo;
pub use model::ProcessTuning;
pub use model::Vmac;
pub use model::{
    Broadcast, Config, Garp, GlobalDefs, InitialState, Instance, Notify, NotifyScript, Scope,
    ScriptUser, Vip, VipFlags, VipLease,
};
pub use model::{Prefix, Route, RouteType, Rule, Statics, PROTO_KEEPALIVED, TABLE_MAIN};
pub use model::{
    SyncGroup, TrackFile, TrackFileInit, TrackWeight, TrackedInterface, TrackedRef, Tracking,
    VrrpScript,
};

use diag::Diags;
use source::{FileSystem, RealFs};

/// A configuration that loaded without errors, and the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// How a configuration is read: what keepalived takes from its command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// keepalived's config id (`-i` / `--config-id`): `@ID` lines are kept only when it equals
    /// ID, `@^ID` lines only when it differs; `${_INSTANCE}` is replaced by it. `None` (no id at
    /// all) drops every `@ID` line and keeps every `@^ID` line, as keepalived does.
    pub config_id: Option<String>,
}

/// keepalived's default config id: the host name up to its first '.'.
pub fn default_config_id(hostname: &str) -> Option<String> {
    let short = hostname.trim().split('.').next().unwrap_or("");
    (!short.is_empty()).then(|| short.to_string())
}

/// Reads and validates the configuration at `path`, following its includes. On failure the
/// report holds every error found (and the warnings), not just the first.
pub fn load(path: &Path) -> Result<Loaded, Report> {
    load_with_options(path, &LoadOptions::default())
}

/// [`load`] with keepalived's command-line settings (the config id).
pub fn load_with_options(path: &Path, options: &LoadOptions) -> Result<Loaded, Report> {
    load_fs(&RealFs, path, options)
}

/// Parses `text` as if it were the file at `path` (includes are resolved relative to `path`'s
/// directory, on the real file system). For tests and tools.
pub fn parse_str(text: &str, path: &Path) -> Result<Loaded, Report> {
    parse_fs(&RealFs, text, path, &LoadOptions::default())
}

/// The configuration at `path` after keepalived's preprocessing (conditional lines, definitions,
/// `~SEQ`/`~LST`, includes spliced in), re-rendered as indented keepalived.conf text: what keepvip
/// understood. Problems are not reported here ([`load_with_options`] does that); a file that
/// cannot be read dumps as nothing.
pub fn dump(path: &Path, options: &LoadOptions) -> String {
    dump_fs(&RealFs, path, options)
}

fn dump_fs(fs: &dyn FileSystem, path: &Path, options: &LoadOptions) -> String {
    let Ok(text) = lexer::read_text(fs, path) else {
        return String::new();
    };
    let mut lexer = lexer::Lexer::with_options(fs, options);
    lexer.lex_main(path, &text);
    let tokens = std::mem::take(&mut lexer.tokens);
    let statements = tree::parse(tokens, &mut lexer.diags);
    let mut out = String::new();
    tree::render(&statements, 0, &mut out);
    out
}

/// Entry points for the fuzz targets in `fuzz/`: not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;

    use super::source::MemFs;
    use super::{LoadOptions, Loaded, Report};

    /// Where [`parse_in_memory`] puts the main file; `files` given with relative paths live
    /// beside it.
    pub const MAIN: &str = "/fuzz/keepalived.conf";

    /// Loads `text` as [`MAIN`] with `files` (path, text) as the only other files that exist:
    /// includes, globs and all, never touch the real file system.
    pub fn parse_in_memory(
        text: &str,
        files: &[(&str, &str)],
        config_id: Option<&str>,
    ) -> Result<Loaded, Report> {
        let fs = memfs(text, files);
        let options = options(config_id);
        super::load_fs(&fs, Path::new(MAIN), &options)
    }

    /// [`super::dump`] of the same in-memory tree.
    pub fn dump_in_memory(text: &str, files: &[(&str, &str)], config_id: Option<&str>) -> String {
        super::dump_fs(&memfs(text, files), Path::new(MAIN), &options(config_id))
    }

    fn memfs(text: &str, files: &[(&str, &str)]) -> MemFs {
        let base = Path::new(MAIN).parent().unwrap_or(Path::new("/"));
        files
            .iter()
            .fold(MemFs::new().file(MAIN, text), |fs, (path, text)| {
                let path = base.join(path);
                fs.file(&path.to_string_lossy(), text)
            })
    }

    fn options(config_id: Option<&str>) -> LoadOptions {
        LoadOptions {
            config_id: config_id.map(str::to_string),
        }
    }
}

#[cfg(test)]
fn load_with(fs: &dyn FileSystem, path: &Path) -> Result<Loaded, Report> {
    load_fs(fs, path, &LoadOptions::default())
}

#[cfg(test)]
fn parse_with(fs: &dyn FileSystem, text: &str, path: &Path) -> Result<Loaded, Report> {
    parse_fs(fs, text, path, &LoadOptions::default())
}

fn load_fs(fs: &dyn FileSystem, path: &Path, options: &LoadOptions) -> Result<Loaded, Report> {
    let file_error = |message: String| {
        let mut diags = Diags::default();
        diags.error(None, &[], message);
        Report {
            diagnostics: diags.resolve(&[], path),
        }
    };
    match fs.metadata(path) {
        Err(err) => return Err(file_error(format!("cannot read the configuration: {err}"))),
        Ok(meta) if meta.is_dir => {
            return Err(file_error(
                "is a directory, not a configuration file".to_string(),
            ))
        }
        Ok(meta) if !meta.is_file => return Err(file_error("is not a regular file".to_string())),
        Ok(meta) if meta.executable => {
            return Err(file_error(
                "is executable; keepalived skips an executable configuration file (\"is not a regular non-executable file - skipping\") and would run without it: chmod a-x it"
                    .to_string(),
            ))
        }
        Ok(_) => {}
    }
    let text = lexer::read_text(fs, path).map_err(file_error)?;
    parse_fs(fs, &text, path, options)
}

fn parse_fs(
    fs: &dyn FileSystem,
    text: &str,
    path: &Path,
    options: &LoadOptions,
) -> Result<Loaded, Report> {
    let mut lexer = lexer::Lexer::with_options(fs, options);
    lexer.lex_main(path, text);
    let tokens = std::mem::take(&mut lexer.tokens);
    let statements = tree::parse(tokens, &mut lexer.diags);
    let config = build::build(&statements, &lexer.sources, &mut lexer.diags);
    let mut diags = lexer.diags;
    // Group by file, then by position; `None` (whole-file) first. Stable, so that diagnostics
    // at one position keep their order.
    diags
        .items
        .sort_by_key(|d| d.span.map(|s| (s.file, s.line, s.col)));
    let failed = diags.has_errors();
    let diagnostics = diags.resolve(&config.files, path);
    if failed {
        Err(Report { diagnostics })
    } else {
        Ok(Loaded {
            config,
            warnings: diagnostics,
        })
    }
}

#[cfg(test)]
mod tests;
