//! `twindrop doctor`: a clean pass against the sandbox, and a diagnosis naming the failed step
//! (with its code and what to do next) for a wrong secret, an unreachable host and a keyring
//! that is not there.

use std::process::{Command, Output};

use serde_json::Value;
use twindrop_emulator::{Config, Emulator};

const SECRET: &str = "doctor-secret";

fn doctor(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (Output, Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    command.args(["--json", "doctor"]).args(args).env("TWINDROP_CONFIG_DIR", dir.join("config"));
    command.env("TWINDROP_DATA_DIR", dir.join("data")).env_remove("TWINDROP_SECRET");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out, report)
}

/// `(step, verdict, code)` of every step.
fn steps(report: &Value) -> Vec<(String, String, Option<String>)> {
    report["report"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().map(str::to_owned);
            (text("name").unwrap(), text("verdict").unwrap(), text("code"))
        })
        .collect()
}

fn keyring_required() -> bool {
    std::env::var_os("TWINDROP_REQUIRE_KEYRING").is_some()
}

#[test]
fn the_sandbox_passes_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = doctor(dir.path(), &[], &["--sandbox"]);
    let steps = steps(&report);
    let verdicts: Vec<&str> = steps.iter().map(|(_, v, _)| v.as_str()).collect();
    assert_eq!(verdicts[1..], ["pass", "pass", "pass"], "{report:#}");
    if keyring_required() {
        assert_eq!(verdicts[0], "pass", "{report:#}");
        assert!(out.status.success() && report["passed"] == true, "{report:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_and_an_unreachable_host_are_diagnosed() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = em.base_url().to_owned();

    let (out, report) = doctor(dir.path(), &[("TWINDROP_SECRET", "wrong")], &["--base-url", &base]);
    assert_eq!(out.status.code(), Some(1));
    let steps_seen = steps(&report);
    assert_eq!(steps_seen[2], ("secret".into(), "fail".into(), Some("auth.unauthorized".into())), "{report:#}");
    assert!(report["report"]["steps"][2]["next"].as_str().unwrap().contains("sign in again"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (out, report) =
        doctor(dir.path(), &[("TWINDROP_SECRET", SECRET)], &["--base-url", &format!("http://{closed}")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(steps(&report)[1], ("host".into(), "fail".into(), Some("network.refused".into())), "{report:#}");
    assert!(report["report"]["steps"][1]["next"].as_str().unwrap().contains("port"), "{report:#}");

    // The text form names the failed step and what to do next.
    let text = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["doctor", "--base-url", &base])
        .env("TWINDROP_SECRET", "wrong")
        .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("FAIL  secret") && text.contains("next: "), "{text}");
    assert!(!text.contains("wrong"), "the secret is never printed: {text}");
}

/// No Secret Service on the bus: the keyring step fails and says how to get one; a secret given
/// another way still gets its other steps checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_keyring_is_diagnosed() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bus = format!("unix:path={}", dir.path().join("no-bus").display());
    let env = [("TWINDROP_SECRET", SECRET), ("DBUS_SESSION_BUS_ADDRESS", bus.as_str())];
    let (out, report) = doctor(dir.path(), &env, &["--base-url", em.base_url()]);
    assert_eq!(out.status.code(), Some(1));
    let steps = steps(&report);
    assert_eq!(steps[0], ("keyring".into(), "fail".into(), Some("keyring.unavailable".into())), "{report:#}");
    assert!(report["report"]["steps"][0]["next"].as_str().unwrap().contains("keyring"));
    assert_eq!(steps[2].1, "pass", "the secret given in the environment was still checked: {report:#}");
}

/// A saved profile: the keyring step reads its secret (and says so), and the rest passes. Only
/// where the tests provide a keyring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_profile_is_checked_with_the_secret_in_the_keyring() {
    if !keyring_required() {
        return;
    }
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = format!("doctor-{}", std::process::id());
    let login = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["login", "--profile", &profile, "--base-url", em.base_url()])
        .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(SECRET.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(login.status.success(), "{}", String::from_utf8_lossy(&login.stderr));
    let (out, report) = doctor(dir.path(), &[], &["--profile", &profile]);
    assert!(out.status.success(), "{report:#}");
    let keyring = &report["report"]["steps"][0];
    assert!(keyring["summary"].as_str().unwrap().contains(&profile), "{keyring}");
    let _ = Command::new(env!("CARGO_BIN_EXE_twindrop"))
        .args(["logout", "--profile", &profile])
        .env("TWINDROP_CONFIG_DIR", dir.path().join("config"))
        .output();
}
