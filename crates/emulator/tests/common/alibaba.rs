//! Speaking Alibaba to the emulator the way the official clients do, written from the spec and
//! not from the emulator's code: an HBR call signed ACS3 (V3), an OSS PostObject form built by
//! hand, OSS's XML errors, CRC-64/XZ.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use twindrop_emulator::FaultPlan;

use super::{Harness, SECRET};
pub const BUCKET: &str = "hbr-temp-bucket";
/// The OSS key pair of the tests that sign their own policies.
pub const OSS_ID: &str = "LTAItestkeyid";
pub const OSS_SECRET: &str = "test-secret";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn plan(value: Value) -> FaultPlan {
    serde_json::from_value(value).expect("a valid plan")
}

/// RFC 3986, as Alibaba signs.
pub fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `YYYY-MM-DDThh:mm:ssZ` of a Unix time.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let s = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub fn hmac_sha256_hex(key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn hmac_sha1_b64(key: &str, message: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    b64(mac.finalize().into_bytes())
}

/// One HBR call as tea-openapi 0.4.6 signs it (V3), written here from the spec, not from the
/// emulator's code.
pub struct Call<'a> {
    pub action: &'a str,
    pub query: Vec<(&'a str, String)>,
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub date: String,
    /// The query to send, when it is not the canonical one that is signed (what a client that
    /// form-encodes its query sends).
    pub wire_query: Option<String>,
    /// A query written by hand, signed and sent as it is.
    pub raw_query: Option<String>,
}

impl<'a> Call<'a> {
    pub fn new(action: &'a str, query: &[(&'a str, &str)]) -> Call<'a> {
        Call {
            action,
            query: query.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            access_key_id: "LTAI5tEmulatorUser",
            secret: SECRET,
            date: utc(now_secs()),
            wire_query: None,
            raw_query: None,
        }
    }

    /// Signs and sends `raw` as the query, byte for byte, whatever its encoding.
    pub fn signing_wire(mut self, raw: &str) -> Self {
        self.raw_query = Some(raw.to_owned());
        self
    }

    pub async fn send(&self, h: &Harness) -> (StatusCode, Value) {
        let host = h.emulator.base_url().trim_start_matches("http://").to_owned();
        let mut sorted: Vec<(String, String)> = self.query.iter().map(|(k, v)| (enc(k), enc(v))).collect();
        sorted.sort();
        let query = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let query = self.raw_query.clone().unwrap_or(query);
        let payload = hex::encode(Sha256::digest(b""));
        let headers = [
            ("accept", "application/json".to_owned()),
            ("host", host),
            ("x-acs-action", self.action.to_owned()),
            ("x-acs-content-sha256", payload.clone()),
            ("x-acs-date", self.date.clone()),
            ("x-acs-signature-nonce", uuid::Uuid::new_v4().to_string()),
            ("x-acs-version", "2017-09-08".to_owned()),
        ];
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed_headers = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
        let canonical = format!("POST\n/\n{query}\n{canonical_headers}\n{signed_headers}\n{payload}");
        let string_to_sign = format!("ACS3-HMAC-SHA256\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let signature = hmac_sha256_hex(self.secret, &string_to_sign);
        let wire = self.wire_query.as_deref().unwrap_or(&query);
        let mut request = h.client.post(h.url(&format!("/hbr/?{wire}"))).header(
            "Authorization",
            format!(
                "ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed_headers},Signature={signature}",
                self.access_key_id
            ),
        );
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}")))
    }
}

pub async fn create_url(h: &Harness, file_name: &str) -> Value {
    let (status, body) = Call::new("CreateTempFileUploadUrl", &[("FileName", file_name)]).send(h).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn download_link(h: &Harness, key: &str) -> String {
    let (status, body) = Call::new("GetTempFileDownloadLink", &[("TempFileKey", key)]).send(h).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Code"], "200");
    assert_eq!(body["Success"], true);
    body["Url"].as_str().unwrap().to_owned()
}

/// A `multipart/form-data` body, built by hand so that field order and names are exact.
#[derive(Default)]
pub struct Form {
    pub body: Vec<u8>,
}

pub const BOUNDARY: &str = "----twindrop-test-boundary-7MA4YWxkTrZu0gW";

impl Form {
    pub fn field(mut self, name: &str, value: &str) -> Form {
        let part = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        self.body.extend_from_slice(part.as_bytes());
        self
    }

    pub fn file(mut self, name: &str, bytes: &[u8]) -> Form {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The HBR answer's fields, as a client maps them (spec §4).
    pub fn from_hbr(answer: &Value) -> Form {
        Form::default()
            .field("key", answer["TempFileKey"].as_str().unwrap())
            .field("OSSAccessKeyId", answer["OssAccessKeyId"].as_str().unwrap())
            .field("policy", answer["Policy"].as_str().unwrap())
            .field("Signature", answer["Signature"].as_str().unwrap())
    }

    pub async fn post(self, h: &Harness, target: &str) -> Response {
        self.post_with(&h.client, target).await
    }

    pub async fn post_with(mut self, client: &reqwest::Client, target: &str) -> Response {
        self.body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        client
            .post(target)
            .header("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(self.body)
            .send()
            .await
            .unwrap()
    }
}

/// The OSS error code of an XML answer, checking the headers every OSS error carries.
pub async fn oss_error(response: Response) -> (StatusCode, String, String) {
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/xml");
    assert_eq!(response.headers()["server"], "AliyunOSS");
    assert_eq!(response.headers()["x-oss-request-id"].len(), 24);
    let text = response.text().await.unwrap();
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        text.split(&open).nth(1).and_then(|rest| rest.split(&close).next()).unwrap_or_default().to_owned()
    };
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{text}");
    assert!(!tag("RequestId").is_empty(), "{text}");
    (status, tag("Code"), tag("Message"))
}

pub fn crc64_xz(bytes: &[u8]) -> u64 {
    // Bitwise CRC-64/XZ, written out here to check the emulator's table-driven one.
    let mut crc = u64::MAX;
    for &byte in bytes {
        crc ^= u64::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xC96C_5795_D787_0F42 } else { crc >> 1 };
        }
    }
    !crc
}

pub fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}
