//! `twindrop verify` through the real binary against the emulator: every verdict made by a
//! scenario (a file changed after upload, a Doc deleted on the server, a Doc added by another
//! client, a `hash_mismatch` Doc made with the `corrupt` fault), receipts in both forms that
//! round-trip and give away tampering, `--trust-cache`, Redivis's MD5, and the services that
//! cannot be verified saying so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use twindrop_emulator::{Config, Emulator, FaultPlan};
use twindrop_engine::service::trusted_twin::DocStatus;
use twindrop_engine::{DocName, Secret, TrustedTwin};

const SECRET: &str = "verify-secret";

/// The binary with `--json`; the service and its address through their variables (every flag
/// has one).
fn twindrop(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .arg("--json")
        .args(args)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .env("TWINDROP_DATA_DIR", dir.join("data"))
        .env("TWINDROP_JOURNAL", dir.join("journal.sqlite"))
        .env("TWINDROP_SECRET", SECRET)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// name → verdict of a `verify --json` run, and its summary line.
fn verdicts(out: &Output) -> (std::collections::BTreeMap<String, String>, Value) {
    let all = lines(out);
    let rows = all
        .iter()
        .filter(|l| l["type"] == "row")
        .map(|l| (l["name"].as_str().unwrap().to_owned(), l["verdict"].as_str().unwrap().to_owned()))
        .collect();
    let summary = all.iter().find(|l| l["type"] == "summary").cloned().unwrap_or_else(|| panic!("no summary: {out:?}"));
    (rows, summary)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct World {
    em: Emulator,
    tt: TrustedTwin,
    twin: String,
    dir: tempfile::TempDir,
    folder: PathBuf,
}

impl World {
    async fn new() -> World {
        let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
        let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
        let twin = tt.create_twin().await.unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir(&folder).unwrap();
        World { em, tt, twin, dir, folder }
    }

    fn run(&self, args: &[&str]) -> Output {
        twindrop(self.dir.path(), &[("TWINDROP_BASE_URL", self.em.base_url())], args)
    }

    fn verify(&self, extra: &[&str]) -> Output {
        self.run(&[&["verify", "--twin", &self.twin, s(&self.folder)][..], extra].concat())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verdict_comes_from_a_real_scenario_and_receipts_round_trip() {
    let w = World::new().await;
    for name in ["changed.txt", "deleted.txt", "mismatch.txt", "same.txt"] {
        std::fs::write(w.folder.join(name), format!("the original bytes of {name}")).unwrap();
    }
    let out = w.run(&["upload", "--twin", &w.twin, s(&w.folder)]);
    assert!(out.status.success(), "{out:?}");

    let (rows, summary) = verdicts(&w.verify(&[]));
    assert!(rows.values().all(|v| v == "match"), "{rows:?}");
    assert_eq!(rows.len(), 4);
    assert_eq!(summary["inStep"], true);

    let twin = twindrop_engine::TwinId::parse(&w.twin).unwrap();
    // Changed after upload: same name, other bytes (and size).
    std::fs::write(w.folder.join("changed.txt"), "edited after it was sent").unwrap();
    // Deleted on the server.
    w.tt.delete_doc(&twin, &DocName::parse("data/deleted.txt").unwrap()).await.unwrap();
    // Added by another client.
    let other = w.dir.path().join("other.txt");
    std::fs::write(&other, "a colleague's file").unwrap();
    let (sha, _) = twindrop_engine::hash::sha256_file(&other).await.unwrap();
    let target = w.tt.create_upload_url().await.unwrap();
    w.tt.upload(&target, &other, Arc::new(|_| {}), None).await.unwrap();
    w.tt.attach(&twin, &DocName::parse("data/colleague.txt").unwrap(), &target.handler, Some(&sha)).await.unwrap();
    // Sent again by another client through a data plane that damages the bytes: hash_mismatch.
    let mismatch = DocName::parse("data/mismatch.txt").unwrap();
    w.tt.delete_doc(&twin, &mismatch).await.unwrap();
    let plan: FaultPlan =
        serde_json::from_value(json!({"rules": [{"route": "upload", "nth": [1], "corrupt": true}]})).unwrap();
    w.em.set_faults(plan);
    let file = w.folder.join("mismatch.txt");
    let (sha, _) = twindrop_engine::hash::sha256_file(&file).await.unwrap();
    let target = w.tt.create_upload_url().await.unwrap();
    w.tt.upload(&target, &file, Arc::new(|_| {}), None).await.unwrap();
    w.tt.attach(&twin, &mismatch, &target.handler, Some(&sha)).await.unwrap();
    let doc = w.tt.wait_terminal(&twin, &mismatch, Duration::from_secs(10)).await.unwrap();
    assert_eq!(doc.status, DocStatus::HashMismatch);
    // Never sent.
    std::fs::write(w.folder.join("new.txt"), "written after the upload").unwrap();

    let receipt = w.dir.path().join("receipt.json");
    let out = w.verify(&["--receipt", s(&receipt)]);
    assert_eq!(out.status.code(), Some(1), "a difference exits 1: {out:?}");
    let (rows, summary) = verdicts(&out);
    let want = [
        ("data/changed.txt", "differs"),
        ("data/deleted.txt", "not_on_server"),
        ("data/colleague.txt", "only_on_server"),
        ("data/mismatch.txt", "not_ok"),
        ("data/same.txt", "match"),
        ("data/new.txt", "not_on_server"),
    ];
    for (name, verdict) in want {
        assert_eq!(rows.get(name).map(String::as_str), Some(verdict), "{name}: {rows:?}");
    }
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    assert_eq!(
        summary["counts"],
        json!({"match": 1, "differs": 1, "notOnServer": 2, "onlyOnServer": 1, "notOk": 1, "unreadable": 0})
    );
    // Both hashes are shown for a file that differs.
    let row = lines(&out).into_iter().find(|l| l["name"] == "data/changed.txt").unwrap();
    let (here, there) = (row["local"]["sha256"].as_str().unwrap(), row["server"]["digest"]["hex"].as_str().unwrap());
    assert_ne!(here, there);
    assert_eq!(here.len(), 64);

    // The receipt: every file and Doc, sealed with its own hash.
    let text = std::fs::read_to_string(&receipt).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["format"], "twindrop-receipt/1");
    assert_eq!(r["destination"], w.twin);
    assert_eq!(r["entries"].as_array().unwrap().len(), want.len());
    let same = r["entries"].as_array().unwrap().iter().find(|e| e["name"] == "data/same.txt").unwrap();
    assert_eq!(same["status"], "ok");
    assert_eq!(same["sha256"], same["server_digest"]);
    assert!(same["certificate"]["creator"].is_string() && same["certificate"]["created_ts"].is_number(), "{same}");
    assert!(same["path"].as_str().unwrap().ends_with("data/same.txt"));
    assert_eq!(r["sha256"].as_str().unwrap().len(), 64);

    // Checked again at once: nothing changed.
    let out = w.run(&["verify", "--receipt", s(&receipt)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary = lines(&out).into_iter().find(|l| l["type"] == "summary").unwrap();
    assert_eq!((summary["unchanged"].as_u64(), summary["changed"].as_u64()), (Some(6), Some(0)), "{summary}");

    // What changes since is said exactly: a local edit, a Doc gone from the server, a new Doc.
    std::fs::write(w.folder.join("same.txt"), "no longer the same").unwrap();
    w.tt.delete_doc(&twin, &DocName::parse("data/colleague.txt").unwrap()).await.unwrap();
    let target = w.tt.create_upload_url().await.unwrap();
    w.tt.upload(&target, &other, Arc::new(|_| {}), None).await.unwrap();
    let (sha, _) = twindrop_engine::hash::sha256_file(&other).await.unwrap();
    w.tt.attach(&twin, &DocName::parse("later.txt").unwrap(), &target.handler, Some(&sha)).await.unwrap();
    let out = w.run(&["verify", "--receipt", s(&receipt)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let changes: Vec<(String, String)> = lines(&out)
        .iter()
        .filter(|l| l["type"] == "change")
        .map(|l| (l["kind"].as_str().unwrap().to_owned(), l["name"].as_str().unwrap().to_owned()))
        .collect();
    for want in [
        ("changed_locally", "data/same.txt"),
        ("gone_from_server", "data/colleague.txt"),
        ("new_on_server", "later.txt"),
    ] {
        assert!(changes.contains(&(want.0.to_owned(), want.1.to_owned())), "{want:?} in {changes:?}");
    }
    assert_eq!(changes.len(), 3, "{changes:?}");
    // Against the server only, the local edit is not looked at.
    let out = w.run(&["verify", "--receipt", s(&receipt), "--against", "server"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("changed_locally"), "{out:?}");

    // A tampered receipt is refused through its own hash, by code.
    let tampered = text.replacen("data/same.txt", "data/Same.txt", 1);
    std::fs::write(&receipt, tampered).unwrap();
    let out = w.run(&["verify", "--receipt", s(&receipt)]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(lines(&out)[0]["error"]["code"], "receipt.tampered", "{out:?}");

    // The CSV form round-trips too, and gives tampering away the same way.
    let csv = w.dir.path().join("receipt.csv");
    assert_eq!(w.verify(&["--receipt", s(&csv)]).status.code(), Some(1));
    let out = w.run(&["verify", "--receipt", s(&csv), "--against", "local"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("format,service,base_url,destination,"), "{text}");
    std::fs::write(&csv, text.replacen(",not_on_server,", ",match,", 1)).unwrap();
    let out = w.run(&["verify", "--receipt", s(&csv)]);
    assert_eq!(lines(&out)[0]["error"]["code"], "receipt.tampered", "{out:?}");
    w.em.shutdown().await;
}

/// `--trust-cache` reads only what changed since the journal verified it; without it every
/// byte is read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_cache_reads_only_what_changed() {
    let w = World::new().await;
    for name in ["a.txt", "b.txt", "c.txt"] {
        std::fs::write(w.folder.join(name), format!("bytes of {name}")).unwrap();
    }
    assert!(w.run(&["upload", "--twin", &w.twin, s(&w.folder)]).status.success());
    let cached = |out: &Output| -> std::collections::BTreeMap<String, bool> {
        lines(out)
            .iter()
            .filter(|l| l["type"] == "row")
            .map(|l| (l["name"].as_str().unwrap().to_owned(), l["local"]["cached"].as_bool().unwrap()))
            .collect()
    };
    // Sent and found ok: the journal vouches for all three.
    let out = w.verify(&["--trust-cache"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(cached(&out).values().all(|c| *c), "{out:?}");
    // Without the flag, everything is read.
    let out = w.verify(&[]);
    assert!(cached(&out).values().all(|c| !c), "{out:?}");
    // A changed file is read again, and found to differ.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(w.folder.join("b.txt"), "other bytes of b.txt, longer").unwrap();
    let out = w.verify(&["--trust-cache"]);
    assert_eq!(out.status.code(), Some(1));
    let by_name = cached(&out);
    assert_eq!((by_name["data/a.txt"], by_name["data/b.txt"]), (true, false), "{out:?}");
    assert_eq!(verdicts(&out).0["data/b.txt"], "differs");
    w.em.shutdown().await;
}

/// Redivis keeps an MD5 of each file of a table: verified against it. Inspect and HBR cannot
/// be read back: `verify.unsupported`, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redivis_is_verified_by_md5_and_the_others_say_why_not() {
    let w = World::new().await;
    let base = w.em.base_url().to_owned();
    let redivis = format!("{base}/api/v1");
    let table = "demo.sandbox:v1.files";
    std::fs::write(w.folder.join("r.bin"), vec![7u8; 70_000]).unwrap();
    std::fs::write(w.folder.join("s.bin"), vec![8u8; 10]).unwrap();
    let run = |args: &[&str]| {
        twindrop(w.dir.path(), &[("TWINDROP_SERVICE", "redivis"), ("TWINDROP_BASE_URL", &redivis)], args)
    };
    assert!(run(&["upload", "--table", table, s(&w.folder)]).status.success());
    let out = run(&["verify", "--table", table, s(&w.folder)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary = verdicts(&out).1;
    assert_eq!((summary["algorithm"].as_str(), summary["counts"]["match"].as_u64()), (Some("md5"), Some(2)));
    std::fs::write(w.folder.join("s.bin"), vec![9u8; 10]).unwrap();
    let out = run(&["verify", "--table", table, s(&w.folder)]);
    assert_eq!(verdicts(&out).0["data/s.bin"], "differs", "{out:?}");

    let asset = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let hbr = format!("{base}/hbr");
    let hbr_secret = format!("sandbox-key:{SECRET}");
    for (service, url, dest, secret) in
        [("inspect", base.as_str(), vec!["--asset", asset], SECRET), ("hbr", hbr.as_str(), vec![], hbr_secret.as_str())]
    {
        let env = [("TWINDROP_SERVICE", service), ("TWINDROP_BASE_URL", url), ("TWINDROP_SECRET", secret)];
        let out = twindrop(w.dir.path(), &env, &[&["verify"][..], &dest[..], &[s(&w.folder)]].concat());
        assert_eq!(out.status.code(), Some(2), "{service}: {out:?}");
        let error = &lines(&out).first().cloned().unwrap_or_else(|| panic!("{service}: {out:?}"))["error"];
        assert_eq!(error["code"], "verify.unsupported", "{service}: {out:?}");
        assert!(error["message"].as_str().unwrap().contains("cannot be"), "{service}: {error}");
    }
    w.em.shutdown().await;
}

/// Ordinary mess: a name that is not UTF-8 verifies like any other (shown with U+FFFD), and a
/// symlink swapped in for a sent file is never followed: in a folder it is not a file, so its
/// Doc is only on the server; named alone it is unreadable, `file.not_a_file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_verify_and_a_swapped_in_symlink_is_never_read() {
    use std::os::unix::ffi::OsStrExt;
    let w = World::new().await;
    let odd = w.folder.join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&odd, "latin-1 name").unwrap();
    std::fs::write(w.folder.join("a.txt"), "the file that was sent").unwrap();
    std::fs::write(w.dir.path().join("elsewhere.txt"), "someone else's bytes").unwrap();
    assert!(w.run(&["upload", "--twin", &w.twin, s(&w.folder)]).status.success());
    let out = w.verify(&[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rows = lines(&out);
    assert!(
        rows.iter().any(|r| r["type"] == "row" && r["path"].as_str().unwrap().ends_with("caf\u{fffd}.txt")),
        "{rows:?}"
    );

    std::fs::remove_file(w.folder.join("a.txt")).unwrap();
    std::os::unix::fs::symlink(w.dir.path().join("elsewhere.txt"), w.folder.join("a.txt")).unwrap();
    let (rows, _) = verdicts(&w.verify(&[]));
    assert_eq!(rows["data/a.txt"], "only_on_server", "{rows:?}");
    let link = w.folder.join("a.txt");
    let out = w.run(&["verify", "--twin", &w.twin, s(&link)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let row = lines(&out).into_iter().find(|l| l["type"] == "row").unwrap();
    assert_eq!(
        (row["verdict"].as_str(), row["problem"]["code"].as_str()),
        (Some("unreadable"), Some("file.not_a_file"))
    );
    w.em.shutdown().await;
}

/// `--sync` names files from inside the folder, as `twindrop sync` sent them, and leaves out
/// what the folder's ignore patterns leave out: a folder in step is reported in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_folder_verifies_with_its_names_and_ignores() {
    let w = World::new().await;
    std::fs::write(w.folder.join("a.txt"), "a").unwrap();
    std::fs::write(w.folder.join("build.log"), "noise").unwrap();
    let sync = w.run(&["sync", "--once", "--gate-ms", "0", "--ignore", "*.log", "--twin", &w.twin, s(&w.folder)]);
    assert!(sync.status.success(), "{sync:?}");
    // Without its patterns, the log file is a difference; with them, the folder is in step.
    let (rows, _) = verdicts(&w.run(&["verify", "--sync", "--twin", &w.twin, s(&w.folder)]));
    assert_eq!((rows["a.txt"].as_str(), rows["build.log"].as_str()), ("match", "not_on_server"), "{rows:?}");
    let out = w.run(&["verify", "--sync", "--ignore", "*.log", "--twin", &w.twin, s(&w.folder)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(verdicts(&out).0.len(), 1);
}
