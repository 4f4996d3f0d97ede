//! Alibaba Cloud Backup (HBR) `CreateTempFileUploadUrl` (`../shared/spec/other-apis.md` §3),
//! signed ACS3-HMAC-SHA256 with an AccessKey pair, then an OSS PostObject form (§4) to the
//! bucket it names. The policy and its signature come from HBR and are sent as they are.
//!
//! The query is written once, RFC 3986-encoded, and that one string is both signed and sent. A
//! form-encoded query (`+` for a space) next to a signature over `%20` holds only if the server
//! decodes `+` as a space; the official Python SDK relies on that, issue 17 says Alibaba does not.
//! Sending what was signed matches under either reading (docs/fidelity.md).
//!
//! The form target is `https://{BucketName}.{Endpoint}/` ([`FormTarget::url`]). The storage's
//! answer is held against what we sent: its CRC-64 first, else an ETag that is an MD5; with
//! neither the job ends `unverified` ([`confirm`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::trusted_twin::parse_base_url;
use crate::bandwidth::Limiter;
use crate::credentials::Secret;
use crate::error::{Error, Invalid, Result};
use crate::journal::{Job, Transfer};
use crate::redact::redact_text;
use crate::service::upload_api::{live, remember, Prepared, SendCx, UploadApi};
pub use crate::transfer::form::FormTarget;
use crate::transfer::form::{self, FilePart, Stored};
use crate::transfer::{network_error, ProgressFn, Sent};

pub const DEFAULT_BASE_URL: &str = "https://hbr.cn-hangzhou.aliyuncs.com";
const VERSION: &str = "2017-09-08";

/// An AccessKey pair, kept in the keyring as one secret `ACCESS_KEY_ID:ACCESS_KEY_SECRET`.
#[derive(Clone)]
pub struct AccessKey {
    pub id: String,
    secret: Secret,
}

impl AccessKey {
    pub fn parse(secret: &Secret) -> Result<Self> {
        let (id, key) = secret
            .expose()
            .split_once(':')
            .filter(|(id, key)| !id.is_empty() && !key.is_empty())
            .ok_or_else(|| Error::invalid(Invalid::Secret, "an HBR secret is ACCESS_KEY_ID:ACCESS_KEY_SECRET"))?;
        Ok(AccessKey { id: id.to_owned(), secret: Secret::new(key) })
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey").field("id", &self.id).finish_non_exhaustive()
    }
}

pub struct Hbr {
    base: Url,
    key: AccessKey,
    http: reqwest::Client,
    timeout: Duration,
    /// Host names pinned to an address ([`Hbr::resolving`]), kept to rebuild the client with.
    pinned: Vec<(String, SocketAddr)>,
}

impl fmt::Debug for Hbr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hbr").field("base", &self.base.as_str()).field("key", &self.key).finish()
    }
}

impl Hbr {
    pub fn new(base_url: &str, secret: Secret) -> Result<Self> {
        Ok(Hbr {
            base: parse_base_url(base_url)?,
            key: AccessKey::parse(&secret)?,
            http: client(&[])?,
            timeout: super::API_TIMEOUT,
            pinned: Vec::new(),
        })
    }

    /// For tests: connect to `addr` whenever a URL names `host`, instead of asking DNS. An
    /// emulator that answers a real-looking OSS `Endpoint` is then reached, on its own port, as
    /// the virtual-hosted `{bucket}.{endpoint}` the client builds. The app and the CLI never
    /// call it.
    pub fn resolving(mut self, host: &str, addr: SocketAddr) -> Result<Self> {
        self.pinned.push((host.to_owned(), addr));
        self.http = client(&self.pinned)?;
        Ok(self)
    }

    /// The longest one API call may take, answer included (default [`super::API_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn base_url(&self) -> &str {
        super::base_str(&self.base)
    }

    /// One signed RPC call (`POST /?query`, empty body).
    async fn call(&self, action: &str, query: &[(&str, &str)]) -> Result<Value> {
        let query = canonical_query(query);
        let url = match query.as_str() {
            "" => format!("{}/", self.base_url()),
            q => format!("{}/?{q}", self.base_url()),
        };
        let host = match self.base.port() {
            Some(port) => format!("{}:{port}", self.base.host_str().unwrap_or_default()),
            None => self.base.host_str().unwrap_or_default().to_owned(),
        };
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let headers = [
            ("host", host.as_str()),
            ("x-acs-action", action),
            ("x-acs-content-sha256", EMPTY_SHA256),
            ("x-acs-date", date.as_str()),
            ("x-acs-signature-nonce", nonce.as_str()),
            ("x-acs-version", VERSION),
        ];
        let authorization = authorization(&self.key, "POST", &query, &headers);
        let mut request = self.http.request(Method::POST, &url).timeout(self.timeout);
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
            request = request.header(*name, *value);
        }
        let response = request
            .header("accept", "application/json")
            .header("authorization", authorization)
            .header(reqwest::header::CONTENT_LENGTH, 0)
            .send()
            .await
            .map_err(|e| network_error(self.base_url().to_owned(), e))?;
        let status = response.status();
        let retry_after = super::retry_after(response.headers());
        let text = super::read_body(response, super::ANSWER_LIMIT, self.base_url()).await?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let field =
            |a: &str, b: &str| value.get(a).or_else(|| value.get(b)).and_then(Value::as_str).unwrap_or("").to_owned();
        if status.is_success() && value.get("Success").and_then(Value::as_bool) != Some(false) {
            return Ok(value);
        }
        let (code, message) = (field("Code", "code"), field("Message", "message"));
        // A wrong AccessKey secret is 400 SignatureDoesNotMatch, an unknown AccessKey ID 404
        // InvalidAccessKeyId.NotFound: both say the credentials are wrong, as a 401 would.
        let wrong_key = code == "SignatureDoesNotMatch" || code.starts_with("InvalidAccessKeyId");
        let detail = format!("{action}: {} {}", if code.is_empty() { status.to_string() } else { code }, message);
        if wrong_key {
            return Err(Error::Unauthorized(redact_text(detail.trim())));
        }
        let status = if status.is_success() { StatusCode::BAD_REQUEST } else { status };
        Err(super::status_error(status, detail.trim().to_owned(), retry_after))
    }

    /// Who signs: the AccessKey ID (not secret; Alibaba's consoles show it).
    pub fn access_key_id(&self) -> &str {
        &self.key.id
    }

    /// A form target for one file.
    pub async fn create_temp_file_upload_url(&self, file_name: &str) -> Result<FormTarget> {
        let v = self.call("CreateTempFileUploadUrl", &[("FileName", file_name)]).await?;
        let target: FormTarget = serde_json::from_value(v)
            .map_err(|e| Error::BadResponse(redact_text(&format!("CreateTempFileUploadUrl: {e}"))))?;
        target.check()?;
        Ok(target)
    }

    /// A signed URL to read a temp file back.
    pub async fn download_link(&self, temp_file_key: &str) -> Result<String> {
        let v = self.call("GetTempFileDownloadLink", &[("TempFileKey", temp_file_key)]).await?;
        v.get("Url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::BadResponse("GetTempFileDownloadLink without Url".into()))
    }

    /// POST the file to the form target, then hold the storage's answer against what was sent
    /// ([`confirm`]).
    pub async fn upload(
        &self,
        target: &FormTarget,
        path: &Path,
        content_type: &str,
        progress: ProgressFn,
        limiter: Option<Arc<Limiter>>,
    ) -> Result<Sent> {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let fields = [
            ("key", target.temp_file_key.as_str()),
            ("OSSAccessKeyId", target.oss_access_key_id.as_str()),
            ("policy", target.policy.as_str()),
            ("Signature", target.signature.as_str()),
            ("success_action_status", "200"),
        ];
        let part = FilePart { file_name: &file_name, content_type };
        let (sent, stored) = form::post_file(&self.http, &target.url(), &fields, part, path, progress, limiter).await?;
        confirm(path, sent, &stored)
    }
}

/// Holds the storage's word about the object against what was sent. OSS answers every upload
/// with `x-oss-hash-crc64ecma`, so that comes first, and then the ETag is not looked at (an
/// encrypted or otherwise special object may have a 32-hex ETag that is no MD5). Without it, an
/// ETag of 32 hex digits is taken for the MD5; any other ETag (OSS gives other forms to some
/// uploads) is no checksum, and failing the upload for it would fail a good upload. A mismatch
/// is `verify.checksum_mismatch`. With no checksum at all the bytes are delivered but nobody
/// vouches for them: the job ends `unverified`, not `ok` (docs/fidelity.md).
fn confirm(path: &Path, mut sent: Sent, stored: &Stored) -> Result<Sent> {
    let what = || path.display().to_string();
    if let (Some(theirs), Some(ours)) = (&stored.crc64, sent.crc64) {
        let parsed: u64 = theirs
            .parse()
            .map_err(|_| Error::BadResponse(format!("{}: x-oss-hash-crc64ecma {theirs:?} is not a number", what())))?;
        if parsed != ours {
            return Err(Error::ChecksumMismatch {
                what: what(),
                ours: format!("CRC-64 {ours}"),
                theirs: format!("CRC-64 {parsed}"),
            });
        }
        return Ok(sent);
    }
    let md5 = stored.etag.as_deref().filter(|e| e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit()));
    match (&sent.md5, md5) {
        (Some(ours), Some(theirs)) if !crate::hash::same_md5(ours, theirs) => Err(Error::ChecksumMismatch {
            what: what(),
            ours: format!("MD5 {}", crate::hash::md5_hex(ours)),
            theirs: format!("MD5 {}", theirs.to_ascii_lowercase()),
        }),
        (Some(_), Some(_)) => Ok(sent),
        _ => {
            tracing::warn!(path = %what(), etag = ?stored.etag, "the storage confirmed no checksum: unverified");
            sent.unverified = true;
            Ok(sent)
        }
    }
}

/// HBR has nothing to finish: an upload is final once the storage has answered.
impl UploadApi for Hbr {
    /// The answer is journaled whole (the form needs all of it).
    fn target<'a>(&'a self, job: &'a mut Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Prepared>> {
        async move {
            if job.form_target.is_none() || job.upload_url.is_none() || !live(job.url_valid_until) {
                let target = self.create_temp_file_upload_url(job.doc_name.as_str()).await?;
                let (key, url, until) = (target.temp_file_key.clone(), target.url(), target.expire_time as f64);
                remember(cx.journal, job, &key, &url, until, Some(Transfer::Form), Some(&target))?;
            }
            Ok(Prepared::Send { signed_for: None })
        }
        .boxed()
    }

    fn send<'a>(&'a self, job: &'a Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Sent>> {
        async move {
            let target = job
                .form_target
                .as_ref()
                .ok_or_else(|| Error::Journal(format!("job {} has no form target on record", job.id)))?;
            let content_type = crate::media_type::detect(&job.path)?;
            self.upload(target, &job.path, &content_type, cx.progress.clone(), cx.bwlimit.clone()).await
        }
        .boxed()
    }

    fn holdings(&self) -> std::result::Result<&dyn crate::service::holdings::Holdings, &'static str> {
        Err("HBR's temporary files cannot be read back: no call lists them or their hash, and they are \
             kept only until a backup job takes them. Each upload was checked when it was sent (OSS \
             answered with our CRC-64 or MD5)")
    }
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The request's HTTP client; `pinned` names resolve to their address (tests only).
fn client(pinned: &[(String, SocketAddr)]) -> Result<reqwest::Client> {
    pinned
        .iter()
        .fold(super::http_builder(Duration::from_secs(120)), |builder, (host, addr)| builder.resolve(host, *addr))
        .build()
        .map_err(|e| Error::Setup(format!("HTTP client: {e}")))
}

/// RFC 3986 percent-encoding, as Alibaba's signers do: `A-Za-z0-9-_.~` kept, every other byte
/// of the UTF-8 `%XX` in uppercase hex (a space is `%20`, never `+`).
fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// The canonical query of ACS3: `k=v` pairs, both encoded, sorted, joined by `&`. It is also the
/// query sent, byte for byte.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut query: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    query.sort();
    query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The `Authorization` header of ACS3-HMAC-SHA256 over `headers` (all signed; lowercase names,
/// sorted) for `POST /` with the canonical query `canonical_query` and an empty body.
fn authorization(key: &AccessKey, method: &str, canonical_query: &str, headers: &[(&str, &str)]) -> String {
    let mut headers: Vec<(String, &str)> = headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.trim())).collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let canonical = format!("{method}\n/\n{canonical_query}\n{canonical_headers}\n{signed}\n{EMPTY_SHA256}");
    let to_sign = format!("ACS3-HMAC-SHA256\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let mut mac = Hmac::<Sha256>::new_from_slice(key.secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    format!("ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={signature}", key.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_are_id_colon_secret_and_never_print_the_secret() {
        let key = AccessKey::parse(&Secret::new("LTAIabc:s3cr:et")).unwrap();
        assert_eq!((key.id.as_str(), key.secret.expose()), ("LTAIabc", "s3cr:et"));
        assert!(!format!("{key:?}").contains("s3cr"));
        for bad in ["nocolon", ":x", "x:"] {
            assert_eq!(AccessKey::parse(&Secret::new(bad)).unwrap_err().code(), "secret.invalid");
        }
    }

    #[test]
    fn signing_follows_acs3() {
        assert_eq!(encode("a b/ü~*"), "a%20b%2F%C3%BC~%2A");
        let key = AccessKey::parse(&Secret::new("id:secret")).unwrap();
        let headers = [("x-acs-date", "2024-01-01T00:00:00Z"), ("host", "h"), ("x-acs-action", "A")];
        let auth = authorization(&key, "POST", &canonical_query(&[("FileName", "a b.txt")]), &headers);
        assert!(
            auth.starts_with("ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-action;x-acs-date,Signature=")
        );
        // Independently: the canonical request written out by hand.
        let canonical = format!(
            "POST\n/\nFileName=a%20b.txt\nhost:h\nx-acs-action:A\nx-acs-date:2024-01-01T00:00:00Z\n\nhost;x-acs-action;x-acs-date\n{EMPTY_SHA256}"
        );
        let to_sign = format!("ACS3-HMAC-SHA256\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(to_sign.as_bytes());
        assert!(auth.ends_with(&hex::encode(mac.finalize().into_bytes())));
    }

    #[test]
    fn form_targets_follow_the_endpoint() {
        let mut t = FormTarget {
            endpoint: "oss-cn-shenzhen.aliyuncs.com".into(),
            bucket_name: "hbr-temp-bucket".into(),
            temp_file_key: "temp/1/k".into(),
            oss_access_key_id: "LTAI".into(),
            policy: "eyJ9".into(),
            signature: "sig".into(),
            expire_time: 5,
        };
        assert_eq!(t.url(), "https://hbr-temp-bucket.oss-cn-shenzhen.aliyuncs.com/");
        assert_eq!(FormTarget::from_journal(&t.to_journal()).unwrap().temp_file_key, "temp/1/k");
        t.endpoint = "http://127.0.0.1:9/__oss/hbr-temp-bucket".into();
        assert_eq!(t.url(), "http://127.0.0.1:9/__oss/hbr-temp-bucket");
        // A host on this machine speaks plain HTTP; one that only looks local does not.
        t.endpoint = "oss-cn-emulator.localhost".into();
        assert_eq!(t.url(), "http://hbr-temp-bucket.oss-cn-emulator.localhost/");
        assert!(crate::transfer::check_url(&t.url()).is_ok() && t.check().is_ok());
        t.endpoint = "localhost.example.com".into();
        assert_eq!(t.url(), "https://hbr-temp-bucket.localhost.example.com/");
        for bad in ["evil.com/path", "evil.com?x=", "user@evil.com", "evil.com#x", ""] {
            t.endpoint = bad.into();
            assert_eq!(t.check().unwrap_err().code(), "server.bad_response", "{bad}");
        }
        t.endpoint = "oss-cn-shenzhen.aliyuncs.com".into();
        t.bucket_name = "a.b".into();
        assert!(t.check().is_err(), "a dot in the bucket makes {{bucket}}.{{endpoint}} ambiguous");
    }

    #[test]
    fn the_query_sent_is_the_one_signed() {
        assert_eq!(
            canonical_query(&[("FileName", "a b+c~d*é%.txt"), ("Action", "x")]),
            "Action=x&FileName=a%20b%2Bc~d%2A%C3%A9%25.txt"
        );
        assert_eq!(canonical_query(&[]), "");
    }

    fn sent(bytes: &[u8]) -> Sent {
        let mut h = crate::hash::Sha256Stream::with(crate::hash::Also { md5: true, crc64: true });
        h.update(bytes);
        let (size, crc64) = (h.len(), h.crc64());
        let (sha256, md5) = h.finish();
        Sent { sha256, size, md5, crc64, unverified: false }
    }

    #[test]
    fn the_crc_comes_first_then_an_md5_etag_and_else_the_bytes_are_unverified() {
        let path = Path::new("f.txt");
        let stored = |etag: Option<&str>, crc64: Option<&str>| Stored {
            etag: etag.map(str::to_owned),
            crc64: crc64.map(str::to_owned),
        };
        let (crc, md5) = ("2186167744391481992", "120EA8A25E5D487BF68B5F7096440019");
        let ok = |s: Stored| confirm(path, sent(b"This is a test."), &s).unwrap();
        let err = |s: Stored| confirm(path, sent(b"This is a test."), &s).unwrap_err();
        assert!(!ok(stored(Some(md5), Some(crc))).unverified);
        assert!(!ok(stored(Some("5B0F9D6B-2A4C-4F4E-9C55-0B1C43E1E0AF"), Some(crc))).unverified, "ETag no MD5");
        assert!(!ok(stored(Some("00000000000000000000000000000000"), Some(crc))).unverified, "the CRC decides");
        assert!(!ok(stored(Some(&md5.to_lowercase()), None)).unverified, "the MD5 ETag, without a CRC");
        assert!(ok(stored(None, None)).unverified);
        assert!(ok(stored(Some("3858f62230ac3c915f300c664312c63f-2"), None)).unverified, "a multipart ETag");
        let e = err(stored(Some(md5), Some("1")));
        assert_eq!(e.code(), "verify.checksum_mismatch");
        assert!(e.to_string().contains(&format!("theirs: CRC-64 1; ours: CRC-64 {crc}")), "{e}");
        let e = err(stored(Some("00000000000000000000000000000000"), None));
        assert_eq!(e.code(), "verify.checksum_mismatch");
        assert!(e.to_string().contains(&format!("ours: MD5 {}", md5.to_lowercase())), "{e}");
        assert_eq!(err(stored(None, Some("x1"))).code(), "server.bad_response");
    }
}
