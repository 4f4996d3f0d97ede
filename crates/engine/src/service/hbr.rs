//! Alibaba Cloud Backup (HBR) `CreateTempFileUploadUrl` (`../shared/spec/other-apis.md` §3),
//! signed ACS3-HMAC-SHA256 with an AccessKey pair, then an OSS PostObject form (§4) to the
//! bucket it names. The policy and its signature come from HBR and are sent as they are. The
//! storage answers with the object's MD5 as ETag, which is checked against ours.
//!
//! The form target is `https://{BucketName}.{Endpoint}/`, except that an `Endpoint` that is
//! already a URL (`http://…`, as our emulator answers) is the target itself.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use hmac::{Hmac, Mac};
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
use crate::transfer::form::{self, FilePart};
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
}

impl fmt::Debug for Hbr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hbr").field("base", &self.base.as_str()).field("key", &self.key).finish()
    }
}

impl Hbr {
    pub fn new(base_url: &str, secret: Secret) -> Result<Self> {
        let http = super::http_builder(Duration::from_secs(120))
            .build()
            .map_err(|e| Error::Setup(format!("HTTP client: {e}")))?;
        Ok(Hbr { base: parse_base_url(base_url)?, key: AccessKey::parse(&secret)?, http, timeout: super::API_TIMEOUT })
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
        let url = format!("{}/", self.base_url());
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
        let authorization = authorization(&self.key, "POST", query, &headers);
        let mut request = self.http.request(Method::POST, &url).query(query).timeout(self.timeout);
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
        serde_json::from_value(v).map_err(|e| Error::BadResponse(redact_text(&format!("CreateTempFileUploadUrl: {e}"))))
    }

    /// A signed URL to read a temp file back.
    pub async fn download_link(&self, temp_file_key: &str) -> Result<String> {
        let v = self.call("GetTempFileDownloadLink", &[("TempFileKey", temp_file_key)]).await?;
        v.get("Url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::BadResponse("GetTempFileDownloadLink without Url".into()))
    }

    /// POST the file to the form target. The storage's ETag (the object's MD5) must be ours.
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
        let (sent, etag) = form::post_file(&self.http, &target.url(), &fields, part, path, progress, limiter).await?;
        if let (Some(ours), Some(theirs)) = (&sent.md5, &etag) {
            if !crate::hash::same_md5(ours, theirs) {
                return Err(Error::ChecksumMismatch {
                    what: path.display().to_string(),
                    ours: ours.clone(),
                    theirs: theirs.clone(),
                });
            }
        }
        Ok(sent)
    }
}

/// HBR has nothing to finish: an upload is final once the storage has answered with our MD5.
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
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986 percent-encoding, as Alibaba's signers do (unreserved characters kept).
fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// The `Authorization` header of ACS3-HMAC-SHA256 over `headers` (all signed; lowercase names,
/// sorted) for `POST /` with `query` and an empty body.
fn authorization(key: &AccessKey, method: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> String {
    let mut query: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    query.sort();
    let canonical_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
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
        let auth = authorization(&key, "POST", &[("FileName", "a b.txt")], &headers);
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
    }
}
