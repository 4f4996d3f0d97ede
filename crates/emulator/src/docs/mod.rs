//! Docs: reading them back (`get_twin_doc`, `get_twin_docs`) and downloading their bytes.
//! Attaching, the only way to make one, is in [`attach`]; changing and deleting in [`edit`].

pub(crate) mod attach;
pub(crate) mod edit;

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use regex::RegexBuilder;
use serde_json::{json, Map, Value};
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, Operation};
use crate::clock::Timestamp;
use crate::error::{ApiError, S3Error};
use crate::extract::{ApiPath, ApiQuery};
use crate::naming::DocName;
use crate::store::{Doc, DocStatus};
use crate::twins::{parse_twin_uuid, twin_not_found};

pub(crate) use attach::resume_copies;

/// Default lifetime of a download link, like the upload URL's.
const DOWNLOAD_VALIDITY: Duration = Duration::from_secs(3600);

/// Guards against a pathological `mask` eating memory; real masks are tiny.
const MASK_SIZE_LIMIT: usize = 1 << 20;

/// What a download token grants: one Doc's bytes until `validity_ts`.
#[derive(Debug, Clone)]
pub(crate) struct DownloadGrant {
    twin: Uuid,
    name: String,
    doc: Uuid,
    validity_ts: Timestamp,
}

/// The Doc object of get_twin_doc (spec §3.5), without `download`. Attach answers with the same
/// object (status `copying`).
pub(crate) fn doc_json(doc: &Doc) -> Map<String, Value> {
    let mut certificate = Map::new();
    certificate.insert("created_ts".into(), json!(doc.created_ts));
    certificate.insert("creator".into(), json!(doc.creator.to_string()));
    certificate.insert("size".into(), json!(doc.size));
    if let Some(hash) = &doc.hash {
        certificate.insert("hash".into(), json!(hash));
    }
    let mut body = Map::new();
    body.insert("creation_certificate".into(), Value::Object(certificate));
    body.insert("storage_class".into(), json!(doc.storage_class));
    body.insert("status".into(), json!(doc.status));
    body.insert("updated_ts".into(), json!(doc.updated_ts));
    if let Some(description) = &doc.description {
        body.insert("description".into(), Value::Object(description.clone()));
    }
    body
}

/// `GET /twins/{twin}/docs/{doc_name}`, with optional `download` and `validity_ts`.
pub(crate) async fn get_doc(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath((twin, doc_name)): ApiPath<(String, String)>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::GetTwinDoc)?;
    let download = query.flag("download")?;
    let now = app.clock.now();
    let validity_ts = match query.get("validity_ts") {
        None => now.plus(DOWNLOAD_VALIDITY),
        Some(raw) => {
            raw.parse::<f64>().ok().and_then(Timestamp::from_secs_f64).filter(|ts| *ts > now).ok_or_else(|| {
                ApiError::request_format(format!("validity_ts must be a future epoch timestamp, got '{raw}'."))
            })?
        }
    };
    let uuid = parse_twin_uuid(&twin)?;
    let name = DocName::parse(&doc_name).map_err(ApiError::request_format)?;

    let (mut body, doc) = app.store.read(|state| {
        let twin = state.twins.get(&uuid).ok_or_else(|| twin_not_found(&twin))?;
        let doc = twin.docs.get(name.as_str()).ok_or_else(|| doc_not_found(&name))?;
        Ok::<_, ApiError>((doc_json(doc), (doc.id, doc.status, doc.has_blob)))
    })?;

    // Only a finished copy has bytes to hand out; while `copying` (or after a failed copy) the
    // answer simply has no `download`.
    let (doc_id, status, has_blob) = doc;
    if download && status == DocStatus::Ok && has_blob {
        let token = Uuid::new_v4().simple().to_string();
        let grant = DownloadGrant { twin: uuid, name: name.into_string(), doc: doc_id, validity_ts };
        {
            let mut downloads = app.downloads.lock().unwrap_or_else(PoisonError::into_inner);
            downloads.retain(|_, grant| grant.validity_ts >= now);
            downloads.insert(token.clone(), grant);
        }
        body.insert(
            "download".into(),
            json!({
                "url": format!("{}/download/{token}", app.base_url),
                "validity_ts": validity_ts,
            }),
        );
    }
    Ok(Json(Value::Object(body)))
}

pub(crate) fn doc_not_found(name: &DocName) -> ApiError {
    ApiError::not_found(format!("Doc [{name}] not found."))
}

/// `GET /twins/{twin}/docs` (also with a trailing slash): `{"docs": {name: [created_ts,
/// updated_ts, size]}}`, optionally filtered by `mask`, a regex searched anywhere in the name.
pub(crate) async fn list_docs(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(twin): ApiPath<String>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::GetTwinDocs)?;
    check_view(&query)?;
    let mask = query
        .get("mask")
        .map(|mask| {
            RegexBuilder::new(mask)
                .size_limit(MASK_SIZE_LIMIT)
                .build()
                .map_err(|err| ApiError::request_format(format!("Invalid mask: {err}")))
        })
        .transpose()?;
    let uuid = parse_twin_uuid(&twin)?;
    let docs = app.store.read(|state| {
        let twin = state.twins.get(&uuid).ok_or_else(|| twin_not_found(&twin))?;
        Ok::<_, ApiError>(
            twin.docs
                .iter()
                .filter(|(name, _)| mask.as_ref().is_none_or(|mask| mask.is_match(name)))
                .map(|(name, doc)| (name.clone(), listing_entry(doc)))
                .collect::<Map<String, Value>>(),
        )
    })?;
    Ok(Json(json!({ "docs": docs })))
}

/// `view=list` is the default and the only view emulated.
pub(crate) fn check_view(query: &ApiQuery) -> Result<(), ApiError> {
    match query.get("view") {
        None | Some("list") => Ok(()),
        // Its shape is not documented anywhere; better an explicit refusal than a guess.
        Some("tree") => Err(ApiError::request_format("view=tree is not supported by the emulator.")),
        Some(other) => Err(ApiError::request_format(format!("view must be 'list' or 'tree', got '{other}'."))),
    }
}

/// One Doc in the list view: `[created_ts, updated_ts, size]`.
pub(crate) fn listing_entry(doc: &Doc) -> Value {
    json!([doc.created_ts, doc.updated_ts, doc.size])
}

/// `GET /download/{token}`: the bytes of a Doc, for a link from `get_twin_doc?download=true`.
/// Behaves like a presigned S3 GET, so errors are XML; the bytes are served as they were
/// uploaded (the real service is said to wrap them in a .zip; see docs/emulator.md).
pub(crate) async fn download(
    State(app): State<Arc<App>>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, S3Error> {
    let grant = app
        .downloads
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&token)
        .cloned()
        .ok_or_else(S3Error::no_such_key)?;
    if headers.contains_key(AUTHORIZATION) {
        return Err(S3Error::access_denied(
            "Only one auth mechanism allowed; the URL already carries its authorisation",
        ));
    }
    if app.clock.now() > grant.validity_ts {
        return Err(S3Error::access_denied("Request has expired"));
    }
    let present = app.store.read(|state| {
        state
            .twins
            .get(&grant.twin)
            .and_then(|twin| twin.docs.get(&grant.name))
            .is_some_and(|doc| doc.id == grant.doc && doc.has_blob)
    });
    if !present {
        return Err(S3Error::no_such_key());
    }
    let file = tokio::fs::File::open(app.store.blobs.doc_path(grant.doc)).await.map_err(S3Error::internal)?;
    let size = file.metadata().await.map_err(S3Error::internal)?.len();
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    Ok(response)
}
