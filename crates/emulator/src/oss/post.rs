//! PostObject: `POST /__oss/{bucket}` with a `multipart/form-data` body (spec §4.1).
//!
//! The form is read as it streams. Fields before `file` are collected (names case-insensitive,
//! a duplicate is refused); when the `file` part starts, everything that does not depend on the
//! bytes is checked, in this order:
//!
//! 1. `key` present, 1–1023 bytes, not starting with `/` or `\` (400 `InvalidArgument`,
//!    `InvalidObjectName`);
//! 2. `OSSAccessKeyId`, `policy` and `Signature` all or none (400 `InvalidArgument`; none: 403
//!    `AccessDenied`, the bucket is private);
//! 3. the access key (403 `InvalidAccessKeyId`), the signature over the policy (403
//!    `SignatureDoesNotMatch`, D-O2), the policy's form (400 `InvalidPolicyDocument`), its
//!    expiration (403 `AccessDenied` "Invalid according to Policy: Policy expired.") and each
//!    condition but the size (403 `AccessDenied` "Invalid according to Policy: Policy Condition
//!    failed: ...").
//!
//! Then the file streams to disk (with its MD5 and CRC-64), fields after it are read and ignored,
//! and its size is held against `content-length-range` (400 `EntityTooLarge` / `EntityTooSmall`,
//! D-O1). A refused form is still read to its end, so the client gets the answer.
//!
//! Success: `success_action_redirect` → 303 to `<url>?bucket=&key=&etag=` (D-O4);
//! `success_action_status` 200 → 200, 201 → 201 with the `PostResponse` XML, anything else 204.
//! Headers `ETag: "<MD5 upper hex>"`, `x-oss-hash-crc64ecma: <decimal>`, `x-oss-request-id`,
//! `Server: AliyunOSS`.
//!
//! The `corrupt` fault flips the file's first byte on its way to disk, before the MD5 and CRC-64
//! are computed: the object is stored damaged and its `ETag` and CRC-64 describe the damage. The
//! `oss_checksums` fault changes what the success says: an `ETag` that is no MD5, no CRC-64
//! header, or neither.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, ETAG, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use multer::{Field, Multipart};
use uuid::Uuid;

use super::error::OssError;
use super::model::OssObject;
use super::policy::{self, Policy};
use super::{common_headers, request_id, BUCKET, CRC64, MAX_OBJECT};
use crate::app::App;
use crate::error::xml_escape;
use crate::faults::{Corrupter, Faults};
use crate::redivis::drain;
use crate::signing::percent_encode;
use crate::OssChecksums;

/// All the form's fields but the file, together: plenty for a policy and some metadata.
const MAX_FIELDS_BYTES: usize = 1 << 20;

/// OSS's limit on object names.
const MAX_KEY_BYTES: usize = 1023;

pub(crate) async fn post_object(
    State(app): State<Arc<App>>,
    Path(bucket): Path<String>,
    Faults(faults): Faults,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let boundary = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(multer::parse_boundary);
    let Some(Ok(boundary)) = boundary else {
        drain(body).await;
        return OssError::not_multipart().into_response();
    };
    if bucket != BUCKET {
        drain(body).await;
        return OssError::no_such_bucket().into_response();
    }
    let mut form = Multipart::new(body.into_data_stream(), boundary);
    let result = receive(&app, &bucket, &mut form, Corrupter::new(faults.corrupt)).await;
    let result = result.map(|(fields, object)| success(&app, &fields, &object, faults.oss_checksums));
    // Whatever follows (fields after `file`, or the rest of a refused form) is read and ignored.
    while let Ok(Some(field)) = form.next_field().await {
        drop(field);
    }
    result.unwrap_or_else(|err| err.into_response())
}

/// The form's fields before `file`, by lowercase name.
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// What the checks before the bytes decided.
struct Accepted {
    key: String,
    content_type: String,
    /// The policy's `content-length-range`, if any.
    range: Option<(u64, u64)>,
}

/// The form's fields and the object stored, once everything passed.
async fn receive(
    app: &App,
    bucket: &str,
    form: &mut Multipart<'_>,
    corrupter: Corrupter,
) -> Result<(Fields, OssObject), OssError> {
    let mut fields = Fields(BTreeMap::new());
    let mut total = 0usize;
    loop {
        let Some(field) = form.next_field().await.map_err(|_| OssError::malformed())? else {
            return Err(OssError::invalid_argument("POST requires exactly one file upload per request."));
        };
        let name = field.name().ok_or_else(OssError::malformed)?.to_ascii_lowercase();
        if name == "file" {
            let accepted = check(app, bucket, &fields, &field)?;
            let object = store(app, bucket, &fields, accepted, field, corrupter).await?;
            return Ok((fields, object));
        }
        let value = field.bytes().await.map_err(|_| OssError::malformed())?;
        total += name.len() + value.len();
        if total > MAX_FIELDS_BYTES {
            return Err(OssError::invalid_argument("The form fields before 'file' are too large."));
        }
        let value = String::from_utf8(value.to_vec()).map_err(|_| OssError::malformed())?;
        if fields.0.insert(name.clone(), value).is_some() {
            return Err(OssError::invalid_argument(format!("The form field '{name}' appears twice.")));
        }
    }
}

fn check(app: &App, bucket: &str, fields: &Fields, file: &Field<'_>) -> Result<Accepted, OssError> {
    let key = fields.get("key").ok_or_else(|| {
        OssError::invalid_argument("Bucket POST must contain a field named 'key'; it must come before 'file'.")
    })?;
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(OssError::invalid_object_name("The Length of Object name must be between 1 and 1023 bytes."));
    }
    if key.starts_with('/') || key.starts_with('\\') {
        return Err(OssError::invalid_object_name("The specified object is not valid."));
    }
    let (access_key, policy_b64, signature) =
        (fields.get("ossaccesskeyid"), fields.get("policy"), fields.get("signature"));
    let (access_key, policy_b64, signature) = match (access_key, policy_b64, signature) {
        (Some(a), Some(p), Some(s)) => (a, p, s),
        (None, None, None) => {
            return Err(OssError::access_denied("You have no right to access this object because of bucket acl."))
        }
        _ => {
            return Err(OssError::invalid_argument(
                "If one of OSSAccessKeyId, policy and Signature is present, all three must be.",
            ))
        }
    };
    if access_key != app.oss.access_key.id {
        return Err(OssError::invalid_access_key());
    }
    if !policy::verifies(&app.oss.access_key.secret, policy_b64, signature) {
        return Err(OssError::signature_does_not_match());
    }
    let policy = Policy::parse(policy_b64).map_err(OssError::invalid_policy)?;
    if app.clock.now() > policy.expiration {
        return Err(OssError::access_denied("Invalid according to Policy: Policy expired."));
    }
    let file_type = file.content_type().map(|mime| mime.to_string());
    let form_type = fields.get("content-type").map(str::to_owned).or(file_type.clone());
    policy
        .allows(|name| match name {
            "bucket" => Some(bucket.to_owned()),
            "content-type" => form_type.clone(),
            _ => fields.get(name).map(str::to_owned),
        })
        .map_err(OssError::access_denied)?;
    // x-oss-content-type > the form's Content-Type > the file part's (spec §4.1).
    let content_type = fields
        .get("x-oss-content-type")
        .map(str::to_owned)
        .or(form_type)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Ok(Accepted { key: key.to_owned(), content_type, range: policy.length_range() })
}

async fn store(
    app: &App,
    bucket: &str,
    fields: &Fields,
    accepted: Accepted,
    mut file: Field<'_>,
    mut corrupter: Corrupter,
) -> Result<OssObject, OssError> {
    let (min, max) = accepted.range.unwrap_or((0, MAX_OBJECT));
    let max = max.min(MAX_OBJECT);
    let mut writer = app.store.blobs.incoming().map_err(OssError::internal)?;
    let mut crc = CRC64.digest();
    let mut size = 0u64;
    while let Some(chunk) = file.chunk().await.map_err(|_| OssError::malformed())? {
        size += chunk.len() as u64;
        // Past the limit the bytes are only counted: the answer will be EntityTooLarge.
        if size <= max {
            let chunk = corrupter.pass(chunk);
            crc.update(&chunk);
            writer.write(&chunk).await.map_err(OssError::internal)?;
        }
    }
    drop(file);
    if size > max {
        return Err(OssError::too_large());
    }
    if size < min {
        return Err(OssError::too_small());
    }
    let received = writer.finish().await.map_err(OssError::internal)?;
    let object = OssObject {
        bucket: bucket.to_owned(),
        key: accepted.key,
        blob: Uuid::new_v4().simple().to_string(),
        size,
        md5: received.md5.to_uppercase(),
        crc64: crc.finalize(),
        content_type: accepted.content_type,
        created_ts: app.clock.now(),
    };
    let forbid_overwrite = fields.get("x-oss-forbid-overwrite").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let path = app.oss.path(&object.blob);
    let now = app.clock.now();
    let gone = app
        .store
        .write(|state| {
            if forbid_overwrite && state.oss.object(bucket, &object.key).is_some() {
                return Err(OssError::file_already_exists());
            }
            received.persist(&path).map_err(OssError::internal)?;
            let mut gone = state.oss.sweep(now);
            gone.extend(state.oss.put(object.clone()));
            Ok(gone)
        })
        .await
        .map_err(OssError::internal)??;
    for old in gone {
        app.oss.remove_blob(&old.blob);
    }
    tracing::info!(key = object.key, size, "OSS: object stored");
    Ok(object)
}

fn success(app: &App, fields: &Fields, object: &OssObject, checksums: Option<OssChecksums>) -> Response {
    let etag = match checksums {
        None | Some(OssChecksums::NoCrc) => Some(format!("\"{}\"", object.md5)),
        Some(OssChecksums::EtagNotMd5) => {
            Some(format!("\"{}\"", Uuid::new_v4().hyphenated().to_string().to_uppercase()))
        }
        Some(OssChecksums::NoChecksum) => None,
    };
    let crc64 = checksums.is_none() || checksums == Some(OssChecksums::EtagNotMd5);
    let mut response = if let Some(redirect) = fields.get("success_action_redirect").filter(|url| !url.is_empty()) {
        let separator = if redirect.contains('?') { '&' } else { '?' };
        let location = format!(
            "{redirect}{separator}bucket={}&key={}&etag={}",
            percent_encode(&object.bucket),
            percent_encode(&object.key),
            percent_encode(etag.as_deref().unwrap_or(""))
        );
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(LOCATION, value);
        }
        response
    } else {
        match fields.get("success_action_status") {
            Some("200") => StatusCode::OK.into_response(),
            Some("201") => {
                let location = app.oss.object_url(&app.base_url, &object.bucket, &object.key);
                let etag = etag.as_deref().map(|etag| format!("  <ETag>{}</ETag>\n", xml_escape(etag)));
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse>\n  <Bucket>{}</Bucket>\n  \
                     <Location>{}</Location>\n  <Key>{}</Key>\n{}</PostResponse>\n",
                    xml_escape(&object.bucket),
                    xml_escape(&location),
                    xml_escape(&object.key),
                    etag.unwrap_or_default(),
                );
                let mut response = (StatusCode::CREATED, body).into_response();
                response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
                response
            }
            _ => StatusCode::NO_CONTENT.into_response(),
        }
    };
    let headers = response.headers_mut();
    common_headers(headers, &request_id());
    if let Some(Ok(value)) = etag.as_deref().map(HeaderValue::from_str) {
        headers.insert(ETAG, value);
    }
    if crc64 {
        headers.insert("x-oss-hash-crc64ecma", HeaderValue::from(object.crc64));
    }
    response
}
