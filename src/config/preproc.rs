//! keepalived's configuration preprocessor (keepalived.conf(5), "ADVANCED CONFIGURATION"), the
//! pieces that work on one line of text before it is split into words:
//!
//! - `$NAME=VALUE` definitions: NAME is `[A-Za-z_][A-Za-z0-9_]*` and must be followed at once
//!   by `=`; blanks after the `=` are skipped; an empty value is allowed; a definition may be
//!   redefined at any time (the value is looked up when the parameter is used, not when it is
//!   defined). A value ending in `\` continues on the following lines (see the lexer).
//! - References: `$NAME` followed by a blank, `,`, `)` or the end of the line, or `${NAME}`
//!   anywhere. The replaced text is read again, so values may use other parameters. Names that
//!   are not defined are left as they are. A multi-line definition is replaced only where its
//!   reference ends the line: its first line takes the reference's place, its other lines follow
//!   as lines of their own.
//! - keepalived 2.2's predefined parameters: `${_PWD}` (the directory of the file being read),
//!   `${_INSTANCE}` (the config id), `${_RANDOM [MIN [MAX]]}`, `${_HASH}` (`#`) and `${_BANG}`
//!   (`!`). A definition of the same name overrides them.
//! - `~SEQ(var, [start, [step,]] end)`, `~SEQx(...)` and `~LST(var, a, b, ...)` /
//!   `~LST({v1, v2}, {a1, a2}, ...)` line generators: the parameters are parsed here, the lexer
//!   repeats the rest of the line.
//!
//! Every text position is tracked: each byte of a [`Line`] knows the column of the original
//! line it comes from, and text put in by a substitution carries the column of the `$` it
//! replaced, so that diagnostics name the place where the parameter was used.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::ops::Range;

/// Replacements on one line beyond this mean a definition refers to itself.
pub(crate) const MAX_REPLACEMENTS: usize = 10_000;
/// A line longer than this after substitution is refused.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024;

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A line of text with, for each byte, the 1-based column of the original line it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub text: String,
    cols: Vec<u32>,
    /// The column just after the text.
    end_col: u32,
}

impl Line {
    /// A line as read from its file.
    pub fn physical(text: &str) -> Line {
        let mut cols = Vec::with_capacity(text.len());
        let mut col = 1u32;
        for c in text.chars() {
            for _ in 0..c.len_utf8() {
                cols.push(col);
            }
            col = col.saturating_add(1);
        }
        Line {
            text: text.to_string(),
            cols,
            end_col: col,
        }
    }

    /// A line put in whole by a substitution: every byte at `col`.
    pub fn generated(text: &str, col: u32) -> Line {
        Line {
            text: text.to_string(),
            cols: vec![col; text.len()],
            end_col: col,
        }
    }

    /// The original column of the byte at `byte` (the end column past the end).
    pub fn col(&self, byte: usize) -> u32 {
        self.cols.get(byte).copied().unwrap_or(self.end_col)
    }

    /// Replaces `range` (on character boundaries) by `with`, whose bytes all get column `col`.
    /// Does nothing for a range that is not on character boundaries.
    pub fn replace(&mut self, range: Range<usize>, with: &str, col: u32) {
        if range.start > range.end
            || range.end > self.text.len()
            || !self.text.is_char_boundary(range.start)
            || !self.text.is_char_boundary(range.end)
        {
            return;
        }
        self.text.replace_range(range.clone(), with);
        self.cols
            .splice(range, std::iter::repeat_n(col, with.len()));
    }

    /// Removes blanks at both ends.
    pub fn trim(&mut self) {
        let end = self.text.trim_end_matches(is_blank).len();
        self.replace(end..self.text.len(), "", 0);
        let start = self.text.len() - self.text.trim_start_matches(is_blank).len();
        self.replace(0..start, "", 0);
    }

    /// Removes the first `n` bytes.
    pub fn drop_prefix(&mut self, n: usize) {
        self.replace(0..n.min(self.text.len()), "", 0);
    }
}

/// `$NAME=VALUE` at the start of `text`: the name and the value (blanks after `=` skipped).
pub(crate) fn definition(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    if !rest.chars().next().is_some_and(is_name_start) {
        return None;
    }
    let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
    let value = rest.get(name_len..)?.strip_prefix('=')?;
    Some((rest.get(..name_len)?, value.trim_start_matches([' ', '\t'])))
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Definition {
    /// Lines separated by '\n' for a multi-line definition.
    value: String,
    multiline: bool,
}

/// What the predefined parameters stand for where a line is read.
pub(crate) struct Predefined<'a> {
    /// The directory of the file being read, absolute.
    pub pwd: &'a str,
    /// The config id ("" without one).
    pub instance: &'a str,
}

/// A failed substitution: the column of the reference at fault and what to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SubstError {
    pub col: u32,
    pub message: String,
}

/// The lines of a multi-line definition that follow its first line, and the column of the
/// reference they replace.
pub(crate) type Continuation = (u32, Vec<String>);

/// The parameters defined so far (they are global: a definition in an included file is seen
/// by the including file after the include, and the other way round).
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    defs: HashMap<String, Definition>,
    /// Name of the multi-line definition whose continuation lines are being read.
    collecting: Option<String>,
    random: std::collections::hash_map::RandomState,
    draws: u64,
}

struct Reference {
    end: usize,
    value: String,
    rest: Option<Vec<String>>,
}

impl Definitions {
    /// Records `$name=value` as read on a line (`value` already without its comment). A value
    /// ending in `\` starts a multi-line definition; its next lines go to [`Self::continue_with`].
    pub fn define(&mut self, name: &str, value: &str) {
        let value = value.trim_end_matches(is_blank);
        let (value, multiline) = match value.strip_suffix('\\') {
            Some(first) => {
                let first = first.trim_end_matches(is_blank);
                let value = if first.is_empty() {
                    String::new()
                } else {
                    format!("{first}\n")
                };
                self.collecting = Some(name.to_string());
                (value, true)
            }
            None => (value.to_string(), false),
        };
        self.defs
            .insert(name.to_string(), Definition { value, multiline });
    }

    /// Whether the lines read now continue a multi-line definition.
    pub fn collecting(&self) -> bool {
        self.collecting.is_some()
    }

    /// Adds a line (comment removed) to the multi-line definition being read, as keepalived
    /// does: an empty line ends the definition and is not part of it; a line with only blanks
    /// or a comment is skipped; a line ending in `\` is added and the definition goes on; any
    /// other line is the last.
    pub fn continue_with(&mut self, raw_line_empty: bool, content: &str) {
        let Some(name) = self.collecting.clone() else {
            return;
        };
        let Some(def) = self.defs.get_mut(&name) else {
            self.collecting = None;
            return;
        };
        let text = content.trim_matches(is_blank);
        if raw_line_empty {
            self.collecting = None;
        } else if text.is_empty() {
            return;
        } else if let Some(part) = text.strip_suffix('\\') {
            let part = part.trim_end_matches(is_blank);
            if !part.is_empty() {
                def.value.push_str(part);
                def.value.push('\n');
            }
            return;
        } else {
            def.value.push_str(text);
            self.collecting = None;
        }
        if def.value.is_empty() {
            def.multiline = false;
        }
    }

    /// Replaces the parameter references in `line`, reading replaced text again. Returns
    /// whether anything was replaced; the further lines of replaced multi-line definitions are
    /// pushed on `rest` (the innermost last).
    pub fn substitute(
        &mut self,
        line: &mut Line,
        predefined: &Predefined,
        rest: &mut Vec<Continuation>,
    ) -> Result<bool, SubstError> {
        let mut pos = 0;
        let mut replacements = 0usize;
        let mut uses: HashMap<String, usize> = HashMap::new();
        let mut changed = false;
        while let Some(offset) = line.text.get(pos..).and_then(|t| t.find('$')) {
            let at = pos + offset;
            let col = line.col(at);
            let Some((name, reference)) = self.reference(&line.text, at, predefined, col)? else {
                pos = at + 1;
                continue;
            };
            replacements += 1;
            *uses.entry(name).or_default() += 1;
            if replacements > MAX_REPLACEMENTS || line.text.len() > MAX_LINE_BYTES {
                let worst = uses
                    .iter()
                    .max_by_key(|(_, n)| **n)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_default();
                return Err(SubstError {
                    col,
                    message: format!(
                        "parameter substitution on this line does not end (${{{worst}}} was \
                         replaced {} times): a definition must not refer to itself, directly \
                         or through other definitions",
                        uses.get(&worst).copied().unwrap_or(0)
                    ),
                });
            }
            line.replace(at..reference.end, &reference.value, col);
            if let Some(lines) = reference.rest {
                rest.push((col, lines));
            }
            changed = true;
            // keepalived stops at a value that is a '~SEQ'/'~LST' line: it is expanded next.
            if reference
                .value
                .trim_start_matches(is_blank)
                .starts_with('~')
            {
                break;
            }
            // Read the replacement again: it may hold references itself.
            pos = at;
        }
        Ok(changed)
    }

    /// The reference starting with the `$` at `at`, if it is one that is replaced.
    fn reference(
        &mut self,
        text: &str,
        at: usize,
        predefined: &Predefined,
        col: u32,
    ) -> Result<Option<(String, Reference)>, SubstError> {
        let after = text.get(at + 1..).unwrap_or("");
        let (name, params, end) = if let Some(inner) = after.strip_prefix('{') {
            if !inner.chars().next().is_some_and(is_name_start) {
                return Ok(None);
            }
            let name_len = inner
                .find(|c: char| !is_name_char(c))
                .unwrap_or(inner.len());
            let tail = inner.get(name_len..).unwrap_or("");
            // Parameters: digits and spaces, not ending with a space, then '}'.
            let params_len = tail
                .find(|c: char| c != ' ' && !c.is_ascii_digit())
                .unwrap_or(tail.len());
            let params = tail.get(..params_len).unwrap_or("");
            if !tail.get(params_len..).unwrap_or("").starts_with('}')
                || (params.trim() != "" && params.ends_with(' '))
            {
                return Ok(None);
            }
            let end = at + 2 + name_len + params_len + 1;
            (inner.get(..name_len).unwrap_or(""), params.trim(), end)
        } else {
            if !after.chars().next().is_some_and(is_name_start) {
                return Ok(None);
            }
            let name_len = after
                .find(|c: char| !is_name_char(c))
                .unwrap_or(after.len());
            let next = after.get(name_len..).and_then(|t| t.chars().next());
            if !matches!(next, None | Some(' ' | '\t' | ',' | ')')) {
                return Ok(None);
            }
            (after.get(..name_len).unwrap_or(""), "", at + 1 + name_len)
        };
        let ends_line = end >= text.len();
        if let Some(def) = self.defs.get(name) {
            if !params.is_empty() || (def.multiline && !ends_line) {
                return Ok(None);
            }
            let (value, rest) = if def.multiline {
                let mut lines = def.value.split('\n');
                let first = lines.next().unwrap_or("").to_string();
                (first, Some(lines.map(str::to_string).collect()))
            } else {
                (def.value.clone(), None)
            };
            return Ok(Some((name.to_string(), Reference { end, value, rest })));
        }
        let value = match name {
            "_PWD" if params.is_empty() => predefined.pwd.to_string(),
            "_INSTANCE" if params.is_empty() => predefined.instance.to_string(),
            "_HASH" if params.is_empty() => "#".to_string(),
            "_BANG" if params.is_empty() => "!".to_string(),
            "_RANDOM" => self.random(params, col)?,
            _ => return Ok(None),
        };
        Ok(Some((
            name.to_string(),
            Reference {
                end,
                value,
                rest: None,
            },
        )))
    }

    /// `${_RANDOM [MIN [MAX]]}`: an integer in [MIN, MAX], by default [0, 32767].
    fn random(&mut self, params: &str, col: u32) -> Result<String, SubstError> {
        let error = |message: String| SubstError { col, message };
        let numbers: Vec<&str> = params.split_whitespace().collect();
        if numbers.len() > 2 {
            return Err(error(format!(
                "${{_RANDOM {params}}} has {} numbers; it takes at most MIN and MAX",
                numbers.len()
            )));
        }
        let parse = |s: &str| {
            s.parse::<u64>().map_err(|_| {
                error(format!(
                    "${{_RANDOM {params}}}: '{s}' is too large for a random number bound"
                ))
            })
        };
        let min = numbers.first().map_or(Ok(0), |s| parse(s))?;
        let max = numbers.get(1).map_or(Ok(32767), |s| parse(s))?;
        if min > max {
            return Err(error(format!(
                "${{_RANDOM {params}}}: MIN {min} is greater than MAX {max}"
            )));
        }
        self.draws = self.draws.wrapping_add(1);
        let mut hasher = self.random.build_hasher();
        hasher.write_u64(self.draws);
        let span = (max - min).saturating_add(1);
        let draw = if span == 0 {
            hasher.finish()
        } else {
            hasher.finish() % span
        };
        Ok((min + draw).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Predefined = Predefined {
        pwd: "/etc/k",
        instance: "main",
    };

    /// Substitutes `text` with `defs`; the line and the continuation lines.
    fn subst(defs: &mut Definitions, text: &str) -> (String, Vec<Continuation>) {
        let mut line = Line::physical(text);
        let mut rest = Vec::new();
        defs.substitute(&mut line, &HERE, &mut rest).unwrap();
        (line.text, rest)
    }

    fn defs(pairs: &[(&str, &str)]) -> Definitions {
        let mut defs = Definitions::default();
        for (name, value) in pairs {
            defs.define(name, value);
        }
        defs
    }

    #[test]
    fn definitions_are_recognised_as_keepalived_does() {
        assert_eq!(definition("$A=1"), Some(("A", "1")));
        assert_eq!(definition("$_a9=  x y"), Some(("_a9", "x y")));
        assert_eq!(definition("$E="), Some(("E", "")));
        // No blank before '=' (keepalived 2.2.7 takes `$B =x` as a line using $B).
        assert_eq!(definition("$B =x"), None);
        assert_eq!(definition("$9=1"), None);
        assert_eq!(definition("$A"), None);
        assert_eq!(definition("$A-B=1"), None);
    }

    #[test]
    fn references_plain_and_braced() {
        let mut d = defs(&[("A", "alpha"), ("E", "")]);
        assert_eq!(subst(&mut d, "$A").0, "alpha");
        assert_eq!(
            subst(&mut d, "${A}x $A,b $A) $A\tq").0,
            "alphax alpha,b alpha) alpha\tq"
        );
        // Not followed by a blank, ',', ')' or the end: left alone, as are unknown names.
        assert_eq!(
            subst(&mut d, "$Ax \"$A\" $A} $B ${B} $ $1 ${A").0,
            "$Ax \"$A\" $A} $B ${B} $ $1 ${A"
        );
        assert_eq!(subst(&mut d, "k $E z").0, "k  z");
    }

    #[test]
    fn values_are_looked_up_when_used_and_read_again() {
        let mut d = defs(&[("BASE", "10.2.${SUB}"), ("SUB", "0")]);
        assert_eq!(subst(&mut d, "${BASE}.100/32").0, "10.2.0.100/32");
        d.define("SUB", "10");
        assert_eq!(subst(&mut d, "${BASE}.100/32").0, "10.2.10.100/32");
    }

    #[test]
    fn predefined_parameters() {
        let mut d = Definitions::default();
        assert_eq!(subst(&mut d, "${_PWD}/x $_INSTANCE").0, "/etc/k/x main");
        assert_eq!(subst(&mut d, "a${_HASH}b${_BANG}").0, "a#b!");
        assert_eq!(subst(&mut d, "${_RANDOM 5 5} ${_RANDOM  7 7}").0, "5 7");
        let n: u32 = subst(&mut d, "${_RANDOM 32000}").0.parse().unwrap();
        assert!((32000..=32767).contains(&n));
        let n: u32 = subst(&mut d, "${_RANDOM}").0.parse().unwrap();
        assert!(n <= 32767);
        // Parameters only for _RANDOM, digits only.
        assert_eq!(
            subst(&mut d, "${_PWD 1} ${_RANDOM x}").0,
            "${_PWD 1} ${_RANDOM x}"
        );
        // A definition overrides a predefined name.
        d.define("_PWD", "/mine");
        assert_eq!(subst(&mut d, "$_PWD").0, "/mine");
        let mut line = Line::physical("x ${_RANDOM 9 1}");
        let err = d.substitute(&mut line, &HERE, &mut Vec::new()).unwrap_err();
        assert_eq!(err.col, 3);
        assert!(
            err.message.contains("MIN 9 is greater than MAX 1"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_self_reference_is_an_error_not_a_hang() {
        let mut d = defs(&[("SELF", "$SELF y")]);
        let mut line = Line::physical("s $SELF");
        let err = d.substitute(&mut line, &HERE, &mut Vec::new()).unwrap_err();
        assert_eq!(err.col, 3);
        assert!(err.message.contains("${SELF}"), "{}", err.message);
        let mut d = defs(&[("A", "${B}"), ("B", "${A}")]);
        let mut line = Line::physical("${A}");
        assert!(d.substitute(&mut line, &HERE, &mut Vec::new()).is_err());
        // Growing without a cycle through names is bounded by the line length.
        let mut d = defs(&[
            ("A", "${B}${B}${B}${B}"),
            ("B", "${C}${C}${C}${C}"),
            (
                "C",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            ),
        ]);
        let mut line = Line::physical(&"${A}".repeat(100));
        assert!(d.substitute(&mut line, &HERE, &mut Vec::new()).is_err());
    }

    #[test]
    fn multiline_definitions_collect_as_keepalived_does() {
        let mut d = Definitions::default();
        d.define("M", "first \\");
        assert!(d.collecting());
        d.continue_with(false, "  second  \\");
        d.continue_with(false, "   ");
        d.continue_with(false, "\\");
        d.continue_with(false, "third");
        assert!(!d.collecting());
        let (line, rest) = subst(&mut d, "x $M");
        assert_eq!(line, "x first");
        assert_eq!(
            rest,
            vec![(3, vec!["second".to_string(), "third".to_string()])]
        );
        // Only where the reference ends the line.
        assert_eq!(subst(&mut d, "x $M y").0, "x $M y");
        // An empty line ends the definition without being part of it.
        d.define("N", "\\");
        d.continue_with(false, "a \\");
        d.continue_with(true, "");
        assert!(!d.collecting());
        assert_eq!(
            subst(&mut d, "${N}"),
            ("a".to_string(), vec![(1, vec![String::new()])])
        );
        // A definition with no lines at all is a plain empty one.
        d.define("O", "\\");
        d.continue_with(true, "");
        assert_eq!(subst(&mut d, "p $O q").0, "p  q");
    }

    #[test]
    fn columns_follow_the_original_text() {
        let mut d = defs(&[("A", "alpha beta")]);
        let mut line = Line::physical("é $A x");
        d.substitute(&mut line, &HERE, &mut Vec::new()).unwrap();
        assert_eq!(line.text, "é alpha beta x");
        // 'é' is column 1 (two bytes), the replacement all column 3, then 'x' column 6.
        assert_eq!(line.col(0), 1);
        assert_eq!(line.col(3), 3);
        assert_eq!(line.col(12), 3);
        assert_eq!(line.col(14), 6);
        assert_eq!(line.col(99), 7);
    }
}
