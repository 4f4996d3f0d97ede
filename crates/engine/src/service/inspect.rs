//! Screening Eagle Inspect (`../shared/spec/other-apis.md` §2): ask for a presigned URL with the
//! file's name, size, media type and SHA-256 (base64 of the raw digest), PUT the bytes with
//! exactly that Content-Type within 15 minutes, then mark the file complete. A 200 to the ask
//! means the asset already holds these bytes: nothing is sent.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use url::Url;

use super::trusted_twin::parse_base_url;
use crate::bandwidth::Limiter;
use crate::credentials::Secret;
pub use crate::destination::AssetId;
use crate::doc::DocStatus;
use crate::error::{Error, Invalid, Result};
use crate::journal::{Job, Transfer};
use crate::service::upload_api::{
    epoch_now, live, remember, FinishCx, Finishing, Outcome, Prepared, Round, SendCx, UploadApi,
};
use crate::transfer::{self, network_error, ProgressFn, PutOptions, Sent};

/// The complete call's path when none is configured (decision D-S3); `{id}` is the file id.
pub const DEFAULT_COMPLETE_PATH: &str = "/api/inspect/v1/file/{id}/upload/complete";
/// A presigned URL's lifetime (documented).
pub const URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What the ask for a presigned URL answered.
#[derive(Clone, PartialEq, Eq)]
pub enum Presigned {
    /// 200: the asset has these bytes already (as file `id`).
    AlreadyUploaded { id: String },
    /// 201: PUT the bytes to `url`, then complete `id`. The URL is a credential: never log it.
    Upload { id: String, url: String },
}

impl fmt::Debug for Presigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Presigned::AlreadyUploaded { id } => write!(f, "AlreadyUploaded({id})"),
            Presigned::Upload { id, .. } => write!(f, "Upload({id}, …)"),
        }
    }
}

/// What a file is, as the ask describes it.
#[derive(Debug, Clone)]
pub struct FileFacts<'a> {
    pub name: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    /// Lowercase hex SHA-256.
    pub sha256: &'a str,
}

pub struct Inspect {
    base: Url,
    /// Carries the bearer token; presigned URLs go through `data`, which carries none.
    api: reqwest::Client,
    data: reqwest::Client,
    complete_path: String,
    timeout: Duration,
}

impl fmt::Debug for Inspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inspect").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl Inspect {
    pub fn new(base_url: &str, token: Secret) -> Result<Self> {
        let (api, data) = super::bearer_clients(&token, Duration::from_secs(120))?;
        Ok(Inspect {
            base: parse_base_url(base_url)?,
            api,
            data,
            complete_path: DEFAULT_COMPLETE_PATH.to_owned(),
            timeout: super::API_TIMEOUT,
        })
    }

    /// The longest one API call may take, answer included (default [`super::API_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The complete call's path, with `{id}` where the file id goes (the docs do not give it).
    pub fn with_complete_path(mut self, path: &str) -> Result<Self> {
        if !path.starts_with('/') || !path.contains("{id}") {
            return Err(Error::invalid(
                Invalid::Option,
                format!("complete path {path:?}: start with / and contain {{id}}"),
            ));
        }
        self.complete_path = path.to_owned();
        Ok(self)
    }

    pub fn base_url(&self) -> &str {
        super::base_str(&self.base)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<(StatusCode, Value)> {
        let shown = format!("{method} {path}");
        let request = self.api.request(method, self.url(path)).timeout(self.timeout);
        let request = match body {
            Some(body) => request.json(&body),
            None => request.header(reqwest::header::CONTENT_LENGTH, 0),
        };
        let response = request.send().await.map_err(|e| network_error(self.base_url().to_owned(), e))?;
        let status = response.status();
        let retry_after = super::retry_after(response.headers());
        let text = super::read_body(response, super::ANSWER_LIMIT, self.base_url()).await?;
        let parsed = serde_json::from_str::<Value>(&text);
        if status.is_success() {
            // An empty success is taken (the docs do not show every answer); a garbled one is not,
            // since it may stand for a request that never ran.
            return match parsed {
                Ok(value) => Ok((status, value)),
                Err(_) if text.trim().is_empty() => Ok((status, Value::Null)),
                Err(_) => Err(Error::BadResponse(format!("{shown} answered {status} with a body that is not JSON"))),
            };
        }
        let value = parsed.unwrap_or(Value::Null);
        let word = value.get("error").and_then(Value::as_str).unwrap_or("");
        let text = value.get("errorDescription").and_then(Value::as_str).unwrap_or("");
        let detail = match (word.is_empty(), text.is_empty()) {
            (true, true) => format!("{shown}: HTTP {status}"),
            (_, true) => format!("{word}: {shown}"),
            (true, false) => text.to_owned(),
            (false, false) => format!("{word}: {text}"),
        };
        Err(super::status_error(status, detail, retry_after))
    }

    /// Check the token with the one call Inspect publishes, asked something it must refuse: a
    /// presigned-URL request naming only the asset. A service that authenticates before it
    /// validates (the order its error list gives: 400, 401, 403, 404) answers 401/403 to a bad
    /// token, 404 to an asset it cannot see, and 400 to a good token; nothing is created,
    /// since the file's facts are missing. Whether the real service checks in that order is not
    /// published, so a 400 is "accepted", not proof: the first upload proves the token.
    pub async fn check_token(&self, asset: &AssetId) -> Result<()> {
        let probe = json!({ "assetID": asset.as_str() });
        match self.call(Method::POST, "/api/inspect/v1/file/upload/presigned", Some(probe)).await {
            Ok(_) | Err(Error::Rejected { status: 400, .. }) => Ok(()),
            Err(Error::NotFound(detail)) => {
                Err(Error::NotFound(format!("asset {asset}: not found, or this token may not see it ({detail})")))
            }
            Err(e) => Err(e),
        }
    }

    /// Ask for a presigned URL for `file` in `asset`.
    pub async fn presign(&self, asset: &AssetId, file: &FileFacts<'_>) -> Result<Presigned> {
        let raw =
            hex::decode(file.sha256).map_err(|_| Error::Internal(format!("{:?} is not a hex SHA-256", file.sha256)))?;
        let body = json!({
            "assetID": asset.as_str(),
            "contentType": file.content_type,
            "hash": base64::engine::general_purpose::STANDARD.encode(raw),
            "name": file.name,
            "size": file.size,
        });
        let (status, v) = self.call(Method::POST, "/api/inspect/v1/file/upload/presigned", Some(body)).await?;
        let id = v.pointer("/data/id").and_then(Value::as_str).map(str::to_owned);
        let url = v.pointer("/data/presignedURL").and_then(Value::as_str).map(str::to_owned);
        match (status, id, url) {
            (StatusCode::OK, Some(id), _) => Ok(Presigned::AlreadyUploaded { id }),
            (StatusCode::CREATED, Some(id), Some(url)) => Ok(Presigned::Upload { id, url }),
            (status, _, _) => {
                Err(Error::BadResponse(format!("presigned upload answered {status} without data.id/presignedURL")))
            }
        }
    }

    /// PUT the file with exactly the Content-Type the URL was signed for. A storage answer
    /// that the bytes do not match the declared hash becomes `verify.checksum_mismatch` (the
    /// file changed since it was hashed: hash again and ask again).
    pub async fn put(
        &self,
        url: &str,
        path: &Path,
        content_type: &str,
        progress: ProgressFn,
        limiter: Option<Arc<Limiter>>,
    ) -> Result<Sent> {
        let opts = PutOptions { md5: false, content_type: Some(content_type), require_etag: true };
        match transfer::put_file(&self.data, url, path, progress, limiter, opts).await {
            Err(Error::UploadRejected { status: 400, message }) if message.starts_with("BadDigest") => {
                Err(Error::ChecksumMismatch {
                    what: path.display().to_string(),
                    ours: "the hash asked with".into(),
                    theirs: message,
                })
            }
            other => other,
        }
    }

    /// Mark file `id` as fully uploaded. Idempotent, so a repeat after a lost answer is safe.
    pub async fn complete(&self, id: &str) -> Result<()> {
        let segment: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        self.call(Method::POST, &self.complete_path.replace("{id}", &segment), None).await.map(|_| ())
    }
}

impl UploadApi for Inspect {
    /// The ask names the file's SHA-256, so the file is read once before it is sent, and its
    /// media type, because the URL is signed for it. An answer that the asset holds these bytes
    /// already is dedupe-before-send: nothing goes, nothing is completed.
    fn target<'a>(&'a self, job: &'a mut Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Prepared>> {
        async move {
            if job.upload_url.is_some() && job.upload_id.is_some() && live(job.url_valid_until) {
                return Ok(Prepared::Send { signed_for: None });
            }
            let content_type = crate::media_type::detect(&job.path)?;
            let (sha256, size) = crate::hash::sha256_file(&job.path).await?;
            let asset = job.destination.asset()?.clone();
            let facts = FileFacts { name: job.doc_name.as_str(), size, content_type: &content_type, sha256: &sha256 };
            match self.presign(&asset, &facts).await? {
                Presigned::AlreadyUploaded { id } => {
                    remember(cx.journal, job, &id, "", 0.0, Some(Transfer::AlreadyThere), None)?;
                    Ok(Prepared::AlreadyThere(Sent { sha256, size, ..Sent::default() }))
                }
                Presigned::Upload { id, url } => {
                    let until = epoch_now() + URL_LIFETIME.as_secs_f64();
                    remember(cx.journal, job, &id, &url, until, Some(Transfer::Put), None)?;
                    Ok(Prepared::Send { signed_for: Some(sha256) })
                }
            }
        }
        .boxed()
    }

    fn send<'a>(&'a self, job: &'a Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Sent>> {
        async move {
            // The same media type the URL was signed for: found the same way every time.
            let content_type = crate::media_type::detect(&job.path)?;
            let url = job.upload_url.as_deref().unwrap_or_default();
            self.put(url, &job.path, &content_type, cx.progress.clone(), cx.bwlimit.clone()).await
        }
        .boxed()
    }

    fn finishing(&self) -> Option<&dyn Finishing> {
        Some(self)
    }

    fn holdings(&self) -> std::result::Result<&dyn crate::service::holdings::Holdings, &'static str> {
        Err("Inspect's API has no call that reads a file or its hash back: Inspect checked each file's \
             SHA-256 when its upload completed (the presigned URL is signed for it), and that cannot be \
             asked again later")
    }
}

/// Complete calls in flight at once.
const COMPLETES_IN_FLIGHT: usize = 8;

/// Finishing is one complete call per file (idempotent, so one whose answer was lost is simply
/// made again); a batch is only the files whose calls go together.
impl Finishing for Inspect {
    fn max_batch(&self, cx: &FinishCx<'_>) -> usize {
        cx.batch.max(COMPLETES_IN_FLIGHT)
    }

    fn send<'a>(&'a self, batch: Vec<Job>, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        async move {
            let outcomes = futures_util::stream::iter(batch)
                .map(|job| async move {
                    let outcome = match self.complete_job(&job, cx).await {
                        Ok(()) => Outcome::Done(DocStatus::Ok),
                        Err(e) => Outcome::failed(e),
                    };
                    (job, outcome)
                })
                .buffer_unordered(COMPLETES_IN_FLIGHT)
                .collect()
                .await;
            Round { outcomes, doubt: None }
        }
        .boxed()
    }

    fn in_doubt<'a>(&'a self, job: Job, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        Finishing::send(self, vec![job], cx)
    }
}

impl Inspect {
    async fn complete_job(&self, job: &Job, cx: &FinishCx<'_>) -> Result<()> {
        if job.transfer == Some(Transfer::AlreadyThere) {
            return Ok(());
        }
        let id =
            job.upload_id.as_deref().filter(|h| !h.is_empty()).ok_or_else(|| {
                Error::Journal(format!("job {} is marked uploaded but has no file id on record", job.id))
            })?;
        // Intent first, for `twindrop status`; repeating the call is harmless.
        cx.journal.mark_attach_sent(&[job.id])?;
        crate::retry::retry(cx.retry, || self.complete(id), |_, _| {}).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_ids_are_uuids_and_complete_paths_name_the_id() {
        assert_eq!(
            AssetId::parse(" 3FA85F64-5717-4562-B3FC-2C963F66AFA6 ").unwrap().as_str(),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        );
        assert_eq!(AssetId::parse("nope").unwrap_err().code(), "destination.invalid");
        let i = Inspect::new("https://h:1/", Secret::new("t")).unwrap();
        assert_eq!(i.complete_path, DEFAULT_COMPLETE_PATH);
        assert!(Inspect::new("https://h:1/", Secret::new("t")).unwrap().with_complete_path("/files/complete").is_err());
        let i = i.with_complete_path("/api/v2/files/{id}/done").unwrap();
        assert_eq!(i.url(&i.complete_path.replace("{id}", "x")), "https://h:1/api/v2/files/x/done");
    }
}
