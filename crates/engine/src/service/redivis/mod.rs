//! Redivis (`../shared/spec/other-apis.md` §1): `POST /tables/{ref}/tempUploads` hands out upload
//! targets in batches, the bytes go by one PUT or by a resumable session (the GCS protocol in
//! `transfer::resumable`), and `POST /tables/{ref}/rawFiles` turns finished temp uploads into
//! files of a file-index table. Every call carries `Authorization: Bearer <token>`, including
//! PUTs to a temp-upload URL on the API's own host; a URL on any other host gets no token.

mod finish;

pub use finish::with_suffix;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use crate::bandwidth::Limiter;
use crate::credentials::Secret;
pub use crate::destination::TableRef;
use crate::error::{Error, Result};
use crate::journal::{Job, Journal, Target, Transfer};
use crate::redact::redact_text;
use crate::service::trusted_twin::parse_base_url;
use crate::transfer::{self, network_error, resumable, ProgressFn, Sent};

pub const DEFAULT_BASE_URL: &str = "https://redivis.com/api/v1";
/// The official client's limits: at most this many items per tempUploads or rawFiles call.
pub const BATCH_LIMIT: usize = 1000;
/// Above this size a temp upload is asked for as resumable (the official client's `add_files`).
pub const RESUMABLE_ABOVE: u64 = 50_000_000;
/// Temp uploads live 24 h (D-R6). A target is used up to an hour before that; later, a new
/// one is asked for.
pub const TARGET_LIFETIME: Duration = Duration::from_secs(23 * 3600);

/// One file to ask a temp upload for.
#[derive(Debug, Clone)]
pub struct NewTempUpload {
    pub name: String,
    pub size: u64,
    pub resumable: bool,
}

/// A temp upload as the server returned it. The URL authorises a PUT: never log it.
#[derive(Clone, Deserialize)]
pub struct TempUpload {
    pub id: String,
    pub url: String,
    /// What the server decided, which is what the client must follow.
    #[serde(default)]
    pub resumable: bool,
}

impl TempUpload {
    /// As the journal keeps it with its job.
    pub fn journal_target(&self, valid_until: f64) -> Target<'_> {
        Target {
            upload_id: &self.id,
            url: &self.url,
            valid_until,
            transfer: Some(if self.resumable { Transfer::Resumable } else { Transfer::Put }),
            form: None,
        }
    }

    /// Read back from a job's journal row, if it has one.
    pub fn from_job(job: &Job) -> Option<Self> {
        Some(TempUpload {
            id: job.upload_id.clone().filter(|h| !h.is_empty())?,
            url: job.upload_url.clone().filter(|u| !u.is_empty())?,
            resumable: job.transfer == Some(Transfer::Resumable),
        })
    }
}

impl fmt::Debug for TempUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempUpload").field("id", &self.id).field("resumable", &self.resumable).finish()
    }
}

/// A file of a file-index table, as rawFiles returns it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawFile {
    pub name: String,
    #[serde(default)]
    pub md5_hash: Option<String>,
    #[serde(default, deserialize_with = "size_from_number_or_string")]
    pub size: Option<u64>,
}

fn size_from_number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

/// The error codes Redivis puts in its JSON (D-R1) that the engine acts on.
pub mod codes {
    /// rawFiles: this temp upload was already turned into a file (by an earlier request whose
    /// answer we may have lost).
    pub const TEMP_UPLOAD_USED: &str = "temp_upload_used";
    /// rawFiles: the table already has a file of this name.
    pub const NAME_CONFLICT: &str = "name_conflict";
}

pub struct Redivis {
    base: Url,
    /// Carries the bearer token: for the API and for upload URLs on the API's own host.
    api: reqwest::Client,
    /// No token: for upload URLs anywhere else (a storage host must never see it).
    data: reqwest::Client,
    timeout: Duration,
}

impl fmt::Debug for Redivis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redivis").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl Redivis {
    pub fn new(base_url: &str, token: Secret) -> Result<Self> {
        // The official client waits 125 s for an answer.
        let (api, data) = super::bearer_clients(&token, Duration::from_secs(125))?;
        Ok(Redivis { base: parse_base_url(base_url)?, api, data, timeout: super::API_TIMEOUT })
    }

    /// The longest one API call may take, answer included (default [`super::API_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn base_url(&self) -> &str {
        super::base_str(&self.base)
    }

    fn url(&self, segments: &[&str]) -> Url {
        super::url_at(&self.base, segments)
    }

    /// The client for an upload URL: with the token only on the API's own origin.
    fn client_for(&self, url: &str) -> &reqwest::Client {
        let same_origin = Url::parse(url).is_ok_and(|u| u.origin() == self.base.origin());
        if same_origin {
            &self.api
        } else {
            &self.data
        }
    }

    async fn call(&self, method: Method, segments: &[&str], body: Value) -> Result<Value> {
        let url = self.url(segments);
        let shown = format!("{method} {}", url.path());
        let request = self.api.request(method, url).timeout(self.timeout);
        let request = if body.is_null() { request } else { request.json(&body) };
        let response = request.send().await.map_err(|e| network_error(self.base_url().to_owned(), e))?;
        let status = response.status();
        let retry_after = super::retry_after(response.headers());
        let text = super::read_body(response, super::ANSWER_LIMIT, self.base_url()).await?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|_| {
                Error::BadResponse(format!(
                    "{shown} answered {status} with a body that is not JSON: {}",
                    snippet(&text)
                ))
            });
        }
        Err(api_error(&shown, status, retry_after, &text))
    }

    /// The table as the server shows it to this token: Redivis has no "who am I" that a token
    /// of any scope may call, so being able to read the target table is the login check.
    pub async fn get_table(&self, table: &TableRef) -> Result<Value> {
        self.call(Method::GET, &["tables", table.as_str()], Value::Null).await
    }

    /// Ask for upload targets, in request order, `BATCH_LIMIT` per call.
    pub async fn create_temp_uploads(&self, table: &TableRef, items: &[NewTempUpload]) -> Result<Vec<TempUpload>> {
        let mut out = Vec::with_capacity(items.len());
        for batch in items.chunks(BATCH_LIMIT) {
            let list: Vec<Value> =
                batch.iter().map(|i| json!({"name": i.name, "size": i.size, "resumable": i.resumable})).collect();
            let v = self
                .call(Method::POST, &["tables", table.as_str(), "tempUploads"], json!({"tempUploads": list}))
                .await?;
            let results: Vec<TempUpload> = v
                .get("results")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| Error::BadResponse(redact_text(&format!("tempUploads: {e}"))))?
                .unwrap_or_default();
            if results.len() != batch.len() {
                return Err(Error::BadResponse(format!(
                    "tempUploads answered {} results for {} files",
                    results.len(),
                    batch.len()
                )));
            }
            out.extend(results);
        }
        Ok(out)
    }

    /// Move the bytes of `path` to a temp upload: one PUT, or a resumable session whose URI and
    /// committed offset are kept in `journal`, so a restart carries on inside the file. The
    /// MD5 is computed on the way and checked against the server's final answer. `chunk`: the
    /// resumable chunk size, a multiple of 256 KiB.
    pub async fn upload(
        &self,
        target: &TempUpload,
        path: &Path,
        journal: &Journal,
        progress: ProgressFn,
        limiter: Option<Arc<Limiter>>,
        chunk: u64,
    ) -> Result<Sent> {
        let http = self.client_for(&target.url);
        if target.resumable {
            let (outcome, from) = resumable::push(http, journal, &target.url, path, chunk, progress, true).await?;
            // Not the temp upload's id: on the emulator's data plane it is the URL's token.
            let url = crate::redact::redact_url(&target.url);
            tracing::debug!(%url, from, wire = outcome.bytes_on_wire, "resumable upload done");
            Ok(outcome.sent)
        } else {
            let opts = transfer::PutOptions { md5: true, content_type: None, require_etag: false };
            transfer::put_file(http, &target.url, path, progress, limiter, opts).await
        }
    }

    /// The files of a file-index table (`GET /tables/{ref}/rawFiles`), each with its MD5.
    pub async fn list_raw_files(&self, table: &TableRef) -> Result<Vec<RawFile>> {
        let v = self.call(Method::GET, &["tables", table.as_str(), "rawFiles"], Value::Null).await?;
        v.get("results")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| Error::BadResponse(redact_text(&format!("rawFiles listing: {e}"))))
            .map(Option::unwrap_or_default)
    }

    /// Turn finished temp uploads into files of `table`: `(name, tempUploadId)` pairs, in
    /// request order, `BATCH_LIMIT` per call. The server takes a request whole or not at all.
    pub async fn raw_files(&self, table: &TableRef, files: &[(String, String)]) -> Result<Vec<RawFile>> {
        let mut out = Vec::with_capacity(files.len());
        for batch in files.chunks(BATCH_LIMIT) {
            let list: Vec<Value> = batch.iter().map(|(name, id)| json!({"name": name, "tempUploadId": id})).collect();
            let v = self.call(Method::POST, &["tables", table.as_str(), "rawFiles"], json!({"files": list})).await?;
            let results: Vec<RawFile> = v
                .get("results")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| Error::BadResponse(redact_text(&format!("rawFiles: {e}"))))?
                .unwrap_or_default();
            if results.len() != batch.len() {
                return Err(Error::BadResponse(format!(
                    "rawFiles answered {} results for {} files",
                    results.len(),
                    batch.len()
                )));
            }
            out.extend(results);
        }
        Ok(out)
    }
}

/// Map a Redivis error answer (D-R1: `{"status", "error", "error_description"}`; older servers
/// `{"error": {"message"}}`) to an engine error. The Redivis code stays in the message and,
/// for 400s, in `Rejected::message` prefixed as `code: `, where callers look for it.
pub(crate) fn api_error(shown: &str, status: StatusCode, retry_after: Option<Duration>, body: &str) -> Error {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = value.get("error").and_then(Value::as_str).unwrap_or("").to_owned();
    let description = value
        .get("error_description")
        .and_then(Value::as_str)
        .or_else(|| value.pointer("/error/message").and_then(Value::as_str))
        .unwrap_or("")
        .to_owned();
    let detail = match (code.is_empty(), description.is_empty()) {
        (true, true) => format!("{shown}: HTTP {status}"),
        (false, true) => format!("{code}: {shown}"),
        (true, false) => description,
        (false, false) => format!("{code}: {description}"),
    };
    crate::service::status_error(status, detail, retry_after)
}

/// Whether an error is a Redivis 400 with this `error` code.
pub fn is_code(e: &Error, code: &str) -> bool {
    matches!(e, Error::Rejected { status: 400, message, .. } if message.split(':').next() == Some(code))
}

/// The start of a server's answer, for a message; answers hold upload URLs, so redacted.
fn snippet(s: &str) -> String {
    crate::redact::redact_text(&s.chars().take(200).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_refs_are_checked_and_go_into_one_path_segment() {
        let t = TableRef::parse(" user.dataset:v1.table ").unwrap();
        assert_eq!(t.as_str(), "user.dataset:v1.table");
        for bad in ["", "nodots", "a.b/c", "a .b"] {
            assert_eq!(TableRef::parse(bad).unwrap_err().code(), "destination.invalid", "{bad:?}");
        }
        let r = Redivis::new("https://h:1/api/v1/", Secret::new("t")).unwrap();
        assert_eq!(r.url(&["tables", t.as_str(), "rawFiles"]).path(), "/api/v1/tables/user.dataset:v1.table/rawFiles");
    }

    #[test]
    fn the_token_goes_only_to_the_api_origin() {
        let r = Redivis::new("http://127.0.0.1:9/api/v1", Secret::new("t")).unwrap();
        assert!(std::ptr::eq(r.client_for("http://127.0.0.1:9/__tempUploads/x"), &r.api));
        assert!(std::ptr::eq(r.client_for("http://127.0.0.1:10/upload"), &r.data));
        assert!(std::ptr::eq(r.client_for("https://127.0.0.1:9/x"), &r.data));
        assert!(std::ptr::eq(r.client_for("not a url"), &r.data));
    }

    #[test]
    fn error_json_maps_to_codes() {
        let e = api_error(
            "POST /x",
            StatusCode::UNAUTHORIZED,
            None,
            r#"{"status":401,"error":"invalid_token","error_description":"bad"}"#,
        );
        assert_eq!((e.code(), e.to_string().contains("invalid_token: bad")), ("auth.unauthorized", true));
        let e = api_error("POST /x", StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(7)), "{}");
        assert_eq!((e.code(), e.retry_after()), ("server.rate_limited", Some(Duration::from_secs(7))));
        let e = api_error(
            "POST /x",
            StatusCode::BAD_REQUEST,
            None,
            r#"{"status":400,"error":"temp_upload_used","error_description":"used"}"#,
        );
        assert!(is_code(&e, codes::TEMP_UPLOAD_USED) && !is_code(&e, codes::NAME_CONFLICT));
        let e = api_error("POST /x", StatusCode::NOT_FOUND, None, r#"{"error":{"message":"no such table"}}"#);
        assert_eq!((e.code(), e.to_string()), ("not_found", "not found: no such table".to_owned()));
        let e = api_error("POST /x", StatusCode::SERVICE_UNAVAILABLE, None, "<html>");
        assert!(e.retryable());
    }
}
