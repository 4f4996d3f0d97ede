//! Upload URLs are bearer credentials: a connection cut on any service's data plane fails the
//! file, and neither the CLI's output (JSON lines, and stderr with every log on at trace
//! level) nor the journal's error columns hold the credential part of the URL it was sent to.
//! And `twindrop push` uses the engine's client, which never follows a redirect.

use std::process::{Command, Output};

use serde_json::{json, Value};
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::{Secret, TrustedTwin};

const SECRET: &str = "no-credentials-secret";

fn twindrop(dir: &std::path::Path, secret: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .arg("--journal")
        .arg(dir.join("journal.sqlite"))
        .args(args)
        .env("TWINDROP_SECRET", secret)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .env("TWINDROP_LOG", "trace")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap()
}

/// The one job's `(upload target: HBR's form answer or the upload id, upload_url, error_code, error_message)`.
fn journal_row(dir: &std::path::Path) -> (String, String, String, String) {
    let db = rusqlite::Connection::open(dir.join("journal.sqlite")).unwrap();
    db.query_row("SELECT coalesce(form_target, upload_id), upload_url, error_code, error_message FROM jobs", [], |r| {
        let text = |i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default);
        Ok((text(0)?, text(1)?, text(2)?, text(3)?))
    })
    .unwrap()
}

/// What in a job's upload target grants access: the path token (Trusted Twin, Redivis), the
/// query's signature (Inspect), the form's policy signature (HBR, whose URL is plain).
fn credentials(service: &str, handler: &str, url: &str) -> Vec<String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let found = match service {
        "trusted-twin" | "redivis" => vec![path.rsplit('/').next().unwrap().to_owned()],
        "inspect" => query.split('&').filter_map(|pair| pair.strip_prefix("sig=")).map(str::to_owned).collect(),
        "hbr" => {
            let form: Value = serde_json::from_str(handler).unwrap();
            vec![form["Signature"].as_str().unwrap().to_owned(), form["Policy"].as_str().unwrap().to_owned()]
        }
        _ => unreachable!(),
    };
    assert!(found.iter().all(|c| c.len() >= 16), "{service}: no credential found in {url} / {handler}");
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_upload_leaks_no_credential_of_its_url() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let twin = TrustedTwin::new(&base, Secret::new(SECRET)).unwrap().create_twin().await.unwrap().to_string();
    let (redivis, hbr) = (format!("{base}/api/v1"), format!("{base}/hbr"));
    let hbr_secret = format!("sandbox-key:{SECRET}");
    let cases: [(&str, &str, &str, Vec<&str>); 4] = [
        ("trusted-twin", "upload", SECRET, vec!["--base-url", &base, "--twin", &twin]),
        ("redivis", "redivis.chunk", SECRET, vec!["--base-url", &redivis, "--table", "demo.sandbox:v1.files"]),
        (
            "inspect",
            "inspect.put",
            SECRET,
            vec!["--base-url", &base, "--asset", "3fa85f64-5717-4562-b3fc-2c963f66afa6"],
        ),
        ("hbr", "oss.post", &hbr_secret, vec!["--base-url", &hbr]),
    ];
    for (service, route, secret, args) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cut.bin");
        std::fs::write(&file, vec![7u8; 300_000]).unwrap();
        em.set_faults(serde_json::from_value(json!({"rules": [{"route": route, "reset_after_bytes": 0}]})).unwrap());
        let mut all = vec!["upload", "--json", "--attempts", "2", "--service", service];
        all.extend(args.iter().copied());
        all.push(file.to_str().unwrap());
        let out = twindrop(dir.path(), secret, &all);
        assert!(!out.status.success(), "{service}: {out:?}");

        let (handler, url, code, message) = journal_row(dir.path());
        // The failure is the cut, and its message still says where it went.
        assert_eq!(code, "network.unreachable", "{service}: {message}");
        assert!(message.contains("127.0.0.1"), "{service}: {message}");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("network.unreachable"), "{service}: {stdout}");
        assert!(stderr.contains("TRACE") || stderr.contains("DEBUG"), "{service}: logs are on: {stderr}");
        for credential in credentials(service, &handler, &url) {
            for (what, text) in [("stdout", &*stdout), ("stderr", &*stderr), ("error_message", &*message)] {
                assert!(!text.contains(&credential), "{service}: {what} holds {credential:?}:\n{text}");
            }
        }
    }
    em.set_faults(serde_json::from_value(json!({"rules": []})).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_never_follows_a_redirect() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let asked: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/tables/demo.sandbox%3Av1.files/tempUploads", em.base_url()))
        .bearer_auth(SECRET)
        .json(&json!({"tempUploads": [{"name": "a.bin", "size": 1000, "resumable": true}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = asked["results"][0]["url"].as_str().unwrap().to_owned();
    let rule = json!({"rules": [{"route": "redivis.initiate", "hostile": "redirect"}]});
    em.set_faults(serde_json::from_value(rule).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.bin");
    std::fs::write(&file, vec![1u8; 1000]).unwrap();
    let out = twindrop(dir.path(), SECRET, &["push", "--json", "--resumable", &url, file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "fatal: {out:?}");
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "server.bad_response", "{error}");
    assert_eq!(em.redirect_visits(), 0, "the redirect was followed");
}
