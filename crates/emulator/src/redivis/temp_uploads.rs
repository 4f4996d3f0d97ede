//! Temp uploads: `POST /api/v1/tables/{table}/tempUploads` hands out upload targets, and
//! `PUT /__tempUploads/{id}` receives the whole body of a non-resumable one.
//!
//! A temp upload's URL is `{base}/__tempUploads/{id}` on the emulator itself (D-R2), or, with a
//! delegated data plane, a GCS resumable-upload URL on that server (then every temp upload is
//! resumable, whatever was asked). Resumable uploads continue in `session`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_LENGTH;
use axum::http::HeaderMap;
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::{self, refuse, ApiPath};
use super::error::RedivisError;
use super::model::{Content, TempUpload};
use super::storage::md5_hex_to_base64;
use crate::app::App;
use crate::faults::{Corrupter, Faults};

/// The client sends at most this many per call, and so does the emulator accept (D-R7).
pub(crate) const MAX_ITEMS: usize = 1000;

#[derive(Deserialize)]
pub(crate) struct NewTempUploads {
    #[serde(rename = "tempUploads")]
    temp_uploads: Vec<NewTempUpload>,
}

#[derive(Deserialize)]
struct NewTempUpload {
    size: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    resumable: Option<bool>,
}

pub(crate) async fn create(
    State(app): State<Arc<App>>,
    ApiPath(table): ApiPath<String>,
    body::Json(request): body::Json<NewTempUploads>,
) -> Result<Json<Value>, RedivisError> {
    let count = request.temp_uploads.len();
    if !(1..=MAX_ITEMS).contains(&count) {
        return Err(RedivisError::invalid(format!(
            "tempUploads must hold between 1 and {MAX_ITEMS} items, got {count}."
        )));
    }
    let now = app.clock.now();
    let delegated = app.redivis.data_plane.is_some();
    let uploads: Vec<TempUpload> = request
        .temp_uploads
        .into_iter()
        .map(|item| TempUpload {
            id: Uuid::new_v4().simple().to_string(),
            table: table.clone(),
            name: item.name.unwrap_or_default(),
            size: item.size,
            resumable: delegated || item.resumable.unwrap_or(false),
            delegated,
            created_ts: now,
            session: None,
            content: None,
            used: false,
        })
        .collect();
    let results: Vec<Value> = uploads
        .iter()
        .map(|upload| {
            let url = match &app.redivis.data_plane {
                Some(plane) => plane.upload_url(&upload.id),
                None => format!("{}/__tempUploads/{}", app.base_url, upload.id),
            };
            json!({
                "kind": "tempUpload",
                "id": upload.id,
                "url": url,
                "name": upload.name,
                "size": upload.size.to_string(),
                "resumable": upload.resumable,
            })
        })
        .collect();
    let swept = app
        .store
        .write(|state| {
            state.redivis.table(&table)?;
            let swept = state.redivis.sweep(now);
            for upload in uploads {
                state.redivis.temp_uploads.insert(upload.id.clone(), upload);
            }
            Ok(swept)
        })
        .await
        .map_err(RedivisError::internal)??;
    app.redivis.forget_sessions(&swept);
    Ok(Json(json!({"kind": "tempUploadList", "results": results})))
}

/// `PUT /__tempUploads/{id}`: the whole body of a non-resumable temp upload, streamed to disk
/// with its MD5 computed on the way. A later PUT replaces the bytes (until rawFiles used them).
/// With the `corrupt` fault the first stored byte is flipped (and the MD5 is of what is stored).
pub(crate) async fn put_whole(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    Faults(faults): Faults,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, RedivisError> {
    let upload = match app.store.read(|state| state.redivis.temp_upload(&id).cloned()) {
        Ok(upload) => upload,
        Err(err) => return refuse(body, err).await,
    };
    if let Err(err) = check_writable(&upload) {
        return refuse(body, err).await;
    }
    if upload.resumable {
        let why = "This temp upload is resumable: start a session with a POST carrying 'x-goog-resumable: start' and \
                   'x-upload-content-length'.";
        return refuse(body, RedivisError::invalid(why)).await;
    }
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = declared.filter(|&length| length != upload.size) {
        let why = format!("The body has {length} bytes, the temp upload was declared with {} bytes.", upload.size);
        return refuse(body, RedivisError::invalid(why)).await;
    }

    let mut writer = app.store.blobs.incoming().map_err(RedivisError::internal)?;
    let mut corrupter = Corrupter::new(faults.corrupt);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            tracing::info!(%err, "temp upload body cut off; nothing kept");
            RedivisError::invalid("The body was cut off.")
        })?;
        let chunk = corrupter.pass(chunk);
        writer.write(&chunk).await.map_err(RedivisError::internal)?;
    }
    if writer.size() != upload.size {
        let why =
            format!("The body has {} bytes, the temp upload was declared with {} bytes.", writer.size(), upload.size);
        return Err(RedivisError::invalid(why));
    }
    let received = writer.finish().await.map_err(RedivisError::internal)?;
    let content = Content { size: received.size, md5: md5_hex_to_base64(&received.md5) };
    let path = app.redivis.storage.temp(&id);
    let answer = app
        .store
        .write(|state| {
            let upload = state.redivis.temp_uploads.get_mut(&id).ok_or_else(|| RedivisError::not_found("Gone."))?;
            check_writable(upload)?;
            // Renamed under the lock, so rawFiles never takes half-replaced bytes.
            received.persist(&path).map_err(RedivisError::internal)?;
            upload.content = Some(content);
            Ok(upload.completion_json())
        })
        .await
        .map_err(RedivisError::internal)??;
    tracing::info!(id, size = upload.size, "Redivis temp upload received");
    Ok(Json(answer))
}

/// Whether bytes may still be sent to this temp upload through the emulator.
pub(crate) fn check_writable(upload: &TempUpload) -> Result<(), RedivisError> {
    if upload.delegated {
        return Err(RedivisError::not_found(format!(
            "Temp upload '{}' takes its bytes on the external data plane, not here.",
            upload.id
        )));
    }
    if upload.used {
        return Err(RedivisError::bad_request(
            "temp_upload_used",
            format!("Temp upload '{}' was already used by a rawFiles call.", upload.id),
        ));
    }
    Ok(())
}
