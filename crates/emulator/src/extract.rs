//! Extractors that fail with the Trusted Twin error body instead of axum's plain-text rejections.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, Subcode};

/// Request JSON bodies above this size are refused with 400141 (spec §1).
const MAX_JSON_BODY: usize = 64 * 1024;

/// An optional JSON body. No body at all (the official client's `Content-Length: 0` POSTs) is
/// `None`; a body is checked for size, UTF-8 and JSON syntax, in that order, each with its own
/// subcode. The shape is left to the handler, which answers 400589 when it is wrong.
///
/// The `Content-Type` is not looked at: the official client sends `application/json` on every
/// request, and nothing says the server insists on it.
pub(crate) struct JsonBody(pub(crate) Option<Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let mut stream = req.into_body().into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|err| ApiError::request_format(format!("Request body could not be read: {err}")))?;
            if bytes.len() + chunk.len() > MAX_JSON_BODY {
                return Err(ApiError::new(Subcode::QuotaViolation, "Request body exceeds the 64 kB limit."));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ApiError::new(Subcode::InvalidCharacters, "Request body is not valid UTF-8."))?;
        if text.trim().is_empty() {
            return Ok(JsonBody(None));
        }
        serde_json::from_str(text)
            .map(|value| JsonBody(Some(value)))
            .map_err(|err| ApiError::new(Subcode::NotAValidJson, format!("Not a valid JSON: {err}")))
    }
}

/// Path parameters, percent-decoded (so `%2F` in a doc name becomes `/`).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::request_format(rejection.body_text()))
    }
}

/// Query parameters as plain strings; unknown ones are ignored, as a lenient server would.
pub(crate) struct ApiQuery(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(map)| ApiQuery(map))
            .map_err(|rejection| ApiError::request_format(rejection.body_text()))
    }
}

impl ApiQuery {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean flag. The official client sends Python's `True`/`False`; JSON-style and numeric
    /// spellings are accepted too.
    pub(crate) fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("true" | "True" | "TRUE" | "1") => Ok(true),
            Some("false" | "False" | "FALSE" | "0") => Ok(false),
            Some(other) => {
                Err(ApiError::request_format(format!("Query parameter '{name}' must be a boolean, got '{other}'.")))
            }
        }
    }
}
