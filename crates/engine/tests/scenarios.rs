//! One scenario per emulator fault kind, and the queue's policies. Every fault scenario ends
//! with every Doc `ok`, none lost, none attached twice.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use twindrop_emulator::{Config, EmptyUploads, Emulator};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::queue::{ConflictPolicy, EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::{Queue, Secret, TrustedTwin, TwinId};

const SECRET: &str = "scenario-secret";

struct World {
    em: Emulator,
    tt: Arc<TrustedTwin>,
    twin: TwinId,
    dir: tempfile::TempDir,
    journal: Arc<Journal>,
}

async fn world() -> World {
    world_with(Config::new(SECRET)).await
}

async fn world_with(mut config: Config) -> World {
    config.copy_delay = Duration::from_millis(30);
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap());
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    World { em, tt, twin, dir, journal }
}

fn fast_retries() -> Options {
    Options {
        retry: RetryPolicy {
            max_attempts: 12,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        poll_interval: Duration::from_millis(40),
        ..Options::default()
    }
}

impl World {
    fn files(&self, n: usize, size: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| {
                let p = self.dir.path().join(format!("file{i:03}.bin"));
                let bytes: Vec<u8> = (0..size).map(|b| ((b * 31 + i * 7) % 251) as u8).collect();
                std::fs::write(&p, bytes).unwrap();
                p
            })
            .collect()
    }

    async fn upload(&self, files: &[PathBuf], opts: Options) -> (Vec<u64>, Vec<QueueEvent>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
        let queue = Queue::new(self.tt.clone(), self.journal.clone(), opts);
        let ids = queue.enqueue(&self.twin, files, &sink).await.unwrap();
        tokio::time::timeout(Duration::from_secs(60), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
        let events = events.lock().unwrap().clone();
        (ids, events)
    }

    /// Every job done and `ok`, the Twin holds exactly the expected names, each created once.
    async fn assert_all_ok_once(&self, ids: &[u64], names: &BTreeSet<String>, creations: u64) {
        for id in ids {
            let job = self.journal.get(*id).unwrap();
            assert_eq!(
                (job.state, job.doc_status.as_ref().map(|s| s.as_str())),
                (JobState::Done, Some("ok")),
                "job {id} ({}) ended {:?} {:?}",
                job.doc_name,
                job.error_code,
                job.error_message
            );
        }
        let listing: BTreeSet<String> = self.tt.list_docs(&self.twin).await.unwrap().into_keys().collect();
        assert_eq!(&listing, names, "nothing lost, nothing extra");
        for name in names {
            assert_eq!(self.em.attach_count(self.twin.as_str(), name), creations, "{name} created {creations} time(s)");
        }
    }
}

fn names(n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("file{i:03}.bin")).collect()
}

async fn fault_scenario(rules: serde_json::Value, creations: u64) -> Vec<QueueEvent> {
    let w = world().await;
    w.em.set_faults(serde_json::from_value(json!({ "seed": 7, "rules": rules })).unwrap());
    let files = w.files(6, 120_000);
    let (ids, events) = w.upload(&files, fast_retries()).await;
    w.assert_all_ok_once(&ids, &names(6), creations).await;
    events
}

fn retried(events: &[QueueEvent], code: &str) -> usize {
    events.iter().filter(|e| matches!(e, QueueEvent::Retrying { error, .. } if error.code == code)).count()
}

#[tokio::test]
async fn fault_5xx_on_nth_calls_is_retried() {
    let events = fault_scenario(json!([{ "route": "cache", "nth": [1, 3], "status": 503 }]), 1).await;
    assert!(retried(&events, "server.error") >= 2);
}

#[tokio::test]
async fn fault_429_honours_retry_after() {
    let started = std::time::Instant::now();
    let events = fault_scenario(json!([{ "route": "attach", "nth": [1], "status": 429, "retry_after": 1 }]), 1).await;
    assert!(retried(&events, "server.rate_limited") >= 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not waited for");
}

#[tokio::test]
async fn fault_random_500s_on_status_reads_are_ridden_out() {
    fault_scenario(json!([{ "route": "get_doc", "probability": 0.4, "status": 500 }]), 1).await;
}

#[tokio::test]
async fn fault_added_latency() {
    fault_scenario(json!([{ "route": "upload", "latency_ms": 150 }, { "route": "attach", "latency_ms": 150 }]), 1)
        .await;
}

#[tokio::test]
async fn fault_connection_reset_mid_upload() {
    let events = fault_scenario(json!([{ "route": "upload", "times": 3, "reset_after_bytes": 50000 }]), 1).await;
    assert!(retried(&events, "network.unreachable") >= 1, "{events:?}");
}

#[tokio::test]
async fn fault_upload_url_expired_is_renewed() {
    let events = fault_scenario(json!([{ "route": "cache", "times": 2, "expire_now": true }]), 1).await;
    assert!(retried(&events, "upload.rejected") >= 2);
}

#[tokio::test]
async fn fault_slow_copy() {
    fault_scenario(json!([{ "route": "attach", "copy_ms": 1200 }]), 1).await;
}

#[tokio::test]
async fn fault_copy_ending_in_error_is_sent_again() {
    let w = world().await;
    w.em.set_faults(
        serde_json::from_value(json!({ "rules": [{ "route": "attach", "times": 1, "copy_outcome": "error" }] }))
            .unwrap(),
    );
    let files = w.files(3, 50_000);
    let (ids, events) = w.upload(&files, fast_retries()).await;
    let failed_copies = retried(&events, "attach.rejected") as u64;
    assert!(failed_copies >= 1);
    // The failed Docs were deleted and attached again: one Doc per name in the end.
    let listing: BTreeSet<String> = w.tt.list_docs(&w.twin).await.unwrap().into_keys().collect();
    assert_eq!(listing, names(3));
    let created: u64 = names(3).iter().map(|n| w.em.attach_count(w.twin.as_str(), n)).sum();
    assert_eq!(created, 3 + failed_copies, "one extra creation per failed copy");
    for id in ids {
        assert_eq!(w.journal.get(id).unwrap().doc_status.as_ref().map(|s| s.as_str()), Some("ok"));
    }
}

#[tokio::test]
async fn fault_attach_commits_then_answers_5xx() {
    let events = fault_scenario(json!([{ "route": "attach", "times": 1, "commit_then_status": 500 }]), 1).await;
    assert!(retried(&events, "server.error") >= 1, "the ambiguous answer was not seen");
}

#[tokio::test]
async fn fault_slow_response_body() {
    fault_scenario(json!([{ "route": "get_doc", "slow_body_bytes_per_sec": 4000 }]), 1).await;
}

#[tokio::test]
async fn ready_docs_are_attached_in_batches() {
    let w = world().await;
    let files = w.files(40, 2_000);
    let (ids, _) = w.upload(&files, Options { parallel: 8, ..fast_retries() }).await;
    w.assert_all_ok_once(&ids, &names(40), 1).await;
    let attaches = w.em.call_count("attach");
    assert!(attaches < 20, "40 Docs took {attaches} attach calls");
}

#[tokio::test]
async fn unchanged_files_are_skipped_and_changed_ones_uploaded() {
    let w = world().await;
    let files = w.files(3, 10_000);
    let (first, _) = w.upload(&files, fast_retries()).await;
    w.assert_all_ok_once(&first, &names(3), 1).await;
    let puts = w.em.call_count("upload");

    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&files[1], b"changed").unwrap();
    let (second, events) = w.upload(&files, fast_retries()).await;
    let states: Vec<JobState> = second.iter().map(|id| w.journal.get(*id).unwrap().state).collect();
    assert_eq!(states, [JobState::Skipped, JobState::Done, JobState::Skipped]);
    assert_eq!(w.em.call_count("upload"), puts + 1, "only the changed file was sent");
    assert_eq!(events.iter().filter(|e| matches!(e, QueueEvent::Skipped { .. })).count(), 2);
    // The changed file replaces the Doc it made (the journal shows the Doc is its own, unchanged).
    let listing: BTreeSet<String> = w.tt.list_docs(&w.twin).await.unwrap().into_keys().collect();
    assert_eq!(listing, names(3).into_iter().collect(), "{listing:?}");
    let doc = w.tt.get_doc(&w.twin, &twindrop_engine::DocName::parse("file001.bin").unwrap()).await.unwrap();
    assert_eq!(doc.sha256(), w.journal.get(second[1]).unwrap().sha256.as_deref());
}

async fn conflict(policy: ConflictPolicy) -> (World, u64) {
    let w = world().await;
    let dir = w.dir.path().join("other");
    std::fs::create_dir_all(&dir).unwrap();
    let old = dir.join("report.txt");
    std::fs::write(&old, "old content").unwrap();
    let (first, _) = w.upload(&[old], fast_retries()).await;
    assert_eq!(w.journal.get(first[0]).unwrap().doc_status.as_ref().map(|s| s.as_str()), Some("ok"));
    let new = w.dir.path().join("report.txt");
    std::fs::write(&new, "new content").unwrap();
    let (second, _) = w.upload(&[new], Options { on_conflict: policy, ..fast_retries() }).await;
    (w, second[0])
}

#[tokio::test]
async fn conflict_rename_keeps_both() {
    let (w, id) = conflict(ConflictPolicy::Rename).await;
    let job = w.journal.get(id).unwrap();
    assert_eq!((job.state, job.doc_name.as_str()), (JobState::Done, "report-1.txt"));
    let listing: BTreeSet<String> = w.tt.list_docs(&w.twin).await.unwrap().into_keys().collect();
    assert_eq!(listing, BTreeSet::from(["report.txt".to_owned(), "report-1.txt".to_owned()]));
}

#[tokio::test]
async fn conflict_skip_leaves_the_other_doc() {
    let (w, id) = conflict(ConflictPolicy::Skip).await;
    assert_eq!(w.journal.get(id).unwrap().state, JobState::Skipped);
    let listing = w.tt.list_docs(&w.twin).await.unwrap();
    assert_eq!(listing.get("report.txt"), Some(&11));
    assert_eq!(listing.len(), 1);
}

#[tokio::test]
async fn conflict_replace_overwrites() {
    let (w, id) = conflict(ConflictPolicy::Replace).await;
    assert_eq!(w.journal.get(id).unwrap().doc_status.as_ref().map(|s| s.as_str()), Some("ok"));
    let listing = w.tt.list_docs(&w.twin).await.unwrap();
    assert_eq!(listing.get("report.txt"), Some(&11));
    assert_eq!(listing.len(), 1);
    let doc = w.tt.get_doc(&w.twin, &twindrop_engine::DocName::parse("report.txt").unwrap()).await.unwrap();
    assert_eq!(doc.sha256(), w.journal.get(id).unwrap().sha256.as_deref());
}

#[tokio::test]
async fn pause_resume_and_cancel() {
    let w = world().await;
    let files = w.files(3, 4_000_000);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
    let limiter =
        Arc::new(twindrop_engine::bandwidth::Limiter::new(twindrop_engine::bandwidth::Timetable::parse("4M").unwrap()));
    let queue =
        Queue::new(w.tt.clone(), w.journal.clone(), Options { parallel: 1, bwlimit: Some(limiter), ..fast_retries() });
    let ids = queue.enqueue(&w.twin, &files, &sink).await.unwrap();
    assert!(queue.pause(ids[1], &sink).unwrap());
    assert!(queue.cancel(ids[2], &sink).unwrap());
    let runner = {
        let (queue, sink) = (queue.clone(), sink.clone());
        tokio::spawn(async move { queue.run(sink, RunMode::UntilIdle).await })
    };
    // Pause everything mid-transfer: the bytes stop, the job waits in the queue.
    tokio::time::sleep(Duration::from_millis(400)).await;
    queue.pause_all(&sink).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let puts = w.em.call_count("upload");
    assert_eq!(w.journal.get(ids[0]).unwrap().state, JobState::Queued);
    // The window hears the interrupted job go back to the queue from the pause itself.
    let requeued = |e: &QueueEvent| matches!(e, QueueEvent::State { id, state: JobState::Queued } if *id == ids[0]);
    assert!(events.lock().unwrap().iter().any(requeued), "the pause says the job is queued again");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.em.call_count("upload"), puts, "no new PUT while paused");
    queue.resume_all();
    assert!(queue.resume(ids[1], &sink).unwrap());
    tokio::time::timeout(Duration::from_secs(30), runner).await.unwrap().unwrap().unwrap();
    let states: Vec<JobState> = ids.iter().map(|id| w.journal.get(*id).unwrap().state).collect();
    assert_eq!(states, [JobState::Done, JobState::Done, JobState::Cancelled]);
    let listing = w.tt.list_docs(&w.twin).await.unwrap();
    assert_eq!(listing.len(), 2);
    assert!(events.lock().unwrap().iter().any(|e| matches!(e, QueueEvent::State { state: JobState::Paused, .. })));
}

#[tokio::test]
async fn a_dropped_run_stops_its_workers_and_leaves_jobs_queued() {
    let w = world().await;
    let files = w.files(2, 1_000);
    let queue = Queue::new(w.tt.clone(), w.journal.clone(), fast_retries());
    let sink: EventSink = Arc::new(|_| {});
    let runner = {
        let (queue, sink) = (queue.clone(), sink.clone());
        tokio::spawn(async move { queue.run(sink, RunMode::Forever).await })
    };
    let first = queue.enqueue(&w.twin, &files[..1], &sink).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while w.journal.get(first[0]).unwrap().state != JobState::Done {
        assert!(std::time::Instant::now() < deadline, "the first file never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The app closes the session: the run is dropped, and nothing of it may keep working.
    runner.abort();
    let _ = runner.await;
    let puts = w.em.call_count("upload");
    let second = queue.enqueue(&w.twin, &files[1..], &sink).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(w.em.call_count("upload"), puts, "a worker of the dropped run uploaded");
    assert_eq!(w.journal.get(second[0]).unwrap().state, JobState::Queued);
}

/// Seed 004's "No Doc uploaded" for a PUT without a file, read strictly: an empty file never
/// arrives. It is sent a bounded number of times, then fails with a code saying so; the file
/// beside it is unaffected.
#[tokio::test]
async fn an_empty_file_the_service_reads_as_no_file_fails_after_bounded_tries() {
    let w = world_with(Config::new(SECRET).with_empty_uploads(EmptyUploads::NoDoc)).await;
    let empty = w.dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let full = w.files(1, 1_000);
    let (ids, _) = w.upload(&[empty, full[0].clone()], fast_retries()).await;
    let job = w.journal.get(ids[0]).unwrap();
    assert_eq!((job.state, job.error_code.as_deref()), (JobState::Failed, Some("attach.not_uploaded")));
    assert_eq!(job.attempts, 3, "three uploads, each with a fresh URL, then the job stops");
    assert!(job.error_message.as_deref().unwrap_or_default().contains("empty (0 bytes)"), "{job:?}");
    assert_eq!(w.em.call_count("upload"), 4, "three PUTs of the empty file, one of the other");
    assert_eq!(w.journal.get(ids[1]).unwrap().doc_status.as_ref().map(|s| s.as_str()), Some("ok"));
    let listing: BTreeSet<String> = w.tt.list_docs(&w.twin).await.unwrap().into_keys().collect();
    assert_eq!(listing, names(1));
}

/// The other reading (the emulator's default): a 0-byte PUT is an empty Doc, verified `ok`.
#[tokio::test]
async fn an_empty_file_the_service_accepts_becomes_an_empty_doc() {
    let w = world().await;
    let empty = w.dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let (ids, _) = w.upload(&[empty], fast_retries()).await;
    let job = w.journal.get(ids[0]).unwrap();
    assert_eq!((job.state, job.doc_status.as_ref().map(|s| s.as_str())), (JobState::Done, Some("ok")));
    assert_eq!(job.size, 0);
}
