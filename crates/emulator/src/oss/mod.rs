//! OSS PostObject, the browser-form upload that HBR's `CreateTempFileUploadUrl` prepares (spec
//! `other-apis.md` §4, decisions D-O1..D-O5), and a signed GET to read objects back (the URL
//! HBR's `GetTempFileDownloadLink` hands out), on the same server and port as Trusted Twin:
//!
//! - `POST /__oss/{bucket}` (or `/__oss/{bucket}/`), `multipart/form-data`: the form is read as it
//!   streams, the file part goes to disk in constant memory, and everything OSS checks is checked
//!   (the form's shape, the access key, the policy's signature, expiry and conditions, the size
//!   range, the object name);
//! - `GET /__oss/{bucket}/{key}?OSSAccessKeyId=..&Expires=..&Signature=..`: the object's bytes.
//!
//! With a host endpoint (`Config::oss_endpoint`) the same is served virtual-hosted, as at
//! Alibaba: `POST /` and `GET /{key}` with `Host: {bucket}.{endpoint}` ([`virtual_host`]).
//!
//! There is one bucket, `hbr-temp-bucket`. The emulator's OSS AccessKeyId and secret are random
//! per state (or `Config::oss_access_key`).
//!
//! # Layout
//!
//! - [`Oss`] (this file): credentials, where objects live, the byte counter, the CRC-64, the
//!   headers every answer carries, the routes.
//! - `error`: the XML error body.
//! - `model`: the objects (part of the persisted `store::State`).
//! - `policy`: the policy document, its conditions and the signatures.
//! - `post`: PostObject.
//! - `get`: the signed GET.

mod error;
mod get;
mod model;
mod policy;
mod post;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use uuid::Uuid;

use crate::app::App;
use crate::config::AccessKey;
use crate::signing::percent_encode_path;
use crate::store::Store;
use crate::Config;

pub(crate) use error::OssError;
pub(crate) use model::{OssObject, OssState};

/// The one bucket (the name HBR answers with).
pub(crate) const BUCKET: &str = "hbr-temp-bucket";

/// OSS's object size limit (5 GB).
pub(crate) const MAX_OBJECT: u64 = 5 * 1024 * 1024 * 1024;

/// CRC-64/XZ: the ECMA-182 polynomial, reflected, initial and final value all ones, which is what
/// OSS reports as `x-oss-hash-crc64ecma`.
pub(crate) const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_XZ);

pub(crate) struct Oss {
    /// `<blobs>/oss/<blob>`: the objects' bytes.
    root: PathBuf,
    pub(crate) access_key: AccessKey,
    bytes_received: AtomicU64,
    /// `Config::oss_endpoint`: the host name buckets are virtual-hosted under.
    pub(crate) endpoint: Option<String>,
}

impl Oss {
    pub(crate) fn open(config: &Config, store: &Store) -> io::Result<Oss> {
        let root = store.blobs.root().join("oss");
        crate::blobs::create_dir_private(&root)?;
        let (stored, known) = store.read(|state| {
            let stored = AccessKey { id: state.oss.access_key_id.clone(), secret: state.oss.access_key_secret.clone() };
            let known: std::collections::HashSet<String> =
                state.oss.objects.values().map(|object| object.blob.clone()).collect();
            (stored, known)
        });
        // Files the state does not know: an upload cut off by a crash, or a replaced object's.
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                if !known.contains(entry.file_name().to_string_lossy().as_ref()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let access_key = config.oss_access_key.clone().unwrap_or(stored);
        let endpoint = config.oss_endpoint.clone();
        if let Some(host) = &endpoint {
            let name = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !host.split('.').all(name) || config.hbr_form_target.is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("oss endpoint {host:?}: a host name without port, and not with an HBR form target"),
                ));
            }
        }
        Ok(Oss { root, access_key, bytes_received: AtomicU64::new(0), endpoint })
    }

    pub(crate) fn path(&self, blob: &str) -> PathBuf {
        self.root.join(blob)
    }

    pub(crate) fn remove_blob(&self, blob: &str) {
        if let Err(err) = std::fs::remove_file(self.path(blob)) {
            if err.kind() != io::ErrorKind::NotFound {
                tracing::warn!(%err, blob, "could not delete an OSS object's bytes");
            }
        }
    }

    pub(crate) fn count_received(&self, bytes: u64) {
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Body bytes PostObject received since the start, thrown-away ones included.
    pub(crate) fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    /// `base64(HMAC-SHA1(secret, policy))` with the emulator's OSS secret.
    pub(crate) fn sign_policy(&self, policy_b64: &str) -> String {
        policy::sign(&self.access_key.secret, policy_b64)
    }

    /// A signed GET URL for an object of the emulator's bucket, valid until `expires`.
    pub(crate) fn download_url(&self, base_url: &str, key: &str, expires: u64) -> String {
        let signature = policy::sign_url(&self.access_key.secret, "GET", expires, BUCKET, key);
        format!(
            "{}?OSSAccessKeyId={}&Expires={expires}&Signature={}",
            self.object_url(base_url, BUCKET, key),
            crate::signing::percent_encode(&self.access_key.id),
            crate::signing::percent_encode(&signature)
        )
    }

    /// Where an object is read: `{base}/__oss/{bucket}/{key}`, or virtual-hosted
    /// `http://{bucket}.{endpoint}:{port}/{key}` on the emulator's own port.
    pub(crate) fn object_url(&self, base_url: &str, bucket: &str, key: &str) -> String {
        let port = base_url.parse::<Uri>().ok().and_then(|uri| uri.port_u16());
        match (&self.endpoint, port) {
            (Some(host), Some(port)) => format!("http://{bucket}.{host}:{port}/{}", percent_encode_path(key)),
            _ => format!("{base_url}/__oss/{bucket}/{}", percent_encode_path(key)),
        }
    }
}

/// An OSS request id: 24 uppercase hex digits.
pub(crate) fn request_id() -> String {
    Uuid::new_v4().simple().to_string()[..24].to_uppercase()
}

/// `x-oss-request-id` and `Server: AliyunOSS`, on every OSS answer.
pub(crate) fn common_headers(headers: &mut HeaderMap, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-oss-request-id", value);
    }
    headers.insert("server", HeaderValue::from_static("AliyunOSS"));
}

/// With a host endpoint, a request to `{bucket}.{endpoint}` (any port) is OSS's, as at Alibaba:
/// it is routed as `/__oss/{bucket}{path}` before anything else looks at it (the routes, the
/// faults, the log), so the one PostObject and GET serve both styles.
pub(crate) async fn virtual_host(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let bucket = app.oss.endpoint.as_deref().and_then(|endpoint| {
        let host = match request.uri().authority() {
            Some(authority) => authority.host().to_owned(),
            None => request.headers().get("host")?.to_str().ok()?.to_owned(),
        };
        let host = host.rsplit_once(':').map_or(host.as_str(), |(name, _)| name).to_ascii_lowercase();
        let bucket = host.trim_end_matches('.').strip_suffix(endpoint)?.strip_suffix('.')?.to_owned();
        (!bucket.is_empty() && !bucket.contains('.')).then_some(bucket)
    });
    if let Some(bucket) = bucket {
        let path = request.uri().path_and_query().map_or("/", |path| path.as_str());
        match format!("/__oss/{bucket}{path}").parse::<Uri>() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(err) => tracing::info!(%err, "OSS: a virtual-hosted path that makes no URI"),
        }
    }
    next.run(request).await
}

pub(crate) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/__oss/{bucket}", post(post::post_object))
        .route("/__oss/{bucket}/", post(post::post_object))
        .route("/__oss/{bucket}/{*key}", get(get::get_object))
        // The file part is streamed to disk, whatever its size.
        .layer(DefaultBodyLimit::disable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_the_xz_ecma_variant() {
        // The catalogue check value of CRC-64/XZ, and OSS's value for an empty object.
        assert_eq!(CRC64.checksum(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(CRC64.checksum(b""), 0);
        let mut digest = CRC64.digest();
        digest.update(b"1234");
        digest.update(b"56789");
        assert_eq!(digest.finalize(), 0x995D_C9BB_DF19_39FA);
    }
}
