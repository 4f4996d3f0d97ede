//! HBR + OSS end to end (issue 17): the engine's client against the emulator over HTTP.
//!
//! - File names with a space, `+`, `~`, `*`, non-ASCII and `%` reach HBR whole: the query sent is
//!   the one signed, and the emulator checks the signature over the query as it arrived.
//! - A host `Endpoint`, as Alibaba answers, is posted to as `{bucket}.{endpoint}`: the emulator
//!   plays OSS under `oss-cn-emulator.localhost` and the client's test-only pin takes that name
//!   to it.
//! - The storage's answer is held against what was sent: the CRC-64 first, an ETag that is no
//!   MD5 is no failure, the MD5 ETag without a CRC, and with no checksum the job is `unverified`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use twindrop_emulator::{Config, Emulator, FaultPlan};
use twindrop_engine::doc::DocStatus;
use twindrop_engine::journal::{Job, JobState, Journal};
use twindrop_engine::queue::{EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::service::hbr::Hbr;
use twindrop_engine::service::{Destination, Service};
use twindrop_engine::transfer::Sent;
use twindrop_engine::{Queue, Secret};

const SECRET: &str = "hbr-end-to-end-secret";
/// The host name the emulator's OSS gets, and its one bucket's.
const ENDPOINT: &str = "oss-cn-emulator.localhost";
const BUCKET_HOST: &str = "hbr-temp-bucket.oss-cn-emulator.localhost";

async fn emulator(config: Config) -> Emulator {
    Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

fn client(em: &Emulator) -> Hbr {
    Hbr::new(&format!("{}/hbr", em.base_url()), Secret::new(format!("LTAI5tEndToEnd:{SECRET}"))).unwrap()
}

fn address(em: &Emulator) -> SocketAddr {
    em.base_url().trim_start_matches("http://").parse().unwrap()
}

fn faults(value: serde_json::Value) -> FaultPlan {
    serde_json::from_value(value).unwrap()
}

fn write(dir: &Path, name: &str, size: usize, seed: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, (0..size).map(|i| ((i * 31 + seed * 7) % 251) as u8).collect::<Vec<_>>()).unwrap();
    path
}

/// The bytes HBR holds under `key`, read through its own download link.
async fn held(hbr: &Hbr, http: &reqwest::Client, key: &str) -> Vec<u8> {
    let link = hbr.download_link(key).await.unwrap();
    let response = http.get(&link).send().await.unwrap();
    assert!(response.status().is_success(), "GET {link}: {}", response.status());
    response.bytes().await.unwrap().to_vec()
}

async fn upload_one(hbr: &Hbr, name: &str, path: &Path) -> (String, twindrop_engine::Result<Sent>) {
    let target = hbr.create_temp_file_upload_url(name).await.unwrap();
    let sent = hbr.upload(&target, path, "application/octet-stream", Arc::new(|_| {}), None).await;
    (target.temp_file_key, sent)
}

/// Every file through a queue until idle: the jobs as the journal has them, and the events.
async fn run(hbr: Arc<Hbr>, dir: &Path, files: &[PathBuf]) -> (Vec<Job>, Vec<QueueEvent>) {
    let journal = Arc::new(Journal::open(&dir.join("journal.sqlite")).unwrap());
    let options = Options {
        retry: RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        ..Options::default()
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
    let queue = Queue::new(Service::Hbr(hbr), journal.clone(), options);
    let ids = queue.enqueue(Destination::TempFiles, files, &sink).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
    let jobs = ids.iter().map(|id| journal.get(*id).unwrap()).collect();
    let events = events.lock().unwrap().clone();
    (jobs, events)
}

fn outcome(job: &Job) -> (JobState, Option<&str>) {
    (job.state, job.doc_status.as_ref().map(DocStatus::as_str))
}

#[tokio::test]
async fn file_names_with_space_plus_tilde_star_unicode_and_percent_travel_signed() {
    let em = emulator(Config::new(SECRET)).await;
    let hbr = client(&em);
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bytes.bin", 5000, 1);
    let names = ["a b.txt", "a+b.txt", "tilde~name.txt", "star*name.txt", "ünïcødé 名前.txt", "100% done.txt"];
    for name in names {
        let (key, sent) = upload_one(&hbr, name, &path).await;
        assert!(key.ends_with(&format!("/{name}")), "HBR read {name:?} as {key:?}");
        assert!(!sent.unwrap().unverified);
        assert_eq!(held(&hbr, &http, &key).await, std::fs::read(&path).unwrap(), "{name}");
    }
    // And through the queue, under the file's own name.
    let files = [write(dir.path(), "a b+c~d*é%.txt", 70_000, 2)];
    let (jobs, _) = run(Arc::new(client(&em)), dir.path(), &files).await;
    assert_eq!(outcome(&jobs[0]), (JobState::Done, Some("ok")), "{:?}", jobs[0].error_message);
    let key = jobs[0].upload_id.clone().unwrap();
    assert!(key.ends_with("/a b+c~d*é%.txt"), "{key}");
    assert_eq!(held(&hbr, &http, &key).await, std::fs::read(&files[0]).unwrap());
    assert_eq!(em.secrets_on_urls(), 0);
}

#[tokio::test]
async fn a_host_endpoint_is_posted_to_as_bucket_dot_endpoint() {
    let em = emulator(Config::new(SECRET).oss_endpoint(ENDPOINT)).await;
    let hbr = Arc::new(client(&em).resolving(BUCKET_HOST, address(&em)).unwrap());
    let target = hbr.create_temp_file_upload_url("check.txt").await.unwrap();
    assert_eq!((target.endpoint.as_str(), target.bucket_name.as_str()), (ENDPOINT, "hbr-temp-bucket"));
    assert_eq!(target.url(), format!("http://{BUCKET_HOST}/"), "plain HTTP only for a name on this machine");

    let dir = tempfile::tempdir().unwrap();
    let files = [write(dir.path(), "small.txt", 10, 1), write(dir.path(), "large.bin", 600_000, 2)];
    let (jobs, _) = run(hbr.clone(), dir.path(), &files).await;
    let pinned = reqwest::Client::builder().resolve(BUCKET_HOST, address(&em)).build().unwrap();
    for (job, path) in jobs.iter().zip(&files) {
        assert_eq!(outcome(job), (JobState::Done, Some("ok")), "{:?}", job.error_message);
        // The signed form was a credential: a finished job keeps only its temp file key.
        assert_eq!((job.upload_url.as_deref(), job.form_target.is_none()), (None, true));
        let key = job.upload_id.clone().unwrap();
        assert_eq!(held(&hbr, &pinned, &key).await, std::fs::read(path).unwrap());
    }
    assert_eq!(em.call_count("oss.post"), 2, "both forms reached OSS through the virtual host");
}

#[tokio::test]
async fn an_etag_that_is_no_md5_is_no_failure_when_the_crc_matches() {
    let em = emulator(Config::new(SECRET)).await;
    em.set_faults(faults(json!({"rules": [{"route": "oss.post", "oss_checksums": "etag_not_md5"}]})));
    let dir = tempfile::tempdir().unwrap();
    let files = [write(dir.path(), "a.bin", 1000, 1), write(dir.path(), "b.bin", 300_000, 2)];
    let (jobs, events) = run(Arc::new(client(&em)), dir.path(), &files).await;
    for job in &jobs {
        assert_eq!(outcome(job), (JobState::Done, Some("ok")), "{:?}", job.error_message);
    }
    assert!(!events.iter().any(|e| matches!(e, QueueEvent::Retrying { .. })), "{events:?}");
}

#[tokio::test]
async fn a_crc_that_differs_fails_whatever_the_etag_says() {
    let em = emulator(Config::new(SECRET)).await;
    let hbr = client(&em);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.bin", 4000, 1);
    // The stored bytes are damaged and the ETag is no MD5: only the CRC-64 can tell.
    em.set_faults(faults(json!({"rules": [{"route": "oss.post", "nth": [1], "corrupt": true,
                                           "oss_checksums": "etag_not_md5"}]})));
    let err = upload_one(&hbr, "a.bin", &path).await.1.unwrap_err();
    assert_eq!(err.code(), "verify.checksum_mismatch");
    assert!(err.to_string().contains("CRC-64"), "{err}");
    // The queue sends it again, to a fresh target, and the second copy is intact.
    em.set_faults(faults(json!({"rules": [{"route": "oss.post", "nth": [1], "corrupt": true}]})));
    let (jobs, events) = run(Arc::new(client(&em)), dir.path(), std::slice::from_ref(&path)).await;
    assert_eq!(outcome(&jobs[0]), (JobState::Done, Some("ok")), "{:?}", jobs[0].error_message);
    let retried =
        |e: &QueueEvent| matches!(e, QueueEvent::Retrying { error, .. } if error.code == "verify.checksum_mismatch");
    assert_eq!(events.iter().filter(|e| retried(e)).count(), 1, "{events:?}");
}

#[tokio::test]
async fn without_a_crc_the_md5_etag_decides() {
    let em = emulator(Config::new(SECRET)).await;
    let hbr = client(&em);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.bin", 4000, 1);
    em.set_faults(faults(json!({"rules": [{"route": "oss.post", "oss_checksums": "no_crc"}]})));
    let sent = upload_one(&hbr, "a.bin", &path).await.1.unwrap();
    assert!(!sent.unverified, "the MD5 ETag confirmed it");
    em.set_faults(faults(json!({"rules": [{"route": "oss.post", "nth": [1], "corrupt": true,
                                           "oss_checksums": "no_crc"}]})));
    let err = upload_one(&hbr, "a.bin", &path).await.1.unwrap_err();
    assert_eq!(err.code(), "verify.checksum_mismatch");
    assert!(err.to_string().contains("MD5"), "{err}");
}

#[tokio::test]
async fn an_answer_with_no_checksum_ends_the_job_unverified() {
    let em = emulator(Config::new(SECRET)).await;
    em.set_faults(faults(json!({"rules": [{"route": "oss.post", "oss_checksums": "no_checksum"}]})));
    let hbr = Arc::new(client(&em));
    let dir = tempfile::tempdir().unwrap();
    let files = [write(dir.path(), "a.bin", 1000, 1)];
    let (jobs, events) = run(hbr.clone(), dir.path(), &files).await;
    // Delivered, not failed, not retried; but not `ok` either, and said so.
    assert_eq!(outcome(&jobs[0]), (JobState::Done, Some("unverified")));
    assert!(!jobs[0].is_ok());
    let finished: Vec<DocStatus> = events
        .iter()
        .filter_map(|e| match e {
            QueueEvent::Finished { status, .. } => Some(status.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(finished, [DocStatus::Unverified]);
    assert!(!events.iter().any(|e| matches!(e, QueueEvent::Retrying { .. } | QueueEvent::Failed { .. })));
    let key = jobs[0].upload_id.clone().unwrap();
    assert_eq!(held(&hbr, &reqwest::Client::new(), &key).await, std::fs::read(&files[0]).unwrap());
}
