//! Request bodies: the API's JSON (with D-R1 errors instead of axum's plain-text rejections), and
//! draining a data-plane body that is refused, so its bytes are counted like the client sent them
//! and the connection stays usable.

use axum::body::Body;
use axum::extract::{FromRequest, Path, Request};
use axum::http::request::Parts;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::RedivisError;

/// Large enough for 1000 temp uploads or files with long names.
const MAX_JSON_BODY: usize = 8 << 20;

/// A JSON request body of type `T`.
pub(crate) struct Json<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = RedivisError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, RedivisError> {
        let mut stream = req.into_body().into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| RedivisError::invalid(format!("Request body could not be read: {err}")))?;
            if bytes.len() + chunk.len() > MAX_JSON_BODY {
                return Err(RedivisError::invalid("Request body is too large."));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|err| RedivisError::invalid(format!("Invalid request body: {err}")))
    }
}

/// Path parameters, percent-decoded (`demo.sandbox%3Av1.files` → `demo.sandbox:v1.files`).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = RedivisError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RedivisError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| RedivisError::invalid(rejection.body_text()))
    }
}

/// Reads a body to its end (or to a broken connection) and throws it away; returns its length.
pub(crate) async fn drain(body: Body) -> u64 {
    let mut stream = body.into_data_stream();
    let mut length = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        length += chunk.len() as u64;
    }
    length
}

/// Answers `error` after draining `body`.
pub(crate) async fn refuse<T>(body: Body, error: RedivisError) -> Result<T, RedivisError> {
    drain(body).await;
    Err(error)
}
