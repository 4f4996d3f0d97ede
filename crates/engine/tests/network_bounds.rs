//! What a server says cannot stop a worker or spin it: absurd Retry-After values fail the item
//! as `server.rate_limited` with the wait in its message (no panic), an HTTP-date Retry-After is
//! waited for, and an upload URL that keeps being refused (or bytes that keep arriving wrong)
//! is renewed after a growing, jittered wait, never at once.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use twindrop_engine::journal::Journal;
use twindrop_engine::queue::{EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::{Queue, Secret, TrustedTwin, TwinId};

use support::{world, Kind};

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base: Duration::from_millis(5),
        cap: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(10),
    }
}

fn options(max_attempts: u32) -> Options {
    Options { retry: policy(max_attempts), poll_interval: Duration::from_millis(20), ..Options::default() }
}

/// The waits of the Retrying events with `code`, in order.
fn waits(events: &[QueueEvent], code: &str) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            QueueEvent::Retrying { error, wait_ms, .. } if error.code == code => Some(*wait_ms),
            _ => None,
        })
        .collect()
}

/// Waits before renewals: each above zero and within the ceiling of its failure, and, since
/// the ceiling doubles, later ones beyond the first ceiling. (With full jitter all of failures
/// 3..=6 stay under the first ceiling about once in 2^14 runs.)
fn assert_backoff_grows(waits: &[u64], p: &RetryPolicy) {
    for (n, wait) in (1..).zip(waits) {
        let ceiling = p.ceiling(n).as_millis() as u64;
        assert!(*wait > 0 && *wait <= ceiling, "failure {n}: waited {wait} ms, ceiling {ceiling} ms ({waits:?})");
    }
    let first = p.ceiling(1).as_millis() as u64;
    assert!(waits[2..].iter().any(|w| *w > first), "the waits do not grow: {waits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_upload_urls_are_renewed_after_a_growing_wait() {
    let w = world(Kind::TrustedTwin, None).await;
    w.em.set_faults(
        serde_json::from_value(json!({"rules": [{"route": "upload", "times": 6, "status": 403}]})).unwrap(),
    );
    let file = w.file("refused.bin", 1000, 1);
    let (ids, events) = w.upload(&[file], options(12), Duration::from_secs(60)).await;
    let refused = waits(&events, "upload.rejected");
    assert_eq!(refused.len(), 6, "{events:?}");
    assert_backoff_grows(&refused, &policy(12));
    assert_eq!(w.em.call_count("cache"), 7, "a new URL after each refusal");
    assert_eq!(w.journal.get(ids[0]).unwrap().doc_status.as_ref().map(|s| s.as_str()), Some("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_arrive_wrong_are_sent_again_after_a_growing_wait() {
    let w = world(Kind::Inspect, None).await;
    let rule = json!({"rules": [{"route": "inspect.put", "times": 6, "corrupt": true}]});
    w.em.set_faults(serde_json::from_value(rule).unwrap());
    let file = w.file("damaged.bin", 1000, 2);
    let (ids, events) = w.upload(&[file], options(12), Duration::from_secs(60)).await;
    let mismatched = waits(&events, "verify.checksum_mismatch");
    assert_eq!(mismatched.len(), 6, "{events:?}");
    assert_backoff_grows(&mismatched, &policy(12));
    let job = w.journal.get(ids[0]).unwrap();
    assert_eq!(job.doc_status.as_ref().map(|s| s.as_str()), Some("ok"), "{job:?}");
    assert_eq!(w.read_back(&job).await, std::fs::read(&job.path).unwrap());
}

/// A Trusted Twin API that answers `POST /cache` with 429 and `retry_after()` as Retry-After.
async fn rate_limiter(retry_after: impl Fn() -> String + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let retry_after = Arc::new(retry_after);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let retry_after = retry_after.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let body = r#"{"message": "Too Many Requests"}"#;
                let reply = format!(
                    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    retry_after(),
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

/// Upload one file to the Trusted Twin API at `base`: every event.
async fn run_against(base: &str, max_attempts: u32) -> Vec<QueueEvent> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"rate limited").unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    let tt = Arc::new(TrustedTwin::new(base, Secret::new("s")).unwrap());
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
    let queue = Queue::new(tt, journal, options(max_attempts));
    let twin = TwinId::parse("3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
    queue.enqueue(&twin, &[file], &sink).await.unwrap();
    let run = tokio::time::timeout(Duration::from_secs(30), queue.run(sink, RunMode::UntilIdle)).await;
    run.expect("the run ended").expect("no worker failed");
    let events = events.lock().unwrap().clone();
    events
}

fn failure(events: &[QueueEvent]) -> (String, String) {
    let failed = events.iter().find_map(|e| match e {
        QueueEvent::Failed { error, .. } => Some((error.code.clone(), error.message.clone())),
        _ => None,
    });
    failed.unwrap_or_else(|| panic!("no job failed: {events:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_fails_the_item_and_names_the_wait() {
    // Through the emulator's own fault first: the largest wait its plan can ask for.
    let w = world(Kind::TrustedTwin, None).await;
    let rule = json!({"rules": [{"route": "cache", "status": 429, "retry_after": u64::MAX}]});
    w.em.set_faults(serde_json::from_value(rule).unwrap());
    let (_, events) = w.upload(&[w.file("a.bin", 10, 0)], options(8), Duration::from_secs(30)).await;
    let (code, message) = failure(&events);
    assert_eq!(code, "server.rate_limited");
    assert!(message.contains("wait 18446744073709551615 s"), "{message}");
    assert!(waits(&events, "server.rate_limited").is_empty(), "no wait is honoured: {events:?}");

    // Values no parser should take at face value: too large for any integer or float.
    for asked in ["18446744073709551616", "99999999999999999999999999", "1e400", "1e300"] {
        let base = rate_limiter(move || asked.to_owned()).await;
        let events = run_against(&base, 8).await;
        let (code, message) = failure(&events);
        assert_eq!(code, "server.rate_limited", "{asked}");
        assert!(message.contains("wait 18446744073709551615 s"), "{asked}: {message}");
        assert!(waits(&events, "server.rate_limited").is_empty(), "{asked}: {events:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meaningless_retry_after_is_ignored_and_the_backoff_applies() {
    for asked in ["NaN", "inf", "-1", "soon"] {
        let base = rate_limiter(move || asked.to_owned()).await;
        let events = run_against(&base, 3).await;
        let (code, message) = failure(&events);
        assert_eq!(code, "server.rate_limited", "{asked}");
        assert!(!message.contains("asked to wait"), "{asked}: {message}");
        let waits = waits(&events, "server.rate_limited");
        assert_eq!(waits.len(), 2, "{asked}: {events:?}");
        assert!(waits.iter().zip(1..).all(|(w, n)| *w <= policy(3).ceiling(n).as_millis() as u64), "{waits:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_date_retry_after_is_waited_for() {
    let base = rate_limiter(|| httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3))).await;
    let events = run_against(&base, 2).await;
    let waits = waits(&events, "server.rate_limited");
    // The date has whole seconds: 3 s ahead is between 2 and 3 s away when it is read; the
    // backoff alone would be 10 ms at most.
    assert_eq!(waits.len(), 1, "{events:?}");
    assert!((1_000..=3_000).contains(&waits[0]), "waited {} ms", waits[0]);
    assert_eq!(failure(&events).0, "server.rate_limited");
}
