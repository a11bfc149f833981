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
//! - Conditional lines (`@id ...`), parameter definitions (`$NAME=...`), sequence/list lines
//!   (`~SEQ(...)`, `~LST(...)`) and keepalived's predefined parameters (`$_PWD`, `${_INSTANCE}`
//!   ...) are reported as not supported.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::diag::{Diags, FileId, Span};
use super::glob;
use super::source::{FileSystem, SourceMap, MAX_FILE_BYTES};

/// Include nesting deeper than this is refused (keepalived has no limit but its file
/// descriptors).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Included files read in total (counting repeats): stops exponential diamond includes.
const MAX_FILES_READ: usize = 1000;
/// keepalived's predefined parameters, replaced even without any `$NAME=` definition.
const PREDEFINED_PARAMETERS: [&str; 5] = ["_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG"];

/// A word: its text with quotes removed, and where it sits in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
    /// Byte range in the file text, quotes included.
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
        let mut offset = 0usize;
        let mut in_definition = false;
        for (index, raw_line) in text.split('\n').enumerate() {
            let line_start = offset;
            offset += raw_line.len() + 1;
            let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            self.lex_line(file, &dir, line, line_start, line_no, &mut in_definition);
        }
    }

    fn lex_line(
        &mut self,
        file: FileId,
        dir: &Path,
        line: &str,
        line_start: usize,
        line_no: u32,
        in_definition: &mut bool,
    ) {
        let span_at = |col: usize| Span {
            file,
            line: line_no,
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        };
        let content_end = comment_start(line);
        let content = line.get(..content_end).unwrap_or("");
        let chars: Vec<(usize, char)> = content.char_indices().collect();

        // A multi-line `$NAME= \` definition continues while lines end with '\'.
        if *in_definition {
            *in_definition = content.trim_end().ends_with('\\');
            return;
        }

        let mut first = chars
            .iter()
            .position(|&(_, c)| !is_blank(c))
            .unwrap_or(chars.len());
        let mut rest = content
            .get(chars.get(first).map_or(content.len(), |&(b, _)| b)..)
            .unwrap_or("");
        if rest.starts_with('@') {
            // `@ID rest` / `@^ID rest`: keep `rest` if the config id matches (or not).
            let Some(skip) = conditional_prefix(rest, self.config_id.as_deref()) else {
                return;
            };
            first += rest.get(..skip).map_or(0, |p| p.chars().count());
            rest = rest.get(skip..).unwrap_or("");
        }
        if is_definition(rest) {
            self.diags.error(
                Some(span_at(first)),
                &[],
                "parameter definitions ('$NAME=value') are not supported by keepvip yet; \
                 write the values out",
            );
            *in_definition = rest.trim_end().ends_with('\\');
            return;
        }
        if rest.starts_with("~SEQ") || rest.starts_with("~LST") {
            self.diags.error(
                Some(span_at(first)),
                &[],
                "'~SEQ'/'~LST' lines are not supported by keepvip yet; write the lines out",
            );
            return;
        }

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
                    self.push_word(
                        text.to_string(),
                        true,
                        span,
                        line_start + byte,
                        line_start + end,
                    );
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
                    self.push_word(text, false, span, line_start + byte, line_start + end);
                    statement_start = false;
                }
            }
        }
        self.tokens.push(Token {
            kind: TokenKind::Eol,
            span: span_at(chars.len()),
        });
    }

    fn push_word(&mut self, text: String, quoted: bool, span: Span, start: usize, end: usize) {
        if let Some(name) = predefined_parameter(&text) {
            self.diags.error(
                Some(span),
                &[],
                format!(
                    "keepalived would replace '${name}' here; parameter substitution is not \
                     supported by keepvip yet, write the value out"
                ),
            );
        }
        self.tokens.push(Token {
            kind: TokenKind::Word(Word {
                text,
                quoted,
                span,
                start,
                end,
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

/// `$NAME=...` with NAME = `[A-Za-z_][A-Za-z0-9_]*`, blanks allowed before `=`.
fn is_definition(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('$') else {
        return false;
    };
    let name_len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    let starts_well = rest
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && rest
            .get(name_len..)
            .is_some_and(|after| after.trim_start_matches(is_blank).starts_with('='))
}

/// A reference keepalived would substitute: `$_PWD` followed by a non-name character or the
/// end, or `${_PWD}` (`${_RANDOM 1 5}` included).
fn predefined_parameter(text: &str) -> Option<&'static str> {
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = rest.get(pos + 1..).unwrap_or("");
        for name in PREDEFINED_PARAMETERS {
            if let Some(tail) = after.strip_prefix('{').and_then(|t| t.strip_prefix(name)) {
                if tail.starts_with('}') || tail.starts_with(' ') {
                    return Some(name);
                }
            }
            if let Some(tail) = after.strip_prefix(name) {
                if !tail
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Some(name);
                }
            }
        }
        rest = after;
    }
    None
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
        assert_eq!(&"a\n\tbé c\r\n  \"q r\""[q.start..q.end], "\"q r\"");
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

    #[test]
    fn unsupported_preprocessor_lines() {
        let fs = MemFs::new();
        let l = lex_text(
            &fs,
            "/k.conf",
            "$X=1\n$M= \\\n  a \\\n  b\nkept\n~SEQ(i,1,3) x\nnotify \"${_PWD}/x\"\ncost $5\n",
        );
        assert_eq!(
            words(&l),
            vec![
                "kept",
                ";",
                "notify",
                "\"${_PWD}/x\"",
                ";",
                "cost",
                "$5",
                ";",
                ";"
            ]
        );
        assert_eq!(
            messages(&l),
            vec![
                "parameter definitions ('$NAME=value') are not supported by keepvip yet; write the values out",
                "parameter definitions ('$NAME=value') are not supported by keepvip yet; write the values out",
                "'~SEQ'/'~LST' lines are not supported by keepvip yet; write the lines out",
                "keepalived would replace '$_PWD' here; parameter substitution is not supported by keepvip yet, write the value out",
            ]
        );
    }

    fn lex_with_id<'a>(fs: &'a MemFs, id: Option<&str>, text: &str) -> Lexer<'a> {
        let options = super::super::LoadOptions {
            config_id: id.map(str::to_string),
        };
        let mut lexer = Lexer::with_options(fs, &options);
        lexer.lex_main(Path::new("/k.conf"), text);
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

    #[test]
    fn definitions_are_recognised_precisely() {
        assert!(is_definition("$A=1"));
        assert!(is_definition("$_a9 = x"));
        assert!(!is_definition("$9=1"));
        assert!(!is_definition("$A"));
        assert!(!is_definition("$A-B=1"));
        assert_eq!(predefined_parameter("${_RANDOM 1 9}"), Some("_RANDOM"));
        assert_eq!(predefined_parameter("$_HASH"), Some("_HASH"));
        assert_eq!(predefined_parameter("$_PWDX"), None);
        assert_eq!(predefined_parameter("$HOME"), None);
    }
}
