//! A local HTTP server that emulates the Trusted Twin REST API.
//!
//! It speaks the wire format of the real service closely enough that the official Python client
//! and the Twindrop engine can run their whole upload flow against it: upload URL, a plain PUT of
//! the bytes, attach to a Twin, poll until the asynchronous copy is done. What it emulates and
//! where it had to choose is written down in `docs/emulator.md`.
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
//! - [`Config`] and [`Emulator`] (this file): the public face; bind, serve, shut down.
//! - `app`: the shared state every handler sees, the router, request logging.
//! - `auth`: secrets → users of the one account, operations and permission checks, `GET /whoami`.
//! - `error`: the Trusted Twin JSON error body with its subcodes, and the S3-style XML error the
//!   upload URL answers with.
//! - `extract`: request extractors that fail with those error bodies (JSON body, path, query).
//! - `naming`: the published `doc_name` regex with Python `re.match` semantics, description keys,
//!   storage classes.
//! - `clock`: timestamps as the API shows them (epoch seconds, 3 decimals), movable in tests.
//! - `store`: the in-memory model (Twins, Docs, upload handlers) and its JSON persistence.
//! - `blobs`: where uploaded and attached bytes live on disk.
//! - `upload`: `POST /cache` and `PUT /upload/{token}`.
//! - `twins`: `POST /twins`, `GET /twins/{twin}`.
//! - `docs`: attach (`docs::attach`, with the asynchronous copy), get, list, download.

mod app;
mod auth;
mod blobs;
mod clock;
mod docs;
mod error;
mod extract;
mod naming;
mod store;
mod twins;
mod upload;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How the emulator behaves. Build it with [`Config::new`] and adjust the public fields.
#[derive(Clone)]
pub struct Config {
    /// Each one is accepted as the raw value of the `Authorization` header (no "Bearer").
    /// Every secret is a user of the emulator's single account.
    pub secrets: Vec<String>,
    /// Where Twins, Docs, handlers and uploaded bytes are kept across restarts. `None` keeps the
    /// model in memory; uploaded bytes then still go to a private temporary directory, never RAM.
    pub state_dir: Option<PathBuf>,
    /// How long a freshly attached Doc stays `copying`.
    pub copy_delay: Duration,
}

impl Config {
    /// One secret, no state directory, a 300 ms copy delay.
    pub fn new(secret: impl Into<String>) -> Self {
        Config { secrets: vec![secret.into()], state_dir: None, copy_delay: Duration::from_millis(300) }
    }
}

// Hand-written so that a `{:?}` in a log line can never print a secret.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("secrets", &format_args!("[{} redacted]", self.secrets.len()))
            .field("state_dir", &self.state_dir)
            .field("copy_delay", &self.copy_delay)
            .finish()
    }
}

/// A running emulator. Dropping it without [`Emulator::shutdown`] leaves the server running until
/// the tokio runtime ends.
pub struct Emulator {
    app: Arc<app::App>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

impl Emulator {
    /// Binds `addr` (port 0 picks a free port), loads the state directory if there is one, and
    /// spawns the server on the current tokio runtime.
    pub async fn start(addr: SocketAddr, config: Config) -> std::io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{}", reachable(local));
        let app = app::App::open(config, base_url).await?;
        docs::resume_copies(&app);
        let router = app::router(app.clone());
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
        tracing::info!(url = %app.base_url, "Trusted Twin emulator listening");
        Ok(Emulator { app, stop, server })
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

    /// Stops accepting connections, lets requests in flight finish, cancels pending copies (a
    /// restart on the same state directory resumes them) and writes the state one last time.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
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
