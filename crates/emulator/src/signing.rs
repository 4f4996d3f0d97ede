//! The small pieces of cryptography and encoding that the signed URLs, forms and requests of
//! Inspect, HBR and OSS share: HMAC-SHA1 and HMAC-SHA256, base64, RFC 3986 percent-encoding,
//! and comparisons that do not stop at the first differing byte.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

pub(crate) fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub(crate) fn base64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Equality that takes the same time wherever the first difference is (for signatures).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 3986 percent-encoding as Alibaba Cloud and S3 sign: the unreserved characters
/// `A-Za-z0-9-_.~` stay, every other byte of the UTF-8 becomes `%XX` (space is `%20`, never `+`).
pub(crate) fn percent_encode(text: &str) -> String {
    encode(text, false)
}

/// Like [`percent_encode`], but `/` stays: for object keys in a URL path.
pub(crate) fn percent_encode_path(text: &str) -> String {
    encode(text, true)
}

fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || (keep_slash && byte == b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The pairs of a URL query exactly as they arrived: neither decoded nor re-encoded. A piece
/// without `=` is a key with an empty value; empty pieces (`&&`) are skipped.
pub(crate) fn raw_query_pairs(query: Option<&str>) -> Vec<(&str, &str)> {
    let pieces = query.unwrap_or("").split('&').filter(|piece| !piece.is_empty());
    pieces.map(|piece| piece.split_once('=').unwrap_or((piece, ""))).collect()
}

/// `raw` decoded, if `raw` is exactly how RFC 3986 (as Alibaba signs) writes that text: the
/// unreserved bytes as they are, every other byte `%XX` in uppercase hex, UTF-8 underneath.
/// `None` for anything else: a `+` for a space, `%2d`, a literal `*`, a bare `%`.
pub(crate) fn rfc3986_decode(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    (percent_encode(&decoded) == raw).then(|| decoded.into_owned())
}

/// The pairs of a URL query, decoded as a form would be (`+` is a space, as most servers and
/// reqwest's `query()` have it).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `name` in a query.
pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// S3 signature version 2 of a query-string-authenticated request: base64 of HMAC-SHA1 over
/// `"{method}\n{content-md5}\n{content-type}\n{expires}\n/{bucket}/{key}"`.
pub(crate) fn sigv2(secret: &str, method: &str, content_type: &str, expires: u64, bucket: &str, key: &str) -> String {
    let string_to_sign = format!("{method}\n\n{content_type}\n{expires}\n/{bucket}/{key}");
    base64(hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// A query-authenticated SigV2 URL (S3 and OSS have the same shape, with their own names for the
/// access key parameter).
pub(crate) struct PresignedUrl<'a> {
    pub(crate) endpoint: &'a str,
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) access_key_param: &'a str,
    pub(crate) access_key: &'a str,
    pub(crate) secret: &'a str,
    pub(crate) method: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) expires: u64,
}

impl PresignedUrl<'_> {
    pub(crate) fn to_url(&self) -> String {
        let signature = sigv2(self.secret, self.method, self.content_type, self.expires, self.bucket, self.key);
        format!(
            "{}/{}/{}?{}={}&Expires={}&Signature={}",
            self.endpoint.trim_end_matches('/'),
            self.bucket,
            percent_encode_path(self.key),
            self.access_key_param,
            percent_encode(self.access_key),
            self.expires,
            percent_encode(&signature)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmacs_match_rfc_vectors() {
        // RFC 2202 test case 2 and RFC 4231 test case 2.
        assert_eq!(
            hex::encode(hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("a b+c/d~e*f"), "a%20b%2Bc%2Fd~e%2Af");
        assert_eq!(percent_encode_path("temp/1/a b.txt"), "temp/1/a%20b.txt");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn raw_queries_stay_as_sent_and_only_rfc3986_decodes() {
        let raw = raw_query_pairs(Some("FileName=a+b&&x&y=%C3%A9"));
        assert_eq!(raw, [("FileName", "a+b"), ("x", ""), ("y", "%C3%A9")]);
        assert_eq!(rfc3986_decode("a%20b%2Bc~d%2A%25"), Some("a b+c~d*%".to_owned()));
        assert_eq!(rfc3986_decode("%C3%A9"), Some("é".to_owned()));
        for not_canonical in ["a+b", "%c3%a9", "a*b", "%41", "%", "%FF", "a b"] {
            assert_eq!(rfc3986_decode(not_canonical), None, "{not_canonical}");
        }
    }

    #[test]
    fn queries_decode_plus_as_space() {
        let pairs = query_pairs(Some("FileName=a+b%2Bc&x="));
        assert_eq!(query_value(&pairs, "FileName"), Some("a b+c"));
        assert_eq!(query_value(&pairs, "x"), Some(""));
        assert_eq!(query_value(&pairs, "y"), None);
    }

    #[test]
    fn sigv2_matches_the_aws_documentation_example() {
        // "Query string request authentication", AWS S3 developer guide (SigV2).
        let signature =
            sigv2("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "GET", "", 1175139620, "johnsmith", "photos/puppy.jpg");
        assert_eq!(signature, "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
    }

    #[test]
    fn same_compares_whole_slices() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
