//! `--json` errors carry the precise code of what was wrong (never a catch-all), and every
//! "your input is wrong" code exits with the usage code, 2. No server is needed: each command
//! is refused before any request.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const TWIN: &str = "3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90";
/// Nothing listens there; none of these commands gets as far as a request.
const BASE: &str = "http://127.0.0.1:9";

fn twindrop(config: &Path, secret: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    cmd.arg("--json")
        .args(args)
        .env("TWINDROP_CONFIG_DIR", config)
        .env("TWINDROP_DATA_DIR", config.join("data"))
        .env_remove("TWINDROP_SECRET")
        .env_remove("TWINDROP_JOURNAL")
        .stdin(Stdio::null());
    if let Some(s) = secret {
        cmd.env("TWINDROP_SECRET", s);
    }
    cmd.output().unwrap()
}

/// The `{"error": {code, …}}` line and the exit code.
fn refused(out: &Output) -> (String, Option<i32>) {
    let line: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let code = line["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {line}")).to_owned();
    (code, out.status.code())
}

#[test]
fn each_wrong_input_has_its_own_code_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "a").unwrap();
    let file = file.to_str().unwrap();
    let folder = dir.path().to_str().unwrap();
    let upload = |extra: &[&str]| {
        let args = [&["upload", "--base-url", BASE][..], extra].concat();
        refused(&twindrop(config, Some("secret"), &args))
    };
    let cases: Vec<(&str, (String, Option<i32>))> = vec![
        ("template.invalid", refused(&twindrop(config, None, &["name", "--template", "{nope}", file]))),
        (
            "template.invalid",
            refused(&twindrop(
                config,
                Some("s"),
                &["sync", folder, "--once", "--base-url", BASE, "--twin", TWIN, "--template", "{dir"],
            )),
        ),
        ("bandwidth.invalid", upload(&["--twin", TWIN, "--bwlimit", "10Q", file])),
        ("bandwidth.invalid", upload(&["--twin", TWIN, "--bwlimit", "08:00,512k 25:00,off", file])),
        ("destination.invalid", upload(&["--twin", "not-a-twin", file])),
        ("destination.invalid", upload(&[file])),
        ("conflict_policy.invalid", upload(&["--twin", TWIN, "--on-conflict", "merge", file])),
        ("storage_class.invalid", upload(&["--twin", TWIN, "--storage-class", "fast", file])),
        ("description.invalid", upload(&["--twin", TWIN, "--description", "Bad-Key=1", file])),
        (
            "option.invalid",
            refused(&twindrop(
                config,
                Some("id:key"),
                &["upload", "--service", "hbr", "--base-url", BASE, "--twin", TWIN, file],
            )),
        ),
        ("secret.invalid", upload(&["--service", "hbr", file])),
        ("service.invalid", upload(&["--service", "nope", "--twin", TWIN, file])),
        (
            "url.invalid",
            refused(&twindrop(config, Some("s"), &["upload", "--base-url", "ftp://x", "--twin", TWIN, file])),
        ),
        ("service.invalid", refused(&twindrop(config, None, &["login", "--service", "nope"]))),
    ];
    for (want, (code, exit)) in cases {
        assert_eq!((code.as_str(), exit), (want, Some(2)), "expected {want}");
    }
}

#[test]
fn upload_without_a_profile_or_a_secret_says_log_in_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "a").unwrap();
    // No profile, no secret, no base URL: nobody is logged in here.
    let out = twindrop(dir.path(), None, &["upload", "--twin", TWIN, file.to_str().unwrap()]);
    assert_eq!(refused(&out), ("profile.not_found".to_owned(), Some(3)));
    // A secret without anywhere to send it is a command line that misses --base-url.
    let out = twindrop(dir.path(), Some("s"), &["upload", "--twin", TWIN, file.to_str().unwrap()]);
    assert_eq!(refused(&out), ("option.invalid".to_owned(), Some(2)));
}
