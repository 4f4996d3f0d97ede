//! What the app can do, the CLI can do, through the same engine call: sign in to every service
//! with the secret checked before it is stored (`account::login_service`, as `App::sign_in`),
//! and send a Doc whose copy went wrong again (`Queue::resend_doc`, the app's "Send again").

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::service::trusted_twin::DocStatus;
use twindrop_engine::{DocName, Secret, TrustedTwin};

const SECRET: &str = "parity-secret";

fn twindrop(dir: &Path, secret: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    cmd.args(args)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .env("TWINDROP_DATA_DIR", dir.join("data"))
        .env("TWINDROP_JOURNAL", dir.join("journal.sqlite"))
        .env_remove("TWINDROP_SECRET");
    if let Some(s) = secret {
        cmd.env("TWINDROP_SECRET", s);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn settings(dir: &Path) -> Value {
    std::fs::read_to_string(dir.join("config/settings.json"))
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(Value::Null)
}

/// Redivis and Inspect tokens are checked on their destination, HBR's key pair by a signed
/// call: a wrong secret is refused and nothing is stored; a missing destination is a usage
/// error; a right one is stored with the destination remembered for the profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_verified_for_every_service() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(std::env::var("TWINDROP_REQUIRE_KEYRING").as_deref() != Ok("1"), "no session bus for the keyring");
        eprintln!("skipping: no D-Bus session bus (run under scripts/test)");
        return;
    }
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (redivis, hbr) = (format!("{base}/api/v1"), format!("{base}/hbr"));
    let table = "demo.sandbox:v1.files";
    let asset = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let run = std::process::id();
    let cases = [
        ("redivis", redivis.as_str(), vec!["--table", table], SECRET.to_owned(), Some(table)),
        ("inspect", base.as_str(), vec!["--asset", asset], SECRET.to_owned(), Some(asset)),
        ("hbr", hbr.as_str(), vec![], format!("sandbox-key:{SECRET}"), None),
    ];
    for (service, url, dest, secret, remembered) in cases {
        let profile = format!("parity-{service}-{run}");
        let login = ["login", "--json", "--service", service, "--profile", &profile, "--base-url", url];
        let wrong = format!("{}-wrong", secret);
        let out = twindrop(dir.path(), None, &[&login[..], &dest[..]].concat(), &wrong);
        assert_eq!(out.status.code(), Some(3), "{service}: a refused secret is fatal: {out:?}");
        assert!(settings(dir.path())["profiles"].get(&profile).is_none(), "{service}: a refused secret is not kept");
        if !dest.is_empty() {
            let out = twindrop(dir.path(), None, &login, &secret);
            assert_eq!(out.status.code(), Some(2), "{service}: its check needs the destination: {out:?}");
            assert_eq!(json_lines(&out)[0]["error"]["code"], "destination.invalid", "{service}");
        }
        let out = twindrop(dir.path(), None, &[&login[..], &dest[..]].concat(), &secret);
        assert!(out.status.success(), "{service}: {out:?}");
        assert!(json_lines(&out)[0]["account"].is_string(), "{service}: the check says who we are");
        let saved = &settings(dir.path())["profiles"][&profile];
        let recent = saved["recent_twins"].as_array().cloned().unwrap_or_default();
        assert_eq!(recent.first().and_then(Value::as_str), remembered, "{service}: {saved}");
        let out = twindrop(dir.path(), None, &["logout", "--profile", &profile], "");
        assert!(out.status.success(), "{service}: {out:?}");
    }
    em.shutdown().await;
}

/// `twindrop resend` sends a Doc whose copy ended `hash_mismatch` again from the file it came
/// from; a Doc that is `ok`, or one Twindrop never sent, is refused by name while the others go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doc_whose_copy_went_wrong_is_sent_again() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let tt = TrustedTwin::new(&base, Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&a, "the bytes meant for a").unwrap();
    std::fs::write(&b, "the bytes meant for b").unwrap();
    let up = ["upload", "--json", "--base-url", &base, "--twin", twin.as_str()];
    let out = twindrop(dir.path(), Some(SECRET), &[&up[..], &[a.to_str().unwrap(), b.to_str().unwrap()]].concat(), "");
    assert!(out.status.success(), "{out:?}");

    // a.txt's Doc is replaced, behind Twindrop's back, by a copy that ends hash_mismatch.
    let name = DocName::parse("a.txt").unwrap();
    tt.delete_doc(&twin, &name).await.unwrap();
    let target = tt.create_upload_url().await.unwrap();
    tt.upload(&target, &a, Arc::new(|_| {}), None).await.unwrap();
    tt.attach(&twin, &name, &target.handler, Some(&"0".repeat(64))).await.unwrap();
    let doc = tt.wait_terminal(&twin, &name, Duration::from_secs(10)).await.unwrap();
    assert_eq!(doc.status, DocStatus::HashMismatch);

    let resend = ["resend", "--json", "--base-url", &base, "--twin", twin.as_str()];
    let out = twindrop(dir.path(), Some(SECRET), &[&resend[..], &["a.txt", "b.txt", "never.txt"]].concat(), "");
    assert_eq!(out.status.code(), Some(1), "two of three could not be sent again: {out:?}");
    let lines = json_lines(&out);
    let line = |n: &str| lines.iter().find(|l| l["doc_name"] == n).unwrap_or_else(|| panic!("{n}: {lines:?}"));
    assert_eq!(line("a.txt")["status"], "ok", "{lines:?}");
    assert_eq!(line("b.txt")["error"]["code"], "retry.refused", "an ok Doc stays as it is: {lines:?}");
    assert_eq!(line("never.txt")["status"], "failed", "{lines:?}");
    let doc = tt.get_doc(&twin, &name).await.unwrap();
    let (ours, _) = twindrop_engine::hash::sha256_file(&a).await.unwrap();
    assert_eq!(doc.sha256(), Some(ours.as_str()));
    assert_eq!(doc.status, DocStatus::Ok);
    em.shutdown().await;
}

/// A job whose file is gone offers Remove and Locate… in the app; `twindrop retry --remove ID`
/// and `--locate ID=PATH` are the same engine calls: the removed job is never retried, the
/// located one sends the file from its new place under the Doc name it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_file_is_gone_is_removed_or_located() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let tt = TrustedTwin::new(&base, Secret::new(SECRET)).unwrap();
    let twin = tt.create_twin().await.unwrap();
    let (dropped, moved) = (dir.path().join("dropped.txt"), dir.path().join("moved.txt"));
    let conn = ["--json", "--base-url", &base];
    let up = [&["upload"], &conn[..], &["--twin", twin.as_str()]].concat();
    let out = twindrop(
        dir.path(),
        Some(SECRET),
        &[&up[..], &[dropped.to_str().unwrap(), moved.to_str().unwrap()]].concat(),
        "",
    );
    assert_eq!(out.status.code(), Some(1), "neither file is there: {out:?}");
    let status = twindrop(dir.path(), None, &["status", "--json"], "");
    let jobs = json_lines(&status);
    let id_of = |path: &Path| {
        let job = jobs.iter().find(|j| j["path"] == path.to_str().unwrap()).unwrap_or_else(|| panic!("{jobs:?}"));
        assert_eq!((job["state"].as_str(), job["error_code"].as_str()), (Some("failed"), Some("file.not_found")));
        job["id"].as_u64().unwrap()
    };
    let (removed, located) = (id_of(&dropped), id_of(&moved));

    let out =
        twindrop(dir.path(), Some(SECRET), &[&["retry"], &conn[..], &["--remove", &removed.to_string()]].concat(), "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json_lines(&out)[0]["removed"], removed);
    let again =
        twindrop(dir.path(), Some(SECRET), &[&["retry"], &conn[..], &["--remove", &removed.to_string()]].concat(), "");
    assert_eq!(again.status.code(), Some(2), "removed once: {again:?}");

    let elsewhere = dir.path().join("elsewhere").join("moved, renamed.txt");
    std::fs::create_dir(elsewhere.parent().unwrap()).unwrap();
    std::fs::write(&elsewhere, "found again, in another folder").unwrap();
    let spec = format!("{located}={}", elsewhere.display());
    let out = twindrop(dir.path(), Some(SECRET), &[&["retry"], &conn[..], &["--locate", &spec]].concat(), "");
    assert!(out.status.success(), "{out:?}");
    let doc = tt.get_doc(&twin, &DocName::parse("moved.txt").unwrap()).await.unwrap();
    let (ours, _) = twindrop_engine::hash::sha256_file(&elsewhere).await.unwrap();
    assert_eq!(doc.sha256(), Some(ours.as_str()));
    assert_eq!(doc.status, DocStatus::Ok);

    // A plain retry of every failed job finds none: the removed one stays removed.
    let out = twindrop(dir.path(), Some(SECRET), &[&["retry"], &conn[..]].concat(), "");
    assert!(out.status.success(), "{out:?}");
    let jobs = json_lines(&twindrop(dir.path(), None, &["status", "--json"], ""));
    let state = |id: u64| jobs.iter().find(|j| j["id"] == id).unwrap()["state"].as_str().unwrap().to_owned();
    assert_eq!((state(removed), state(located)), ("cancelled".into(), "done".into()));
    assert!(tt.get_doc(&twin, &DocName::parse("dropped.txt").unwrap()).await.is_err(), "never sent");
    em.shutdown().await;
}
