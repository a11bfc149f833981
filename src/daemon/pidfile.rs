//! The pid file in the run directory, which also keeps two agents from sharing one directory.

use std::fs;
use std::io::{Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

pub struct PidFile {
    path: PathBuf,
    /// Held for the agent's life: a second agent on the same directory fails to take it, even
    /// if both start at the same moment (the pid check alone would race).
    _lock: Flock<fs::File>,
}

impl PidFile {
    /// Creates `run_dir` if needed and writes `keepvip.pid` there; refuses if another live keepvip
    /// owns it.
    pub fn create(run_dir: &Path) -> Result<PidFile, String> {
        fs::create_dir_all(run_dir).map_err(|e| {
            format!(
                "cannot create the run directory {}: {e} (choose another with --run-dir)",
                run_dir.display()
            )
        })?;
        let path = run_dir.join("keepvip.pid");
        if let Ok(text) = fs::read_to_string(&path) {
            if let Ok(pid) = text.trim().parse::<u32>() {
                if pid != std::process::id() && is_keepvip(pid) {
                    return Err(format!(
                        "another keepvip (pid {pid}) runs with the run directory {}; stop it or \
                         give this one its own --run-dir",
                        run_dir.display()
                    ));
                }
            }
        }
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(|e| format!("cannot write the pid file {}: {e}", path.display()))?;
        let mut lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| {
            format!(
                "another keepvip holds the pid file {}; stop it or give this one its own --run-dir",
                path.display()
            )
        })?;
        lock.set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| writeln!(lock, "{}", std::process::id()))
            .map_err(|e| format!("cannot write the pid file {}: {e}", path.display()))?;
        Ok(PidFile { path, _lock: lock })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn is_keepvip(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| comm.trim() == "keepvip")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_is_written_and_removed() {
        let dir = std::env::temp_dir().join(format!("keepvip-pidfile-{}", std::process::id()));
        {
            let _pid = PidFile::create(&dir).unwrap();
            let text = fs::read_to_string(dir.join("keepvip.pid")).unwrap();
            assert_eq!(text.trim(), std::process::id().to_string());
        }
        assert!(!dir.join("keepvip.pid").exists());
        // While one holds it, a second one on the same directory is refused.
        {
            let _first = PidFile::create(&dir).unwrap();
            let second = PidFile::create(&dir);
            assert!(second.is_err_and(|e| e.contains("another keepvip holds")));
        }
        // A stale file from a dead process does not block the start.
        fs::write(dir.join("keepvip.pid"), "999999999\n").unwrap();
        assert!(PidFile::create(&dir).is_ok());
        let _ = fs::remove_dir_all(&dir);
    }
}
