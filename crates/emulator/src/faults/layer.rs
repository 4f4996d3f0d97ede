//! The middleware that counts every request by route and applies the faults decided for it.
//!
//! Order for one request: latency, then a connection reset, then an injected status (the request
//! is not run), otherwise the handler runs (seeing `expire_now` and the copy faults through a
//! request extension), then `commit_then_status` replaces its answer, then the body is slowed.

use std::convert::Infallible;
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
use futures_util::StreamExt;

use super::injector::{HandlerFaults, Injected};
use super::route::Route;
use crate::app::App;
use crate::conn::Peer;
use crate::error::{ApiError, S3Error};

/// Pieces per second of a slowed body: small enough to look smooth, large enough to be cheap.
const SLOW_PIECES_PER_SEC: u64 = 10;

pub(crate) async fn inject(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let Some(route) = Route::classify(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let effects = app.faults.decide(route);
    if effects.is_none() {
        return next.run(request).await;
    }
    if let Some(latency) = effects.latency {
        tokio::time::sleep(latency).await;
    }
    if let Some(limit) = effects.reset_after_bytes {
        return reset_after(request, limit).await;
    }
    if let Some(injected) = effects.status {
        return error_answer(route, injected);
    }
    request.extensions_mut().insert(effects.handler);
    let mut response = next.run(request).await;
    if let Some(injected) = effects.commit_then {
        tracing::info!(route = route.name(), status = response.status().as_u16(), "request done, answer replaced");
        response = error_answer(route, injected);
    }
    if let Some(rate) = effects.slow_body_bytes_per_sec {
        response = slow(response, rate);
    }
    response
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

/// The injected error, in the dialect of the route: S3 XML on the upload and download URLs,
/// the Trusted Twin JSON body elsewhere, or an API-gateway style `{"message"}` for a status the
/// Trusted Twin subcodes do not cover (429, 504, ...).
fn error_answer(route: Route, injected: Injected) -> Response {
    let status = StatusCode::from_u16(injected.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match route {
        Route::Upload | Route::Download => S3Error::injected(status).into_response(),
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
    }
}
