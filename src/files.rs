//! Files gwb writes for people to keep (plans): never through a symlink, never over an existing
//! file unless asked, readable by the owner only (they list group ids and names), and never
//! left half-written.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `data` to `path` as a new file, mode 0600, synced. Without `force`, an existing file
/// (or a symlink, even a dangling one) at `path` is an error and is left alone. With `force`,
/// the data goes to a new temporary file beside it that is then renamed over `path`: the rename
/// replaces a symlink itself, never its target, and a failure leaves the old file as it was.
pub(crate) fn write_new(path: &Path, data: &[u8], force: bool) -> std::io::Result<()> {
    if !force {
        let mut f = private_new(path, false)?;
        let r = f.write_all(data).and_then(|()| f.sync_all());
        if r.is_err() {
            let _ = std::fs::remove_file(path);
        }
        return r;
    }
    let tmp = temp_beside(path);
    let r = (|| {
        let mut f = private_new(&tmp, false)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Replace `path` atomically with `data` (private, synced, renamed over it), creating its
/// directory: state gwb keeps for itself between runs.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_new(path, data, true)
}

/// Replace `path` atomically with `data` that others may read (mode 0644, set explicitly so the
/// umask does not narrow it), creating its directory: `--metrics-file`, which node_exporter's
/// textfile collector reads as its own user. Never through a symlink, never half-written.
pub(crate) fn write_atomic_readable(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_beside(path);
    let r = (|| {
        let mut f = private_new(&tmp, false)?;
        f.write_all(data)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// `--out FILE`: the command's data, written to a temporary file beside FILE (so the rename
/// stays on one file system) and renamed over it by [`AtomicOut::commit`]. Dropped without a
/// commit (the run failed), the temporary file is removed: FILE is never left half-written, and
/// a file already there stays as it was.
pub(crate) struct AtomicOut {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl AtomicOut {
    /// Start writing `path`. Its directory must exist; `path` itself may (it is replaced, a
    /// symlink there included, never the symlink's target).
    pub(crate) fn create(path: &Path) -> std::io::Result<AtomicOut> {
        if path.is_dir() {
            return Err(std::io::Error::other("it is a directory"));
        }
        let tmp = temp_beside(path);
        let file = private_new(&tmp, false)?;
        Ok(AtomicOut {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::with_capacity(64 * 1024, file)),
        })
    }

    /// Flush, sync and rename over the target: from here the file is whole.
    pub(crate) fn commit(mut self) -> std::io::Result<()> {
        let Some(w) = self.file.take() else {
            return Ok(());
        };
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)
    }
}

impl Write for AtomicOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicOut {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A temporary file only this process can reach, for reading back what it wrote: created
/// exclusively (0600) in the temporary directory and unlinked at once, so it vanishes however
/// gwb ends. `what` names its use in the error (set TMPDIR where that directory is read-only).
pub(crate) fn unlinked_temp(what: &str) -> std::io::Result<std::fs::File> {
    let path = std::env::temp_dir().join(format!(
        "gwb-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let f = private_new(&path, true).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot create a temporary file in {} for {what} ({e}); set TMPDIR to a directory gwb may write to",
                std::env::temp_dir().display()
            ),
        )
    })?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

/// Create `path` exclusively (O_EXCL: an existing file or symlink there is an error), 0600;
/// readable too with `read`.
fn private_new(path: &Path, read: bool) -> std::io::Result<std::fs::File> {
    let mut opts = OpenOptions::new();
    opts.read(read).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gwb".into());
    path.with_file_name(format!(
        ".{name}.{}.{:08x}.tmp",
        std::process::id(),
        fastrand::u32(..)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "gwb-files-{}-{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[cfg(unix)]
    #[test]
    fn never_over_a_file_or_through_a_symlink_without_force_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir();
        let p = d.join("plan.json");
        write_new(&p, b"one", false).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(write_new(&p, b"two", false).is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");

        let target = d.join("journal.jsonl");
        std::fs::write(&target, b"precious").unwrap();
        let link = d.join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_new(&link, b"x", false).is_err());
        // With force the link itself is replaced; its target is never touched.
        write_new(&link, b"new", true).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 3, "{left:?}");
    }

    #[test]
    fn atomic_out_replaces_the_file_only_when_committed() {
        let d = dir();
        let p = d.join("report.html");
        std::fs::write(&p, b"old report").unwrap();
        // A run that fails: the old file stays, no temporary file is left.
        let mut w = AtomicOut::create(&p).unwrap();
        w.write_all(b"half a rep").unwrap();
        drop(w);
        assert_eq!(std::fs::read(&p).unwrap(), b"old report");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        // A run that ends: the new file, whole.
        let mut w = AtomicOut::create(&p).unwrap();
        w.write_all(b"new report").unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new report");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        assert!(AtomicOut::create(&d).is_err(), "a directory is refused");
        assert!(AtomicOut::create(&d.join("no-such-dir/x.json")).is_err());
    }
}
