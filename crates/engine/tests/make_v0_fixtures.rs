//! Made the fixtures `fixtures/journal-v0.sqlite` and `fixtures/activity-v0.sqlite` with the
//! code of commit 3c16aa1 (user_version 0, before schema migrations). Kept only in that commit's
//! history: it is written against the journal API of that time.
//! Run: cargo test -p twindrop-engine --test make_v0_fixtures -- --ignored

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use twindrop_engine::activity::{ActivityLog, Counts, Kind, NewEntry};
use twindrop_engine::journal::{JobState, Journal, NewJob, ResumableRecord, Target};

const TT: &str = "http://tt.example";
const TWIN: &str = "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
const REDIVIS: &str = "http://redivis.example";
const TABLE: &str = "user.dataset:v1.files";
const INSPECT: &str = "http://inspect.example";
const ASSET: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
const HBR: &str = "http://hbr.example";

fn job<'a>(base_url: &'a str, dest: &'a str, path: &'a Path, name: &'a str) -> NewJob<'a> {
    NewJob {
        base_url,
        twin: dest,
        path,
        doc_name: name,
        size: 11,
        mtime_ns: 1_700_000_000_000_000_000,
        dev: 64769,
        ino: 1234,
        storage_class: "access_optimized",
        description: None,
        on_conflict: "rename",
    }
}

#[test]
#[ignore]
fn make_v0_fixtures() {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::create_dir_all(&out).unwrap();
    let journal_path = out.join("journal-v0.sqlite");
    let activity_path = out.join("activity-v0.sqlite");
    for p in [&journal_path, &activity_path] {
        let _ = std::fs::remove_file(p);
    }
    let j = Journal::open(&journal_path).unwrap();
    let raw = PathBuf::from(std::ffi::OsStr::from_bytes(b"/data/caf\xe9.txt"));
    let plain = PathBuf::from("/data/report.pdf");
    let deep = PathBuf::from("/data/photos/2024/beach.jpg");

    // 1 Trusted Twin, done ok, non-UTF-8 path, name decided, owned Doc.
    j.decide_names(
        TT,
        TWIN,
        &[(&raw, "caf_.txt", "caf_.txt"), (&deep, "photos/2024/beach.jpg", "photos/2024/beach-1.jpg")],
    )
    .unwrap();
    let done = j.insert(&job(TT, TWIN, &raw, "caf_.txt"), JobState::Queued).unwrap();
    j.claim_next(TT).unwrap().unwrap();
    j.record_target(
        done,
        &Target { handler: "h-done", url: "http://tt.example/upload/tok1", valid_until: 1e10, transfer: None },
    )
    .unwrap();
    j.record_uploaded(done, &"a".repeat(64), 11, None).unwrap();
    j.mark_attach_sent(&[done]).unwrap();
    j.record_attached(done).unwrap();
    j.record_done(done, "ok").unwrap();

    // 2 queued, other policy, storage class and description.
    let mut queued = job(TT, TWIN, &plain, "report.pdf");
    queued.on_conflict = "skip";
    queued.storage_class = "cost_optimized";
    queued.description = Some("{\"note\":\"quarterly\"}");
    let queued = j.insert(&queued, JobState::Queued).unwrap();

    // 3 attaching, attach in doubt, with a replace intent.
    let mut replacing = job(TT, TWIN, &deep, "photos/2024/beach-1.jpg");
    replacing.on_conflict = "replace";
    let attaching = j.insert(&replacing, JobState::Queued).unwrap();
    j.record_target(
        attaching,
        &Target { handler: "h-att", url: "http://tt.example/upload/tok2", valid_until: 1e10, transfer: None },
    )
    .unwrap();
    j.record_uploaded(attaching, &"b".repeat(64), 11, None).unwrap();
    j.record_replacing(attaching, &"c".repeat(64)).unwrap();
    j.mark_attach_sent(&[attaching]).unwrap();

    // 4 failed; 5 skipped; 6 cancelled; 7 paused; 8 done hash_mismatch; 9 requeued with a wait.
    let failed = j.insert(&job(TT, TWIN, Path::new("/data/gone.txt"), "gone.txt"), JobState::Queued).unwrap();
    j.record_failed_info(
        failed,
        &twindrop_engine::ErrorInfo { code: "file.not_found".into(), message: "gone".into(), retryable: false },
    )
    .unwrap();
    let skipped = j.insert(&job(TT, TWIN, Path::new("/data/same.txt"), "same.txt"), JobState::Queued).unwrap();
    j.record_skipped(skipped, "unchanged since it was uploaded as same.txt").unwrap();
    j.insert(&job(TT, TWIN, Path::new("/data/cancel.txt"), "cancel.txt"), JobState::Cancelled).unwrap();
    j.insert(&job(TT, TWIN, Path::new("/data/pause.txt"), "pause.txt"), JobState::Paused).unwrap();
    let mismatch = j.insert(&job(TT, TWIN, Path::new("/data/mm.bin"), "mm.bin"), JobState::Queued).unwrap();
    j.record_uploaded(mismatch, &"d".repeat(64), 11, None).unwrap();
    j.record_done(mismatch, "hash_mismatch").unwrap();
    let later = j.insert(&job(TT, TWIN, Path::new("/data/later.txt"), "later.txt"), JobState::Queued).unwrap();
    j.requeue_after(later, std::time::Duration::from_secs(3600)).unwrap();

    // 10 a Doc deleted by a mirror, 11 a pending deletion.
    let deleted = j.insert(&job(TT, TWIN, Path::new("/data/old.txt"), "old.txt"), JobState::Queued).unwrap();
    j.record_uploaded(deleted, &"e".repeat(64), 11, None).unwrap();
    j.record_attached(deleted).unwrap();
    j.record_done(deleted, "ok").unwrap();
    j.forget_doc(&j.get(deleted).unwrap()).unwrap();
    let pending = j.insert(&job(TT, TWIN, Path::new("/data/removed.txt"), "removed.txt"), JobState::Queued).unwrap();
    j.record_uploaded(pending, &"f".repeat(64), 11, None).unwrap();
    j.record_attached(pending).unwrap();
    j.record_done(pending, "ok").unwrap();
    j.intend_delete(pending).unwrap();

    // 12 a name that is not valid by today's rules (kept from an older, laxer version).
    j.insert(&job(TT, TWIN, Path::new("/data/bad name?.txt"), "bad name?.txt"), JobState::Failed).unwrap();

    // Redivis: one uploading by a resumable session (with its `resumable` row), one done.
    let big = PathBuf::from("/data/big.csv");
    let up = j.insert(&job(REDIVIS, TABLE, &big, "big.csv"), JobState::Queued).unwrap();
    j.claim_next(REDIVIS).unwrap().unwrap();
    j.record_target(
        up,
        &Target {
            handler: "temp-1",
            url: "http://redivis.example/__tempUploads/temp-1",
            valid_until: 1e10,
            transfer: Some("resumable"),
        },
    )
    .unwrap();
    j.resumable_put(
        "k-big",
        &big,
        &ResumableRecord {
            size: 11,
            mtime_ns: 1_700_000_000_000_000_000,
            session_uri: "http://gcs.example/s/1".into(),
            committed: 4,
        },
    )
    .unwrap();
    let small = j.insert(&job(REDIVIS, TABLE, Path::new("/data/small.csv"), "small.csv"), JobState::Queued).unwrap();
    j.record_target(
        small,
        &Target {
            handler: "temp-2",
            url: "http://redivis.example/__tempUploads/temp-2",
            valid_until: 1e10,
            transfer: Some("put"),
        },
    )
    .unwrap();
    j.record_uploaded(small, &"1".repeat(64), 11, Some("bWQ1bWQ1bWQ1bWQ1bWQ1bQ==")).unwrap();
    j.mark_attach_sent(&[small]).unwrap();
    j.record_attached(small).unwrap();
    j.record_done(small, "ok").unwrap();

    // Inspect: one already there (transfer none), one queued with no target yet.
    let there = j.insert(&job(INSPECT, ASSET, Path::new("/data/scan.png"), "scan.png"), JobState::Queued).unwrap();
    j.record_target(there, &Target { handler: "file-9", url: "", valid_until: 0.0, transfer: Some("none") }).unwrap();
    j.record_uploaded(there, &"2".repeat(64), 11, None).unwrap();
    j.record_done(there, "ok").unwrap();
    j.insert(&job(INSPECT, ASSET, Path::new("/data/scan2.png"), "scan2.png"), JobState::Queued).unwrap();

    // HBR: uploading by a form whose whole answer is kept.
    let form = j.insert(&job(HBR, "hbr-temp", Path::new("/data/backup.tar"), "backup.tar"), JobState::Queued).unwrap();
    j.claim_next(HBR).unwrap().unwrap();
    let answer = r#"{"Endpoint":"http://oss.example/","BucketName":"b","TempFileKey":"tmp/k1","OssAccessKeyId":"AK","Policy":"cG9saWN5","Signature":"c2ln","ExpireTime":4102444800}"#;
    j.record_target(
        form,
        &Target { handler: answer, url: "http://oss.example/", valid_until: 4102444800.0, transfer: Some("form") },
    )
    .unwrap();
    let _ = (queued,);
    drop(j);
    let _ = std::fs::remove_file(journal_path.with_extension("lock"));

    let log = ActivityLog::open(&activity_path).unwrap();
    log.record(NewEntry::new(Kind::SignedIn, "Signed in to the local sandbox").source("sandbox")).unwrap();
    log.record(NewEntry {
        code: Some("file.not_found".into()),
        file: Some("/data/gone.txt".into()),
        ..NewEntry::new(Kind::ItemFailed, "gone")
    })
    .unwrap();
    log.record(NewEntry {
        counts: Some(Counts { ok: 3, failed: 1, skipped: 0, cancelled: 1 }),
        ..NewEntry::new(Kind::BatchFailed, "Upload of 5 files: 3 ok, 1 failed, 1 cancelled")
    })
    .unwrap();
    log.record(NewEntry {
        counts: Some(Counts { ok: 2, failed: 0, skipped: 1, cancelled: 0 }),
        ..NewEntry::new(Kind::WatchedSync, "Synced 3 files from /data: 2 ok, 1 skipped").source("/data")
    })
    .unwrap();
    log.record(NewEntry {
        code: Some("name.conflict".into()),
        file: Some("/data/report.pdf".into()),
        ..NewEntry::new(Kind::Conflict, "its name is another Doc's or another file's: sent as report-1.pdf")
            .source("/data")
    })
    .unwrap();
    log.record(NewEntry::new(Kind::Paused, "Paused")).unwrap();
    log.record(NewEntry::new(Kind::Resumed, "Resumed")).unwrap();
    drop(log);
}
