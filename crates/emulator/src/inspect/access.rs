//! Who may call the Inspect API (D-S1), and its request bodies and paths with Inspect's error
//! body instead of axum's plain-text rejections.
//!
//! Every `/api/inspect/v1/...` request needs `Authorization: Bearer <secret>`, the secret being
//! any one the emulator accepts for Trusted Twin (the same users; their Trusted Twin roles do not
//! apply here). Anything else is 401 `{"error": "Unauthorized", "errorDescription":
//! "Authentication is required to access this resource"}`.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::InspectError;
use crate::app::App;

/// A presigned-URL request is five short fields.
const MAX_JSON_BODY: usize = 64 * 1024;

pub(crate) async fn gate(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if app.users.accepts(token) => next.run(request).await,
        _ => InspectError::unauthorized().into_response(),
    }
}

/// A JSON request body, any shape (the handler checks it field by field).
pub(crate) struct JsonBody(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = InspectError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, InspectError> {
        let mut stream = req.into_body().into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|err| InspectError::bad_request(format!("Request body could not be read: {err}")))?;
            if bytes.len() + chunk.len() > MAX_JSON_BODY {
                return Err(InspectError::bad_request("Request body is too large."));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|err| InspectError::bad_request(format!("Request body is not valid JSON: {err}")))
    }
}

/// Path parameters, percent-decoded.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = InspectError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, InspectError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| InspectError::bad_request(rejection.body_text()))
    }
}
