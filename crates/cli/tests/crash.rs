//! `kill -9` the real CLI at random moments, several times, and start it again: in the end
//! every file is an `ok` Doc, none is missing, and none was attached twice. The same when the
//! files changed and each replaces the Doc it made (delete, then attach): never neither.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use twindrop_emulator::{Config, Emulator};

const SECRET: &str = "crash-test-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_uploads_carry_on_and_never_attach_twice() {
    let mut config = Config::new(SECRET);
    config.copy_delay = Duration::from_millis(150);
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    // Slow the attach and the status reads a little, so kills land in every stage.
    em.set_faults(
        serde_json::from_value(json!({ "rules": [
            { "route": "attach", "latency_ms": 60 },
            { "route": "get_doc", "latency_ms": 20 },
            { "route": "upload", "latency_ms": 30 }
        ] }))
        .unwrap(),
    );
    let http = reqwest::Client::new();
    let twin: serde_json::Value = http
        .post(format!("{}/twins", em.base_url()))
        .header("Authorization", SECRET)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let twin = twin["creation_certificate"]["uuid"].as_str().unwrap().to_owned();

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..30)
        .map(|i| {
            let p = dir.path().join(format!("part{i:02}.dat"));
            std::fs::write(&p, vec![(i * 13 % 256) as u8; 150_000 + i * 1000]).unwrap();
            p.display().to_string()
        })
        .collect();
    let journal = dir.path().join("journal.sqlite");
    let run = |kill_after: Option<Duration>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
        cmd.args(["upload", "--json", "--parallel", "3", "--base-url", em.base_url(), "--twin", &twin])
            .arg("--journal")
            .arg(&journal)
            .args(&files)
            .env("TWINDROP_SECRET", SECRET)
            .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        match kill_after {
            Some(wait) => {
                std::thread::sleep(wait);
                // SIGKILL: no destructor, no flush, exactly like a crash.
                let _ = child.kill();
                child.wait().unwrap();
                None
            }
            None => Some(child.wait().unwrap()),
        }
    };

    let get = |path: String| {
        let request = http.get(format!("{}{path}", em.base_url())).header("Authorization", SECRET);
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let expected: BTreeSet<String> = (0..30).map(|i| format!("part{i:02}.dat")).collect();
    let mut rng = fastrand::Rng::with_seed(11);
    // Round 1: new files. Round 2: every file changed, so each replaces the Doc it made, with
    // deletes slowed so that kills land between a delete and its attach.
    for round in 1..=2u64 {
        if round == 2 {
            for (i, file) in files.iter().enumerate() {
                std::fs::write(file, vec![(i * 7 % 256) as u8; 140_000 + i * 900]).unwrap();
            }
            let mut plan = em.faults();
            plan.rules.push(serde_json::from_value(json!({ "route": "delete_doc", "latency_ms": 80 })).unwrap());
            em.set_faults(plan);
        }
        for _ in 0..8 {
            run(Some(Duration::from_millis(rng.u64(80..700))));
        }
        let status = run(None).unwrap();
        assert!(status.success(), "round {round}: the final run did not finish cleanly: {status:?}");

        let listing = get(format!("/twins/{twin}/docs")).await;
        let on_twin: BTreeSet<String> = listing["docs"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(on_twin, expected, "round {round}: a Doc is missing or extra (a rename means a double attach)");
        for (i, name) in expected.iter().enumerate() {
            assert_eq!(em.attach_count(&twin, name), round, "round {round}: {name} was attached more than once");
            let doc = get(format!("/twins/{twin}/docs/{name}")).await;
            assert_eq!(doc["status"], "ok", "{name}: {doc}");
            let sent = twindrop_engine::hash::sha256_file(std::path::Path::new(&files[i])).await.unwrap().0;
            assert_eq!(doc["creation_certificate"]["hash"], sent, "round {round}: {name} does not hold its file");
        }
        eprintln!("round {round}: attach calls: {}, PUTs: {}", em.call_count("attach"), em.call_count("upload"));
    }
}
