//! The only I/O the configuration layer does: reading configuration files and listing the
//! directories that `include` globs walk. Behind a trait so that the lexer and the include rules
//! are tested against an in-memory tree.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::diag::FileId;

/// Files larger than this are refused: a configuration is never this big, and reading a huge
/// file matched by a careless glob would only waste memory.
pub(crate) const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileMeta {
    pub is_file: bool,
    pub is_dir: bool,
    /// Any of the three execute bits (keepalived refuses executable configuration files).
    pub executable: bool,
}

pub(crate) trait FileSystem {
    /// Reads at most [`MAX_FILE_BYTES`] + 1 bytes.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// `stat`: follows symbolic links.
    fn metadata(&self, path: &Path) -> io::Result<FileMeta>;
    /// `lstat` succeeded: the name exists (a dangling symbolic link counts, as in glob(3)).
    fn exists(&self, path: &Path) -> bool;
    /// Entry names of a directory, unsorted. Names that are not UTF-8 are left out: no pattern
    /// written in a UTF-8 configuration file can name them.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The real file system.
pub(crate) struct RealFs;

impl FileSystem for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn metadata(&self, path: &Path) -> io::Result<FileMeta> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)?;
        Ok(FileMeta {
            is_file: meta.is_file(),
            is_dir: meta.is_dir(),
            executable: meta.permissions().mode() & 0o111 != 0,
        })
    }

    fn exists(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            if let Some(name) = entry?.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// The files read so far. Texts are shared (`Rc`) so that the lexer can walk one file while
/// including others.
#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    files: Vec<(PathBuf, Rc<str>)>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: Rc<str>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push((path, text));
        id
    }

    pub fn text(&self, id: FileId) -> Option<Rc<str>> {
        self.get(id).map(|(_, text)| Rc::clone(text))
    }

    pub fn path(&self, id: FileId) -> Option<&Path> {
        self.get(id).map(|(path, _)| path.as_path())
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(p, _)| p.clone()).collect()
    }

    fn get(&self, id: FileId) -> Option<&(PathBuf, Rc<str>)> {
        usize::try_from(id.0).ok().and_then(|i| self.files.get(i))
    }
}

/// Removes `.` and resolves `..` without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(OsStr::new(".."));
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// An in-memory file tree for tests and the fuzz targets ([`super::fuzzing`]).
#[derive(Debug, Default)]
pub(crate) struct MemFs {
    files: std::collections::BTreeMap<PathBuf, (String, bool)>,
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    pub fn file(mut self, path: &str, text: &str) -> MemFs {
        self.files
            .insert(normalize(Path::new(path)), (text.to_string(), false));
        self
    }

    #[cfg(test)]
    pub fn executable(mut self, path: &str, text: &str) -> MemFs {
        self.files
            .insert(normalize(Path::new(path)), (text.to_string(), true));
        self
    }

    fn is_dir(&self, path: &Path) -> bool {
        let path = normalize(path);
        self.files
            .keys()
            .any(|f| f.starts_with(&path) && f.as_path() != path)
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.files.get(&normalize(path)) {
            Some((text, _)) => Ok(text.as_bytes().to_vec()),
            None if self.is_dir(path) => Err(io::Error::other("Is a directory")),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn metadata(&self, path: &Path) -> io::Result<FileMeta> {
        if let Some((_, executable)) = self.files.get(&normalize(path)) {
            return Ok(FileMeta {
                is_file: true,
                is_dir: false,
                executable: *executable,
            });
        }
        if self.is_dir(path) {
            return Ok(FileMeta {
                is_file: false,
                is_dir: true,
                executable: true,
            });
        }
        Err(io::Error::from(io::ErrorKind::NotFound))
    }

    fn exists(&self, path: &Path) -> bool {
        self.metadata(path).is_ok()
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let dir = normalize(path);
        if !self.is_dir(&dir) {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter_map(|f| f.strip_prefix(&dir).ok())
            .filter_map(|rest| rest.components().next())
            .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
            .collect();
        names.dedup();
        Ok(names)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let path = normalize(path);
        if self.exists(&path) {
            Ok(path)
        } else {
            Err(io::Error::from(io::ErrorKind::NotFound))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_removes_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn memfs_lists_directories() {
        let fs = MemFs::new()
            .file("/etc/k/a.conf", "")
            .file("/etc/k/d/b.conf", "");
        let mut names = fs.read_dir(Path::new("/etc/k")).unwrap();
        names.sort();
        assert_eq!(names, vec!["a.conf".to_string(), "d".to_string()]);
        assert!(fs.metadata(Path::new("/etc/k/d")).unwrap().is_dir);
        assert!(fs.read_dir(Path::new("/nope")).is_err());
    }

    #[test]
    fn real_fs_refuses_nothing_it_can_read() {
        let dir = std::env::temp_dir().join(format!("keepvip-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.conf");
        std::fs::write(&file, "global_defs {}\n").unwrap();
        let text = RealFs.read(&file).unwrap();
        let meta = RealFs.metadata(&file).unwrap();
        let listed = RealFs.read_dir(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(text, b"global_defs {}\n");
        assert!(meta.is_file && !meta.executable);
        assert_eq!(listed, vec!["a.conf".to_string()]);
    }
}
