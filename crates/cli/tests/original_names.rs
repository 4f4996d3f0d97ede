//! Names keep their origin: a file whose name had to change to become a Doc name keeps its own
//! name in the Doc's description (`original_name`), `twindrop docs` shows it, a description
//! that names one itself wins, `--no-original-name` leaves it out, and services without
//! descriptions are sent nothing new.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::{DocName, Secret, TrustedTwin, TwinId};

const SECRET: &str = "names-secret";

fn twindrop(dir: &Path, base: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .arg("--json")
        .args(args)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .env("TWINDROP_DATA_DIR", dir.join("data"))
        .env("TWINDROP_JOURNAL", dir.join("journal.sqlite"))
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_BASE_URL", base)
        .output()
        .unwrap()
}

async fn description(tt: &TrustedTwin, twin: &TwinId, name: &str) -> Option<Value> {
    tt.get_doc(twin, &DocName::parse(name).unwrap()).await.unwrap().description
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_file_keeps_its_own_name_in_its_doc() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let tt = TrustedTwin::new(&base, Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("in");
    std::fs::create_dir(&files).unwrap();
    let (report, polish) = (files.join("Quarterly report Q3 2026.pdf"), files.join("Zażółć gęślą jaźń.txt"));
    std::fs::write(&report, "%PDF-1.4 report").unwrap();
    std::fs::write(&polish, "pangram").unwrap();

    let out = twindrop(
        dir.path(),
        &base,
        &["upload", "--twin", twin.as_str(), report.to_str().unwrap(), polish.to_str().unwrap()],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        description(&tt, &twin, "Quarterly_report_Q3_2026.pdf").await,
        Some(json!({"original_name": "Quarterly report Q3 2026.pdf"}))
    );
    let docs = twindrop(dir.path(), &base, &["docs", "--twin", twin.as_str()]);
    let docs: Vec<Value> =
        String::from_utf8_lossy(&docs.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let polished = docs.iter().find(|d| d["doc_name"].as_str().unwrap().starts_with("Zazolc")).unwrap();
    assert_eq!(polished["original_name"], "Zażółć gęślą jaźń.txt", "{docs:?}");
    // In text, the origin is said beside a name that differs from it.
    let text = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["docs", "--twin", twin.as_str()])
        .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_BASE_URL", &base)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("(from \"Quarterly report Q3 2026.pdf\")"), "{text:?}");

    // A description of the user's own that names an original_name keeps it; the rest merge.
    let notes = files.join("my notes.txt");
    std::fs::write(&notes, "notes").unwrap();
    let args =
        ["upload", "--twin", twin.as_str(), "--description", "original_name=scan 7", "--description", "team=ops"];
    assert!(twindrop(dir.path(), &base, &[&args[..], &[notes.to_str().unwrap()]].concat()).status.success());
    assert_eq!(description(&tt, &twin, "my_notes.txt").await, Some(json!({"original_name": "scan 7", "team": "ops"})));

    // Turned off: nothing is added.
    let plain = files.join("plain copy.txt");
    std::fs::write(&plain, "plain").unwrap();
    let out = twindrop(
        dir.path(),
        &base,
        &["upload", "--no-original-name", "--twin", twin.as_str(), plain.to_str().unwrap()],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(description(&tt, &twin, "plain_copy.txt").await, None);
    em.shutdown().await;
}
