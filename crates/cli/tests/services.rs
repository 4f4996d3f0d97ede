//! `twindrop upload --service …` for each service other than Trusted Twin, end to end against
//! the emulator: the JSON lines say `ok`, the exit code is 0, and a destination flag that does
//! not fit the service is refused with a clear code.

use std::process::{Command, Output};

use serde_json::Value;
use twindrop_emulator::{Config, Emulator};

const SECRET: &str = "services-secret";

fn twindrop(dir: &std::path::Path, secret: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["--journal"])
        .arg(dir.join("journal.sqlite"))
        .args(args)
        .env("TWINDROP_SECRET", secret)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .output()
        .unwrap()
}

fn finished(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("status").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_uploads_from_the_cli() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photo.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR plus some bytes").unwrap();
    let file = file.to_str().unwrap();
    let hbr_secret = format!("sandbox-key:{SECRET}");
    let (redivis, hbr) = (format!("{base}/api/v1"), format!("{base}/hbr"));
    let cases: [(&str, &str, Vec<&str>); 3] = [
        ("redivis", SECRET, vec!["--base-url", &redivis, "--table", "demo.sandbox:v1.files"]),
        ("inspect", SECRET, vec!["--base-url", &base, "--asset", "3fa85f64-5717-4562-b3fc-2c963f66afa6"]),
        ("hbr", &hbr_secret, vec!["--base-url", &hbr]),
    ];
    for (service, secret, args) in cases {
        let mut all = vec!["upload", "--json", "--service", service];
        all.extend(args.iter().copied());
        all.push(file);
        let out = twindrop(dir.path(), secret, &all);
        assert!(out.status.success(), "{service}: {out:?}");
        let lines = finished(&out);
        assert_eq!(lines.len(), 1, "{service}: {lines:?}");
        assert_eq!(lines[0]["status"], "ok", "{service}: {lines:?}");
    }
    // The PNG went to Inspect as a PNG (sniffed, not guessed).
    let files: Value = reqwest::Client::new()
        .get(format!("{base}/api/inspect/v1/assets/3fa85f64-5717-4562-b3fc-2c963f66afa6/files"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(files["data"][0]["contentType"], "image/png", "{files}");

    let out = twindrop(
        dir.path(),
        &hbr_secret,
        &["upload", "--json", "--service", "hbr", "--base-url", &base, "--twin", "x", file],
    );
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "option.invalid", "{error}");
    let out = twindrop(dir.path(), "no-colon", &["upload", "--json", "--service", "hbr", "--base-url", &base, file]);
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "secret.invalid", "an HBR secret without its key id: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hbr_upload_no_checksum_vouched_for_says_unverified_and_exits_1() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let plan = serde_json::json!({"rules": [{"route": "oss.post", "oss_checksums": "no_checksum"}]});
    em.set_faults(serde_json::from_value(plan).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"delivered, but nobody said which bytes").unwrap();
    let hbr = format!("{}/hbr", em.base_url());
    let args = ["upload", "--json", "--service", "hbr", "--base-url", &hbr, file.to_str().unwrap()];
    let out = twindrop(dir.path(), &format!("sandbox-key:{SECRET}"), &args);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = finished(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], "unverified", "{lines:?}");
    assert_eq!(em.call_count("oss.post"), 1, "delivered once, not sent again");
}
