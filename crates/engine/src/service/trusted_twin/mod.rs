//! Trusted Twin: `POST /cache` for an upload URL, a plain PUT, then `POST /twins/{twin}/docs`
//! (attach) and polling `GET /twins/{twin}/docs/{doc_name}` until the copy is terminal.
//! See `../shared/spec/trustedtwin-api.md`; its decisions table is followed here and by the emulator.

mod download;
mod finish;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

pub use super::parse_base_url;
use crate::bandwidth::Limiter;
use crate::credentials::Secret;
pub use crate::destination::TwinId;
pub use crate::doc::{DocStatus, StorageClass};
use crate::error::{Error, Result};
use crate::naming::DocName;
use crate::redact::redact_text;
use crate::transfer::{self, network_error, ProgressFn, Sent};

pub const DEFAULT_BASE_URL: &str = "https://rest.trustedtwin.com";

/// Where the bytes go. The URL authorises the PUT by itself, so it is as sensitive as a
/// password for its 60 minutes; never log it.
#[derive(Clone, Deserialize)]
pub struct UploadTarget {
    pub url: String,
    pub handler: String,
    pub validity_ts: f64,
}

impl fmt::Debug for UploadTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadTarget").field("handler", &self.handler).field("validity_ts", &self.validity_ts).finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreationCertificate {
    #[serde(default)]
    pub size: Option<u64>,
    /// The account that attached the Doc.
    #[serde(default)]
    pub creator: Option<String>,
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(default)]
    pub created_ts: Option<f64>,
}

/// A Doc as `GET /twins/{twin}/docs/{doc_name}` returns it (only the fields Twindrop reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Doc {
    pub status: DocStatus,
    #[serde(default)]
    pub creation_certificate: Option<CreationCertificate>,
    #[serde(default)]
    pub storage_class: Option<String>,
    #[serde(default)]
    pub updated_ts: Option<f64>,
    #[serde(default)]
    pub description: Option<Value>,
}

/// One Doc of a Twin as the listing gives it: no status (that needs a read of the Doc).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DocRow {
    pub name: String,
    pub size: Option<u64>,
    pub created_ts: Option<f64>,
    pub updated_ts: Option<f64>,
}

/// One Doc of a Twin with everything a details view shows: its name from the listing and the
/// rest read back from the Doc itself.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DocEntry {
    pub name: String,
    pub status: DocStatus,
    pub size: Option<u64>,
    /// The SHA-256 recorded at attach (hex), if one was sent.
    pub sha256: Option<String>,
    pub storage_class: Option<String>,
    pub description: Option<Value>,
    pub created_ts: Option<f64>,
    pub updated_ts: Option<f64>,
}

impl DocEntry {
    pub fn new(name: impl Into<String>, doc: Doc) -> Self {
        let cert = doc.creation_certificate.unwrap_or(CreationCertificate {
            size: None,
            creator: None,
            hash: None,
            created_ts: None,
        });
        DocEntry {
            name: name.into(),
            status: doc.status,
            size: cert.size,
            sha256: cert.hash,
            storage_class: doc.storage_class,
            description: doc.description,
            created_ts: cert.created_ts,
            updated_ts: doc.updated_ts,
        }
    }
}

/// One Doc of an attach request.
#[derive(Debug, Clone)]
pub struct AttachItem {
    pub name: DocName,
    pub handler: String,
    pub sha256: Option<String>,
    pub storage_class: StorageClass,
    pub description: Option<Value>,
}

impl Doc {
    /// The hash the server recorded at attach, if one was given then.
    pub fn sha256(&self) -> Option<&str> {
        self.creation_certificate.as_ref()?.hash.as_deref()
    }
}

/// The attach body envelope; the docs leave it open (spec §3.4), so it is one switch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AttachShape {
    /// `{"docs": {name: {...}}}`
    #[default]
    Keyed,
    /// `{"docs": [{"doc_name": name, ...}]}`
    List,
}

pub struct TrustedTwin {
    http: reqwest::Client,
    base: Url,
    secret: Secret,
    shape: AttachShape,
    timeout: Duration,
}

impl fmt::Debug for TrustedTwin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedTwin").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl TrustedTwin {
    pub fn new(base_url: &str, secret: Secret) -> Result<Self> {
        let http = super::http_builder(Duration::from_secs(120))
            .build()
            .map_err(|e| Error::Setup(format!("HTTP client: {e}")))?;
        Ok(TrustedTwin {
            http,
            base: parse_base_url(base_url)?,
            secret,
            shape: AttachShape::default(),
            timeout: super::API_TIMEOUT,
        })
    }

    /// The longest one API call may take, answer included (default [`super::API_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_attach_shape(mut self, shape: AttachShape) -> Self {
        self.shape = shape;
        self
    }

    pub fn base_url(&self) -> &str {
        super::base_str(&self.base)
    }

    fn url(&self, segments: &[&str]) -> Url {
        super::url_at(&self.base, segments)
    }

    async fn call(&self, method: Method, segments: &[&str], body: Option<Value>) -> Result<(StatusCode, Value)> {
        self.call_at(method, self.url(segments), body).await
    }

    /// [`Self::call`] to a URL made already (one with a query).
    async fn call_at(&self, method: Method, url: Url, body: Option<Value>) -> Result<(StatusCode, Value)> {
        let shown = format!("{} {}", method, url.path());
        let mut request =
            self.http.request(method, url).header("Authorization", self.secret.expose()).timeout(self.timeout);
        request = match body {
            Some(body) => request.json(&body),
            None => request.header(reqwest::header::CONTENT_LENGTH, 0),
        };
        let response = request.send().await.map_err(|e| network_error(self.base_url().to_owned(), e))?;
        let status = response.status();
        let retry_after = super::retry_after(response.headers());
        let text = super::read_body(response, super::ANSWER_LIMIT, self.base_url()).await?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                Error::BadResponse(format!(
                    "{shown} answered {status} with a body that is not JSON: {}",
                    snippet(&text)
                ))
            })?
        };
        if status.is_success() {
            return Ok((status, value));
        }
        let description = value.get("description").and_then(Value::as_str).unwrap_or("").to_owned();
        let subcode = value.get("subcode").and_then(Value::as_u64);
        let detail = if description.is_empty() { format!("{shown}: HTTP {status}") } else { description.clone() };
        Err(match super::status_error(status, detail, retry_after) {
            Error::Rejected { status, message, .. } => Error::Rejected { status, subcode, message },
            other => other,
        })
    }

    /// `GET /whoami`: the cheapest check that a secret works. Returns the account UUID.
    pub async fn whoami(&self) -> Result<String> {
        let (_, v) = self.call(Method::GET, &["whoami"], None).await?;
        v.get("account")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::BadResponse(format!("whoami without an account: {}", snippet(&v.to_string()))))
    }

    pub async fn create_twin(&self) -> Result<TwinId> {
        Ok(self.create_named_twin(None).await?.0)
    }

    /// `POST /twins`, its description naming it (`description.name`, see
    /// [`crate::twin_names`]) when `name` is given. Returns the Twin and the server's answer.
    pub async fn create_named_twin(&self, name: Option<&str>) -> Result<(TwinId, Value)> {
        let body = match name {
            Some(name) => json!({ "description": crate::twin_names::description_with(name) }),
            None => json!({}),
        };
        let (_, v) = self.call(Method::POST, &["twins"], Some(body)).await?;
        let uuid = v.pointer("/creation_certificate/uuid").and_then(Value::as_str).ok_or_else(|| {
            Error::BadResponse(format!("POST /twins without creation_certificate.uuid: {}", snippet(&v.to_string())))
        })?;
        Ok((TwinId::parse(uuid)?, v))
    }

    /// Check that a Twin exists and is visible to this secret.
    pub async fn get_twin(&self, twin: &TwinId) -> Result<Value> {
        match self.call(Method::GET, &["twins", twin.as_str()], None).await {
            Err(Error::NotFound(_)) => Err(Error::TwinNotFound(twin.to_string())),
            other => other.map(|(_, v)| v),
        }
    }

    pub async fn create_upload_url(&self) -> Result<UploadTarget> {
        let (_, v) = self.call(Method::POST, &["cache"], None).await?;
        serde_json::from_value(v).map_err(|e| Error::BadResponse(redact_text(&format!("POST /cache: {e}"))))
    }

    /// Revoke an upload URL (`DELETE /cache/{handler}`): bytes sent to it are dropped, and
    /// Docs already attached from it keep their own copy.
    pub async fn invalidate_upload_url(&self, handler: &str) -> Result<()> {
        self.call(Method::DELETE, &["cache", handler], None).await.map(|_| ())
    }

    /// PUT the file to the upload URL. No Authorization goes with it.
    pub async fn upload(
        &self,
        target: &UploadTarget,
        path: &Path,
        progress: ProgressFn,
        limiter: Option<Arc<Limiter>>,
    ) -> Result<Sent> {
        transfer::put_file(&self.http, &target.url, path, progress, limiter, Default::default()).await
    }

    /// Attach one uploaded file as a Doc.
    pub async fn attach(&self, twin: &TwinId, name: &DocName, handler: &str, sha256: Option<&str>) -> Result<Doc> {
        let item = AttachItem {
            name: name.clone(),
            handler: handler.to_owned(),
            sha256: sha256.map(str::to_owned),
            storage_class: StorageClass::default(),
            description: None,
        };
        let mut results = self.attach_many(twin, std::slice::from_ref(&item)).await?;
        results.pop().expect("one result per item")
    }

    /// Attach several uploaded files in one request. The server answers 201 even when some
    /// Docs failed; per-Doc errors come back inside the body and are mapped to their own codes.
    /// The outer error is for the request as a whole (then nobody knows what was attached).
    /// Names must be unique within one call.
    pub async fn attach_many(&self, twin: &TwinId, items: &[AttachItem]) -> Result<Vec<Result<Doc>>> {
        let entry = |item: &AttachItem| {
            let mut e = json!({ "handler": item.handler, "storage_class": item.storage_class.as_str() });
            if let Some(hash) = &item.sha256 {
                e["hash"] = json!(hash);
            }
            if let Some(description) = &item.description {
                e["description"] = description.clone();
            }
            e
        };
        let body = match self.shape {
            AttachShape::Keyed => {
                let docs: serde_json::Map<String, Value> =
                    items.iter().map(|i| (i.name.to_string(), entry(i))).collect();
                json!({ "docs": docs })
            }
            AttachShape::List => {
                let docs: Vec<Value> = items
                    .iter()
                    .map(|i| {
                        let mut e = entry(i);
                        e["doc_name"] = json!(i.name.as_str());
                        e
                    })
                    .collect();
                json!({ "docs": docs })
            }
        };
        let (_, v) = match self.call(Method::POST, &["twins", twin.as_str(), "docs"], Some(body)).await {
            Err(Error::NotFound(_)) => return Err(Error::TwinNotFound(twin.to_string())),
            other => other?,
        };
        let bad = |what: &str| Error::BadResponse(format!("attach answer {what}: {}", snippet(&v.to_string())));
        let answers: Vec<Value> = match v.get("docs") {
            Some(Value::Object(map)) => items
                .iter()
                .map(|i| {
                    map.get(i.name.as_str()).cloned().ok_or_else(|| bad(&format!("without {:?}", i.name.as_str())))
                })
                .collect::<Result<_>>()?,
            Some(Value::Array(list)) if list.len() == items.len() => list.clone(),
            _ => return Err(bad("without one entry per Doc")),
        };
        Ok(items.iter().zip(answers).map(|(item, answer)| per_doc(&item.name, answer)).collect())
    }

    pub async fn delete_doc(&self, twin: &TwinId, name: &DocName) -> Result<()> {
        self.call(Method::DELETE, &["twins", twin.as_str(), "docs", name.as_str()], None).await.map(|_| ())
    }

    pub async fn get_doc(&self, twin: &TwinId, name: &DocName) -> Result<Doc> {
        let (_, v) = self.call(Method::GET, &["twins", twin.as_str(), "docs", name.as_str()], None).await?;
        serde_json::from_value(v).map_err(|e| Error::BadResponse(format!("GET doc {name:?}: {e}")))
    }

    /// Poll until the copy leaves `copying`, backing off from 100 ms to 2 s between reads.
    pub async fn wait_terminal(&self, twin: &TwinId, name: &DocName, limit: Duration) -> Result<Doc> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let doc = self.get_doc(twin, name).await?;
            if doc.status.is_terminal() {
                return Ok(doc);
            }
            if started.elapsed() >= limit {
                return Err(Error::VerifyTimeout { name: name.to_string(), seconds: limit.as_secs() });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// `GET /twins/{twin}/docs`: name → size.
    pub async fn list_docs(&self, twin: &TwinId) -> Result<BTreeMap<String, u64>> {
        let (_, v) = self.call(Method::GET, &["twins", twin.as_str(), "docs"], None).await?;
        let docs = v
            .get("docs")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::BadResponse(format!("listing without docs: {}", snippet(&v.to_string()))))?;
        Ok(docs.iter().map(|(k, row)| (k.clone(), row.get(2).and_then(Value::as_u64).unwrap_or(0))).collect())
    }

    /// The Twin's Docs as one listing gives them (name, size, times), sorted by name: one
    /// request however many Docs there are. Statuses need a read per Doc ([`Self::doc_details`]).
    pub async fn list_doc_rows(&self, twin: &TwinId) -> Result<Vec<DocRow>> {
        let v = match self.call(Method::GET, &["twins", twin.as_str(), "docs"], None).await {
            Err(Error::NotFound(_)) => return Err(Error::TwinNotFound(twin.to_string())),
            other => other?.1,
        };
        let docs = v
            .get("docs")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::BadResponse(format!("listing without docs: {}", snippet(&v.to_string()))))?;
        let field = |row: &Value, i: usize| row.get(i).and_then(Value::as_f64);
        Ok(docs
            .iter()
            .map(|(name, row)| DocRow {
                name: name.clone(),
                created_ts: field(row, 0),
                updated_ts: field(row, 1),
                size: row.get(2).and_then(Value::as_u64),
            })
            .collect())
    }

    /// Every Doc of the Twin with its status and details, sorted by name: the listing, then
    /// each Doc read back (a few reads in flight at once). A Doc deleted between the two is
    /// left out.
    pub async fn list_docs_detailed(&self, twin: &TwinId) -> Result<Vec<DocEntry>> {
        let names = match self.list_docs(twin).await {
            Err(Error::NotFound(_)) => return Err(Error::TwinNotFound(twin.to_string())),
            other => other?,
        };
        self.doc_details(twin, names.into_keys()).await
    }

    /// The named Docs read back with their status, in the order given, a few reads in flight
    /// at once; a name no longer there is left out.
    pub async fn doc_details(&self, twin: &TwinId, names: impl IntoIterator<Item = String>) -> Result<Vec<DocEntry>> {
        self.read_docs(twin, names, DocEntry::new).await
    }

    /// Each named Doc read back and made into a `T`, in the order given; a name no longer
    /// there is left out. Reads by the name as listed: a name this client could not have made
    /// still shows.
    pub(crate) async fn read_docs<T>(
        &self,
        twin: &TwinId,
        names: impl IntoIterator<Item = String>,
        make: impl Fn(String, Doc) -> T,
    ) -> Result<Vec<T>> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        // Enough to keep a remote server's latency covered; the emulator answers ~36k/s.
        const READS_IN_FLIGHT: usize = 32;
        let make = &make;
        let entries: Vec<Option<T>> = stream::iter(names)
            .map(|name| async move {
                match self.get_doc_by_listed_name(twin, &name).await {
                    Ok(doc) => Ok(Some(make(name, doc))),
                    Err(Error::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(entries.into_iter().flatten().collect())
    }

    async fn get_doc_by_listed_name(&self, twin: &TwinId, name: &str) -> Result<Doc> {
        let (_, v) = self.call(Method::GET, &["twins", twin.as_str(), "docs", name], None).await?;
        serde_json::from_value(v).map_err(|e| Error::BadResponse(format!("GET doc {name:?}: {e}")))
    }
}

fn per_doc(name: &DocName, answer: Value) -> Result<Doc> {
    if let Some(message) = answer.get("error").and_then(Value::as_str) {
        return Err(match message {
            "Doc already exists." => Error::DocExists(name.to_string()),
            m if m.starts_with("No Doc uploaded through the upload URL") => Error::NotUploaded(name.to_string()),
            m => Error::AttachRejected { name: name.to_string(), message: m.to_owned() },
        });
    }
    serde_json::from_value(answer).map_err(|e| Error::BadResponse(format!("attach answer for {name:?}: {e}")))
}

/// The start of a server's answer, for a message; answers hold upload URLs, so redacted.
fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(160).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    crate::redact::redact_text(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twin_ids_are_uuids() {
        assert_eq!(
            TwinId::parse(" 0F8FAD5B-D9CB-469F-A165-70867728950E ").unwrap().as_str(),
            "0f8fad5b-d9cb-469f-a165-70867728950e"
        );
        for bad in ["", "x", "../../whoami", "0f8fad5b-d9cb-469f-a165-70867728950"] {
            assert_eq!(TwinId::parse(bad).unwrap_err().code(), "destination.invalid");
        }
    }

    #[test]
    fn base_urls_are_normalised() {
        assert_eq!(parse_base_url("http://127.0.0.1:9/").unwrap().as_str(), "http://127.0.0.1:9/");
        assert_eq!(parse_base_url("https://h/prefix/").unwrap().path(), "/prefix");
        assert!(parse_base_url("ftp://h").is_err());
        assert!(parse_base_url("https://h/?x=1").is_err());
        assert!(parse_base_url("not a url").is_err());
        // Plain HTTP only to this machine.
        for ok in ["http://localhost:8080", "http://[::1]:9", "http://127.0.0.2"] {
            assert!(parse_base_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://rest.trustedtwin.com", "http://10.0.0.1", "http://127.0.0.1.example.com"] {
            assert_eq!(parse_base_url(bad).unwrap_err().code(), "network.insecure", "{bad}");
        }
    }

    #[test]
    fn doc_names_with_folders_go_out_as_one_segment() {
        let tt = TrustedTwin::new("https://h:1/api", Secret::new("s")).unwrap();
        let url = tt.url(&["twins", "t", "docs", "dir/a.txt"]);
        assert_eq!(url.as_str(), "https://h:1/api/twins/t/docs/dir%2Fa.txt");
    }

    #[test]
    fn statuses_parse_including_unknown_ones() {
        let s: DocStatus = serde_json::from_value(json!("hash_mismatch")).unwrap();
        assert_eq!(s, DocStatus::HashMismatch);
        let s: DocStatus = serde_json::from_value(json!("archived")).unwrap();
        assert_eq!(s, DocStatus::Other("archived".into()));
        assert!(s.is_terminal() && !DocStatus::Copying.is_terminal());
    }

    /// The detailed listing against the emulator: each Doc's status (ok and hash_mismatch side
    /// by side), size, hash, storage class, description and timestamps; a missing Twin says so.
    #[tokio::test]
    async fn detailed_listing_reads_every_doc_back() {
        let mut config = twindrop_emulator::Config::new("listing-secret");
        config.copy_delay = Duration::from_millis(20);
        let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
        let tt = TrustedTwin::new(em.base_url(), Secret::new("listing-secret")).unwrap();
        let twin = tt.create_twin().await.unwrap();
        assert!(tt.list_docs_detailed(&twin).await.unwrap().is_empty());

        let bytes = b"twelve bytes".to_vec();
        let target = tt.create_upload_url().await.unwrap();
        let put = reqwest::Client::new().put(&target.url).body(bytes.clone()).send().await.unwrap();
        assert!(put.status().is_success(), "{}", put.status());
        let right = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let item = |name: &str, hash: &str, class, description| AttachItem {
            name: DocName::parse(name).unwrap(),
            handler: target.handler.clone(),
            sha256: Some(hash.to_owned()),
            storage_class: class,
            description,
        };
        let items = [
            item("b/good.txt", &right, StorageClass::CostOptimized, Some(json!({"origin": "scanner"}))),
            item("a-bad.txt", &"0".repeat(64), StorageClass::AccessOptimized, None),
        ];
        for result in tt.attach_many(&twin, &items).await.unwrap() {
            result.unwrap();
        }
        for i in &items {
            tt.wait_terminal(&twin, &i.name, Duration::from_secs(10)).await.unwrap();
        }

        let docs = tt.list_docs_detailed(&twin).await.unwrap();
        let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a-bad.txt", "b/good.txt"]);
        let (bad, good) = (&docs[0], &docs[1]);
        assert_eq!(good.status, DocStatus::Ok);
        assert_eq!(good.size, Some(12));
        assert_eq!(good.sha256.as_deref(), Some(right.as_str()));
        assert_eq!(good.storage_class.as_deref(), Some("cost_optimized"));
        assert_eq!(good.description, Some(json!({"origin": "scanner"})));
        let (created, updated) = (good.created_ts.unwrap(), good.updated_ts.unwrap());
        assert!(created > 1.6e9 && updated >= created, "{created} {updated}");
        assert_eq!(bad.status, DocStatus::HashMismatch);
        assert_eq!(bad.storage_class.as_deref(), Some("access_optimized"));
        assert_eq!(bad.description, None);
        let wire = serde_json::to_value(good).unwrap();
        assert_eq!(wire["status"], "ok");
        assert_eq!(wire["storageClass"], "cost_optimized");
        assert!(wire["createdTs"].is_number() && wire["updatedTs"].is_number(), "{wire}");

        let gone = TwinId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        assert_eq!(tt.list_docs_detailed(&gone).await.unwrap_err().code(), "twin.not_found");
        em.shutdown().await;
    }
}
