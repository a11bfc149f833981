//! Argument values as keepalived reads them: unsigned integers, decimal seconds, scopes,
//! interface names.

use super::model::Scope;

const MICROS_PER_SEC: u64 = 1_000_000;
/// IFNAMSIZ - 1.
pub(crate) const MAX_IFNAME_BYTES: usize = 15;

/// Linux `dev_valid_name`: 1-15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
pub(crate) fn interface_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_IFNAME_BYTES {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("'.' and '..' are not interface names")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("it contains '/', ':' or white space")
    } else {
        None
    }
}

pub(crate) fn parse_scope(text: &str) -> Option<Scope> {
    match text {
        "global" => Some(Scope::Global),
        "site" => Some(Scope::Site),
        "link" => Some(Scope::Link),
        "host" => Some(Scope::Host),
        "nowhere" => Some(Scope::Nowhere),
        _ => parse_uint(text)
            .ok()
            .and_then(|n| u8::try_from(n).ok())
            .map(Scope::from_u8),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumError {
    NotNumber,
    Negative,
    TooLarge,
    TooPrecise,
}

/// keepalived's unsigned integers: leading blanks (possible inside quotes), an optional `+`,
/// decimal digits.
pub(crate) fn parse_uint(text: &str) -> Result<u64, NumError> {
    let t = text.trim_start_matches([' ', '\t']);
    if t.starts_with('-') {
        return Err(NumError::Negative);
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::NotNumber);
    }
    t.parse::<u64>().map_err(|_| NumError::TooLarge)
}

/// keepalived's decimal seconds: `[+]DIGITS[.DIGITS]` or `.DIGITS`, at most six decimals, no
/// exponent. Returns microseconds.
pub(crate) fn parse_decimal_micros(text: &str) -> Result<u64, NumError> {
    if text.starts_with('-') {
        return Err(NumError::Negative);
    }
    let t = text.strip_prefix('+').unwrap_or(text);
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(NumError::NotNumber);
    }
    if frac.len() > 6 {
        return Err(NumError::TooPrecise);
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| NumError::TooLarge)?
    };
    let mut frac_micros: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| NumError::TooLarge)?
    };
    for _ in frac.len()..6 {
        frac_micros *= 10;
    }
    whole
        .checked_mul(MICROS_PER_SEC)
        .and_then(|w| w.checked_add(frac_micros))
        .ok_or(NumError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_numbers_follow_keepalived() {
        assert_eq!(parse_uint("100"), Ok(100));
        assert_eq!(parse_uint("+100"), Ok(100));
        assert_eq!(parse_uint("0100"), Ok(100));
        assert_eq!(parse_uint(" 100"), Ok(100));
        assert_eq!(parse_uint("-1"), Err(NumError::Negative));
        assert_eq!(parse_uint("0x10"), Err(NumError::NotNumber));
        assert_eq!(parse_uint("1e2"), Err(NumError::NotNumber));
        assert_eq!(parse_uint(""), Err(NumError::NotNumber));
        assert_eq!(
            parse_uint("99999999999999999999999"),
            Err(NumError::TooLarge)
        );
    }

    #[test]
    fn decimal_seconds_follow_keepalived() {
        assert_eq!(parse_decimal_micros("1"), Ok(1_000_000));
        assert_eq!(parse_decimal_micros("1."), Ok(1_000_000));
        assert_eq!(parse_decimal_micros(".5"), Ok(500_000));
        assert_eq!(parse_decimal_micros("+0.01"), Ok(10_000));
        assert_eq!(parse_decimal_micros("1.000001"), Ok(1_000_001));
        assert_eq!(parse_decimal_micros("1.0000001"), Err(NumError::TooPrecise));
        assert_eq!(parse_decimal_micros("-0"), Err(NumError::Negative));
        assert_eq!(parse_decimal_micros("1e0"), Err(NumError::NotNumber));
        assert_eq!(parse_decimal_micros("."), Err(NumError::NotNumber));
        assert_eq!(parse_decimal_micros("0x2"), Err(NumError::NotNumber));
        assert_eq!(
            parse_decimal_micros("99999999999999999999"),
            Err(NumError::TooLarge)
        );
    }

    #[test]
    fn interface_names() {
        assert_eq!(interface_name_problem("eth0"), None);
        assert_eq!(interface_name_problem("bond0.100"), None);
        assert!(interface_name_problem("").is_some());
        assert!(interface_name_problem("a-very-long-name-x").is_some());
        assert!(interface_name_problem("eth0:1").is_some());
        assert!(interface_name_problem("..").is_some());
    }

    #[test]
    fn scopes() {
        assert_eq!(parse_scope("link"), Some(Scope::Link));
        assert_eq!(parse_scope("253"), Some(Scope::Link));
        assert_eq!(parse_scope("100"), Some(Scope::Other(100)));
        assert_eq!(parse_scope("256"), None);
        assert_eq!(parse_scope("bogus"), None);
    }
}
