//! Watched folders on real inotify, in temporary folders, against the emulator: a file written
//! slowly goes up once and complete, a burst of files, a rename, ignore patterns, the server
//! down and then up, and a restart over many unchanged files that sends nothing.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::folders::{namer, DeletePolicy, SyncOptions, Syncer};
use twindrop_engine::journal::Journal;
use twindrop_engine::queue::ConflictPolicy;
use twindrop_engine::queue::{EventSink, Options};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::{DocName, Queue, Secret, TrustedTwin, TwinId};

const SECRET: &str = "sync-secret";

struct World {
    em: Emulator,
    tt: Arc<TrustedTwin>,
    twin: TwinId,
    root: tempfile::TempDir,
    state: tempfile::TempDir,
}

async fn world() -> World {
    let mut config = Config::new(SECRET);
    config.copy_delay = Duration::from_millis(10);
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap());
    let twin = tt.create_twin().await.unwrap();
    World { em, tt, twin, root: tempfile::tempdir().unwrap(), state: tempfile::tempdir().unwrap() }
}

fn queue_options() -> Options {
    Options {
        parallel: 8,
        // A sync never gives up on a server that is away: it waits and tries again.
        retry: RetryPolicy {
            max_attempts: u32::MAX,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(300),
            ..RetryPolicy::default()
        },
        poll_interval: Duration::from_millis(20),
        // A file that changed replaces its Doc.
        on_conflict: ConflictPolicy::Replace,
        ..Options::default()
    }
}

/// A running sync of the world's folder; stops when dropped.
struct Running {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<twindrop_engine::Result<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }
}

impl World {
    fn syncer(&self, opts: SyncOptions) -> Syncer {
        let journal = Arc::new(Journal::open(&self.state.path().join("journal.sqlite")).unwrap());
        let queue = Queue::new(self.tt.clone(), journal, queue_options());
        let namer = namer(None, self.root.path().to_owned());
        Syncer::new(queue, self.root.path(), (&self.twin).into(), namer, opts).unwrap()
    }

    fn start(&self, opts: SyncOptions) -> Running {
        let stop = CancellationToken::new();
        let syncer = self.syncer(opts);
        let sink: EventSink = Arc::new(|_| {});
        let task = tokio::spawn(syncer.run(sink, false, stop.clone()));
        Running { stop, task }
    }

    /// Run once over what is there now, to the end.
    async fn once(&self, opts: SyncOptions) {
        let sink: EventSink = Arc::new(|_| {});
        let run = self.syncer(opts).run(sink, true, CancellationToken::new());
        tokio::time::timeout(Duration::from_secs(120), run).await.unwrap().unwrap();
    }

    async fn docs(&self) -> BTreeSet<String> {
        self.tt.list_docs(&self.twin).await.unwrap().into_keys().collect()
    }

    /// Wait until the Twin has exactly `names` (all `ok`), or fail after `limit`.
    async fn wait_for(&self, names: &[&str], limit: Duration) {
        let want: BTreeSet<String> = names.iter().map(|s| s.to_string()).collect();
        let deadline = Instant::now() + limit;
        loop {
            let docs = self.docs().await;
            if docs == want {
                let mut all_ok = true;
                for name in &want {
                    let doc = self.tt.get_doc(&self.twin, &DocName::parse(name).unwrap()).await.unwrap();
                    all_ok &= doc.status == twindrop_engine::DocStatus::Ok;
                }
                if all_ok {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "expected {want:?}, the Twin has {docs:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn gate(ms: u64) -> SyncOptions {
    SyncOptions { gate: Duration::from_millis(ms), ..SyncOptions::default() }
}

async fn doc_sha256(w: &World, name: &str) -> Option<String> {
    let doc = w.tt.get_doc(&w.twin, &DocName::parse(name).unwrap()).await.unwrap();
    doc.sha256().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_slowly_goes_up_once_and_complete() {
    let w = world().await;
    let _sync = w.start(gate(1000));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = w.root.path().join("recording.wav");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut all = Vec::new();
    // 3 s of writes, a piece every 250 ms: never still for as long as the gate.
    for i in 0..12u8 {
        let piece = vec![i; 50_000];
        file.write_all(&piece).unwrap();
        file.flush().unwrap();
        all.extend_from_slice(&piece);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(file);
    w.wait_for(&["recording.wav"], Duration::from_secs(15)).await;
    assert_eq!(w.em.attach_count(w.twin.as_str(), "recording.wav"), 1, "attached more than once");
    assert_eq!(doc_sha256(&w, "recording.wav").await.unwrap(), hex::encode(Sha256::digest(&all)), "not the whole file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_a_thousand_files() {
    let w = world().await;
    let _sync = w.start(gate(300));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let names: Vec<String> = (0..1000).map(|i| format!("burst/f{i:04}.txt")).collect();
    for (i, name) in names.iter().enumerate() {
        w.write(name, format!("file {i}").as_bytes());
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    w.wait_for(&refs, Duration::from_secs(90)).await;
    let attached: u64 = names.iter().map(|n| w.em.attach_count(w.twin.as_str(), n)).sum();
    assert_eq!(attached, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_sends_the_new_name_and_mirror_deletes_the_old() {
    let w = world().await;
    w.write("draft.txt", b"words");
    let _sync = w.start(SyncOptions { delete: DeletePolicy::Mirror, ..gate(300) });
    w.wait_for(&["draft.txt"], Duration::from_secs(10)).await;
    std::fs::create_dir(w.root.path().join("final")).unwrap();
    std::fs::rename(w.root.path().join("draft.txt"), w.root.path().join("final/report.txt")).unwrap();
    w.wait_for(&["final/report.txt"], Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_keeps_the_old_doc_by_default() {
    let w = world().await;
    w.write("a.txt", b"alpha");
    let _sync = w.start(gate(300));
    w.wait_for(&["a.txt"], Duration::from_secs(10)).await;
    std::fs::rename(w.root.path().join("a.txt"), w.root.path().join("b.txt")).unwrap();
    w.wait_for(&["a.txt", "b.txt"], Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_patterns_keep_debris_out() {
    let w = world().await;
    for junk in [".DS_Store", "x.tmp", "~$report.docx", ".git/config", "movie.mp4.part", "f.crdownload", "logs/a.log"] {
        w.write(junk, b"junk");
    }
    w.write("keep.txt", b"keep");
    let opts = SyncOptions { ignore: vec!["*.log".into()], ..gate(200) };
    let _sync = w.start(opts);
    w.write("also.txt", b"also");
    w.write("later.tmp", b"junk");
    w.wait_for(&["also.txt", "keep.txt"], Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(w.docs().await, BTreeSet::from(["also.txt".to_owned(), "keep.txt".to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_down_then_up_loses_nothing() {
    let w = world().await;
    w.em.set_faults(serde_json::from_value(json!({ "rules": [{ "route": "*", "status": 503 }] })).unwrap());
    let _sync = w.start(gate(200));
    for i in 0..5 {
        w.write(&format!("offline{i}.txt"), format!("{i}").as_bytes());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(w.em.call_count("cache") > 0, "nothing was tried while the server was down");
    w.em.set_faults(Default::default());
    let names: Vec<String> = (0..5).map(|i| format!("offline{i}.txt")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    w.wait_for(&refs, Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_over_ten_thousand_unchanged_files_sends_nothing() {
    let w = world().await;
    for d in 0..10 {
        for f in 0..1000 {
            w.write(&format!("d{d}/f{f:04}.txt"), format!("{d}/{f}").as_bytes());
        }
    }
    w.once(gate(50)).await;
    assert_eq!(w.docs().await.len(), 10_000);
    let asked = w.em.call_count("cache");
    // One file changes while "stopped"; only it goes up on restart.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let changed = w.write("d3/f0007.txt", b"changed");
    let started = Instant::now();
    w.once(gate(50)).await;
    eprintln!("restart over 10,000 files: {:?}", started.elapsed());
    assert_eq!(w.em.call_count("cache"), asked + 1, "only the changed file goes up");
    let name = "d3/f0007.txt";
    assert_eq!(doc_sha256(&w, name).await.unwrap(), hex::encode(Sha256::digest(std::fs::read(changed).unwrap())));
}

/// Past the system's inotify watch limit a folder keeps syncing: the directories without a
/// watch are walked often, and the user is told once. The limit is lowered for real, in a user
/// namespace of its own (`/proc/sys/user/max_inotify_watches`), around [`watch_limit_child`].
#[test]
fn a_folder_past_the_watch_limit_keeps_syncing() {
    let probe = std::process::Command::new("unshare").args(["-Ur", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("TWINDROP_REQUIRE_PEERS").is_none(), "unshare -Ur is not available here");
        eprintln!("skipped: no user namespaces here (unshare -Ur)");
        return;
    }
    let me = std::env::current_exe().unwrap();
    let status = std::process::Command::new("unshare")
        .args(["-Ur", "sh", "-c", "echo 5 > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\""])
        .arg(me)
        .args(["--exact", "watch_limit_child", "--ignored", "--nocapture"])
        .status()
        .unwrap();
    assert!(status.success(), "the sync under a 5-watch limit failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_folder_past_the_watch_limit_keeps_syncing, under a lowered watch limit"]
async fn watch_limit_child() {
    let w = world().await;
    // Thirteen directories (the root and twelve), five watches: at least eight go without.
    for i in 0..12 {
        w.write(&format!("d{i:02}/seed.txt"), b"seed");
    }
    let told = Arc::new(std::sync::Mutex::new(Vec::new()));
    let opts =
        SyncOptions { gate: Duration::from_millis(200), rescan_when_limited: Duration::from_secs(1), ..gate(200) };
    let syncer = {
        let told = told.clone();
        w.syncer(opts).with_notice(Arc::new(move |m| told.lock().unwrap().push(m)))
    };
    let stop = CancellationToken::new();
    let _running = Running { stop: stop.clone(), task: tokio::spawn(syncer.run(Arc::new(|_| {}), false, stop)) };
    let seeds: Vec<String> = (0..12).map(|i| format!("d{i:02}/seed.txt")).collect();
    let names: Vec<&str> = seeds.iter().map(String::as_str).collect();
    w.wait_for(&names, Duration::from_secs(20)).await;
    // Written after the start, in every directory: those without a watch are found by walking.
    for i in 0..12 {
        w.write(&format!("d{i:02}/late.txt"), b"late");
    }
    let mut all: Vec<String> = seeds.clone();
    all.extend((0..12).map(|i| format!("d{i:02}/late.txt")));
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    w.wait_for(&names, Duration::from_secs(20)).await;
    let told = told.lock().unwrap();
    assert_eq!(told.len(), 1, "told once: {told:?}");
    assert!(told[0].contains("inotify watch limit") && told[0].contains("every 1 s"), "{told:?}");
}
