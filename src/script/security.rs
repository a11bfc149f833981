//! keepalived's `enable_script_security`; see [`check_script_security`].

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::notify::SCRIPT_PATH;

const SET_UID: u32 = 0o4000;
const SET_GID: u32 = 0o2000;
const STICKY: u32 = 0o1000;
const USER_EXEC: u32 = 0o100;
const GROUP_WRITE: u32 = 0o020;
const GROUP_EXEC: u32 = 0o010;
const OTHER_WRITE: u32 = 0o002;
const ANY_EXEC: u32 = 0o111;

/// Why a script may not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptCheckError {
    /// The script (or a directory on its path) does not exist or cannot be read.
    NotFound { script: String, detail: String },
    /// Found, but not a regular file.
    NotAFile { script: String, path: PathBuf },
    /// Found, but no execute bit is set.
    NotExecutable {
        script: String,
        path: PathBuf,
        mode: u32,
    },
    /// A non-root user could replace the script: `component` is the first unsafe part of the
    /// resolved path `path`.
    Insecure {
        script: String,
        path: PathBuf,
        component: PathBuf,
        problem: String,
        fix: String,
    },
}

impl ScriptCheckError {
    /// Only a permission problem: keepalived runs the script anyway (with a warning) when
    /// script security is turned off.
    pub fn is_insecure(&self) -> bool {
        matches!(self, ScriptCheckError::Insecure { .. })
    }
}

impl fmt::Display for ScriptCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptCheckError::NotFound { script, detail } => write!(
                f,
                "script {script}: {detail}; give the full path of an existing script"
            ),
            ScriptCheckError::NotAFile { script, path } => write!(
                f,
                "script {script}: {} is not a regular file; point to the script file itself",
                path.display()
            ),
            ScriptCheckError::NotExecutable { script, path, mode } => write!(
                f,
                "script {script}: {} is not executable (mode {:04o}); run `chmod +x {}`",
                path.display(),
                mode & 0o7777,
                path.display()
            ),
            ScriptCheckError::Insecure {
                script,
                path,
                component,
                problem,
                fix,
            } => {
                write!(f, "script {script} is unsafe to run as root: ")?;
                if component != path {
                    write!(
                        f,
                        "{} is on the path of {} and ",
                        component.display(),
                        path.display()
                    )?;
                } else {
                    write!(f, "{} ", path.display())?;
                }
                write!(
                    f,
                    "{problem}, so a non-root user could change what keepvip runs as root; \
                     run `{fix}`, or run the script as an unprivileged script_user"
                )
            }
        }
    }
}

impl std::error::Error for ScriptCheckError {}

fn not_found(script: &str, what: &Path, err: &io::Error) -> ScriptCheckError {
    ScriptCheckError::NotFound {
        script: script.to_string(),
        detail: format!("cannot access {}: {err}", what.display()),
    }
}

/// Finds a bare script name in [`SCRIPT_PATH`] like keepalived's `find_path`: the first regular
/// file with an execute bit. A name containing `/` is returned unchanged.
pub fn resolve_in_path(program: &str) -> Result<PathBuf, ScriptCheckError> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    if program.is_empty() {
        return Err(ScriptCheckError::NotFound {
            script: String::new(),
            detail: "empty script name".to_string(),
        });
    }
    let mut denied = None;
    for dir in SCRIPT_PATH.split(':') {
        let candidate = Path::new(dir).join(program);
        let Ok(metadata) = fs::metadata(&candidate) else {
            continue;
        };
        if metadata.is_file() && metadata.mode() & ANY_EXEC != 0 {
            return Ok(candidate);
        }
        denied.get_or_insert(candidate);
    }
    Err(ScriptCheckError::NotFound {
        script: program.to_string(),
        detail: match denied {
            Some(path) => format!(
                "the only match in PATH ({SCRIPT_PATH}), {}, is not an executable file",
                path.display()
            ),
            None => format!("not found in PATH ({SCRIPT_PATH})"),
        },
    })
}

/// Resolves `program` (PATH lookup for a bare name, then every symbolic link) and checks that
/// the result is an executable regular file. Returns the resolved path to execute.
pub fn locate_script(program: &str) -> Result<PathBuf, ScriptCheckError> {
    let found = resolve_in_path(program)?;
    let resolved = fs::canonicalize(&found).map_err(|err| not_found(program, &found, &err))?;
    let metadata = fs::metadata(&resolved).map_err(|err| not_found(program, &resolved, &err))?;
    if !metadata.is_file() {
        return Err(ScriptCheckError::NotAFile {
            script: program.to_string(),
            path: resolved,
        });
    }
    if metadata.permissions().mode() & ANY_EXEC == 0 {
        return Err(ScriptCheckError::NotExecutable {
            script: program.to_string(),
            path: resolved,
            mode: metadata.mode(),
        });
    }
    Ok(resolved)
}

/// What is wrong with one path component, if anything, and the command that fixes it.
fn component_problem(path: &Path, metadata: &fs::Metadata) -> Option<(String, String)> {
    let mode = metadata.mode();
    let shown = path.display();
    if metadata.uid() != 0 {
        return Some((
            format!("is owned by uid {}, not root", metadata.uid()),
            format!("chown root {shown}"),
        ));
    }
    let guarded_by_sticky_bit = metadata.is_dir() && mode & STICKY != 0;
    if guarded_by_sticky_bit {
        return None;
    }
    let group_writable = metadata.gid() != 0 && mode & GROUP_WRITE != 0;
    let world_writable = mode & OTHER_WRITE != 0;
    let (who, fix) = match (group_writable, world_writable) {
        (true, true) => (
            format!("group {} and everyone", metadata.gid()),
            format!("chmod go-w {shown}"),
        ),
        (true, false) => (
            format!("group {}", metadata.gid()),
            format!("chmod g-w {shown}"),
        ),
        (false, true) => ("everyone".to_string(), format!("chmod o-w {shown}")),
        (false, false) => return None,
    };
    Some((
        format!("is writable by {who} (mode {:04o})", mode & 0o7777),
        fix,
    ))
}

/// keepalived's `enable_script_security`, on by default in keepvip: a script that would run as
/// root must not be replaceable by anyone but root.
///
/// Mirrors keepalived's `check_script_secure` / `check_security` (notify.c):
/// - A name without `/` is looked up in the scripts' `PATH` ([`SCRIPT_PATH`]); the first
///   regular, executable file wins.
/// - The path is resolved with `realpath` (symbolic links, `.`, `..`, repeated `/`), and from
///   then on the resolved file is what gets executed, so a link cannot be switched after the
///   check. keepvip returns that path for the daemon to put in [`Job::program`].
/// - The script must be executable, otherwise it is disabled.
/// - If it would run as root (or is set-uid / set-gid root), every component of the resolved
///   path, `/` first and the file last, must be owned by root, and must not be writable by a
///   group other than root's or by everyone — except directories with the sticky bit (like
///   `/tmp`), where only the owner can replace entries.
///
/// `program` is the configured `argv[0]`; `runs_as_root` is whether the script would run with
/// uid 0 or gid 0 (the daemon is root and no unprivileged `script_user` applies). Returns the
/// resolved path to execute: put it in [`Job::program`] and keep the configured `argv[0]`.
/// When script security is turned off, the daemon may run the script despite an error for
/// which [`ScriptCheckError::is_insecure`] holds, using [`locate_script`]'s path (keepalived
/// only warns then).
///
/// The execute permission is checked as for root (any `x` bit); for an unprivileged
/// `script_user`, a missing permission shows up as a [`ScriptEvent::SpawnFailed`].
///
/// [`Job::program`]: super::Job::program
/// [`ScriptEvent::SpawnFailed`]: super::ScriptEvent::SpawnFailed
pub fn check_script_security(
    program: &Path,
    runs_as_root: bool,
) -> Result<PathBuf, ScriptCheckError> {
    let script = program.to_string_lossy().into_owned();
    let resolved = locate_script(&script)?;
    let metadata = fs::metadata(&resolved).map_err(|err| not_found(&script, &resolved, &err))?;
    let mode = metadata.mode();
    let set_id_root = (metadata.uid() == 0 && mode & SET_UID != 0 && mode & USER_EXEC != 0)
        || (metadata.gid() == 0 && mode & SET_GID != 0 && mode & GROUP_EXEC != 0);
    if !runs_as_root && !set_id_root {
        return Ok(resolved);
    }
    let mut prefix = PathBuf::new();
    for component in resolved.components() {
        match component {
            Component::RootDir | Component::Normal(_) => prefix.push(component),
            // canonicalize() leaves none of these.
            Component::Prefix(_) | Component::CurDir | Component::ParentDir => continue,
        }
        let component_metadata =
            fs::symlink_metadata(&prefix).map_err(|err| not_found(&script, &prefix, &err))?;
        if let Some((problem, fix)) = component_problem(&prefix, &component_metadata) {
            return Err(ScriptCheckError::Insecure {
                script,
                path: resolved.clone(),
                component: prefix,
                problem,
                fix,
            });
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::test_dir::TestDir;
    use std::os::unix::fs::{chown, symlink};

    fn chmod(path: &Path, mode: u32) {
        if let Err(err) = fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
            panic!("chmod {:o} {}: {err}", mode, path.display());
        }
    }

    /// `<tmp>/secure/bin/notify.sh`, all root-owned, 0755 (the directory above is the
    /// sticky, root-owned temp dir).
    fn secure_tree(dir: &TestDir) -> (PathBuf, PathBuf) {
        let bin = dir.path().join("secure/bin");
        if let Err(err) = fs::create_dir_all(&bin) {
            panic!("mkdir {}: {err}", bin.display());
        }
        chmod(dir.path(), 0o755);
        chmod(&dir.path().join("secure"), 0o755);
        chmod(&bin, 0o755);
        let script = dir.write_file("secure/bin/notify.sh", "#!/bin/sh\nexit 0\n", 0o755);
        (bin, script)
    }

    fn check(path: &Path) -> Result<PathBuf, ScriptCheckError> {
        check_script_security(path, true)
    }

    fn expect_insecure(path: &Path, expected_component: &Path, expected_fix: &str) {
        let err = match check(path) {
            Err(err) => err,
            Ok(resolved) => panic!("{} accepted as {}", path.display(), resolved.display()),
        };
        let message = err.to_string();
        match &err {
            ScriptCheckError::Insecure { component, fix, .. } => {
                assert_eq!(component, expected_component, "{message}");
                assert_eq!(fix, expected_fix, "{message}");
            }
            other => panic!("{} should be insecure, got {other:?}", path.display()),
        }
        assert!(
            message.contains(&expected_component.display().to_string()),
            "{message}"
        );
        assert!(message.contains(expected_fix), "{message}");
        assert!(err.is_insecure());
    }

    #[test]
    fn running_as_root_is_the_case_under_test() {
        // The security checks below need to chown files to other users.
        assert!(
            nix::unistd::geteuid().is_root(),
            "these tests must run as root"
        );
    }

    #[test]
    fn secure_script_is_accepted_and_resolved() {
        let dir = TestDir::new("sec-ok");
        let (_, script) = secure_tree(&dir);
        assert_eq!(check(&script), Ok(script.clone()));
        // Group-writable is fine when the group is root's (keepalived allows it too).
        chmod(&script, 0o775);
        assert_eq!(check(&script), Ok(script));
    }

    #[test]
    fn world_writable_script_is_refused() {
        let dir = TestDir::new("sec-world");
        let (_, script) = secure_tree(&dir);
        chmod(&script, 0o757);
        expect_insecure(&script, &script, &format!("chmod o-w {}", script.display()));
    }

    #[test]
    fn group_writable_directory_with_non_root_group_is_refused() {
        let dir = TestDir::new("sec-group");
        let (_, script) = secure_tree(&dir);
        let secure = dir.path().join("secure");
        if let Err(err) = chown(&secure, None, Some(1000)) {
            panic!("chown {}: {err}", secure.display());
        }
        chmod(&secure, 0o775);
        expect_insecure(&script, &secure, &format!("chmod g-w {}", secure.display()));
        // The same script run as an unprivileged user is not checked for this.
        assert_eq!(check_script_security(&script, false), Ok(script.clone()));
        // A sticky directory protects its entries even if world-writable.
        chmod(&secure, 0o1777);
        assert_eq!(check(&script), Ok(script));
    }

    #[test]
    fn script_owned_by_another_user_is_refused() {
        let dir = TestDir::new("sec-owner");
        let (_, script) = secure_tree(&dir);
        if let Err(err) = chown(&script, Some(1000), None) {
            panic!("chown {}: {err}", script.display());
        }
        expect_insecure(
            &script,
            &script,
            &format!("chown root {}", script.display()),
        );
    }

    #[test]
    fn set_uid_root_script_is_checked_even_when_not_running_as_root() {
        let dir = TestDir::new("sec-setuid");
        let (_, script) = secure_tree(&dir);
        chmod(&script, 0o4757);
        match check_script_security(&script, false) {
            Err(err) => assert!(err.is_insecure(), "{err}"),
            Ok(path) => panic!("set-uid world-writable {} accepted", path.display()),
        }
    }

    #[test]
    fn symlinks_are_followed_and_the_target_path_checked() {
        let dir = TestDir::new("sec-link");
        let (_, script) = secure_tree(&dir);
        // An unsafe directory holding a link to a safe script: the link is resolved once and
        // the safe target is what runs, so this is accepted, with the target returned.
        let open = dir.path().join("open");
        if let Err(err) = fs::create_dir(&open) {
            panic!("mkdir: {err}");
        }
        chmod(&open, 0o777);
        let link = open.join("notify-link");
        if let Err(err) = symlink(&script, &link) {
            panic!("symlink: {err}");
        }
        assert_eq!(check(&link), Ok(script.clone()));
        // A safe link to a script in an unsafe directory is refused, naming that directory.
        let unsafe_script = dir.write_file("open/evil.sh", "#!/bin/sh\n", 0o755);
        let safe_link = dir.path().join("secure/bin/evil-link");
        if let Err(err) = symlink(&unsafe_script, &safe_link) {
            panic!("symlink: {err}");
        }
        expect_insecure(&safe_link, &open, &format!("chmod o-w {}", open.display()));
        // Through a symlinked directory as well.
        let dir_link = dir.path().join("secure/openlink");
        if let Err(err) = symlink(&open, &dir_link) {
            panic!("symlink: {err}");
        }
        expect_insecure(
            &dir_link.join("evil.sh"),
            &open,
            &format!("chmod o-w {}", open.display()),
        );
    }

    #[test]
    fn non_executable_script_is_refused() {
        let dir = TestDir::new("sec-noexec");
        let (_, script) = secure_tree(&dir);
        chmod(&script, 0o644);
        match check(&script) {
            Err(err @ ScriptCheckError::NotExecutable { .. }) => {
                assert!(err.to_string().contains("chmod +x"), "{err}");
                assert!(!err.is_insecure());
            }
            other => panic!("expected NotExecutable, got {other:?}"),
        }
        // keepalived disables a non-executable script whoever runs it.
        assert!(matches!(
            check_script_security(&script, false),
            Err(ScriptCheckError::NotExecutable { .. })
        ));
    }

    #[test]
    fn missing_script_and_directory_are_not_found() {
        let dir = TestDir::new("sec-missing");
        let missing = dir.path().join("nope.sh");
        match check(&missing) {
            Err(err @ ScriptCheckError::NotFound { .. }) => {
                assert!(err.to_string().contains("nope.sh"), "{err}")
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert!(matches!(
            check(dir.path()),
            Err(ScriptCheckError::NotAFile { .. })
        ));
    }

    #[test]
    fn bare_names_are_looked_up_in_the_script_path() {
        let resolved = match check(Path::new("sh")) {
            Ok(path) => path,
            Err(err) => panic!("sh not found: {err}"),
        };
        assert!(resolved.is_absolute(), "{}", resolved.display());
        assert!(resolved.starts_with("/usr") || resolved.starts_with("/bin"));
        assert!(matches!(
            check(Path::new("keepvip-no-such-script")),
            Err(ScriptCheckError::NotFound { .. })
        ));
    }
}
