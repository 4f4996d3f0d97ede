//! The two error dialects the emulator speaks.
//!
//! - [`ApiError`]: the Trusted Twin JSON body `{"subcode": int, "trace": "<uuid>", "description"}`.
//!   The HTTP status is derived from the subcode (its first three digits), so the two can never
//!   disagree.
//! - [`S3Error`]: the XML body an S3 presigned URL answers with, used by the upload URL, because
//!   the real upload URL is most likely one (spec §3.2).

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

/// Subcodes from the official `trustedtwin_utils` list. The official 0.4.x client raises a
/// KeyError on a subcode it does not know, so only codes from that list may appear here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subcode {
    QuotaViolation = 400_141,
    InvalidCharacters = 400_314,
    IdempotencyViolation = 400_358,
    NotAValidJson = 400_415,
    RequestFormat = 400_589,
    Unauthorized = 401_000,
    AccessForbidden = 403_535,
    NotFound = 404_653,
    General = 500_000,
}

impl Subcode {
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    #[cfg(test)]
    pub(crate) fn status(self) -> StatusCode {
        StatusCode::from_u16((self.code() / 1000) as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// An error answered with the Trusted Twin JSON error body.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// Always an official subcode: a [`Subcode`], or one a fault plan checked against the list.
    subcode: u32,
    description: String,
}

impl ApiError {
    pub(crate) fn new(subcode: Subcode, description: impl Into<String>) -> Self {
        ApiError { subcode: subcode.code(), description: description.into() }
    }

    /// An error a fault rule asked for; the plan was validated, so the subcode is official.
    pub(crate) fn injected(subcode: u32, description: impl Into<String>) -> Self {
        ApiError { subcode, description: description.into() }
    }

    pub(crate) fn request_format(description: impl Into<String>) -> Self {
        ApiError::new(Subcode::RequestFormat, description)
    }

    pub(crate) fn not_found(description: impl Into<String>) -> Self {
        ApiError::new(Subcode::NotFound, description)
    }

    /// For failures of the emulator itself (disk full, ...). The cause goes to the log only.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        ApiError::new(Subcode::General, "Internal server error.")
    }

    #[cfg(test)]
    pub(crate) fn subcode(&self) -> u32 {
        self.subcode
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let trace = Uuid::new_v4();
        let status = StatusCode::from_u16((self.subcode / 1000) as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        tracing::info!(
            subcode = self.subcode,
            %trace,
            description = %self.description,
            "answering with an error"
        );
        let body = json!({
            "subcode": self.subcode,
            "trace": trace.to_string(),
            "description": self.description,
        });
        (status, axum::Json(body)).into_response()
    }
}

/// An error answered with an S3-style XML body.
#[derive(Debug)]
pub(crate) struct S3Error {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
}

impl S3Error {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        S3Error { status, code: code.into(), message: message.into() }
    }

    pub(crate) fn signature_does_not_match() -> Self {
        S3Error::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        )
    }

    pub(crate) fn bad_digest(message: impl Into<String>) -> Self {
        S3Error::new(StatusCode::BAD_REQUEST, "BadDigest", message)
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        S3Error { status: StatusCode::FORBIDDEN, code: "AccessDenied".into(), message: message.into() }
    }

    pub(crate) fn no_such_key() -> Self {
        S3Error {
            status: StatusCode::NOT_FOUND,
            code: "NoSuchKey".into(),
            message: "The specified key does not exist.".into(),
        }
    }

    pub(crate) fn missing_content_length() -> Self {
        S3Error {
            status: StatusCode::LENGTH_REQUIRED,
            code: "MissingContentLength".into(),
            message: "You must provide the Content-Length HTTP header.".into(),
        }
    }

    pub(crate) fn entity_too_large() -> Self {
        S3Error {
            status: StatusCode::BAD_REQUEST,
            code: "EntityTooLarge".into(),
            message: "Your proposed upload exceeds the maximum allowed size".into(),
        }
    }

    pub(crate) fn incomplete_body() -> Self {
        S3Error {
            status: StatusCode::BAD_REQUEST,
            code: "IncompleteBody".into(),
            message: "You did not provide the number of bytes specified by the Content-Length HTTP header".into(),
        }
    }

    /// An error a fault rule asked for, with the code S3 uses for that status.
    pub(crate) fn injected(status: StatusCode) -> Self {
        let (code, message): (Cow<'static, str>, &str) = match status.as_u16() {
            500 => ("InternalError".into(), "We encountered an internal error. Please try again."),
            503 => ("SlowDown".into(), "Please reduce your request rate."),
            403 => ("AccessDenied".into(), "Access Denied"),
            404 => ("NoSuchKey".into(), "The specified key does not exist."),
            _ => {
                let reason = status.canonical_reason().unwrap_or("Error");
                (reason.replace(' ', "").into(), "Injected fault.")
            }
        };
        S3Error { status, code, message: message.into() }
    }

    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error on the upload URL");
        S3Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalError".into(),
            message: "We encountered an internal error. Please try again.".into(),
        }
    }
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        let request_id = Uuid::new_v4().simple().to_string().to_uppercase();
        tracing::info!(code = %self.code, message = %self.message, "upload URL answers with an error");
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId><HostId>twindrop-emulator</HostId></Error>",
            self.code,
            xml_escape(&self.message),
            request_id,
        );
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        response
    }
}

pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_subcode() {
        assert_eq!(Subcode::Unauthorized.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Subcode::RequestFormat.status(), StatusCode::BAD_REQUEST);
        assert_eq!(Subcode::AccessForbidden.status(), StatusCode::FORBIDDEN);
        assert_eq!(Subcode::NotFound.status(), StatusCode::NOT_FOUND);
        assert_eq!(Subcode::General.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn xml_messages_are_escaped() {
        assert_eq!(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
