//! Verifying an HBR request's signature (spec §3.1, D-H1).
//!
//! **V3**, what today's SDK sends: `Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,
//! SignedHeaders=<h1;h2;...>,Signature=<hex>` with
//!
//! ```text
//! CanonicalRequest = METHOD \n
//!                    /                        (the path after the /hbr mount) \n
//!                    the query's k=v pairs AS RECEIVED, sorted, joined by & \n
//!                    lowercase sorted "k:v\n" of the SignedHeaders headers \n
//!                    the SignedHeaders list \n
//!                    x-acs-content-sha256 (hex SHA-256 of the body)
//! StringToSign     = "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(secret, StringToSign))
//! ```
//!
//! `x-acs-date` (`YYYY-MM-DDThh:mm:ssZ`) must be within 15 minutes of the emulator's clock.
//!
//! The query is read as issue 17 says Alibaba reads it: the canonical query is made of the raw
//! bytes that arrived, not of a decoded and re-encoded form, so what the client signed must be
//! what it sent. Each pair must also be RFC 3986 as the signers write it (`%20` for a space,
//! uppercase hex): a form-encoded `+` for a space is `SignatureDoesNotMatch`. The official
//! Python SDK sends such a `+` (signing `%20`), so Alibaba may be more lenient than this; the
//! strict reading catches a client whose query drifts from its signature (docs/fidelity.md).
//!
//! **V2** (legacy, `signature_algorithm='v2'`): no Authorization header; the query carries
//! `AccessKeyId`, `Timestamp`, `SignatureMethod=HMAC-SHA1`, `Signature`, ... and
//! `Signature = base64(HMAC-SHA1(secret + "&", METHOD + "&%2F&" + urlenc(sorted canonical query)))`.
//!
//! V2's query is read as a form (`+` is a space), then encoded RFC 3986 (`A-Za-z0-9-_.~` kept,
//! space `%20`). Which secret: an AccessKeyId pinned with `Config::hbr_access_key` must use its
//! own; any other id may use any of the emulator's secrets. A mismatch is 400 `SignatureDoesNotMatch`, or 404
//! `InvalidAccessKeyId.NotFound` for an unpinned id when pinned ids exist.

use std::time::Duration;

use axum::http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};

use super::error::HbrError;
use super::Hbr;
use crate::clock::Timestamp;
use crate::signing::{
    base64_hmac_sha1_verifies, hmac_sha256_verifies, percent_encode, query_pairs, raw_query_pairs, rfc3986_decode,
};

const V3: &str = "ACS3-HMAC-SHA256";

/// How far `x-acs-date` (or V2's `Timestamp`) may be from the emulator's clock.
const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// A request whose signature checked out.
#[derive(Debug)]
pub(crate) struct Signed {
    pub(crate) access_key_id: String,
    /// `x-acs-action` (V3) or `Action` (V2).
    pub(crate) action: Option<String>,
    /// `x-acs-version` (V3) or `Version` (V2).
    pub(crate) version: Option<String>,
    /// The query, decoded (V3: RFC 3986 only; V2: as a form).
    pub(crate) query: Vec<(String, String)>,
}

pub(crate) fn verify(
    hbr: &Hbr,
    now: Timestamp,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Signed, HbrError> {
    let query = query_pairs(uri.query());
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    match header("authorization") {
        Some(authorization) => {
            let (access_key_id, signed_headers, signature) = parse_authorization(authorization)?;
            let date = header("x-acs-date").ok_or_else(|| {
                HbrError::bad_request("MissingParameter", "The x-acs-date header is mandatory for this request.")
            })?;
            let timestamp = parse_time(date)?;
            let body_hash = hex::encode(Sha256::digest(body));
            let payload = match header("x-acs-content-sha256") {
                Some(declared) if !declared.eq_ignore_ascii_case(&body_hash) => {
                    tracing::info!(declared, body_hash, "HBR: x-acs-content-sha256 is not the body's");
                    return Err(HbrError::signature_does_not_match());
                }
                Some(declared) => declared.to_owned(),
                None => body_hash,
            };
            let query = v3_query(uri)?;
            let canonical =
                canonical_request(method, &raw_canonical_query(uri), headers, uri, &signed_headers, &payload)?;
            let string_to_sign = format!("{V3}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
            let given = hex::decode(signature.to_ascii_lowercase()).unwrap_or_default();
            let matches = |secret: &str| hmac_sha256_verifies(secret.as_bytes(), string_to_sign.as_bytes(), &given);
            check_secret(hbr, &access_key_id, matches, &canonical)?;
            check_time(now, timestamp)?;
            let action = header("x-acs-action").map(str::to_owned);
            let version = header("x-acs-version").map(str::to_owned);
            Ok(Signed { access_key_id, action, version, query })
        }
        None if query.iter().any(|(key, _)| key == "Signature") => verify_v2(hbr, now, method, query),
        None => Err(HbrError::incomplete_signature("no Authorization header and no Signature parameter")),
    }
}

/// `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>`.
fn parse_authorization(value: &str) -> Result<(String, Vec<String>, String), HbrError> {
    let Some(rest) = value.strip_prefix(V3).filter(|rest| rest.starts_with(' ')) else {
        return Err(HbrError::incomplete_signature(format!("the Authorization scheme must be {V3}")));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else { continue };
        match name.trim() {
            "Credential" => credential = Some(value.trim().to_owned()),
            "SignedHeaders" => signed = Some(value.trim().to_owned()),
            "Signature" => signature = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    match (credential, signed, signature) {
        (Some(credential), Some(signed), Some(signature)) if !credential.is_empty() => {
            let signed = signed.split(';').map(|name| name.trim().to_ascii_lowercase()).collect();
            Ok((credential, signed, signature))
        }
        _ => Err(HbrError::incomplete_signature("Credential, SignedHeaders and Signature are all required")),
    }
}

/// The V3 canonical query: the pairs as they arrived, sorted, joined by `&`.
fn raw_canonical_query(uri: &Uri) -> String {
    let mut pairs = raw_query_pairs(uri.query());
    pairs.sort_unstable();
    pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The V3 query decoded, every pair written exactly as RFC 3986 writes it.
fn v3_query(uri: &Uri) -> Result<Vec<(String, String)>, HbrError> {
    raw_query_pairs(uri.query())
        .into_iter()
        .map(|(k, v)| match (rfc3986_decode(k), rfc3986_decode(v)) {
            (Some(k), Some(v)) => Ok((k, v)),
            _ => {
                tracing::info!(key = k, value = v, "HBR: a query pair is not RFC 3986 as signed (a '+' for a space?)");
                Err(HbrError::signature_does_not_match())
            }
        })
        .collect()
}

fn canonical_request(
    method: &Method,
    canonical_query: &str,
    headers: &HeaderMap,
    uri: &Uri,
    signed_headers: &[String],
    payload: &str,
) -> Result<String, HbrError> {
    let mut names: Vec<&str> = signed_headers.iter().map(String::as_str).filter(|name| !name.is_empty()).collect();
    names.sort_unstable();
    names.dedup();
    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<&str> = headers.get_all(*name).iter().filter_map(|value| value.to_str().ok()).collect();
        let value = if !values.is_empty() {
            values.iter().map(|value| value.trim()).collect::<Vec<_>>().join(",")
        } else if *name == "host" {
            // Over HTTP/2 the host is the URI's authority, not a header.
            uri.authority().map(|authority| authority.as_str().to_owned()).unwrap_or_default()
        } else {
            tracing::info!(header = name, "HBR: a signed header is missing from the request");
            return Err(HbrError::signature_does_not_match());
        };
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    Ok(format!("{method}\n/\n{canonical_query}\n{canonical_headers}\n{}\n{payload}", names.join(";")))
}

/// Sorted `k=v` pairs, both percent-encoded, joined by `&` (V2).
fn canonical_query<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut encoded: Vec<(String, String)> = pairs.map(|(k, v)| (percent_encode(k), percent_encode(v))).collect();
    encoded.sort();
    encoded.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn verify_v2(hbr: &Hbr, now: Timestamp, method: &Method, query: Vec<(String, String)>) -> Result<Signed, HbrError> {
    let value = |name: &str| query.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let access_key_id = value("AccessKeyId").ok_or_else(|| HbrError::incomplete_signature("AccessKeyId is missing"))?;
    if value("SignatureMethod").as_deref() != Some("HMAC-SHA1") {
        return Err(HbrError::incomplete_signature("SignatureMethod must be HMAC-SHA1"));
    }
    let timestamp = value("Timestamp").ok_or_else(|| {
        HbrError::bad_request("MissingParameter", "The Timestamp parameter is mandatory for this request.")
    })?;
    let timestamp = parse_time(&timestamp)?;
    let signature = value("Signature").unwrap_or_default();
    let canonical =
        canonical_query(query.iter().filter(|(key, _)| key != "Signature").map(|(k, v)| (k.as_str(), v.as_str())));
    let string_to_sign = format!("{method}&{}&{}", percent_encode("/"), percent_encode(&canonical));
    let matches = |secret: &str| {
        base64_hmac_sha1_verifies(format!("{secret}&").as_bytes(), string_to_sign.as_bytes(), &signature)
    };
    check_secret(hbr, &access_key_id, matches, &string_to_sign)?;
    check_time(now, timestamp)?;
    Ok(Signed { access_key_id, action: value("Action"), version: value("Version"), query })
}

/// Tries the secrets `access_key_id` may use.
fn check_secret(hbr: &Hbr, access_key_id: &str, matches: impl Fn(&str) -> bool, signed: &str) -> Result<(), HbrError> {
    let pinned = hbr.pinned.iter().find(|key| key.id == access_key_id);
    let ok = match pinned {
        Some(key) => matches(&key.secret),
        None => hbr.secrets.iter().any(|secret| matches(secret)),
    };
    if ok {
        return Ok(());
    }
    // What the emulator signed, for whoever debugs a client (no secret in it).
    tracing::info!(access_key_id, signed, "HBR: signature does not match; the server signed this");
    if pinned.is_none() && !hbr.pinned.is_empty() {
        return Err(HbrError::access_key_not_found());
    }
    Err(HbrError::signature_does_not_match())
}

fn parse_time(text: &str) -> Result<Timestamp, HbrError> {
    Timestamp::parse_iso8601(text).ok_or_else(|| {
        HbrError::bad_request(
            "InvalidTimeStamp.Format",
            format!("Specified time stamp or date value is not well formatted: '{text}'."),
        )
    })
}

fn check_time(now: Timestamp, at: Timestamp) -> Result<(), HbrError> {
    if at < now.minus(CLOCK_SKEW) || at > now.plus(CLOCK_SKEW) {
        return Err(HbrError::bad_request(
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::signing::{base64, hmac_sha1, hmac_sha256};
    use crate::Config;

    fn hbr() -> Hbr {
        Hbr::new(&Config::new("s3cret"))
    }

    /// Signs as the tea-openapi SDK does; returns the headers.
    fn signed(secret: &str, date: &str, uri: &Uri) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        headers.insert("x-acs-action", "CreateTempFileUploadUrl".parse().unwrap());
        headers.insert("x-acs-version", "2017-09-08".parse().unwrap());
        headers.insert("x-acs-date", date.parse().unwrap());
        headers.insert("x-acs-signature-nonce", "n1".parse().unwrap());
        headers.insert("x-acs-content-sha256", hex::encode(Sha256::digest(b"")).parse().unwrap());
        let names: Vec<String> = {
            let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
            names.sort();
            names
        };
        let payload = hex::encode(Sha256::digest(b""));
        let canonical =
            canonical_request(&Method::POST, &raw_canonical_query(uri), &headers, uri, &names, &payload).unwrap();
        let sts = format!("{V3}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let signature = hex::encode(hmac_sha256(secret.as_bytes(), sts.as_bytes()));
        let authorization = format!("{V3} Credential=AK,SignedHeaders={},Signature={signature}", names.join(";"));
        headers.insert("authorization", authorization.parse().unwrap());
        headers
    }

    #[test]
    fn the_canonical_request_has_the_documented_shape() {
        let uri: Uri = "/hbr/?FileName=a%20b.txt&B=1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "h".parse().unwrap());
        headers.insert("x-acs-date", " 2024-01-01T00:00:00Z ".parse().unwrap());
        let names = vec!["x-acs-date".to_owned(), "host".to_owned()];
        let canonical =
            canonical_request(&Method::POST, &raw_canonical_query(&uri), &headers, &uri, &names, "e3b0").unwrap();
        assert_eq!(
            canonical,
            "POST\n/\nB=1&FileName=a%20b.txt\nhost:h\nx-acs-date:2024-01-01T00:00:00Z\n\nhost;x-acs-date\ne3b0"
        );
    }

    #[test]
    fn v3_signatures_are_verified() {
        let now = Clock::default().now();
        let uri: Uri = "/hbr/?FileName=file-list.txt".parse().unwrap();
        let date = now.iso8601(false);
        let headers = signed("s3cret", &date, &uri);
        let ok = verify(&hbr(), now, &Method::POST, &uri, &headers, b"").unwrap();
        assert_eq!(ok.access_key_id, "AK");
        assert_eq!(ok.action.as_deref(), Some("CreateTempFileUploadUrl"));

        let wrong = signed("other", &date, &uri);
        assert_eq!(verify(&hbr(), now, &Method::POST, &uri, &wrong, b"").unwrap_err().code(), "SignatureDoesNotMatch");
        let tampered: Uri = "/hbr/?FileName=other.txt".parse().unwrap();
        assert_eq!(
            verify(&hbr(), now, &Method::POST, &tampered, &headers, b"").unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            verify(&hbr(), now, &Method::POST, &uri, &headers, b"x").unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
        let old = now.minus(Duration::from_secs(16 * 60)).iso8601(false);
        let stale = signed("s3cret", &old, &uri);
        assert_eq!(
            verify(&hbr(), now, &Method::POST, &uri, &stale, b"").unwrap_err().code(),
            "InvalidTimeStamp.Expired"
        );
    }

    #[test]
    fn v3_verifies_the_query_as_it_arrived() {
        let now = Clock::default().now();
        let date = now.iso8601(false);
        let encoded: Uri = "/hbr/?FileName=a%20b%2B~%2A%C3%A9%25.txt".parse().unwrap();
        let ok = verify(&hbr(), now, &Method::POST, &encoded, &signed("s3cret", &date, &encoded), b"").unwrap();
        assert_eq!(ok.query, [("FileName".to_owned(), "a b+~*é%.txt".to_owned())]);
        // The same name form-encoded, whether the client signed the `+` or the `%20`.
        let form: Uri = "/hbr/?FileName=a+b%2B~%2A%C3%A9%25.txt".parse().unwrap();
        for headers in [signed("s3cret", &date, &form), signed("s3cret", &date, &encoded)] {
            let err = verify(&hbr(), now, &Method::POST, &form, &headers, b"").unwrap_err();
            assert_eq!(err.code(), "SignatureDoesNotMatch");
        }
        // Lowercase hex and a literal `*` are not how the signers write them either.
        for other in ["/hbr/?FileName=%c3%a9", "/hbr/?FileName=a*b"] {
            let uri: Uri = other.parse().unwrap();
            let err = verify(&hbr(), now, &Method::POST, &uri, &signed("s3cret", &date, &uri), b"").unwrap_err();
            assert_eq!(err.code(), "SignatureDoesNotMatch", "{other}");
        }
    }

    #[test]
    fn pinned_keys_use_their_own_secret() {
        let now = Clock::default().now();
        let uri: Uri = "/hbr/?FileName=f".parse().unwrap();
        let headers = signed("s3cret", &now.iso8601(false), &uri);
        let pinned_elsewhere = Hbr::new(&Config::new("s3cret").hbr_access_key("OTHER", "x"));
        assert!(verify(&pinned_elsewhere, now, &Method::POST, &uri, &headers, b"").is_ok(), "AK is not pinned");
        let pinned = Hbr::new(&Config::new("s3cret").hbr_access_key("AK", "pinned"));
        assert_eq!(
            verify(&pinned, now, &Method::POST, &uri, &headers, b"").unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
        let headers = signed("nope", &now.iso8601(false), &uri);
        assert_eq!(
            verify(&pinned_elsewhere, now, &Method::POST, &uri, &headers, b"").unwrap_err().code(),
            "InvalidAccessKeyId.NotFound"
        );
    }

    #[test]
    fn v2_query_signatures_are_verified() {
        let now = Clock::default().now();
        let mut params = vec![
            ("AccessKeyId", "AK".to_owned()),
            ("Action", "CreateTempFileUploadUrl".to_owned()),
            ("FileName", "a b.txt".to_owned()),
            ("Format", "json".to_owned()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureNonce", "n".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("Timestamp", now.iso8601(false)),
            ("Version", "2017-09-08".to_owned()),
        ];
        let canonical = canonical_query(params.iter().map(|(k, v)| (*k, v.as_str())));
        let sts = format!("POST&%2F&{}", percent_encode(&canonical));
        params.push(("Signature", base64(hmac_sha1(b"s3cret&", sts.as_bytes()))));
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
        let uri: Uri = format!("/hbr/?{}", query.join("&")).parse().unwrap();
        let ok = verify(&hbr(), now, &Method::POST, &uri, &HeaderMap::new(), b"").unwrap();
        assert_eq!(ok.action.as_deref(), Some("CreateTempFileUploadUrl"));
        let bad: Uri = format!("/hbr/?{}", query.join("&").replace("a%20b", "c")).parse().unwrap();
        assert_eq!(
            verify(&hbr(), now, &Method::POST, &bad, &HeaderMap::new(), b"").unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
    }
}
