//! GCS-style resumable uploads (seed 002): initiate with `x-goog-resumable: start`, PUT chunks
//! with `Content-Range`, and always take the committed offset from the server (`308` + `Range`),
//! never from what we sent. After any failure the server is asked (`bytes */N`) where it stands,
//! so an upload carries on inside the file, after a dropped connection or a restart alike.
//!
//! The SHA-256 covers the whole file across resumes: the hasher only ever advances over bytes the
//! server has confirmed, and a resumed upload first re-reads (not re-sends) the committed prefix.

use std::io::SeekFrom;
use std::path::Path;
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, LOCATION, RANGE};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{network_error, ProgressFn, Sent};
use crate::error::{Error, Invalid, Result};
use crate::hash::Sha256Stream;
use crate::redact::redact_url;

/// Non-final chunks must be multiples of this (GCS rejects others).
pub const CHUNK_QUANTUM: u64 = 256 * 1024;
pub const DEFAULT_CHUNK: u64 = 16 * 1024 * 1024;
/// Failed requests in a row (each followed by a status query) before giving up.
const ATTEMPTS: u32 = 8;

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
    super::check_url(url)?;
    let response = http
        .post(url)
        .header("x-goog-resumable", "start")
        .header("x-upload-content-length", total)
        .header(CONTENT_LENGTH, 0)
        .send()
        .await
        .map_err(|e| network_error(redact_url(url), e))?;
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
    Ok(Session { uri: uri.to_owned(), total })
}

/// The committed offset from a `Range: bytes=0-N` header (none means nothing committed).
fn committed(response: &reqwest::Response) -> Result<u64> {
    let Some(range) = response.headers().get(RANGE) else { return Ok(0) };
    parse_range(range.to_str().unwrap_or(""))
}

/// `bytes=0-N` → N + 1 committed bytes. `bytes=0-0` is read as nothing: gcp-storage-emulator
/// answers it before any byte has arrived (real GCS sends no Range then), and a commit of
/// exactly one byte cannot happen on GCS, which commits in 256 KiB steps or the whole file.
pub(crate) fn parse_range(text: &str) -> Result<u64> {
    let end = text
        .trim()
        .strip_prefix("bytes=0-")
        .and_then(|n| n.trim().parse::<u64>().ok())
        .filter(|&end| end < u64::MAX)
        .ok_or_else(|| Error::BadResponse(format!("unreadable Range {text:?} in a 308")))?;
    Ok(if end == 0 { 0 } else { end + 1 })
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

/// Send `path` through `session`, starting at byte `from` (what the server has committed, e.g.
/// from [`query`] after a restart), in chunks of `chunk` bytes. `on_commit` hears each newly
/// committed offset, so the caller can journal it. `md5`: also compute the MD5 and check it
/// against the `md5Hash` of the server's final answer.
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    http: &reqwest::Client,
    session: &Session,
    path: &Path,
    from: u64,
    chunk: u64,
    progress: ProgressFn,
    on_commit: &(dyn Fn(u64) + Send + Sync),
    md5: bool,
) -> Result<Outcome> {
    let chunk = chunk_size(chunk)?;
    let total = session.total;
    let (mut file, meta) = crate::source::open_async(path)?;
    let size = meta.len();
    if size != total {
        return Err(Error::FileChanged { path: path.to_owned(), expected: total, actual: size });
    }
    // The committed prefix is hashed from disk, not sent again.
    let fresh = || Sha256Stream::with_md5(md5);
    let mut hasher = fresh();
    let mut offset = from.min(total);
    hash_prefix(&mut file, path, offset, &mut hasher).await?;
    let mut wire = 0u64;
    let mut failures = 0;
    // The furthest byte sent (or committed before): a server cannot hold the whole file before it.
    let mut furthest = offset;
    loop {
        let end = (offset + chunk).min(total);
        furthest = furthest.max(end);
        // One chunk in memory at a time; `Bytes` lets the request and the hasher share it.
        let mut buffer = Vec::with_capacity((end - offset) as usize);
        file.seek(SeekFrom::Start(offset)).await.map_err(|e| Error::file(path, e))?;
        (&mut file).take(end - offset).read_to_end(&mut buffer).await.map_err(|e| Error::file(path, e))?;
        if (buffer.len() as u64) != end - offset {
            return Err(Error::FileChanged {
                path: path.to_owned(),
                expected: total,
                actual: offset + buffer.len() as u64,
            });
        }
        let buffer = bytes::Bytes::from(buffer);
        let range = if total == 0 { format!("bytes */{total}") } else { format!("bytes {offset}-{}/{total}", end - 1) };
        let sent = http
            .put(&session.uri)
            .header(CONTENT_RANGE, range)
            .header(CONTENT_LENGTH, buffer.len())
            .body(buffer.clone())
            .send()
            .await;
        wire += buffer.len() as u64;
        // The new committed offset, from the answer or, after any failure, from a status query.
        let mut answer = String::new();
        let status = match sent {
            Ok(r) if matches!(r.status(), StatusCode::OK | StatusCode::CREATED) => {
                // An unreadable final answer leaves the session's state unknown: the caller's
                // retry asks the server where it stands.
                answer = super::read_answer(r, &session.uri).await?;
                Status::Complete
            }
            Ok(r) if r.status().as_u16() == 308 => Status::Committed(committed(&r)?),
            Ok(r) if matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::GONE) => Status::Gone,
            other => {
                failures += 1;
                let error = match other {
                    Ok(r) => server_error(r.status(), r, &session.uri).await,
                    Err(e) => network_error(redact_url(&session.uri), e),
                };
                if failures >= ATTEMPTS || !(error.retryable() || matches!(error, Error::UploadRejected { .. })) {
                    return Err(error);
                }
                tokio::time::sleep(Duration::from_millis(100 << failures.min(6))).await;
                match query(http, session).await {
                    Ok(status) => status,
                    Err(e) if e.retryable() => continue,
                    Err(e) => return Err(e),
                }
            }
        };
        let status = confirm_backwards(http, &session.uri, &session.total.to_string(), offset, status).await;
        match status {
            Status::Complete if furthest < total => {
                return Err(Error::BadResponse(format!(
                    "the server says the upload is complete, but only {furthest} of {total} bytes were sent"
                )));
            }
            Status::Complete => {
                // Everything is in: hash what the server took beyond the last confirmed offset.
                hasher.update(&buffer[..(end - offset) as usize]);
                hash_rest(&mut file, path, end, total, &mut hasher).await?;
                progress(total);
                on_commit(total);
                let sent = Sent::from_hasher(hasher);
                sent.verify_md5(&path.display().to_string(), &answer)?;
                return Ok(Outcome { sent, bytes_on_wire: wire });
            }
            Status::Gone => return Err(Error::NotUploaded(format!("resumable session at byte {offset}"))),
            Status::Committed(now) if now > end => {
                // More than was ever sent: the server is confused or lying, and nothing it says
                // about this session can be trusted.
                return Err(Error::BadResponse(format!(
                    "the server says {now} bytes are committed, but only {end} were sent"
                )));
            }
            Status::Committed(now) => {
                if now < offset {
                    // The server forgot bytes it had confirmed: re-hash from its word.
                    hasher = fresh();
                    hash_prefix(&mut file, path, now.min(total), &mut hasher).await?;
                } else {
                    hasher.update(&buffer[..(now - offset) as usize]);
                }
                if now > offset {
                    failures = 0;
                }
                offset = now.min(total);
                progress(offset);
                on_commit(offset);
            }
        }
    }
}

/// A 308 that puts the committed offset below what the server confirmed before (a missing
/// Range reads as 0) is asked about once more before anything is sent again: GCS may drop the
/// Range of one answer while it still holds the bytes, and re-sending them would cost a chunk
/// or more. A status query that agrees is believed.
async fn confirm_backwards(http: &reqwest::Client, uri: &str, total: &str, confirmed: u64, status: Status) -> Status {
    match status {
        Status::Committed(now) if now < confirmed => query_range(http, uri, total).await.unwrap_or(status),
        other => other,
    }
}

async fn hash_prefix(file: &mut tokio::fs::File, path: &Path, upto: u64, hasher: &mut Sha256Stream) -> Result<()> {
    hash_rest(file, path, 0, upto, hasher).await
}

async fn hash_rest(
    file: &mut tokio::fs::File,
    path: &Path,
    from: u64,
    to: u64,
    hasher: &mut Sha256Stream,
) -> Result<()> {
    file.seek(SeekFrom::Start(from)).await.map_err(|e| Error::file(path, e))?;
    let mut left = to.saturating_sub(from);
    let mut buf = vec![0u8; crate::hash::CHUNK];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = file.read(&mut buf[..want]).await.map_err(|e| Error::file(path, e))?;
        if n == 0 {
            return Err(Error::FileChanged { path: path.to_owned(), expected: to, actual: to - left });
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// Push a file through a resumable initiation URL, carrying on a session the journal knows for
/// this URL and file (unchanged since) instead of starting again. Returns the outcome and the
/// offset it started from.
pub async fn push(
    http: &reqwest::Client,
    journal: &crate::journal::Journal,
    initiate_url: &str,
    path: &Path,
    chunk: u64,
    progress: ProgressFn,
    md5: bool,
) -> Result<(Outcome, u64)> {
    use crate::journal::ResumableRecord;
    let meta = std::fs::metadata(path).map_err(|e| Error::file(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_owned() });
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    // The key names the pair without storing the initiation URL (it may carry a signature).
    let key = {
        let mut h = Sha256Stream::default();
        h.update(initiate_url.as_bytes());
        h.update(b"\0");
        h.update(path.as_os_str().as_encoded_bytes());
        h.finish_hex()
    };
    let on_commit = |offset: u64| {
        if let Err(e) = journal.resumable_commit(&key, offset) {
            tracing::error!("journal: {e}");
        }
    };
    let mut known = journal.resumable_get(&key)?.filter(|r| r.size == meta.len() && r.mtime_ns == mtime_ns);
    // A session that expires under us is replaced by a new one, a few times at most.
    for _ in 0..3 {
        let mut resumed = None;
        if let Some(record) = known.take() {
            let session = Session { uri: record.session_uri.clone(), total: record.size };
            match query(http, &session).await? {
                Status::Committed(n) => resumed = Some((session, n)),
                // Done before the restart, or gone: either way this session is over.
                Status::Complete | Status::Gone => journal.resumable_forget(&key)?,
            }
        }
        let (session, from) = match resumed {
            Some(s) => s,
            None => {
                let session = initiate(http, initiate_url, meta.len()).await?;
                // Intent before effect: the session is on record before its first byte.
                let record =
                    ResumableRecord { size: meta.len(), mtime_ns, session_uri: session.uri.clone(), committed: 0 };
                journal.resumable_put(&key, path, &record)?;
                (session, 0)
            }
        };
        match upload(http, &session, path, from, chunk, progress.clone(), &on_commit, md5).await {
            Err(Error::NotUploaded(_)) => {
                tracing::warn!("resumable session for {} is gone; starting a new one", path.display());
                journal.resumable_forget(&key)?;
            }
            other => {
                // Finished, or failed for good: a verified mismatch must not be resumed either.
                if other.is_ok() || matches!(other, Err(Error::ChecksumMismatch { .. })) {
                    journal.resumable_forget(&key)?;
                }
                return other.map(|outcome| (outcome, from));
            }
        }
    }
    Err(Error::NotUploaded(format!("{}: the server kept losing the resumable session", path.display())))
}

/// Send a stream of unknown length (`Content-Range: bytes S-E/*` until the end shows). Only the
/// chunk in hand can be sent again, so a server that forgets confirmed bytes ends the upload.
pub async fn upload_stream<R: tokio::io::AsyncRead + Unpin>(
    http: &reqwest::Client,
    initiate_url: &str,
    mut reader: R,
    chunk: u64,
    progress: ProgressFn,
) -> Result<Outcome> {
    let chunk = chunk_size(chunk)?;
    super::check_url(initiate_url)?;
    let response = http
        .post(initiate_url)
        .header("x-goog-resumable", "start")
        .header(CONTENT_LENGTH, 0)
        .send()
        .await
        .map_err(|e| network_error(redact_url(initiate_url), e))?;
    if !response.status().is_success() {
        return Err(server_error(response.status(), response, initiate_url).await);
    }
    let uri = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::BadResponse("resumable initiation without a Location".into()))?
        .to_owned();
    super::check_url(&uri)?;
    let mut hasher = Sha256Stream::default();
    let (mut offset, mut wire) = (0u64, 0u64);
    loop {
        let mut buffer = Vec::with_capacity(chunk as usize);
        (&mut reader).take(chunk).read_to_end(&mut buffer).await.map_err(|e| Error::file("stdin", e))?;
        let last = (buffer.len() as u64) < chunk;
        let buffer = bytes::Bytes::from(buffer);
        // `start` is where this chunk begins; the server may have taken part of it already.
        let start = offset;
        let end = start + buffer.len() as u64;
        let mut failures = 0;
        while offset < end || (last && offset == end) {
            let piece = buffer.slice((offset - start) as usize..);
            let range = match (piece.is_empty(), last) {
                (true, _) => format!("bytes */{end}"),
                (false, true) => format!("bytes {offset}-{}/{end}", end - 1),
                (false, false) => format!("bytes {offset}-{}/*", end - 1),
            };
            wire += piece.len() as u64;
            let sent = http
                .put(&uri)
                .header(CONTENT_RANGE, range)
                .header(CONTENT_LENGTH, piece.len())
                .body(piece)
                .send()
                .await;
            let status = match sent {
                Ok(r) if matches!(r.status(), StatusCode::OK | StatusCode::CREATED) => Status::Complete,
                Ok(r) if r.status().as_u16() == 308 => Status::Committed(committed(&r)?),
                other => {
                    failures += 1;
                    let error = match other {
                        Ok(r) => server_error(r.status(), r, &uri).await,
                        Err(e) => network_error(redact_url(&uri), e),
                    };
                    if failures >= ATTEMPTS || !(error.retryable() || matches!(error, Error::UploadRejected { .. })) {
                        return Err(error);
                    }
                    tokio::time::sleep(Duration::from_millis(100 << failures.min(6))).await;
                    let total = if last { end.to_string() } else { "*".to_owned() };
                    match query_range(http, &uri, &total).await {
                        Ok(status) => status,
                        Err(e) if e.retryable() => continue,
                        Err(e) => return Err(e),
                    }
                }
            };
            let total = if last { end.to_string() } else { "*".to_owned() };
            let status = confirm_backwards(http, &uri, &total, offset, status).await;
            match status {
                Status::Complete if last => {
                    hasher.update(&buffer[..]);
                    progress(end);
                    return Ok(Outcome { sent: Sent::from_hasher(hasher), bytes_on_wire: wire });
                }
                Status::Committed(now) if (start..=end).contains(&now) => {
                    offset = now;
                    progress(offset);
                }
                Status::Complete | Status::Committed(_) => {
                    return Err(Error::BadResponse(format!(
                        "the server's offset left the chunk in hand ({start}..{end}); a stream cannot go back"
                    )))
                }
                Status::Gone => return Err(Error::NotUploaded(format!("resumable session at byte {offset}"))),
            }
        }
        hasher.update(&buffer[..]);
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
        assert_eq!(parse_range(" bytes=0-0").unwrap(), 0, "gcp-storage-emulator's answer before any byte");
        for bad in ["bytes=5-9", "bytes 0-9", "bytes=0-x", "", "bytes=0-18446744073709551615"] {
            assert_eq!(parse_range(bad).unwrap_err().code(), "server.bad_response", "{bad:?}");
        }
    }

    #[test]
    fn session_uris_never_print_their_query() {
        let s = Session { uri: "http://h/upload?upload_id=SECRETID".into(), total: 1 };
        assert!(!format!("{s:?}").contains("SECRETID"));
    }
}
