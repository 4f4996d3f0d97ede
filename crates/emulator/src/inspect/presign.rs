//! The emulator's own presigned URLs (D-S2):
//! `{base}/__presigned/{id}?expires=<unix secs>&sig=<hex>`, where `sig` is the HMAC-SHA256, with
//! the emulator's key, of `"{id}\n{expires}\n{contentType}"`. The PUT recomputes it with the
//! Content-Type it was sent, so a missing or different Content-Type fails as the signature, just
//! as with an S3 SigV2 URL.

use std::time::Duration;

use crate::signing::{hmac_sha256, hmac_sha256_verifies};

/// "The presigned URL is valid for 15 minutes" (seed 003).
pub(crate) const VALIDITY: Duration = Duration::from_secs(15 * 60);

fn signature(key: &[u8], id: &str, expires: u64, content_type: &str) -> [u8; 32] {
    hmac_sha256(key, message(id, expires, content_type).as_bytes())
}

fn message(id: &str, expires: u64, content_type: &str) -> String {
    format!("{id}\n{expires}\n{content_type}")
}

pub(crate) fn url(base_url: &str, key: &[u8], id: &str, expires: u64, content_type: &str) -> String {
    let sig = hex::encode(signature(key, id, expires, content_type));
    format!("{base_url}/__presigned/{id}?expires={expires}&sig={sig}")
}

/// Whether `sig` (hex) signs this id, expiry and Content-Type.
pub(crate) fn verify(key: &[u8], id: &str, expires: u64, content_type: &str, sig: &str) -> bool {
    let Ok(given) = hex::decode(sig) else { return false };
    hmac_sha256_verifies(key, message(id, expires, content_type).as_bytes(), &given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_type_is_part_of_the_signature() {
        let url = url("http://e", b"k", "f1", 100, "image/png");
        let sig = url.split("sig=").nth(1).unwrap();
        assert!(url.starts_with("http://e/__presigned/f1?expires=100&sig="));
        assert!(verify(b"k", "f1", 100, "image/png", sig));
        assert!(!verify(b"k", "f1", 100, "image/jpeg", sig));
        assert!(!verify(b"k", "f1", 100, "", sig));
        assert!(!verify(b"k", "f1", 101, "image/png", sig));
        assert!(!verify(b"other", "f1", 100, "image/png", sig));
        assert!(!verify(b"k", "f1", 100, "image/png", "zz"));
    }
}
