//! Streaming SHA-256 (and MD5 where a service reports only that). Trusted Twin wants lowercase
//! hex of the exact bytes uploaded, so the transfer hashes the bytes as they go out;
//! `sha256_file` is for when no upload is involved.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Read size for hashing and uploading: large enough for disk throughput, small enough that
/// memory stays constant whatever the file size.
pub const CHUNK: usize = 256 * 1024;

#[derive(Default, Clone)]
pub struct Sha256Stream {
    inner: Sha256,
    /// Only for services that verify with MD5 (Redivis/GCS): it costs a second pass of the CPU
    /// over every byte, so Trusted Twin uploads leave it off.
    md5: Option<md5::Md5>,
    len: u64,
}

impl Sha256Stream {
    pub fn with_md5(md5: bool) -> Self {
        Sha256Stream { md5: md5.then(md5::Md5::default), ..Default::default() }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        if let Some(m) = &mut self.md5 {
            m.update(bytes);
        }
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

    /// The SHA-256 in hex and, when asked for, the MD5 in base64 (as GCS writes `md5Hash`).
    pub fn finish(self) -> (String, Option<String>) {
        let md5 = self.md5.map(|m| BASE64.encode(m.finalize()));
        (hex::encode(self.inner.finalize()), md5)
    }
}

use base64::Engine as _;
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Whether a server's MD5 (base64 as GCS writes it, or hex) is the one we computed (base64).
pub fn same_md5(ours_base64: &str, theirs: &str) -> bool {
    let theirs = theirs.trim();
    if theirs == ours_base64 {
        return true;
    }
    BASE64.decode(ours_base64).is_ok_and(|raw| hex::encode(raw).eq_ignore_ascii_case(theirs))
}

/// Hash a whole file in constant memory; returns (hex, length). Plain blocking reads on the
/// blocking pool: one hop per file rather than one per chunk, which is what keeps up with disk.
pub async fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let (path, expect) = (path.to_owned(), crate::source::expected_for(path));
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let (mut file, _) = crate::source::open_checked(&path, expect)?;
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
    .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))?
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
        let mut both = Sha256Stream::with_md5(true);
        both.update(b"abc");
        let (sha, md5) = both.finish();
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(md5.as_deref(), Some("kAFQmDzST7DWlj99KOF/cg=="));
        assert!(same_md5("kAFQmDzST7DWlj99KOF/cg==", "900150983cd24fb0d6963f7d28e17f72"));
        assert!(same_md5("kAFQmDzST7DWlj99KOF/cg==", "kAFQmDzST7DWlj99KOF/cg=="));
        assert!(!same_md5("kAFQmDzST7DWlj99KOF/cg==", "00"));
        assert_eq!(Sha256Stream::default().finish().1, None);
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
