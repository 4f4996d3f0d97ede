//! The small pieces of cryptography and encoding that the signed URLs, forms and requests of
//! Inspect, HBR and OSS share: HMAC-SHA1 and HMAC-SHA256 (made, and checked in constant time),
//! base64 and RFC 3986 percent-encoding.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use sha2::Sha256;

pub(crate) fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut mac = hmac_of::<Hmac<Sha1>>(key);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = hmac_of::<Hmac<Sha256>>(key);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Whether `given` is the HMAC-SHA1 of `message` under `key`. `verify_slice` compares in
/// constant time, so how long a refusal takes tells nothing of how much of a forgery was right.
pub(crate) fn hmac_sha1_verifies(key: &[u8], message: &[u8], given: &[u8]) -> bool {
    let mut mac = hmac_of::<Hmac<Sha1>>(key);
    mac.update(message);
    mac.verify_slice(given).is_ok()
}

/// Whether `given` is the HMAC-SHA256 of `message` under `key`, compared in constant time.
pub(crate) fn hmac_sha256_verifies(key: &[u8], message: &[u8], given: &[u8]) -> bool {
    let mut mac = hmac_of::<Hmac<Sha256>>(key);
    mac.update(message);
    mac.verify_slice(given).is_ok()
}

/// Whether the base64 text `given` (SigV2, OSS policies, HBR V2) is the HMAC-SHA1 of `message`.
/// The engine refuses non-canonical base64 (bad padding, stray bits), so exactly one text
/// passes for a MAC: the one the server would have written, as when the texts were compared.
pub(crate) fn base64_hmac_sha1_verifies(key: &[u8], message: &[u8], given: &str) -> bool {
    base64_decode(given).is_some_and(|given| hmac_sha1_verifies(key, message, &given))
}

/// HMAC takes a key of any length, so this cannot fail.
fn hmac_of<M: KeyInit>(key: &[u8]) -> M {
    M::new_from_slice(key).expect("HMAC accepts any key length")
}

pub(crate) fn base64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// What RFC 3986 percent-encoding (as Alibaba Cloud and S3 sign) escapes: everything but the
/// unreserved `A-Za-z0-9-_.~`. Non-ASCII bytes are always escaped, in uppercase hex.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The same with `/` kept, for object keys in a URL path.
const RFC3986_PATH: &AsciiSet = &RFC3986.remove(b'/');

/// RFC 3986 percent-encoding: the unreserved characters `A-Za-z0-9-_.~` stay, every other
/// byte of the UTF-8 becomes `%XX` (space is `%20`, never `+`).
pub(crate) fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986).to_string()
}

/// Like [`percent_encode`], but `/` stays: for object keys in a URL path.
pub(crate) fn percent_encode_path(text: &str) -> String {
    utf8_percent_encode(text, RFC3986_PATH).to_string()
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
/// [`sigv2_string_to_sign`].
pub(crate) fn sigv2(secret: &str, method: &str, content_type: &str, expires: u64, bucket: &str, key: &str) -> String {
    base64(hmac_sha1(secret.as_bytes(), sigv2_string_to_sign(method, content_type, expires, bucket, key).as_bytes()))
}

/// `"{method}\n{content-md5}\n{content-type}\n{expires}\n/{bucket}/{key}"` (no Content-MD5).
pub(crate) fn sigv2_string_to_sign(method: &str, content_type: &str, expires: u64, bucket: &str, key: &str) -> String {
    format!("{method}\n\n{content_type}\n{expires}\n/{bucket}/{key}")
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
        // Every ASCII byte: only the unreserved ones stay, the rest is %XX in uppercase hex.
        let ascii: String = (0u8..128).map(char::from).collect();
        let expected: String = ascii
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(percent_encode(&ascii), expected);
        assert_eq!(percent_encode_path(&ascii), expected.replace("%2F", "/"));
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
    fn verifying_accepts_only_the_exact_mac() {
        let mac = hmac_sha256(b"k", b"m");
        assert!(hmac_sha256_verifies(b"k", b"m", &mac));
        assert!(!hmac_sha256_verifies(b"k", b"m", &mac[..31]), "a prefix of the MAC is not the MAC");
        assert!(!hmac_sha256_verifies(b"k", b"n", &mac));
        assert!(!hmac_sha256_verifies(b"j", b"m", &mac));
        let mut flipped = mac;
        flipped[31] ^= 1;
        assert!(!hmac_sha256_verifies(b"k", b"m", &flipped));
        assert!(hmac_sha1_verifies(b"k", b"m", &hmac_sha1(b"k", b"m")));
        assert!(!hmac_sha1_verifies(b"k", b"m", &[]));
    }

    #[test]
    fn base64_signatures_must_be_the_text_the_server_would_write() {
        let text = base64(hmac_sha1(b"k", b"m"));
        assert!(base64_hmac_sha1_verifies(b"k", b"m", &text));
        assert!(!base64_hmac_sha1_verifies(b"k", b"m", text.trim_end_matches('=')), "padding dropped");
        assert!(!base64_hmac_sha1_verifies(b"k", b"m", &format!("{text} ")));
        assert!(!base64_hmac_sha1_verifies(b"k", b"n", &text));
        // The last character of a 20-byte MAC carries 2 spare bits: setting one is another text
        // for the same bytes, which the server never writes.
        let last = text.as_bytes()[text.len() - 2];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let index = alphabet.iter().position(|&c| c == last).unwrap();
        let mut stray = text.clone().into_bytes();
        stray[text.len() - 2] = alphabet[index ^ 1];
        assert!(!base64_hmac_sha1_verifies(b"k", b"m", std::str::from_utf8(&stray).unwrap()));
    }
}
