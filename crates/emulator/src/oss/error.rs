//! OSS's error body (spec §4.5), `Content-Type: application/xml`, with the `x-oss-request-id`
//! and `Server: AliyunOSS` headers every OSS answer carries:
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <Error>
//!   <Code>AccessDenied</Code>
//!   <Message>Invalid according to Policy: Policy expired.</Message>
//!   <RequestId>5C06A3B67B8B5A3DA422299D</RequestId>
//!   <HostId>hbr-temp-bucket.oss.twindrop-emulator</HostId>
//! </Error>
//! ```
//!
//! (No `<EC>`: the documented EC numbers are too few to give every error a true one.)

use std::borrow::Cow;

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::common_headers;

#[derive(Debug)]
pub(crate) struct OssError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
}

impl OssError {
    fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        OssError { status, code: code.into(), message: message.into() }
    }

    pub(crate) fn not_multipart() -> Self {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "RequestIsNotMultiPartContent",
            "Bucket POST must be of the enclosure-type multipart/form-data",
        )
    }

    pub(crate) fn malformed() -> Self {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data",
        )
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        OssError::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }

    pub(crate) fn invalid_access_key() -> Self {
        OssError::new(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        )
    }

    /// D-O2: the doc prints the code two ways; oss2 maps `SignatureDoesNotMatch` to 403.
    pub(crate) fn signature_does_not_match() -> Self {
        OssError::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        )
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        OssError::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    pub(crate) fn invalid_policy(message: impl Into<String>) -> Self {
        OssError::new(StatusCode::BAD_REQUEST, "InvalidPolicyDocument", message)
    }

    /// D-O1: a size over the policy's `content-length-range` (or over 5 GB).
    pub(crate) fn too_large() -> Self {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        )
    }

    /// D-O1: a size under the policy's `content-length-range`.
    pub(crate) fn too_small() -> Self {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
        )
    }

    pub(crate) fn invalid_object_name(message: impl Into<String>) -> Self {
        OssError::new(StatusCode::BAD_REQUEST, "InvalidObjectName", message)
    }

    pub(crate) fn no_such_bucket() -> Self {
        OssError::new(StatusCode::NOT_FOUND, "NoSuchBucket", "The specified bucket does not exist.")
    }

    pub(crate) fn no_such_key() -> Self {
        OssError::new(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.")
    }

    pub(crate) fn file_already_exists() -> Self {
        OssError::new(
            StatusCode::CONFLICT,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )
    }

    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error (OSS)");
        OssError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    /// An error a fault rule asked for, with the code OSS uses for that status.
    pub(crate) fn injected(status: StatusCode) -> Self {
        let (code, message): (Cow<'static, str>, &str) = match status.as_u16() {
            500 => ("InternalError".into(), "We encountered an internal error. Please try again."),
            503 => ("ServiceUnavailable".into(), "Please reduce your request rate."),
            403 => ("AccessDenied".into(), "Injected fault."),
            404 => ("NoSuchKey".into(), "The specified key does not exist."),
            _ => (status.canonical_reason().unwrap_or("Error").replace([' ', '-'], "").into(), "Injected fault."),
        };
        OssError::new(status, code, message)
    }
}

impl IntoResponse for OssError {
    fn into_response(self) -> Response {
        let request_id = super::request_id();
        tracing::info!(status = self.status.as_u16(), code = %self.code, message = %self.message, "OSS error");
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  \
             <RequestId>{request_id}</RequestId>\n  <HostId>{}.oss.twindrop-emulator</HostId>\n</Error>\n",
            self.code,
            crate::error::xml_escape(&self.message),
            super::BUCKET,
        );
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        common_headers(response.headers_mut(), &request_id);
        response
    }
}
