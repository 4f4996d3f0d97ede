//! Redivis' error body (decision D-R1): `{"status": N, "error": "<snake_code>",
//! "error_description": "<text>"}`, the shape the current Python and R clients parse. The data
//! plane answers with the same body, so a client needs one parser.

use std::borrow::Cow;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The status of a cancelled resumable session, as GCS answers a `DELETE` of it.
const CLIENT_CLOSED_REQUEST: u16 = 499;

#[derive(Debug)]
pub(crate) struct RedivisError {
    status: StatusCode,
    code: Cow<'static, str>,
    description: String,
    retry_after: Option<u64>,
}

impl RedivisError {
    fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, description: impl Into<String>) -> Self {
        RedivisError { status, code: code.into(), description: description.into(), retry_after: None }
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid(description: impl Into<String>) -> Self {
        RedivisError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 with a more specific code (`temp_upload_used`, `name_conflict`).
    pub(crate) fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        RedivisError::new(StatusCode::BAD_REQUEST, code, description)
    }

    pub(crate) fn unauthorized(description: impl Into<String>) -> Self {
        RedivisError::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    pub(crate) fn not_found(description: impl Into<String>) -> Self {
        RedivisError::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub(crate) fn rate_limited(retry_after: u64) -> Self {
        RedivisError {
            retry_after: Some(retry_after),
            ..RedivisError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                format!("Rate limit exceeded. Retry after {retry_after} seconds."),
            )
        }
    }

    pub(crate) fn cancelled() -> Self {
        let status = StatusCode::from_u16(CLIENT_CLOSED_REQUEST).unwrap_or(StatusCode::BAD_REQUEST);
        RedivisError::new(status, "cancelled", "The resumable upload session was cancelled.")
    }

    /// For failures of the emulator itself (disk full, ...). The cause goes to the log only.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error (Redivis)");
        RedivisError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error.")
    }

    /// 500 with a description the client may see (e.g. the delegated data plane failed).
    pub(crate) fn upstream(description: impl Into<String>) -> Self {
        RedivisError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", description)
    }

    /// An error a fault rule asked for.
    pub(crate) fn injected(status: StatusCode) -> Self {
        let code: Cow<'static, str> = match status.as_u16() {
            400 => "invalid_request".into(),
            401 => "invalid_token".into(),
            403 => "insufficient_scope".into(),
            404 => "not_found".into(),
            429 => "rate_limit_exceeded".into(),
            500 => "internal_error".into(),
            _ => status.canonical_reason().unwrap_or("error").to_lowercase().replace([' ', '-'], "_").into(),
        };
        RedivisError::new(status, code, "Injected fault.")
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for RedivisError {
    fn into_response(self) -> Response {
        tracing::info!(status = self.status.as_u16(), code = %self.code, description = %self.description, "Redivis error");
        let body = json!({
            "status": self.status.as_u16(),
            "error": self.code,
            "error_description": self.description,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_statuses_get_snake_codes() {
        assert_eq!(RedivisError::injected(StatusCode::SERVICE_UNAVAILABLE).code, "service_unavailable");
        assert_eq!(RedivisError::injected(StatusCode::TOO_MANY_REQUESTS).code, "rate_limit_exceeded");
        assert_eq!(RedivisError::injected(StatusCode::BAD_GATEWAY).code, "bad_gateway");
        assert_eq!(RedivisError::cancelled().status().as_u16(), 499);
    }
}
