//! How bytes move: one plain PUT of a whole file to a pre-authorised URL, streamed from disk in
//! `CHUNK`-sized reads and hashed on the way out, so a file is read exactly once; a
//! [`resumable`] session (the GCS protocol) that can carry on inside a file; or a browser-style
//! [`form`] POST (OSS PostObject). And the other way: [`download`] saves what a download link
//! serves, streamed and hashed on the way in.

pub mod download;
pub mod form;
pub mod resumable;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::CONTENT_LENGTH;

use crate::bandwidth::Limiter;
use crate::error::{Error, Result};
use crate::hash::{Also, Sha256Stream, CHUNK};
use crate::redact::{redact_text, redact_url};

/// Called with the number of bytes sent so far.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    pub sha256: String,
    pub size: u64,
    /// Base64, when asked for (services that verify with MD5).
    pub md5: Option<String>,
    /// CRC-64/XZ, when asked for (OSS).
    pub crc64: Option<u64>,
    /// The storage took the bytes but answered with no checksum to hold ours against, so the
    /// job ends `unverified` rather than `ok` (HBR's OSS form; see docs/fidelity.md).
    pub unverified: bool,
}

impl Sent {
    fn from_hasher(hasher: Sha256Stream) -> Self {
        let (size, crc64) = (hasher.len(), hasher.crc64());
        let (sha256, md5) = hasher.finish();
        Sent { sha256, size, md5, crc64, unverified: false }
    }

    /// Compare with the `md5Hash` a GCS-style server put in its final answer, if it gave one.
    /// An answer that is there but not JSON is no confirmation: GCS answers with the object's
    /// JSON, so a garbled one means the server cannot be believed about the bytes either.
    pub(crate) fn verify_md5(&self, what: &str, answer: &str) -> Result<()> {
        let parsed = serde_json::from_str::<serde_json::Value>(answer);
        if self.md5.is_some() && !answer.trim().is_empty() && parsed.is_err() {
            let shown: String = answer.chars().take(80).collect();
            return Err(Error::BadResponse(format!("{what}: the storage's final answer is not JSON: {shown:?}")));
        }
        let theirs = parsed.ok().and_then(|v| v.get("md5Hash").and_then(|m| m.as_str()).map(str::to_owned));
        match (&self.md5, theirs) {
            (Some(ours), Some(theirs)) if !crate::hash::same_md5(ours, &theirs) => {
                Err(Error::ChecksumMismatch { what: what.to_owned(), ours: ours.clone(), theirs })
            }
            _ => Ok(()),
        }
    }
}

#[derive(Default)]
struct Tally {
    hasher: Sha256Stream,
    read_error: Option<std::io::Error>,
}

/// What a PUT adds to the bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions<'a> {
    /// Also compute the MD5, and check it against an `md5Hash` in the answer.
    pub md5: bool,
    /// The Content-Type a presigned URL was signed for (none: no header).
    pub content_type: Option<&'a str>,
    /// A success must carry an ETag, as every S3-style store's does: a 200 without one did
    /// not confirm that anything was stored.
    pub require_etag: bool,
}

/// PUT the file at `path` to `url`. The request carries Content-Length (never chunked encoding)
/// and no Authorization unless `http` adds it: the URL alone authorises it, and storage
/// backends refuse two auths.
pub async fn put_file(
    http: &reqwest::Client,
    url: &str,
    path: &Path,
    progress: ProgressFn,
    limiter: Option<Arc<Limiter>>,
    opts: PutOptions<'_>,
) -> Result<Sent> {
    let put = || {
        let request = http.put(url);
        match opts.content_type {
            Some(ct) => request.header(reqwest::header::CONTENT_TYPE, ct),
            None => request,
        }
    };
    let (sent, answer) = send_file(put, url, path, progress, limiter, opts.md5, None).await?;
    if opts.require_etag && !answer.headers.contains_key(reqwest::header::ETAG) {
        return Err(Error::BadResponse(format!(
            "{}: the storage answered without an ETag, so it did not confirm the bytes",
            redact_url(url)
        )));
    }
    sent.verify_md5(&path.display().to_string(), &answer.body)?;
    Ok(sent)
}

/// A successful upload request's answer (it may carry a checksum).
pub(crate) struct Answer {
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// Send the file at `path` as the body of `request()`, hashing it on the way (SHA-256, and the
/// digests `also` asks for), between the bytes of `envelope` (a form's fields before, its
/// closing boundary after) if given.
pub(crate) async fn send_file(
    request: impl Fn() -> reqwest::RequestBuilder,
    url: &str,
    path: &Path,
    progress: ProgressFn,
    limiter: Option<Arc<Limiter>>,
    also: impl Into<Also>,
    envelope: Option<(bytes::Bytes, bytes::Bytes)>,
) -> Result<(Sent, Answer)> {
    let also = also.into();
    check_url(url)?;
    let (before, after) = envelope.unwrap_or_default();
    let extra = (before.len() + after.len()) as u64;
    // A file that fits in one chunk is read, stat'ed and hashed in a single trip to the blocking
    // pool: for many small files the hops, not the bytes, are the cost. Memory is the same
    // one-chunk buffer a streamed file uses.
    let small = {
        let (path, expect) = (path.to_owned(), crate::source::expected_for(path));
        tokio::task::spawn_blocking(move || read_if_small(&path, expect))
            .await
            .map_err(|e| Error::Internal(format!("reading task failed: {e}")))??
    };
    if let Some(bytes) = small {
        let size = bytes.len() as u64;
        if let Some(limiter) = &limiter {
            limiter.take(bytes.len()).await;
        }
        let mut hasher = Sha256Stream::with(also);
        hasher.update(&bytes);
        let body = if extra == 0 { bytes } else { [&before[..], &bytes, &after[..]].concat() };
        let response = request().header(CONTENT_LENGTH, size + extra).body(body).send().await;
        let answer = check(response.map_err(|e| network_error(redact_url(url), e))?, url).await?;
        progress(size);
        return Ok((Sent::from_hasher(hasher), answer));
    }
    let (file, meta) = crate::source::open(path)?;
    let size = meta.len();
    let tally = Arc::new(Mutex::new(Tally { hasher: Sha256Stream::with(also), read_error: None }));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stream = read_ahead(file, size, tally.clone()).then(move |chunk| {
        let (sent, progress, limiter) = (sent.clone(), progress.clone(), limiter.clone());
        async move {
            if let (Ok(bytes), Some(limiter)) = (&chunk, &limiter) {
                limiter.take(bytes.len()).await;
            }
            if let Ok(bytes) = &chunk {
                let so_far = sent.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
                progress(so_far + bytes.len() as u64);
            }
            chunk
        }
    });
    let body = if extra == 0 {
        reqwest::Body::wrap_stream(stream)
    } else {
        let edge = |b: bytes::Bytes| futures_util::stream::once(async move { Ok::<_, std::io::Error>(b) });
        reqwest::Body::wrap_stream(edge(before).chain(stream).chain(edge(after)))
    };
    let response = request().header(CONTENT_LENGTH, size + extra).body(body).send().await;
    let mut tally = std::mem::take(&mut *tally.lock().expect("tally lock"));
    if let Some(e) = tally.read_error.take() {
        return Err(Error::file(path, e));
    }
    let answer = check(response.map_err(|e| network_error(redact_url(url), e))?, url).await?;
    if tally.hasher.len() != size {
        return Err(Error::FileChanged { path: path.to_owned(), expected: size, actual: tally.hasher.len() });
    }
    Ok((Sent::from_hasher(tally.hasher), answer))
}

/// How many chunks the reading thread may run ahead of the socket.
const READ_AHEAD: usize = 4;

/// The first `size` bytes of `file`, read and hashed into `tally` on a blocking thread of their
/// own while the async side only writes to the socket: reading, hashing and sending overlap on
/// two cores instead of taking turns, and a whole file costs one trip to the blocking pool
/// rather than one per chunk (`tokio::fs` reads hop threads on every call). Memory stays at
/// `READ_AHEAD` chunks. A read error ends the stream with that error, kept in `tally`; the
/// thread stops as soon as the request drops the stream.
fn read_ahead(
    file: std::fs::File,
    size: u64,
    tally: Arc<Mutex<Tally>>,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> {
    use std::io::Read;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        // `take(size)`: a file that grows while we read must not overrun the Content-Length we
        // promised.
        let mut file = file.take(size);
        loop {
            let mut buf = vec![0u8; CHUNK];
            let mut filled = 0;
            let read = loop {
                match file.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == CHUNK {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            if filled > 0 {
                buf.truncate(filled);
                tally.lock().expect("tally lock").hasher.update(&buf);
                if tx.blocking_send(Ok(buf.into())).is_err() {
                    return;
                }
            }
            match read {
                Err(e) => {
                    tally.lock().expect("tally lock").read_error = Some(std::io::Error::new(e.kind(), e.to_string()));
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
                Ok(()) if filled < CHUNK => return,
                Ok(()) => {}
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) })
}

/// The whole file if it is a regular file of at most one chunk; `None` for a larger one.
fn read_if_small(path: &Path, expect: Option<crate::source::Identity>) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let (file, meta) = crate::source::open_checked(path, expect)?;
    if meta.len() > CHUNK as u64 {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take`: a file growing meanwhile is sent as it was when we looked.
    file.take(meta.len()).read_to_end(&mut bytes).map_err(|e| Error::file(path, e))?;
    if bytes.len() as u64 != meta.len() {
        return Err(Error::FileChanged { path: path.to_owned(), expected: meta.len(), actual: bytes.len() as u64 });
    }
    Ok(Some(bytes))
}

/// How long an upload's answer may take to arrive whole once its headers are in. It is small (a
/// checksum, an error), so a server still sending it after this is stalling on purpose
/// (slowloris). The request body has no such limit: a large file takes what it takes, and a
/// server that goes silent meanwhile is caught by the clients' read timeout.
pub(crate) const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// An upload's answer body: at most 1 MiB (more is `server.bad_response`), whole within
/// [`ANSWER_WAIT`] (or `network.timeout`).
pub(crate) async fn read_answer(response: reqwest::Response, url: &str) -> Result<String> {
    let read = crate::http::read_body(response, 1 << 20, "upload answer");
    match tokio::time::timeout(ANSWER_WAIT, read).await {
        Ok(body) => body,
        Err(_) => Err(Error::Timeout(format!("{} (its answer kept dripping)", redact_url(url)))),
    }
}

/// The answer on success, the storage error otherwise.
async fn check(response: reqwest::Response, url: &str) -> Result<Answer> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_answer(response, url).await;
    if status.is_success() {
        // A success whose answer cannot be read whole is no success we can vouch for.
        return Ok(Answer { headers, body: body? });
    }
    let body = body.unwrap_or_default();
    if status.is_redirection() {
        // Never followed (`http_builder`): the bytes and any credential stay where they were sent.
        return Err(Error::BadResponse(format!("{} answered {status}: a redirect, not followed", redact_url(url))));
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let retry_after = crate::http::retry_after(&headers);
        return Err(Error::RateLimited { message: storage_error_message(&body), retry_after });
    }
    Err(Error::UploadRejected { status: status.as_u16(), message: storage_error_message(&body) })
}

pub(crate) use crate::http::network_error;

/// An upload target a server handed out must be as safe as its API: no plain HTTP off this
/// machine, whatever the server says.
pub(crate) fn check_url(url: &str) -> Result<()> {
    let parsed =
        url::Url::parse(url).map_err(|e| Error::BadResponse(format!("upload URL {}: {e}", redact_url(url))))?;
    crate::http::require_tls_off_loopback(&parsed)
}

/// Storage backends answer with an S3-style XML body; show its Code and Message, with any URL
/// in them redacted (stores echo the request, signature and all).
pub(crate) fn storage_error_message(body: &str) -> String {
    redact_text(&storage_error_summary(body))
}

fn storage_error_summary(body: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].trim().to_owned())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ if body.trim().is_empty() => "no details given".into(),
        _ => body.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_error_bodies_are_summarised() {
        let xml =
            "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert_eq!(storage_error_message(xml), "AccessDenied: Request has expired");
        assert_eq!(storage_error_message(""), "no details given");
        assert_eq!(storage_error_message("plain"), "plain");
    }

    #[test]
    fn signatures_never_reach_messages() {
        let echoed =
            "<Error><Code>SignatureDoesNotMatch</Code><Message>for https://h/b/k?Signature=abc</Message></Error>";
        assert_eq!(storage_error_message(echoed), "SignatureDoesNotMatch: for https://h/b/k?…");
        assert_eq!(storage_error_message("https://h/u/0f3c5d1e2a4b47c8a9e0b1c2d3e4f5a6"), "https://h/u/…");
        assert_eq!(check_url("http://example.com/upload/1").unwrap_err().code(), "network.insecure");
        assert!(check_url("http://127.0.0.1:9/upload/1").is_ok() && check_url("https://h/u?sig=x").is_ok());
    }
}
