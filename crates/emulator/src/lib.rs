//! A local HTTP server that emulates the Trusted Twin REST API and the upload APIs of Redivis,
//! Screening Eagle Inspect and Alibaba Cloud Backup (HBR) with OSS PostObject.
//!
//! It speaks the wire format of the real service closely enough that the official Python client
//! and the Twindrop engine can run their whole upload flow against it: upload URL, a plain PUT of
//! the bytes, attach to a Twin, poll until the asynchronous copy is done. On the same port it
//! serves Redivis (`/api/v1`: temp uploads, a GCS-style resumable data plane, raw files), Inspect
//! (`/api/inspect/v1`: presigned URL, the checked PUT, Complete), HBR (`/hbr/`: signed RPC calls
//! answering OSS form credentials) and OSS (`/__oss/{bucket}`: PostObject with its policy checked,
//! signed GETs). What it emulates and where it had to choose is written down in
//! `docs/emulator.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use twindrop_emulator::{Config, Emulator};
//! let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new("s3cret")).await?;
//! println!("Trusted Twin emulator at {}", emulator.base_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`Emulator`] (this file): the public face; bind, serve, shut down, faults and counters.
//! - `config`: [`Config`] with its setters, and [`UserSpec`] (the `--users` file).
//! - `app`: the shared state every handler sees, the router, request logging.
//! - `conn`: the listener that lets a fault reset a client's connection.
//! - `auth`: secrets → users of the one account, operations and per-user permissions, `GET /whoami`.
//! - `faults`: fault injection ([`FaultPlan`], [`Route`]): the plan, the seeded decisions, and the
//!   middleware that applies them.
//! - `control`: `/_emulator/faults`, `/_emulator/stats`, `/_emulator/clock`, behind the
//!   `X-Emulator-Control` token.
//! - `error`: the Trusted Twin JSON error body with its subcodes, and the S3-style XML error the
//!   upload URL answers with.
//! - `extract`: request extractors that fail with those error bodies (JSON body, path, query).
//! - `naming`: the published `doc_name` regex with Python `re.match` semantics, description keys,
//!   storage classes.
//! - `clock`: timestamps as the API shows them (epoch seconds, 3 decimals), movable in tests.
//! - `store`: the in-memory model (Twins, Docs, upload handlers) and its persistence: a snapshot
//!   and an append-only log of changed records (`store::journal`).
//! - `blobs`: where uploaded and attached bytes live on disk.
//! - `upload`: `POST /cache`, `DELETE /cache/{handler}` and `PUT /upload/{token}`.
//! - `twins`: `POST /twins`, `GET /twins/{twin}`.
//! - `docs`: attach (`docs::attach`, with the asynchronous copy), get, list, download; PATCH and
//!   DELETE (`docs::edit`).
//! - `redivis`: the Redivis API and its data plane, one file per concept (access, tables, temp
//!   uploads, the resumable session, raw files, the delegated data plane, ...); its model is part
//!   of `store`'s state, its bytes live under `blobs`.
//! - `inspect`: Inspect's API and its presigned PUT (or SigV2 URLs of an external s3rver).
//! - `hbr`: HBR's signed RPC endpoint (`CreateTempFileUploadUrl`, `GetTempFileDownloadLink`).
//! - `oss`: OSS PostObject (the policy, its signature and conditions) and signed GETs.
//! - `signing`: HMACs, base64, percent-encoding and SigV2 URLs those three share.

mod app;
mod auth;
mod blobs;
mod clock;
mod config;
mod conn;
mod control;
mod docs;
mod error;
mod extract;
mod faults;
mod hbr;
mod inspect;
mod naming;
mod oss;
mod redivis;
mod signing;
mod store;
mod twins;
mod upload;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use config::{
    AccessKey, ChunkAnswers, Config, EmptyUploads, HbrFormTarget, InspectDataPlane, RedivisDataPlane, UserSpec,
    DEFAULT_INSPECT_MAX_SIZE, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_OSS_MAX_SIZE,
};
pub use faults::{
    CopyOutcome, FaultPlan, FaultPlanError, FaultRule, Hostile, OssChecksums, Route, RouteMatch, HUGE_BODY_BYTES,
};

/// The header the control endpoints (`/_emulator/...`) require, with [`Emulator::control_token`]
/// as its value.
pub const CONTROL_HEADER: &str = "X-Emulator-Control";

/// A running emulator. Dropping it without [`Emulator::shutdown`] leaves the server running until
/// the tokio runtime ends.
pub struct Emulator {
    app: Arc<app::App>,
    control_token: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
    /// The second origin `hostile: redirect` points at.
    redirect_target: JoinHandle<()>,
}

impl Emulator {
    /// Binds `addr` (port 0 picks a free port), loads the state directory if there is one, and
    /// spawns the server on the current tokio runtime.
    pub async fn start(addr: SocketAddr, config: Config) -> std::io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{}", reachable(local));
        let control_token = config.control_token.clone().unwrap_or_else(|| Uuid::new_v4().simple().to_string());
        let app = app::App::open(config, base_url, &control_token).await?;
        docs::resume_copies(&app);
        // Same address, another port: another origin, so following the redirect would carry a
        // request (and its credentials) somewhere else.
        let (target, redirect_target) = faults::RedirectTarget::start(reachable(local).ip()).await?;
        app.faults.set_redirect_target(target);
        let router = app::router(app.clone()).into_make_service_with_connect_info::<conn::Peer>();
        let listener = conn::Listener(listener);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let signal = async move {
                // A dropped Emulator drops the sender; that must not stop the server.
                if stopped.await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            if let Err(err) = axum::serve(listener, router).with_graceful_shutdown(signal).await {
                tracing::error!(%err, "emulator server stopped with an error");
            }
        });
        tracing::info!(url = %app.base_url, "emulator listening (Trusted Twin, Redivis, Inspect, HBR, OSS)");
        Ok(Emulator { app, control_token, stop, server, redirect_target })
    }

    /// The URL clients should use as the API base, e.g. `http://127.0.0.1:40123` (no trailing
    /// slash).
    pub fn base_url(&self) -> &str {
        &self.app.base_url
    }

    /// Moves the emulator's clock forward, so tests can see upload URLs expire without waiting an
    /// hour. Timestamps in answers move with it; the copy delay does not.
    pub fn advance_clock(&self, by: Duration) {
        self.app.clock.advance(by);
    }

    /// The value the `X-Emulator-Control` header must carry on `/_emulator/...` requests: the
    /// configured one, or a random one drawn at start.
    pub fn control_token(&self) -> &str {
        &self.control_token
    }

    /// Replaces the fault plan. The new plan's counters (`nth`, `times`) and dice start afresh;
    /// [`Emulator::call_count`] does not.
    ///
    /// # Panics
    ///
    /// On a plan that [`FaultPlan::validate`] refuses (a deserialized plan was already checked);
    /// use [`Emulator::try_set_faults`] to get the error instead.
    pub fn set_faults(&self, plan: FaultPlan) {
        if let Err(err) = self.try_set_faults(plan) {
            panic!("invalid fault plan: {err}");
        }
    }

    /// Like [`Emulator::set_faults`], but refuses an invalid plan with the reason.
    pub fn try_set_faults(&self, plan: FaultPlan) -> Result<(), FaultPlanError> {
        plan.validate()?;
        self.app.faults.install(plan);
        Ok(())
    }

    /// The fault plan in force.
    pub fn faults(&self) -> FaultPlan {
        self.app.faults.plan()
    }

    /// How many requests of `route` (a [`Route`] name such as `"attach"`, or `"*"` for all) the
    /// emulator has received since it started, faulted ones included.
    ///
    /// # Panics
    ///
    /// On an unknown route name, so that a typo cannot pass for "never called".
    pub fn call_count(&self, route: &str) -> u64 {
        if route == "*" {
            return Route::ALL.into_iter().map(|route| self.app.faults.call_count(route)).sum();
        }
        let Some(route) = Route::from_name(route) else {
            panic!("unknown route '{route}'; expected '*' or one of: {}", Route::ALL.map(Route::name).join(", "));
        };
        self.app.faults.call_count(route)
    }

    /// How many times a Doc named `doc_name` was created (committed) on `twin`, counting Docs
    /// deleted since. With a state directory the count survives restarts. 0 for an unknown Twin.
    pub fn attach_count(&self, twin: &str, doc_name: &str) -> u64 {
        let Ok(twin) = Uuid::parse_str(twin) else {
            return 0;
        };
        self.app.store.read(|state| state.attached.get(&twin).and_then(|docs| docs.get(doc_name)).copied().unwrap_or(0))
    }

    /// Body bytes received on the Redivis data plane (`/__tempUploads/...`) since the start,
    /// including bytes that were then thrown away (a refused or cut-off chunk, a fault): what a
    /// test compares with the size of a file to see how much a client sent again.
    pub fn redivis_bytes_received(&self) -> u64 {
        self.app.redivis.bytes_received()
    }

    /// Requests the redirect target (where `hostile: redirect` points) received since the start:
    /// a client that follows a redirect to another origin shows up here, so it must stay 0.
    pub fn redirect_visits(&self) -> u64 {
        self.app.faults.redirect_target().map_or(0, |target| target.visits())
    }

    /// The base URL of the redirect target, e.g. `http://127.0.0.1:40124`.
    pub fn redirect_target_url(&self) -> &str {
        self.app.faults.redirect_target().map_or("", |target| target.base_url())
    }

    /// How many times any fault rule fired since the plan was set.
    pub fn fired_total(&self) -> u64 {
        self.app.faults.fired().iter().sum()
    }

    /// Requests refused because a secret was in their URL (a client bug: it must be 0).
    pub fn secrets_on_urls(&self) -> u64 {
        self.app.secrets_on_urls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Body bytes received by Inspect's presigned PUT (`/__presigned/...`) since the start,
    /// refused ones included.
    pub fn inspect_bytes_received(&self) -> u64 {
        self.app.inspect.bytes_received()
    }

    /// Body bytes received by OSS PostObject (`/__oss/...`) since the start (the whole form,
    /// refused ones included).
    pub fn oss_bytes_received(&self) -> u64 {
        self.app.oss.bytes_received()
    }

    /// The OSS AccessKeyId the emulator hands out in HBR answers and PostObject accepts.
    pub fn oss_access_key_id(&self) -> &str {
        &self.app.oss.access_key.id
    }

    /// Stops accepting connections, lets requests in flight finish, cancels pending copies (a
    /// restart on the same state directory resumes them) and writes the state one last time.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        self.redirect_target.abort();
        if let Err(err) = self.server.await {
            tracing::error!(%err, "emulator server task failed");
        }
        self.app.close().await;
        tracing::info!(url = %self.app.base_url, "Trusted Twin emulator stopped");
    }
}

/// An address a client on this machine can connect to: a wildcard bind is reached via loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}
