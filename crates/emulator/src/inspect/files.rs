//! The Inspect API: ask for a presigned URL, Complete, and two emulator conveniences for tests.
//!
//! - `POST /api/inspect/v1/file/upload/presigned` `{assetID, contentType, hash, name, size}`: all
//!   five required (400 naming the first bad field). A completed file of the same asset with the
//!   same hash → 200 `{"data": {"id"}}` (D-S4); otherwise a new file → 201
//!   `{"data": {"presignedURL", "id"}}`, the URL valid 15 minutes on the emulator's clock.
//! - `POST /api/inspect/v1/file/{id}/upload/complete` (D-S3): 200 `{"data": {"id"}}`, idempotent;
//!   404 for an unknown id; 409 while the bytes are not there.
//! - `GET /api/inspect/v1/assets/{assetID}/files`: `{"data": [{"id", "name", "size", "hash",
//!   "contentType", "completed"}]}`, oldest first. **An emulator convenience for tests.**
//! - `GET /api/inspect/v1/file/{id}/content`: the bytes. **An emulator convenience for tests.**

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::access::{ApiPath, JsonBody};
use super::data_plane::Found;
use super::error::InspectError;
use super::model::InspectFile;
use super::presign;
use crate::app::App;
use crate::faults::Faults;
use crate::signing::base64_decode;

/// What a presigned URL was asked for, checked.
struct Request {
    asset_id: String,
    content_type: String,
    hash: String,
    name: String,
    size: u64,
}

/// The five fields, in the order the documentation lists them; the first bad one is named.
fn parse(body: &Value, max_size: u64) -> Result<Request, InspectError> {
    let Some(fields) = body.as_object() else {
        return Err(InspectError::bad_request("The request body must be a JSON object."));
    };
    let field = |name: &str| -> Result<&Value, InspectError> {
        fields
            .get(name)
            .filter(|value| !value.is_null())
            .ok_or_else(|| InspectError::bad_request(format!("Field '{name}' is required.")))
    };
    let text = |name: &str| -> Result<String, InspectError> {
        field(name)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| InspectError::bad_request(format!("Field '{name}' must be a string.")))
    };
    let asset = text("assetID")?;
    let asset_id = Uuid::parse_str(&asset)
        .map_err(|_| InspectError::bad_request(format!("Field 'assetID' must be a UUID, got '{asset}'.")))?
        .hyphenated()
        .to_string();
    let content_type = text("contentType")?;
    if !is_mime_type(&content_type) {
        return Err(InspectError::bad_request(format!(
            "Field 'contentType' must be a MIME type such as image/png, got '{content_type}'."
        )));
    }
    let hash = text("hash")?;
    if base64_decode(&hash).is_none_or(|digest| digest.len() != 32) {
        return Err(InspectError::bad_request(
            "Field 'hash' must be the base64 of the 32-byte SHA-256 digest of the file.",
        ));
    }
    let name = text("name")?;
    if name.is_empty() {
        return Err(InspectError::bad_request("Field 'name' must not be empty."));
    }
    let size = field("size")?;
    let size = size.as_u64().ok_or_else(|| {
        InspectError::bad_request(format!("Field 'size' must be an integer between 0 and {max_size}, got {size}."))
    })?;
    if size > max_size {
        return Err(InspectError::bad_request(format!(
            "Field 'size' is {size} bytes, more than the maximum of {max_size} bytes."
        )));
    }
    Ok(Request { asset_id, content_type, hash, name, size })
}

/// `type/subtype[; parameters]`, and usable as a header value.
fn is_mime_type(text: &str) -> bool {
    let essence = text.split(';').next().unwrap_or("").trim();
    let valid_header = HeaderValue::from_str(text).is_ok() && text.bytes().all(|b| (b' '..=b'~').contains(&b));
    valid_header && essence.split_once('/').is_some_and(|(kind, sub)| !kind.is_empty() && !sub.is_empty())
}

pub(crate) async fn presigned(
    State(app): State<Arc<App>>,
    Faults(faults): Faults,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), InspectError> {
    let request = parse(&body, app.inspect.max_size)?;
    let now = app.clock.now();
    let expires =
        if faults.expire_now { now.as_secs().saturating_sub(1) } else { now.plus(presign::VALIDITY).as_secs() };
    let file = InspectFile {
        id: Uuid::new_v4().to_string(),
        asset_id: request.asset_id,
        name: request.name,
        content_type: request.content_type,
        size: request.size,
        hash: request.hash,
        created_ts: now,
        delegated: app.inspect.data_plane.is_some(),
        uploaded: None,
        completed: false,
    };
    let url = match &app.inspect.data_plane {
        Some(plane) => plane.presigned_put(&file.id, &file.content_type, expires),
        None => presign::url(&app.base_url, &app.inspect.signing_key, &file.id, expires, &file.content_type),
    };
    let existing = app
        .store
        .write(|state| {
            if let Some(done) = state.inspect.completed_with(&file.asset_id, &file.hash) {
                return Some(done.id.clone());
            }
            state.inspect.insert_file(file.clone());
            None
        })
        .await
        .map_err(InspectError::internal)?;
    if let Some(id) = existing {
        tracing::info!(id, asset = file.asset_id, "Inspect: already uploaded");
        return Ok((StatusCode::OK, Json(json!({"data": {"id": id}}))));
    }
    tracing::info!(id = file.id, asset = file.asset_id, size = file.size, "Inspect: presigned URL");
    Ok((StatusCode::CREATED, Json(json!({"data": {"presignedURL": url, "id": file.id}}))))
}

pub(crate) async fn complete(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    body: Body,
) -> Result<Json<Value>, InspectError> {
    // The body is empty by contract; whatever comes is read and ignored.
    crate::redivis::drain(body).await;
    let file = app.store.read(|state| state.inspect.files.get(&id).cloned());
    let file = file.ok_or_else(|| InspectError::not_found(format!("File '{id}' not found.")))?;
    let answer = Json(json!({"data": {"id": id}}));
    if file.completed {
        return Ok(answer);
    }
    match (&app.inspect.data_plane, file.delegated) {
        (Some(plane), true) => match plane.check(&file).await? {
            Found::Matching => {}
            Found::Missing => return Err(not_uploaded(&id)),
            Found::Different(why) => return Err(InspectError::conflict(why)),
        },
        (None, true) => {
            return Err(InspectError::conflict(format!(
                "File '{id}' was uploaded to an external data plane this emulator no longer uses."
            )))
        }
        (_, false) if file.uploaded.is_none() => return Err(not_uploaded(&id)),
        (_, false) => {}
    }
    app.store
        .write(|state| {
            state.inspect.complete(&id);
        })
        .await
        .map_err(InspectError::internal)?;
    tracing::info!(id, "Inspect: upload completed");
    Ok(answer)
}

fn not_uploaded(id: &str) -> InspectError {
    InspectError::conflict(format!("The bytes of file '{id}' have not been uploaded yet."))
}

pub(crate) async fn list(
    State(app): State<Arc<App>>,
    ApiPath(asset): ApiPath<String>,
) -> Result<Json<Value>, InspectError> {
    let asset = Uuid::parse_str(&asset)
        .map_err(|_| InspectError::bad_request(format!("'{asset}' is not a UUID.")))?
        .hyphenated()
        .to_string();
    let files: Vec<Value> =
        app.store.read(|state| state.inspect.of_asset(&asset).into_iter().map(|f| f.to_json()).collect());
    Ok(Json(json!({ "data": files })))
}

pub(crate) async fn content(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, InspectError> {
    let file = app.store.read(|state| state.inspect.files.get(&id).cloned());
    let file = file.ok_or_else(|| InspectError::not_found(format!("File '{id}' not found.")))?;
    let body = match (&app.inspect.data_plane, file.delegated) {
        (Some(plane), true) => plane.download(&file).await?,
        (_, false) if file.uploaded.is_some() => {
            let bytes = tokio::fs::File::open(app.inspect.path(&id)).await.map_err(InspectError::internal)?;
            Body::from_stream(tokio_util::io::ReaderStream::new(bytes))
        }
        _ => return Err(InspectError::not_found(format!("File '{id}' has no bytes here."))),
    };
    Ok(([(CONTENT_TYPE, file.content_type.clone()), (CONTENT_LENGTH, file.size.to_string())], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({
            "assetID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "contentType": "image/png",
            "hash": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            "name": "photo.png",
            "size": 5
        })
    }

    #[test]
    fn a_good_request_parses() {
        let parsed = parse(&request(), 10).unwrap();
        assert_eq!(parsed.size, 5);
        assert_eq!(parsed.asset_id, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    }

    #[test]
    fn each_bad_field_is_named() {
        for (field, value, why) in [
            ("assetID", Value::Null, "'assetID' is required"),
            ("assetID", json!("nope"), "'assetID' must be a UUID"),
            ("contentType", json!("png"), "'contentType' must be a MIME type"),
            ("contentType", json!(7), "'contentType' must be a string"),
            ("hash", json!("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ"), "'hash' must be the base64"),
            ("hash", json!("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"), "'hash'"),
            ("name", json!(""), "'name' must not be empty"),
            ("size", json!(-1), "'size' must be an integer"),
            ("size", json!(1.5), "'size' must be an integer"),
            ("size", json!("5"), "'size' must be an integer"),
            ("size", json!(11), "more than the maximum"),
        ] {
            let mut body = request();
            body[field] = value;
            let err = parse(&body, 10).err().unwrap();
            assert!(format!("{err:?}").contains(why), "{field}: {err:?}");
        }
        assert!(parse(&json!([]), 10).is_err());
    }
}
