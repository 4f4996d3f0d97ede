use std::collections::BTreeSet;
use std::time::Instant;

use super::*;
use crate::activity::Filter;
use crate::service::trusted_twin::TrustedTwin;
use crate::TwinId;

struct World {
    em: twindrop_emulator::Emulator,
    tt: Arc<TrustedTwin>,
    twin: TwinId,
    home: tempfile::TempDir,
    log: Arc<ActivityLog>,
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut twindrop_emulator::Config)) -> World {
    let mut config = twindrop_emulator::Config::new("watched");
    config.copy_delay = Duration::from_millis(10);
    adjust(&mut config);
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), crate::Secret::new("watched")).unwrap());
    let twin = tt.create_twin().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let log = Arc::new(ActivityLog::open(&home.path().join("activity.sqlite")).unwrap());
    World { em, tt, twin, home, log }
}

impl World {
    fn settings(&self) -> SettingsFile {
        SettingsFile::new(self.home.path().join("settings.json"))
    }

    /// The runner over a journal of its own; dropped, it stops every folder.
    fn start(&self, journal: &Arc<Journal>) -> Watched {
        let opts = crate::prefs::Prefs::default().queue_options().unwrap();
        let mut opts = crate::prefs::Prefs::default().sync_options(&opts);
        opts.poll_interval = Duration::from_millis(20);
        let queue = Queue::new(self.tt.clone(), journal.clone(), opts);
        Watched::start(queue, self.settings(), None, self.log.clone(), Duration::from_millis(200)).unwrap()
    }

    async fn docs(&self) -> BTreeSet<String> {
        self.tt.list_docs(&self.twin).await.unwrap().into_keys().collect()
    }

    async fn wait_docs(&self, want: &[&str]) {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let docs = self.docs().await;
            if docs == want {
                return;
            }
            assert!(Instant::now() < deadline, "expected {want:?}, the Twin has {docs:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn wait_status(w: &Watched, path: &Path, want: Status) -> FolderStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = w.get(path).unwrap();
        if s.status == want {
            return s;
        }
        assert!(Instant::now() < deadline, "status {:?}, not {want:?}: {s:?}", s.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Add a folder, give it a template and an ignore pattern, see its files go up and its
/// status and last sync follow; paused, a new file stays local, resumed, it goes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_sync_pause_and_resume_with_their_settings() {
    let w = world().await;
    let dir = w.home.path().join("folder");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "a").unwrap();
    std::fs::write(dir.join("debug.log"), "noise").unwrap();
    let journal = Arc::new(Journal::open(&w.home.path().join("watched.sqlite")).unwrap());
    let watched = w.start(&journal);
    assert_eq!(watched.add(&dir, "not-a-twin").unwrap_err().code(), "destination.invalid");
    let added = watched.add(&dir, w.twin.as_str()).unwrap();
    let root = PathBuf::from(&added.path);
    assert_eq!((added.destination.as_str(), added.last_sync_ms), (w.twin.as_str(), None));
    assert_eq!(watched.add(&dir.join("."), w.twin.as_str()).unwrap_err().code(), "watched.overlap", "watched twice");
    // A bad template or pattern is refused and changes nothing.
    let bad = FolderUpdate { template: Some("{nope}".into()), ..FolderUpdate::default() };
    assert_eq!(watched.update(&root, bad).unwrap_err().code(), "template.invalid");
    let bad = FolderUpdate { ignore: Some(vec!["[z-a]".into()]), ..FolderUpdate::default() };
    assert!(watched.update(&root, bad).is_err());
    let update = FolderUpdate {
        template: Some("in/{name}".into()),
        ignore: Some(vec!["*.log".into(), " ".into()]),
        ..FolderUpdate::default()
    };
    let updated = watched.update(&root, update).unwrap();
    assert_eq!(
        (updated.template.as_deref(), updated.ignore.as_slice()),
        (Some("in/{name}"), &["*.log".to_owned()][..])
    );
    let saved = w.settings().load().unwrap().watched;
    assert_eq!((saved.len(), saved[0].template.as_deref(), saved[0].profile.as_deref()), (1, Some("in/{name}"), None));

    w.wait_docs(&["in/a.txt"]).await;
    let s = wait_status(&watched, &root, Status::Watching).await;
    let first_sync = s.last_sync_ms.expect("a last sync time");
    std::fs::write(dir.join("b.txt"), "b").unwrap();
    w.wait_docs(&["in/a.txt", "in/b.txt"]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while watched.get(&root).unwrap().last_sync_ms == Some(first_sync) {
        assert!(Instant::now() < deadline, "last sync not updated");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let paused = watched.set_paused(&root, true).unwrap();
    assert_eq!((paused.status, paused.paused), (Status::Paused, true));
    assert!(w.settings().load().unwrap().watched[0].paused, "saved");
    std::fs::write(dir.join("c.txt"), "c").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!w.docs().await.contains("in/c.txt"), "a paused folder sends nothing");
    watched.set_paused(&root, false).unwrap();
    w.wait_docs(&["in/a.txt", "in/b.txt", "in/c.txt"]).await;
    wait_status(&watched, &root, Status::Watching).await;

    let kinds: Vec<Kind> = w.log.list(&Filter::default()).unwrap().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&Kind::Paused) && kinds.contains(&Kind::Resumed), "{kinds:?}");
    assert!(kinds.iter().filter(|k| **k == Kind::WatchedSync).count() >= 3, "{kinds:?}");

    // Restarted (a new session), the folder carries on with its last sync time and
    // sends nothing again.
    drop(watched);
    let again = w.start(&journal);
    let s = again.get(&root).unwrap();
    assert!(s.last_sync_ms.is_some());
    assert_eq!(s.status, Status::Watching);
    drop(again);

    // A folder that is gone is an error with its code, not a silent stop.
    let other = w.home.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let again = w.start(&journal);
    let gone = PathBuf::from(again.add(&other, w.twin.as_str()).unwrap().path);
    std::fs::remove_dir_all(&other).unwrap();
    let s = again.get(&gone).unwrap();
    assert_eq!((s.status, s.error.as_ref().map(|e| e.code.as_str())), (Status::Error, Some("file.not_found")));
    let s = again.update(&gone, FolderUpdate::default()).unwrap();
    assert_eq!((s.status, s.error.as_ref().map(|e| e.code.as_str())), (Status::Error, Some("file.not_found")));
    let last = &w.log.list(&Filter { kinds: vec![Kind::WatchedError], ..Filter::default() }).unwrap()[0];
    assert_eq!(last.code.as_deref(), Some("file.not_found"));
    again.remove(&gone).unwrap();
    assert_eq!(again.list().unwrap().len(), 1);
    w.em.shutdown().await;
}

/// The folders of another account are neither listed nor run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_this_accounts_folders_run() {
    let w = world().await;
    let dir = w.home.path().join("theirs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("x.txt"), "x").unwrap();
    w.settings()
        .update(|s| {
            s.watch(WatchedFolder::new(dir.canonicalize().unwrap(), Some("work".into()), w.twin.to_string()));
            Ok(())
        })
        .unwrap();
    let journal = Arc::new(Journal::open(&w.home.path().join("watched.sqlite")).unwrap());
    let watched = w.start(&journal);
    assert!(watched.list().unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(w.docs().await.is_empty());
    w.em.shutdown().await;
}

/// A folder's status counts its files by their newest job and names the last synced with their
/// Doc names; paused, it counts the files new or changed since (its ignore patterns hold, a
/// failed file unchanged is no change), at most every `CHANGES_MAX_AGE`. Each sync's Activity
/// line names its files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_s_status_counts_its_files_and_names_the_last_synced() {
    // Too big for the server: that file fails.
    let w = world_with(|c| c.max_upload_bytes = 100).await;
    let dir = w.home.path().join("notes");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), "a").unwrap();
    std::fs::write(dir.join("sub/notes.txt"), "n").unwrap();
    std::fs::write(dir.join("big.bin"), [7u8; 200]).unwrap();
    let journal = Arc::new(Journal::open(&w.home.path().join("watched.sqlite")).unwrap());
    let watched = w.start(&journal);
    let root = PathBuf::from(watched.add(&dir, w.twin.as_str()).unwrap().path);
    w.wait_docs(&["a.txt", "sub/notes.txt"]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = watched.get(&root).unwrap();
        let counts = s.files.as_ref().map(|f| f.counts).unwrap_or_default();
        if counts.in_step == 2 && counts.failed == 1 && s.status == Status::Watching {
            break s;
        }
        assert!(Instant::now() < deadline, "not 2 in step and 1 failed: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let files = status.files.unwrap();
    assert_eq!((files.counts.waiting, files.counts.skipped), (0, 0));
    let mut recent: Vec<(String, String)> = files.recent.iter().map(|r| (r.path.clone(), r.doc_name.clone())).collect();
    recent.sort();
    let under = |name: &str| root.join(name).display().to_string();
    assert_eq!(recent, [(under("a.txt"), "a.txt".to_owned()), (under("sub/notes.txt"), "sub/notes.txt".to_owned())]);
    assert!(files.recent.iter().all(|r| (r.at_ms - now_ms()).abs() < 60_000), "{:?}", files.recent);
    assert!(files.recent.windows(2).all(|p| p[0].at_ms >= p[1].at_ms), "newest first");
    assert_eq!(status.changes_waiting, None, "only a paused folder counts its changes");
    let synced: Vec<String> = w
        .log
        .list(&Filter { kinds: vec![Kind::WatchedSync], ..Filter::default() })
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    let said = synced.join("\n");
    assert!(said.contains("a.txt") && said.contains("notes.txt"), "the Activity lines name the files: {said}");

    // Paused: nothing has changed yet (the failed file is counted as failed, not as a change).
    assert_eq!(watched.set_paused(&root, true).unwrap().changes_waiting, Some(0));
    std::fs::write(dir.join("c.txt"), "new").unwrap();
    std::fs::write(dir.join("a.txt"), "a, changed").unwrap();
    std::fs::write(dir.join("debris.tmp"), "ignored").unwrap();
    // Counted a moment ago: not walked again on every look.
    assert_eq!(watched.get(&root).unwrap().changes_waiting, Some(0));
    tokio::time::sleep(CHANGES_MAX_AGE).await;
    assert_eq!(watched.get(&root).unwrap().changes_waiting, Some(2));
    assert!(!w.docs().await.contains("c.txt"), "a paused folder sends nothing");

    // Resumed: the changes go up and are in step.
    assert_eq!(watched.set_paused(&root, false).unwrap().changes_waiting, None);
    w.wait_docs(&["a.txt", "c.txt", "sub/notes.txt"]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files = watched.get(&root).unwrap().files.unwrap();
        // (The failed file is sent again on resume, and fails again.)
        if files.counts.in_step == 3 && files.counts.failed == 1 {
            assert_eq!(files.recent.len(), 3, "{files:?}");
            break;
        }
        assert!(Instant::now() < deadline, "not 3 in step and 1 failed: {files:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    w.em.shutdown().await;
}
