//! keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`): one line per event,
//! `INSTANCE "VI_1" MASTER 100`, `GROUP "G1" BACKUP 0`, `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100`,
//! `INSTANCE "VI_1" BACKUP_PRIORITY 90`. The FIFO is created if missing (mode 0600, owned by the
//! configured user) and removed at the end if keepvip created it. keepvip holds it open for
//! reading and writing, without blocking: opening never waits for a reader, a reader that comes
//! and goes never makes a write fail, and a line that does not fit because nobody reads is
//! dropped and counted, never waited for.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

/// The line keepalived writes for one event (the name quoted, as keepalived quotes it).
pub fn line(group: bool, name: &str, event: &str, priority: u8) -> String {
    let kind = if group { "GROUP" } else { "INSTANCE" };
    format!("{kind} \"{name}\" {event} {priority}\n")
}

/// One open notify FIFO.
#[derive(Debug)]
pub struct NotifyFifo {
    path: PathBuf,
    file: File,
    /// keepvip made it, so keepvip removes it.
    created: bool,
    /// Lines dropped because the FIFO was full.
    pub dropped: u64,
}

impl NotifyFifo {
    /// Opens the FIFO at `path`, creating it (owned by `owner`, if given) when missing.
    pub fn open(path: &Path, owner: Option<(u32, u32)>) -> Result<NotifyFifo, String> {
        let mut created = false;
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_fifo() => {}
            Ok(_) => {
                return Err(format!(
                    "{} exists and is not a FIFO: remove it or name another path",
                    path.display()
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o600))
                    .map_err(|e| format!("cannot create the FIFO {}: {e}", path.display()))?;
                created = true;
                if let Some((uid, gid)) = owner {
                    if let Err(e) =
                        nix::unistd::chown(path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
                    {
                        let _ = std::fs::remove_file(path);
                        return Err(format!("cannot give {} to its user: {e}", path.display()));
                    }
                }
            }
            Err(e) => return Err(format!("cannot examine {}: {e}", path.display())),
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC | nix::libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| format!("cannot open the FIFO {}: {e}", path.display()));
        match file {
            Ok(file) => Ok(NotifyFifo {
                path: path.to_path_buf(),
                file,
                created,
                dropped: 0,
            }),
            Err(e) => {
                if created {
                    let _ = std::fs::remove_file(path);
                }
                Err(e)
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line (a line is far below PIPE_BUF, so it is written whole or not at all).
    /// Returns false if it was dropped because the FIFO is full.
    pub fn write_line(&mut self, line: &str) -> bool {
        match self.file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => true,
            _ => {
                self.dropped = self.dropped.saturating_add(1);
                false
            }
        }
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_are_keepalived_s() {
        assert_eq!(
            line(false, "VI_1", "MASTER", 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(line(true, "G", "BACKUP", 0), "GROUP \"G\" BACKUP 0\n");
    }

    #[test]
    fn writes_never_block_and_a_created_fifo_is_removed() {
        let dir = std::env::temp_dir().join(format!("keepvip-fifo-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.fifo");
        let mut fifo = NotifyFifo::open(&path, None).unwrap();
        assert!(fifo.write_line("INSTANCE \"VI_1\" MASTER 100\n"));
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let mut got = [0u8; 64];
        let n = reader.read(&mut got).unwrap();
        assert_eq!(&got[..n], b"INSTANCE \"VI_1\" MASTER 100\n");
        // Nobody reads: it fills up, and then lines are dropped, not waited for.
        let long = "x".repeat(4000) + "\n";
        let mut written = 0;
        while fifo.write_line(&long) {
            written += 1;
            assert!(written < 10_000, "the FIFO never filled up");
        }
        assert_eq!(fifo.dropped, 1);
        drop(fifo);
        assert!(!path.exists());
        // A path that is not a FIFO is refused.
        std::fs::write(&path, "x").unwrap();
        assert!(NotifyFifo::open(&path, None)
            .unwrap_err()
            .contains("is not a FIFO"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
