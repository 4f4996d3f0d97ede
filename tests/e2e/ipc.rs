//! The IPC surface under malformed calls, made from inside the real window the way a
//! compromised page would: wrong types, missing arguments, hostile strings, a plain-http
//! server off loopback. Every call must be refused with an error, and the app must go on
//! answering (no panic took its command thread or the window with it).

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use twindrop_e2e::*;

/// Invoke `cmd` with `args` through the window's IPC; `Ok(answer)` or `Err(error as JSON text)`.
async fn invoke(client: &Client, cmd: &str, args: Value) -> Result<Value, String> {
    invoke_script(client, "window.__TAURI_INTERNALS__.invoke(cmd, args)", cmd, args).await
}

/// [`invoke`] for a command that takes an `events` channel (a channel nobody listens to).
async fn invoke_with_channel(client: &Client, cmd: &str, args: Value) -> Result<Value, String> {
    let call = "window.__TAURI_INTERNALS__.invoke(cmd, \
                { ...args, events: '__CHANNEL__:' + window.__TAURI_INTERNALS__.transformCallback(() => {}) })";
    invoke_script(client, call, cmd, args).await
}

async fn invoke_script(client: &Client, call: &str, cmd: &str, args: Value) -> Result<Value, String> {
    let script = format!(
        "const [cmd, args, done] = arguments;\
         {call}.then(v => done({{ ok: v === undefined ? null : v }}), e => done({{ err: JSON.stringify(e) }}));"
    );
    let out = client.execute_async(&script, vec![json!(cmd), args]).await.unwrap();
    match out.get("err") {
        Some(e) => Err(e.as_str().unwrap_or_default().to_owned()),
        None => Ok(out["ok"].clone()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ipc_calls_are_refused_and_the_app_carries_on() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let app = App::start(home.path(), &[]).await;
    let client = &app.client;

    let huge = "x".repeat(1 << 20);
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("queue_pause", json!({"id": "seven"}), None),
        ("queue_pause", json!({"id": -1}), None),
        ("queue_cancel", json!({}), None),
        ("queue_retry", json!({"id": 1.5}), None),
        ("twin_select", json!({"twin": "../../etc/passwd"}), Some("destination.invalid")),
        ("twin_select", json!({"twin": huge}), Some("destination.invalid")),
        ("docs_list", json!({"twin": {"a": 1}}), None),
        ("doc_delete", json!({"twin": "00000000-0000-0000-0000-000000000000", "name": "a/../../b\u{0}"}), None),
        ("upload_planned", json!({"twin": 5, "items": "x", "storageClass": "hot"}), None),
        ("names_preview", json!({"paths": [{"a": 1}]}), None),
        ("login_service", json!({"service": "nope", "baseUrl": "x", "secret": "y"}), Some("service.invalid")),
        (
            "login_service",
            json!({"service": "trusted_twin", "baseUrl": "http://example.com", "secret": "s"}),
            Some("network.insecure"),
        ),
        (
            "login_service",
            json!({"service": "hbr", "baseUrl": "https://hbr.example", "secret": "no-colon"}),
            Some("secret.invalid"),
        ),
        ("profile_open", json!({"name": "../../../x"}), None),
        ("pick_paths", json!({"kind": "everything"}), None),
        ("queue_settled", json!({"ids": [1, "two"]}), None),
        ("no_such_command", json!({}), None),
    ];
    for (cmd, args, code) in &cases {
        let shown = args.to_string();
        let shown = &shown[..shown.len().min(80)];
        let answer = invoke(client, cmd, args.clone()).await;
        let err = answer.expect_err(&format!("{cmd} {shown} was accepted"));
        eprintln!("{cmd} {shown}: {}", &err[..err.len().min(160)]);
        assert!(err.len() < 4096, "{cmd}: the refusal echoes the whole input back ({} bytes)", err.len());
        if let Some(code) = code {
            assert!(err.contains(code), "{cmd} {shown}: refused with {err}, not {code}");
        }
    }
    // Still answering, on the same session, and the window is whole.
    let session = invoke(client, "session_get", json!({})).await.unwrap();
    assert_eq!(session["kind"], "sandbox", "{session}");
    assert!(client.find(Locator::Css("#screen-main")).await.is_ok());
    new_twin(client).await;
    app.close().await;
}

/// The page can only name paths the user chose: a call with a path never picked nor dropped
/// (the home folder, `~/.ssh`, a `..` out of a picked folder) is refused with
/// `path.not_chosen`, and the same calls on the picked folder work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_never_chosen_are_refused() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let picked = home.path().join("picked");
    std::fs::create_dir_all(&picked).unwrap();
    std::fs::write(picked.join("a.txt"), "chosen").unwrap();
    std::fs::write(home.path().join("secret.txt"), "not chosen").unwrap();
    let picks = home.path().join("picks.json");
    std::fs::write(&picks, serde_json::to_vec(&json!([[picked]])).unwrap()).unwrap();
    let app = App::start(home.path(), &[("TWINDROP_TEST_PICKS", picks.as_path())]).await;
    let client = &app.client;
    let twin = new_twin(client).await;
    let refused = |answer: Result<Value, String>, what: &str| {
        let err = answer.expect_err(&format!("{what} was accepted"));
        assert!(err.contains("path.not_chosen"), "{what}: refused with {err}, not path.not_chosen");
    };

    // Nothing is chosen before the pick, not even the folder that will be picked.
    let file = picked.join("a.txt");
    refused(invoke(client, "names_preview", json!({"twin": twin, "paths": [file]})).await, "an unpicked file");
    let ssh = dirs_home().join(".ssh");
    let escape = picked.join("../secret.txt");
    for path in [home.path().to_path_buf(), ssh.clone(), escape.clone(), "/".into()] {
        let shown = path.display();
        refused(
            invoke(client, "names_preview", json!({"twin": twin, "paths": [path]})).await,
            &format!("preview {shown}"),
        );
        refused(
            invoke(client, "watched_add", json!({"path": path, "destination": twin})).await,
            &format!("watch {shown}"),
        );
    }

    let answer = invoke(client, "pick_paths", json!({"kind": "folder"})).await.unwrap();
    assert_eq!(answer, json!([picked]));
    // What is under the picked folder works; a way out of it still does not.
    let files = invoke(client, "names_preview", json!({"twin": twin, "paths": [picked]})).await.unwrap();
    assert_eq!(files.as_array().map(Vec::len), Some(1), "{files}");
    assert_eq!(files[0]["name"], "picked/a.txt", "{files}");
    invoke(client, "names_preview", json!({"twin": twin, "paths": [file]})).await.unwrap();
    refused(invoke(client, "names_preview", json!({"twin": twin, "paths": [file, escape]})).await, "a .. out");
    refused(invoke(client, "watched_pause", json!({"path": ssh, "paused": true})).await, "pause ~/.ssh");
    let planned = |path: &std::path::Path, name: &str| json!({"twin": twin, "items": [{"path": path, "name": name}], "storageClass": "cost_optimized"});
    refused(
        invoke_with_channel(client, "upload_planned", planned(&home.path().join("secret.txt"), "secret.txt")).await,
        "upload of an unpicked file",
    );
    let ids = invoke_with_channel(client, "upload_planned", planned(&file, "a.txt")).await.unwrap();
    assert_eq!(ids.as_array().map(Vec::len), Some(1), "{ids}");
    let folder = invoke(client, "watched_add", json!({"path": picked, "destination": twin})).await.unwrap();
    assert_eq!(folder["path"], json!(picked.canonicalize().unwrap()), "{folder}");
    app.close().await;
}

fn dirs_home() -> std::path::PathBuf {
    std::env::var_os("HOME").map(Into::into).unwrap_or_else(|| "/root".into())
}
