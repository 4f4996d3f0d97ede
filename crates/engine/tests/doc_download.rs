//! Downloading a Doc (the Docs tab's "Download…", `twindrop docs download`): its link from
//! `GET /twins/{twin}/docs/{doc}?download=true`, its bytes streamed to a temporary file beside
//! the target and checked against the SHA-256 the Doc recorded; the emulator on port 0.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::service::{Service, ServiceKind};
use twindrop_engine::transfer::download::{save_url, Expect};
use twindrop_engine::{DocName, DocStatus, Secret, TrustedTwin, TwinId};

const SECRET: &str = "download-secret";

async fn emulator() -> Emulator {
    let mut config = Config::new(SECRET);
    config.copy_delay = Duration::from_millis(20);
    Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A Doc `name` holding `bytes`, attached with their hash (or none), once its copy is `ok`.
async fn doc(tt: &TrustedTwin, twin: &TwinId, name: &str, bytes: &[u8], hashed: bool) {
    let target = tt.create_upload_url().await.unwrap();
    let put = reqwest::Client::new().put(&target.url).body(bytes.to_vec()).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let name = DocName::parse(name).unwrap();
    let hash = sha256(bytes);
    tt.attach(twin, &name, &target.handler, hashed.then_some(hash.as_str())).await.unwrap();
    let doc = tt.wait_terminal(twin, &name, Duration::from_secs(10)).await.unwrap();
    assert_eq!(doc.status, DocStatus::Ok);
}

/// Everything in `dir` but `keep`: what a download left behind.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

/// The bytes saved are the Doc's, several chunks of them, checked against its recorded hash;
/// a Doc in a folder saves under the name chosen; a Doc attached without a hash is saved but
/// not called verified.
#[tokio::test]
async fn a_doc_downloads_byte_for_byte_and_is_checked() {
    let em = emulator().await;
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let big: Vec<u8> = (0..3 * 256 * 1024 + 17).map(|i| (i * 31 % 251) as u8).collect();
    doc(&tt, &twin, "reports/q3_data.bin", &big, true).await;
    doc(&tt, &twin, "loose.txt", b"no hash recorded", false).await;
    let dir = tempfile::tempdir().unwrap();

    let target = dir.path().join("q3.bin");
    let saved = tt.download_doc(&twin, "reports/q3_data.bin", &target, false).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), big);
    assert_eq!((saved.size, saved.sha256.as_str(), saved.verified), (big.len() as u64, sha256(&big).as_str(), true));
    assert_eq!(saved.path, target.display().to_string());

    let loose = dir.path().join("loose.txt");
    let saved = tt.download_doc(&twin, "loose.txt", &loose, false).await.unwrap();
    assert_eq!(std::fs::read(&loose).unwrap(), b"no hash recorded");
    assert!(!saved.verified, "nothing recorded to check against");
    assert_eq!(leftovers(dir.path(), &["q3.bin", "loose.txt"]), Vec::<String>::new());

    // The same through the service handle the app and the CLI hold.
    let service = Service::TrustedTwin(tt.into());
    let again = dir.path().join("again.bin");
    service.download_doc(&twin, "reports/q3_data.bin", &again, false).await.unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), big);
    em.shutdown().await;
}

/// A file already at the target stays untouched unless replacing it was asked for; with it,
/// it is replaced whole.
#[tokio::test]
async fn an_existing_file_is_replaced_only_when_asked() {
    let em = emulator().await;
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    doc(&tt, &twin, "a.txt", b"the Doc's bytes", true).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.txt");
    std::fs::write(&target, b"mine, longer than the Doc's bytes").unwrap();

    let refused = tt.download_doc(&twin, "a.txt", &target, false).await.unwrap_err();
    assert_eq!(refused.code(), "file.exists", "{refused}");
    assert_eq!(std::fs::read(&target).unwrap(), b"mine, longer than the Doc's bytes");

    tt.download_doc(&twin, "a.txt", &target, true).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"the Doc's bytes");
    assert_eq!(leftovers(dir.path(), &["a.txt"]), Vec::<String>::new());
    em.shutdown().await;
}

/// Bytes that do not hash to what the Doc recorded (here the link answers with junk) fail with
/// `download.checksum_mismatch`, and nothing is saved: no target, no temporary file.
#[tokio::test]
async fn bytes_that_do_not_match_the_recorded_hash_are_not_saved() {
    let em = emulator().await;
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let bytes = b"what was uploaded and recorded".to_vec();
    doc(&tt, &twin, "a.txt", &bytes, true).await;
    em.set_faults(
        serde_json::from_value(json!({"rules": [{"route": "download", "hostile": "malformed_json"}]})).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.txt");

    let err = tt.download_doc(&twin, "a.txt", &target, false).await.unwrap_err();
    assert_eq!(err.code(), "download.checksum_mismatch", "{err}");
    assert!(err.to_string().contains(&sha256(&bytes)), "names the recorded hash: {err}");
    assert!(!target.exists(), "nothing saved");
    assert_eq!(leftovers(dir.path(), &[]), Vec::<String>::new(), "no temporary file left");

    // Replacing: the file that was there stays as it was.
    std::fs::write(&target, b"kept").unwrap();
    let err = tt.download_doc(&twin, "a.txt", &target, true).await.unwrap_err();
    assert_eq!(err.code(), "download.checksum_mismatch");
    assert_eq!(std::fs::read(&target).unwrap(), b"kept");
    assert_eq!(leftovers(dir.path(), &["a.txt"]), Vec::<String>::new());
    em.shutdown().await;
}

/// A body cut off before its Content-Length leaves nothing behind either; a link that refuses
/// is `download.rejected`.
#[tokio::test]
async fn a_cut_off_or_refused_download_leaves_nothing() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&request[..n]).into_owned();
                if line.starts_with("GET /cut ") {
                    let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&[7u8; 300_000]).await;
                } else {
                    let body = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
                    let head = format!("HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n", body.len());
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                }
                // Closed here: the cut-off body ends 700,000 bytes short.
            });
        }
    });
    let http = twindrop_engine::service::http_client().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big.bin");
    let expect = Expect { name: "big.bin", sha256: None };

    let cut = save_url(&http, &format!("http://127.0.0.1:{port}/cut"), &target, expect, false).await.unwrap_err();
    assert!(["network.unreachable", "network.timeout"].contains(&cut.code()), "{}: {cut}", cut.code());
    assert!(!target.exists());
    assert_eq!(leftovers(dir.path(), &[]), Vec::<String>::new());

    let refused = save_url(&http, &format!("http://127.0.0.1:{port}/old"), &target, expect, false).await.unwrap_err();
    assert_eq!(refused.code(), "download.rejected");
    assert!(refused.to_string().contains("Request has expired"), "{refused}");
    assert_eq!(leftovers(dir.path(), &[]), Vec::<String>::new());
}

/// No link while the copy runs, nor after it failed; another service says it cannot.
#[tokio::test]
async fn no_download_while_copying_or_on_another_service() {
    let em = emulator().await;
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    em.set_faults(serde_json::from_value(json!({"rules": [{"route": "attach", "copy_ms": 60000}]})).unwrap());
    let target = tt.create_upload_url().await.unwrap();
    reqwest::Client::new().put(&target.url).body("slow").send().await.unwrap();
    let name = DocName::parse("slow.txt").unwrap();
    tt.attach(&twin, &name, &target.handler, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    let err = tt.download_doc(&twin, "slow.txt", &dir.path().join("slow.txt"), false).await.unwrap_err();
    assert_eq!(err.code(), "download.unavailable", "{err}");
    assert!(err.to_string().contains("still copying"), "{err}");
    let err = tt.download_doc(&twin, "nope.txt", &dir.path().join("nope.txt"), false).await.unwrap_err();
    assert_eq!(err.code(), "not_found", "{err}");
    assert_eq!(leftovers(dir.path(), &[]), Vec::<String>::new());

    let redivis = ServiceKind::Redivis.connect(&format!("{}/api/v1", em.base_url()), Secret::new(SECRET)).unwrap();
    let err = redivis.download_doc(&twin, "slow.txt", &dir.path().join("x"), false).await.unwrap_err();
    assert_eq!(err.code(), "service.unsupported", "{err}");
    assert!(err.to_string().contains("Trusted Twin"), "{err}");
    em.shutdown().await;
}
