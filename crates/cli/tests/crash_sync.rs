//! A crash loop over a 300-file folder sync: `twindrop sync --once` is killed with SIGKILL at
//! random instants, again and again (and, in the second test, the emulator process with
//! `--state` is killed and restarted on the same port in the middle). In the end every file is an `ok` Doc with its
//! bytes, none missing, none attached twice, and SQLite's `PRAGMA integrity_check` says ok.
//! `TWINDROP_CRASH_RUNS` sets the kills (default 6 in CI; the long mode is 100); the seed is
//! printed. The folder also holds three files whose names sanitize alike (three Docs, one each)
//! and a file named like a Doc another tool attached first (that Doc is never touched).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const SECRET: &str = "crash-sync-secret";
const CONTROL: &str = "crash-control";

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `twindrop emulator` on a fixed port with its state on disk, slowed a little so kills land in
/// every stage.
fn server(addr: &str, state: &Path, faults: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["emulator", "--addr", addr, "--secret", SECRET, "--copy-delay-ms", "40", "--control-token", CONTROL])
        .arg("--state")
        .arg(state)
        .arg("--faults")
        .arg(faults)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("http://"), "the emulator did not start: {line:?}");
    Server { child }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_syncs_lose_nothing_and_attach_nothing_twice() {
    crash_loop(false).await;
}

/// The same with the emulator process killed and restarted mid-way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_syncs_and_a_restarted_server_lose_nothing_and_attach_nothing_twice() {
    crash_loop(true).await;
}

async fn crash_loop(restart_server: bool) {
    let runs: usize = std::env::var("TWINDROP_CRASH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let seed: u64 =
        std::env::var("TWINDROP_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash loop: seed {seed}, {runs} kills");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let (folder, state, journal) =
        (dir.path().join("folder"), dir.path().join("state"), dir.path().join("journal.sqlite"));
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..300 {
        let sub = folder.join(format!("d{}", i % 10));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i:03}.dat")), vec![(i % 251) as u8; 2000 + i * 37]).unwrap();
    }
    // Named alike: d0/twin_name.dat, d0/twin_name-1.dat and d0/twin_name-2.dat, whatever the kills.
    let alike = ["twin name.dat", "twin_name.dat", "twin?name.dat"];
    for (i, name) in alike.iter().enumerate() {
        std::fs::write(folder.join("d0").join(name), format!("alike {i}")).unwrap();
    }
    std::fs::write(folder.join("theirs.dat"), "ours").unwrap();
    let faults = dir.path().join("faults.json");
    let plan = json!({ "rules": [{ "route": "attach", "latency_ms": 30 }, { "route": "upload", "latency_ms": 15 }] });
    std::fs::write(&faults, plan.to_string()).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    let mut em = server(&addr, &state, &faults);
    let twin = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["twin", "create", "--base-url", &base])
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let twin = String::from_utf8(twin.stdout).unwrap().trim().to_owned();
    // Another tool (its own journal) attached `theirs.dat` first.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("theirs.dat"), "a colleague's").unwrap();
    let theirs = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .arg("--journal")
        .arg(dir.path().join("other-tool.sqlite"))
        .args(["upload", "--base-url", &base, "--twin", &twin])
        .arg(elsewhere.join("theirs.dat"))
        .env("TWINDROP_SECRET", SECRET)
        .env("TWINDROP_CONFIG_DIR", dir.path().join("other-config"))
        .output()
        .unwrap();
    assert!(theirs.status.success(), "{theirs:?}");

    let sync = || {
        Command::new(env!("CARGO_BIN_EXE_twindrop"))
            .arg("--journal")
            .arg(&journal)
            .args([
                "sync",
                "--once",
                "--json",
                "--parallel",
                "4",
                "--gate-ms",
                "50",
                "--base-url",
                &base,
                "--twin",
                &twin,
            ])
            .arg(&folder)
            .env("TWINDROP_SECRET", SECRET)
            .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for kill in 0..runs {
        let mut child = sync();
        tokio::time::sleep(Duration::from_millis(rng.u64(150..1200))).await;
        let _ = child.kill();
        child.wait().unwrap();
        if restart_server && kill == runs / 2 {
            // The server dies too, mid-run, and comes back with its state.
            drop(em);
            em = server(&addr, &state, &faults);
        }
    }
    let mut last = sync();
    let status = last.wait().unwrap();
    assert!(status.success(), "the final run did not finish cleanly: {status:?}");

    let http = reqwest::Client::new();
    let get = |path: String, header: (&'static str, &'static str)| {
        let request = http.get(format!("{base}{path}")).header(header.0, header.1);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let listing = get(format!("/twins/{twin}/docs"), ("Authorization", SECRET)).await;
    let docs = listing["docs"].as_object().unwrap();
    assert_eq!(docs.len(), 305, "a Doc is missing or extra: {}", docs.len());
    let stats = get("/_emulator/stats".into(), ("X-Emulator-Control", CONTROL)).await;
    let mut hashes = std::collections::HashMap::new();
    for name in docs.keys() {
        let doc = get(format!("/twins/{twin}/docs/{name}"), ("Authorization", SECRET)).await;
        assert_eq!(doc["status"], "ok", "{name}: {doc}");
        assert_eq!(stats["attached"][&twin][name], 1, "{name} was attached more than once (or not at all)");
        hashes.insert(name.clone(), doc["creation_certificate"]["hash"].as_str().unwrap_or_default().to_owned());
    }
    let sha = |text: &str| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
    assert_eq!(hashes["theirs.dat"], sha("a colleague's"), "the other tool's Doc was replaced");
    assert_eq!(hashes["theirs-1.dat"], sha("ours"));
    let mut alike_sent: Vec<&str> =
        ["d0/twin_name.dat", "d0/twin_name-1.dat", "d0/twin_name-2.dat"].iter().map(|n| hashes[*n].as_str()).collect();
    let mut alike_local: Vec<String> = (0..3).map(|i| sha(&format!("alike {i}"))).collect();
    alike_sent.sort();
    alike_local.sort();
    assert_eq!(alike_sent, alike_local, "files named alike are not one Doc each");
    let db = rusqlite::Connection::open(&journal).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let attached: i64 = db.query_row("SELECT COUNT(*) FROM jobs WHERE state = 'done'", [], |r| r.get(0)).unwrap();
    assert!(attached >= 304);
    drop(em);
    let server = if restart_server { " + 1 server kill" } else { "" };
    eprintln!(
        "crash loop: seed {seed}: {runs} client kills{server} survived; 304 Docs ok, 0 lost, a foreign one untouched"
    );
}
