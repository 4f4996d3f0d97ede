//! `twindrop twins`: Twins created with a name are named on the server and listed with it; a
//! nickname given here is the one the app shows (the same settings, the same engine calls).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use twindrop_emulator::{Config, Emulator};

const SECRET: &str = "twins-secret";

fn twindrop(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TWINDROP_")) {
        cmd.env_remove(key);
    }
    cmd.args(args)
        .env("TWINDROP_CONFIG_DIR", dir.join("config"))
        .env("TWINDROP_DATA_DIR", dir.join("data"))
        .env("TWINDROP_SECRET", SECRET)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twins_are_created_with_names_listed_and_nicknamed() {
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let base = em.base_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    assert!(ok(&twindrop(dir, &["twins"])).contains("no Twins known yet"));
    let named = ok(&twindrop(dir, &["twin", "create", "--base-url", &base, "--name", " Lab scans "])).trim().to_owned();
    let created = json_lines(&ok(&twindrop(dir, &["--json", "twin", "create", "--base-url", &base])));
    let plain = created[0]["twin"].as_str().unwrap().to_owned();
    assert_eq!(created[0]["name"], Value::Null);

    // The server holds the name in the Twin's description.
    let tt = twindrop_engine::TrustedTwin::new(&base, twindrop_engine::Secret::new(SECRET)).unwrap();
    let body = tt.get_twin(&twindrop_engine::TwinId::parse(&named).unwrap()).await.unwrap();
    assert_eq!(body["description"]["name"], "Lab scans");

    let list = json_lines(&ok(&twindrop(dir, &["--json", "twins"])));
    let by_twin = |twin: &str| list.iter().find(|k| k["twin"] == twin).cloned();
    assert_eq!(by_twin(&named).map(|k| k["label"].clone()), Some("Lab scans".into()));
    assert_eq!(by_twin(&named).map(|k| k["serverName"].clone()), Some("Lab scans".into()));
    assert_eq!(by_twin(&plain), None, "an unnamed Twin in no recent list is not known");

    let said = ok(&twindrop(dir, &["twins", "name", &named.to_uppercase(), "Mine"]));
    assert_eq!(said.trim(), format!("{named}: Mine"), "a UUID in capitals names the same Twin");
    ok(&twindrop(dir, &["twin", "name", &plain, "Other"]));
    let text = ok(&twindrop(dir, &["twins"]));
    assert!(text.contains(&format!("{named}  Mine  (server: Lab scans)")), "{text}");
    assert!(text.contains(&format!("{plain}  Other")), "{text}");

    // The app reads the same names.
    let settings = twindrop_engine::profile::SettingsFile::new(dir.join("config/settings.json"));
    assert_eq!(settings.load().unwrap().twin_names.label(&named), "Mine");

    // "" removes the nickname: the server's name shows again.
    assert_eq!(ok(&twindrop(dir, &["twins", "name", &named, ""])).trim(), format!("{named}: Lab scans"));

    // Refused: a Twin that is not a UUID, a name too long; both usage errors with their codes.
    let bad = twindrop(dir, &["--json", "twins", "name", "not-a-twin", "X"]);
    let line: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!((line["error"]["code"].as_str(), bad.status.code()), (Some("destination.invalid"), Some(2)));
    let long = "x".repeat(81);
    let bad = twindrop(dir, &["--json", "twins", "name", &plain, &long]);
    let line: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!((line["error"]["code"].as_str(), bad.status.code()), (Some("name.invalid"), Some(2)));
    assert_eq!(settings.load().unwrap().twin_names.label(&plain), "Other", "nothing changed");
}
