//! The upload URL: `POST /cache` hands one out, `PUT /upload/{token}` receives the bytes,
//! `DELETE /cache/{handler}` withdraws it.
//!
//! The PUT side behaves like an S3 presigned URL (spec §3.2): no `Authorization` (the URL is the
//! authorisation, and S3 refuses a second auth mechanism), a `Content-Length` is required and
//! chunked encoding is refused, the URL expires at `validity_ts`, errors are XML, success carries
//! an `ETag` (the MD5 of the bytes, quoted, as S3 does for a single PUT).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, ETAG, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, Operation};
use crate::error::{ApiError, S3Error};
use crate::extract::ApiPath;
use crate::faults::{Corrupter, Faults};
use crate::store::{Upload, UploadContent};

/// "The upload URL expires 60 minutes after its creation" (create_upload_url docs).
const UPLOAD_VALIDITY: Duration = Duration::from_secs(3600);

/// How far in the past an URL that a fault expired "now" expires, so that even a PUT in the same
/// millisecond is refused.
const EXPIRED_NOW: Duration = Duration::from_millis(1);

/// `POST /cache` (create_upload_url). Takes no body; whatever is sent is ignored.
pub(crate) async fn create_upload_url(
    State(app): State<Arc<App>>,
    caller: Caller,
    Faults(faults): Faults,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.authorize(Operation::CreateUploadUrl)?;
    let now = app.clock.now();
    let validity_ts = if faults.expire_now { now.minus(EXPIRED_NOW) } else { now.plus(UPLOAD_VALIDITY) };
    let upload = Upload {
        handler: Uuid::new_v4().to_string(),
        token: Uuid::new_v4().simple().to_string(),
        created_ts: now,
        validity_ts,
        content: None,
    };
    let body = json!({
        "handler": upload.handler,
        "url": format!("{}/upload/{}", app.base_url, upload.token),
        "validity_ts": upload.validity_ts,
    });
    app.store
        .write(|state| {
            state.sweep_uploads(now, &app.store.blobs);
            state.insert_upload(upload);
        })
        .await
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /cache/{handler}` (invalidate_upload_url): the URL stops accepting PUTs and bytes that
/// were uploaded are deleted; Docs already attached from it keep their own copy. An unknown (or
/// already invalidated) handler is 404/404653.
pub(crate) async fn invalidate_upload_url(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(handler): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::InvalidateUploadUrl)?;
    let blobs = &app.store.blobs;
    let removed = app.store.write(|state| state.remove_upload(&handler, blobs)).await.map_err(ApiError::internal)?;
    match removed {
        Some(_) => Ok(Json(json!({ "handler": handler }))),
        None => Err(ApiError::not_found(format!("Upload handler [{handler}] not found."))),
    }
}

/// `PUT /upload/{token}`: streams the body to disk, hashing as it goes; memory use does not
/// depend on the size of the body. With the `corrupt` fault the stored bytes (and so the ETag and
/// the SHA-256 an attach compares with the client's `hash`) have their first byte flipped.
pub(crate) async fn put_upload(
    State(app): State<Arc<App>>,
    ApiPath(token): ApiPath<String>,
    Faults(faults): Faults,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, S3Error> {
    let mut validity_ts = app
        .store
        .read(|state| state.upload_by_token(&token).map(|u| u.validity_ts))
        .ok_or_else(S3Error::no_such_key)?;
    if faults.expire_now {
        validity_ts = app.clock.now().minus(EXPIRED_NOW);
        app.store
            .write(|state| {
                if let Some(upload) = state.upload_by_token_mut(&token) {
                    upload.validity_ts = validity_ts;
                }
            })
            .await
            .map_err(S3Error::internal)?;
    }
    if headers.contains_key(AUTHORIZATION) {
        return Err(S3Error::access_denied(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        ));
    }
    if app.clock.now() > validity_ts {
        return Err(S3Error::access_denied("Request has expired"));
    }
    let declared = declared_length(&headers)?;
    if declared > app.max_upload_bytes {
        return Err(S3Error::entity_too_large());
    }

    let mut writer = app.store.blobs.incoming().map_err(S3Error::internal)?;
    let mut corrupter = Corrupter::new(faults.corrupt);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            tracing::info!(%err, "upload body cut off");
            S3Error::incomplete_body()
        })?;
        let chunk = corrupter.pass(chunk);
        writer.write(&chunk).await.map_err(S3Error::internal)?;
    }
    if writer.size() != declared {
        return Err(S3Error::incomplete_body());
    }
    let received = writer.finish().await.map_err(S3Error::internal)?;
    let etag = format!("\"{}\"", received.md5);
    let size = received.size;

    let now = app.clock.now();
    app.store
        .write(|state| {
            // Checked again under the lock: the URL may have been swept meanwhile.
            let upload = state.upload_by_token_mut(&token).ok_or_else(S3Error::no_such_key)?;
            let content = UploadContent {
                size: received.size,
                sha256: received.sha256.clone(),
                md5: received.md5.clone(),
                uploaded_ts: now,
            };
            // Renamed under the lock so that an attach never links a half-replaced state.
            app.store.blobs.commit_upload(received, &token).map_err(S3Error::internal)?;
            upload.content = Some(content);
            Ok(())
        })
        .await
        .map_err(S3Error::internal)??;
    tracing::info!(size, "upload received");

    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, value);
    }
    Ok(response)
}

/// The body length, which S3 insists on knowing up front.
fn declared_length(headers: &HeaderMap) -> Result<u64, S3Error> {
    if headers.contains_key(TRANSFER_ENCODING) {
        return Err(S3Error::missing_content_length());
    }
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .ok_or_else(S3Error::missing_content_length)
}
