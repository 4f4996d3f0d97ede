//! Inspect's error body: `{"error": "<Word>", "errorDescription": "<text>"}` (spec §2.1), with
//! the word naming the status (`BadRequest` 400, `Unauthorized` 401, `Forbidden` 403, `NotFound`
//! 404, `Conflict` 409, `InternalServerError` 500). The presigned URL itself answers S3-style XML
//! instead (`crate::error::S3Error`).

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub(crate) struct InspectError {
    status: StatusCode,
    error: Cow<'static, str>,
    description: String,
}

impl InspectError {
    fn new(status: StatusCode, error: impl Into<Cow<'static, str>>, description: impl Into<String>) -> Self {
        InspectError { status, error: error.into(), description: description.into() }
    }

    pub(crate) fn bad_request(description: impl Into<String>) -> Self {
        InspectError::new(StatusCode::BAD_REQUEST, "BadRequest", description)
    }

    /// What every API call without a valid `Authorization: Bearer <secret>` gets (D-S1).
    pub(crate) fn unauthorized() -> Self {
        InspectError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Authentication is required to access this resource",
        )
    }

    pub(crate) fn not_found(description: impl Into<String>) -> Self {
        InspectError::new(StatusCode::NOT_FOUND, "NotFound", description)
    }

    pub(crate) fn conflict(description: impl Into<String>) -> Self {
        InspectError::new(StatusCode::CONFLICT, "Conflict", description)
    }

    /// For failures of the emulator itself. The cause goes to the log only.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error (Inspect)");
        InspectError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Internal server error.")
    }

    /// 500 with a description the client may see (the delegated data plane failed).
    pub(crate) fn upstream(description: impl Into<String>) -> Self {
        InspectError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", description)
    }

    /// An error a fault rule asked for: the word is the status' reason without spaces
    /// (`ServiceUnavailable`, `TooManyRequests`, ...).
    pub(crate) fn injected(status: StatusCode) -> Self {
        InspectError::new(status, word(status), "Injected fault.")
    }
}

fn word(status: StatusCode) -> Cow<'static, str> {
    match status.as_u16() {
        400 => "BadRequest".into(),
        500 => "InternalServerError".into(),
        _ => status.canonical_reason().unwrap_or("Error").replace([' ', '-', '\''], "").into(),
    }
}

impl IntoResponse for InspectError {
    fn into_response(self) -> Response {
        tracing::info!(status = self.status.as_u16(), error = %self.error, description = %self.description, "Inspect error");
        let body = json!({"error": self.error, "errorDescription": self.description});
        (self.status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_name_the_status() {
        assert_eq!(word(StatusCode::SERVICE_UNAVAILABLE), "ServiceUnavailable");
        assert_eq!(word(StatusCode::TOO_MANY_REQUESTS), "TooManyRequests");
        assert_eq!(word(StatusCode::CONFLICT), "Conflict");
        assert_eq!(word(StatusCode::NOT_FOUND), "NotFound");
        assert_eq!(word(StatusCode::INTERNAL_SERVER_ERROR), "InternalServerError");
    }
}
