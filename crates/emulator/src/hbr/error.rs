//! HBR's error body (D-H1): HTTP 4xx/5xx with `{"RequestId", "Code", "Message", "HostId"}`, the
//! fields the Alibaba Cloud SDK reads.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::request_id;

#[derive(Debug)]
pub(crate) struct HbrError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
}

impl HbrError {
    fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        HbrError { status, code: code.into(), message: message.into() }
    }

    /// 400 with a business code (`MissingFileName`, `InvalidTimeStamp.Expired`, ...).
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        HbrError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn signature_does_not_match() -> Self {
        HbrError::bad_request("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
    }

    pub(crate) fn incomplete_signature(why: impl std::fmt::Display) -> Self {
        HbrError::bad_request(
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {why}"),
        )
    }

    pub(crate) fn access_key_not_found() -> Self {
        HbrError::new(StatusCode::NOT_FOUND, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    }

    /// An error a fault rule asked for.
    pub(crate) fn injected(status: StatusCode) -> Self {
        let (code, message): (Cow<'static, str>, &str) = match status.as_u16() {
            500 => ("InternalError".into(), "The request processing has failed due to some unknown error."),
            503 => ("ServiceUnavailable".into(), "The request has failed due to a temporary failure of the server."),
            429 => ("Throttling.User".into(), "Request was denied due to user flow control."),
            _ => (status.canonical_reason().unwrap_or("Error").replace([' ', '-'], "").into(), "Injected fault."),
        };
        HbrError::new(status, code, message)
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> &str {
        &self.code
    }
}

impl IntoResponse for HbrError {
    fn into_response(self) -> Response {
        tracing::info!(status = self.status.as_u16(), code = %self.code, message = %self.message, "HBR error");
        let body = json!({
            "RequestId": request_id(),
            "Code": self.code,
            "Message": self.message,
            "HostId": "hbr.aliyuncs.com",
        });
        (self.status, axum::Json(body)).into_response()
    }
}
