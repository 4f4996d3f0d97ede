//! Raw files of a file-index table: `POST /api/v1/tables/{table}/rawFiles` turns complete temp
//! uploads into files (201, all or nothing per request), `GET /api/v1/tables/{table}/rawFiles`
//! lists them (an emulator convenience for tests, not a documented Redivis call), and
//! `GET /api/v1/rawFiles/{id}` shows one (`?alt=media`: its bytes, when the emulator holds them).
//!
//! With a delegated data plane the bytes are on the external server: completion, size and MD5 are
//! read from the object's metadata there (`GET {base}/storage/v1/b/{bucket}/o/redivis%2F{id}`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::{self, ApiPath};
use super::error::RedivisError;
use super::model::{Content, RawFile, RedivisState};
use super::temp_uploads::MAX_ITEMS;
use crate::app::App;

/// Metadata reads in flight at once against a delegated data plane.
const METADATA_READS: usize = 8;

#[derive(Deserialize)]
pub(crate) struct NewRawFiles {
    files: Vec<NewRawFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewRawFile {
    name: String,
    #[serde(default)]
    temp_upload_id: Option<String>,
    /// The name the documentation uses (D-R3); the client sends `tempUploadId`.
    #[serde(default)]
    resumable_upload_id: Option<String>,
}

/// One requested file, its temp upload resolved.
struct Wanted {
    name: String,
    upload: String,
}

pub(crate) async fn create(
    State(app): State<Arc<App>>,
    ApiPath(table): ApiPath<String>,
    body::Json(request): body::Json<NewRawFiles>,
) -> Result<(StatusCode, Json<Value>), RedivisError> {
    let count = request.files.len();
    if !(1..=MAX_ITEMS).contains(&count) {
        return Err(RedivisError::invalid(format!("files must hold between 1 and {MAX_ITEMS} items, got {count}.")));
    }
    let wanted = request.files.into_iter().map(resolve).collect::<Result<Vec<_>, _>>()?;
    // A first pass without the bytes' metadata, so a bad request costs no calls to the data plane.
    app.store.read(|state| check(&state.redivis, &table, &wanted, None))?;
    let external = external_contents(&app, &wanted).await?;
    let storage = &app.redivis.storage;
    let files = app
        .store
        .write(|state| {
            let contents = check(&state.redivis, &table, &wanted, Some(&external))?;
            let mut files = Vec::with_capacity(wanted.len());
            for (item, (content, local)) in wanted.iter().zip(contents) {
                let file = RawFile {
                    id: Uuid::new_v4().simple().to_string(),
                    name: item.name.clone(),
                    size: content.size,
                    md5: content.md5,
                    temp_upload: item.upload.clone(),
                    local,
                };
                if local {
                    std::fs::rename(storage.temp(&item.upload), storage.raw_file(&file.id))
                        .map_err(RedivisError::internal)?;
                }
                if let Some(upload) = state.redivis.temp_uploads.get_mut(&item.upload) {
                    upload.used = true;
                }
                state.redivis.add_raw_file(&table, file.clone());
                files.push(file);
            }
            Ok(files)
        })
        .await
        .map_err(RedivisError::internal)??;
    tracing::info!(table, files = files.len(), "Redivis raw files created");
    let results: Vec<Value> = files.iter().map(|file| file.to_json(&app.base_url)).collect();
    Ok((StatusCode::CREATED, Json(json!({"kind": "rawFileList", "results": results}))))
}

fn resolve(file: NewRawFile) -> Result<Wanted, RedivisError> {
    if file.name.is_empty() {
        return Err(RedivisError::invalid("Every file needs a non-empty name."));
    }
    let upload = match (file.temp_upload_id, file.resumable_upload_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(RedivisError::invalid(format!("File '{}' names two different temp uploads.", file.name)))
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(RedivisError::invalid(format!("File '{}' needs a tempUploadId.", file.name))),
    };
    Ok(Wanted { name: file.name, upload })
}

/// The whole request's checks, in request order, the first failure winning. `external` holds what
/// the delegated data plane said about each delegated temp upload (`None`: not asked yet, so
/// completeness of those is not checked). Returns each file's content and whether it is local.
fn check(
    state: &RedivisState,
    table: &str,
    wanted: &[Wanted],
    external: Option<&HashMap<String, Option<Content>>>,
) -> Result<Vec<(Content, bool)>, RedivisError> {
    let table = state.table(table)?;
    if !table.is_file_index {
        return Err(RedivisError::invalid(format!("Table '{}' is not a file index table.", table.reference)));
    }
    let (mut names, mut uploads) = (HashSet::new(), HashSet::new());
    let mut contents = Vec::with_capacity(wanted.len());
    for item in wanted {
        let id = &item.upload;
        let upload = state
            .temp_uploads
            .get(id)
            .ok_or_else(|| RedivisError::invalid(format!("Temp upload '{id}' does not exist.")))?;
        if upload.used || !uploads.insert(id.as_str()) {
            return Err(RedivisError::bad_request("temp_upload_used", format!("Temp upload '{id}' was already used.")));
        }
        let content = match (upload.delegated, external) {
            (true, None) => Some(Content { size: upload.size, md5: String::new() }),
            (true, Some(external)) => external.get(id).cloned().flatten(),
            (false, _) => upload.content.clone(),
        };
        let received = match &content {
            Some(content) => content.size,
            None if upload.delegated => 0,
            None => upload.session.as_ref().and_then(|s| state.sessions.get(s)).map_or(0, |s| s.committed),
        };
        let content = content.filter(|content| content.size == upload.size).ok_or_else(|| {
            RedivisError::invalid(format!(
                "Temp upload '{id}' is not complete: {received} of {} bytes received.",
                upload.size
            ))
        })?;
        if table.files.contains_key(&item.name) || !names.insert(item.name.as_str()) {
            return Err(RedivisError::bad_request(
                "name_conflict",
                format!("A file named '{}' already exists in table '{}'.", item.name, table.reference),
            ));
        }
        contents.push((content, !upload.delegated));
    }
    Ok(contents)
}

/// Asks the delegated data plane about each delegated temp upload of the request.
async fn external_contents(app: &App, wanted: &[Wanted]) -> Result<HashMap<String, Option<Content>>, RedivisError> {
    let Some(plane) = &app.redivis.data_plane else { return Ok(HashMap::new()) };
    let delegated: Vec<String> = app.store.read(|state| {
        let delegated = |item: &&Wanted| state.redivis.temp_uploads.get(&item.upload).is_some_and(|u| u.delegated);
        wanted.iter().filter(delegated).map(|item| item.upload.clone()).collect()
    });
    let answers: Vec<_> = futures_util::stream::iter(delegated)
        .map(|id| async move { plane.object(&id).await.map(|content| (id, content)) })
        .buffered(METADATA_READS)
        .collect()
        .await;
    answers.into_iter().collect()
}

pub(crate) async fn list(
    State(app): State<Arc<App>>,
    ApiPath(table): ApiPath<String>,
) -> Result<Json<Value>, RedivisError> {
    let results = app.store.read(|state| {
        let table = state.redivis.table(&table)?;
        Ok::<_, RedivisError>(table.files.values().map(|file| file.to_json(&app.base_url)).collect::<Vec<_>>())
    })?;
    Ok(Json(json!({"kind": "rawFileList", "results": results})))
}

pub(crate) async fn get(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    uri: Uri,
) -> Result<Response, RedivisError> {
    let file = app.store.read(|state| state.redivis.raw_file(&id).cloned());
    let file = file.ok_or_else(|| RedivisError::not_found(format!("Raw file '{id}' not found.")))?;
    let media = uri.query().is_some_and(|query| query.split('&').any(|pair| pair == "alt=media"));
    if !media {
        return Ok(Json(file.to_json(&app.base_url)).into_response());
    }
    if !file.local {
        return Err(RedivisError::not_found(format!("The bytes of raw file '{id}' are on the external data plane.")));
    }
    let bytes = tokio::fs::File::open(app.redivis.storage.raw_file(&id)).await.map_err(RedivisError::internal)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(bytes));
    Ok(([(CONTENT_TYPE, "application/octet-stream".to_owned()), (CONTENT_LENGTH, file.size.to_string())], body)
        .into_response())
}
