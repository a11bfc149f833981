//! The pid file in the run directory, which also keeps two agents from sharing one directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct PidFile {
    path: PathBuf,
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
        let mut file = fs::File::create(&path)
            .map_err(|e| format!("cannot write the pid file {}: {e}", path.display()))?;
        writeln!(file, "{}", std::process::id())
            .map_err(|e| format!("cannot write the pid file {}: {e}", path.display()))?;
        Ok(PidFile { path })
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
        // A stale file from a dead process does not block the start.
        fs::write(dir.join("keepvip.pid"), "999999999\n").unwrap();
        assert!(PidFile::create(&dir).is_ok());
        let _ = fs::remove_dir_all(&dir);
    }
}
