//! `twindrop upload --service redivis`: a 64 MiB file in 8 MiB resumable chunks, the CLI killed
//! with SIGKILL mid-file and run again. It carries on from the byte the server has: the file
//! lands in the table once, with our MD5, and at most one chunk crossed the wire twice.
//! Run against our emulator's data plane, and against gcp-storage-emulator as the data plane.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twindrop_emulator::{Config, Emulator};

const SECRET: &str = "redivis-cli-token";
const TABLE: &str = "demo.sandbox:v1.files";
const CHUNK: u64 = 8 << 20;

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn upload(em: &Emulator, dir: &Path, file: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    cmd.args(["upload", "--json", "--service", "redivis", "--table", TABLE, "--chunk-size", "8M"])
        .args(["--resumable-above", "1M", "--base-url", &format!("{}/api/v1", em.base_url())])
        .arg("--journal")
        .arg(dir.join("journal.sqlite"))
        .arg(file)
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The committed offset the journal holds for the open session (0 if none yet).
fn committed(journal: &Path) -> u64 {
    let Ok(db) = rusqlite::Connection::open(journal) else { return 0 };
    db.query_row("SELECT committed FROM resumable", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).unwrap_or(0)
}

/// Upload, SIGKILL once the journal shows two committed chunks, upload again. Returns the
/// file's bytes and the committed offset at the kill.
async fn kill_and_resume(em: &Emulator, dir: &Path) -> (Vec<u8>, u64) {
    let file = dir.join("big.bin");
    let data: Vec<u8> = (0..64u64 << 20).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let journal = dir.join("journal.sqlite");
    let mut child = upload(em, dir, &file).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed(&journal) < 2 * CHUNK {
        assert!(Instant::now() < deadline, "no two chunks committed");
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be killed");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = committed(&journal);
    let status = upload(em, dir, &file).status().unwrap();
    assert!(status.success(), "the second run failed");
    (data, at_kill)
}

async fn table_files(em: &Emulator) -> Vec<Value> {
    let url = format!("{}/api/v1/tables/{}/rawFiles", em.base_url(), TABLE.replace(':', "%3A"));
    let v: Value = reqwest::Client::new().get(url).bearer_auth(SECRET).send().await.unwrap().json().await.unwrap();
    v["results"].as_array().unwrap().clone()
}

fn md5_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redivis_upload_resumes_inside_the_file() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    // A little latency per chunk, so the kill lands mid-file.
    em.set_faults(
        serde_json::from_value(json!({ "rules": [{ "route": "redivis.chunk", "latency_ms": 80 }] })).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (data, at_kill) = kill_and_resume(&em, dir.path()).await;
    let files = table_files(&em).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["md5Hash"], md5_b64(&data).as_str());
    let resent = em.redivis_bytes_received() - data.len() as u64;
    eprintln!("killed with {at_kill} bytes committed; {resent} bytes crossed the wire twice");
    assert!(resent <= CHUNK, "re-sent {resent} bytes, more than one chunk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_gcp_storage_emulator_as_the_data_plane() {
    let Some(bin) = std::env::var_os("TWINDROP_GCS_EMULATOR") else {
        assert!(std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"), "TWINDROP_GCS_EMULATOR is not set");
        eprintln!("skipping: TWINDROP_GCS_EMULATOR is not set (scripts/test sets it)");
        return;
    };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let args =
        ["start", "--host", "127.0.0.1", "--port", &port.to_string(), "--default-bucket", "peertest", "--in-memory"];
    let _peer = Peer(Command::new(bin).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "gcp-storage-emulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let gcs = format!("http://127.0.0.1:{port}");
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET).redivis_data_plane(&gcs, "peertest"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (data, at_kill) = kill_and_resume(&em, dir.path()).await;
    let files = table_files(&em).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["md5Hash"], md5_b64(&data).as_str(), "the object gcp-storage-emulator holds");
    eprintln!("killed with {at_kill} bytes committed at gcp-storage-emulator; the object matches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_reads_a_stream_of_unknown_length_from_stdin() {
    use std::io::Write;
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let api = format!("{}/api/v1/tables/{}", em.base_url(), TABLE.replace(':', "%3A"));
    let http = reqwest::Client::new();
    let data: Vec<u8> = (0..(5u64 << 20) + 12345).map(|i| (i % 241) as u8).collect();
    let body = json!({ "tempUploads": [{ "name": "stdin.bin", "size": data.len(), "resumable": true }] });
    let v: Value = http
        .post(format!("{api}/tempUploads"))
        .bearer_auth(SECRET)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, url) = (v["results"][0]["id"].as_str().unwrap(), v["results"][0]["url"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["push", "--json", "--chunk-size", "1M", "--resumable", url, "-"])
        .env("TWINDROP_CONFIG_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["size"], data.len() as u64);
    let body = json!({ "files": [{ "name": "stdin.bin", "tempUploadId": id }] });
    let v: Value = http
        .post(format!("{api}/rawFiles"))
        .bearer_auth(SECRET)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["results"][0]["md5Hash"], md5_b64(&data).as_str(), "{v}");
}
