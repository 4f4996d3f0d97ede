//! The GCS resumable protocol behind a resumable temp upload (seed 002, spec §1.4):
//!
//! - `POST /__tempUploads/{id}` with `x-goog-resumable: start` and `x-upload-content-length: N`
//!   (both required: the seed says the POST "must specify" them, so a stream whose length the
//!   client does not know cannot start one) starts a session: 200 with
//!   `Location: {base}/__tempUploads/{id}/session/{session}`. A new initiation replaces the temp
//!   upload's older session, which is then gone (404).
//! - `PUT <session>` with `Content-Range: bytes S-E/N` (or `/*`) sends a chunk: 308 with
//!   `Range: bytes=0-E` while incomplete, 201 with `{"kind", "id", "size", "md5Hash"}` for the last
//!   one; with [`ChunkAnswers::Seed`] a chunk taken in full is answered 200 with an empty body
//!   instead, the last one included. `Content-Range: bytes */N` (or `*/*`) with an empty body asks
//!   how far it got: 308 with the committed `Range` (none when nothing is committed), 200 when
//!   complete, and when N equals what is committed it finalizes (201): that is how a 0-byte upload
//!   or one sent with `*` totals ends.
//! - `DELETE <session>` cancels it: 499, then 404.
//!
//! A 308 never carries a `Location` header (Python `requests` would follow it). Sessions expire
//! 24 h after their initiation, on the emulator's clock. Chunks of one session are handled one at a
//! time (a per-session lock); a status query waits for a chunk in flight (up to 5 s), so that after
//! a dropped connection it reports what that chunk left committed.
//!
//! Bytes are written to the session's file as they arrive. When a chunk's connection breaks, what
//! arrived, rounded down to a multiple of 256 KiB, stays committed (as GCS keeps whole 256 KiB
//! blocks); the rest is cut off the file. The MD5 of the object advances with each fully committed
//! chunk and is completed from the file at the end where a chunk was committed only in part.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_RANGE, LOCATION, RANGE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use md5::Digest;
use serde_json::Value;
use tokio::io::{AsyncWriteExt, BufWriter};
use uuid::Uuid;

use super::body::{drain, refuse, ApiPath};
use super::content_range::ContentRange;
use super::error::RedivisError;
use super::model::{Content, LiveSession, Session};
use super::storage::{finish_md5, open_at};
use super::temp_uploads::check_writable;
use super::{Hashing, QUANTUM};
use crate::app::App;
use crate::faults::{Corrupter, Faults};
use crate::ChunkAnswers;

/// Large enough that a big chunk is not one blocking-pool round trip per network frame.
const WRITE_BUFFER: usize = 256 * 1024;

/// How long a status query waits for a chunk in flight on the same session.
const QUERY_WAIT: Duration = Duration::from_secs(5);

/// `POST /__tempUploads/{id}`: starts a resumable session.
pub(crate) async fn initiate(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RedivisError> {
    drain(body).await;
    let upload = app.store.read(|state| state.redivis.temp_upload(&id).cloned())?;
    check_writable(&upload)?;
    if !upload.resumable {
        return Err(RedivisError::invalid(format!(
            "Temp upload '{id}' is not resumable: PUT the whole body to its URL instead."
        )));
    }
    let resumable = headers.get("x-goog-resumable").and_then(|v| v.to_str().ok()).map(str::trim);
    if !resumable.is_some_and(|value| value.eq_ignore_ascii_case("start")) {
        return Err(RedivisError::invalid("A session is started with the header 'x-goog-resumable: start'."));
    }
    let Some(length) = headers.get("x-upload-content-length") else {
        return Err(RedivisError::invalid(format!(
            "A session is started with the header 'x-upload-content-length: {}', the declared size of the temp upload.",
            upload.size
        )));
    };
    let length = length.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
    if length != Some(upload.size) {
        return Err(RedivisError::invalid(format!(
            "x-upload-content-length must be the declared size of the temp upload, {} bytes.",
            upload.size
        )));
    }
    let now = app.clock.now();
    let session = Session {
        id: Uuid::new_v4().simple().to_string(),
        temp_upload: id.clone(),
        created_ts: now,
        committed: 0,
        complete: false,
    };
    let location = format!("{}/__tempUploads/{id}/session/{}", app.base_url, session.id);
    let gone = app
        .store
        .write(|state| {
            let redivis = &mut state.redivis;
            let upload = redivis.temp_uploads.get_mut(&id).ok_or_else(|| RedivisError::not_found("Gone."))?;
            check_writable(upload)?;
            let older = upload.session.replace(session.id.clone());
            redivis.sessions.insert(session.id.clone(), session);
            let mut gone: Vec<Session> = older.and_then(|older| redivis.sessions.remove(&older)).into_iter().collect();
            gone.extend(redivis.sweep(now));
            Ok(gone)
        })
        .await
        .map_err(RedivisError::internal)??;
    app.redivis.forget_sessions(&gone);
    let mut response = StatusCode::OK.into_response();
    response.headers_mut().insert(LOCATION, HeaderValue::from_str(&location).map_err(RedivisError::internal)?);
    Ok(response)
}

/// `PUT <session>`: a chunk or a status query, told apart by `Content-Range`.
pub(crate) async fn put(
    State(app): State<Arc<App>>,
    ApiPath((id, session)): ApiPath<(String, String)>,
    Faults(faults): Faults,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RedivisError> {
    let Some(range) = headers.get(CONTENT_RANGE) else {
        return refuse(body, RedivisError::invalid("A session PUT needs a Content-Range header.")).await;
    };
    let range = match range.to_str().map_err(|err| err.to_string()).and_then(ContentRange::parse) {
        Ok(range) => range,
        Err(why) => return refuse(body, RedivisError::invalid(why)).await,
    };
    if faults.expire_session {
        drain(body).await;
        return Err(expire(&app, &session).await);
    }
    let target = Target { app, id, session };
    match range {
        ContentRange::Query { total } => target.query(total, body).await,
        ContentRange::Chunk { start, end, total } => {
            let declared_length = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse().ok());
            let chunk = Chunk {
                start,
                end,
                total,
                declared_length,
                no_range: faults.no_range,
                short: faults.short_commit,
                commit_bytes: faults.commit_bytes,
                corrupt: faults.corrupt,
            };
            target.chunk(chunk, body).await
        }
    }
}

/// `DELETE <session>`: cancels it; 499 as GCS answers, and 404 from then on.
pub(crate) async fn cancel(
    State(app): State<Arc<App>>,
    ApiPath((id, session)): ApiPath<(String, String)>,
) -> Result<Response, RedivisError> {
    let now = app.clock.now();
    let removed = app
        .store
        .write(|state| {
            state.redivis.live_session(&id, &session, now)?;
            Ok(state.redivis.remove_session(&session))
        })
        .await
        .map_err(RedivisError::internal)??;
    app.redivis.forget_sessions(removed.as_slice());
    tracing::info!(id, session, "Redivis resumable session cancelled");
    Err(RedivisError::cancelled())
}

/// The `expire_session` fault: the session is dropped now.
async fn expire(app: &App, session: &str) -> RedivisError {
    match app.store.write(|state| state.redivis.remove_session(session)).await {
        Ok(removed) => app.redivis.forget_sessions(removed.as_slice()),
        Err(err) => return RedivisError::internal(err),
    }
    tracing::info!(session, "Redivis session expired by a fault");
    RedivisError::not_found("The resumable upload session does not exist or has expired.")
}

struct Chunk {
    start: u64,
    end: u64,
    total: Option<u64>,
    declared_length: Option<u64>,
    no_range: bool,
    short: bool,
    /// The `commit_bytes` fault: at most this many bytes of the chunk are committed.
    commit_bytes: Option<u64>,
    /// The `corrupt` fault: the chunk's first byte is stored flipped.
    corrupt: bool,
}

impl Chunk {
    fn length(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Everything that can be checked before a byte is read.
    fn check(&self, live: &LiveSession) -> Result<(), RedivisError> {
        let declared = live.declared;
        if let Some(total) = self.total.filter(|&total| total != declared) {
            return Err(RedivisError::invalid(format!(
                "The total size {total} in Content-Range differs from the declared size {declared}."
            )));
        }
        if self.end >= declared {
            return Err(RedivisError::invalid(format!(
                "The range ends at byte {} but the upload has {declared} bytes.",
                self.end
            )));
        }
        if self.start != live.committed {
            return Err(RedivisError::invalid(format!(
                "The chunk starts at byte {} but {} bytes are committed: ask with 'Content-Range: bytes */{declared}' \
                 and resume from there.",
                self.start, live.committed
            )));
        }
        let length = self.length();
        if self.end + 1 < declared && !length.is_multiple_of(QUANTUM) {
            return Err(RedivisError::invalid(format!(
                "Invalid request. The number of bytes uploaded is required to be a multiple of {QUANTUM}, except for \
                 the final request. The received request contained {length} bytes, which does not meet this requirement."
            )));
        }
        if let Some(declared_length) = self.declared_length.filter(|&n| n != length) {
            return Err(RedivisError::invalid(format!(
                "Content-Length is {declared_length} but the Content-Range covers {length} bytes."
            )));
        }
        Ok(())
    }
}

/// How a received chunk is answered.
enum Outcome {
    /// The connection broke: nobody reads the answer.
    Cut,
    /// The body did not match the range: nothing kept.
    WrongLength(u64),
    /// The `no_range` fault.
    NoRange,
    /// Committed up to the given offset (all of the chunk, or part of it with `short_commit`).
    Committed,
}

struct Target {
    app: Arc<App>,
    id: String,
    session: String,
}

impl Target {
    fn live(&self) -> Result<LiveSession, RedivisError> {
        let now = self.app.clock.now();
        self.app.store.read(|state| state.redivis.live_session(&self.id, &self.session, now))
    }

    async fn query(&self, total: Option<u64>, body: Body) -> Result<Response, RedivisError> {
        if drain(body).await > 0 {
            return Err(RedivisError::invalid("A status query ('bytes */N') has an empty body."));
        }
        let live = self.live()?;
        if let Some(total) = total.filter(|&total| total != live.declared) {
            return Err(RedivisError::invalid(format!(
                "The total size {total} in Content-Range differs from the declared size {}.",
                live.declared
            )));
        }
        if live.complete {
            return Ok(Json(live.completion).into_response());
        }
        // A chunk in flight (typically one whose client just died) settles first, so the answer
        // says what it left committed; a stalled one is not waited for forever.
        let lock = self.app.redivis.session_lock(&self.session);
        let guard = tokio::time::timeout(QUERY_WAIT, lock.lock()).await.ok();
        let live = self.live()?;
        if live.complete {
            return Ok(Json(live.completion).into_response());
        }
        match guard {
            Some(mut hashing) if total == Some(live.committed) => {
                let answer = self.finalize(live.committed, &mut hashing).await?;
                Ok((StatusCode::CREATED, Json(answer)).into_response())
            }
            _ => Ok(incomplete(live.committed)),
        }
    }

    async fn chunk(&self, chunk: Chunk, body: Body) -> Result<Response, RedivisError> {
        if let Err(err) = self.live() {
            return refuse(body, err).await;
        }
        let lock = self.app.redivis.session_lock(&self.session);
        let mut hashing = lock.lock().await;
        let live = match self.live() {
            Ok(live) => live,
            Err(err) => return refuse(body, err).await,
        };
        if live.complete {
            // A repeated last chunk whose answer was lost: the upload is done.
            drain(body).await;
            return Ok(Json(live.completion).into_response());
        }
        if let Err(err) = chunk.check(&live) {
            return refuse(body, err).await;
        }

        let (start, length) = (chunk.start, chunk.length());
        let path = self.app.redivis.storage.session(&self.session);
        let mut file =
            BufWriter::with_capacity(WRITE_BUFFER, open_at(&path, start).await.map_err(RedivisError::internal)?);
        let mut hasher = (hashing.hashed == start).then(|| hashing.md5.clone());
        let mut corrupter = Corrupter::new(chunk.corrupt);
        // `received` counts what arrived, `written` what went to the file (not past the range).
        let (mut received, mut written, mut cut) = (0u64, 0u64, false);
        let mut stream = body.into_data_stream();
        while let Some(piece) = stream.next().await {
            let Ok(piece) = piece else {
                cut = true;
                break;
            };
            received += piece.len() as u64;
            if received > length {
                continue; // too long: read on (it is counted), keep nothing more
            }
            let piece = corrupter.pass(piece);
            file.write_all(&piece).await.map_err(RedivisError::internal)?;
            written += piece.len() as u64;
            if let Some(hasher) = &mut hasher {
                hasher.update(&piece);
            }
        }
        file.flush().await.map_err(RedivisError::internal)?;

        // A body that stops short was cut off, whether by a reset or by a client that died and
        // whose socket the kernel closed cleanly: GCS keeps what it persisted either way.
        let (outcome, committed) = if cut || received < length {
            (Outcome::Cut, start + round_down(written))
        } else if received != length {
            (Outcome::WrongLength(received), start)
        } else if chunk.no_range {
            (Outcome::NoRange, start)
        } else if chunk.short {
            (Outcome::Committed, start + round_down(length / 2))
        } else if let Some(bytes) = chunk.commit_bytes.filter(|&bytes| bytes < length) {
            (Outcome::Committed, start + bytes)
        } else {
            (Outcome::Committed, chunk.end + 1)
        };
        let file = file.into_inner();
        file.set_len(committed).await.map_err(RedivisError::internal)?;
        if self.app.redivis.storage.durable() {
            file.sync_data().await.map_err(RedivisError::internal)?;
        }
        drop(file);
        if committed > start {
            if let Some(hasher) = hasher.filter(|_| committed == start + written) {
                *hashing = Hashing { md5: hasher, hashed: committed };
            }
            self.commit(start, committed).await?;
        }
        tracing::info!(session = %self.session, start, received, committed, cut, "Redivis chunk");

        match outcome {
            Outcome::Cut => Err(RedivisError::invalid(format!(
                "The chunk was cut off after {received} bytes; {committed} bytes are committed."
            ))),
            Outcome::WrongLength(received) => Err(RedivisError::invalid(format!(
                "The body has {received} bytes but the Content-Range covers {length} bytes."
            ))),
            Outcome::NoRange => Ok(incomplete(0)),
            Outcome::Committed if committed == live.declared && chunk.total == Some(live.declared) => {
                let answer = self.finalize(committed, &mut hashing).await?;
                match self.app.redivis.chunk_answers {
                    ChunkAnswers::Gcs => Ok((StatusCode::CREATED, Json(answer)).into_response()),
                    ChunkAnswers::Seed => Ok(taken()),
                }
            }
            Outcome::Committed
                if committed == chunk.end + 1 && self.app.redivis.chunk_answers == ChunkAnswers::Seed =>
            {
                Ok(taken())
            }
            Outcome::Committed => Ok(incomplete(committed)),
        }
    }

    /// Records a new committed offset, unless the session went away meanwhile (replaced,
    /// cancelled, expired): then the chunk is lost with it.
    async fn commit(&self, start: u64, committed: u64) -> Result<(), RedivisError> {
        let (id, session) = (&self.id, &self.session);
        self.app
            .store
            .write(|state| {
                let live = state.redivis.sessions.get_mut(session).filter(|s| s.temp_upload == *id);
                let live = live.filter(|s| s.committed == start && !s.complete);
                let live = live.ok_or_else(|| RedivisError::not_found("The resumable upload session is gone."))?;
                live.committed = committed;
                Ok(())
            })
            .await
            .map_err(RedivisError::internal)?
    }

    /// All bytes are there: the object's MD5, its bytes moved to the temp upload, the session
    /// marked complete. Returns the completion JSON.
    async fn finalize(&self, size: u64, hashing: &mut Hashing) -> Result<Value, RedivisError> {
        let storage = &self.app.redivis.storage;
        let path = storage.session(&self.session);
        let md5 = finish_md5(&path, hashing.md5.clone(), hashing.hashed).await.map_err(RedivisError::internal)?;
        if size == 0 {
            crate::blobs::private_options().create(true).append(true).open(&path).map_err(RedivisError::internal)?;
        }
        let temp = storage.temp(&self.id);
        let (id, session) = (&self.id, &self.session);
        let answer = self
            .app
            .store
            .write(|state| {
                let redivis = &mut state.redivis;
                let gone = || RedivisError::not_found("The resumable upload session is gone.");
                let live = redivis.sessions.get_mut(session).filter(|s| s.temp_upload == *id).ok_or_else(gone)?;
                let upload = redivis.temp_uploads.get_mut(id).ok_or_else(gone)?;
                check_writable(upload)?;
                // Renamed under the lock, so rawFiles never takes half-replaced bytes.
                std::fs::rename(&path, &temp).map_err(RedivisError::internal)?;
                live.committed = size;
                live.complete = true;
                upload.content = Some(Content { size, md5 });
                Ok(upload.completion_json())
            })
            .await
            .map_err(RedivisError::internal)??;
        self.app.redivis.release_lock(&self.session);
        tracing::info!(id = %self.id, size, "Redivis resumable upload complete");
        Ok(answer)
    }
}

/// 308 Resume Incomplete, with the committed `Range` (none when nothing is) and never a
/// `Location`.
fn incomplete(committed: u64) -> Response {
    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
    if committed > 0 {
        if let Ok(range) = HeaderValue::from_str(&format!("bytes=0-{}", committed - 1)) {
            response.headers_mut().insert(RANGE, range);
        }
    }
    response.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(0));
    response
}

/// Seed 002's answer to a chunk taken in full: "the response body will be empty with a status
/// of 200". It says nothing of the committed offset: a client asks with `bytes */N`.
fn taken() -> Response {
    let mut response = StatusCode::OK.into_response();
    response.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(0));
    response
}

fn round_down(bytes: u64) -> u64 {
    bytes / QUANTUM * QUANTUM
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(declared: u64, committed: u64) -> LiveSession {
        LiveSession { declared, committed, complete: false, completion: Value::Null }
    }

    fn chunk(start: u64, end: u64, total: Option<u64>) -> Chunk {
        Chunk {
            start,
            end,
            total,
            declared_length: None,
            no_range: false,
            short: false,
            commit_bytes: None,
            corrupt: false,
        }
    }

    #[test]
    fn chunks_are_checked_like_gcs_does() {
        let session = live(10 * QUANTUM + 5, QUANTUM);
        assert!(chunk(QUANTUM, 3 * QUANTUM - 1, Some(10 * QUANTUM + 5)).check(&session).is_ok());
        assert!(chunk(QUANTUM, 3 * QUANTUM - 1, None).check(&session).is_ok());
        assert!(chunk(QUANTUM, 10 * QUANTUM + 4, None).check(&session).is_ok(), "the last one may be any length");
        let refused = |chunk: Chunk| format!("{:?}", chunk.check(&session).unwrap_err());
        assert!(refused(chunk(0, QUANTUM - 1, None)).contains("resume from there"));
        assert!(refused(chunk(QUANTUM, 2 * QUANTUM, None)).contains("multiple of 262144"));
        assert!(refused(chunk(QUANTUM, 2 * QUANTUM - 1, Some(7))).contains("declared size"));
        assert!(refused(chunk(QUANTUM, 11 * QUANTUM, None)).contains("upload has"));
        let mut wrong_length = chunk(QUANTUM, 2 * QUANTUM - 1, None);
        wrong_length.declared_length = Some(5);
        assert!(refused(wrong_length).contains("Content-Length"));
    }

    #[test]
    fn a_308_never_says_zero_bytes_with_a_range() {
        let none = incomplete(0);
        assert_eq!(none.status().as_u16(), 308);
        assert!(none.headers().get(RANGE).is_none());
        assert!(none.headers().get(LOCATION).is_none());
        assert_eq!(incomplete(QUANTUM).headers()[RANGE], "bytes=0-262143");
        assert_eq!(round_down(QUANTUM * 3 - 1), QUANTUM * 2);
    }
}
