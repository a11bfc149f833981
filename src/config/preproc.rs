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
/// Work allowed for substitution in all (the sum of the line lengths at each replacement): bounds
/// the time a hostile file can take, far above what a real configuration needs.
pub(crate) const MAX_TOTAL_WORK: usize = 256 << 20;
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
    /// The whole configuration has used up the substitution budget: stop reading it.
    pub fatal: bool,
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
    /// Substitution work so far (see [`MAX_TOTAL_WORK`]).
    work: usize,
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
            self.work = self
                .work
                .saturating_add(line.text.len() + reference.value.len());
            if self.work > MAX_TOTAL_WORK {
                return Err(SubstError {
                    col,
                    message: format!(
                        "parameter substitution has replaced more than {} MiB of text in this \
                         configuration; keepvip stops reading here (check for definitions that \
                         grow with each use)",
                        MAX_TOTAL_WORK / (1024 * 1024)
                    ),
                    fatal: true,
                });
            }
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
                    fatal: false,
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
        let error = |message: String| SubstError {
            col,
            message,
            fatal: false,
        };
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

/// A `~SEQ` / `~SEQx` / `~LST` line generator: the rest of its line is read once for each value
/// (each tuple of values for `~LST({a, b}, ...)`), with the variables defined to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Generator {
    pub vars: Vec<String>,
    pub values: Values,
    /// Byte offset of the rest of the line (blanks skipped).
    pub rest: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Values {
    Seq {
        start: i64,
        step: i64,
        end: i64,
        hex: bool,
    },
    List(Vec<Vec<String>>),
}

impl Values {
    /// The `index`th tuple of values, `None` past the last.
    pub fn get(&self, index: u64) -> Option<Vec<String>> {
        match self {
            Values::Seq {
                start,
                step,
                end,
                hex,
            } => {
                let index = i64::try_from(index).ok()?;
                let value = step.checked_mul(index)?.checked_add(*start)?;
                let inside = if *step > 0 {
                    value <= *end
                } else {
                    value >= *end
                };
                if !inside {
                    return None;
                }
                Some(vec![if *hex {
                    format!("{value:x}")
                } else {
                    value.to_string()
                }])
            }
            Values::List(tuples) => tuples.get(usize::try_from(index).ok()?).cloned(),
        }
    }
}

/// A number as C's `strtol(s, _, 0)` reads it (keepalived's `~SEQ` parameters): optional sign,
/// `0x` hexadecimal, a leading `0` octal, else decimal; the whole text must be the number.
fn c_integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, hex)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, digits.get(1..)?)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i64::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Splits `text` at the commas outside `{...}`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(text.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text.get(start..).unwrap_or(""));
    parts
}

/// The words of a `{a, b}` group, or `None` if `text` is not one.
fn group(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    Some(
        inner
            .split(',')
            .map(|w| w.trim_matches(is_blank).to_string())
            .collect(),
    )
}

impl Definitions {
    /// Parses the `~SEQ(...)` / `~SEQx(...)` / `~LST(...)` that starts `line`, with parameter
    /// references in its parentheses replaced first (as keepalived does). The error says what
    /// is wrong, for the generator's position.
    pub fn generator(&mut self, line: &Line, predefined: &Predefined) -> Result<Generator, String> {
        let text = line.text.as_str();
        let (what, after) = if let Some(after) = text.strip_prefix("~SEQx") {
            ("~SEQx", after)
        } else if let Some(after) = text.strip_prefix("~SEQ") {
            ("~SEQ", after)
        } else if let Some(after) = text.strip_prefix("~LST") {
            ("~LST", after)
        } else {
            return Err("not a ~SEQ or ~LST line".to_string());
        };
        let usage = if what == "~LST" {
            "write ~LST(var, value, ...) or ~LST({var1, var2}, {value1, value2}, ...)"
        } else {
            "write ~SEQ(var, end), ~SEQ(var, start, end) or ~SEQ(var, start, step, end)"
        };
        let open_at = text.len() - after.trim_start_matches(is_blank).len();
        if !text.get(open_at..).unwrap_or("").starts_with('(') {
            return Err(format!("{what} needs '(' after it: {usage}"));
        }
        let Some(close_at) = text
            .get(open_at..)
            .and_then(|t| t.find(')'))
            .map(|i| i + open_at)
        else {
            return Err(format!("{what}(...) has no closing ')': {usage}"));
        };
        // References in the parameters are replaced first (one-line definitions only).
        let mut params = Line::generated(text.get(open_at + 1..close_at).unwrap_or(""), 1);
        let mut continuations = Vec::new();
        self.substitute(&mut params, predefined, &mut continuations)
            .map_err(|e| e.message)?;
        if !continuations.is_empty() {
            return Err(format!(
                "a {what} parameter is a multi-line definition; use one-line values"
            ));
        }
        let rest_tail = text.get(close_at + 1..).unwrap_or("");
        let rest = text.len() - rest_tail.trim_start_matches(is_blank).len();
        let parts: Vec<&str> = split_top_level(&params.text)
            .into_iter()
            .map(|p| p.trim_matches(is_blank))
            .collect();
        let (vars, values) = match parts.split_first() {
            Some((var, values)) if !values.is_empty() => (*var, values),
            _ => return Err(format!("{what}({}) has no values: {usage}", params.text)),
        };
        let bad_var =
            |v: &str| v.is_empty() || v.contains(|c: char| is_blank(c) || c == '{' || c == '}');
        if what == "~LST" {
            let vars = group(vars).unwrap_or_else(|| vec![vars.to_string()]);
            if let Some(v) = vars.iter().find(|v| bad_var(v)) {
                return Err(format!("~LST variable '{v}' is not a name: {usage}"));
            }
            let mut tuples = Vec::with_capacity(values.len());
            for value in values {
                let tuple = match group(value) {
                    Some(tuple) => tuple,
                    None if vars.len() == 1 && !value.starts_with('{') => {
                        vec![value.to_string()]
                    }
                    None => {
                        return Err(format!(
                            "~LST value '{value}' is not a {{...}} group of {} values",
                            vars.len()
                        ))
                    }
                };
                if tuple.len() != vars.len() {
                    return Err(format!(
                        "~LST value '{value}' has {} values for {} variables",
                        tuple.len(),
                        vars.len()
                    ));
                }
                if let Some(v) = tuple.iter().find(|v| {
                    v.contains(|c: char| {
                        is_blank(c) || c == '"' || c == '\'' || c == '{' || c == '}'
                    })
                }) {
                    return Err(format!(
                        "~LST value '{v}' has a blank, quote or brace in it (keepalived refuses \
                         it); use a definition and ${{NAME}} for such text"
                    ));
                }
                tuples.push(tuple);
            }
            return Ok(Generator {
                vars,
                values: Values::List(tuples),
                rest,
            });
        }
        if bad_var(vars) {
            return Err(format!("{what} variable '{vars}' is not a name: {usage}"));
        }
        let mut numbers = Vec::with_capacity(values.len());
        for value in values {
            match c_integer(value) {
                Some(n) => numbers.push(n),
                None => {
                    return Err(format!(
                        "{what} parameter '{value}' is not an integer (decimal, 0x hexadecimal \
                         or 0 octal): {usage}"
                    ))
                }
            }
        }
        let (start, step, end) = match numbers.as_slice() {
            [end] => (
                if *end < 0 { -1 } else { 1 },
                if *end < 1 { -1 } else { 1 },
                *end,
            ),
            [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
            [start, step, end] => {
                if *step == 0 || (start < end && *step < 0) || (start > end && *step > 0) {
                    return Err(format!(
                        "{what}: step {step} never goes from {start} to {end}"
                    ));
                }
                (*start, *step, *end)
            }
            _ => {
                return Err(format!(
                    "{what} takes 1 to 3 numbers, not {}: {usage}",
                    numbers.len()
                ))
            }
        };
        let hex = what == "~SEQx";
        if hex && (start < 0 || end < 0) {
            return Err(format!(
                "~SEQx is only for numbers that are not negative ({start} to {end})"
            ));
        }
        Ok(Generator {
            vars: vec![vars.to_string()],
            values: Values::Seq {
                start,
                step,
                end,
                hex,
            },
            rest,
        })
    }

    /// Sets a plain (one-line) definition: a `~SEQ`/`~LST` variable.
    pub fn set(&mut self, name: &str, value: &str) {
        self.defs.insert(
            name.to_string(),
            Definition {
                value: value.to_string(),
                multiline: false,
            },
        );
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
    fn the_whole_configuration_has_a_substitution_budget() {
        let long = "x".repeat(1000);
        let mut d = defs(&[("A", "${B}${B}${B}${B}"), ("B", long.as_str())]);
        let mut fatal = None;
        for n in 0..100_000 {
            let mut line = Line::physical("${A} ${A} ${A} ${A}");
            if let Err(err) = d.substitute(&mut line, &HERE, &mut Vec::new()) {
                fatal = Some((n, err));
                break;
            }
        }
        let (n, err) = fatal.expect("the budget ends it");
        assert!(err.fatal && n > 1000, "{n}: {err:?}");
        assert!(err.message.contains("256 MiB"), "{}", err.message);
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

    /// The generator of `text` and all its value tuples (at most 100).
    fn generate(
        defs: &mut Definitions,
        text: &str,
    ) -> Result<(Vec<String>, Vec<String>, String), String> {
        let line = Line::physical(text);
        let g = defs.generator(&line, &HERE)?;
        let values: Vec<String> = (0..100)
            .map_while(|i| g.values.get(i))
            .map(|t| t.join(","))
            .collect();
        Ok((g.vars, values, text[g.rest..].to_string()))
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn seq_forms_as_keepalived_reads_them() {
        let mut d = defs(&[("N", "3")]);
        let seq = |d: &mut Definitions, t: &str| generate(d, t).map(|(_, v, r)| (v, r));
        assert_eq!(
            seq(&mut d, "~SEQ(i, 3) x $i"),
            Ok((strs(&["1", "2", "3"]), "x $i".to_string()))
        );
        assert_eq!(seq(&mut d, "~SEQ(i, 0)").unwrap().0, strs(&["1", "0"]));
        assert_eq!(seq(&mut d, "~SEQ(i, -2)").unwrap().0, strs(&["-1", "-2"]));
        assert_eq!(
            seq(&mut d, "~SEQ(i, 3, 1)").unwrap().0,
            strs(&["3", "2", "1"])
        );
        assert_eq!(
            seq(&mut d, "~SEQ (i,0,2,5)").unwrap().0,
            strs(&["0", "2", "4"])
        );
        assert_eq!(seq(&mut d, "~SEQ(i, 010)").unwrap().0.len(), 8);
        assert_eq!(seq(&mut d, "~SEQ(i, 0x2)").unwrap().0, strs(&["1", "2"]));
        assert_eq!(
            seq(&mut d, "~SEQ(i, $N)").unwrap().0,
            strs(&["1", "2", "3"])
        );
        assert_eq!(
            seq(&mut d, "~SEQx(s, 0x90, 0x10, 0xc0) ip fe80::${s}")
                .unwrap()
                .0,
            strs(&["90", "a0", "b0", "c0"])
        );
        for bad in [
            "~SEQ i, 3)",
            "~SEQ(i, 3",
            "~SEQ(i)",
            "~SEQ(i, x)",
            "~SEQ(i 3)",
            "~SEQ(i, 1, 0, 2)",
            "~SEQ(i, 1, -1, 2)",
            "~SEQ(i, 1, 2, 3, 4)",
            "~SEQx(i, -1, 1)",
            "~SEQ(i, 99999999999999999999)",
        ] {
            assert!(seq(&mut d, bad).is_err(), "{bad} should be refused");
        }
        // The end of a huge range is no overflow.
        let line = Line::physical("~SEQ(i, 9223372036854775806, 9223372036854775807)");
        let g = d.generator(&line, &HERE).unwrap();
        assert_eq!(g.values.get(1), Some(strs(&["9223372036854775807"])));
        assert_eq!(g.values.get(2), None);
    }

    #[test]
    fn lst_forms_as_keepalived_reads_them() {
        let mut d = defs(&[("W", "z")]);
        assert_eq!(
            generate(&mut d, "~LST(l, a, b) l$l"),
            Ok((strs(&["l"]), strs(&["a", "b"]), "l$l".to_string()))
        );
        assert_eq!(
            generate(
                &mut d,
                "~LST({IP, IP1}, {10,1},{20, 4}) 192.168.${IP}.${IP1}"
            ),
            Ok((
                strs(&["IP", "IP1"]),
                strs(&["10,1", "20,4"]),
                "192.168.${IP}.${IP1}".to_string()
            ))
        );
        assert_eq!(
            generate(&mut d, "~LST(o, $W, w)").unwrap().1,
            strs(&["z", "w"])
        );
        assert_eq!(generate(&mut d, "~LST({l}, {x})").unwrap().1, strs(&["x"]));
        assert_eq!(
            generate(&mut d, "~LST(l, a,, b)").unwrap().1,
            strs(&["a", "", "b"])
        );
        for bad in [
            "~LST(l)",
            "~LST(l, a, b",
            "~LST(l, \"x y\", z)",
            "~LST(l, x y, z)",
            "~LST({a,b}, {1}, {2,3})",
            "~LST({a,b}, 1)",
        ] {
            assert!(generate(&mut d, bad).is_err(), "{bad} should be refused");
        }
    }
}
