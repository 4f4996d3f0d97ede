//! After full runs against every service, with the most verbose logging, the secret is nowhere
//! on disk (config, journal with its WAL, logs) nor in the output, and the emulator never saw
//! it in a URL.

use std::path::Path;
use std::process::Command;

use twindrop_emulator::{Config, Emulator};
use twindrop_engine::{Secret, TrustedTwin};

const SECRET: &str = "s3cr3t-Zq8vRw-never-on-disk";

/// Every byte of every file under `dir`.
fn contains_anywhere(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            hits.push(entry.display().to_string());
        }
    }
    hits
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_nowhere_on_disk_after_runs_against_every_service() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let twin = TrustedTwin::new(&base, Secret::new(SECRET)).unwrap().create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(state.join("files")).unwrap();
    let file = state.join("files/report.txt");
    std::fs::write(&file, b"contents").unwrap();
    let (redivis, hbr) = (format!("{base}/api/v1"), format!("{base}/hbr"));
    let hbr_secret = format!("key-id:{SECRET}");
    let runs: [(&str, &[&str]); 4] = [
        (SECRET, &["--base-url", &base, "--twin", twin.as_str()]),
        (SECRET, &["--service", "redivis", "--base-url", &redivis, "--table", "demo.sandbox:v1.files"]),
        (SECRET, &["--service", "inspect", "--base-url", &base, "--asset", "3fa85f64-5717-4562-b3fc-2c963f66afa6"]),
        (&hbr_secret, &["--service", "hbr", "--base-url", &hbr]),
    ];
    let mut output = Vec::new();
    for (secret, args) in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_twindrop"))
            .arg("--journal")
            .arg(state.join("journal.sqlite"))
            .args(["upload", "--json"])
            .args(args)
            .arg(&file)
            .env("TWINDROP_SECRET", secret)
            .env("TWINDROP_LOG", "trace")
            .env("TWINDROP_CONFIG_DIR", state.join("config"))
            .env("TWINDROP_DATA_DIR", state.join("data"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        output.extend(out.stdout);
        output.extend(out.stderr);
    }
    std::fs::write(state.join("output.log"), &output).unwrap();
    assert!(output.len() > 10_000, "trace logging produced little output; the check would be weak");
    let hits = contains_anywhere(&state, SECRET.as_bytes());
    assert!(hits.is_empty(), "the secret is in {hits:?}");
    assert_eq!(em.secrets_on_urls(), 0);
}
