//! What every handler shares, and the routing table.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::auth::{self, Role, Users};
use crate::clock::Clock;
use crate::docs::{self, DownloadGrant};
use crate::error::ApiError;
use crate::faults::{self, Injector};
use crate::hbr::Hbr;
use crate::inspect::Inspect;
use crate::oss::Oss;
use crate::redivis::Redivis;
use crate::store::Store;
use crate::{control, hbr, inspect, oss, redivis, twins, upload, Config};

pub(crate) struct App {
    pub(crate) base_url: String,
    pub(crate) copy_delay: Duration,
    pub(crate) max_upload_bytes: u64,
    pub(crate) empty_uploads: crate::config::EmptyUploads,
    pub(crate) faults: Injector,
    /// SHA-256 of the control token: the token itself is not kept.
    pub(crate) control_digest: [u8; 32],
    pub(crate) clock: Clock,
    pub(crate) users: Users,
    pub(crate) store: Store,
    /// The Redivis API's shared runtime (its model lives in `store`).
    pub(crate) redivis: Redivis,
    /// Inspect's, HBR's and OSS's runtimes (their models live in `store`).
    pub(crate) inspect: Inspect,
    pub(crate) hbr: Hbr,
    pub(crate) oss: Oss,
    /// Download links handed out by `get_twin_doc?download=true`, by token. Not persisted: like
    /// presigned URLs they are short-lived, and a restart simply invalidates them.
    pub(crate) downloads: Mutex<HashMap<String, DownloadGrant>>,
    /// Requests refused because a secret was in their URL (path segment or query value).
    pub(crate) secrets_on_urls: std::sync::atomic::AtomicU64,
    /// The pending asynchronous copies, so that shutdown can stop them before the state file is
    /// written for the last time (a copy finishing later would overwrite a restarted emulator's
    /// state).
    copies: Mutex<JoinSet<()>>,
}

impl App {
    pub(crate) async fn open(config: Config, base_url: String, control_token: &str) -> io::Result<Arc<App>> {
        let state_dir = config.state_dir.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(state_dir.as_deref()))
            .await
            .map_err(io::Error::other)??;
        let clock = Clock::default();
        let now = clock.now();
        // Also writes the state file right away, so a new account's UUID is kept even if the
        // process is killed before anything else happens.
        let (account, role) = store
            .write(|state| {
                state.sweep_uploads(now, &store.blobs);
                (state.account, state.role)
            })
            .await?;
        let users = Users::new(&config.secrets, account, Role::allow_all(role))
            .with_restricted(&config.users)
            .map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, format!("emulator users: {why}")))?;
        config.faults.validate().map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))?;
        let redivis = Redivis::open(&config, &store)?;
        let inspect = Inspect::open(&config, &store)?;
        let oss = Oss::open(&config, &store)?;
        let hbr = Hbr::new(&config);
        Ok(Arc::new(App {
            base_url,
            copy_delay: config.copy_delay,
            max_upload_bytes: config.max_upload_bytes,
            empty_uploads: config.empty_uploads,
            faults: Injector::new(config.faults),
            control_digest: Sha256::digest(control_token.as_bytes()).into(),
            clock,
            users,
            store,
            redivis,
            inspect,
            hbr,
            oss,
            downloads: Mutex::new(HashMap::new()),
            secrets_on_urls: Default::default(),
            copies: Mutex::new(JoinSet::new()),
        }))
    }

    pub(crate) fn spawn_copy(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut copies = self.copies.lock().unwrap_or_else(PoisonError::into_inner);
        // Reap finished ones so the set does not grow with every attach.
        while copies.try_join_next().is_some() {}
        copies.spawn(task);
    }

    pub(crate) async fn close(&self) {
        let mut copies = {
            let mut guard = self.copies.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut *guard)
        };
        copies.abort_all();
        while copies.join_next().await.is_some() {}
        self.store.close().await;
    }
}

pub(crate) fn router(app: Arc<App>) -> Router {
    let collection = || get(docs::list_docs).post(docs::attach::attach_docs).delete(docs::edit::delete_docs);
    let api = Router::new()
        .route("/whoami", get(auth::who_am_i))
        .route("/cache", post(upload::create_upload_url))
        .route("/cache/{handler}", delete(upload::invalidate_upload_url))
        .route(
            "/upload/{token}",
            // The body is streamed to disk; `Config::max_upload_bytes` is checked against the
            // declared length instead.
            put(upload::put_upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/twins", post(twins::create_twin))
        .route("/twins/{twin}", get(twins::get_twin).delete(twins::terminate_twin))
        // The docs write the listing path with a trailing slash, the client without.
        .route("/twins/{twin}/docs", collection())
        .route("/twins/{twin}/docs/", collection())
        // A wildcard, because the official client sends `/` inside a name as `%2F` and other
        // clients send it literally; both arrive here decoded.
        .route(
            "/twins/{twin}/docs/{*doc_name}",
            get(docs::get_doc).patch(docs::edit::update_doc).delete(docs::edit::delete_doc),
        )
        .route("/download/{token}", get(docs::download))
        .merge(redivis::router(app.clone()))
        .merge(inspect::router(app.clone()))
        .merge(hbr::router())
        .merge(oss::router())
        // Counts and breaks API requests only; the control endpoints are merged in after it.
        .layer(middleware::from_fn_with_state(app.clone(), faults::layer::inject));
    let served = api
        .merge(control::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), refuse_secrets_in_urls))
        .layer(middleware::from_fn(log_request))
        .with_state(app.clone());
    // Around the whole router, because a layer of it runs after routing: a virtual-hosted OSS
    // request must have its path rewritten before it is routed.
    Router::new().fallback_service(served).layer(middleware::from_fn_with_state(app, oss::virtual_host))
}

/// A secret belongs in a header, never in a URL (URLs end up in logs, proxies and histories):
/// a request with one in a path segment or a query value is refused and counted, so tests can
/// assert that no client ever does it.
async fn refuse_secrets_in_urls(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    let uri = request.uri();
    let decode = |s: &str| percent_decode(s);
    let mut parts = uri.path().split('/').map(decode).collect::<Vec<_>>();
    if let Some(query) = uri.query() {
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            parts.push(decode(key));
            parts.push(decode(value));
        }
    }
    // HBR's access key secret travels as `id:secret` in the client's store; check both halves.
    let leaked = parts
        .iter()
        .filter(|p| !p.is_empty())
        .any(|p| app.users.accepts(p) || p.split_once(':').is_some_and(|(_, secret)| app.users.accepts(secret)));
    if leaked {
        app.secrets_on_urls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(path = %uri.path(), "refused: a secret was sent in the URL");
        return ApiError::request_format("A secret was sent in the URL; send it in the Authorization header.")
            .into_response();
    }
    next.run(request).await
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()),
        ) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn not_found() -> ApiError {
    ApiError::not_found("Resource not found.")
}

/// One line per request. Only method, path and status: headers carry the secret, and the query
/// is left out to keep lines short.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await.into_response();
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
