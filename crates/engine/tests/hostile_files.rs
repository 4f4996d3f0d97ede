//! Local files that fight back: a FIFO, a symlink loop, an empty file, and files that grow,
//! shrink or vanish while they upload. Each bad one ends with its own clear error code; the
//! good ones carry on to `ok`; nothing panics; nothing half-written becomes a Doc.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use twindrop_emulator::{Config, Emulator};
use twindrop_engine::bandwidth::{Limiter, Timetable};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::queue::{EventSink, Options, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::{Queue, Secret, TrustedTwin};

const SECRET: &str = "hostile-secret";
const SLOW: usize = 2 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_bad_file_fails_alone_with_its_reason() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap());
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("good.txt"), b"fine").unwrap();
    std::fs::write(p("empty.bin"), b"").unwrap();
    assert!(std::process::Command::new("mkfifo").arg(p("pipe")).status().unwrap().success());
    std::os::unix::fs::symlink(p("loop-b"), p("loop-a")).unwrap();
    std::os::unix::fs::symlink(p("loop-a"), p("loop-b")).unwrap();
    for name in ["grows.bin", "shrinks.bin", "vanishes.bin", "steady.bin"] {
        std::fs::write(p(name), vec![7u8; SLOW]).unwrap();
    }
    let files: Vec<PathBuf> =
        ["good.txt", "empty.bin", "pipe", "loop-a", "grows.bin", "shrinks.bin", "vanishes.bin", "steady.bin"]
            .iter()
            .map(|n| p(n))
            .collect();

    // 2 MiB each at 4 MiB/s shared: half a second or more per file, time to meddle.
    let opts = Options {
        parallel: 4,
        bwlimit: Some(Arc::new(Limiter::new(Timetable::parse("4M").unwrap()))),
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        poll_interval: Duration::from_millis(20),
        ..Options::default()
    };
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    let queue = Queue::new(tt.clone(), journal.clone(), opts);
    let sink: EventSink = Arc::new(|_| {});
    let ids = queue.enqueue(&twin, &files, &sink).await.unwrap();
    let meddler = {
        let (grows, shrinks, vanishes) = (p("grows.bin"), p("shrinks.bin"), p("vanishes.bin"));
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            use std::io::Write;
            std::fs::OpenOptions::new().append(true).open(&grows).unwrap().write_all(&[1u8; 4096]).unwrap();
            std::fs::OpenOptions::new().write(true).open(&shrinks).unwrap().set_len(1000).unwrap();
            std::fs::remove_file(&vanishes).unwrap();
        })
    };
    tokio::time::timeout(Duration::from_secs(60), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
    meddler.await.unwrap();

    let outcome: HashMap<String, (JobState, Option<String>)> = ids
        .iter()
        .map(|id| {
            let job = journal.get(*id).unwrap();
            let name = job.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, (job.state, job.error_code.clone().or(job.doc_status.as_ref().map(|s| s.as_str().to_owned()))))
        })
        .collect();
    let expect = |name: &str, state: JobState, code: &str| {
        assert_eq!(outcome[name], (state, Some(code.to_owned())), "{name}: {outcome:?}");
    };
    expect("good.txt", JobState::Done, "ok");
    expect("empty.bin", JobState::Done, "ok");
    expect("steady.bin", JobState::Done, "ok");
    expect("pipe", JobState::Failed, "file.not_a_file");
    // A symlink (here a loop) is never followed: it is no regular file.
    expect("loop-a", JobState::Failed, "file.not_a_file");
    expect("grows.bin", JobState::Failed, "file.changed");
    expect("shrinks.bin", JobState::Failed, "file.changed");
    expect("vanishes.bin", JobState::Failed, "file.not_found");
    // Nothing half-written became a Doc.
    let docs: Vec<String> = tt.list_docs(&twin).await.unwrap().into_keys().collect();
    assert_eq!(docs, ["empty.bin", "good.txt", "steady.bin"]);
}

/// Peak resident memory of this process so far (kB), from /proc.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A sparse 6 GB file: offsets past 4 GiB, a size past u32, and memory that must not grow
/// with the file. Long mode (it moves 6 GB through the emulator, which writes it to disk):
/// `cargo test -p twindrop-engine --test hostile_files -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "long mode: 6 GB through the emulator"]
async fn a_sparse_6_gb_file_uploads_in_constant_memory() {
    const SIZE: u64 = 6 * 1024 * 1024 * 1024;
    // Above Trusted Twin's documented upload limit, which the emulator keeps by default.
    let config = Config::new(SECRET).with_max_upload_bytes(8 << 30);
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap());
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.img");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(SIZE).unwrap();
    // A few real bytes past the 4 GiB mark, so an offset that wraps would change the hash.
    use std::os::unix::fs::FileExt;
    file.write_all_at(b"past four gibibytes", 5 * 1024 * 1024 * 1024).unwrap();
    drop(file);
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    let queue = Queue::new(tt.clone(), journal.clone(), Options::default());
    let sink: EventSink = Arc::new(|_| {});
    let before = peak_rss_kb();
    let started = std::time::Instant::now();
    let ids = queue.enqueue(&twin, std::slice::from_ref(&path), &sink).await.unwrap();
    tokio::time::timeout(Duration::from_secs(1800), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
    let job = journal.get(ids[0]).unwrap();
    assert_eq!(
        (job.state, job.doc_status.as_ref().map(|s| s.as_str())),
        (JobState::Done, Some("ok")),
        "{:?}",
        job.error_message
    );
    let doc = tt.get_doc(&twin, &twindrop_engine::DocName::parse("sparse.img").unwrap()).await.unwrap();
    assert_eq!(doc.creation_certificate.as_ref().and_then(|c| c.size), Some(SIZE), "{doc:?}");
    let grew_mb = (peak_rss_kb() - before) / 1024;
    eprintln!("sparse 6 GB: ok in {:.0} s, peak RSS grew {grew_mb} MB", started.elapsed().as_secs_f64());
    assert!(grew_mb < 256, "memory grew {grew_mb} MB with a 6 GB file");
}
