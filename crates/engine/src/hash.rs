//! Streaming SHA-256. Trusted Twin wants lowercase hex of the exact bytes uploaded, so the
//! transfer hashes the bytes as they go out; `sha256_file` is for when no upload is involved.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Read size for hashing and uploading: large enough for disk throughput, small enough that
/// memory stays constant whatever the file size.
pub const CHUNK: usize = 256 * 1024;

#[derive(Default, Clone)]
pub struct Sha256Stream {
    inner: Sha256,
    len: u64,
}

impl Sha256Stream {
    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        self.len += bytes.len() as u64;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lowercase hex, as the Trusted Twin `hash` field expects.
    pub fn finish_hex(self) -> String {
        hex::encode(self.inner.finalize())
    }
}

/// Hash a whole file in constant memory; returns (hex, length). Plain blocking reads on the
/// blocking pool: one hop per file rather than one per chunk, which is what keeps up with disk.
pub async fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(&path).map_err(|e| Error::file(&path, e))?;
        let mut buf = vec![0u8; 4 * CHUNK];
        let mut hasher = Sha256Stream::default();
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::file(&path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let len = hasher.len();
        Ok((hasher.finish_hex(), len))
    })
    .await
    .map_err(|e| Error::Input(format!("hashing task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let empty = Sha256Stream::default();
        assert_eq!(empty.finish_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let mut split = Sha256Stream::default();
        split.update(b"ab");
        split.update(b"c");
        assert_eq!(split.len(), 3);
        assert_eq!(split.finish_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[tokio::test]
    async fn file_hash_spans_many_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let data: Vec<u8> = (0..CHUNK * 3 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (hex, len) = sha256_file(&path).await.unwrap();
        assert_eq!(len, data.len() as u64);
        assert_eq!(hex, hex::encode(Sha256::digest(&data)));
        let err = sha256_file(&dir.path().join("missing")).await.unwrap_err();
        assert_eq!(err.code(), "file.not_found");
    }
}
