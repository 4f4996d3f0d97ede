//! The `twindrop` binary end to end: `twindrop emulator` in one process, `twindrop upload` in
//! another, then the official Python client reads the Doc back. With a Secret Service on the
//! session bus (the test script provides one), the keyring login path runs as well.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const SECRET: &str = "cli-round-trip-secret";

struct EmulatorProcess {
    child: Child,
    base_url: String,
}

impl EmulatorProcess {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_twindrop"))
            .args(["emulator", "--addr", "127.0.0.1:0", "--secret", SECRET, "--copy-delay-ms", "100"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base_url = line.trim().to_owned();
        assert!(base_url.starts_with("http://127.0.0.1:"), "first line was {line:?}");
        EmulatorProcess { child, base_url }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn twindrop(config: &Path, secret: Option<&str>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    cmd.args(args)
        .env("TWINDROP_CONFIG_DIR", config)
        .env("TWINDROP_DATA_DIR", config.join("data"))
        .env_remove("TWINDROP_SECRET")
        .env_remove("TWINDROP_JOURNAL");
    if let Some(s) = secret {
        cmd.env("TWINDROP_SECRET", s);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A plain GET with the test secret (the official client's view is checked separately).
fn get_json(url: &str) -> Value {
    let out = Command::new("curl").args(["-s", "-H", &format!("Authorization: {SECRET}"), url]).output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{url}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn emulator_upload_and_the_official_client_agree() {
    let em = EmulatorProcess::start();
    let config = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("report 2026.pdf"), vec![42u8; 300_000]).unwrap();
    std::fs::write(files.path().join("notes.txt"), "hello twin").unwrap();

    let out = twindrop(config.path(), Some(SECRET), &["twin", "create", "--base-url", &em.base_url], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let twin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(twin.len(), 36);

    let a = files.path().join("report 2026.pdf");
    let b = files.path().join("notes.txt");
    let out = twindrop(
        config.path(),
        Some(SECRET),
        &["upload", "--json", "--base-url", &em.base_url, "--twin", &twin, a.to_str().unwrap(), b.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = json_lines(&out);
    lines.sort_by_key(|l| l["doc_name"].as_str().unwrap().to_owned());
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["doc_name"].as_str(), lines[0]["status"].as_str()), (Some("notes.txt"), Some("ok")));
    assert_eq!((lines[1]["doc_name"].as_str(), lines[1]["status"].as_str()), (Some("report_2026.pdf"), Some("ok")));

    // Again, with a missing file: the unchanged file is skipped, the missing one fails alone.
    let missing = files.path().join("missing.bin");
    let out = twindrop(
        config.path(),
        Some(SECRET),
        &["upload", "--base-url", &em.base_url, "--twin", &twin, b.to_str().unwrap(), missing.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("skipped") && text.contains("[file.not_found]"), "{text}");

    // Other content under a taken name: renamed, never overwritten (the default policy).
    let other = files.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "different notes").unwrap();
    let plan = twindrop(
        config.path(),
        Some(SECRET),
        &[
            "upload",
            "--dry-run",
            "--base-url",
            &em.base_url,
            "--twin",
            &twin,
            other.join("notes.txt").to_str().unwrap(),
        ],
        None,
    );
    // The plan already says so: the name is another local file's.
    let planned = String::from_utf8_lossy(&plan.stdout);
    assert!(planned.starts_with("upload  notes-1.txt") && planned.contains("notes.txt is another file's"), "{plan:?}");
    let out = twindrop(
        config.path(),
        Some(SECRET),
        &["upload", "--json", "--base-url", &em.base_url, "--twin", &twin, other.join("notes.txt").to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_lines(&out)[0]["doc_name"], "notes-1.txt");

    // Storage class and description go with the Doc; a bad description key is refused up front.
    let tagged = files.path().join("tagged.csv");
    std::fs::write(&tagged, "a,b\n1,2\n").unwrap();
    let (t, base) = (tagged.to_str().unwrap(), em.base_url.as_str());
    let args = ["upload", "--base-url", base, "--twin", &twin, "--storage-class", "cost_optimized"];
    let out = twindrop(config.path(), Some(SECRET), &[&args[..], &["--description", "Bad-Key=1", t]].concat(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[description.invalid]"), "{out:?}");
    let extra = ["--description", "team=ops", "--description", "rows=2", t];
    let out = twindrop(config.path(), Some(SECRET), &[&args[..], &extra[..]].concat(), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = get_json(&format!("{base}/twins/{twin}/docs/tagged.csv"));
    assert_eq!(doc["storage_class"], "cost_optimized");
    assert_eq!(doc["description"], serde_json::json!({ "team": "ops", "rows": 2, "original_name": "tagged.csv" }));

    let out =
        twindrop(config.path(), Some(SECRET), &["docs", "--json", "--base-url", &em.base_url, "--twin", &twin], None);
    let docs: Vec<(String, String)> = json_lines(&out)
        .iter()
        .map(|d| (d["doc_name"].as_str().unwrap().to_owned(), d["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(docs.len(), 4, "{docs:?}");
    assert!(docs.iter().all(|(_, s)| s == "ok"), "{docs:?}");
    let out = twindrop(config.path(), None, &["status", "--json"], None);
    let states: Vec<String> = json_lines(&out).iter().map(|j| j["state"].as_str().unwrap().to_owned()).collect();
    assert_eq!(states, ["done", "done", "skipped", "failed", "done", "done"]);

    let out = twindrop(config.path(), Some("wrong"), &["twin", "create", "--json", "--base-url", &em.base_url], None);
    assert_eq!(out.status.code(), Some(3), "a refused secret is fatal");
    assert_eq!(json_lines(&out)[0]["error"]["code"], "auth.unauthorized");

    official_client_sees(&em.base_url, &twin, "report_2026.pdf", 300_000);
}

/// The Doc as the official `trustedtwin` client sees it (skipped only when no Python with the
/// client is configured and TWINDROP_REQUIRE_PEERS is not set).
fn official_client_sees(base_url: &str, twin: &str, doc: &str, size: u64) {
    let Some(python) = std::env::var_os("TWINDROP_PYTHON") else {
        assert!(std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"), "TWINDROP_PYTHON is not set");
        eprintln!("skipping the official-client check: TWINDROP_PYTHON is not set");
        return;
    };
    let script = r#"
import json, sys
from trustedtwin.tt_api import TTRESTService
base, secret, twin, doc, size = sys.argv[1:]
tt = TTRESTService(tt_auth=secret, tt_base=base)
status, text = tt.get_twin_doc(twin, doc)
assert status == 200, (status, text)
body = json.loads(text)
assert body["status"] == "ok", body
assert body["creation_certificate"]["size"] == int(size), body
print(body["status"])
"#;
    let out =
        Command::new(python).args(["-c", script, base_url, SECRET, twin, doc, &size.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

/// `twindrop login` stores the secret in the Secret Service and `--profile` uploads with it.
#[test]
fn login_keeps_the_secret_in_the_keyring_only() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(std::env::var("TWINDROP_REQUIRE_KEYRING").as_deref() != Ok("1"), "no session bus for the keyring");
        eprintln!("skipping: no D-Bus session bus (run under scripts/test)");
        return;
    }
    let em = EmulatorProcess::start();
    let config = tempfile::tempdir().unwrap();
    let profile = format!("cli-test-{}", std::process::id());

    let out =
        twindrop(config.path(), None, &["login", "--profile", &profile, "--base-url", &em.base_url], Some("wrong\n"));
    assert_eq!(out.status.code(), Some(3), "a refused secret is fatal");
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth.unauthorized"));
    // The secret may come from a command or a file instead of stdin (as restic's password).
    let login = ["login", "--profile", &profile, "--base-url", &em.base_url];
    let out = twindrop(config.path(), None, &[&login[..], &["--secret-command", "echo wrong"]].concat(), None);
    assert_eq!(out.status.code(), Some(3), "the command's secret was the one checked");
    let secret_file = config.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let out =
        twindrop(config.path(), None, &[&login[..], &["--secret-file", secret_file.to_str().unwrap()]].concat(), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = twindrop(
        config.path(),
        None,
        &["login", "--profile", &profile, "--base-url", &em.base_url],
        Some(&format!("{SECRET}\n")),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let settings = std::fs::read_to_string(config.path().join("settings.json")).unwrap();
    assert!(settings.contains(&em.base_url) && !settings.contains(SECRET), "{settings}");

    let out = twindrop(config.path(), None, &["twin", "create", "--profile", &profile], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let twin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let file = config.path().join("k.txt");
    std::fs::write(&file, "keyring").unwrap();
    let out = twindrop(
        config.path(),
        None,
        &["upload", "--profile", &profile, "--twin", &twin, file.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok"));

    let out = twindrop(config.path(), None, &["logout", "--profile", &profile], None);
    assert!(out.status.success());
    let out = twindrop(config.path(), None, &["twin", "create", "--json", "--profile", &profile], None);
    assert_eq!(json_lines(&out)[0]["error"]["code"], "keyring.no_secret");
}
