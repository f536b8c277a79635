//! The run lock: one writing gwb run per tenant and Graph root at a time on this machine, so two
//! overlapping runs (two scheduled jobs, or an admin's shell and a job running as another user)
//! cannot interleave their writes to the same tenant, while runs against different tenants do
//! not wait for each other.
//!
//! An advisory lock (`flock`) on `{lock dir}/{key}.lock`, where the key is a hash of the Graph
//! root and the tenant id, held for the life of the run. The lock directory (`GWB_LOCK_DIR`, or
//! `lock_dir` in the config file; default `gwb-locks` in the system's temporary directory) is
//! shared by every user of the machine (created sticky and world-writable, like /tmp), so the
//! lock covers runs of different users; it cannot cover two machines. The operating system
//! releases the lock when the process ends, however it ends (even SIGKILL), so a crashed run
//! never leaves a stale lock behind. The file records who holds it, for the message the second
//! run prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another gwb run holds the lock for this tenant ({holder}; lock {path}); nothing was done. Wait for it to finish: the lock is released when that process ends"
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
    _file: File,
}

/// What a lock covers: one tenant at one Graph root.
#[derive(Debug, Clone, Copy)]
pub struct LockKey<'a> {
    pub graph_root: &'a str,
    /// The token's tenant, when it says (an unknown tenant is one key of its own).
    pub tenant_id: Option<&'a str>,
}

impl LockKey<'_> {
    /// The lock file's name: a hash of the Graph root and the tenant (FNV-1a, 64 bits), stable
    /// across runs, versions and users.
    pub fn file_name(&self) -> String {
        let text = format!(
            "{}|{}",
            self.graph_root.trim_end_matches('/').to_ascii_lowercase(),
            self.tenant_id.unwrap_or("-").to_ascii_lowercase()
        );
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("gwb-{h:016x}.lock")
    }
}

impl RunLock {
    /// Take the lock for `key` in `dir` for `command`, or say who holds it.
    pub fn acquire(dir: &Path, key: LockKey, command: &str) -> Result<RunLock, LockError> {
        let path = dir.join(key.file_name());
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        shared_dir(dir).map_err(io)?;
        let mut file = open(&path).map_err(|e| {
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
        // Who holds it, for the next run's message; a lock file another user created may be
        // read-only to us, which changes nothing about the lock itself.
        if file.set_len(0).is_ok() && file.rewind().is_ok() {
            let _ = writeln!(
                file,
                "pid {}, gwb {command}, started {}, tenant {}, {}",
                std::process::id(),
                crate::clock::now_rfc3339(),
                key.tenant_id.unwrap_or("unknown"),
                key.graph_root
            );
            let _ = file.flush();
        }
        tracing::debug!(lock = %path.display(), "took the run lock");
        Ok(RunLock { _file: file })
    }
}

/// The lock directory, created for every user of the machine (sticky and world-writable, as
/// /tmp is) when gwb creates it.
fn shared_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))?;
    }
    Ok(())
}

/// Open (or create) the lock file, never through a symbolic link: truncating the lock would
/// truncate whatever it points at. A lock file another user created is opened read-only: flock
/// works on it all the same.
fn open(path: &Path) -> std::io::Result<File> {
    let mut rw = OpenOptions::new();
    rw.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        rw.custom_flags(libc::O_NOFOLLOW).mode(0o666);
    }
    match rw.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let mut ro = OpenOptions::new();
            ro.read(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::custom_flags(&mut ro, libc::O_NOFOLLOW);
            ro.open(path)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTOSO: LockKey = LockKey {
        graph_root: "https://graph.microsoft.com",
        tenant_id: Some("11111111-1111-1111-1111-111111111111"),
    };

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("gwb-lock-test-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_second_holder_for_the_same_tenant_is_refused_until_the_first_lets_go() {
        let d = dir("same");
        let first = RunLock::acquire(&d, CONTOSO, "disable-existing-m365").unwrap();
        let e = RunLock::acquire(&d, CONTOSO, "set-default").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id()))
                && msg.contains("gwb disable-existing-m365")
                && msg.contains("nothing was done"),
            "{msg}"
        );
        drop(first);
        assert!(RunLock::acquire(&d, CONTOSO, "set-default").is_ok());
    }

    #[test]
    fn runs_against_other_tenants_or_roots_do_not_wait() {
        let d = dir("other");
        let _contoso = RunLock::acquire(&d, CONTOSO, "disable-existing-m365").unwrap();
        let fabrikam = LockKey {
            tenant_id: Some("22222222-2222-2222-2222-222222222222"),
            ..CONTOSO
        };
        assert!(RunLock::acquire(&d, fabrikam, "disable-existing-m365").is_ok());
        let usgov = LockKey {
            graph_root: "https://graph.microsoft.us",
            ..CONTOSO
        };
        assert!(RunLock::acquire(&d, usgov, "disable-existing-m365").is_ok());
        // The same tenant spelt in capitals, with a trailing slash, is the same lock.
        let same = LockKey {
            graph_root: "https://GRAPH.microsoft.com/",
            tenant_id: Some("11111111-1111-1111-1111-111111111111"),
        };
        assert!(RunLock::acquire(&d, same, "set-default").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_directory_is_shared_by_every_user() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("shared");
        let _l = RunLock::acquire(&d, CONTOSO, "restore").unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777);
    }
}
