//! The `hostile` faults: answers no honest server gives, to prove a client survives them.
//!
//! Each replaces the request's answer (the request itself is not run, so nothing of it is kept):
//! a 200 whose JSON breaks off, a 200 that claims a gigabyte and streams junk until the client
//! hangs up, a 307 to another origin, a 200 whose body drips one byte at a time forever, or (on a
//! resumable session's chunk) a 308 claiming more bytes than were sent. The redirect points at a
//! second listener the emulator starts, which only counts visits: a client must never get there.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RANGE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// Which hostile answer a rule gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hostile {
    /// 200 with a JSON body cut off in the middle.
    MalformedJson,
    /// 200 with `Content-Length: 1000000000` and junk until the client hangs up.
    HugeBody,
    /// 307 to the same path on another origin (the redirect target, which counts visits).
    Redirect,
    /// 200, then the body one byte every `slowloris_ms` (default 1000) forever.
    Slowloris,
    /// `redivis.chunk` of a session: 308 with a `Range` beyond the last byte sent.
    WrongRange,
}

impl Hostile {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hostile::MalformedJson => "malformed_json",
            Hostile::HugeBody => "huge_body",
            Hostile::Redirect => "redirect",
            Hostile::Slowloris => "slowloris",
            Hostile::WrongRange => "wrong_range",
        }
    }
}

/// One fired hostile fault with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HostileAnswer {
    pub(crate) kind: Hostile,
    /// `slowloris`: the pause between two bytes.
    pub(crate) drip: Duration,
}

pub(crate) const DEFAULT_SLOWLORIS_MS: u64 = 1000;

/// What `huge_body` claims to send. The emulator never holds more than one piece of it.
pub const HUGE_BODY_BYTES: u64 = 1_000_000_000;
const HUGE_PIECE: usize = 64 * 1024;

/// A plausible answer, cut where a dropped proxy connection might cut it: never valid JSON.
const TRUNCATED_JSON: &str = r#"{"results": [{"id": "9f1c2e7a", "name": "a.bin", "url": "http://127.0.0.1/__tempUp"#;

/// What a session's `wrong_range` answer claims beyond the last byte sent: one GCS quantum.
const BEYOND: u64 = 256 * 1024;

/// The second origin `redirect` points at: a listener that answers anything with 200 `{}` and
/// counts every request it gets.
pub(crate) struct RedirectTarget {
    base: String,
    visits: Arc<AtomicU64>,
}

impl RedirectTarget {
    /// Binds a free port on `ip` and serves until the returned task is aborted.
    pub(crate) async fn start(ip: std::net::IpAddr) -> std::io::Result<(RedirectTarget, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let visits = Arc::new(AtomicU64::new(0));
        let seen = visits.clone();
        let router = axum::Router::new().fallback(move || {
            let seen = seen.clone();
            async move {
                let visit = seen.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(visit, "the redirect target was visited: a client followed a hostile redirect");
                axum::Json(serde_json::json!({}))
            }
        });
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(%err, "redirect target stopped");
            }
        });
        Ok((RedirectTarget { base, visits }, task))
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn visits(&self) -> u64 {
        self.visits.load(Ordering::Relaxed)
    }
}

/// The answer of a fired hostile fault. `uri` and `headers` are the request's; `target` is where
/// a redirect goes (none only before the emulator has started one). `None`: the fault does not
/// apply to this request (`wrong_range` on a PUT that is not a session chunk), run it as usual.
pub(crate) fn answer(
    hostile: HostileAnswer,
    uri: &Uri,
    headers: &HeaderMap,
    target: Option<&RedirectTarget>,
) -> Option<Response> {
    Some(match hostile.kind {
        Hostile::MalformedJson => json_head(StatusCode::OK, Body::from(TRUNCATED_JSON)),
        Hostile::HugeBody => {
            let mut response = json_head(StatusCode::OK, huge_body());
            response.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(HUGE_BODY_BYTES));
            response
        }
        Hostile::Redirect => {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let base = target.map_or("http://127.0.0.1:9", RedirectTarget::base_url);
            let location = HeaderValue::from_str(&format!("{base}{path}")).ok()?;
            (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, location)]).into_response()
        }
        Hostile::Slowloris => json_head(StatusCode::OK, drip(hostile.drip)),
        Hostile::WrongRange => {
            let last = last_byte_sent(headers)?;
            let claimed = HeaderValue::from_str(&format!("bytes=0-{}", last + BEYOND)).ok()?;
            let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
            response.headers_mut().insert(RANGE, claimed);
            response
        }
    })
}

fn json_head(status: StatusCode, body: Body) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `HUGE_BODY_BYTES` of junk, one shared 64 KiB piece at a time; it ends early when hyper stops
/// polling it, which is when the client hangs up.
fn huge_body() -> Body {
    let piece = Bytes::from(vec![b'x'; HUGE_PIECE]);
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let piece = piece.clone();
        async move {
            if sent >= HUGE_BODY_BYTES {
                return None;
            }
            let len = (HUGE_BODY_BYTES - sent).min(HUGE_PIECE as u64) as usize;
            Some((Ok::<_, std::io::Error>(piece.slice(..len)), sent + len as u64))
        }
    });
    Body::from_stream(stream)
}

/// `{`, then a space every `every`, forever: valid JSON so far, never finished.
fn drip(every: Duration) -> Body {
    let stream = futures_util::stream::unfold(true, move |first| async move {
        if first {
            return Some((Ok::<_, std::io::Error>(Bytes::from_static(b"{")), false));
        }
        tokio::time::sleep(every).await;
        Some((Ok(Bytes::from_static(b" ")), false))
    });
    Body::from_stream(stream)
}

/// E of a chunk's `Content-Range: bytes S-E/N`.
fn last_byte_sent(headers: &HeaderMap) -> Option<u64> {
    let range = headers.get("content-range")?.to_str().ok()?.trim();
    let span = range.strip_prefix("bytes")?.trim_start().split('/').next()?;
    span.split_once('-')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_headers(range: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(range) = range {
            headers.insert("content-range", range.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_truncated_json_is_not_json() {
        assert!(serde_json::from_str::<serde_json::Value>(TRUNCATED_JSON).is_err());
    }

    #[test]
    fn wrong_range_claims_a_quantum_past_the_last_byte_of_a_session_chunk_only() {
        let hostile = HostileAnswer { kind: Hostile::WrongRange, drip: Duration::ZERO };
        let uri: Uri = "/__tempUploads/u/session/s".parse().unwrap();
        let answer = answer(hostile, &uri, &request_headers(Some("bytes 262144-524287/1000000")), None).unwrap();
        assert_eq!(answer.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(answer.headers()[RANGE], format!("bytes=0-{}", 524_287 + BEYOND));
        assert!(super::answer(hostile, &uri, &request_headers(None), None).is_none(), "a whole-body PUT");
        assert!(super::answer(hostile, &uri, &request_headers(Some("bytes */1000")), None).is_none());
    }

    #[test]
    fn a_redirect_keeps_the_path_and_query_on_the_other_origin() {
        let hostile = HostileAnswer { kind: Hostile::Redirect, drip: Duration::ZERO };
        let target = RedirectTarget { base: "http://127.0.0.1:4321".into(), visits: Default::default() };
        let uri: Uri = "/api/v1/tables/t/rawFiles?x=1".parse().unwrap();
        let answer = answer(hostile, &uri, &HeaderMap::new(), Some(&target)).unwrap();
        assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(answer.headers()[LOCATION], "http://127.0.0.1:4321/api/v1/tables/t/rawFiles?x=1");
    }
}
