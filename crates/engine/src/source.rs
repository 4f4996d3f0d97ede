//! The local file a job sends, opened so that only the file the user meant is read.
//!
//! Between the moment a file passed the stability gate (or was planned) and the moment its
//! bytes are read, the path can be swapped: `mv -T` puts a symlink to a file outside the folder
//! in its place, or a FIFO that would block a reader for ever. So a file to send is opened with
//! `O_NOFOLLOW | O_NONBLOCK` and judged by `fstat` on the open descriptor: it must be a regular
//! file and, while a job is being sent, the same file (device, inode, size, mtime) the journal
//! recorded. Anything else is `file.changed` (or `file.not_a_file`) and nothing is read.
//!
//! The expected identity travels as a task-local ([`sending`]) so that every reader on the way
//! (hashing, sniffing the media type, the PUT, a resumable session, a form post) checks the
//! same identity without each transfer function taking it as an argument.

use std::fs::{File, Metadata};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What makes a file the same file: where it lives on disk, and its size and mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Nanoseconds since the epoch; 0 when unknown (then it is not compared).
    pub mtime_ns: i64,
}

impl Identity {
    pub fn of(meta: &Metadata) -> Self {
        Identity { dev: meta.dev(), ino: meta.ino(), size: meta.len(), mtime_ns: mtime_ns(meta) }
    }

    /// Whether `now` is this file unchanged. A device and inode of 0 (a journal row from before
    /// they were recorded) are not compared.
    fn matches(&self, now: &Identity) -> bool {
        let same_file = (self.dev, self.ino) == (0, 0) || (self.dev, self.ino) == (now.dev, now.ino);
        let same_time = self.mtime_ns == 0 || self.mtime_ns == now.mtime_ns;
        same_file && self.size == now.size && same_time
    }
}

/// A file's mtime as the journal keeps it: nanoseconds since the epoch (0 if unknown).
pub fn mtime_ns(meta: &Metadata) -> i64 {
    let since = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    since.map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// The file being sent: its path and the identity it must still have.
#[derive(Debug, Clone)]
pub struct Expected {
    pub path: PathBuf,
    pub identity: Identity,
}

tokio::task_local! {
    static SENDING: Expected;
}

/// Run `fut` (one job's upload) with every [`open`] of `expected.path` inside it held to
/// `expected.identity`.
pub async fn sending<F: std::future::Future>(expected: Expected, fut: F) -> F::Output {
    SENDING.scope(expected, fut).await
}

/// The expectation in force for `path` in this task, to carry into a blocking thread.
pub fn expected_for(path: &Path) -> Option<Identity> {
    SENDING.try_with(|e| (e.path == path).then_some(e.identity)).ok().flatten()
}

/// Open `path` for reading without following a symlink and without blocking on a FIFO; it
/// must be a regular file, and the file `expect` describes if given.
pub fn open_checked(path: &Path, expect: Option<Identity>) -> Result<(File, Metadata)> {
    let file =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).map_err(
            |e| match e.raw_os_error() {
                // O_NOFOLLOW on a symlink.
                Some(libc::ELOOP) => Error::NotAFile { path: path.to_owned() },
                _ => Error::file(path, e),
            },
        )?;
    let meta = file.metadata().map_err(|e| Error::file(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_owned() });
    }
    if let Some(expect) = expect {
        let now = Identity::of(&meta);
        if !expect.matches(&now) {
            return Err(Error::FileChanged { path: path.to_owned(), expected: expect.size, actual: now.size });
        }
    }
    Ok((file, meta))
}

/// [`open_checked`] with the expectation of the job being sent in this task, if any.
pub fn open(path: &Path) -> Result<(File, Metadata)> {
    open_checked(path, expected_for(path))
}

/// [`open`] as a tokio file.
pub fn open_async(path: &Path) -> Result<(tokio::fs::File, Metadata)> {
    open(path).map(|(file, meta)| (tokio::fs::File::from_std(file), meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "secret").unwrap();
        let link = dir.path().join("a.txt");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert_eq!(open_checked(&link, None).unwrap_err().code(), "file.not_a_file");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Opening a FIFO for reading with no writer would block without O_NONBLOCK.
        assert_eq!(open_checked(&fifo, None).unwrap_err().code(), "file.not_a_file");
        assert!(open_checked(&outside, None).is_ok());
    }

    #[tokio::test]
    async fn a_swapped_file_is_not_the_one_expected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "first").unwrap();
        let identity = Identity::of(&std::fs::metadata(&path).unwrap());
        // Same size, same mtime, another inode: a rename over it.
        let other = dir.path().join("b.txt");
        std::fs::write(&other, "other").unwrap();
        let f = std::fs::File::options().write(true).open(&other).unwrap();
        f.set_modified(std::fs::metadata(&path).unwrap().modified().unwrap()).unwrap();
        std::fs::rename(&other, &path).unwrap();
        let expected = Expected { path: path.clone(), identity };
        let err = sending(expected.clone(), async { open(&path).map(|_| ()) }).await.unwrap_err();
        assert_eq!(err.code(), "file.changed");
        // Outside a job's send, or for another path, nothing is expected.
        assert!(open(&path).is_ok());
        let now = Identity::of(&std::fs::metadata(&path).unwrap());
        let fresh = Expected { path: path.clone(), identity: now };
        assert!(sending(fresh, async { open(&path).map(|_| ()) }).await.is_ok());
    }
}
