//! Our clients against third-party servers as the data planes the emulator delegates to:
//! Inspect's presigned PUTs go to s3rver, which checks SigV2 signatures (a wrong Content-Type
//! would be its 403), and HBR's form posts go to moto. Skipped without the peers unless
//! `TWINDROP_REQUIRE_PEERS=1` (scripts/test sets it and installs them).

#[path = "../../emulator/tests/common/peer.rs"]
mod peer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use twindrop_emulator::{Config, Emulator};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::queue::{EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::service::hbr::Hbr;
use twindrop_engine::service::inspect::{AssetId, Inspect};
use twindrop_engine::service::{Destination, Service};
use twindrop_engine::{Queue, Secret};

const SECRET: &str = "peer-secret";

fn files(dir: &std::path::Path) -> Vec<PathBuf> {
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    vec![
        write("photo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR and more"),
        write("notes.txt", "plain text, ünïcode".as_bytes()),
        write("blob.bin", &(0..300_000u32).map(|i| (i % 256) as u8).collect::<Vec<_>>()),
        write("empty.dat", b""),
    ]
}

async fn upload(
    service: Service,
    dest: Destination,
    journal: Arc<Journal>,
    files: &[PathBuf],
) -> (Vec<u64>, Vec<QueueEvent>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
    let queue = Queue::new(service, journal, Options::default());
    let ids = queue.enqueue(dest, files, &sink).await.unwrap();
    queue.run(sink, RunMode::UntilIdle).await.unwrap();
    let events = events.lock().unwrap().clone();
    (ids, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_presigned_puts_to_s3rver_are_never_refused() {
    let Some(s3) = peer::s3rver("peertest") else { return };
    let config = Config::new(SECRET).inspect_data_plane(&s3.base, "peertest", "S3RVER", "S3RVER");
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let inspect = Arc::new(Inspect::new(em.base_url(), Secret::new(SECRET)).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
    let files = files(dir.path());
    let asset = AssetId::parse("3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
    let (ids, events) = upload(inspect.into(), Destination::Asset(asset), journal.clone(), &files).await;
    for id in ids {
        let job = journal.get(id).unwrap();
        assert_eq!(
            (job.state, job.doc_status.as_ref().map(|s| s.as_str())),
            (JobState::Done, Some("ok")),
            "{:?}",
            job.error_message
        );
    }
    // Complete succeeded, so the emulator found each object on s3rver with the right size and
    // SHA-256; and s3rver never had to refuse a signature (a Content-Type off by a byte would).
    let refused: Vec<_> = events.iter().filter(|e| matches!(e, QueueEvent::Retrying { .. })).collect();
    assert!(refused.is_empty(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hbr_form_posts_to_moto_arrive_intact() {
    let Some(moto) = peer::moto() else { return };
    let http = reqwest::Client::new();
    assert!(http.put(format!("{}/peertest", moto.base)).send().await.unwrap().status().is_success());
    let config = Config::new(SECRET).hbr_form_target(&moto.base, "peertest");
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let hbr = Arc::new(Hbr::new(&format!("{}/hbr", em.base_url()), Secret::new(format!("key:{SECRET}"))).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
    let files = files(dir.path());
    let (ids, _) = upload(hbr.clone().into(), Destination::TempFiles, journal.clone(), &files).await;
    for (id, path) in ids.iter().zip(&files) {
        let job = journal.get(*id).unwrap();
        // moto answers a form with neither an ETag nor a CRC-64: delivered, but nobody vouched
        // for the bytes, so the job says so (the read-back below is the test's own check).
        assert_eq!(
            (job.state, job.doc_status.as_ref().map(|s| s.as_str())),
            (JobState::Done, Some("unverified")),
            "{:?}",
            job.error_message
        );
        let key = job.upload_id.clone().unwrap();
        assert_eq!(job.upload_id.as_deref(), Some(key.as_str()), "HBR's name for the upload is its temp file key");
        let link = hbr.download_link(&key).await.unwrap();
        let held = http.get(&link).send().await.unwrap().bytes().await.unwrap();
        assert!(held == std::fs::read(path).unwrap(), "{} differs at moto", path.display());
    }
}
