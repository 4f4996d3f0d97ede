//! Where bytes live: one directory tree, so that attaching is a hard link, not a copy.
//!
//! ```text
//! <root>/incoming/   PUT bodies being received (temp files, deleted on failure or at start)
//! <root>/uploads/    the current bytes behind each upload token
//! <root>/docs/       one file per attached Doc, named by the Doc's internal id
//! <root>/redivis/    the Redivis data plane's bytes (laid out by `redivis::files`)
//! ```
//!
//! A PUT is written to `incoming/` and renamed over `uploads/<token>` only when complete, so a
//! broken PUT never replaces good bytes. A Doc's file is a hard link to the upload's file at
//! attach time: a later PUT to the same URL renames a new inode into place and leaves the Doc's
//! bytes alone, and the upload can expire and be deleted independently of the Doc.

use std::io;
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};
use tempfile::{NamedTempFile, TempDir, TempPath};
use tokio::io::{AsyncWriteExt, BufWriter};
use uuid::Uuid;

const INCOMING: &str = "incoming";
const UPLOADS: &str = "uploads";
const DOCS: &str = "docs";

/// Large enough that a multi-GB PUT is not one blocking-pool round trip per network chunk.
const WRITE_BUFFER: usize = 256 * 1024;

/// A folder and its missing parents, new ones `0700`: the state and the bytes it holds are the
/// account's, for its owner alone (files are `0600`: tempfile's mode, kept by rename and link).
pub(crate) fn create_dir_private(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Options that create a file `0600`.
pub(crate) fn private_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

pub(crate) struct Blobs {
    root: PathBuf,
    /// fsync before a rename, so bytes acknowledged with 200 survive a crash. Pointless for the
    /// in-memory mode, whose directory dies with the process.
    durable: bool,
    _temp: Option<TempDir>,
}

impl Blobs {
    pub(crate) fn persistent(root: PathBuf) -> io::Result<Blobs> {
        Blobs::init(Blobs { root, durable: true, _temp: None })
    }

    pub(crate) fn temporary() -> io::Result<Blobs> {
        let temp = tempfile::Builder::new().prefix("twindrop-emulator-").tempdir()?;
        Blobs::init(Blobs { root: temp.path().to_owned(), durable: false, _temp: Some(temp) })
    }

    fn init(blobs: Blobs) -> io::Result<Blobs> {
        let incoming = blobs.root.join(INCOMING);
        // Leftovers of PUTs that were cut off by a crash.
        match std::fs::remove_dir_all(&incoming) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        for dir in [INCOMING, UPLOADS, DOCS] {
            create_dir_private(&blobs.root.join(dir))?;
        }
        Ok(blobs)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Whether bytes must be fsynced before they are acknowledged (not for a temporary root).
    pub(crate) fn durable(&self) -> bool {
        self.durable
    }

    pub(crate) fn upload_path(&self, token: &str) -> PathBuf {
        self.root.join(UPLOADS).join(token)
    }

    pub(crate) fn doc_path(&self, id: Uuid) -> PathBuf {
        self.root.join(DOCS).join(id.simple().to_string())
    }

    /// Starts receiving a PUT body.
    pub(crate) fn incoming(&self) -> io::Result<BlobWriter> {
        let (file, path) = NamedTempFile::new_in(self.root.join(INCOMING))?.into_parts();
        Ok(BlobWriter {
            file: BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file)),
            path,
            durable: self.durable,
            sha256: Sha256::new(),
            md5: Md5::new(),
            size: 0,
        })
    }

    /// Makes a fully received body the bytes of `token`, replacing any earlier ones atomically.
    pub(crate) fn commit_upload(&self, blob: ReceivedBlob, token: &str) -> io::Result<()> {
        blob.path.persist(self.upload_path(token)).map_err(|err| err.error)
    }

    /// Gives a new Doc its own name for the upload's current bytes.
    pub(crate) fn link_doc(&self, token: &str, doc: Uuid) -> io::Result<()> {
        let from = self.upload_path(token);
        let to = self.doc_path(doc);
        match std::fs::hard_link(&from, &to) {
            Ok(()) => Ok(()),
            // A filesystem without hard links: fall back to a real copy.
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                tracing::debug!(%err, "hard link failed, copying the upload instead");
                std::fs::copy(&from, &to).map(drop)
            }
            Err(err) => Err(err),
        }
    }

    pub(crate) fn remove_upload(&self, token: &str) {
        remove_quietly(&self.upload_path(token));
    }

    pub(crate) fn remove_doc(&self, doc: Uuid) {
        remove_quietly(&self.doc_path(doc));
    }
}

fn remove_quietly(path: &Path) {
    if let Err(err) = std::fs::remove_file(path) {
        if err.kind() != io::ErrorKind::NotFound {
            tracing::warn!(%err, path = %path.display(), "could not delete a blob");
        }
    }
}

/// A PUT body on its way to disk. Hashes are computed as the bytes pass, so the file is never
/// read back. Dropping it unfinished deletes the temp file.
pub(crate) struct BlobWriter {
    file: BufWriter<tokio::fs::File>,
    path: TempPath,
    durable: bool,
    sha256: Sha256,
    md5: Md5,
    size: u64,
}

impl BlobWriter {
    pub(crate) async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.sha256.update(chunk);
        self.md5.update(chunk);
        self.size += chunk.len() as u64;
        self.file.write_all(chunk).await
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) async fn finish(mut self) -> io::Result<ReceivedBlob> {
        self.file.flush().await?;
        if self.durable {
            self.file.get_mut().sync_data().await?;
        }
        Ok(ReceivedBlob {
            path: self.path,
            size: self.size,
            sha256: hex::encode(self.sha256.finalize()),
            md5: hex::encode(self.md5.finalize()),
        })
    }
}

/// A complete body, still in `incoming/` until [`Blobs::commit_upload`] or [`ReceivedBlob::persist`].
pub(crate) struct ReceivedBlob {
    path: TempPath,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) md5: String,
}

impl ReceivedBlob {
    /// Renames the body to `to`, replacing whatever was there atomically.
    pub(crate) fn persist(self, to: &Path) -> io::Result<()> {
        self.path.persist(to).map_err(|err| err.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_doc_keeps_its_bytes_when_the_upload_is_replaced() {
        let blobs = Blobs::temporary().unwrap();
        let mut writer = blobs.incoming().unwrap();
        writer.write(b"first").await.unwrap();
        let first = writer.finish().await.unwrap();
        assert_eq!(first.size, 5);
        assert_eq!(first.sha256, "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e");
        blobs.commit_upload(first, "tok").unwrap();

        let doc = Uuid::new_v4();
        blobs.link_doc("tok", doc).unwrap();

        let mut writer = blobs.incoming().unwrap();
        writer.write(b"second").await.unwrap();
        blobs.commit_upload(writer.finish().await.unwrap(), "tok").unwrap();

        assert_eq!(std::fs::read(blobs.upload_path("tok")).unwrap(), b"second");
        assert_eq!(std::fs::read(blobs.doc_path(doc)).unwrap(), b"first");
        blobs.remove_upload("tok");
        assert_eq!(std::fs::read(blobs.doc_path(doc)).unwrap(), b"first");
    }

    #[tokio::test]
    async fn an_abandoned_write_leaves_nothing_behind() {
        let blobs = Blobs::temporary().unwrap();
        let mut writer = blobs.incoming().unwrap();
        writer.write(b"partial").await.unwrap();
        drop(writer);
        let left = std::fs::read_dir(blobs.root.join(INCOMING)).unwrap().count();
        assert_eq!(left, 0);
    }
}
