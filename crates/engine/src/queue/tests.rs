//! The queue's own tests: events, replays, retries, panics and a stopped run.

use super::*;
use crate::doc::DocStatus;
use crate::service::trusted_twin::TrustedTwin;

#[test]
fn events_serialise_as_the_ui_expects() {
    let e = QueueEvent::Progress { id: 3, stage: Stage::Uploading, bytes_done: 5, bytes_total: 9 };
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        serde_json::json!({"type": "progress", "id": 3, "stage": "uploading", "bytesDone": 5, "bytesTotal": 9})
    );
    let e =
        QueueEvent::Finished { id: 1, doc_name: "a.txt".into(), status: DocStatus::HashMismatch, sha256: "ab".into() };
    assert_eq!(serde_json::to_value(&e).unwrap()["status"], "hash_mismatch");
    let e = QueueEvent::State { id: 1, state: JobState::Paused };
    assert_eq!(serde_json::to_value(&e).unwrap(), serde_json::json!({"type": "state", "id": 1, "state": "paused"}));
}

#[test]
fn settled_jobs_replay_as_their_final_event() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.sqlite")).unwrap();
    let path = dir.path().join("a.txt");
    let dest = crate::journal::tests::twin(1);
    let new = crate::journal::NewJob {
        base_url: "http://h",
        destination: &dest,
        path: &path,
        doc_name: "a.txt",
        size: 1,
        mtime_ns: 0,
        storage_class: crate::doc::StorageClass::AccessOptimized,
        description: None,
        on_conflict: crate::doc::ConflictPolicy::Rename,
        dev: 0,
        ino: 0,
    };
    let id = journal.insert(&new, JobState::Queued).unwrap();
    assert_eq!(journal.get(id).unwrap().settled_event(), None);
    journal.record_done(id, &DocStatus::HashMismatch).unwrap();
    let event = journal.get(id).unwrap().settled_event().unwrap();
    assert!(matches!(event, QueueEvent::Finished { status: DocStatus::HashMismatch, .. }), "{event:?}");
    let other = journal.insert(&new, JobState::Queued).unwrap();
    journal.record_failed(other, &Error::Unauthorized("no".into())).unwrap();
    let event = journal.get(other).unwrap().settled_event().unwrap();
    assert!(matches!(&event, QueueEvent::Failed { error, .. } if error.code == "auth.unauthorized"), "{event:?}");
}

/// One failed job goes back to the queue on its own and ends ok; a job that is not failed,
/// or whose attach is in doubt, is not touched.
#[tokio::test]
async fn one_failed_job_is_retried_alone() {
    let em = twindrop_emulator::Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        twindrop_emulator::Config::new("retry-secret").with_copy_delay(Duration::from_millis(20)),
    )
    .await
    .unwrap();
    let tt = TrustedTwin::new(em.base_url(), crate::Secret::new("retry-secret")).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
    let queue = Queue::new(
        Arc::new(tt),
        journal.clone(),
        Options { poll_interval: Duration::from_millis(20), ..Options::default() },
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink: EventSink = {
        let events = events.clone();
        Arc::new(move |e: QueueEvent| events.lock().unwrap().push(e))
    };
    em.set_faults(
        serde_json::from_value(serde_json::json!({"rules": [{"route": "cache", "nth": [1], "status": 403}]})).unwrap(),
    );
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "again").unwrap();
    let id = queue.enqueue(&twin, std::slice::from_ref(&file), &sink).await.unwrap()[0];
    let runner = tokio::spawn({
        let (queue, sink) = (queue.clone(), sink.clone());
        async move { queue.run(sink, RunMode::Forever).await }
    });
    let settled = |state| {
        let journal = journal.clone();
        async move {
            for _ in 0..500 {
                if journal.get(id).unwrap().state == state {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("job never reached {state:?}");
        }
    };
    settled(JobState::Failed).await;
    assert_eq!(journal.get(id).unwrap().error_code.as_deref(), Some("auth.forbidden"));
    assert!(!queue.retry(id + 1000, &sink).is_ok_and(|r| r), "an unknown job is not retried");

    assert!(queue.retry(id, &sink).unwrap());
    assert!(events.lock().unwrap().contains(&QueueEvent::State { id, state: JobState::Queued }));
    settled(JobState::Done).await;
    let job = journal.get(id).unwrap();
    assert_eq!((job.doc_status.as_ref().map(|s| s.as_str()), job.error_code), (Some("ok"), None));
    assert!(!queue.retry(id, &sink).unwrap(), "a done job is not retried");

    // An attach in doubt is left to retry_failed, which reads the Doc back first.
    journal.set_state(id, JobState::Failed).unwrap();
    journal.mark_attach_sent(&[id]).unwrap();
    assert_eq!(queue.retry(id, &sink).unwrap_err().code(), "retry.refused");
    runner.abort();
    em.shutdown().await;
}

/// A panic while one file is sent fails that file with `internal.error`; the worker that
/// met it takes the next file, and the run ends as usual.
#[tokio::test]
async fn a_panic_fails_its_file_and_the_queue_goes_on() {
    let em = twindrop_emulator::Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        twindrop_emulator::Config::new("panic-secret").with_copy_delay(Duration::from_millis(10)),
    )
    .await
    .unwrap();
    let tt = TrustedTwin::new(em.base_url(), crate::Secret::new("panic-secret")).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
    let opts = Options { parallel: 1, poll_interval: Duration::from_millis(20), ..Options::default() };
    let queue = Queue::new(Arc::new(tt), journal.clone(), opts);
    let files: Vec<std::path::PathBuf> = ["panic-in-test.txt", "fine.txt"]
        .iter()
        .map(|name| {
            let path = dir.path().join(name);
            std::fs::write(&path, *name).unwrap();
            path
        })
        .collect();
    let sink: EventSink = Arc::new(|_| {});
    let ids = queue.enqueue(&twin, &files, &sink).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
    let (bad, good) = (journal.get(ids[0]).unwrap(), journal.get(ids[1]).unwrap());
    assert_eq!((bad.state, bad.error_code.as_deref()), (JobState::Failed, Some("internal.error")));
    assert!(bad.error_message.unwrap().contains("a bug met while sending"));
    assert!(good.is_ok(), "{good:?}");
    em.shutdown().await;
}

/// A queue whose run stops (its journal loses its table) is started again, and each stop
/// is told with the wait before the next start.
#[tokio::test(start_paused = true)]
async fn a_stopped_queue_is_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.sqlite");
    let tt = TrustedTwin::new("http://127.0.0.1:9", crate::Secret::new("s")).unwrap();
    let queue = Queue::new(Arc::new(tt), Arc::new(Journal::open(&db).unwrap()), Options::default());
    rusqlite::Connection::open(&db).unwrap().execute_batch("DROP TABLE jobs").unwrap();
    let stops = Arc::new(Mutex::new(Vec::new()));
    let on_stop = {
        let stops = stops.clone();
        move |e: &Error, wait: Duration| stops.lock().unwrap().push((e.code(), wait))
    };
    let supervised = tokio::spawn({
        let queue = queue.clone();
        async move { queue.run_supervised(Arc::new(|_| {}), on_stop).await }
    });
    for _ in 0..1000 {
        if stops.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    supervised.abort();
    let stops = stops.lock().unwrap();
    assert!(stops.len() >= 3, "the queue was not started again: {stops:?}");
    assert!(stops.iter().all(|(code, wait)| *code == "journal.failed" && *wait > Duration::ZERO), "{stops:?}");
}

#[test]
fn conflict_policies_parse() {
    for p in [ConflictPolicy::Skip, ConflictPolicy::Rename, ConflictPolicy::Replace] {
        assert_eq!(ConflictPolicy::parse(p.as_str()).unwrap(), p);
    }
    assert_eq!(ConflictPolicy::parse("merge").unwrap_err().code(), "conflict_policy.invalid");
}
