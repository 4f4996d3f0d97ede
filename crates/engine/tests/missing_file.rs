//! A job that failed because its file is gone (`file.not_found`): Retry would fail again, so it
//! can be removed (never retried, never listed again, after a restart too) or located (sent from
//! the file's new place, under the Doc name it had).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use twindrop_emulator::{Config, Emulator};
use twindrop_engine::hash::Sha256Stream;
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::queue::{EventSink, Options, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::{DocStatus, Queue, QueueEvent, Secret, TrustedTwin, TwinId};

const SECRET: &str = "missing-file-secret";

fn options() -> Options {
    Options {
        retry: RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        poll_interval: Duration::from_millis(20),
        ..Options::default()
    }
}

/// Heard events, and a sink that keeps them.
fn recorder() -> (Arc<Mutex<Vec<QueueEvent>>>, EventSink) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let keep = heard.clone();
    (heard, Arc::new(move |e| keep.lock().unwrap().push(e)))
}

async fn run(queue: &Arc<Queue>, sink: EventSink) {
    tokio::time::timeout(Duration::from_secs(60), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
}

/// A job for `name` in `dir` whose file is deleted before it runs: it fails `file.not_found`.
async fn a_job_whose_file_is_gone(queue: &Arc<Queue>, twin: &TwinId, dir: &Path, name: &str) -> u64 {
    let file = dir.join(name);
    std::fs::write(&file, b"first place\n").unwrap();
    let sink: EventSink = Arc::new(|_| {});
    let id = queue.enqueue(twin, std::slice::from_ref(&file), &sink).await.unwrap()[0];
    std::fs::remove_file(&file).unwrap();
    run(queue, sink).await;
    let job = queue.journal().get(id).unwrap();
    assert_eq!((job.state, job.error_code.as_deref()), (JobState::Failed, Some("file.not_found")), "{job:?}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_job_is_never_retried_nor_listed_again() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap());
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("journal.sqlite");
    let journal = Arc::new(Journal::open(&at).unwrap());
    let queue = Queue::new(tt.clone(), journal.clone(), options());
    let id = a_job_whose_file_is_gone(&queue, &twin, dir.path(), "gone.txt").await;
    let kept = a_job_whose_file_is_gone(&queue, &twin, dir.path(), "kept.txt").await;

    let (heard, sink) = recorder();
    assert!(queue.remove_failed(id, &sink).unwrap());
    assert!(
        matches!(heard.lock().unwrap()[..], [QueueEvent::State { id: i, state: JobState::Cancelled }] if i == id),
        "{heard:?}"
    );
    assert!(!queue.remove_failed(id, &sink).unwrap(), "removed once");
    assert!(!queue.retry(id, &sink).unwrap(), "Retry does not take it");
    // Retry failed takes the other failed job only.
    assert_eq!(queue.retry_failed(&sink).unwrap(), 1);
    run(&queue, sink.clone()).await;
    assert_eq!(journal.get(id).unwrap().state, JobState::Cancelled);
    assert_eq!(journal.get(kept).unwrap().state, JobState::Failed, "still gone, failed again");
    drop(queue);
    drop(journal);

    // After a restart: not among the failures, and a retry of them all leaves it alone. (The
    // queue's background tasks let go of the journal's lock a moment after it is dropped.)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let journal = loop {
        match Journal::open(&at) {
            Ok(journal) => break Arc::new(journal),
            Err(e) if e.code() == "journal.locked" && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    let failed: Vec<u64> = journal.list(None, &[JobState::Failed]).unwrap().iter().map(|j| j.id).collect();
    assert_eq!(failed, vec![kept]);
    let queue = Queue::new(tt.clone(), journal.clone(), options());
    // What a window opening on the queue is told: the other failure, not the removed job.
    let standing = queue.standing().unwrap();
    assert!(standing.iter().any(|e| e.job_id() == Some(kept)), "{standing:?}");
    assert!(standing.iter().all(|e| e.job_id() != Some(id)), "{standing:?}");
    let (heard, sink) = recorder();
    assert_eq!(queue.retry_failed(&sink).unwrap(), 1);
    run(&queue, sink).await;
    assert!(heard.lock().unwrap().iter().all(|e| e.job_id() != Some(id)), "{heard:?}");
    let job = journal.get(id).unwrap();
    assert_eq!(
        (job.state, job.error_code.as_deref()),
        (JobState::Cancelled, Some("file.not_found")),
        "why it failed stays"
    );
    assert!(tt.list_doc_rows(&twin).await.unwrap().is_empty(), "nothing was sent");
    em.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_located_job_sends_the_new_files_bytes_under_its_doc_name() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap());
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    let queue = Queue::new(tt.clone(), journal.clone(), options());
    let id = a_job_whose_file_is_gone(&queue, &twin, dir.path(), "report.txt").await;

    // Moved elsewhere, under another name, and changed: other bytes, another size.
    std::fs::create_dir(dir.path().join("moved")).unwrap();
    let moved = dir.path().join("moved").join("Report (final).txt");
    let bytes = b"the file in its new place, longer than it was\n".repeat(100);
    std::fs::write(&moved, &bytes).unwrap();

    let (heard, sink) = recorder();
    let nowhere = dir.path().join("nowhere.txt");
    assert_eq!(queue.locate(id, &nowhere, &sink).unwrap_err().code(), "file.not_found");
    assert_eq!(queue.locate(id, &dir.path().join("moved"), &sink).unwrap_err().code(), "file.not_a_file");
    assert!(heard.lock().unwrap().is_empty(), "a refused place changes nothing");
    assert_eq!(journal.get(id).unwrap().state, JobState::Failed);

    assert!(queue.locate(id, &moved, &sink).unwrap());
    {
        let heard = heard.lock().unwrap();
        let [QueueEvent::State { id: q, state: JobState::Queued }, QueueEvent::Added { id: a, path, size, doc_name, .. }] =
            &heard[..2]
        else {
            panic!("{heard:?}")
        };
        assert_eq!((*a, *q), (id, id));
        assert_eq!(
            (path.as_str(), *size, doc_name.as_deref()),
            (moved.to_str().unwrap(), Some(bytes.len() as u64), Some("report.txt"))
        );
    }
    run(&queue, sink.clone()).await;
    let job = journal.get(id).unwrap();
    assert_eq!(job.state, JobState::Done, "{job:?}");
    assert_eq!(
        (job.path.as_path(), job.size, job.doc_name.as_str()),
        (moved.as_path(), bytes.len() as u64, "report.txt")
    );
    let mut sha = Sha256Stream::default();
    sha.update(&bytes);
    let sha = sha.finish_hex();
    assert_eq!(job.sha256.as_deref(), Some(sha.as_str()));
    let docs = tt.doc_details(&twin, ["report.txt".to_owned()]).await.unwrap();
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(
        (docs[0].status.clone(), docs[0].sha256.as_deref(), docs[0].size),
        (DocStatus::Ok, Some(sha.as_str()), Some(bytes.len() as u64))
    );
    assert!(!queue.locate(id, &moved, &sink).unwrap(), "only a failed job is located");
    em.shutdown().await;
}
