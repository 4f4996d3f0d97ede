//! `twindrop docs download TWIN DOC [-o PATH]`: the app's "Download…" from the command line,
//! through the same engine call (`Service::download_doc`).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::{Secret, TrustedTwin};

const SECRET: &str = "download-cli-secret";

fn twindrop(dir: &Path, cwd: &Path, base: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .arg("--json")
        .args(args)
        .current_dir(cwd)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .env("TWINDROP_DATA_DIR", dir.join("data"))
        .env("TWINDROP_JOURNAL", dir.join("journal.sqlite"))
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_BASE_URL", base)
        .output()
        .unwrap()
}

fn line(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_download_saves_the_checked_bytes_and_never_overwrites_unasked() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let tt = TrustedTwin::new(&base, Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (home, work) = (dir.path().join("home"), dir.path().join("work"));
    std::fs::create_dir_all(&work).unwrap();
    let source = dir.path().join("Quarterly report.pdf");
    let bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&source, &bytes).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    let up = twindrop(&home, &work, &base, &["upload", "--twin", twin.as_str(), source.to_str().unwrap()]);
    assert!(up.status.success(), "{up:?}");
    let doc = "Quarterly_report.pdf";

    // -o PATH
    let target = dir.path().join("copy.pdf");
    let out = twindrop(&home, &work, &base, &["docs", "download", twin.as_str(), doc, "-o", target.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert_eq!(
        line(&out),
        json!({"doc_name": doc, "path": target.display().to_string(), "size": bytes.len(), "sha256": sha,
               "verified": true})
    );

    // No -o: the Doc's name in the current folder.
    let out = twindrop(&home, &work, &base, &["docs", "download", twin.as_str(), doc]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(work.join(doc)).unwrap(), bytes);

    // A file there already: refused (a usage error, code file.exists) and left as it was,
    // unless --force.
    std::fs::write(&target, b"mine").unwrap();
    let out = twindrop(&home, &work, &base, &["docs", "download", twin.as_str(), doc, "-o", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(line(&out)["error"]["code"], "file.exists");
    assert_eq!(std::fs::read(&target).unwrap(), b"mine");
    let forced = ["docs", "download", "--force", twin.as_str(), doc, "-o", target.to_str().unwrap()];
    let out = twindrop(&home, &work, &base, &forced);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(&target).unwrap(), bytes);

    // Bytes that do not match the recorded hash: a coded failure, nothing saved.
    em.set_faults(
        serde_json::from_value(json!({"rules": [{"route": "download", "hostile": "malformed_json"}]})).unwrap(),
    );
    let bad = dir.path().join("bad.pdf");
    let out = twindrop(&home, &work, &base, &["docs", "download", twin.as_str(), doc, "-o", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(line(&out)["error"]["code"], "download.checksum_mismatch");
    assert!(!bad.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().ends_with(".part")), "{left:?}");

    // The listing is still `twindrop docs --twin`.
    let out = twindrop(&home, &work, &base, &["docs", "--twin", twin.as_str()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(line(&out)["doc_name"], doc);
    em.shutdown().await;
}
