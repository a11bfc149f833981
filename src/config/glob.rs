//! `include` patterns, expanded the way keepalived's glob(3) call does
//! (`GLOB_MARK | GLOB_BRACE`): `{a,b}` alternatives first, then `*`, `?` and `[...]` per path
//! component, a leading `.` only matched by a literal `.`, `\` escaping the next character, and
//! each alternative's matches sorted bytewise (the C locale's collation).
//!
//! std has no glob and the rules are small, so this is hand-written rather than a new crate.

use std::path::{Path, PathBuf};

use super::source::FileSystem;

/// More alternatives than this from `{...}` is almost certainly a mistake.
const MAX_ALTERNATIVES: usize = 256;

/// The matches of one brace alternative.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Alternative {
    /// The alternative, as written (after brace expansion).
    pub pattern: String,
    pub has_wildcard: bool,
    /// Sorted; directories are included (the caller decides what to do with them).
    pub matches: Vec<PathBuf>,
    /// A directory the pattern needed to list (or a literal parent) does not exist.
    pub missing_dir: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GlobError {
    TooManyAlternatives,
}

/// Expands `pattern`, relative to `base` when it is not absolute.
pub(crate) fn expand(
    pattern: &str,
    base: &Path,
    fs: &dyn FileSystem,
) -> Result<Vec<Alternative>, GlobError> {
    let alternatives = expand_braces(pattern)?;
    Ok(alternatives
        .into_iter()
        .map(|alt| glob_one(&alt, base, fs))
        .collect())
}

/// Expands `{a,b}` alternatives, nested ones included. An unbalanced `{` is literal, as in
/// glibc.
pub(crate) fn expand_braces(pattern: &str) -> Result<Vec<String>, GlobError> {
    let mut done = Vec::new();
    let mut todo = vec![pattern.to_string()];
    while let Some(p) = todo.pop() {
        match find_brace_group(&p) {
            None => done.push(p),
            Some((open, close, commas)) => {
                let prefix = p.get(..open).unwrap_or("");
                let suffix = p.get(close + 1..).unwrap_or("");
                let mut start = open + 1;
                let mut pieces = Vec::new();
                for cut in commas.iter().copied().chain(std::iter::once(close)) {
                    pieces.push(p.get(start..cut).unwrap_or(""));
                    start = cut + 1;
                }
                // Reverse so that popping keeps the written order.
                for piece in pieces.into_iter().rev() {
                    todo.push(format!("{prefix}{piece}{suffix}"));
                }
            }
        }
        if done.len() + todo.len() > MAX_ALTERNATIVES {
            return Err(GlobError::TooManyAlternatives);
        }
    }
    Ok(done)
}

/// The first balanced `{...}` group: byte offsets of `{`, of its `}`, and of its top-level
/// commas.
fn find_brace_group(p: &str) -> Option<(usize, usize, Vec<usize>)> {
    let bytes = p.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\\') => i += 2,
            Some(b'{') => {
                if let Some((close, commas)) = match_brace(bytes, i) {
                    return Some((i, close, commas));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn match_brace(bytes: &[u8], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut i = open;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((i, commas));
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn has_meta(component: &str) -> bool {
    let mut escaped = false;
    for c in component.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

fn unescape(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn glob_one(pattern: &str, base: &Path, fs: &dyn FileSystem) -> Alternative {
    let absolute = pattern.starts_with('/');
    let mut candidates = vec![if absolute {
        PathBuf::from("/")
    } else {
        base.to_path_buf()
    }];
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let has_wildcard = components.iter().any(|c| has_meta(c));
    let mut missing_dir = None;
    let last = components.len().saturating_sub(1);

    for (index, component) in components.iter().enumerate() {
        let mut next = Vec::new();
        if has_meta(component) {
            for dir in &candidates {
                // An empty base means "relative to the working directory", as in keepalived.
                let listed = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir.as_path()
                };
                match fs.read_dir(listed) {
                    Ok(names) => {
                        let mut matched: Vec<String> = names
                            .into_iter()
                            .filter(|name| component_matches(component, name))
                            .collect();
                        matched.sort();
                        next.extend(matched.into_iter().map(|name| dir.join(name)));
                    }
                    Err(_) => {
                        if !fs.exists(dir) && missing_dir.is_none() {
                            missing_dir = Some(dir.clone());
                        }
                    }
                }
            }
        } else {
            let literal = unescape(component);
            for dir in &candidates {
                let path = dir.join(&literal);
                // Intermediate literal components must be directories that exist.
                if index < last && !fs.exists(&path) {
                    if missing_dir.is_none() {
                        missing_dir = Some(path);
                    }
                    continue;
                }
                next.push(path);
            }
        }
        candidates = next;
    }

    // An all-literal pattern names one path, which must exist; wildcard matches exist already
    // unless a literal component followed the last wildcard.
    let mut matches: Vec<PathBuf> = if components.is_empty() {
        Vec::new()
    } else {
        candidates.into_iter().filter(|p| fs.exists(p)).collect()
    };
    matches.sort();
    matches.dedup();
    Alternative {
        pattern: pattern.to_string(),
        has_wildcard,
        matches,
        missing_dir,
    }
}

/// Does `name` (one path component) match `pattern` (one component with `*`, `?`, `[...]`)?
pub(crate) fn component_matches(pattern: &str, name: &str) -> bool {
    // A leading dot is only matched by a literal dot (glob(3) without GLOB_PERIOD).
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    wildcard_match(&pattern, &name)
}

/// Iterative matcher with single-star backtracking: linear in practice, never recursive.
fn wildcard_match(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let Some(&c) = name.get(n) else { break };
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => {
                p += 1;
                n += 1;
                continue;
            }
            Some('[') => {
                if let Some((matched, width)) = match_class(pattern.get(p..).unwrap_or(&[]), c) {
                    if matched {
                        p += width;
                        n += 1;
                        continue;
                    }
                } else if c == '[' {
                    // An unterminated class is a literal '['.
                    p += 1;
                    n += 1;
                    continue;
                }
            }
            Some('\\') => {
                let literal = pattern.get(p + 1).copied().unwrap_or('\\');
                if literal == c {
                    p += if pattern.get(p + 1).is_some() { 2 } else { 1 };
                    n += 1;
                    continue;
                }
            }
            Some(&literal) if literal == c => {
                p += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last star swallow one more character, or fail.
        match star {
            Some((star_p, star_n)) => {
                p = star_p + 1;
                n = star_n + 1;
                star = Some((star_p, star_n + 1));
            }
            None => return false,
        }
    }
    pattern.get(p..).unwrap_or(&[]).iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `class[0] == '['`. Returns whether it matched and
/// how many pattern characters the class spans, or `None` if the class is not terminated.
fn match_class(class: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(class.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *class.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let (lo, lo_width) = if lo == '\\' {
            (*class.get(i + 1)?, 2)
        } else {
            (lo, 1)
        };
        i += lo_width;
        if class.get(i) == Some(&'-') && class.get(i + 1).is_some_and(|&h| h != ']') {
            let hi = *class.get(i + 1)?;
            let (hi, hi_width) = if hi == '\\' {
                (*class.get(i + 2)?, 2)
            } else {
                (hi, 1)
            };
            i += 1 + hi_width;
            if lo <= c && c <= hi {
                matched = true;
            }
        } else if lo == c {
            matched = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::source::MemFs;
    use super::*;

    #[test]
    fn stars_questions_and_classes() {
        assert!(component_matches("*.conf", "a.conf"));
        assert!(!component_matches("*.conf", ".conf"));
        assert!(component_matches(".*", ".hidden"));
        assert!(component_matches("a?c", "abc"));
        assert!(!component_matches("a?c", "ac"));
        assert!(component_matches("[ab]*", "beta"));
        assert!(!component_matches("[!ab]*", "beta"));
        assert!(component_matches("[^ab]*", "gamma"));
        assert!(component_matches("v[0-9].conf", "v7.conf"));
        assert!(!component_matches("v[0-9].conf", "vx.conf"));
        assert!(component_matches("[]]", "]"));
        assert!(component_matches("a\\*", "a*"));
        assert!(!component_matches("a\\*", "ab"));
        assert!(component_matches("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!component_matches("*a*b*c*", "xxaxxcxxbxx"));
        assert!(component_matches("[x", "[x"));
        assert!(component_matches("**", ""));
    }

    #[test]
    fn braces_expand_in_order_and_nest() {
        assert_eq!(
            expand_braces("a{b,c{d,e}}f").unwrap(),
            vec!["abf", "acdf", "acef"]
        );
        assert_eq!(expand_braces("x{,y}").unwrap(), vec!["x", "xy"]);
        assert_eq!(expand_braces("unbalanced{").unwrap(), vec!["unbalanced{"]);
        assert_eq!(expand_braces("esc\\{a,b}").unwrap(), vec!["esc\\{a,b}"]);
        assert_eq!(
            expand_braces(&"{a,b}".repeat(12)),
            Err(GlobError::TooManyAlternatives)
        );
    }

    #[test]
    fn globs_relative_to_base_sorted_without_hidden_files() {
        let fs = MemFs::new()
            .file("/etc/k/conf.d/b.conf", "")
            .file("/etc/k/conf.d/a.conf", "")
            .file("/etc/k/conf.d/.hidden.conf", "")
            .file("/etc/k/conf.d/notes.txt", "");
        let alts = expand("conf.d/*.conf", Path::new("/etc/k"), &fs).unwrap();
        assert_eq!(alts.len(), 1);
        assert!(alts[0].has_wildcard);
        assert_eq!(
            alts[0].matches,
            vec![
                PathBuf::from("/etc/k/conf.d/a.conf"),
                PathBuf::from("/etc/k/conf.d/b.conf")
            ]
        );
        assert_eq!(alts[0].missing_dir, None);
    }

    #[test]
    fn literal_paths_match_only_if_they_exist() {
        let fs = MemFs::new().file("/etc/k/a.conf", "");
        let found = expand("/etc/k/a.conf", Path::new("/"), &fs).unwrap();
        assert_eq!(found[0].matches, vec![PathBuf::from("/etc/k/a.conf")]);
        assert!(!found[0].has_wildcard);
        let missing = expand("/etc/k/b.conf", Path::new("/"), &fs).unwrap();
        assert!(missing[0].matches.is_empty());
        let no_dir = expand("/etc/nope/*.conf", Path::new("/"), &fs).unwrap();
        assert!(no_dir[0].matches.is_empty());
        assert_eq!(no_dir[0].missing_dir, Some(PathBuf::from("/etc/nope")));
    }

    #[test]
    fn wildcards_in_directories_and_brace_alternatives() {
        let fs = MemFs::new()
            .file("/k/x1/vips.conf", "")
            .file("/k/x2/vips.conf", "")
            .file("/k/x2/other.conf", "")
            .file("/k/y.conf", "");
        let alts = expand("/k/{x*/vips.conf,y.conf,z.conf}", Path::new("/"), &fs).unwrap();
        let all: Vec<Vec<PathBuf>> = alts.into_iter().map(|a| a.matches).collect();
        assert_eq!(
            all,
            vec![
                vec![
                    PathBuf::from("/k/x1/vips.conf"),
                    PathBuf::from("/k/x2/vips.conf")
                ],
                vec![PathBuf::from("/k/y.conf")],
                vec![],
            ]
        );
    }
}
