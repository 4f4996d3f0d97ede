//! The client against the emulator's `hostile` faults (issue 10): for every hostile answer and
//! every service, a batch of three files where one call is answered with it. The run must end in
//! bounded time, each file either arrives intact (read back byte for byte) or fails with a code
//! that names what happened, no file is made twice, nothing follows a redirect, nothing panics.
//! The cells run a few at a time, each against its own emulator, and print a kind × service
//! matrix. `TWINDROP_HOSTILE_ONLY=slowloris` (or `TrustedTwin`, `redirect Redivis Data`: words all
//! found in "kind service stage") runs only the matching cells; `TWINDROP_HOSTILE_EVENTS=1` prints
//! each cell's retries.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use twindrop_engine::journal::JobState;
use twindrop_engine::queue::{Options, QueueEvent};
use twindrop_engine::retry::RetryPolicy;

use support::{world, Kind, ALL};

const QUANTUM: u64 = 256 * 1024;
/// Three chunks per file, so a Redivis session has a middle chunk to answer wrongly.
const FILE_SIZE: usize = 2 * QUANTUM as usize + 5000;
/// What the clients give an API call; the emulator drips a slowloris body faster than this
/// times out per read, so only a deadline on the whole call ends it.
const API_TIMEOUT: Duration = Duration::from_secs(2);
const SLOWLORIS_MS: u64 = 200;
/// A cell that has not ended by then hangs: the test fails.
const CELL_LIMIT: Duration = Duration::from_secs(45);
/// Cells at once: enough to overlap the waits, few enough that an honest call under a loaded
/// machine still answers well within `API_TIMEOUT`.
const CELLS_AT_ONCE: usize = 6;

const HOSTILE: [&str; 5] = ["malformed_json", "huge_body", "redirect", "slowloris", "wrong_range"];

/// Which call of a file's journey a cell breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plane {
    /// The call that hands out an upload target.
    Target,
    /// The request that carries the bytes.
    Data,
    /// The call that makes the file (attach, rawFiles, complete).
    Finalize,
}

const PLANES: [Plane; 3] = [Plane::Target, Plane::Data, Plane::Finalize];

impl Kind {
    /// The route, and which of its calls (1-based) gets the hostile answer; `None` where the
    /// service has no such call (HBR makes nothing after the form). Per-file calls are hit on
    /// their second call, so the files before and after it show whether the others carry on;
    /// the batched ones (attach, rawFiles) on their first. Redivis asks for its temp uploads at
    /// enqueue, for the whole drop at once, so its target cell breaks a session's start instead.
    fn route(self, plane: Plane) -> Option<(&'static str, u64)> {
        Some(match (self, plane) {
            (Kind::TrustedTwin, Plane::Target) => ("cache", 2),
            (Kind::Redivis, Plane::Target) => ("redivis.initiate", 2),
            (Kind::Inspect, Plane::Target) => ("inspect.presigned", 2),
            (Kind::Hbr, Plane::Target) => ("hbr.create_url", 2),
            (Kind::TrustedTwin, Plane::Data) => ("upload", 2),
            (Kind::Redivis, Plane::Data) => ("redivis.chunk", 2),
            (Kind::Inspect, Plane::Data) => ("inspect.put", 2),
            (Kind::Hbr, Plane::Data) => ("oss.post", 2),
            (Kind::TrustedTwin, Plane::Finalize) => ("attach", 1),
            (Kind::Redivis, Plane::Finalize) => ("redivis.raw_files", 1),
            (Kind::Inspect, Plane::Finalize) => ("inspect.complete", 2),
            (Kind::Hbr, Plane::Finalize) => return None,
        })
    }
}

/// The codes a file may fail with after a hostile answer: each names what the server did.
fn allowed(hostile: &str) -> &'static [&'static str] {
    match hostile {
        "malformed_json" => &["server.bad_response", "verify.checksum_mismatch", "attach.not_uploaded"],
        "huge_body" => &["server.bad_response"],
        "redirect" => &["server.bad_response"],
        // A session's start is judged by its headers: without a Location it is no answer.
        "slowloris" => &["network.timeout", "server.bad_response"],
        "wrong_range" => &["server.bad_response"],
        _ => unreachable!(),
    }
}

/// Few, quick retries: a retryable failure (a timeout) is tried again, a permanent one is not.
fn options() -> Options {
    Options {
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        poll_interval: Duration::from_millis(30),
        verify_limit: Duration::from_secs(20),
        resumable_above: 2 * QUANTUM,
        chunk_size: QUANTUM,
        ..Options::default()
    }
}

/// What one cell saw: per file `ok` or its error code, and how long the run took.
struct Outcome {
    files: Vec<String>,
    fired: u64,
    took: Duration,
}

/// One cell: three files, one hostile answer, then every invariant.
async fn cell(kind: Kind, hostile: &'static str, plane: Plane) -> Outcome {
    let w = world(kind, Some(API_TIMEOUT)).await;
    let files: Vec<PathBuf> = (0..3).map(|i| w.file(&format!("f{i}.bin"), FILE_SIZE, i + 1)).collect();
    let (route, nth) = kind.route(plane).expect("a cell has a route");
    let mut rule = json!({ "route": route, "nth": [nth], "hostile": hostile });
    if hostile == "slowloris" {
        rule["slowloris_ms"] = json!(SLOWLORIS_MS);
    }
    w.em.set_faults(serde_json::from_value(json!({ "rules": [rule] })).unwrap());
    let started = Instant::now();
    let (ids, events) = w.upload(&files, options(), CELL_LIMIT).await;
    let took = started.elapsed();
    let at = format!("{hostile} on {route} #{nth} × {kind:?}");
    if std::env::var_os("TWINDROP_HOSTILE_EVENTS").is_some() {
        let retries: Vec<&QueueEvent> = events.iter().filter(|e| matches!(e, QueueEvent::Retrying { .. })).collect();
        eprintln!("{at}: {} calls, retries {retries:?}", w.em.call_count(route));
    }

    let mut outcomes = Vec::new();
    for (id, path) in ids.iter().zip(&files) {
        let job = w.journal.get(*id).unwrap();
        match job.state {
            JobState::Done => {
                assert_eq!(
                    job.doc_status.as_ref().map(|s| s.as_str()),
                    Some("ok"),
                    "{at}: {} done but {:?}",
                    job.doc_name,
                    job.doc_status
                );
                let held = w.read_back(&job).await;
                assert!(held == std::fs::read(path).unwrap(), "{at}: {} differs on the server", job.doc_name);
                outcomes.push("ok".to_owned());
            }
            JobState::Failed => {
                let code = job.error_code.clone().unwrap_or_default();
                assert!(
                    allowed(hostile).contains(&code.as_str()),
                    "{at}: {} failed with {code:?}, which does not name what happened: {:?}",
                    job.doc_name,
                    job.error_message
                );
                outcomes.push(code);
            }
            other => panic!("{at}: {} ended {other:?}: {:?}", job.doc_name, job.error_message),
        }
        assert!(w.copies(&job).await <= 1, "{at}: {} was made twice", job.doc_name);
    }
    if hostile == "slowloris" && route != "redivis.initiate" {
        // It hits one call once: the timeout is retried, and the retry gets an honest answer.
        // (A session's start is judged by its headers alone: no Location is a bad response.)
        assert!(outcomes.iter().all(|o| o == "ok"), "{at}: a retry did not recover: {outcomes:?}");
    }
    let failed = outcomes.iter().filter(|o| *o != "ok").count();
    if !["attach", "redivis.raw_files"].contains(&route) {
        // A per-file call was hit: the files not in it carry on.
        assert!(failed <= 1, "{at}: one call was hostile, {failed} files failed: {outcomes:?}");
    }
    if hostile == "wrong_range" {
        assert_eq!(failed, 1, "{at}: the session answered wrongly must end, the others not: {outcomes:?}");
    }
    assert_eq!(w.em.redirect_visits(), 0, "{at}: a redirect to another origin was followed");
    assert_eq!(w.em.secrets_on_urls(), 0, "{at}: a secret went into a URL");
    let fired = w.em.fired_total();
    assert!(fired >= 1, "{at}: the hostile answer never went out");
    w.em.shutdown().await;
    Outcome { files: outcomes, fired, took }
}

/// `ok` ×3, or e.g. `ok ok server.bad_response`, shortened for the matrix.
fn summary(outcome: &Outcome) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for file in &outcome.files {
        match counts.iter_mut().find(|(code, _)| code == file) {
            Some((_, n)) => *n += 1,
            None => counts.push((file.clone(), 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(code, n)| format!("{n}×{code}")).collect();
    format!("{} ({:.1}s)", parts.join(" "), outcome.took.as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_hostile_answer_on_every_service_ends_with_clear_per_file_outcomes() {
    let started = Instant::now();
    let only = std::env::var("TWINDROP_HOSTILE_ONLY").unwrap_or_default();
    let slots = Arc::new(tokio::sync::Semaphore::new(CELLS_AT_ONCE));
    let mut cells = Vec::new();
    for hostile in HOSTILE {
        for kind in ALL {
            for plane in PLANES {
                // A Range only exists in a resumable session: Redivis' data plane.
                let wrong_range_elsewhere = hostile == "wrong_range" && (kind != Kind::Redivis || plane != Plane::Data);
                if kind.route(plane).is_none() || wrong_range_elsewhere {
                    continue;
                }
                let name = format!("{hostile} {kind:?} {plane:?}");
                if !only.split_whitespace().all(|word| name.contains(word)) {
                    continue;
                }
                let slots = slots.clone();
                let task = tokio::spawn(async move {
                    let _slot = slots.acquire_owned().await.expect("never closed");
                    cell(kind, hostile, plane).await
                });
                cells.push((hostile, kind, plane, task));
            }
        }
    }
    let mut failures = Vec::new();
    let mut rows: Vec<(String, Kind, Plane, String)> = Vec::new();
    let mut fired = 0;
    for (hostile, kind, plane, task) in cells {
        match task.await {
            Ok(outcome) => {
                fired += outcome.fired;
                rows.push((hostile.to_owned(), kind, plane, summary(&outcome)));
            }
            Err(panic) => {
                let why = panic.into_panic();
                let why = why
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| why.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{hostile} × {kind:?} ({plane:?}): {why}"));
                rows.push((hostile.to_owned(), kind, plane, "FAILED".into()));
            }
        }
    }
    eprintln!("matrix: hostile kind × service × the call it hits (route#nth: outcome per file, run time)");
    for hostile in HOSTILE {
        for plane in PLANES {
            let line: Vec<String> = ALL
                .iter()
                .map(|kind| {
                    let route = kind.route(plane).map_or("-".to_owned(), |(route, nth)| format!("{route}#{nth}"));
                    let cell = rows
                        .iter()
                        .find(|(h, k, p, _)| h == hostile && k == kind && *p == plane)
                        .map_or("n/a".to_owned(), |(.., s)| s.clone());
                    format!("{kind:?} {route}: {cell}")
                })
                .collect();
            eprintln!("matrix: {hostile:<14} {plane:<8?} {}", line.join(" | "));
        }
    }
    eprintln!("matrix: {} cells, {fired} hostile answers, {:.1}s", rows.len(), started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} cells failed:\n{}", failures.len(), failures.join("\n"));
}
