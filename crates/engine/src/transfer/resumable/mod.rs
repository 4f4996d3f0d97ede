//! GCS-style resumable uploads (seed 002): initiate with `x-goog-resumable: start`, PUT chunks
//! with `Content-Range`, and always take the committed offset from the server, never from what
//! we sent. The server says it with a `308` and its `Range`; where it does not (a failure, or
//! seed 002's "empty with a status of 200" for a chunk taken before the end) it is asked
//! (`bytes */N`), so an upload carries on inside the file after a dropped connection or a
//! restart alike, and is only done when the server confirms every byte.
//!
//! The SHA-256 covers the whole file across resumes: the hasher only ever advances over bytes the
//! server has confirmed, and a resumed upload first re-reads (not re-sends) the committed prefix.
//!
//! # Layout
//!
//! - this file: sessions (initiate, status query, cancel) and reading `Range`;
//! - `reply`: what one chunk's answer says, failures in a row, and the `bytes=0-0` rule;
//! - `file`: a file, resumable across restarts through the journal ([`upload`], [`push`]);
//! - `stream`: a stream that can only be read once ([`upload_stream`]).

mod file;
mod reply;
mod stream;

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, LOCATION, RANGE};
use reqwest::StatusCode;

use super::{network_error, Sent};
use crate::error::{Error, Invalid, Result};
use crate::redact::redact_url;

pub use file::{push, upload};
pub use stream::upload_stream;

/// Non-final chunks must be multiples of this (GCS rejects others).
pub const CHUNK_QUANTUM: u64 = 256 * 1024;
pub const DEFAULT_CHUNK: u64 = 16 * 1024 * 1024;

/// An open session. The URI is opaque and, like an upload URL, a bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub uri: String,
    pub total: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("uri", &redact_url(&self.uri)).field("total", &self.total).finish()
    }
}

/// Where the server says a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// This many bytes are committed (the next byte to send).
    Committed(u64),
    Complete,
    /// The session expired or was cancelled: start a new one.
    Gone,
}

/// A chunk size the protocol accepts: a positive multiple of 256 KiB.
pub fn chunk_size(requested: u64) -> Result<u64> {
    if requested == 0 || !requested.is_multiple_of(CHUNK_QUANTUM) {
        return Err(Error::invalid(
            Invalid::ChunkSize,
            format!("chunk size {requested}: use a positive multiple of 256 KiB"),
        ));
    }
    Ok(requested)
}

/// Start a session for `total` bytes at a resumable initiation URL.
pub async fn initiate(http: &reqwest::Client, url: &str, total: u64) -> Result<Session> {
    Ok(Session { uri: start(http, url, Some(total)).await?, total })
}

/// The initiating POST; returns the session URI. `length` goes out as `x-upload-content-length`
/// whenever it is known: seed 002 says the POST "must specify" it. GCS lets a client leave it
/// out when the size is unknown, and that is the only case where it is left out (a stream
/// without a declared size): any number sent then would be a guess the server may hold us to.
async fn start(http: &reqwest::Client, url: &str, length: Option<u64>) -> Result<String> {
    super::check_url(url)?;
    let mut request = http.post(url).header("x-goog-resumable", "start").header(CONTENT_LENGTH, 0);
    if let Some(length) = length {
        request = request.header("x-upload-content-length", length);
    }
    let response = request.send().await.map_err(|e| network_error(redact_url(url), e))?;
    let status = response.status();
    if status.is_redirection() {
        // Never followed: the session would start somewhere the URL did not name.
        return Err(Error::BadResponse(format!("{} answered {status}: a redirect, not followed", redact_url(url))));
    }
    if !status.is_success() {
        return Err(server_error(status, response, url).await);
    }
    let uri = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::BadResponse("resumable initiation without a Location".into()))?;
    // The session URI is where the bytes go: it must be as safe as the URL that made it.
    super::check_url(uri)?;
    Ok(uri.to_owned())
}

/// The committed offset from a `Range: bytes=0-N` header (none means nothing committed).
fn committed(response: &reqwest::Response) -> Result<u64> {
    let Some(range) = response.headers().get(RANGE) else { return Ok(0) };
    parse_range(range.to_str().unwrap_or(""))
}

/// `bytes=0-N` → N + 1 committed bytes, `bytes=0-0` included: byte 0 is there, the next to send
/// is byte 1 (seed 002: "bytes=0-42 indicates that the first 43 bytes ... have been received").
/// gcp-storage-emulator's `bytes=0-0` for nothing at all is dealt with where it can be told
/// apart (`reply::ZeroZero`), not here.
pub(crate) fn parse_range(text: &str) -> Result<u64> {
    let end = text
        .trim()
        .strip_prefix("bytes=0-")
        .and_then(|n| n.trim().parse::<u64>().ok())
        .filter(|&end| end < u64::MAX)
        .ok_or_else(|| Error::BadResponse(format!("unreadable Range {text:?} in a 308")))?;
    Ok(end + 1)
}

/// Ask the server where the session stands (`Content-Range: bytes */N`, empty body).
pub async fn query(http: &reqwest::Client, session: &Session) -> Result<Status> {
    query_range(http, &session.uri, &session.total.to_string()).await
}

/// The status query with `total` as the size slot (`*` while a stream's size is unknown).
async fn query_range(http: &reqwest::Client, uri: &str, total: &str) -> Result<Status> {
    let response = http
        .put(uri)
        .header(CONTENT_RANGE, format!("bytes */{total}"))
        .header(CONTENT_LENGTH, 0)
        .send()
        .await
        .map_err(|e| network_error(redact_url(uri), e))?;
    match response.status() {
        StatusCode::OK | StatusCode::CREATED => Ok(Status::Complete),
        StatusCode::NOT_FOUND | StatusCode::GONE => Ok(Status::Gone),
        s if s.as_u16() == 308 => Ok(Status::Committed(committed(&response)?)),
        s => Err(server_error(s, response, uri).await),
    }
}

async fn server_error(status: StatusCode, response: reqwest::Response, url: &str) -> Error {
    let retry_after = crate::http::retry_after(response.headers());
    let body = super::read_answer(response, url).await.unwrap_or_default();
    let message = crate::redact::redact_text(&body.chars().take(200).collect::<String>());
    match status {
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited { message, retry_after },
        s if s.is_server_error() => Error::Server { status: s.as_u16(), message, retry_after },
        s => Error::UploadRejected { status: s.as_u16(), message },
    }
}

/// Cancel a session (`DELETE`); a session already gone is fine.
pub async fn cancel(http: &reqwest::Client, session: &Session) -> Result<()> {
    let response = http.delete(&session.uri).send().await.map_err(|e| network_error(redact_url(&session.uri), e))?;
    match response.status().as_u16() {
        200..=299 | 404 | 410 | 499 => Ok(()),
        s => {
            Err(server_error(StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY), response, &session.uri).await)
        }
    }
}

/// What an upload did: the whole file's hash and size, and how many bytes went over the wire
/// (more than `size` only when the server committed less than it was sent, or a chunk in flight
/// was lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub sent: Sent,
    pub bytes_on_wire: u64,
}

/// The `Content-Range` of a chunk `[from, to)` (a status query when it is empty: `bytes */N`
/// finalizes an upload whose bytes are all committed), `total` being the size slot.
fn content_range(from: u64, to: u64, total: &str) -> String {
    if from == to {
        format!("bytes */{total}")
    } else {
        format!("bytes {from}-{}/{total}", to - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_multiples_of_256_kib() {
        assert_eq!(chunk_size(8 << 20).unwrap(), 8 << 20);
        for bad in [0, 1000, CHUNK_QUANTUM + 1] {
            assert_eq!(chunk_size(bad).unwrap_err().code(), "chunk_size.invalid");
        }
    }

    #[test]
    fn ranges_read_as_committed_bytes() {
        assert_eq!(parse_range("bytes=0-524287").unwrap(), 524288);
        assert_eq!(parse_range("bytes=0-42").unwrap(), 43, "seed 002's own example");
        assert_eq!(parse_range(" bytes=0-0").unwrap(), 1, "byte 0 is there: resume at byte 1");
        for bad in ["bytes=5-9", "bytes 0-9", "bytes=0-x", "", "bytes=0-18446744073709551615"] {
            assert_eq!(parse_range(bad).unwrap_err().code(), "server.bad_response", "{bad:?}");
        }
    }

    #[test]
    fn an_empty_chunk_is_a_status_query() {
        assert_eq!(content_range(0, 262144, "*"), "bytes 0-262143/*");
        assert_eq!(content_range(5, 5, "5"), "bytes */5");
        assert_eq!(content_range(0, 0, "0"), "bytes */0");
    }

    #[test]
    fn session_uris_never_print_their_query() {
        let s = Session { uri: "http://h/upload?upload_id=SECRETID".into(), total: 1 };
        assert!(!format!("{s:?}").contains("SECRETID"));
    }
}
