//! keepalived.conf lexing, line by line as keepalived reads it:
//!
//! - `#` or `!` outside double quotes starts a comment to the end of the line; `\#` and `\!` are
//!   literal characters.
//! - A word starting with `"` runs to the next `"` on the line, braces and comment characters
//!   included; the quotes are removed. A `"` inside a bare word ends that word. Single quotes
//!   are ordinary characters here (only script lines give them meaning, see `words`).
//! - `{` and `}` outside double quotes are tokens of their own even when glued to a word
//!   (`vrrp_instance VI_1{`, `192.0.2.1}`); keepalived splits lines at them.
//! - `include PATTERN` (and keepalived's `includer|m|w|b|a` variants) at the start of a
//!   statement takes the rest of the line, quotes included, as a glob relative to the including
//!   file's directory; the included files' tokens are spliced in place, each carrying its own
//!   file id, so a block may even open in one file and close in another as in keepalived.
//! - Before a line is split, keepalived's preprocessor runs on it (see `preproc`): `@ID` /
//!   `@^ID` conditional lines, `$NAME=` definitions (multi-line ones continue while lines end in
//!   `\`), `~SEQ`/`~LST` generators and parameter substitution. Comments are removed first,
//!   and again after substitution (a `${_HASH}` outside quotes starts one, as in keepalived).
//!   Words keep the position of the text they come from: substituted text that of the `$`.
//!   `include` is recognised after preprocessing, so its pattern may use parameters.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::diag::{Diags, FileId, Span};
use super::glob;
use super::preproc::{self, Line};
use super::source::{FileSystem, SourceMap, MAX_FILE_BYTES};

/// Include nesting deeper than this is refused (keepalived has no limit but its file
/// descriptors).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Included files read in total (counting repeats): stops exponential diamond includes.
const MAX_FILES_READ: usize = 1000;
/// Multi-line definitions and generators expanding inside each other deeper than this are
/// refused (a multi-line definition that uses itself).
const MAX_EXPANSION_DEPTH: usize = 32;
/// Times one line is looked at again after a substitution (to find a conditional, a definition
/// or a generator the substitution produced); more never happens in a sane file.
const MAX_PASSES: usize = 64;
/// Lines (and bytes) the preprocessor may hand to the tokenizer in all. keepalived's own example
/// of three nested `~SEQ`s (65,024 instances of a dozen lines each) is beyond it, and beyond
/// what keepvip is meant to run; a real configuration is far below it.
const MAX_OUTPUT_LINES: usize = 250_000;
const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

/// Where a line being preprocessed comes from.
struct Origin<'p> {
    file: FileId,
    line: u32,
    /// Base directory of relative includes.
    dir: &'p Path,
    /// What `${_PWD}` stands for.
    pwd: &'p str,
}

/// A word: its text with quotes removed, and where it sits in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
    /// The preprocessed line the word was read from (comment removed, parameters replaced),
    /// and the word's byte range in it, quotes included.
    pub line: Rc<str>,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Word(Word),
    Open,
    Close,
    /// End of a physical line: ends the statement being read.
    Eol,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// How strictly an include is checked. keepalived 2.2.7's plain `include` only logs missing
/// files; keepvip makes a missing *literal* file an error for every variant, and keeps
/// keepalived's rule that a wildcard matching nothing is fine unless `includew`/`includea`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IncludeChecks {
    /// A wildcard alternative matching no file is an error.
    wildcard_match: bool,
    /// Each `{a,b}` alternative must match at least one file.
    brace_match: bool,
}

fn include_checks(word: &str) -> Option<IncludeChecks> {
    let (wildcard_match, brace_match) = match word {
        "include" | "includer" | "includem" => (false, false),
        "includew" => (true, false),
        "includeb" => (false, true),
        "includea" => (true, true),
        _ => return None,
    };
    Some(IncludeChecks {
        wildcard_match,
        brace_match,
    })
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

pub(crate) struct Lexer<'a> {
    fs: &'a dyn FileSystem,
    pub sources: SourceMap,
    pub diags: Diags,
    pub tokens: Vec<Token>,
    /// Canonical paths of the files being read, outermost first: cycle detection.
    stack: Vec<PathBuf>,
    files_read: usize,
    /// keepalived's config id, for `@ID` / `@^ID` lines.
    config_id: Option<String>,
    /// `$NAME=` definitions so far.
    defs: preproc::Definitions,
    lines_out: usize,
    bytes_out: usize,
    /// `~SEQ`/`~LST` repetitions so far (a repeated line may produce nothing).
    iterations: usize,
    /// An expansion limit was hit and reported: nothing more is read.
    stopped: bool,
}

impl<'a> Lexer<'a> {
    #[cfg(test)]
    pub fn new(fs: &'a dyn FileSystem) -> Lexer<'a> {
        Lexer::with_options(fs, &super::LoadOptions::default())
    }

    pub fn with_options(fs: &'a dyn FileSystem, options: &super::LoadOptions) -> Lexer<'a> {
        Lexer {
            fs,
            sources: SourceMap::default(),
            diags: Diags::default(),
            tokens: Vec::new(),
            stack: Vec::new(),
            files_read: 0,
            config_id: options.config_id.clone(),
            defs: preproc::Definitions::default(),
            lines_out: 0,
            bytes_out: 0,
            iterations: 0,
            stopped: false,
        }
    }

    /// Lexes the main file from text already in hand.
    pub fn lex_main(&mut self, path: &Path, text: &str) {
        let id = self.sources.add(path.to_path_buf(), Rc::from(text));
        let canonical = self
            .fs
            .canonicalize(path)
            .unwrap_or_else(|_| super::source::normalize(path));
        self.stack.push(canonical);
        self.lex_file(id);
        self.stack.pop();
    }

    fn lex_file(&mut self, file: FileId) {
        let Some(text) = self.sources.text(file) else {
            return;
        };
        // Relative includes resolve against the including file's directory; a file named
        // without a directory resolves against the working directory (an empty base), as in
        // keepalived, so that messages show the paths as written.
        let dir = self
            .sources
            .path(file)
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // `${_PWD}`: keepalived reads each file from its directory and replaces `${_PWD}` by
        // the working directory.
        let pwd_dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir.as_path()
        };
        let pwd = self
            .fs
            .canonicalize(pwd_dir)
            .unwrap_or_else(|_| pwd_dir.to_path_buf())
            .display()
            .to_string();
        for (index, raw_line) in text.split('\n').enumerate() {
            let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let content = line.get(..comment_start(line)).unwrap_or("");
            // The lines of a multi-line `$NAME=... \` definition.
            if self.defs.collecting() {
                self.defs.continue_with(line.is_empty(), content);
                continue;
            }
            let at = Origin {
                file,
                line: line_no,
                dir: &dir,
                pwd: &pwd,
            };
            self.process(&at, Line::physical(content), 0);
        }
    }

    /// The preprocessor on one line: `@ID` prefixes, definitions, `~SEQ`/`~LST` generators and
    /// parameter substitution, then the words of what is left. `depth` counts the expansions
    /// (multi-line definitions, generators) this line comes from.
    fn process(&mut self, at: &Origin, mut line: Line, depth: usize) {
        if self.stopped {
            return;
        }
        let span = |col: u32| Span {
            file: at.file,
            line: at.line,
            col,
        };
        if depth > MAX_EXPANSION_DEPTH {
            self.stop(
                span(line.col(0)),
                format!(
                    "multi-line definitions and ~SEQ/~LST lines are nested more than \
                     {MAX_EXPANSION_DEPTH} deep here: a multi-line definition must not use \
                     itself, directly or through others"
                ),
            );
            return;
        }
        let mut continuations: Vec<preproc::Continuation> = Vec::new();
        let mut passes = 0usize;
        let keep = loop {
            passes += 1;
            line.trim();
            if line.text.is_empty() {
                break depth == 0;
            }
            if line.text.starts_with('@') {
                // `@ID rest` / `@^ID rest`: keep `rest` if the config id matches (or not).
                let Some(skip) = conditional_prefix(&line.text, self.config_id.as_deref()) else {
                    break false;
                };
                line.drop_prefix(skip);
                continue;
            }
            if let Some((name, value)) = preproc::definition(&line.text) {
                let (name, value) = (name.to_string(), value.to_string());
                self.defs.define(&name, &value);
                break false;
            }
            if line.text.starts_with("~SEQ") || line.text.starts_with("~LST") {
                self.generate(at, &line, depth);
                break false;
            }
            if line.text.starts_with('~') || !line.text.contains('$') {
                break true;
            }
            let predefined = preproc::Predefined {
                pwd: at.pwd,
                instance: self.config_id.as_deref().unwrap_or(""),
            };
            match self
                .defs
                .substitute(&mut line, &predefined, &mut continuations)
            {
                Err(err) if err.fatal => {
                    self.stop(span(err.col), err.message);
                    break false;
                }
                Err(err) => {
                    self.diags.error(Some(span(err.col)), &[], err.message);
                    break false;
                }
                Ok(false) => break true,
                // The replaced text may be a conditional line, a definition or a generator, or
                // hold further references: look again.
                Ok(true) if passes < MAX_PASSES => {}
                Ok(true) => break true,
            }
        };
        if keep {
            self.count_output(at, &line);
            self.lex_line(at.file, at.dir, &line, at.line);
        }
        // The further lines of the multi-line definitions replaced here, innermost first.
        while let Some((col, lines)) = continuations.pop() {
            for text in lines {
                self.process(at, Line::generated(&text, col), depth + 1);
            }
        }
    }

    /// `~SEQ(...)` / `~LST(...) rest`: `rest` read once per value, with the variable(s) set.
    fn generate(&mut self, at: &Origin, line: &Line, depth: usize) {
        let predefined = preproc::Predefined {
            pwd: at.pwd,
            instance: self.config_id.as_deref().unwrap_or(""),
        };
        let span = Span {
            file: at.file,
            line: at.line,
            col: line.col(0),
        };
        let generator = match self.defs.generator(line, &predefined) {
            Ok(generator) => generator,
            Err(message) => {
                self.diags.error(Some(span), &[], message);
                return;
            }
        };
        let mut rest = line.clone();
        rest.drop_prefix(generator.rest);
        let mut index = 0u64;
        while let Some(values) = generator.values.get(index) {
            if self.stopped {
                return;
            }
            self.iterations += 1;
            if self.iterations > MAX_OUTPUT_LINES {
                self.stop(
                    span,
                    format!(
                        "~SEQ/~LST lines repeat more than {MAX_OUTPUT_LINES} times in all; \
                         keepvip stops reading here (check the ranges)"
                    ),
                );
                return;
            }
            for (var, value) in generator.vars.iter().zip(&values) {
                self.defs.set(var, value);
            }
            self.process(at, rest.clone(), depth + 1);
            index += 1;
        }
    }

    /// Bounds what the preprocessor may produce: a small file must not expand to gigabytes.
    fn count_output(&mut self, at: &Origin, line: &Line) {
        self.lines_out += 1;
        self.bytes_out += line.text.len();
        if self.lines_out > MAX_OUTPUT_LINES || self.bytes_out > MAX_OUTPUT_BYTES {
            self.stop(
                Span {
                    file: at.file,
                    line: at.line,
                    col: line.col(0),
                },
                format!(
                    "the configuration expands to more than {MAX_OUTPUT_LINES} lines or {} MiB \
                     after preprocessing; keepvip stops reading here (check the ~SEQ/~LST \
                     ranges and multi-line definitions)",
                    MAX_OUTPUT_BYTES / (1024 * 1024)
                ),
            );
        }
    }

    /// Reports `message` and ignores the rest of the configuration.
    fn stop(&mut self, span: Span, message: String) {
        if !self.stopped {
            self.diags.error(Some(span), &[], message);
            self.stopped = true;
        }
    }

    /// Splits a preprocessed line into tokens (and follows an `include`).
    fn lex_line(&mut self, file: FileId, dir: &Path, line: &Line, line_no: u32) {
        let span_at_byte = |byte: usize| Span {
            file,
            line: line_no,
            col: line.col(byte),
        };
        let content_end = comment_start(&line.text);
        let content = line.text.get(..content_end).unwrap_or("");
        let raw: Rc<str> = Rc::from(content);
        let chars: Vec<(usize, char)> = content.char_indices().collect();
        let span_at =
            |index: usize| span_at_byte(chars.get(index).map_or(content.len(), |&(b, _)| b));
        let first = chars
            .iter()
            .position(|&(_, c)| !is_blank(c))
            .unwrap_or(chars.len());

        let mut j = first;
        let mut statement_start = true;
        while j < chars.len() {
            let Some(&(byte, c)) = chars.get(j) else {
                break;
            };
            if is_blank(c) {
                j += 1;
                continue;
            }
            let span = span_at(j);
            match c {
                '{' | '}' => {
                    let kind = if c == '{' {
                        TokenKind::Open
                    } else {
                        TokenKind::Close
                    };
                    self.tokens.push(Token { kind, span });
                    statement_start = true;
                    j += 1;
                }
                '"' => {
                    let close = chars
                        .iter()
                        .skip(j + 1)
                        .position(|&(_, c)| c == '"')
                        .map(|p| p + j + 1);
                    let (text, end, next) = match close.and_then(|k| chars.get(k)) {
                        Some(&(close_byte, _)) => (
                            content.get(byte + 1..close_byte).unwrap_or(""),
                            close_byte + 1,
                            close.unwrap_or(chars.len()) + 1,
                        ),
                        None => {
                            self.diags.error(
                                Some(span),
                                &[],
                                "unterminated string: this '\"' has no closing '\"' on the line",
                            );
                            (
                                content.get(byte + 1..).unwrap_or(""),
                                content.len(),
                                chars.len(),
                            )
                        }
                    };
                    self.push_word(text.to_string(), true, span, &raw, byte..end);
                    statement_start = false;
                    j = next;
                }
                _ => {
                    let mut text = String::new();
                    while let Some(&(_, c)) = chars.get(j) {
                        if is_blank(c) || matches!(c, '"' | '{' | '}') {
                            break;
                        }
                        if c == '\\' {
                            if let Some(&(_, escaped @ ('#' | '!'))) = chars.get(j + 1) {
                                text.push(escaped);
                                j += 2;
                                continue;
                            }
                        }
                        text.push(c);
                        j += 1;
                    }
                    let end = chars.get(j).map_or(content.len(), |&(b, _)| b);
                    if statement_start {
                        if let Some(checks) = include_checks(&text) {
                            if chars.get(j).is_none_or(|&(_, c)| is_blank(c)) {
                                let pattern_col = chars
                                    .iter()
                                    .skip(j)
                                    .position(|&(_, c)| !is_blank(c))
                                    .map_or(chars.len(), |p| p + j);
                                let pattern =
                                    unescape_comment_chars(content.get(end..).unwrap_or("").trim());
                                self.include(
                                    &text,
                                    &pattern,
                                    checks,
                                    span_at(pattern_col),
                                    span,
                                    dir,
                                );
                                return;
                            }
                        }
                    }
                    self.push_word(text, false, span, &raw, byte..end);
                    statement_start = false;
                }
            }
        }
        self.tokens.push(Token {
            kind: TokenKind::Eol,
            span: span_at(chars.len()),
        });
    }

    fn push_word(
        &mut self,
        text: String,
        quoted: bool,
        span: Span,
        line: &Rc<str>,
        range: std::ops::Range<usize>,
    ) {
        self.tokens.push(Token {
            kind: TokenKind::Word(Word {
                text,
                quoted,
                span,
                line: Rc::clone(line),
                start: range.start,
                end: range.end,
            }),
            span,
        });
    }

    fn include(
        &mut self,
        keyword: &str,
        pattern: &str,
        checks: IncludeChecks,
        span: Span,
        keyword_span: Span,
        dir: &Path,
    ) {
        // Whatever preceded the include on its line is a complete statement.
        self.tokens.push(Token {
            kind: TokenKind::Eol,
            span: keyword_span,
        });
        let ctx = [keyword.to_string()];
        if pattern.is_empty() {
            self.diags.error(
                Some(keyword_span),
                &ctx,
                "needs a file name or glob pattern",
            );
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.error(
                Some(span),
                &ctx,
                format!("includes are nested more than {MAX_INCLUDE_DEPTH} deep"),
            );
            return;
        }
        let quote_hint = if pattern.starts_with('"') || pattern.starts_with('\'') {
            " (keepalived takes quotes in include patterns literally: remove them)"
        } else {
            ""
        };
        let alternatives = match glob::expand(pattern, dir, self.fs) {
            Ok(alternatives) => alternatives,
            Err(glob::GlobError::TooManyAlternatives) => {
                self.diags.error(
                    Some(span),
                    &ctx,
                    format!("'{pattern}' expands to too many {{...}} alternatives"),
                );
                return;
            }
        };
        let several = alternatives.len() > 1;
        for alternative in alternatives {
            if alternative.matches.is_empty() {
                let shown = if several {
                    format!("'{}' (from '{pattern}')", alternative.pattern)
                } else {
                    format!("'{pattern}'")
                };
                if !alternative.has_wildcard {
                    self.diags.error(
                        Some(span),
                        &ctx,
                        format!("no such file {shown}{quote_hint}"),
                    );
                } else if checks.wildcard_match || (several && checks.brace_match) {
                    self.diags.error(
                        Some(span),
                        &ctx,
                        format!("no file matches {shown} ({keyword} requires a match)"),
                    );
                } else if let Some(missing) = &alternative.missing_dir {
                    self.diags.warning(
                        Some(span),
                        &ctx,
                        format!(
                            "no file matches {shown}: directory {} does not exist",
                            missing.display()
                        ),
                    );
                }
                continue;
            }
            for path in alternative.matches {
                self.include_file(&path, alternative.has_wildcard, span, &ctx);
            }
        }
    }

    fn include_file(&mut self, path: &Path, from_wildcard: bool, span: Span, ctx: &[String]) {
        let meta = match self.fs.metadata(path) {
            Ok(meta) => meta,
            Err(err) => {
                self.diags.error(
                    Some(span),
                    ctx,
                    format!("cannot read {}: {err}", path.display()),
                );
                return;
            }
        };
        if meta.is_dir {
            // keepalived skips directories that a wildcard matches; naming one is a mistake.
            if !from_wildcard {
                self.diags.error(
                    Some(span),
                    ctx,
                    format!(
                        "{} is a directory; include a glob such as '{}/*.conf'",
                        path.display(),
                        path.display()
                    ),
                );
            }
            return;
        }
        if !meta.is_file {
            self.diags.error(
                Some(span),
                ctx,
                format!("{} is not a regular file", path.display()),
            );
            return;
        }
        if meta.executable {
            self.diags.error(
                Some(span),
                ctx,
                format!(
                    "{} is executable; keepalived skips executable configuration files, so \
                     keepvip refuses it: chmod a-x it",
                    path.display()
                ),
            );
            return;
        }
        let canonical = self
            .fs
            .canonicalize(path)
            .unwrap_or_else(|_| super::source::normalize(path));
        if let Some(pos) = self.stack.iter().position(|p| *p == canonical) {
            let cycle: Vec<String> = self
                .stack
                .iter()
                .skip(pos)
                .chain(std::iter::once(&canonical))
                .map(|p| p.display().to_string())
                .collect();
            self.diags.error(
                Some(span),
                ctx,
                format!("include cycle: {}", cycle.join(" -> ")),
            );
            return;
        }
        if self.files_read >= MAX_FILES_READ {
            self.diags.error(
                Some(span),
                ctx,
                format!("more than {MAX_FILES_READ} included files in total"),
            );
            return;
        }
        self.files_read += 1;
        let text = match read_text(self.fs, path) {
            Ok(text) => text,
            Err(message) => {
                self.diags.error(Some(span), ctx, message);
                return;
            }
        };
        let id = self
            .sources
            .add(path.to_path_buf(), Rc::from(text.as_str()));
        self.stack.push(canonical);
        self.lex_file(id);
        self.stack.pop();
        self.tokens.push(Token {
            kind: TokenKind::Eol,
            span,
        });
    }
}

/// Reads a configuration file as UTF-8 text, with an error message naming the file.
pub(crate) fn read_text(fs: &dyn FileSystem, path: &Path) -> Result<String, String> {
    let bytes = fs
        .read(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{} is larger than {} MiB; that is not a configuration file",
            path.display(),
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let line = err
            .as_bytes()
            .get(..valid)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            + 1;
        format!("{} is not UTF-8 text (line {line})", path.display())
    })
}

/// Byte offset where a comment starts, or the line length. Double quotes protect `#`/`!`;
/// outside them a backslash protects the next character.
fn comment_start(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut in_quote = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => in_quote = !in_quote,
            b'\\' if !in_quote => {
                i += 2;
                continue;
            }
            b'#' | b'!' if !in_quote => return i,
            _ => {}
        }
        i += 1;
    }
    line.len()
}

fn unescape_comment_chars(s: &str) -> String {
    s.replace("\\#", "#").replace("\\!", "!")
}

/// For a line starting `@ID` or `@^ID`: `None` if keepalived drops the line (the id does not
/// match, or nothing follows it), else the length of the prefix to remove (the id and the blanks
/// after it). keepalived compares the word up to the first blank with the config id exactly.
fn conditional_prefix(line: &str, config_id: Option<&str>) -> Option<usize> {
    let after_at = line.strip_prefix('@')?;
    let (negated, word_and_rest) = match after_at.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, after_at),
    };
    let word_len = word_and_rest.find([' ', '\t'])?;
    let word = word_and_rest.get(..word_len)?;
    let matches = config_id == Some(word);
    if matches == negated {
        return None;
    }
    let after_word = word_and_rest.get(word_len..)?;
    let blanks = after_word.len() - after_word.trim_start_matches([' ', '\t']).len();
    Some(line.len() - after_word.len() + blanks)
}

#[cfg(test)]
mod tests {
    use super::super::source::MemFs;
    use super::*;

    fn lex_text<'a>(fs: &'a MemFs, path: &str, text: &str) -> Lexer<'a> {
        let mut lexer = Lexer::new(fs);
        lexer.lex_main(Path::new(path), text);
        lexer
    }

    fn words(lexer: &Lexer) -> Vec<String> {
        lexer
            .tokens
            .iter()
            .map(|t| match &t.kind {
                TokenKind::Word(w) if w.quoted => format!("\"{}\"", w.text),
                TokenKind::Word(w) => w.text.clone(),
                TokenKind::Open => "{".to_string(),
                TokenKind::Close => "}".to_string(),
                TokenKind::Eol => ";".to_string(),
            })
            .collect()
    }

    fn messages(lexer: &Lexer) -> Vec<String> {
        lexer
            .diags
            .items
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn words_braces_and_line_ends() {
        let fs = MemFs::new();
        let l = lex_text(&fs, "/k.conf", "vrrp_instance VI_1{\n  priority 100 }\n");
        assert_eq!(
            words(&l),
            vec![
                "vrrp_instance",
                "VI_1",
                "{",
                ";",
                "priority",
                "100",
                "}",
                ";",
                ";"
            ]
        );
    }

    #[test]
    fn spans_count_lines_and_characters() {
        let fs = MemFs::new();
        let l = lex_text(&fs, "/k.conf", "a\n\tbé c\r\n  \"q r\"");
        let spans: Vec<(String, u32, u32)> = l
            .tokens
            .iter()
            .filter_map(|t| match &t.kind {
                TokenKind::Word(w) => Some((w.text.clone(), w.span.line, w.span.col)),
                _ => None,
            })
            .collect();
        assert_eq!(
            spans,
            vec![
                ("a".to_string(), 1, 1),
                ("bé".to_string(), 2, 2),
                ("c".to_string(), 2, 5),
                ("q r".to_string(), 3, 3),
            ]
        );
        // Byte ranges include the quotes.
        let Some(TokenKind::Word(q)) = l
            .tokens
            .iter()
            .map(|t| &t.kind)
            .find(|k| matches!(k, TokenKind::Word(w) if w.quoted))
        else {
            panic!("no quoted word");
        };
        assert_eq!(&q.line[q.start..q.end], "\"q r\"");
    }

    #[test]
    fn comments_hash_and_bang_but_not_in_quotes_or_escaped() {
        let fs = MemFs::new();
        let l = lex_text(
            &fs,
            "/k.conf",
            "a # c\nb!c\n\"x # y\" z ! w\npass\\#word \\!x\n# whole line\n",
        );
        assert_eq!(
            words(&l),
            vec![
                "a",
                ";",
                "b",
                ";",
                "\"x # y\"",
                "z",
                ";",
                "pass#word",
                "!x",
                ";",
                ";",
                ";"
            ]
        );
    }

    #[test]
    fn quotes_follow_keepalived_rules() {
        let fs = MemFs::new();
        let l = lex_text(&fs, "/k.conf", "a\"b c\"d 'e f' \"{x}\"\n");
        assert_eq!(
            words(&l),
            vec!["a", "\"b c\"", "d", "'e", "f'", "\"{x}\"", ";", ";"]
        );
        assert!(messages(&l).is_empty());
    }

    #[test]
    fn unterminated_quote_is_an_error_at_the_quote() {
        let fs = MemFs::new();
        let l = lex_text(&fs, "/k.conf", "notify \"/bin/true\n");
        assert_eq!(words(&l), vec!["notify", "\"/bin/true\"", ";", ";"]);
        let d = l.diags.items.first().unwrap();
        assert_eq!(d.span.map(|s| (s.line, s.col)), Some((1, 8)));
        assert_eq!(
            d.message,
            "unterminated string: this '\"' has no closing '\"' on the line"
        );
    }

    fn lex_with_id<'a>(fs: &'a MemFs, id: Option<&str>, text: &str) -> Lexer<'a> {
        lex_at(fs, "/k.conf", id, text)
    }

    fn lex_at<'a>(fs: &'a MemFs, path: &str, id: Option<&str>, text: &str) -> Lexer<'a> {
        let options = super::super::LoadOptions {
            config_id: id.map(str::to_string),
        };
        let mut lexer = Lexer::with_options(fs, &options);
        lexer.lex_main(Path::new(path), text);
        lexer
    }

    #[test]
    fn conditional_lines_follow_the_config_id() {
        let fs = MemFs::new();
        let text = "@main a 1\n  @backup\tb 2\n@^main c 3\n@^backup d {\n@main\n@ e\n@mainx f\n";
        let main = lex_with_id(&fs, Some("main"), text);
        assert_eq!(words(&main), vec!["a", "1", ";", "d", "{", ";", ";"]);
        let backup = lex_with_id(&fs, Some("backup"), text);
        assert_eq!(words(&backup), vec!["b", "2", ";", "c", "3", ";", ";"]);
        // No id at all: every '@ID' line goes, every '@^ID' line stays.
        let none = lex_with_id(&fs, None, text);
        assert_eq!(words(&none), vec!["c", "3", ";", "d", "{", ";", ";"]);
        assert!(messages(&main).is_empty());
        // Spans still point at the kept text in the original line.
        let Some(TokenKind::Word(b)) = backup.tokens.first().map(|t| &t.kind) else {
            panic!("no word");
        };
        assert_eq!((b.span.line, b.span.col), (2, 11));
    }

    #[test]
    fn conditional_prefix_rules() {
        assert_eq!(conditional_prefix("@a x", Some("a")), Some(3));
        assert_eq!(conditional_prefix("@a \t x", Some("a")), Some(5));
        assert_eq!(conditional_prefix("@^a x", Some("b")), Some(4));
        assert_eq!(conditional_prefix("@^a x", Some("a")), None);
        assert_eq!(conditional_prefix("@a", Some("a")), None);
        assert_eq!(conditional_prefix("@ x", Some("")), Some(2));
        assert_eq!(conditional_prefix("@^ x", None), Some(3));
    }

    #[test]
    fn include_splices_tokens_with_their_own_file() {
        let fs = MemFs::new()
            .file("/etc/k/sub/a.conf", "x {\ninclude b.conf\n}\n")
            .file("/etc/k/sub/b.conf", "y 1\n");
        let l = lex_text(&fs, "/etc/k/main.conf", "include sub/a.conf # c\nz\n");
        assert_eq!(
            words(&l),
            vec![
                ";", "x", "{", ";", ";", "y", "1", ";", ";", ";", "}", ";", ";", ";", "z", ";", ";"
            ]
        );
        let files: Vec<(String, u32)> = l
            .tokens
            .iter()
            .filter_map(|t| match &t.kind {
                TokenKind::Word(w) => Some((w.text.clone(), w.span.file.0)),
                _ => None,
            })
            .collect();
        assert_eq!(
            files,
            vec![
                ("x".to_string(), 1),
                ("y".to_string(), 2),
                ("1".to_string(), 2),
                ("z".to_string(), 0)
            ]
        );
        assert_eq!(
            l.sources.paths(),
            vec![
                PathBuf::from("/etc/k/main.conf"),
                PathBuf::from("/etc/k/sub/a.conf"),
                PathBuf::from("/etc/k/sub/b.conf")
            ]
        );
        assert!(messages(&l).is_empty());
    }

    #[test]
    fn include_after_a_brace_on_the_same_line() {
        let fs = MemFs::new().file("/k/v.conf", "p 1\n");
        let l = lex_text(&fs, "/k/m.conf", "b { include v.conf\n}\n");
        assert_eq!(
            words(&l),
            vec!["b", "{", ";", "p", "1", ";", ";", ";", "}", ";", ";"]
        );
    }

    #[test]
    fn include_errors() {
        let fs = MemFs::new()
            .file("/k/m.conf", "")
            .file("/k/cycle.conf", "include m.conf\n")
            .executable("/k/x.conf", "a\n")
            .file("/k/d/f.conf", "");
        let l = lex_text(
            &fs,
            "/k/m.conf",
            "include nothere.conf\ninclude \"d/f.conf\"\ninclude empty/*.conf\ninclude d/*.txt\nincludew d/*.txt\ninclude x.conf\ninclude d\ninclude cycle.conf\ninclude\n",
        );
        let found: Vec<(u32, String)> = l
            .diags
            .items
            .iter()
            .map(|d| {
                (
                    d.span.map_or(0, |s| s.line),
                    format!("{}: {}", d.severity, d.message),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (1, "error: no such file 'nothere.conf'".to_string()),
                (2, "error: no such file '\"d/f.conf\"' (keepalived takes quotes in include patterns literally: remove them)".to_string()),
                (3, "warning: no file matches 'empty/*.conf': directory /k/empty does not exist".to_string()),
                (5, "error: no file matches 'd/*.txt' (includew requires a match)".to_string()),
                (6, "error: /k/x.conf is executable; keepalived skips executable configuration files, so keepvip refuses it: chmod a-x it".to_string()),
                (7, "error: /k/d is a directory; include a glob such as '/k/d/*.conf'".to_string()),
                (1, "error: include cycle: /k/m.conf -> /k/cycle.conf -> /k/m.conf".to_string()),
                (9, "error: needs a file name or glob pattern".to_string()),
            ]
        );
        // The cycle is reported in the file that closes it.
        let cycle = l.diags.items.get(6).and_then(|d| d.span).unwrap();
        assert_eq!(l.sources.path(cycle.file), Some(Path::new("/k/cycle.conf")));
    }

    #[test]
    fn brace_alternatives_and_includeb() {
        let fs = MemFs::new().file("/k/a.conf", "a\n");
        let l = lex_text(
            &fs,
            "/k/m.conf",
            "include {a,b}.conf\nincludeb {a,b}.conf\n",
        );
        let found: Vec<String> = messages(&l);
        assert_eq!(
            found,
            vec![
                "no such file 'b.conf' (from '{a,b}.conf')".to_string(),
                "no such file 'b.conf' (from '{a,b}.conf')".to_string(),
            ]
        );
        assert_eq!(words(&l).iter().filter(|w| *w == "a").count(), 2);
    }

    /// Words with their line and column.
    fn placed(lexer: &Lexer) -> Vec<(String, u32, u32)> {
        lexer
            .tokens
            .iter()
            .filter_map(|t| match &t.kind {
                TokenKind::Word(w) => Some((w.text.clone(), w.span.line, w.span.col)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn definitions_and_substitution() {
        let fs = MemFs::new();
        let l = lex_text(
            &fs,
            "/k.conf",
            "$A=alpha # comment\n$E=\n$B =x\nk $A ${A}x \"$A\" $E z\n$A=beta\nk $A\n",
        );
        assert_eq!(
            words(&l),
            vec![
                "$B", "=x", ";", "k", "alpha", "alphax", "\"$A\"", "z", ";", "k", "beta", ";", ";"
            ]
        );
        assert!(messages(&l).is_empty());
        // Substituted words point at the reference they replaced.
        let cols: Vec<(u32, u32)> = placed(&l).iter().map(|(_, l, c)| (*l, *c)).collect();
        assert_eq!(
            cols.get(2..7),
            Some(&[(4, 1), (4, 3), (4, 6), (4, 12), (4, 20)][..])
        );
    }

    #[test]
    fn substitution_in_keywords_block_names_and_conditionals() {
        let fs = MemFs::new();
        let text = "@main $PRIO=240\n@backup $PRIO=200\n$IF_MAIN=@main\n$KW=priority\n\
                    $N=1\nvrrp_instance VI_${N} {\n  $KW $PRIO\n  $IF_MAIN nopreempt\n}\n";
        let main = lex_with_id(&fs, Some("main"), text);
        assert_eq!(
            words(&main),
            vec![
                "vrrp_instance",
                "VI_1",
                "{",
                ";",
                "priority",
                "240",
                ";",
                "nopreempt",
                ";",
                "}",
                ";",
                ";"
            ]
        );
        let backup = lex_with_id(&fs, Some("backup"), text);
        assert_eq!(
            words(&backup),
            vec![
                "vrrp_instance",
                "VI_1",
                "{",
                ";",
                "priority",
                "200",
                ";",
                "}",
                ";",
                ";"
            ]
        );
    }

    #[test]
    fn multiline_definitions_expand_into_lines_at_the_use() {
        let fs = MemFs::new();
        let text = "$INST= \\\nvrrp_instance VI_${NUM} { \\\n  # a comment\n  \
                    @high priority 130 \\\n  @low priority 120 \\\n}\n\n$NUM=0\n$INST\n\
                    $NUM=1\n  $INST\n";
        let l = lex_with_id(&fs, Some("high"), text);
        assert_eq!(
            words(&l),
            vec![
                ";",
                "vrrp_instance",
                "VI_0",
                "{",
                ";",
                "priority",
                "130",
                ";",
                "}",
                ";",
                "vrrp_instance",
                "VI_1",
                "{",
                ";",
                "priority",
                "130",
                ";",
                "}",
                ";",
                ";"
            ]
        );
        assert!(messages(&l).is_empty(), "{:?}", messages(&l));
        // Every word of an expansion is placed at the reference ($INST, lines 9 and 11).
        let places: Vec<(u32, u32)> = placed(&l).iter().map(|(_, l, c)| (*l, *c)).collect();
        assert_eq!(
            places,
            vec![(9, 1); 4]
                .into_iter()
                .chain(vec![(11, 3); 4])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn nested_multiline_definitions_keep_their_order() {
        let fs = MemFs::new();
        let text = "$RS= \\\nreal ${RS_NUM} { \\\n w 1 \\\n}\n\
                    $VS= \\\nvs { \\\n $RS_NUM=1 \\\n $RS \\\n $RS_NUM=2 \\\n $RS \\\n}\n$VS\n";
        let l = lex_text(&fs, "/k.conf", text);
        let shown: Vec<String> = words(&l).into_iter().filter(|w| w != ";").collect();
        assert_eq!(
            shown,
            vec!["vs", "{", "real", "1", "{", "w", "1", "}", "real", "2", "{", "w", "1", "}", "}"]
        );
    }

    #[test]
    fn predefined_parameters_and_includes() {
        let fs = MemFs::new()
            .file(
                "/etc/k/sub/a.conf",
                "notify \"${_PWD}/n.sh\" $WHO\n$FROM_A=a\n",
            )
            .file("/etc/k/b.conf", "b\n");
        let l = lex_at(
            &fs,
            "/etc/k/main.conf",
            Some("main"),
            "$WHO=${_INSTANCE}\n$F=sub/a.conf\ninclude $F\n$FROM_A $_PWD\n\
             x${_HASH}y z\n\"${_HASH}${_BANG}\"\n$B=b.conf\ninclude ${B}\n",
        );
        assert!(messages(&l).is_empty(), "{:?}", messages(&l));
        assert_eq!(
            words(&l),
            vec![
                ";",
                "notify",
                "\"/etc/k/sub/n.sh\"",
                "main",
                ";",
                ";",
                ";",
                "a",
                "/etc/k",
                ";",
                "x",
                ";",
                "\"#!\"",
                ";",
                ";",
                "b",
                ";",
                ";",
                ";",
                ";"
            ]
        );
        // The word from the included file is placed in it.
        let main = placed(&l);
        assert_eq!(main.get(2), Some(&("main".to_string(), 1, 23)));
        assert_eq!(main.get(2).map(|_| l.tokens[3].span.file.0), Some(1));
    }

    #[test]
    fn substitution_errors_are_placed_and_do_not_hang() {
        let fs = MemFs::new();
        let l = lex_text(
            &fs,
            "/k.conf",
            "$SELF=$SELF y\nok 1\n  s $SELF\n$M= \\\n  a \\\n  $M\n\nok 2\n$M\n",
        );
        let found: Vec<(u32, u32, String)> = l
            .diags
            .items
            .iter()
            .map(|d| {
                let s = d.span.unwrap();
                (s.line, s.col, d.message.clone())
            })
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (3, 5));
        assert!(
            found[0].2.contains("${SELF} was replaced"),
            "{}",
            found[0].2
        );
        assert_eq!((found[1].0, found[1].1), (9, 1));
        assert!(
            found[1].2.contains("nested more than 32 deep"),
            "{}",
            found[1].2
        );
        assert!(words(&l).contains(&"2".to_string()));
    }

    #[test]
    fn seq_and_lst_lines_repeat_the_rest_of_the_line() {
        let fs = MemFs::new();
        let l = lex_text(
            &fs,
            "/k.conf",
            "virtual_ipaddress {\n  ~SEQ(SUBNET, 0, 2) 10.0.${SUBNET}.1\n\
             ~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n}\n\
             $S=~SEQ(i, 2)\n$S v$i\n",
        );
        assert!(messages(&l).is_empty(), "{:?}", messages(&l));
        let shown: Vec<String> = words(&l).into_iter().filter(|w| w != ";").collect();
        assert_eq!(
            shown,
            vec![
                "virtual_ipaddress",
                "{",
                "10.0.0.1",
                "10.0.1.1",
                "10.0.2.1",
                "192.168.10.1",
                "192.170.10.1",
                "192.168.20.4",
                "192.170.20.4",
                "}",
                "v1",
                "v2"
            ]
        );
        // Each repetition is placed where its text is in the generator line.
        let places: Vec<(u32, u32)> = placed(&l)
            .iter()
            .skip(1)
            .take(3)
            .map(|(_, l, c)| (*l, *c))
            .collect();
        assert_eq!(places, vec![(2, 22); 3]);
    }

    #[test]
    fn generator_errors_and_limits() {
        let fs = MemFs::new();
        let l = lex_text(&fs, "/k.conf", "ok\n  ~SEQ(i, 1, 0, 2) x\n~LST(l) y\n");
        let found: Vec<(u32, u32)> = l
            .diags
            .items
            .iter()
            .map(|d| d.span.map_or((0, 0), |s| (s.line, s.col)))
            .collect();
        assert_eq!(found, vec![(2, 3), (3, 1)]);
        assert!(
            messages(&l)[0].contains("step 0 never goes from 1 to 2"),
            "{:?}",
            messages(&l)
        );
        // A range that would never end, producing nothing: stopped, reported once.
        let l = lex_text(&fs, "/k.conf", "~SEQ(i, 9223372036854775807) $X=1\nafter\n");
        assert_eq!(messages(&l).len(), 1);
        assert!(
            messages(&l)[0].contains("repeat more than"),
            "{:?}",
            messages(&l)
        );
        assert!(!words(&l).contains(&"after".to_string()));
    }
}
