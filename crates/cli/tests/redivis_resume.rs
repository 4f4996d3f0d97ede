//! `twindrop upload --service redivis`: a 64 MiB file in 8 MiB resumable chunks, the CLI killed
//! with SIGKILL mid-file and run again. It carries on from the byte the server has: the file
//! lands in the table once, with our MD5, and at most one chunk crossed the wire twice.
//! Run against our emulator's data plane, its chunks answered as GCS does and as seed 002 says
//! (`ChunkAnswers`), and against gcp-storage-emulator as the data plane. Also `twindrop push -`
//! into a temp upload, with the size the seed requires, and the emulator's
//! `--redivis-chunk-answers` flag.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twindrop_emulator::{ChunkAnswers, Config, Emulator};

const SECRET: &str = "redivis-cli-token";
const TABLE: &str = "demo.sandbox:v1.files";
const CHUNK: u64 = 8 << 20;
const MODES: [ChunkAnswers; 2] = [ChunkAnswers::Gcs, ChunkAnswers::Seed];

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
    for answers in MODES {
        let config = Config::new(SECRET).redivis_chunk_answers(answers);
        let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
        // A little latency per chunk, so the kill lands mid-file.
        em.set_faults(
            serde_json::from_value(json!({ "rules": [{ "route": "redivis.chunk", "latency_ms": 80 }] })).unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let (data, at_kill) = kill_and_resume(&em, dir.path()).await;
        let files = table_files(&em).await;
        assert_eq!(files.len(), 1, "{answers:?}: {files:?}");
        assert_eq!(files[0]["md5Hash"], md5_b64(&data).as_str(), "{answers:?}");
        let resent = em.redivis_bytes_received() - data.len() as u64;
        eprintln!("{answers:?}: killed with {at_kill} bytes committed; {resent} bytes crossed the wire twice");
        assert!(resent <= CHUNK, "{answers:?}: re-sent {resent} bytes, more than one chunk");
    }
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

/// A resumable temp upload of `size` bytes on `base`'s Redivis: its id and URL.
async fn temp_upload(base: &str, name: &str, size: u64) -> (String, String) {
    let api = format!("{base}/api/v1/tables/{}", TABLE.replace(':', "%3A"));
    let body = json!({ "tempUploads": [{ "name": name, "size": size, "resumable": true }] });
    let http = reqwest::Client::new();
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
    (v["results"][0]["id"].as_str().unwrap().to_owned(), v["results"][0]["url"].as_str().unwrap().to_owned())
}

/// `twindrop push --json [--size N] --resumable URL -` with `data` on stdin.
fn push_stdin(url: &str, size: Option<u64>, data: &[u8]) -> std::process::Output {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    cmd.args(["push", "--json", "--chunk-size", "1M", "--resumable", url]);
    if let Some(size) = size {
        cmd.args(["--size", &size.to_string()]);
    }
    let mut child = cmd
        .arg("-")
        .env("TWINDROP_CONFIG_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A push that fails before reading all of stdin (a refused initiation) closes it early.
    let _ = child.stdin.take().unwrap().write_all(data);
    child.wait_with_output().unwrap()
}

async fn raw_file_md5(base: &str, name: &str, id: &str) -> Value {
    let api = format!("{base}/api/v1/tables/{}", TABLE.replace(':', "%3A"));
    let body = json!({ "files": [{ "name": name, "tempUploadId": id }] });
    let http = reqwest::Client::new();
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
    v["results"][0]["md5Hash"].clone()
}

/// `push -` into a Redivis temp upload: with `--size` (the size it was created with), the
/// initiation carries `x-upload-content-length` as seed 002 requires, and the bytes arrive whole
/// whichever way the chunks are answered. Without it the emulator refuses the initiation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_reads_a_stream_from_stdin_given_its_size() {
    let data: Vec<u8> = (0..(5u64 << 20) + 12345).map(|i| (i % 241) as u8).collect();
    let size = data.len() as u64;
    for answers in MODES {
        let config = Config::new(SECRET).redivis_chunk_answers(answers);
        let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
        let (id, url) = temp_upload(em.base_url(), "stdin.bin", size).await;
        let out = push_stdin(&url, Some(size), &data);
        assert!(out.status.success(), "{answers:?}: {out:?}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["size"], size, "{answers:?}");
        assert_eq!(raw_file_md5(em.base_url(), "stdin.bin", &id).await, md5_b64(&data).as_str(), "{answers:?}");

        let (_, url) = temp_upload(em.base_url(), "nosize.bin", size).await;
        let out = push_stdin(&url, None, &data);
        assert!(!out.status.success(), "{answers:?}: a stream without --size was taken");
        let error: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(error["error"]["code"], "upload.rejected", "{error}");
        assert!(error["error"]["message"].as_str().unwrap().contains("x-upload-content-length"), "{error}");
        let (_, url) = temp_upload(em.base_url(), "short.bin", size).await;
        let out = push_stdin(&url, Some(size), &data[..1000]);
        let error: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(error["error"]["code"], "file.changed", "a stream shorter than --size: {error}");
    }
}

/// `twindrop emulator --redivis-chunk-answers seed`: a chunk taken before the end is answered
/// 200 with an empty body, and `twindrop upload` still lands a multi-chunk file whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_flag_answers_chunks_as_the_seed_says() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["emulator", "--secret", SECRET, "--redivis-chunk-answers", "seed"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _process = Peer(child);
    let base = line.trim().to_owned();

    let (_, url) = temp_upload(&base, "raw.bin", 3 << 18).await;
    let http = reqwest::Client::new();
    let started = http
        .post(&url)
        .header("x-goog-resumable", "start")
        .header("x-upload-content-length", 3 << 18)
        .send()
        .await
        .unwrap();
    let session = started.headers()["location"].to_str().unwrap().to_owned();
    let range = format!("bytes 0-{}/{}", (1 << 18) - 1, 3 << 18);
    let chunk = http.put(&session).header("Content-Range", range).body(vec![1u8; 1 << 18]).send().await.unwrap();
    assert_eq!(chunk.status(), reqwest::StatusCode::OK);
    assert_eq!(chunk.text().await.unwrap(), "");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seed.bin");
    let data: Vec<u8> = (0..(3u64 << 20) + 7).map(|i| (i % 239) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["upload", "--json", "--service", "redivis", "--table", TABLE, "--chunk-size", "1M"])
        .args(["--resumable-above", "1M", "--base-url", &format!("{base}/api/v1")])
        .arg("--journal")
        .arg(dir.path().join("journal.sqlite"))
        .arg(&file)
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let url = format!("{base}/api/v1/tables/{}/rawFiles", TABLE.replace(':', "%3A"));
    let v: Value = http.get(url).bearer_auth(SECRET).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["results"][0]["md5Hash"], md5_b64(&data).as_str(), "{v}");
}
