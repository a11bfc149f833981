//! A temporary directory for tests, removed when dropped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub fn new(label: &str) -> Self {
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "keepvip-script-{label}-{}-{unique}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        if let Err(err) = fs::create_dir(&path) {
            panic!("cannot create {}: {err}", path.display());
        }
        TestDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `relative` under the directory with `mode`; returns its path.
    pub fn write_file(&self, relative: &str, contents: &str, mode: u32) -> PathBuf {
        let path = self.path.join(relative);
        if let Err(err) = fs::write(&path, contents) {
            panic!("cannot write {}: {err}", path.display());
        }
        if let Err(err) = fs::set_permissions(&path, fs::Permissions::from_mode(mode)) {
            panic!("cannot chmod {}: {err}", path.display());
        }
        path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
