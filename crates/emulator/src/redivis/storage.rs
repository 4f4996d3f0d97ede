//! Where the Redivis data plane keeps bytes, inside the emulator's blob directory:
//!
//! ```text
//! <blobs>/redivis/sessions/<session id>   a resumable session's bytes; only the committed prefix counts
//! <blobs>/redivis/temp/<temp upload id>   a temp upload's complete bytes, until rawFiles takes them
//! <blobs>/redivis/files/<raw file id>     a raw file's bytes
//! ```
//!
//! A complete upload is renamed from `sessions/` (or the blob `incoming/` directory) into `temp/`,
//! and from there into `files/` by rawFiles: bytes are never copied.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use base64::Engine;
use md5::{Digest, Md5};

use super::model::RedivisState;
use crate::blobs::Blobs;

const SESSIONS: &str = "sessions";
const TEMP: &str = "temp";
const FILES: &str = "files";

/// Read size when hashing a file back.
const READ_BUFFER: usize = 256 * 1024;

pub(crate) struct Storage {
    root: PathBuf,
    durable: bool,
}

impl Storage {
    pub(crate) fn open(blobs: &Blobs) -> io::Result<Storage> {
        let root = blobs.root().join("redivis");
        for dir in [SESSIONS, TEMP, FILES] {
            crate::blobs::create_dir_private(&root.join(dir))?;
        }
        Ok(Storage { root, durable: blobs.durable() })
    }

    pub(crate) fn durable(&self) -> bool {
        self.durable
    }

    pub(crate) fn session(&self, session: &str) -> PathBuf {
        self.root.join(SESSIONS).join(session)
    }

    pub(crate) fn temp(&self, id: &str) -> PathBuf {
        self.root.join(TEMP).join(id)
    }

    pub(crate) fn raw_file(&self, id: &str) -> PathBuf {
        self.root.join(FILES).join(id)
    }

    /// Deletes files the state does not know (left by a crash between a rename and the state
    /// write, or by sessions that were dropped while the emulator was down).
    pub(crate) fn clean(&self, state: &RedivisState) {
        let sessions: HashSet<&str> = state.sessions.keys().map(String::as_str).collect();
        let temps: HashSet<&str> = state
            .temp_uploads
            .values()
            .filter(|upload| upload.content.is_some() && !upload.used)
            .map(|upload| upload.id.as_str())
            .collect();
        for (dir, keep) in [(SESSIONS, &sessions), (TEMP, &temps)] {
            let Ok(entries) = std::fs::read_dir(self.root.join(dir)) else { continue };
            for entry in entries.flatten() {
                if !keep.contains(entry.file_name().to_string_lossy().as_ref()) {
                    remove_quietly(&entry.path());
                }
            }
        }
    }
}

pub(crate) fn remove_quietly(path: &Path) {
    if let Err(err) = std::fs::remove_file(path) {
        if err.kind() != io::ErrorKind::NotFound {
            tracing::warn!(%err, path = %path.display(), "could not delete a Redivis blob");
        }
    }
}

/// Opens a session's file for writing at `offset`, dropping anything after it (bytes of a chunk
/// that were never committed).
pub(crate) async fn open_at(path: &Path, offset: u64) -> io::Result<tokio::fs::File> {
    let path = path.to_owned();
    let file = tokio::task::spawn_blocking(move || -> io::Result<std::fs::File> {
        let mut file = crate::blobs::private_options().write(true).create(true).truncate(false).open(&path)?;
        file.set_len(offset)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(file)
    })
    .await
    .map_err(io::Error::other)??;
    Ok(tokio::fs::File::from_std(file))
}

/// Continues `hasher` (which covers the first `from` bytes) over the rest of the file, in the
/// blocking pool; returns base64 of the digest.
pub(crate) async fn finish_md5(path: &Path, mut hasher: Md5, from: u64) -> io::Result<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> io::Result<String> {
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            // A 0-byte upload never wrote a file.
            Err(err) if err.kind() == io::ErrorKind::NotFound && from == 0 => return Ok(md5_base64(hasher.finalize())),
            Err(err) => return Err(err),
        };
        file.seek(SeekFrom::Start(from))?;
        let mut buffer = vec![0u8; READ_BUFFER];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(md5_base64(hasher.finalize()))
    })
    .await
    .map_err(io::Error::other)?
}

pub(crate) fn md5_base64(digest: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The blob writer's hex MD5 as base64.
pub(crate) fn md5_hex_to_base64(hex_digest: &str) -> String {
    md5_base64(hex::decode(hex_digest).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_is_shown_as_base64_of_the_raw_digest() {
        assert_eq!(md5_base64(Md5::digest(b"hello")), "XUFAKrxLKna5cZ2REBfFkg==");
        assert_eq!(md5_hex_to_base64("5d41402abc4b2a76b9719d911017c592"), "XUFAKrxLKna5cZ2REBfFkg==");
    }

    #[tokio::test]
    async fn a_session_file_is_cut_back_to_the_offset_and_hashed_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, b"hello, garbage").unwrap();
        let mut file = open_at(&path, 5).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut file, b"!").await.unwrap();
        tokio::io::AsyncWriteExt::flush(&mut file).await.unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello!");
        let mut hasher = Md5::new();
        hasher.update(b"hel");
        assert_eq!(finish_md5(&path, hasher, 3).await.unwrap(), md5_base64(Md5::digest(b"hello!")));
        let missing = dir.path().join("none");
        assert_eq!(finish_md5(&missing, Md5::new(), 0).await.unwrap(), md5_base64(Md5::digest(b"")));
    }
}
