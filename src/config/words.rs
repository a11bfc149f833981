//! keepalived's second tokenizer, the one it applies to script lines (`notify*`, `script`):
//! words split on whitespace; `"..."` and `'...'` group words and are removed; backslash escapes
//! work inside and outside quotes (`\a \b \E \f \n \r \t \v`, `\nnn` octal, `\xXX...` hex,
//! `\cC` control, `\C` = `C`), and adjacent quoted and unquoted pieces join into one word.
//!
//! A notify line is split twice with these rules: once into `command [user [group]]`, and the
//! command again into the argv. [`split_command_line`] is that second step, for the script runner.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// A quote was opened at this character offset and never closed.
    UnterminatedQuote { quote: char, offset: usize },
    /// The line ends with a lone backslash.
    TrailingBackslash,
    /// An escape produced a byte sequence that is not UTF-8, or a NUL byte.
    BadEscape { offset: usize },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::UnterminatedQuote { quote, offset } => write!(
                f,
                "the {quote} opened at character {} is never closed",
                offset + 1
            ),
            SplitError::TrailingBackslash => f.write_str("a lone '\\' ends the line"),
            SplitError::BadEscape { offset } => write!(
                f,
                "the escape at character {} makes a NUL byte or invalid UTF-8",
                offset + 1
            ),
        }
    }
}

impl std::error::Error for SplitError {}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Splits a command line into words exactly as keepalived does for its scripts.
pub fn split_command_line(line: &str) -> Result<Vec<String>, SplitError> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while chars.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<(char, usize)> = None;
        let mut word_escape_at: Option<usize> = None;
        while let Some(&c) = chars.get(i) {
            match (c, quote) {
                ('\\', _) => {
                    let escape_start = i;
                    i += 1;
                    let Some(&e) = chars.get(i) else {
                        return Err(SplitError::TrailingBackslash);
                    };
                    i += 1;
                    let byte = match e {
                        'x' if chars.get(i).is_some_and(char::is_ascii_hexdigit) => {
                            let mut value: u8 = 0;
                            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(16)) {
                                // keepalived accumulates in a char: only the low 8 bits survive.
                                value = (value << 4) | (d as u8);
                                i += 1;
                            }
                            Some(value)
                        }
                        'c' if chars.get(i).is_some() => {
                            let controlled = chars.get(i).copied().unwrap_or('@');
                            i += 1;
                            let mut buf = [0u8; 4];
                            let first = controlled.encode_utf8(&mut buf).as_bytes();
                            Some(first.first().copied().unwrap_or(0) & 0x1f)
                        }
                        '0'..='7' => {
                            let mut value: u8 = e.to_digit(8).unwrap_or(0) as u8;
                            for _ in 0..2 {
                                match chars.get(i).and_then(|c| c.to_digit(8)) {
                                    Some(d) => {
                                        value = value.wrapping_shl(3).wrapping_add(d as u8);
                                        i += 1;
                                    }
                                    None => break,
                                }
                            }
                            Some(value)
                        }
                        'a' => Some(0x07),
                        'b' => Some(0x08),
                        'E' => Some(0x1b),
                        'f' => Some(0x0c),
                        'n' => Some(b'\n'),
                        'r' => Some(b'\r'),
                        't' => Some(b'\t'),
                        'v' => Some(0x0b),
                        _ => None,
                    };
                    match byte {
                        Some(b) => {
                            if b == 0 {
                                return Err(SplitError::BadEscape {
                                    offset: escape_start,
                                });
                            }
                            word.push(b);
                            word_escape_at.get_or_insert(escape_start);
                        }
                        None => {
                            let mut buf = [0u8; 4];
                            word.extend_from_slice(e.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                (c, Some((q, _))) if c == q => {
                    quote = None;
                    i += 1;
                }
                (c, None) if c == '"' || c == '\'' => {
                    quote = Some((c, i));
                    i += 1;
                }
                (c, None) if is_space(c) => break,
                (c, _) => {
                    let mut buf = [0u8; 4];
                    word.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    i += 1;
                }
            }
        }
        if let Some((q, offset)) = quote {
            return Err(SplitError::UnterminatedQuote { quote: q, offset });
        }
        match String::from_utf8(word) {
            Ok(w) => words.push(w),
            Err(_) => {
                return Err(SplitError::BadEscape {
                    offset: word_escape_at.unwrap_or(0),
                })
            }
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_command_line(s).unwrap()
    }

    #[test]
    fn man_page_examples() {
        // keepalived.conf(5), "Quoted strings".
        assert_eq!(
            split(r#"abcd" efg h jkl "mnop"#),
            vec!["abcd efg h jkl mnop"]
        );
        assert_eq!(
            split(r#"abcd "efg h jkl" mnop"#),
            vec!["abcd", "efg h jkl", "mnop"]
        );
    }

    #[test]
    fn single_quotes_and_escapes() {
        assert_eq!(
            split(r#"/bin/echo 'a b' "c\"d" e\ f"#),
            vec!["/bin/echo", "a b", "c\"d", "e f"]
        );
        assert_eq!(split(r"a\tb \x41\102 \cA"), vec!["a\tb", "AB", "\u{1}"]);
        assert_eq!(split(r"'\n'"), vec!["\n"]);
        assert_eq!(split("  "), Vec::<String>::new());
    }

    #[test]
    fn errors() {
        assert_eq!(
            split_command_line("a 'b"),
            Err(SplitError::UnterminatedQuote {
                quote: '\'',
                offset: 2
            })
        );
        assert_eq!(
            split_command_line("a\\"),
            Err(SplitError::TrailingBackslash)
        );
        assert_eq!(
            split_command_line("a\\0"),
            Err(SplitError::BadEscape { offset: 1 })
        );
        assert_eq!(
            split_command_line("\\xff"),
            Err(SplitError::BadEscape { offset: 0 })
        );
    }
}
