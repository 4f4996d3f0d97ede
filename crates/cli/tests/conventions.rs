//! The command line's conventions (issue 19, part 5): fixed sets of words listed and refused
//! with the engine's codes, a TWINDROP_* variable for each flag (the flag wins), the secret's
//! sources and their order, -q/-v, and `upload DIR` as the app's "Add folder…".

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const TWIN: &str = "3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90";
/// Nothing listens there; the commands below that use it are refused or planned before any request.
const BASE: &str = "http://127.0.0.1:9";

/// `twindrop ARGS` with a clean environment of Twindrop's variables plus `env`.
fn twindrop(config: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TWINDROP_")) {
        cmd.env_remove(key);
    }
    cmd.args(args)
        .env("TWINDROP_CONFIG_DIR", config)
        .env("TWINDROP_DATA_DIR", config.join("data"))
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `{"error": {code, …}}` line's code, and the exit code.
fn refused(out: &Output) -> (String, Option<i32>) {
    let line: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {:?}, stderr {:?}", stdout(out), String::from_utf8_lossy(&out.stderr)));
    (line["error"]["code"].as_str().unwrap_or_else(|| panic!("no code in {line}")).to_owned(), out.status.code())
}

#[test]
fn help_lists_the_words_and_the_variables_but_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TWINDROP_SECRET_COMMAND", "echo hunter2-command"),
        ("TWINDROP_SECRET_FILE", "/tmp/hunter2-file"),
        ("TWINDROP_TWIN", TWIN),
    ];
    let help = stdout(&twindrop(dir.path(), &env, &["upload", "-h"]));
    for want in [
        "[possible values: skip, rename, replace]",
        "[possible values: access_optimized, cost_optimized]",
        "[possible values: trusted-twin, redivis, inspect, hbr]",
        "[env: TWINDROP_SECRET_FILE]",
        "[env: TWINDROP_SECRET_COMMAND]",
        &format!("[env: TWINDROP_TWIN={TWIN}]"),
        "[env: TWINDROP_BWLIMIT=]",
        "TWINDROP_SECRET, TWINDROP_SECRET_FILE, TWINDROP_SECRET_COMMAND (in that order)",
    ] {
        assert!(help.contains(want), "{want:?} missing from:\n{help}");
    }
    assert!(!help.contains("hunter2"), "a secret source's value is shown:\n{help}");
    let sync = stdout(&twindrop(dir.path(), &[], &["sync", "-h"]));
    assert!(sync.contains("[possible values: ignore, mirror]") && sync.contains("[possible values: rename, skip]"));
    let emulator =
        stdout(&twindrop(dir.path(), &[("TWINDROP_EMULATOR_SECRET", "hunter2-em")], &["emulator", "--help"]));
    assert!(emulator.contains("[env: TWINDROP_EMULATOR_SECRET]") && !emulator.contains("hunter2"), "{emulator}");
    let top = stdout(&twindrop(dir.path(), &[], &["--help"]));
    assert!(top.contains("completions") && !top.contains("\n  man "), "{top}");
}

/// A word clap refuses is still refused with the engine's code under --json (exit 2), from a
/// flag or from its variable; the flag wins over the variable.
#[test]
fn words_and_variables_keep_the_engines_codes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "a").unwrap();
    let file = file.to_str().unwrap();
    let upload = |env: &[(&str, &str)], extra: &[&str]| {
        let args = [&["--json", "upload", "--base-url", BASE, "--twin", TWIN][..], extra, &[file]].concat();
        refused(&twindrop(dir.path(), &[&[("TWINDROP_SECRET", "s")][..], env].concat(), &args))
    };
    let usage = |code: &str| (code.to_owned(), Some(2));
    assert_eq!(upload(&[], &["--on-conflict", "merge"]), usage("conflict_policy.invalid"));
    assert_eq!(upload(&[("TWINDROP_ON_CONFLICT", "merge")], &[]), usage("conflict_policy.invalid"));
    assert_eq!(upload(&[("TWINDROP_STORAGE_CLASS", "fast")], &[]), usage("storage_class.invalid"));
    assert_eq!(upload(&[("TWINDROP_BWLIMIT", "fast")], &[]), usage("bandwidth.invalid"));
    assert_eq!(upload(&[], &["--chunk-size=-1M"]), usage("input.invalid"));
    assert_eq!(upload(&[], &["--chunk-size", "99999999999TB"]), usage("input.invalid"));
    assert_eq!(upload(&[], &["--chunk-size", "1MB"]), usage("chunk_size.invalid"));
    // The flag wins: a good variable does not hide a bad flag, a bad variable is not read.
    assert_eq!(
        upload(&[("TWINDROP_ON_CONFLICT", "skip")], &["--on-conflict", "merge"]),
        usage("conflict_policy.invalid")
    );
    let sync = twindrop(
        dir.path(),
        &[("TWINDROP_SECRET", "s"), ("TWINDROP_JSON", "1")],
        &[
            "sync",
            dir.path().to_str().unwrap(),
            "--once",
            "--base-url",
            BASE,
            "--twin",
            TWIN,
            "--on-conflict",
            "replace",
        ],
    );
    assert_eq!(refused(&sync), usage("conflict_policy.invalid"));
    let sync = twindrop(dir.path(), &[("TWINDROP_DELETE", "keep")], &["--json", "sync", "--saved"]);
    assert_eq!(refused(&sync), usage("delete_policy.invalid"));
    // Without --json, clap says it, with the engine's reason.
    let text = twindrop(dir.path(), &[("TWINDROP_SECRET", "s")], &["upload", "--service", "nope", file]);
    assert_eq!(text.status.code(), Some(2));
    let said = String::from_utf8_lossy(&text.stderr);
    assert!(said.contains("use trusted-twin, redivis, inspect or hbr"), "{said}");
    // The spellings in use before keep working.
    let tt = twindrop(
        dir.path(),
        &[("TWINDROP_SECRET", "s")],
        &["--json", "upload", "--service", "tt", "--dry-run", "--base-url", BASE, "--twin", TWIN, file],
    );
    assert!(tt.status.success(), "{}", String::from_utf8_lossy(&tt.stderr));
}

/// HBR takes only `ID:KEY` secrets: `secret.invalid` says the bad one was used, `option.invalid`
/// (its uploads take no --twin) the good one. So each case shows which source won.
#[test]
fn secret_sources_in_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, "id:key\n").unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "no-colon\n").unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "a").unwrap();
    let (good, bad, file) = (good.to_str().unwrap(), bad.to_str().unwrap(), file.to_str().unwrap());
    let run = |env: &[(&str, &str)], flags: &[&str]| {
        let args = [&["--json", "upload", "--service", "hbr", "--base-url", BASE, "--twin", TWIN][..], flags, &[file]]
            .concat();
        let out = twindrop(dir.path(), env, &args);
        assert!(!stdout(&out).contains("no-colon") && !stdout(&out).contains("id:key"), "{}", stdout(&out));
        refused(&out).0
    };
    let good_cmd = format!("cat {good}");
    assert_eq!(run(&[], &["--secret-file", good]), "option.invalid");
    assert_eq!(run(&[], &["--secret-command", &good_cmd]), "option.invalid");
    // Flag > TWINDROP_SECRET > TWINDROP_SECRET_FILE > TWINDROP_SECRET_COMMAND.
    assert_eq!(run(&[("TWINDROP_SECRET", "no-colon")], &["--secret-file", good]), "option.invalid");
    assert_eq!(run(&[("TWINDROP_SECRET_FILE", bad)], &["--secret-command", &good_cmd]), "option.invalid");
    assert_eq!(run(&[("TWINDROP_SECRET", "no-colon"), ("TWINDROP_SECRET_FILE", good)], &[]), "secret.invalid");
    assert_eq!(
        run(&[("TWINDROP_SECRET_FILE", good), ("TWINDROP_SECRET_COMMAND", "echo no-colon")], &[]),
        "option.invalid"
    );
    assert_eq!(run(&[("TWINDROP_SECRET_COMMAND", &good_cmd)], &[]), "option.invalid");
    let both = [
        "--json",
        "upload",
        "--service",
        "hbr",
        "--base-url",
        BASE,
        "--secret-file",
        bad,
        "--secret-command",
        &good_cmd,
        file,
    ];
    let both = twindrop(dir.path(), &[], &both);
    assert_eq!(refused(&both).0, "option.invalid");
    assert!(stdout(&both).contains("not both"), "{}", stdout(&both));
    // A source that fails names itself, not the secret, and stops the command.
    let failing = twindrop(
        dir.path(),
        &[("TWINDROP_SECRET", "id:key")],
        &["--json", "upload", "--service", "hbr", "--base-url", BASE, "--secret-command", "echo id:key; exit 4", file],
    );
    assert_eq!(refused(&failing), ("secret.invalid".to_owned(), Some(2)));
    let message = stdout(&failing);
    assert!(message.contains("the secret command `echo id:key; exit 4` failed"), "{message}");
    let missing = twindrop(
        dir.path(),
        &[],
        &["--json", "upload", "--service", "hbr", "--base-url", BASE, "--secret-file", "/nonexistent/secret", file],
    );
    assert_eq!(refused(&missing).0, "secret.invalid");
    assert!(stdout(&missing).contains("/nonexistent/secret"));
    let empty = twindrop(
        dir.path(),
        &[],
        &["--json", "upload", "--service", "hbr", "--base-url", BASE, "--secret-command", "true", file],
    );
    assert!(stdout(&empty).contains("`true` printed nothing"), "{}", stdout(&empty));
}

#[test]
fn quiet_and_verbose_set_the_log_level() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "a").unwrap();
    // A refused upload logs nothing at the default level; the error line is printed anyway.
    let args = ["upload", "--base-url", BASE, "--twin", "not-a-twin", file.to_str().unwrap()];
    let quiet =
        twindrop(dir.path(), &[("TWINDROP_SECRET", "s"), ("TWINDROP_LOG", "trace")], &[&["-q"][..], &args].concat());
    let said = String::from_utf8_lossy(&quiet.stderr);
    assert!(said.starts_with("error [destination.invalid]") && said.lines().count() == 1, "{said}");
    let conflict = twindrop(dir.path(), &[], &["-q", "-v", "status"]);
    assert_eq!(conflict.status.code(), Some(2));
}

struct EmulatorProcess {
    child: Child,
    base_url: String,
}

impl EmulatorProcess {
    fn start(secret: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_twindrop"))
            .args(["emulator", "--addr", "127.0.0.1:0", "--copy-delay-ms", "50"])
            .env("TWINDROP_EMULATOR_SECRET", secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        EmulatorProcess { child, base_url: line.trim().to_owned() }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// `upload DIR`: the folder's files, all the way down, under the names the app's preview gives
/// them (the engine's `naming::preview`), the default ignores left out; run again, nothing is
/// sent twice. The secret comes from a file, as the emulator's from its variable.
#[test]
fn a_folder_uploads_as_the_app_would_name_it() {
    let secret = "conventions-secret";
    let em = EmulatorProcess::start(secret);
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let photos = dir.path().join("field photos");
    std::fs::create_dir_all(photos.join("2024/june")).unwrap();
    std::fs::write(photos.join("a.txt"), "a").unwrap();
    std::fs::write(photos.join("2024/june/b c.txt"), "bc").unwrap();
    std::fs::write(photos.join("2024/.DS_Store"), "ignored").unwrap();
    std::fs::write(photos.join("2024/partial.part"), "ignored").unwrap();
    let loose = dir.path().join("loose.txt");
    std::fs::write(&loose, "loose").unwrap();
    let env = [("TWINDROP_SECRET_FILE", secret_file.to_str().unwrap()), ("TWINDROP_BASE_URL", em.base_url.as_str())];
    let out = twindrop(dir.path(), &env, &["twin", "create"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let twin = stdout(&out).trim().to_owned();

    let paths = [photos.to_str().unwrap(), loose.to_str().unwrap()];
    let mut expected: Vec<String> = twindrop_engine::naming::preview(
        &paths.iter().map(std::path::PathBuf::from).collect::<Vec<_>>(),
        None,
        &|_, _| None,
    )
    .into_iter()
    .map(|f| f.name.expect("named"))
    .collect();
    expected.sort();
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert!(
        expected.iter().any(|n| n.starts_with("field") && n.ends_with(".txt") && n.contains("june")),
        "{expected:?}"
    );

    let run = |extra: &[&str]| {
        let args = [&["--json", "upload", "--twin", &twin][..], extra, &paths].concat();
        twindrop(dir.path(), &env, &args)
    };
    let plan = run(&["--dry-run"]);
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    let mut planned: Vec<String> = json_lines(&plan).iter().map(|l| l["name"].as_str().unwrap().to_owned()).collect();
    planned.sort();
    assert_eq!(planned, expected);

    let sent = run(&[]);
    assert!(sent.status.success(), "{}\n{}", stdout(&sent), String::from_utf8_lossy(&sent.stderr));
    let mut ok: Vec<String> = json_lines(&sent)
        .iter()
        .filter(|l| l["status"] == "ok")
        .map(|l| l["doc_name"].as_str().unwrap().to_owned())
        .collect();
    ok.sort();
    assert_eq!(ok, expected, "{}", stdout(&sent));
    let docs = twindrop(dir.path(), &env, &["--json", "docs", "--twin", &twin]);
    let mut on_twin: Vec<String> =
        json_lines(&docs).iter().map(|l| l["doc_name"].as_str().unwrap().to_owned()).collect();
    on_twin.sort();
    assert_eq!(on_twin, expected);

    let again = run(&[]);
    assert!(again.status.success());
    let lines = json_lines(&again);
    assert!(lines.iter().filter(|l| l["status"].is_string()).all(|l| l["status"] == "skipped"), "{}", stdout(&again));

    // An empty folder is a refused file, not silence: the run fails.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = twindrop(dir.path(), &env, &["--json", "upload", "--twin", &twin, empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out)[0]["error"]["code"], "upload.nothing");
}

#[test]
fn completions_and_the_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let bash = stdout(&twindrop(dir.path(), &[], &["completions", "bash"]));
    for word in ["upload", "sync", "--on-conflict", "skip rename replace", "trusted-twin"] {
        assert!(bash.contains(word), "{word}");
    }
    let man = stdout(&twindrop(dir.path(), &[], &["man"]));
    assert!(man.contains(".TH twindrop 1") && man.contains("TWINDROP UPLOAD") && man.contains("TWINDROP_TWIN"));
    let refused = twindrop(dir.path(), &[], &["completions", "tcsh"]);
    assert_eq!(refused.status.code(), Some(2));
}
