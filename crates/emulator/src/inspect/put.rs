//! `PUT /__presigned/{id}?expires=..&sig=..`: the emulator's presigned URL (D-S2).
//!
//! No `Authorization` (the URL is the authorisation; a second auth mechanism is refused, as S3
//! does). Checked in this order, each refusal an S3-style XML error after the body was read:
//! the signature over the id, the expiry and the request's Content-Type (403
//! `SignatureDoesNotMatch`: a missing or different Content-Type lands here, as with S3 SigV2),
//! the expiry (403 `AccessDenied` "Request has expired"), a `Content-Length` (411
//! `MissingContentLength`), the length against the declared size (400 `IncompleteBody`), the
//! SHA-256 against the declared hash (400 `BadDigest`). The body is streamed to disk in constant
//! memory; success is 200 with `ETag: "<md5 hex>"`, and a later PUT replaces the bytes.
//!
//! The `corrupt` fault flips the first byte on its way to disk, before it is hashed: the SHA-256
//! check then sees what would be stored, so the PUT is refused with `BadDigest` and nothing kept.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::model::Uploaded;
use super::presign;
use crate::app::App;
use crate::error::S3Error;
use crate::faults::{Corrupter, Faults};
use crate::redivis::drain;
use crate::signing::{base64_decode, query_pairs, query_value};

pub(crate) async fn put(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Faults(faults): Faults,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, S3Error> {
    let declared = match check(&app, &id, &uri, &headers) {
        Ok(declared) => declared,
        Err(err) => {
            drain(body).await;
            return Err(err);
        }
    };
    let (size, hash) = declared;

    let mut writer = app.store.blobs.incoming().map_err(S3Error::internal)?;
    let mut corrupter = Corrupter::new(faults.corrupt);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            tracing::info!(%err, "Inspect PUT body cut off; nothing kept");
            S3Error::incomplete_body()
        })?;
        let chunk = corrupter.pass(chunk);
        writer.write(&chunk).await.map_err(S3Error::internal)?;
    }
    if writer.size() != size {
        return Err(S3Error::incomplete_body());
    }
    let received = writer.finish().await.map_err(S3Error::internal)?;
    if !hex::decode(&received.sha256).is_ok_and(|digest| digest == hash) {
        return Err(S3Error::bad_digest("The SHA-256 of the body you sent does not match the declared hash."));
    }
    let etag = format!("\"{}\"", received.md5);
    let uploaded = Uploaded { md5: received.md5.clone(), uploaded_ts: app.clock.now() };
    let path = app.inspect.path(&id);
    app.store
        .write(|state| {
            let file = state.inspect.files.get_mut(&id).ok_or_else(S3Error::no_such_key)?;
            // Renamed under the lock, so Complete never sees half-replaced bytes.
            received.persist(&path).map_err(S3Error::internal)?;
            file.uploaded = Some(uploaded);
            Ok(())
        })
        .await
        .map_err(S3Error::internal)??;
    tracing::info!(id, size, "Inspect: bytes received");
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, value);
    }
    Ok(response)
}

/// Everything that is decided before a byte is read; returns the declared size and SHA-256.
fn check(app: &App, id: &str, uri: &Uri, headers: &HeaderMap) -> Result<(u64, Vec<u8>), S3Error> {
    if headers.contains_key(AUTHORIZATION) {
        return Err(S3Error::access_denied(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        ));
    }
    let pairs = query_pairs(uri.query());
    let (Some(expires), Some(sig)) = (query_value(&pairs, "expires"), query_value(&pairs, "sig")) else {
        return Err(S3Error::access_denied("Query-string authentication requires the expires and sig parameters"));
    };
    let expires: u64 = expires
        .parse()
        .map_err(|_| S3Error::access_denied(format!("Invalid date (should be seconds since epoch): {expires}")))?;
    let content_type = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !presign::verify(&app.inspect.signing_key, id, expires, content_type, sig) {
        tracing::info!(id, content_type, "Inspect PUT: signature does not match (wrong Content-Type?)");
        return Err(S3Error::signature_does_not_match());
    }
    if app.clock.now().as_millis() > expires.saturating_mul(1000) {
        return Err(S3Error::access_denied("Request has expired"));
    }
    let file = app.store.read(|state| state.inspect.files.get(id).cloned()).ok_or_else(S3Error::no_such_key)?;
    if headers.contains_key(TRANSFER_ENCODING) {
        return Err(S3Error::missing_content_length());
    }
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .ok_or_else(S3Error::missing_content_length)?;
    if length != file.size {
        return Err(S3Error::new(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            format!("The body has {length} bytes, the file was declared with {} bytes.", file.size),
        ));
    }
    let hash = base64_decode(&file.hash).unwrap_or_default();
    Ok((file.size, hash))
}
