//! A delegated data plane: an external GCS-compatible server (gcp-storage-emulator, ...) that
//! receives the bytes of Redivis temp uploads instead of the emulator
//! (`Config::redivis_data_plane`, `twindrop emulator --redivis-data-plane URL --redivis-bucket B`).
//!
//! A temp upload `{id}` becomes the object `redivis/{id}` of the bucket. Its URL starts a GCS
//! resumable upload there; rawFiles asks the server for the object's metadata to learn whether it
//! is complete, its size and its MD5.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use super::error::RedivisError;
use super::model::Content;
use crate::config::RedivisDataPlane;

/// A metadata read that takes longer than this is a failure of the data plane.
const TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct DataPlane {
    base_url: String,
    bucket: String,
    http: reqwest::Client,
}

/// The fields of a GCS object resource that rawFiles needs. GCS sends `size` as a string.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object {
    size: SizeField,
    md5_hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeField {
    Text(String),
    Number(u64),
}

impl DataPlane {
    pub(crate) fn new(config: &RedivisDataPlane) -> std::io::Result<DataPlane> {
        let http = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(std::io::Error::other)?;
        Ok(DataPlane {
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            bucket: config.bucket.clone(),
            http,
        })
    }

    /// Where the client starts the resumable upload of temp upload `id`.
    pub(crate) fn upload_url(&self, id: &str) -> String {
        format!("{}/upload/storage/v1/b/{}/o?uploadType=resumable&name=redivis/{id}", self.base_url, self.bucket)
    }

    /// The object's size and MD5, or `None` while it does not exist (not uploaded, or not
    /// finalized: a GCS object appears only when its upload completes).
    pub(crate) async fn object(&self, id: &str) -> Result<Option<Content>, RedivisError> {
        let url = format!("{}/storage/v1/b/{}/o/redivis%2F{id}", self.base_url, self.bucket);
        let failed = |why: String| {
            tracing::warn!(url, why, "the delegated data plane failed");
            RedivisError::upstream(format!("The data plane could not be asked about temp upload '{id}': {why}"))
        };
        let response = self.http.get(&url).send().await.map_err(|err| failed(err.to_string()))?;
        match response.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            status if !status.is_success() => return Err(failed(format!("it answered {status}"))),
            _ => {}
        }
        let bytes = response.bytes().await.map_err(|err| failed(err.to_string()))?;
        let object: Object =
            serde_json::from_slice(&bytes).map_err(|err| failed(format!("unexpected answer: {err}")))?;
        let size = match object.size {
            SizeField::Number(size) => size,
            SizeField::Text(text) => text.parse().map_err(|_| failed(format!("size '{text}' is not a number")))?,
        };
        let md5 = object.md5_hash.ok_or_else(|| failed("the object has no md5Hash".into()))?;
        Ok(Some(Content { size, md5 }))
    }
}
