//! The middleware that counts every request by route and applies the faults decided for it.
//!
//! Order for one request: latency, then a connection reset, then an injected status, then a
//! hostile answer (for these three the request is not run), otherwise the handler runs (seeing
//! `expire_now`, the copy faults, the Redivis session faults and `corrupt` through a request
//! extension), then `commit_then_status` replaces its answer, then the body is slowed.
//!
//! Two data-plane twists: every body byte of a data-plane request (Redivis, `inspect.put`,
//! `oss.post`) is counted (whoever reads it, so bytes thrown away count too), and a reset on
//! `redivis.chunk` runs the handler on the bytes that arrived before the cut, because a GCS-style
//! session keeps what it received (rounded down to 256 KiB); everywhere else a reset request is
//! not run at all.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};

use super::injector::{HandlerFaults, Injected};
use super::route::{Plane, Route};
use crate::app::App;
use crate::conn::Peer;
use crate::error::{ApiError, S3Error};
use crate::hbr::HbrError;
use crate::inspect::InspectError;
use crate::oss::OssError;
use crate::redivis::RedivisError;

/// Pieces per second of a slowed body: small enough to look smooth, large enough to be cheap.
const SLOW_PIECES_PER_SEC: u64 = 10;

pub(crate) async fn inject(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let Some(route) = Route::classify(request.method(), request.uri(), request.headers()) else {
        return next.run(request).await;
    };
    if let Some(plane) = route.data_plane() {
        request = counted(&app, plane, request);
    }
    let effects = app.faults.decide(route);
    if effects.is_none() {
        return next.run(request).await;
    }
    if let Some(latency) = effects.latency {
        tokio::time::sleep(latency).await;
    }
    if let Some(limit) = effects.reset_after_bytes {
        if route == Route::RedivisChunk {
            return cut_after(request, limit, effects.handler, next).await;
        }
        return reset_after(request, limit).await;
    }
    if let Some(injected) = effects.status {
        if route.data_plane().is_some() {
            // Received in full first, as a server answering after the body would.
            drain(request.into_body()).await;
        }
        return with_rate_limit(&app, route, error_answer(route, injected));
    }
    if let Some(hostile) = effects.hostile {
        let (parts, body) = request.into_parts();
        let target = app.faults.redirect_target();
        if let Some(answer) = super::hostile::answer(hostile, &parts.uri, &parts.headers, target) {
            tracing::info!(route = route.name(), hostile = hostile.kind.name(), "hostile answer");
            // Received in full first, so the client does see the answer rather than a broken pipe.
            drain(body).await;
            return with_rate_limit(&app, route, answer);
        }
        request = Request::from_parts(parts, body);
    }
    request.extensions_mut().insert(effects.handler);
    let mut response = next.run(request).await;
    if let Some(injected) = effects.commit_then {
        tracing::info!(route = route.name(), status = response.status().as_u16(), "request done, answer replaced");
        response = with_rate_limit(&app, route, error_answer(route, injected));
    }
    if let Some(rate) = effects.slow_body_bytes_per_sec {
        response = slow(response, rate);
    }
    response
}

/// Counts the request's body bytes as they are read (`Emulator::redivis_bytes_received`, ...).
fn counted(app: &Arc<App>, plane: Plane, request: Request) -> Request {
    let app = app.clone();
    request.map(|body| {
        Body::from_stream(body.into_data_stream().inspect_ok(move |chunk| {
            let bytes = chunk.len() as u64;
            match plane {
                Plane::Redivis => app.redivis.count_received(bytes),
                Plane::Inspect => app.inspect.count_received(bytes),
                Plane::Oss => app.oss.count_received(bytes),
            }
        }))
    })
}

/// Every Redivis API answer carries the rate-limit headers, an injected one too.
fn with_rate_limit(app: &App, route: Route, mut response: Response) -> Response {
    if route.is_redivis_api() {
        app.redivis.rate_limit_headers(app.clock.now(), response.headers_mut());
    }
    response
}

async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    while let Some(Ok(_)) = stream.next().await {}
}

/// Extracts the faults a handler has to act on itself (none unless a rule fired).
pub(crate) struct Faults(pub(crate) HandlerFaults);

impl<S: Send + Sync> FromRequestParts<S> for Faults {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Faults(parts.extensions.get::<HandlerFaults>().copied().unwrap_or_default()))
    }
}

/// Reads (and drops) `limit` bytes of the body, or all of it if it is shorter, then aborts the
/// connection. The handler never runs, so nothing of a cut-off request is kept.
async fn reset_after(request: Request, limit: u64) -> Response {
    let peer = request.extensions().get::<ConnectInfo<Peer>>().map(|ConnectInfo(peer)| peer.clone());
    let mut body = request.into_body().into_data_stream();
    let mut seen = 0u64;
    while seen < limit {
        match body.next().await {
            Some(Ok(chunk)) => seen += chunk.len() as u64,
            _ => break,
        }
    }
    tracing::info!(bytes = seen, "request body read, resetting");
    match peer {
        Some(peer) => peer.reset(),
        None => tracing::warn!("no connection to reset"),
    }
    // Never sent: the connection fails on its first write and closes with an RST.
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// Runs the handler on a body that breaks off after `limit` bytes (or at its end, if shorter: the
/// request never completes either way), then aborts the connection. For a resumable session this
/// is the client's connection dropping mid-chunk: what arrived may be kept.
async fn cut_after(request: Request, limit: u64, faults: HandlerFaults, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<Peer>>().map(|ConnectInfo(peer)| peer.clone());
    let mut request = request.map(|body| Body::from_stream(cut(body, limit)));
    request.extensions_mut().insert(faults);
    let answer = next.run(request).await;
    tracing::info!(status = answer.status().as_u16(), limit, "body cut off, resetting instead of answering");
    match peer {
        Some(peer) => peer.reset(),
        None => tracing::warn!("no connection to reset"),
    }
    // Never sent: the connection fails on its first write and closes with an RST.
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// The first `limit` bytes of `body`, then an error in place of the rest (or of its end).
fn cut(body: Body, limit: u64) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send {
    let cut_off = || io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by an injected fault");
    futures_util::stream::unfold((body.into_data_stream(), 0u64, false), move |(mut body, seen, done)| async move {
        if done {
            return None;
        }
        if seen >= limit {
            return Some((Err(cut_off()), (body, seen, true)));
        }
        match body.next().await {
            Some(Ok(mut chunk)) => {
                chunk.truncate((limit - seen).min(chunk.len() as u64) as usize);
                let seen = seen + chunk.len() as u64;
                Some((Ok(chunk), (body, seen, false)))
            }
            Some(Err(err)) => Some((Err(io::Error::other(err)), (body, seen, true))),
            None => Some((Err(cut_off()), (body, seen, true))),
        }
    })
}

/// The injected error, in the dialect of the route: S3 XML on the upload and download URLs and
/// Inspect's presigned URL, Redivis' `{"status", "error", "error_description"}` on its API and
/// data plane, Inspect's `{"error", "errorDescription"}`, HBR's `{"RequestId", "Code", "Message",
/// "HostId"}`, OSS's XML, the Trusted Twin JSON body elsewhere, or an API-gateway style
/// `{"message"}` for a status the Trusted Twin subcodes do not cover (429, 504, ...).
fn error_answer(route: Route, injected: Injected) -> Response {
    let status = StatusCode::from_u16(injected.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match route {
        Route::Upload | Route::Download | Route::InspectPut => S3Error::injected(status).into_response(),
        Route::InspectPresigned | Route::InspectComplete => InspectError::injected(status).into_response(),
        Route::HbrCreateUrl | Route::HbrDownloadLink => HbrError::injected(status).into_response(),
        Route::OssPost | Route::OssGet => OssError::injected(status).into_response(),
        _ if route.is_redivis_api() || route.is_redivis_data_plane() => RedivisError::injected(status).into_response(),
        _ => match injected.subcode.or_else(|| default_subcode(injected.status)) {
            Some(subcode) => ApiError::injected(subcode, "Injected fault.").into_response(),
            None => {
                let message = status.canonical_reason().unwrap_or("Error");
                (status, axum::Json(serde_json::json!({ "message": message }))).into_response()
            }
        },
    };
    if let Some(seconds) = injected.retry_after {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The official subcode whose first three digits are the status, where there is one.
fn default_subcode(status: u16) -> Option<u32> {
    Some(match status {
        400 => 400_589,
        401 => 401_000,
        403 => 403_535,
        404 => 404_653,
        500 => 500_000,
        501 => 501_159,
        502 => 502_159,
        503 => 503_159,
        _ => return None,
    })
}

/// Sends the body at about `rate` bytes per second, in small pieces.
fn slow(response: Response, rate: u64) -> Response {
    let (parts, body) = response.into_parts();
    let piece = (rate / SLOW_PIECES_PER_SEC).max(1) as usize;
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), Bytes::new()),
        move |(mut body, mut pending)| async move {
            if pending.is_empty() {
                match body.next().await? {
                    Ok(chunk) => pending = chunk,
                    Err(err) => return Some((Err(err), (body, Bytes::new()))),
                }
            }
            let out = pending.split_to(pending.len().min(piece));
            tokio::time::sleep(Duration::from_secs_f64(out.len() as f64 / rate as f64)).await;
            Some((Ok(out), (body, pending)))
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_get_their_official_subcode_or_a_gateway_body() {
        assert_eq!(default_subcode(503), Some(503_159));
        assert_eq!(default_subcode(500), Some(500_000));
        assert_eq!(default_subcode(429), None);
        let response = error_answer(Route::Cache, Injected { status: 429, subcode: None, retry_after: Some(2) });
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
        let response = error_answer(Route::Upload, Injected { status: 503, subcode: None, retry_after: None });
        assert_eq!(response.headers()["content-type"], "application/xml");
        let response = error_answer(Route::RedivisChunk, Injected { status: 503, subcode: None, retry_after: None });
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["content-type"], "application/json");
        for (route, content_type) in [
            (Route::InspectPut, "application/xml"),
            (Route::InspectComplete, "application/json"),
            (Route::HbrCreateUrl, "application/json"),
            (Route::OssPost, "application/xml"),
        ] {
            let response = error_answer(route, Injected { status: 503, subcode: None, retry_after: None });
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{route:?}");
            assert_eq!(response.headers()["content-type"], content_type, "{route:?}");
        }
    }
}
