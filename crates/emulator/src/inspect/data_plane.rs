//! A delegated data plane: an external S3-compatible server (s3rver) that receives the bytes of
//! Inspect uploads instead of the emulator (`Config::inspect_data_plane`,
//! `twindrop emulator --inspect-s3 URL --inspect-bucket B ...`).
//!
//! File `{id}` becomes the object `inspect/{id}` of the bucket. Its presigned URL is a SigV2
//! query-authenticated PUT URL, which s3rver verifies itself (signature, expiry, Content-Type).
//! Complete reads the object back with a SigV2-signed GET and checks its size and SHA-256.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::error::InspectError;
use super::model::InspectFile;
use crate::config::InspectDataPlane;
use crate::signing::{base64_decode, PresignedUrl};

/// A request that takes longer than this to start answering is a failure of the data plane.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How long the emulator's own read-back URL is valid, by the real clock (the peer's).
const READ_VALIDITY: Duration = Duration::from_secs(15 * 60);

pub(crate) struct DataPlane {
    config: InspectDataPlane,
    http: reqwest::Client,
}

/// What the data plane holds for a file.
pub(crate) enum Found {
    Matching,
    Missing,
    /// Present, but not the declared bytes (why).
    Different(String),
}

impl DataPlane {
    pub(crate) fn new(config: &InspectDataPlane) -> std::io::Result<DataPlane> {
        let http = reqwest::Client::builder().connect_timeout(TIMEOUT).build().map_err(std::io::Error::other)?;
        Ok(DataPlane { config: config.clone(), http })
    }

    fn key(id: &str) -> String {
        format!("inspect/{id}")
    }

    fn presigned(&self, method: &str, id: &str, content_type: &str, expires: u64) -> String {
        let key = DataPlane::key(id);
        PresignedUrl {
            endpoint: &self.config.endpoint,
            bucket: &self.config.bucket,
            key: &key,
            access_key_param: "AWSAccessKeyId",
            access_key: &self.config.access_key,
            secret: &self.config.secret_key,
            method,
            content_type,
            expires,
        }
        .to_url()
    }

    /// The SigV2 URL the client PUTs the bytes to, with `Content-Type: content_type`.
    pub(crate) fn presigned_put(&self, id: &str, content_type: &str, expires: u64) -> String {
        self.presigned("PUT", id, content_type, expires)
    }

    async fn get(&self, id: &str) -> Result<Option<reqwest::Response>, InspectError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let url = self.presigned("GET", id, "", (now + READ_VALIDITY).as_secs());
        let failed = |why: String| {
            tracing::warn!(id, why, "the delegated Inspect data plane failed");
            InspectError::upstream(format!("The data plane could not be asked about file '{id}': {why}"))
        };
        let response = self.http.get(&url).send().await.map_err(|err| failed(err.to_string()))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if !status.is_success() => Err(failed(format!("it answered {status}"))),
            _ => Ok(Some(response)),
        }
    }

    /// Reads the object back and compares it with the declared size and SHA-256.
    pub(crate) async fn check(&self, file: &InspectFile) -> Result<Found, InspectError> {
        let Some(mut response) = self.get(&file.id).await? else { return Ok(Found::Missing) };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|err| {
            InspectError::upstream(format!("Reading file '{}' from the data plane failed: {err}", file.id))
        })? {
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        if size != file.size {
            return Ok(Found::Different(format!(
                "The data plane holds {size} bytes for file '{}', {} were declared.",
                file.id, file.size
            )));
        }
        if base64_decode(&file.hash).is_none_or(|hash| hash != hasher.finalize().as_slice()) {
            return Ok(Found::Different(format!(
                "The bytes the data plane holds for file '{}' do not match the declared hash.",
                file.id
            )));
        }
        Ok(Found::Matching)
    }

    /// The object's bytes, streamed from the data plane.
    pub(crate) async fn download(&self, file: &InspectFile) -> Result<Body, InspectError> {
        let Some(response) = self.get(&file.id).await? else {
            return Err(InspectError::not_found(format!("File '{}' has no bytes on the data plane.", file.id)));
        };
        let stream = futures_util::stream::unfold(Some(response), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                Ok(None) => None,
                Err(err) => Some((Err(std::io::Error::other(err)), None)),
            }
        });
        Ok(Body::from_stream(stream))
    }
}
