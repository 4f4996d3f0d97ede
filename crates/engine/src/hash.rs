//! Streaming SHA-256 (and MD5 or CRC-64 where a service reports only that). Trusted Twin wants
//! lowercase hex of the exact bytes uploaded, so the transfer hashes the bytes as they go out;
//! `sha256_file` is for when no upload is involved.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Read size for hashing and uploading: large enough for disk throughput, small enough that
/// memory stays constant whatever the file size.
pub const CHUNK: usize = 256 * 1024;

/// CRC-64/XZ: the ECMA-182 polynomial, reflected, initial value and final XOR all ones. It is
/// what OSS reports as `x-oss-hash-crc64ecma` (its SDKs build it so: crcmod with poly
/// 0x142F0E1EBA9EA3693, `rev=True`, `xorOut` all ones). Slice-by-16 tables, because it runs over
/// every byte of an upload.
static CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_XZ);

/// The digests besides SHA-256 an upload also wants. Each costs another pass of the CPU over
/// every byte, so only the services that verify with one ask for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Also {
    /// Redivis/GCS and S3-style ETags.
    pub md5: bool,
    /// OSS (`x-oss-hash-crc64ecma`).
    pub crc64: bool,
}

/// A plain `bool` asks for MD5 alone, as the callers that predate CRC-64 say it.
impl From<bool> for Also {
    fn from(md5: bool) -> Self {
        Also { md5, crc64: false }
    }
}

#[derive(Default, Clone)]
pub struct Sha256Stream {
    inner: Sha256,
    md5: Option<md5::Md5>,
    crc64: Option<crc::Digest<'static, u64, crc::Table<16>>>,
    len: u64,
}

impl Sha256Stream {
    pub fn with_md5(md5: bool) -> Self {
        Self::with(Also::from(md5))
    }

    pub fn with(also: Also) -> Self {
        Sha256Stream {
            md5: also.md5.then(md5::Md5::default),
            crc64: also.crc64.then(|| CRC64.digest()),
            ..Default::default()
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        if let Some(m) = &mut self.md5 {
            m.update(bytes);
        }
        if let Some(c) = &mut self.crc64 {
            c.update(bytes);
        }
        self.len += bytes.len() as u64;
    }

    /// The CRC-64/XZ so far, when asked for.
    pub fn crc64(&self) -> Option<u64> {
        self.crc64.clone().map(|c| c.finalize())
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

/// Our MD5 (base64) as ETags write it, in lowercase hex; as given if it is not base64.
pub fn md5_hex(ours_base64: &str) -> String {
    BASE64.decode(ours_base64).map(hex::encode).unwrap_or_else(|_| ours_base64.to_owned())
}

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

    #[test]
    fn crc64_is_what_oss_reports() {
        // The CRC catalogue's check value of CRC-64/XZ, and the vector of the Alibaba OSS .NET
        // SDK's own test (`OssCrcTest.TestCrcCore`: "This is a test." → 2186167744391481992).
        let crc = |parts: &[&[u8]]| {
            let mut h = Sha256Stream::with(Also { md5: false, crc64: true });
            parts.iter().for_each(|p| h.update(p));
            h.crc64().unwrap()
        };
        assert_eq!(crc(&[b"1234", b"56789"]), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc(&[b"This is a test."]), 2_186_167_744_391_481_992);
        assert_eq!(crc(&[]), 0, "OSS's value for an empty object");
        assert_eq!(Sha256Stream::with_md5(true).crc64(), None);
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
