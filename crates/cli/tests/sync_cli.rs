//! `twindrop sync` and `twindrop name` as a user runs them: a folder with nested files goes up
//! with names from its paths; a saved folder runs again with `--saved` and sends only what is
//! new, and several saved folders share one queue with their own settings; `name` prints valid
//! Doc names.

use std::process::{Command, Output};

use serde_json::Value;
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::{DocName, Secret, TrustedTwin};

const SECRET: &str = "sync-cli-secret";

fn twindrop(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(args)
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_CONFIG_DIR", config)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_syncs_once_then_as_a_saved_folder() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (root, config) = (dir.path().join("photos"), dir.path().join("config"));
    std::fs::create_dir_all(root.join("2024/Été")).unwrap();
    std::fs::write(root.join("2024/Été/IMG 001.JPG"), b"jpeg bytes").unwrap();
    std::fs::write(root.join("notes.txt"), b"notes").unwrap();
    std::fs::write(root.join("scratch.tmp"), b"ignored by default").unwrap();
    let journal = dir.path().join("journal.sqlite");
    let (root_s, journal_s) = (root.to_str().unwrap(), journal.to_str().unwrap());
    let args = ["--journal", journal_s, "sync", "--once", "--gate-ms", "100", "--base-url", em.base_url()];
    let mut first = args.to_vec();
    first.extend(["--twin", twin.as_str(), "--save", root_s]);
    let out = twindrop(&config, &first);
    assert!(out.status.success(), "{out:?}");
    let docs: Vec<String> = tt.list_docs(&twin).await.unwrap().into_keys().collect();
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert!(docs.iter().any(|d| d == "notes.txt"), "{docs:?}");
    assert!(docs.iter().any(|d| d.starts_with("2024/Ete/") && d.ends_with(".JPG")), "{docs:?}");

    std::fs::write(root.join("new.txt"), b"new").unwrap();
    let mut saved = args.to_vec();
    saved.push("--saved");
    let out = twindrop(&config, &saved);
    assert!(out.status.success(), "{out:?}");
    let docs = tt.list_docs(&twin).await.unwrap();
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert_eq!(em.attach_count(twin.as_str(), "notes.txt"), 1, "an unchanged file went up again");

    // A second saved folder on the same server, with its own Twin and storage class: both run
    // on one queue (two queues on one journal would take each other's jobs), each with its own
    // settings.
    let scans_twin = tt.create_twin().await.unwrap();
    let scans = dir.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    std::fs::write(scans.join("page1.pdf"), b"%PDF page one").unwrap();
    let mut second = args.to_vec();
    let scans_s = scans.to_str().unwrap();
    second.extend(["--twin", scans_twin.as_str(), "--storage-class", "cost_optimized", "--save", scans_s]);
    assert!(twindrop(&config, &second).status.success());
    std::fs::write(scans.join("page2.pdf"), b"%PDF page two").unwrap();
    std::fs::write(root.join("later.txt"), b"later").unwrap();
    let out = twindrop(&config, &saved);
    assert!(out.status.success(), "{out:?}");
    let photos = tt.list_docs_detailed(&twin).await.unwrap();
    let pages = tt.list_docs_detailed(&scans_twin).await.unwrap();
    assert_eq!((photos.len(), pages.len()), (4, 2), "{photos:?} {pages:?}");
    for doc in &pages {
        assert_eq!(doc.storage_class.as_deref(), Some("cost_optimized"), "{doc:?}");
        assert_eq!(em.attach_count(scans_twin.as_str(), &doc.name), 1, "{} attached twice", doc.name);
    }
    let later = photos.iter().find(|d| d.name == "later.txt").expect("later.txt synced");
    assert_eq!(later.storage_class.as_deref(), Some("access_optimized"), "{later:?}");
}

/// `sync --status` says of each saved folder what the app's Watched tab says: its files in
/// step, the last synced with their Doc names, and the changes it has not sent yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_a_saved_folder_s_files_and_changes() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (root, config) = (dir.path().join("notes"), dir.path().join("config"));
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("a.txt"), b"a").unwrap();
    std::fs::write(root.join("sub/notes 1.txt"), b"n").unwrap();
    let journal = dir.path().join("journal.sqlite");
    let (root_s, journal_s) = (root.to_str().unwrap(), journal.to_str().unwrap());
    let base = ["--journal", journal_s, "sync", "--base-url", em.base_url()];
    let mut first = base.to_vec();
    first.extend(["--once", "--gate-ms", "100", "--twin", twin.as_str(), "--save", root_s]);
    assert!(twindrop(&config, &first).status.success());
    std::fs::write(root.join("later.txt"), b"written after").unwrap();
    std::fs::write(root.join("debris.tmp"), b"ignored").unwrap();

    let mut status = vec!["--json"];
    status.extend(base);
    status.push("--status");
    let out = twindrop(&config, &status);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let folder = &lines[0];
    assert_eq!(folder["path"], root.canonicalize().unwrap().to_str().unwrap());
    let counts: Vec<u64> =
        ["in_step", "waiting", "failed", "skipped"].iter().map(|k| folder[k].as_u64().unwrap()).collect();
    assert_eq!(counts, [2, 0, 0, 0], "{folder}");
    assert_eq!(folder["changes_waiting"], 1, "later.txt, not the ignored file: {folder}");
    let mut docs: Vec<&str> =
        folder["recent"].as_array().unwrap().iter().map(|r| r["doc_name"].as_str().unwrap()).collect();
    docs.sort();
    assert_eq!(docs, ["a.txt", "sub/notes_1.txt"], "{folder}");

    let mut text = base.to_vec();
    text.push("--status");
    let out = twindrop(&config, &text);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 in step, 0 waiting, 0 failed, 0 skipped; 1 change waiting"), "{said}");
    assert!(said.contains("sub/notes 1.txt → sub/notes_1.txt"), "{said}");
}

#[test]
fn name_prints_valid_doc_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = twindrop(dir.path(), &["--json", "name", "photos/Été 2024/IMG 001.JPG", "a.tar.gz", ".env"]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        let name = line["doc_name"].as_str().unwrap();
        assert!(DocName::parse(name).is_ok(), "{name}");
    }
    assert!(lines[0]["doc_name"].as_str().unwrap().starts_with("photos/Ete_2024/"), "{lines:?}");
}

/// Without `--journal`, `sync` keeps its jobs in the journal the app's watched folders use
/// (`watched.sqlite` in the data folder), and `status` shows them after the uploads' jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_shares_the_apps_folder_journal_and_status_shows_it() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (root, data) = (dir.path().join("folder"), dir.path().join("data"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("synced.txt"), b"from the folder").unwrap();
    let dropped = dir.path().join("dropped.txt");
    std::fs::write(&dropped, b"uploaded").unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_twindrop"))
            .args(args)
            .env("TWINDROP_SECRET", SECRET)
            .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
            .env("TWINDROP_DATA_DIR", &data)
            .env_remove("TWINDROP_JOURNAL")
            .output()
            .unwrap()
    };
    let (base, twin_s) = (em.base_url(), twin.as_str());
    let out =
        run(&["sync", "--once", "--gate-ms", "100", "--base-url", base, "--twin", twin_s, root.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(data.join("watched.sqlite").exists() && !data.join("journal.sqlite").exists(), "the folders' journal");
    let out = run(&["upload", "--base-url", base, "--twin", twin_s, dropped.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");

    let out = run(&["status", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let jobs: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let seen: Vec<(&str, &str)> =
        jobs.iter().map(|j| (j["doc_name"].as_str().unwrap(), j["state"].as_str().unwrap())).collect();
    assert_eq!(seen, [("dropped.txt", "done"), ("synced.txt", "done")], "uploads first, then folders");
    em.shutdown().await;
}

/// `twindrop` keeps the finished history the saved preferences say (`historyDays`, the app's
/// setting): 0 keeps all of it; by default 30 days, so a superseded job of 100 days ago goes
/// when a journal is opened, and each file's newest job stays.
#[test]
fn finished_history_is_kept_as_the_settings_say() {
    use twindrop_engine::destination::{Destination, TwinId};
    use twindrop_engine::doc::{ConflictPolicy, DocStatus, StorageClass};
    use twindrop_engine::journal::{JobState, Journal, NewJob};

    let dir = tempfile::tempdir().unwrap();
    let (journal, config) = (dir.path().join("journal.sqlite"), dir.path().join("config"));
    let twin = Destination::Twin(TwinId::parse("0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d").unwrap());
    {
        let j = Journal::open(&journal).unwrap();
        for size in [1, 2] {
            let new = NewJob {
                base_url: "http://h",
                destination: &twin,
                path: std::path::Path::new("/data/a.txt"),
                doc_name: "a.txt",
                size,
                mtime_ns: size as i64,
                dev: 1,
                ino: 2,
                storage_class: StorageClass::AccessOptimized,
                description: None,
                on_conflict: ConflictPolicy::Rename,
            };
            let id = j.insert(&new, JobState::Queued).unwrap();
            j.record_uploaded(id, &"a".repeat(64), size, None, None).unwrap();
            j.record_attached(id).unwrap();
            j.record_done(id, &DocStatus::Ok).unwrap();
        }
    }
    let age = 100.0 * 86_400.0;
    rusqlite::Connection::open(&journal)
        .unwrap()
        .execute("UPDATE jobs SET created_at = created_at - ?1, updated_at = updated_at - ?1", [age])
        .unwrap();
    let jobs = || -> Vec<(i64, i64)> {
        let db = rusqlite::Connection::open(&journal).unwrap();
        let mut st = db.prepare("SELECT id, size FROM jobs ORDER BY id").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let status = || {
        let out = twindrop(&config, &["--journal", journal.to_str().unwrap(), "status", "--json"]);
        assert!(out.status.success(), "{out:?}");
    };
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("settings.json"), r#"{"prefs": {"historyDays": 0}}"#).unwrap();
    status();
    assert_eq!(jobs(), [(1, 1), (2, 2)], "kept for ever");
    std::fs::write(config.join("settings.json"), r#"{"prefs": {"historyDays": 365}}"#).unwrap();
    status();
    assert_eq!(jobs().len(), 2, "younger than a year");
    std::fs::remove_file(config.join("settings.json")).unwrap();
    status();
    assert_eq!(jobs(), [(2, 2)], "30 days by default: the superseded job went, the file's newest stays");
}
