//! The run lock: one mutating gwb run per state directory at a time, so two overlapping
//! scheduled runs cannot interleave their writes and journals.
//!
//! An advisory lock (`flock`) on `{state dir}/gwb.lock`, held for the life of the run. The
//! operating system releases it when the process ends, however it ends (even SIGKILL), so a
//! crashed run never leaves a stale lock behind. The file records who holds it, for the message
//! the second run prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another gwb run holds the lock {path} ({holder}); nothing was done. Wait for it to finish: the lock is released when that process ends"
    )]
    Held { path: PathBuf, holder: String },
    #[error(
        "the run lock {path} is a symbolic link; gwb will not write through it. Remove the link (a lock file holds nothing of value) and run again; nothing was done"
    )]
    Symlink { path: PathBuf },
    #[error("cannot take the run lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held while a mutating run goes on; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: Option<File>,
}

impl RunLock {
    /// Take the lock in `state_dir` for `command`, or say who holds it. Without a state
    /// directory (no HOME) there is nowhere to lock: a warning, and no lock.
    pub fn acquire(state_dir: Option<&Path>, command: &str) -> Result<RunLock, LockError> {
        let Some(dir) = state_dir else {
            tracing::warn!(
                "no state directory (set XDG_STATE_HOME or HOME): running without the run lock"
            );
            return Ok(RunLock { _file: None });
        };
        let path = dir.join("gwb.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        // Never through a symlink: truncating the lock would truncate whatever it points at.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NOFOLLOW);
        let mut file = opts.open(&path).map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                LockError::Symlink { path: path.clone() }
            } else {
                io(e)
            }
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    path,
                    holder: if holder.is_empty() {
                        "holder unknown".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(
            file,
            "pid {}, gwb {command}, started {}",
            std::process::id(),
            crate::journal::now_rfc3339()
        )
        .map_err(io)?;
        file.flush().map_err(io)?;
        tracing::debug!(lock = %path.display(), "took the run lock");
        Ok(RunLock { _file: Some(file) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("gwb-lock-test-{}", std::process::id()));
        let first = RunLock::acquire(Some(&dir), "disable-existing-m365").unwrap();
        let e = RunLock::acquire(Some(&dir), "set-default").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id()))
                && msg.contains("gwb disable-existing-m365")
                && msg.contains("nothing was done"),
            "{msg}"
        );
        drop(first);
        let again = RunLock::acquire(Some(&dir), "set-default");
        assert!(again.is_ok());
    }
}
