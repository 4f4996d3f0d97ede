//! A file's media type (MIME), for services that bind an upload to one (a presigned PUT must
//! carry exactly the Content-Type it was signed for). The content decides first (magic bytes,
//! through `infer`), the extension second (`mime_guess`), and `application/octet-stream` last:
//! a `.txt` that is really a PNG is sent as a PNG, and the answer is the same on every run for
//! the same bytes, so a renewed URL is signed for the same type.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes read to sniff the content; every signature `infer` knows fits.
const SNIFF: u64 = 8192;

pub const FALLBACK: &str = "application/octet-stream";

/// The media type of the file at `path`.
pub fn detect(path: &Path) -> Result<String> {
    let mut head = Vec::with_capacity(SNIFF as usize);
    let (file, _) = crate::source::open(path)?;
    file.take(SNIFF).read_to_end(&mut head).map_err(|e| Error::file(path, e))?;
    Ok(from_parts(path, &head))
}

fn from_parts(path: &Path, head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    if let Some(guess) = mime_guess::from_path(path).first() {
        return guess.essence_str().to_owned();
    }
    if !head.is_empty() && std::str::from_utf8(head).is_ok() {
        return "text/plain".to_owned();
    }
    FALLBACK.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_wins_over_the_extension() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R'];
        assert_eq!(from_parts(Path::new("photo.txt"), &png), "image/png");
        assert_eq!(from_parts(Path::new("report.pdf"), b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(from_parts(Path::new("data.csv"), b"a,b\n1,2\n"), "text/csv");
        assert_eq!(from_parts(Path::new("notes"), "héllo".as_bytes()), "text/plain");
        assert_eq!(from_parts(Path::new("blob"), &[0xff, 0x00, 0xfe]), FALLBACK);
        assert_eq!(from_parts(Path::new("empty"), b""), FALLBACK);
    }

    #[test]
    fn files_are_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, b"{\"a\":1}").unwrap();
        assert_eq!(detect(&path).unwrap(), "application/json");
        assert_eq!(detect(&dir.path().join("missing")).unwrap_err().code(), "file.not_found");
    }
}
