//! Who may call the Redivis API, and how often.
//!
//! Every `/api/v1/...` request needs `Authorization: Bearer <secret>`, where the secret is any one
//! the emulator accepts for Trusted Twin (the same users; their Trusted Twin roles do not apply
//! here). Then the rate limit: off by default, `Config::redivis_rate_limit(n)` allows n calls per
//! 100 s (a sliding window over the emulator's clock, all users together) and refuses the next one
//! with 429 and `Retry-After`. Every answer carries `X-RateLimit-Limit` and
//! `X-RateLimit-Remaining` (100 and 100 while the limit is off). A HEAD that fails also gets its
//! error body URL-encoded in `X-REDIVIS-ERROR-PAYLOAD`, since a HEAD answer has no body (D-R1).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::RedivisError;
use crate::app::App;
use crate::clock::Timestamp;

/// Redivis' documented window: about 100 requests per 100 s.
const WINDOW: Duration = Duration::from_secs(100);
const DOCUMENTED_LIMIT: u32 = 100;
/// An error body larger than this is not copied into the HEAD error header.
const MAX_ERROR_PAYLOAD: usize = 8 * 1024;

pub(crate) struct RateLimit {
    limit: Option<u32>,
    /// When each call inside the window was let through, oldest first.
    recent: Mutex<VecDeque<Timestamp>>,
}

impl RateLimit {
    pub(crate) fn new(limit: Option<u32>) -> RateLimit {
        RateLimit { limit, recent: Mutex::new(VecDeque::new()) }
    }

    fn recent(&self, now: Timestamp) -> std::sync::MutexGuard<'_, VecDeque<Timestamp>> {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        while recent.front().is_some_and(|&at| at.plus(WINDOW) <= now) {
            recent.pop_front();
        }
        recent
    }

    /// Lets a call through, or says in how many seconds one will be.
    fn acquire(&self, now: Timestamp) -> Result<(), u64> {
        let Some(limit) = self.limit else { return Ok(()) };
        let mut recent = self.recent(now);
        if recent.len() < limit as usize {
            recent.push_back(now);
            return Ok(());
        }
        let free_at = recent.front().map_or(now, |&oldest| oldest.plus(WINDOW));
        let wait = free_at.as_secs_f64() - now.as_secs_f64();
        Err((wait.ceil() as u64).max(1))
    }

    pub(crate) fn headers(&self, now: Timestamp, headers: &mut HeaderMap) {
        let (limit, remaining) = match self.limit {
            None => (DOCUMENTED_LIMIT, DOCUMENTED_LIMIT),
            Some(limit) => (limit, limit.saturating_sub(self.recent(now).len() as u32)),
        };
        headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    }
}

/// The middleware in front of every Redivis API route (inside the fault layer, so faulted and
/// refused requests are counted all the same).
pub(crate) async fn gate(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let head = request.method() == Method::HEAD;
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let mut response = match token {
        None => {
            RedivisError::unauthorized("Missing or malformed 'Authorization: Bearer <token>' header.").into_response()
        }
        Some(token) if !app.users.accepts(token) => {
            RedivisError::unauthorized("The access token is invalid or expired.").into_response()
        }
        Some(_) => match app.redivis.rate.acquire(app.clock.now()) {
            Ok(()) => next.run(request).await,
            Err(retry_after) => RedivisError::rate_limited(retry_after).into_response(),
        },
    };
    app.redivis.rate.headers(app.clock.now(), response.headers_mut());
    if head && !response.status().is_success() {
        response = with_error_payload(response).await;
    }
    response
}

async fn with_error_payload(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_PAYLOAD).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(value) = HeaderValue::from_str(&quote(&bytes)) {
        parts.headers.insert("x-redivis-error-payload", value);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Python's `urllib.parse.quote(s, safe="")`, which the client undoes with `unquote`.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"_.-~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn the_window_slides() {
        let rate = RateLimit::new(Some(2));
        let now = Clock::default().now();
        assert!(rate.acquire(now).is_ok());
        assert!(rate.acquire(now.plus(Duration::from_secs(10))).is_ok());
        assert_eq!(rate.acquire(now.plus(Duration::from_secs(20))), Err(80));
        let mut headers = HeaderMap::new();
        rate.headers(now.plus(Duration::from_secs(20)), &mut headers);
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert!(rate.acquire(now.plus(WINDOW)).is_ok(), "the oldest call left the window");
    }

    #[test]
    fn off_means_never_refused() {
        let rate = RateLimit::new(None);
        let now = Clock::default().now();
        for _ in 0..500 {
            assert!(rate.acquire(now).is_ok());
        }
        let mut headers = HeaderMap::new();
        rate.headers(now, &mut headers);
        assert_eq!(headers["x-ratelimit-limit"], "100");
        assert_eq!(headers["x-ratelimit-remaining"], "100");
    }

    #[test]
    fn error_payloads_are_quoted_like_python() {
        assert_eq!(quote(br#"{"a": 1}"#), "%7B%22a%22%3A%201%7D");
    }
}
