//! The Redivis upload API (spec `other-apis.md` §1, decisions D-R1..D-R9), on the same server and
//! port as Trusted Twin:
//!
//! - the API under `/api/v1`, with `Authorization: Bearer <secret>`: tables, temp uploads, raw
//!   files of file-index tables;
//! - the data plane under `/__tempUploads/{id}`: a plain PUT of the whole body, or a GCS-style
//!   resumable session (initiate, chunks with `Content-Range`, status queries, cancel) — or, with
//!   `Config::redivis_data_plane`, an external GCS-compatible server instead.
//!
//! # Layout
//!
//! - [`Redivis`] (this file): what the handlers share beyond the store (rate limit, the data-plane
//!   byte counter, per-session locks, the delegated data plane), and the routes.
//! - `access`: Bearer auth, the rate limit and its headers, the HEAD error header.
//! - `error`: the D-R1 error body.
//! - `body`: JSON bodies and path parameters with D-R1 errors; draining refused bodies.
//! - `model`: tables, temp uploads, sessions, raw files (part of the persisted `store::State`).
//! - `storage`: where the data plane's bytes live on disk, MD5 helpers.
//! - `tables`: create and get tables.
//! - `temp_uploads`: `POST .../tempUploads`, the non-resumable PUT.
//! - `content_range`: the `Content-Range` header of session PUTs.
//! - `session`: the resumable protocol.
//! - `raw_files`: `POST`/`GET .../rawFiles`, `GET /rawFiles/{id}`.
//! - `data_plane`: the client for a delegated (external) data plane.

mod access;
mod body;
mod content_range;
mod data_plane;
mod error;
mod model;
mod raw_files;
mod session;
mod storage;
mod tables;
mod temp_uploads;

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::middleware;
use axum::routing::{any, get, post, put};
use axum::Router;
use md5::{Digest, Md5};

use crate::app::App;
use crate::clock::Timestamp;
use crate::store::Store;
use crate::Config;

pub(crate) use body::drain;
pub(crate) use error::RedivisError;
pub(crate) use model::{RawFile, RedivisState, Session, Table, TempUpload};

/// GCS's unit: every chunk but the last is a multiple of it, and a broken chunk keeps whole
/// units only.
pub(crate) const QUANTUM: u64 = 256 * 1024;

/// The MD5 of a session's committed prefix, as far as it was computed while receiving.
pub(crate) struct Hashing {
    pub(crate) md5: Md5,
    /// How many bytes `md5` covers (at most the committed offset).
    pub(crate) hashed: u64,
}

pub(crate) struct Redivis {
    pub(crate) storage: storage::Storage,
    pub(crate) rate: access::RateLimit,
    pub(crate) data_plane: Option<data_plane::DataPlane>,
    pub(crate) chunk_answers: crate::ChunkAnswers,
    bytes_received: AtomicU64,
    /// One lock per live session, so its chunks are handled one at a time; it also holds the
    /// running MD5. Not persisted: after a restart the MD5 is computed from the file.
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Hashing>>>>,
}

impl Redivis {
    pub(crate) fn open(config: &Config, store: &Store) -> io::Result<Redivis> {
        let storage = storage::Storage::open(&store.blobs)?;
        store.read(|state| storage.clean(&state.redivis));
        let data_plane = config.redivis_data_plane.as_ref().map(data_plane::DataPlane::new).transpose()?;
        Ok(Redivis {
            storage,
            rate: access::RateLimit::new(config.redivis_rate_limit),
            data_plane,
            chunk_answers: config.redivis_chunk_answers,
            bytes_received: AtomicU64::new(0),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn count_received(&self, bytes: u64) {
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Body bytes received on the data plane since the start, thrown-away ones included.
    pub(crate) fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    pub(crate) fn rate_limit_headers(&self, now: Timestamp, headers: &mut HeaderMap) {
        self.rate.headers(now, headers);
    }

    fn locks(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<Hashing>>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn session_lock(&self, session: &str) -> Arc<tokio::sync::Mutex<Hashing>> {
        self.locks()
            .entry(session.to_owned())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Hashing { md5: Md5::new(), hashed: 0 })))
            .clone()
    }

    /// A finished session needs its lock no more (later requests see it complete first).
    pub(crate) fn release_lock(&self, session: &str) {
        self.locks().remove(session);
    }

    /// Deletes the bytes and the lock of sessions the state no longer has.
    pub(crate) fn forget_sessions(&self, sessions: &[model::Session]) {
        for session in sessions {
            storage::remove_quietly(&self.storage.session(&session.id));
            self.release_lock(&session.id);
        }
    }
}

/// The Redivis routes. The API ones go through [`access::gate`]; the data plane needs no auth
/// (the URL is the authorisation; a Bearer header is accepted and ignored, D-R2).
pub(crate) fn router(app: Arc<App>) -> Router<Arc<App>> {
    let api = Router::new()
        .route("/api/v1/datasets/{dataset}/tables", post(tables::create_table))
        .route("/api/v1/tables/{table}", get(tables::get_table))
        .route("/api/v1/tables/{table}/tempUploads", post(temp_uploads::create))
        .route("/api/v1/tables/{table}/rawFiles", post(raw_files::create).get(raw_files::list))
        .route("/api/v1/rawFiles/{id}", get(raw_files::get))
        .route("/api/v1/{*rest}", any(unknown))
        .layer(middleware::from_fn_with_state(app, access::gate));
    // Bodies are streamed to disk, whatever their size.
    let data = Router::new()
        .route("/__tempUploads/{id}", post(session::initiate).put(temp_uploads::put_whole))
        .route("/__tempUploads/{id}/session/{session}", put(session::put).delete(session::cancel))
        .layer(DefaultBodyLimit::disable());
    api.merge(data)
}

async fn unknown() -> RedivisError {
    RedivisError::not_found("No such API endpoint.")
}
