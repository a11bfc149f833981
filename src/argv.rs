//! Splitting a notify / track script command string into argv, the way keepalived does it.
//! Pure (no I/O): the config layer checks commands with it and the script runner runs them.
//!
//! keepalived never hands these strings to a shell (unless a script has no `#!` line, which
//! we do not emulate). Its rules, mirrored here byte for byte:
//!
//! - Words are separated by runs of white space (space, `\t`, `\f`, `\n`, `\r`, `\v`).
//! - `"…"` and `'…'` quote; quoted and unquoted pieces that touch are one word
//!   (`a"b c"d` is `ab cd`); `""` on its own is an empty word.
//! - Unlike a POSIX shell, a backslash escapes everywhere, inside both kinds of quotes:
//!   `\a \b \E \f \n \r \t \v` are control characters, `\xHH…` takes every following hex digit,
//!   `\0`..`\7` take up to three octal digits, `\cX` is control-X, and any other `\c`
//!   stands for `c` itself (so `\"`, `\'`, `\\` and `\ ` are literal).
//! - A numeric escape keeps only its low eight bits, like keepalived's `char` arithmetic.
//!
//! In a keepalived.conf line the same rules are applied twice: once to the whole line (which
//! yields the keyword, the quoted command and the optional user and group), then again to the
//! command string itself. [`split_command`] does one pass; the config layer uses it for both.
//!
//! Where keepalived would silently misbehave we refuse instead: an escape that yields a NUL
//! byte (C would cut the argument there) or bytes that are not UTF-8 are errors.

use std::fmt;

/// Why a command string could not be split into arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SplitError {
    /// Nothing but white space.
    Empty,
    /// A quote was opened at byte `offset` (0-based) and never closed.
    UnterminatedQuote { quote: char, offset: usize },
    /// The string ends with a backslash that escapes nothing.
    TrailingBackslash,
    /// An escape produced a NUL byte in argument `index` (0-based).
    NulByte { index: usize },
    /// Escapes produced bytes that are not UTF-8 in argument `index` (0-based).
    NotUtf8 { index: usize },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::Empty => {
                write!(
                    f,
                    "empty script command: give the script's path and its arguments"
                )
            }
            SplitError::UnterminatedQuote { quote, offset } => write!(
                f,
                "missing closing {quote} for the quote opened at character {}: \
                 close the quote, or write \\{quote} for a literal {quote}",
                offset + 1
            ),
            SplitError::TrailingBackslash => write!(
                f,
                "script command ends with a lone backslash: write \\\\ for a literal \
                 backslash, or remove it"
            ),
            SplitError::NulByte { index } => write!(
                f,
                "argument {} of the script command contains a NUL byte (from an escape such \
                 as \\0 or \\x00), which cannot be passed to a program: remove that escape",
                index + 1
            ),
            SplitError::NotUtf8 { index } => write!(
                f,
                "argument {} of the script command is not valid UTF-8 after escapes \
                 (\\x.. or octal): write the characters themselves instead",
                index + 1
            ),
        }
    }
}

impl std::error::Error for SplitError {}

/// keepalived's WHITE_SPACE_STR.
fn is_white_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' | b'\x0b')
}

fn octal_value(byte: Option<u8>) -> Option<u8> {
    match byte {
        Some(digit @ b'0'..=b'7') => Some(digit - b'0'),
        _ => None,
    }
}

fn hex_value(byte: Option<u8>) -> Option<u8> {
    match byte {
        Some(digit @ b'0'..=b'9') => Some(digit - b'0'),
        Some(letter @ b'a'..=b'f') => Some(letter - b'a' + 10),
        Some(letter @ b'A'..=b'F') => Some(letter - b'A' + 10),
        _ => None,
    }
}

/// Decodes the escape whose backslash has just been consumed; `bytes[*pos]` is the byte after it.
fn decode_escape(bytes: &[u8], pos: &mut usize) -> Result<u8, SplitError> {
    let at = |i: usize| bytes.get(i).copied();
    let first = at(*pos).ok_or(SplitError::TrailingBackslash)?;
    if first == b'x' && hex_value(at(*pos + 1)).is_some() {
        *pos += 1;
        let mut value: u8 = 0;
        while let Some(digit) = hex_value(at(*pos)) {
            // Only the low eight bits survive, as in keepalived's `char` accumulator.
            value = (value << 4) | digit;
            *pos += 1;
        }
        return Ok(value);
    }
    if first == b'c' {
        if let Some(letter) = at(*pos + 1).filter(|&byte| byte != 0) {
            *pos += 2;
            return Ok(letter & 0x1f);
        }
    }
    if let Some(mut value) = octal_value(Some(first)) {
        *pos += 1;
        for _ in 0..2 {
            match octal_value(at(*pos)) {
                Some(digit) => {
                    value = (value << 3) + digit;
                    *pos += 1;
                }
                None => break,
            }
        }
        return Ok(value);
    }
    *pos += 1;
    Ok(match first {
        b'a' => 0x07,
        b'b' => 0x08,
        b'E' => 0x1b,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0b,
        other => other,
    })
}

/// Splits `cmd` into argv exactly as keepalived's `alloc_strvec_quoted_escaped` does.
///
/// ```
/// use keepvip::script::split_command;
/// assert_eq!(
///     split_command(r#"/usr/bin/notify.sh "two words" it\'s 'a\tb'"#).unwrap(),
///     ["/usr/bin/notify.sh", "two words", "it's", "a\tb"],
/// );
/// ```
pub fn split_command(cmd: &str) -> Result<Vec<String>, SplitError> {
    let bytes = cmd.as_bytes();
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos).copied().is_some_and(is_white_space) {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let mut word = Vec::new();
        // The open quote character and where it was opened, if inside quotes.
        let mut quote: Option<(u8, usize)> = None;
        while let Some(&byte) = bytes.get(pos) {
            match (byte, quote) {
                (b'\\', _) => {
                    pos += 1;
                    word.push(decode_escape(bytes, &mut pos)?);
                }
                (_, Some((open, _))) if byte == open => {
                    quote = None;
                    pos += 1;
                }
                (b'"' | b'\'', None) => {
                    quote = Some((byte, pos));
                    pos += 1;
                }
                (_, None) if is_white_space(byte) => break,
                _ => {
                    word.push(byte);
                    pos += 1;
                }
            }
        }
        if let Some((open, offset)) = quote {
            return Err(SplitError::UnterminatedQuote {
                quote: char::from(open),
                offset,
            });
        }
        words.push(word);
    }
    if words.is_empty() {
        return Err(SplitError::Empty);
    }
    words
        .into_iter()
        .enumerate()
        .map(|(index, word)| {
            if word.contains(&0) {
                return Err(SplitError::NulByte { index });
            }
            String::from_utf8(word).map_err(|_| SplitError::NotUtf8 { index })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(cmd: &str) -> Vec<String> {
        match split_command(cmd) {
            Ok(argv) => argv,
            Err(err) => panic!("{cmd:?} did not split: {err}"),
        }
    }

    #[test]
    fn plain_words_split_on_any_white_space() {
        assert_eq!(
            split(" /etc/keepalived/notify.sh\tMASTER \x0b x\r\ny\x0c"),
            ["/etc/keepalived/notify.sh", "MASTER", "x", "y"]
        );
    }

    #[test]
    fn double_and_single_quotes_group_words() {
        assert_eq!(
            split(r#"/bin/echo "hello world" 'single quoted' """#),
            ["/bin/echo", "hello world", "single quoted", ""]
        );
    }

    #[test]
    fn adjacent_quoted_and_bare_pieces_form_one_word() {
        assert_eq!(split(r#"a"b c"d'e f'g"#), ["ab cde fg"]);
        assert_eq!(split(r#"'it'"'"'s'"#), ["it's"]);
    }

    #[test]
    fn other_quote_is_literal_inside_quotes() {
        assert_eq!(split(r#""it's" 'say "hi"'"#), ["it's", r#"say "hi""#]);
    }

    #[test]
    fn backslash_escapes_outside_quotes() {
        assert_eq!(
            split(r#"a\ b \"q\" \'s\' back\\slash"#),
            ["a b", "\"q\"", "'s'", "back\\slash"]
        );
    }

    #[test]
    fn backslash_escapes_inside_both_quote_kinds() {
        // Unlike sh, a single-quoted backslash still escapes.
        assert_eq!(split(r#"'it\'s' "a\"b" 'x\ny'"#), ["it's", "a\"b", "x\ny"]);
    }

    #[test]
    fn control_escapes() {
        assert_eq!(split(r"\a\b\E\f\n\r\t\v"), ["\x07\x08\x1b\x0c\n\r\t\x0b"]);
        assert_eq!(split(r"\cA\cz\c["), ["\x01\x1a\x1b"]);
    }

    #[test]
    fn numeric_escapes() {
        assert_eq!(split(r"\x41\x4a\x4A"), ["AJJ"]);
        assert_eq!(split(r"\101\60\0601"), ["A001"]);
        // All hex digits are taken, only the low eight bits kept: 0x414 -> 0x14.
        assert_eq!(split(r"\x414"), ["\x14"]);
        // At most three octal digits: \1011 is 'A' then '1'.
        assert_eq!(split(r"\1011"), ["A1"]);
        // Octal wraps at eight bits like keepalived's char: \501 = 0o501 & 0xff = 0x41.
        assert_eq!(split(r"\501"), ["A"]);
    }

    #[test]
    fn escape_letters_without_their_operand_are_literal() {
        // \x not followed by a hex digit is 'x'; \c at the very end is 'c'.
        assert_eq!(split(r"\xg \c"), ["xg", "c"]);
        assert_eq!(split(r"\q\8"), ["q8"]);
    }

    #[test]
    fn non_ascii_survives_escaping() {
        assert_eq!(split(r"caf\é 'ü'"), ["café", "ü"]);
    }

    #[test]
    fn keepalived_conf_line_then_command() {
        // keepalived first splits the whole line, then splits the command string again.
        let line = split(r#"notify_master "/usr/local/bin/vip.sh up \"eth0 vip\"" vrrp_user vrrp"#);
        assert_eq!(
            line,
            [
                "notify_master",
                r#"/usr/local/bin/vip.sh up "eth0 vip""#,
                "vrrp_user",
                "vrrp"
            ]
        );
        assert_eq!(split(&line[1]), ["/usr/local/bin/vip.sh", "up", "eth0 vip"]);
    }

    #[test]
    fn empty_command_is_an_error() {
        assert_eq!(split_command(""), Err(SplitError::Empty));
        assert_eq!(split_command(" \t\n"), Err(SplitError::Empty));
    }

    #[test]
    fn unterminated_quotes_are_errors_naming_the_quote() {
        let err = split_command(r#"/bin/x "abc"#).unwrap_err();
        assert_eq!(
            err,
            SplitError::UnterminatedQuote {
                quote: '"',
                offset: 7
            }
        );
        assert!(err.to_string().contains("missing closing \""), "{err}");
        assert!(err.to_string().contains("character 8"), "{err}");
        assert_eq!(
            split_command(r"/bin/x 'a\'"),
            Err(SplitError::UnterminatedQuote {
                quote: '\'',
                offset: 7
            })
        );
    }

    #[test]
    fn trailing_backslash_is_an_error() {
        assert_eq!(
            split_command(r"/bin/x a\"),
            Err(SplitError::TrailingBackslash)
        );
        assert!(SplitError::TrailingBackslash
            .to_string()
            .contains("lone backslash"));
    }

    #[test]
    fn nul_and_invalid_utf8_escapes_are_errors() {
        assert_eq!(
            split_command(r"/bin/x a\0b"),
            Err(SplitError::NulByte { index: 1 })
        );
        assert_eq!(
            split_command(r"/bin/x \x00"),
            Err(SplitError::NulByte { index: 1 })
        );
        assert_eq!(
            split_command(r"/bin/x y \xff"),
            Err(SplitError::NotUtf8 { index: 2 })
        );
        assert!(SplitError::NotUtf8 { index: 2 }
            .to_string()
            .contains("argument 3"));
    }
}
