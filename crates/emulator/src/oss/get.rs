//! `GET /__oss/{bucket}/{key}?OSSAccessKeyId=..&Expires=..&Signature=..` (and HEAD): an object's
//! bytes through a query-signed URL, the kind HBR's `GetTempFileDownloadLink` hands out. The
//! signature is OSS's V1 one, `base64(HMAC-SHA1(secret, "GET\n\n\n{Expires}\n/{bucket}/{key}"))`.
//! Refusals: no signature 403 `AccessDenied`; another access key 403 `InvalidAccessKeyId`; a
//! wrong signature 403 `SignatureDoesNotMatch`; past `Expires` 403 `AccessDenied` "Request has
//! expired."; unknown bucket or key 404 `NoSuchBucket` / `NoSuchKey`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::{HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};

use super::error::OssError;
use super::policy::url_verifies;
use super::{common_headers, request_id, BUCKET};
use crate::app::App;
use crate::signing::{query_pairs, query_value};

pub(crate) async fn get_object(
    State(app): State<Arc<App>>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    uri: Uri,
) -> Result<Response, OssError> {
    let pairs = query_pairs(uri.query());
    let (access_key, expires, signature) =
        (query_value(&pairs, "OSSAccessKeyId"), query_value(&pairs, "Expires"), query_value(&pairs, "Signature"));
    let (Some(access_key), Some(expires), Some(signature)) = (access_key, expires, signature) else {
        return Err(OssError::access_denied("You have no right to access this object because of bucket acl."));
    };
    if access_key != app.oss.access_key.id {
        return Err(OssError::invalid_access_key());
    }
    let expires: u64 = expires.parse().map_err(|_| OssError::access_denied("Invalid 'Expires' parameter."))?;
    // A HEAD is signed as a HEAD; the links HBR hands out are for GET.
    if !url_verifies(&app.oss.access_key.secret, method.as_str(), expires, &bucket, &key, signature) {
        return Err(OssError::signature_does_not_match());
    }
    if app.clock.now().as_millis() > expires.saturating_mul(1000) {
        return Err(OssError::access_denied("Request has expired."));
    }
    if bucket != BUCKET {
        return Err(OssError::no_such_bucket());
    }
    let object = app.store.read(|state| state.oss.object(&bucket, &key).cloned()).ok_or_else(OssError::no_such_key)?;
    let file = tokio::fs::File::open(app.oss.path(&object.blob)).await.map_err(OssError::internal)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = ([(CONTENT_TYPE, object.content_type.clone()), (CONTENT_LENGTH, object.size.to_string())], body)
        .into_response();
    let headers = response.headers_mut();
    common_headers(headers, &request_id());
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", object.md5)) {
        headers.insert(ETAG, value);
    }
    headers.insert("x-oss-hash-crc64ecma", HeaderValue::from(object.crc64));
    Ok(response)
}
