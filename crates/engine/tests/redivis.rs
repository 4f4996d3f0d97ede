//! Redivis through the queue, against the emulator: temp uploads asked for in batches, small
//! files by one PUT, large ones by resumable sessions, rawFiles to finish. Each resumable fault
//! the emulator can play ends with every file in the table once, its MD5 matching, and at most
//! one chunk sent twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::journal::{JobState, Journal, Transfer};
use twindrop_engine::queue::{ConflictPolicy, EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::service::redivis::{Redivis, TableRef};
use twindrop_engine::{Queue, Secret};

const SECRET: &str = "redivis-token";
const TABLE: &str = "demo.sandbox:v1.files";
const CHUNK: u64 = 1 << 20;

struct World {
    em: Emulator,
    redivis: Arc<Redivis>,
    dir: tempfile::TempDir,
    journal: Arc<Journal>,
}

async fn world() -> World {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let redivis = Arc::new(Redivis::new(&api(&em), Secret::new(SECRET)).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    World { em, redivis, dir, journal }
}

fn api(em: &Emulator) -> String {
    format!("{}/api/v1", em.base_url())
}

fn options() -> Options {
    Options {
        retry: RetryPolicy {
            max_attempts: 12,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        resumable_above: 2 * CHUNK,
        chunk_size: CHUNK,
        ..Options::default()
    }
}

fn md5_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes))
}

impl World {
    fn file(&self, name: &str, size: usize, seed: usize) -> PathBuf {
        let p = self.dir.path().join(name);
        let bytes: Vec<u8> = (0..size).map(|b| ((b * 31 + seed * 7) % 251) as u8).collect();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    async fn upload(&self, files: &[PathBuf], opts: Options) -> (Vec<u64>, Vec<QueueEvent>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
        let queue = Queue::new(self.redivis.clone(), self.journal.clone(), opts);
        let ids = queue.enqueue(&TableRef::parse(TABLE).unwrap(), files, &sink).await.unwrap();
        tokio::time::timeout(Duration::from_secs(60), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
        let events = events.lock().unwrap().clone();
        (ids, events)
    }

    /// The table's files by name: (md5Hash, size). Each name at most once, or this fails.
    async fn table_files(&self) -> BTreeMap<String, (String, u64)> {
        let url = format!("{}/tables/{}/rawFiles", api(&self.em), TABLE.replace(':', "%3A"));
        let v: Value = reqwest::Client::new().get(url).bearer_auth(SECRET).send().await.unwrap().json().await.unwrap();
        let mut out = BTreeMap::new();
        for f in v["results"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap().to_owned();
            let size = f["size"].as_u64().or_else(|| f["size"].as_str().and_then(|s| s.parse().ok())).unwrap();
            let previous = out.insert(name.clone(), (f["md5Hash"].as_str().unwrap().to_owned(), size));
            assert!(previous.is_none(), "{name} is in the table twice");
        }
        out
    }

    /// Every job done and `ok`; the table holds exactly these files, once each, with our bytes.
    async fn assert_all_in_table_once(&self, ids: &[u64], files: &[PathBuf]) {
        for id in ids {
            let job = self.journal.get(*id).unwrap();
            assert_eq!(
                (job.state, job.doc_status.as_ref().map(|s| s.as_str())),
                (JobState::Done, Some("ok")),
                "job {id} ended {:?}: {:?}",
                job.state,
                job.error_message
            );
        }
        let table = self.table_files().await;
        let expected: BTreeSet<String> =
            files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(table.keys().cloned().collect::<BTreeSet<_>>(), expected);
        for path in files {
            let bytes = std::fs::read(path).unwrap();
            let (md5, size) = &table[&path.file_name().unwrap().to_string_lossy().into_owned()];
            assert_eq!((md5.as_str(), *size), (md5_b64(&bytes).as_str(), bytes.len() as u64), "{}", path.display());
        }
    }
}

fn retried(events: &[QueueEvent], code: &str) -> usize {
    events.iter().filter(|e| matches!(e, QueueEvent::Retrying { error, .. } if error.code == code)).count()
}

#[tokio::test]
async fn small_files_by_put_and_large_ones_by_resumable_session() {
    let w = world().await;
    let files = vec![
        w.file("empty.csv", 0, 1),
        w.file("small.csv", 70_000, 2),
        w.file("large.bin", 5 * CHUNK as usize + 1234, 3),
        w.file("exact.bin", 3 * CHUNK as usize, 4),
    ];
    let (ids, _) = w.upload(&files, options()).await;
    w.assert_all_in_table_once(&ids, &files).await;
    let transfers: Vec<Option<Transfer>> = ids.iter().map(|id| w.journal.get(*id).unwrap().transfer).collect();
    assert_eq!(transfers, [Transfer::Put, Transfer::Put, Transfer::Resumable, Transfer::Resumable].map(Some));
    // Nothing was sent twice.
    let total: u64 = files.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    assert_eq!(w.em.redivis_bytes_received(), total);
}

/// One large file under a fault on its chunk PUTs: it ends in the table once, with our bytes.
/// Returns the bytes sent more than once.
async fn resumable_fault(rule: Value) -> (u64, Vec<QueueEvent>) {
    let w = world().await;
    w.em.set_faults(serde_json::from_value(json!({ "seed": 5, "rules": [rule] })).unwrap());
    let size = 6 * CHUNK as usize + 777;
    let files = vec![w.file("big.bin", size, 9)];
    let (ids, events) = w.upload(&files, options()).await;
    w.assert_all_in_table_once(&ids, &files).await;
    (w.em.redivis_bytes_received() - size as u64, events)
}

#[tokio::test]
async fn fault_308_without_range_resends_only_that_chunk() {
    let (resent, _) = resumable_fault(json!({ "route": "redivis.chunk", "nth": [3], "no_range": true })).await;
    assert!(resent <= CHUNK, "re-sent {resent}");
}

#[tokio::test]
async fn fault_short_commit_resends_from_the_servers_offset() {
    let (resent, _) = resumable_fault(json!({ "route": "redivis.chunk", "nth": [2, 4], "short_commit": true })).await;
    // Each short commit keeps half a chunk; only the other half goes again.
    assert!(resent <= CHUNK, "re-sent {resent}");
    assert!(resent > 0, "the short commits were not played");
}

#[tokio::test]
async fn fault_503_on_a_chunk_asks_where_the_session_stands() {
    let (resent, events) = resumable_fault(json!({ "route": "redivis.chunk", "nth": [2, 5], "status": 503 })).await;
    assert!(resent <= 2 * CHUNK, "re-sent {resent}");
    assert_eq!(retried(&events, "server.error"), 0, "the transfer should ride it out inside the session");
}

#[tokio::test]
async fn fault_connection_dropped_mid_chunk_resumes_at_the_committed_offset() {
    let (resent, _) =
        resumable_fault(json!({ "route": "redivis.chunk", "nth": [3], "reset_after_bytes": 600_000 })).await;
    assert!(resent <= CHUNK, "re-sent {resent}");
}

#[tokio::test]
async fn fault_expired_session_starts_a_new_one() {
    let (resent, _) = resumable_fault(json!({ "route": "redivis.chunk", "nth": [4], "expire_session": true })).await;
    // The new session starts at 0: what the old one held is sent again, nothing more.
    assert!(resent <= 4 * CHUNK, "re-sent {resent}");
    assert!(resent >= 3 * CHUNK, "the expiry was not played ({resent})");
}

#[tokio::test]
async fn rate_limited_temp_uploads_wait_for_retry_after() {
    let w = world().await;
    w.em.set_faults(
        serde_json::from_value(
            json!({ "rules": [{ "route": "redivis.temp_uploads", "nth": [1], "status": 429, "retry_after": 1 }] }),
        )
        .unwrap(),
    );
    let files = vec![w.file("a.csv", 10, 1), w.file("b.csv", 20, 2)];
    let started = std::time::Instant::now();
    let (ids, _) = w.upload(&files, options()).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not waited for");
    w.assert_all_in_table_once(&ids, &files).await;
    assert_eq!(w.em.call_count("redivis.temp_uploads"), 2, "one batch for both files, asked twice");
}

#[tokio::test]
async fn raw_files_committed_then_5xx_never_makes_a_file_twice() {
    let w = world().await;
    w.em.set_faults(
        serde_json::from_value(
            json!({ "rules": [{ "route": "redivis.raw_files", "nth": [1], "commit_then_status": 500 }] }),
        )
        .unwrap(),
    );
    let files: Vec<PathBuf> = (0..3).map(|i| w.file(&format!("f{i}.csv"), 1000 + i, i)).collect();
    let (ids, events) = w.upload(&files, options()).await;
    w.assert_all_in_table_once(&ids, &files).await;
    assert!(retried(&events, "server.error") >= 1, "the ambiguous answer was not played: {events:?}");
    assert!(!events.iter().any(|e| matches!(e, QueueEvent::Renamed { .. })), "{events:?}");
}

#[tokio::test]
async fn a_name_taken_in_the_table_is_renamed_or_skipped() {
    let w = world().await;
    let first = vec![w.file("report.csv", 100, 1)];
    let (ids, _) = w.upload(&first, options()).await;
    w.assert_all_in_table_once(&ids, &first).await;
    // Another file of the same name (other bytes, other folder).
    std::fs::create_dir(w.dir.path().join("other")).unwrap();
    let second = w.dir.path().join("other/report.csv");
    std::fs::write(&second, b"other bytes").unwrap();
    let skip = Options { on_conflict: ConflictPolicy::Skip, ..options() };
    let (ids, _) = w.upload(std::slice::from_ref(&second), skip).await;
    let job = w.journal.get(ids[0]).unwrap();
    assert_eq!(job.state, JobState::Skipped, "{:?}", job.error_message);
    let (ids, events) = w.upload(std::slice::from_ref(&second), options()).await;
    let job = w.journal.get(ids[0]).unwrap();
    assert_eq!((job.state, job.doc_name.as_str()), (JobState::Done, "report-1.csv"), "{events:?}");
    let table = w.table_files().await;
    assert_eq!(table.keys().cloned().collect::<Vec<_>>(), ["report-1.csv", "report.csv"]);
    assert_eq!(table["report-1.csv"].0, md5_b64(b"other bytes"));
}

#[tokio::test]
async fn temp_uploads_and_raw_files_go_in_batches_of_1000() {
    let w = world().await;
    let files: Vec<PathBuf> = (0..1500).map(|i| w.file(&format!("n{i:04}.txt"), 16, i)).collect();
    let opts = Options { parallel: 16, ..options() };
    let (ids, _) = w.upload(&files, opts).await;
    w.assert_all_in_table_once(&ids, &files).await;
    assert_eq!(w.em.call_count("redivis.temp_uploads"), 2);
    let finalize_calls = w.em.call_count("redivis.raw_files");
    // Batched: one call per file would be 1,500. How many batches depends on how fast the
    // uploads finish around each gather window (41 seen on a loaded machine), hence the margin.
    assert!((2..=150).contains(&finalize_calls), "{finalize_calls} rawFiles calls for 1,500 files");
}

#[tokio::test]
async fn an_unknown_table_stops_the_drop_with_nothing_queued() {
    let w = world().await;
    let queue = Queue::new(w.redivis.clone(), w.journal.clone(), options());
    let sink: EventSink = Arc::new(|_| {});
    let files = vec![w.file("a.csv", 10, 1)];
    let err = queue.enqueue(&TableRef::parse("nobody.nothing:v1.none").unwrap(), &files, &sink).await.unwrap_err();
    assert_eq!(err.code(), "not_found", "{err}");
    assert!(w.journal.list(None, &[]).unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_auth_unauthorized() {
    let w = world().await;
    let bad = Arc::new(Redivis::new(&api(&w.em), Secret::new("nope")).unwrap());
    let queue = Queue::new(bad, w.journal.clone(), options());
    let sink: EventSink = Arc::new(|_| {});
    let files = vec![w.file("a.csv", 10, 1)];
    let err = queue.enqueue(&TableRef::parse(TABLE).unwrap(), &files, &sink).await.unwrap_err();
    assert_eq!(err.code(), "auth.unauthorized");
}

/// A stream of unknown length (`bytes S-E/*`) through a resumable temp upload, under a short
/// commit and a 503: only (part of) the chunk in hand is ever sent again.
#[tokio::test]
async fn a_stream_of_unknown_length_rides_out_short_commits_and_503s() {
    use twindrop_engine::service::redivis::NewTempUpload;
    use twindrop_engine::transfer::resumable;
    let w = world().await;
    w.em.set_faults(
        serde_json::from_value(json!({ "rules": [
            { "route": "redivis.chunk", "nth": [2], "short_commit": true },
            { "route": "redivis.chunk", "nth": [4], "status": 503 }
        ] }))
        .unwrap(),
    );
    let table = TableRef::parse(TABLE).unwrap();
    for (name, size) in [("odd.bin", 3 * CHUNK as usize + 4321), ("even.bin", 3 * CHUNK as usize)] {
        let bytes: Vec<u8> = (0..size).map(|b| (b % 253) as u8).collect();
        let wanted = NewTempUpload { name: name.into(), size: size as u64, resumable: true };
        let target = w.redivis.create_temp_uploads(&table, &[wanted]).await.unwrap().remove(0);
        let http = reqwest::Client::new();
        let outcome = resumable::upload_stream(&http, &target.url, &bytes[..], CHUNK, Arc::new(|_| {})).await.unwrap();
        assert_eq!(outcome.sent.size, size as u64);
        let files = w.redivis.raw_files(&table, &[(name.into(), target.id.clone())]).await.unwrap();
        assert_eq!(files[0].md5_hash.as_deref(), Some(md5_b64(&bytes).as_str()), "{name}");
        // Half a chunk again after the short commit, the whole chunk the 503 refused.
        let again = outcome.bytes_on_wire - size as u64;
        assert!(again <= CHUNK + CHUNK / 2, "{name}: {again} bytes sent again");
    }
}
