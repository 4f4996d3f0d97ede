//! `twindrop --proxy` end to end: an upload through a real tinyproxy (its own config, port and
//! log; never the system service) that asks for a password, the user from the settings file
//! and the password from TWINDROP_PROXY_PASSWORD; this machine left alone without the tests'
//! switch; a bad proxy URL refused with its code. Skipped without tinyproxy unless
//! `TWINDROP_REQUIRE_PEERS=1`.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use twindrop_emulator::{Config, Emulator};

const SECRET: &str = "cli-proxy-secret";
const PASSWORD: &str = "cli-pr0xy-pass";

struct Tinyproxy(Child, u16, std::path::PathBuf);

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tinyproxy(dir: &Path) -> Option<Tinyproxy> {
    if Command::new("tinyproxy").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        assert!(std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"), "tinyproxy is not installed");
        eprintln!("skipped: tinyproxy is not installed (apt-get install tinyproxy, or scripts/bootstrap.sh)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.join("tinyproxy.log");
    let conf = dir.join("tinyproxy.conf");
    std::fs::write(
        &conf,
        format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile \"{}\"\nLogLevel Info\nAllow 127.0.0.1\nBasicAuth alice {PASSWORD}\n",
            log.display()
        ),
    )
    .unwrap();
    let child =
        Command::new("tinyproxy").args(["-d", "-c"]).arg(&conf).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    let proxy = Tinyproxy(child.unwrap(), port, log);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(proxy);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("tinyproxy did not start");
}

fn twindrop(config: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    cmd.arg("--journal").arg(config.join("journal.sqlite")).args(args);
    cmd.env("TWINDROP_CONFIG_DIR", config).env("TWINDROP_SECRET", SECRET);
    for v in
        ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"]
    {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_goes_through_the_proxy_with_the_keyring_free_password() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tiny) = tinyproxy(dir.path()) else { return };
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    // The user is the setting's (as the app saved it); the password is never in this file.
    std::fs::write(dir.path().join("settings.json"), r#"{"prefs": {"proxy": {"mode": "off", "username": "alice"}}}"#)
        .unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "through the proxy").unwrap();
    let proxy = format!("http://127.0.0.1:{}", tiny.1);
    let through = [("TWINDROP_TEST_PROXY_LOOPBACK", "1"), ("TWINDROP_PROXY_PASSWORD", PASSWORD)];

    let out = twindrop(dir.path(), &through, &["--proxy", &proxy, "twin", "create", "--base-url", &base]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let twin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = twindrop(
        dir.path(),
        &through,
        &["--proxy", &proxy, "upload", "--json", "--base-url", &base, "--twin", &twin, file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = std::fs::read_to_string(&tiny.2).unwrap();
    assert!(log.contains("/upload/") && log.contains("/twins"), "tinyproxy's log: {log}");
    assert!(!log.contains(SECRET) && !log.contains(PASSWORD), "a secret in the proxy's log: {log}");
    let requests = log.matches("Request (file descriptor").count();

    // A wrong password: the proxy refuses, the run fails (TWINDROP_PROXY as the flag's variable).
    let wrong =
        [("TWINDROP_TEST_PROXY_LOOPBACK", "1"), ("TWINDROP_PROXY_PASSWORD", "nope"), ("TWINDROP_PROXY", &proxy)];
    let out = twindrop(dir.path(), &wrong, &["twin", "create", "--base-url", &base]);
    assert!(!out.status.success(), "a wrong proxy password worked");

    // Without the tests' switch this machine is never proxied: the proxy hears nothing more.
    let out = twindrop(
        dir.path(),
        &[("TWINDROP_PROXY_PASSWORD", "nope")],
        &["--proxy", &proxy, "twin", "create", "--base-url", &base],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = std::fs::read_to_string(&tiny.2).unwrap();
    assert_eq!(log.matches("Request (file descriptor").count(), requests + 1, "only the refused request: {log}");

    // --no-proxy lists this machine's address: direct even with the switch.
    let out = twindrop(
        dir.path(),
        &wrong[..2],
        &["--proxy", &proxy, "--no-proxy", "127.0.0.0/8", "twin", "create", "--base-url", &base],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = std::fs::read_to_string(&tiny.2).unwrap();
    assert_eq!(log.matches("Request (file descriptor").count(), requests + 1, "--no-proxy was not honoured: {log}");

    let out =
        twindrop(dir.path(), &[], &["--json", "--proxy", "ftp://proxy.corp:21", "twin", "create", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "proxy.invalid", "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("ftp://proxy.corp:21"), "{error}");
    em.shutdown().await;
}
