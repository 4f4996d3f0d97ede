//! The resumable transfer against a server someone else wrote: gcp-storage-emulator (PyPI),
//! installed by scripts/bootstrap.sh. 64 MiB in 8 MiB chunks, cut off mid-way, resumed from the
//! offset the server reports; the object's SHA-256 must match and at most one chunk is re-sent.
//! Also its `Range: bytes=0-0` before any byte, and streams with and without a declared size.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use twindrop_engine::transfer::resumable::{self, Status};

const CHUNK: u64 = 8 << 20;

struct Peer(Child, u16);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn peer() -> Option<Peer> {
    let Some(bin) = std::env::var_os("TWINDROP_GCS_EMULATOR") else {
        assert!(std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"), "TWINDROP_GCS_EMULATOR is not set");
        eprintln!("skipping: TWINDROP_GCS_EMULATOR is not set (scripts/test sets it)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(bin)
        .args([
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--default-bucket",
            "peertest",
            "--in-memory",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peer = Peer(child, port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "gcp-storage-emulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(peer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_mid_way_it_resumes_at_the_committed_offset() {
    let Some(peer) = peer() else { return };
    let base = format!("http://127.0.0.1:{}", peer.1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let data: Vec<u8> = (0..64u64 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let total = data.len() as u64;
    let http = reqwest::Client::new();
    let initiate = format!("{base}/upload/storage/v1/b/peertest/o?uploadType=resumable&name=big.bin");
    let session = resumable::initiate(&http, &initiate, total).await.unwrap();

    // First attempt: dropped (as a killed process would be) once three chunks are committed.
    let committed = Arc::new(AtomicU64::new(0));
    let seen = committed.clone();
    let on_commit = move |offset: u64| seen.store(offset, Ordering::SeqCst);
    let cut = async {
        while committed.load(Ordering::SeqCst) < 3 * CHUNK {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        r = resumable::upload(&http, &session, &path, 0, CHUNK, Arc::new(|_| {}), &on_commit, false) => panic!("finished before the cut: {r:?}"),
        _ = cut => {}
    }

    // Resume from what the server says, not from what we think we sent.
    let Status::Committed(from) = resumable::query(&http, &session).await.unwrap() else {
        panic!("session not resumable")
    };
    assert!(from >= 3 * CHUNK && from % CHUNK == 0 && from < total, "committed {from}");
    let outcome =
        resumable::upload(&http, &session, &path, from, CHUNK, Arc::new(|_| {}), &|_| {}, false).await.unwrap();
    assert_eq!(outcome.bytes_on_wire, total - from, "bytes re-sent after the resume");
    assert_eq!(outcome.sent.size, total);
    assert_eq!(outcome.sent.sha256, hex::encode(Sha256::digest(&data)), "the hash covers the whole file");
    // Real GCS answers a finished session's status with 200; this peer with 404 (peers.md).
    let after = resumable::query(&http, &session).await.unwrap();
    assert!(matches!(after, Status::Complete | Status::Gone), "{after:?}");

    let stored = http
        .get(format!("{base}/download/storage/v1/b/peertest/o/big.bin?alt=media"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.len() as u64, total);
    assert_eq!(hex::encode(Sha256::digest(&stored)), outcome.sent.sha256, "the object on the server");
}

/// Asked before any byte, this peer answers `Range: bytes=0-0`, which read as the protocol
/// says is one byte. The upload believes it, is refused at byte 1, hears `bytes=0-0` again and
/// only then reads it as nothing: the object is whole and right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn its_bytes_0_0_before_any_byte_is_read_as_nothing_only_once_byte_1_is_refused() {
    let Some(peer) = peer() else { return };
    let base = format!("http://127.0.0.1:{}", peer.1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("early.bin");
    let data: Vec<u8> = (0..3 * (1u64 << 20) + 17).map(|i| (i.wrapping_mul(40503) >> 7) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let http = reqwest::Client::new();
    let initiate = format!("{base}/upload/storage/v1/b/peertest/o?uploadType=resumable&name=early.bin");
    let session = resumable::initiate(&http, &initiate, data.len() as u64).await.unwrap();
    let from = resumable::query(&http, &session).await.unwrap();
    assert_eq!(from, Status::Committed(1), "bytes=0-0, read literally");
    let outcome =
        resumable::upload(&http, &session, &path, 1, 1 << 20, Arc::new(|_| {}), &|_| {}, false).await.unwrap();
    assert_eq!(outcome.sent.sha256, hex::encode(Sha256::digest(&data)));
    assert_eq!(stored(&http, &base, "early.bin").await, data, "the object on the server");
}

/// A stream of unknown length goes as GCS allows it: no `x-upload-content-length`, chunks
/// `bytes S-E/*`, the total on the last one (or on `bytes */N` when the stream ends on a chunk
/// boundary). With a declared size the initiation carries it and so does every chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_with_and_without_a_declared_size_arrive_whole() {
    let Some(peer) = peer() else { return };
    let base = format!("http://127.0.0.1:{}", peer.1);
    let http = reqwest::Client::new();
    for (name, len, size) in [
        ("unknown-odd", 2 * CHUNK + 999, None),
        ("unknown-even", 2 * CHUNK, None),
        ("known-odd", 2 * CHUNK + 999, Some(2 * CHUNK + 999)),
        ("known-even", 2 * CHUNK, Some(2 * CHUNK)),
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let initiate = format!("{base}/upload/storage/v1/b/peertest/o?uploadType=resumable&name={name}");
        let outcome = resumable::upload_stream(&http, &initiate, &data[..], size, CHUNK, Arc::new(|_| {})).await;
        let outcome = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((outcome.sent.size, outcome.bytes_on_wire), (len, len), "{name}");
        assert_eq!(stored(&http, &base, name).await, data, "{name}");
    }
}

async fn stored(http: &reqwest::Client, base: &str, name: &str) -> Vec<u8> {
    let url = format!("{base}/download/storage/v1/b/peertest/o/{name}?alt=media");
    http.get(url).send().await.unwrap().bytes().await.unwrap().to_vec()
}
