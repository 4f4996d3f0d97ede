//! The engine against the emulator over real HTTP on port 0.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::queue::{Options, QueueEvent, RunMode, Stage};
use twindrop_engine::service::trusted_twin::AttachShape;
use twindrop_engine::{DocName, DocStatus, Queue, Secret, TrustedTwin, TwinId};

const SECRET: &str = "engine-test-secret";

async fn emulator() -> Emulator {
    let mut config = Config::new(SECRET);
    config.copy_delay = Duration::from_millis(150);
    Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

fn client(em: &Emulator) -> TrustedTwin {
    TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn recorder() -> (Arc<Mutex<Vec<QueueEvent>>>, twindrop_engine::queue::EventSink) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, Arc::new(move |e| sink.lock().unwrap().push(e)))
}

#[tokio::test]
async fn dropped_files_become_ok_docs_and_bad_ones_fail_alone() {
    let em = emulator().await;
    let tt = Arc::new(client(&em));
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..3 * 256 * 1024 + 11).map(|i| (i * 7 % 253) as u8).collect();
    let files = vec![
        write(dir.path(), "big data.bin", &big),
        write(dir.path(), "empty.txt", b""),
        dir.path().join("missing.txt"),
        dir.path().to_owned(),
    ];
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    let (events, sink) = recorder();
    let queue = Queue::new(tt.clone(), journal.clone(), Options { parallel: 2, ..Options::default() });
    let ids = queue.enqueue(&twin, &files, &sink).await.unwrap();
    queue.run(sink, RunMode::UntilIdle).await.unwrap();

    let jobs: Vec<_> = ids.iter().map(|id| journal.get(*id).unwrap()).collect();
    let outcomes: Vec<_> = jobs
        .iter()
        .map(|j| (j.state, j.doc_status.as_ref().map(|s| s.as_str()).or(j.error_code.as_deref()).unwrap_or("")))
        .collect();
    assert_eq!(
        outcomes,
        [
            (JobState::Done, "ok"),
            (JobState::Done, "ok"),
            (JobState::Failed, "file.not_found"),
            (JobState::Failed, "file.not_a_file")
        ]
    );
    assert_eq!(jobs[0].doc_name, "big_data.bin");
    assert_eq!(jobs[0].sha256.as_deref(), Some(hex::encode(Sha256::digest(&big)).as_str()));

    let listing = tt.list_docs(&twin).await.unwrap();
    assert_eq!(listing.get("big_data.bin"), Some(&(big.len() as u64)));
    assert_eq!(listing.get("empty.txt"), Some(&0));
    assert_eq!(listing.len(), 2);

    // Per item: Added first, uploading bytes never go backwards, then attaching, verifying, finished.
    let events = events.lock().unwrap();
    let mine: Vec<&QueueEvent> = events.iter().filter(|e| e.job_id() == Some(ids[0])).collect();
    assert!(
        matches!(mine[0], QueueEvent::Added { doc_name: Some(n), size: Some(s), .. } if n == "big_data.bin" && *s == big.len() as u64)
    );
    let mut last = 0;
    let mut stages = vec![];
    for e in &mine[1..mine.len() - 1] {
        let QueueEvent::Progress { stage, bytes_done, bytes_total, .. } = e else { panic!("unexpected {e:?}") };
        assert_eq!(*bytes_total, big.len() as u64);
        assert!(*bytes_done >= last);
        last = *bytes_done;
        if stages.last() != Some(stage) {
            stages.push(*stage);
        }
    }
    assert_eq!(stages, [Stage::Uploading, Stage::Attaching, Stage::Verifying]);
    assert_eq!(last, big.len() as u64);
    assert!(matches!(mine.last().unwrap(), QueueEvent::Finished { status: DocStatus::Ok, .. }));
    let failed = events.iter().find(|e| matches!(e, QueueEvent::Failed { id, .. } if *id == ids[2])).unwrap();
    let QueueEvent::Failed { error, .. } = failed else { unreachable!() };
    assert_eq!(error.code, "file.not_found");
    assert!(error.message.contains("missing.txt"), "{}", error.message);
    let last_stats = events.iter().rev().find(|e| matches!(e, QueueEvent::Stats { .. })).unwrap();
    // Every queued byte counted once: the ETA's denominator is right.
    let expect = big.len() as u64;
    assert!(
        matches!(last_stats, QueueEvent::Stats { bytes_done, bytes_total, active: 0, .. } if *bytes_done == expect && *bytes_total == expect),
        "{last_stats:?}"
    );
    // "2 of 4 · 2 failed": the files that were refused count as this batch's failures.
    assert!(
        matches!(last_stats, QueueEvent::Stats { files_done: 2, files_failed: 2, files_total: 4, .. }),
        "{last_stats:?}"
    );
    drop(events);

    // A window opening now (a switch of account and back, a restart) is told of the two
    // failures still waiting on the user, each as added then failed.
    let standing = queue.standing().unwrap();
    let told: Vec<(u64, &str)> = standing
        .iter()
        .map(|e| match e {
            QueueEvent::Added { id, .. } => (*id, "added"),
            QueueEvent::Failed { id, .. } => (*id, "failed"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(told, [(ids[2], "added"), (ids[2], "failed"), (ids[3], "added"), (ids[3], "failed")]);

    // "Clear finished", then a new batch: its figures count its own file, nothing before it.
    queue.clear_finished();
    let (events, sink) = recorder();
    let next = write(dir.path(), "next.txt", b"only these bytes");
    queue.enqueue(&twin, &[next], &sink).await.unwrap();
    queue.run(sink, RunMode::UntilIdle).await.unwrap();
    let events = events.lock().unwrap();
    let last_stats = events.iter().rev().find(|e| matches!(e, QueueEvent::Stats { .. })).unwrap();
    assert!(
        matches!(
            last_stats,
            QueueEvent::Stats { bytes_done: 16, bytes_total: 16, files_done: 1, files_failed: 0, files_total: 1, .. }
        ),
        "{last_stats:?}"
    );
}

#[tokio::test]
async fn attach_reports_per_doc_errors_and_hash_mismatch() {
    let em = emulator().await;
    let tt = client(&em);
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.txt", b"hello");
    let target = tt.create_upload_url().await.unwrap();
    let sent = tt.upload(&target, &path, Arc::new(|_| {}), None).await.unwrap();
    assert_eq!(sent.sha256, hex::encode(Sha256::digest(b"hello")));

    let name = DocName::parse("dir/sub/a.txt").unwrap();
    let doc = tt.attach(&twin, &name, &target.handler, Some(&sent.sha256)).await.unwrap();
    assert_eq!(doc.status, DocStatus::Copying);
    let doc = tt.wait_terminal(&twin, &name, Duration::from_secs(10)).await.unwrap();
    assert_eq!(doc.status, DocStatus::Ok);
    assert_eq!(doc.creation_certificate.unwrap().size, Some(5));

    let again = tt.attach(&twin, &name, &target.handler, None).await.unwrap_err();
    assert_eq!(again.code(), "attach.doc_exists");

    // The same upload may feed a second Doc; a wrong hash ends in hash_mismatch, not an error.
    let wrong = DocName::parse("wrong.txt").unwrap();
    tt.attach(&twin, &wrong, &target.handler, Some(&"0".repeat(64))).await.unwrap();
    assert_eq!(tt.wait_terminal(&twin, &wrong, Duration::from_secs(10)).await.unwrap().status, DocStatus::HashMismatch);

    let unused = tt.create_upload_url().await.unwrap();
    let err = tt.attach(&twin, &DocName::parse("b").unwrap(), &unused.handler, None).await.unwrap_err();
    assert_eq!(err.code(), "attach.not_uploaded");
}

#[tokio::test]
async fn the_list_shaped_envelope_works_too() {
    let em = emulator().await;
    let tt = client(&em).with_attach_shape(AttachShape::List);
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = tt.create_upload_url().await.unwrap();
    tt.upload(&target, &write(dir.path(), "x", b"x"), Arc::new(|_| {}), None).await.unwrap();
    let name = DocName::parse("x").unwrap();
    assert_eq!(tt.attach(&twin, &name, &target.handler, None).await.unwrap().status, DocStatus::Copying);
    assert_eq!(tt.attach(&twin, &name, &target.handler, None).await.unwrap_err().code(), "attach.doc_exists");
}

#[tokio::test]
async fn auth_twin_and_network_failures_have_their_codes() {
    let em = emulator().await;
    let bad = TrustedTwin::new(em.base_url(), Secret::new("wrong")).unwrap();
    assert_eq!(bad.whoami().await.unwrap_err().code(), "auth.unauthorized");
    let tt = client(&em);
    assert!(!tt.whoami().await.unwrap().is_empty());
    let ghost = TwinId::parse("00000000-0000-4000-8000-000000000000").unwrap();
    assert_eq!(tt.get_twin(&ghost).await.unwrap_err().code(), "twin.not_found");

    let base = em.base_url().to_owned();
    em.shutdown().await;
    let gone = TrustedTwin::new(&base, Secret::new(SECRET)).unwrap();
    let err = gone.whoami().await.unwrap_err();
    // Nothing listens on the port the emulator had.
    assert_eq!(err.code(), "network.refused", "{err}");
    assert!(err.retryable());
    assert!(!err.to_string().contains(SECRET));
}
