//! Files written before schema versions were kept open with today's code, whole and typed.
//! `fixtures/journal-v0.sqlite` and `fixtures/activity-v0.sqlite` were made by the code of
//! commit 3c16aa1 (user_version 0), by the test `make_v0_fixtures` of commit fdd7e6a: jobs in
//! every state on all four services, a non-UTF-8 path, decided names, owned Docs, a pending
//! deletion, a resumable session, a name today's rules refuse, and one activity entry of most
//! kinds.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use twindrop_engine::activity::{ActivityLog, Counts, Filter, Kind};
use twindrop_engine::destination::{AssetId, Destination, ServiceKind, TableRef, TwinId};
use twindrop_engine::doc::{ConflictPolicy, DocStatus, StorageClass};
use twindrop_engine::journal::{JobName, JobState, Journal, Retention, Transfer};

const TT: &str = "http://tt.example";
const REDIVIS: &str = "http://redivis.example";
const INSPECT: &str = "http://inspect.example";
const HBR: &str = "http://hbr.example";

/// A private copy of a fixture (opening migrates it in place).
fn copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join(name);
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name), &to).unwrap();
    (dir, to)
}

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
}

fn twin() -> Destination {
    Destination::Twin(TwinId::parse("0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d").unwrap())
}

#[test]
fn a_journal_of_before_versions_keeps_every_job_typed() {
    let (_dir, path) = copy("journal-v0.sqlite");
    assert_eq!(user_version(&path), 0);
    let journal = Journal::open(&path).unwrap();
    let jobs = journal.list(None, &[]).unwrap();
    assert_eq!(jobs.len(), 17);
    let states: Vec<JobState> = jobs.iter().map(|j| j.state).collect();
    use JobState::*;
    assert_eq!(
        states,
        [
            Done, Queued, Attaching, Failed, Skipped, Cancelled, Paused, Done, Queued, Done, Done, Failed, Uploading,
            Done, Done, Queued, Uploading
        ]
    );
    let services: Vec<(&str, ServiceKind)> = jobs.iter().map(|j| (j.base_url.as_str(), j.service())).collect();
    for (base_url, service) in services {
        let expected = match base_url {
            TT => ServiceKind::TrustedTwin,
            REDIVIS => ServiceKind::Redivis,
            INSPECT => ServiceKind::Inspect,
            HBR => ServiceKind::Hbr,
            other => panic!("{other}"),
        };
        assert_eq!(service, expected, "{base_url}");
    }

    // Trusted Twin, finished: the non-UTF-8 path exactly, a valid name, `ok`, owned.
    let raw = PathBuf::from(std::ffi::OsStr::from_bytes(b"/data/caf\xe9.txt"));
    let done = &jobs[0];
    assert_eq!((&done.destination, done.path.as_path()), (&twin(), raw.as_path()));
    assert!(matches!(&done.doc_name, JobName::Valid(n) if n.as_str() == "caf_.txt"));
    assert!(done.is_ok());
    assert_eq!((done.upload_id.as_deref(), done.transfer, done.form_target.is_none()), (Some("h-done"), None, true));
    assert_eq!((done.dev, done.ino, done.size), (64769, 1234, 11));
    let owned = journal.owned_doc(TT, &twin(), "caf_.txt").unwrap().unwrap();
    assert_eq!((owned.path.as_path(), owned.job_id, owned.sha256.len()), (raw.as_path(), done.id, 64));
    assert_eq!(journal.decided_name(TT, &twin(), &raw, "caf_.txt").unwrap().as_deref(), Some("caf_.txt"));
    assert_eq!(journal.latest_for_path(TT, &twin(), &raw).unwrap().unwrap().id, done.id);

    // Policies, storage class and description as they were queued.
    let queued = &jobs[1];
    assert_eq!((queued.on_conflict, queued.storage_class), (ConflictPolicy::Skip, StorageClass::CostOptimized));
    assert_eq!(queued.description.as_deref(), Some("{\"note\":\"quarterly\"}"));
    let attaching = &jobs[2];
    assert!(attaching.attach_sent);
    assert_eq!(
        (attaching.on_conflict, attaching.replaces.as_deref()),
        (ConflictPolicy::Replace, Some(&*"c".repeat(64)))
    );
    let deep = Path::new("/data/photos/2024/beach.jpg");
    assert_eq!(
        journal.proposed_name(TT, &twin(), deep, "photos/2024/beach-1.jpg").unwrap().as_deref(),
        Some("photos/2024/beach.jpg")
    );
    assert_eq!(jobs[3].error_code.as_deref(), Some("file.not_found"));
    assert_eq!(jobs[4].error_message.as_deref(), Some("unchanged since it was uploaded as same.txt"));
    assert_eq!(jobs[7].doc_status, Some(DocStatus::HashMismatch));
    assert_eq!(jobs[9].doc_status, Some(DocStatus::Other("deleted".into())));
    assert!(journal.owned_doc(TT, &twin(), "old.txt").unwrap().is_none());
    let deletions = journal.deletions(TT, &twin()).unwrap();
    assert_eq!(deletions.iter().map(|d| d.job.id).collect::<Vec<_>>(), [jobs[10].id]);
    // Refused by today's rules: kept as text, readable, never sent.
    assert_eq!(jobs[11].doc_name, JobName::Other("bad name?.txt".into()));
    assert_eq!(jobs[11].doc_name.doc_name().unwrap_err().code(), "doc_name.invalid");
    // A job waiting out a backoff is not claimed early.
    assert!(journal.claim_next(TT).unwrap().is_some_and(|j| j.id == queued.id));

    // Redivis: the table, the resumable session and its row.
    let table = Destination::Table(TableRef::parse("user.dataset:v1.files").unwrap());
    let (big, small) = (&jobs[12], &jobs[13]);
    assert_eq!(
        (&big.destination, big.transfer, big.upload_id.as_deref()),
        (&table, Some(Transfer::Resumable), Some("temp-1"))
    );
    assert_eq!((small.transfer, small.md5.as_deref()), (Some(Transfer::Put), Some("bWQ1bWQ1bWQ1bWQ1bWQ1bQ==")));
    assert!(small.is_ok());
    assert!(journal.owned_doc(REDIVIS, &table, "small.csv").unwrap().is_some());
    let session = journal.resumable_get("k-big").unwrap().unwrap();
    assert_eq!((session.committed, session.session_uri.as_str()), (4, "http://gcs.example/s/1"));

    // Inspect: told apart from a Twin by its `none` transfer, and its queued sibling with it.
    let asset = Destination::Asset(AssetId::parse("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a").unwrap());
    assert_eq!((&jobs[14].destination, jobs[14].transfer), (&asset, Some(Transfer::AlreadyThere)));
    assert_eq!((&jobs[15].destination, jobs[15].transfer), (&asset, None));

    // HBR: its answer whole in `form_target`, its temp file key as the upload's id.
    let hbr = &jobs[16];
    assert_eq!((&hbr.destination, hbr.transfer), (&Destination::TempFiles, Some(Transfer::Form)));
    let form = hbr.form_target.as_ref().unwrap();
    assert_eq!(
        (form.temp_file_key.as_str(), form.expire_time, form.policy.as_str()),
        ("tmp/k1", 4102444800, "cG9saWN5")
    );
    assert_eq!(hbr.upload_id.as_deref(), Some("tmp/k1"));

    // Opening again is a no-op: same version, same rows.
    let version = user_version(&path);
    assert!(version >= 2);
    let before = journal.list(None, &[]).unwrap();
    drop(journal);
    let again = Journal::open(&path).unwrap();
    assert_eq!(user_version(&path), version);
    assert_eq!(again.list(None, &[]).unwrap(), before);
}

#[test]
fn status_json_keeps_its_keys() {
    let (_dir, path) = copy("journal-v0.sqlite");
    let journal = Journal::open(&path).unwrap();
    let jobs = journal.list(None, &[]).unwrap();
    let done = serde_json::to_value(&jobs[0]).unwrap();
    assert_eq!(done["twin"], "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d");
    assert_eq!(done["destination"], done["twin"]);
    assert_eq!(
        (&done["service"], &done["doc_status"], &done["state"]),
        (&"trusted_twin".into(), &"ok".into(), &"done".into())
    );
    assert_eq!((&done["doc_name"], &done["path"]), (&"caf_.txt".into(), &"/data/caf\u{fffd}.txt".into()));
    assert_eq!((&done["storage_class"], &done["on_conflict"]), (&"access_optimized".into(), &"rename".into()));
    let inspect = serde_json::to_value(&jobs[14]).unwrap();
    assert_eq!(inspect["transfer"], "none");
    // Credentials stay out: the upload URL, and HBR's signed policy.
    let hbr = serde_json::to_string(&jobs[16]).unwrap();
    assert!(!hbr.contains("upload_url") && !hbr.contains("c2ln") && !hbr.contains("cG9saWN5"), "{hbr}");
}

#[test]
fn an_activity_log_of_before_versions_keeps_every_entry() {
    let (_dir, path) = copy("activity-v0.sqlite");
    assert_eq!(user_version(&path), 0);
    let log = ActivityLog::open(&path).unwrap();
    let entries = log.list(&Filter::default()).unwrap();
    let kinds: Vec<Kind> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Resumed,
            Kind::Paused,
            Kind::Conflict,
            Kind::WatchedSync,
            Kind::BatchFailed,
            Kind::ItemFailed,
            Kind::SignedIn
        ]
    );
    assert_eq!(entries[2].file.as_deref(), Some("/data/report.pdf"));
    assert_eq!(
        (entries[3].source.as_deref(), entries[3].counts),
        (Some("/data"), Some(Counts { ok: 2, failed: 0, skipped: 1, cancelled: 0 }))
    );
    assert_eq!(entries[4].counts, Some(Counts { ok: 3, failed: 1, skipped: 0, cancelled: 1 }));
    assert_eq!(entries[5].code.as_deref(), Some("file.not_found"));
    assert!(entries.iter().all(|e| e.at_ms > 1_700_000_000_000));
    let version = user_version(&path);
    assert!(version >= 1);
    drop(log);
    let again = ActivityLog::open(&path).unwrap();
    assert_eq!(user_version(&path), version);
    assert_eq!(again.list(&Filter::default()).unwrap(), entries);
}

#[test]
fn a_file_from_a_newer_twindrop_is_refused_and_left_alone() {
    let (_dir, path) = copy("journal-v0.sqlite");
    Journal::open(&path).unwrap();
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let err = Journal::open(&path).err().unwrap();
    assert_eq!(err.code(), "journal.too_new", "{err}");
    assert!(err.to_string().contains("99"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "not written");
    assert_eq!(user_version(&path), 99);

    let (_dir, activity) = copy("activity-v0.sqlite");
    ActivityLog::open(&activity).unwrap();
    rusqlite::Connection::open(&activity).unwrap().pragma_update(None, "user_version", 7).unwrap();
    assert_eq!(ActivityLog::open(&activity).err().unwrap().code(), "journal.too_new");
}

/// A journal of before versions, opened to keep 30 days of finished history, is brought to the
/// latest version and pruned at once by the same rules as any: none of its jobs goes (each is
/// its file's newest, or holds a Doc, or a pending delete), and history made after it is
/// pruned, keeping what skip-unchanged and ownership read.
#[test]
fn a_journal_of_before_versions_is_pruned_by_the_same_rules() {
    let (_dir, path) = copy("journal-v0.sqlite");
    let year = 365.0 * 86_400.0;
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE jobs SET created_at = created_at - ?1, updated_at = updated_at - ?1", [2.0 * year])
        .unwrap();
    let journal = Journal::open_with(&path, Retention::days(30)).unwrap();
    assert_eq!(user_version(&path), 5);
    let before = journal.list(None, &[]).unwrap();
    assert_eq!(before.len(), 17, "nothing of it is history nobody needs");
    let index: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'docs_by_job'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(index, 1);

    // The first file sent again, unchanged in name, changed in content: its first job is history.
    let raw = PathBuf::from(std::ffi::OsStr::from_bytes(b"/data/caf\xe9.txt"));
    let removed = Path::new("/data/removed.txt");
    let again = |path: &Path, name: &str| {
        let new = twindrop_engine::journal::NewJob {
            base_url: TT,
            destination: &twin(),
            path,
            doc_name: name,
            size: 12,
            mtime_ns: 1_800_000_000_000_000_000,
            dev: 1,
            ino: 2,
            storage_class: StorageClass::AccessOptimized,
            description: None,
            on_conflict: ConflictPolicy::Rename,
        };
        let id = journal.insert(&new, JobState::Queued).unwrap();
        journal.record_uploaded(id, &"b".repeat(64), 12, None, None).unwrap();
        journal.record_attached(id).unwrap();
        journal.record_done(id, &DocStatus::Ok).unwrap();
        id
    };
    let caf = again(&raw, "caf_.txt");
    // The file whose Doc's delete is pending, sent again under another name: its job stays.
    let back = again(removed, "removed-2.txt");
    let pruned = journal.prune_before(4e9).unwrap();
    assert_eq!(pruned.jobs, 1);
    let after = journal.list(None, &[]).unwrap();
    assert_eq!(after.len(), 18);
    assert!(!after.iter().any(|j| j.id == before[0].id), "the first file's first job went");
    assert_eq!(journal.latest_for_path(TT, &twin(), &raw).unwrap().unwrap().id, caf);
    assert_eq!(journal.owned_doc(TT, &twin(), "caf_.txt").unwrap().unwrap().job_id, caf);
    assert_eq!(journal.latest_for_path(TT, &twin(), removed).unwrap().unwrap().id, back);
    let deletions = journal.deletions(TT, &twin()).unwrap();
    assert_eq!(deletions.iter().map(|d| d.job.id).collect::<Vec<_>>(), [before[10].id]);
    assert_eq!(journal.owned_doc(TT, &twin(), "removed.txt").unwrap().unwrap().job_id, before[10].id);
    let sent = journal.finished_files(TT, &twin()).unwrap();
    assert_eq!(sent.get(&raw), Some(&(12, 1_800_000_000_000_000_000)));
}
