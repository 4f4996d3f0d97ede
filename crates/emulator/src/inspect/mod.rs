//! Screening Eagle Inspect's presigned upload (spec `other-apis.md` §2, decisions D-S1..D-S5,
//! seed 003), on the same server and port as Trusted Twin:
//!
//! - the API under `/api/inspect/v1`, with `Authorization: Bearer <secret>`: ask for a presigned
//!   URL (`POST /file/upload/presigned`: 201 with the URL, or 200 when the same asset already has
//!   a completed file with that hash), then Complete (`POST /file/{id}/upload/complete`); and two
//!   emulator conveniences for tests (an asset's files, a file's bytes);
//! - the data plane, `PUT /__presigned/{id}?expires=..&sig=..`: it checks what a real presigned
//!   S3 URL checks (signature over the Content-Type, expiry) and what Inspect says it checks (the
//!   declared size and SHA-256) — or, with `Config::inspect_data_plane`, SigV2 URLs of an external
//!   S3 server (s3rver) that Complete then reads back.
//!
//! # Layout
//!
//! - [`Inspect`] (this file): what the handlers share beyond the store (the URL key, the byte
//!   counter, the delegated data plane, where bytes live), and the routes.
//! - `access`: Bearer auth, JSON bodies and paths with Inspect's error body.
//! - `error`: `{"error", "errorDescription"}`.
//! - `model`: the files (part of the persisted `store::State`).
//! - `presign`: minting and checking the emulator's own presigned URLs.
//! - `files`: the API handlers.
//! - `put`: the presigned PUT.
//! - `data_plane`: the client for a delegated (external) S3 data plane.

mod access;
mod data_plane;
mod error;
mod files;
mod model;
mod presign;
mod put;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{any, get, post, put};
use axum::Router;

use crate::app::App;
use crate::store::Store;
use crate::Config;

pub(crate) use error::InspectError;
pub(crate) use model::{InspectFile, InspectState};

pub(crate) struct Inspect {
    /// `<blobs>/inspect/<file id>`: the bytes of files PUT to the emulator.
    root: PathBuf,
    pub(crate) max_size: u64,
    pub(crate) data_plane: Option<data_plane::DataPlane>,
    pub(crate) signing_key: Vec<u8>,
    bytes_received: AtomicU64,
}

impl Inspect {
    pub(crate) fn open(config: &Config, store: &Store) -> io::Result<Inspect> {
        let root = store.blobs.root().join("inspect");
        crate::blobs::create_dir_private(&root)?;
        let (signing_key, known) = store.read(|state| {
            let known: std::collections::HashSet<String> =
                state.inspect.files.values().filter(|f| f.uploaded.is_some()).map(|f| f.id.clone()).collect();
            (state.inspect.signing_key.clone().into_bytes(), known)
        });
        // Bytes the state does not know (a crash between the rename and the state write).
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                if !known.contains(entry.file_name().to_string_lossy().as_ref()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let data_plane = config.inspect_data_plane.as_ref().map(data_plane::DataPlane::new).transpose()?;
        Ok(Inspect {
            root,
            max_size: config.inspect_max_size,
            data_plane,
            signing_key,
            bytes_received: AtomicU64::new(0),
        })
    }

    pub(crate) fn path(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub(crate) fn count_received(&self, bytes: u64) {
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Body bytes received by the presigned PUT since the start, thrown-away ones included.
    pub(crate) fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }
}

/// The Inspect routes. The API ones go through [`access::gate`]; the presigned URL needs no auth
/// (the URL is the authorisation).
pub(crate) fn router(app: Arc<App>) -> Router<Arc<App>> {
    let api = Router::new()
        .route("/api/inspect/v1/file/upload/presigned", post(files::presigned))
        .route("/api/inspect/v1/file/{id}/upload/complete", post(files::complete))
        .route("/api/inspect/v1/file/{id}/content", get(files::content))
        .route("/api/inspect/v1/assets/{asset}/files", get(files::list))
        .route("/api/inspect/v1/{*rest}", any(unknown))
        .layer(middleware::from_fn_with_state(app, access::gate));
    // The body is streamed to disk, whatever its size.
    let data = Router::new().route("/__presigned/{id}", put(put::put)).layer(DefaultBodyLimit::disable());
    api.merge(data)
}

async fn unknown() -> InspectError {
    InspectError::not_found("No such API endpoint.")
}
