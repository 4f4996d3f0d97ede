//! Watched folders, Activity and Settings through the real window: a folder added with the
//! folder picker (its test seam), given a name template and an ignore pattern, watched: its
//! files become Docs of the sandbox Twin, an ignored file does not, a paused folder sends
//! nothing until it is resumed; the folder counts its files in step, names the last synced
//! with their Docs, and, paused, counts the changes waiting; the Activity tab lists its syncs,
//! naming their files; Settings refuse a bad
//! bandwidth schedule with the reason and keep a good one (and the parallelism) across a
//! restart of the app.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::json;
use twindrop_e2e::{click, new_twin, screenshot, skip_without_display, text, wait_attr, wait_css, wait_text, App};

/// The app on `home`'s config and data folders, with the folder picker answering from `picks`.
async fn start(home: &Path, picks: &Path, extra: &[(&str, &Path)]) -> App {
    let mut env = vec![("TWINDROP_TEST_PICKS", picks)];
    env.extend_from_slice(extra);
    App::start(home, &env).await
}

/// Replace an input's value by typing, as a user would.
async fn type_into(client: &Client, css: &str, value: &str) {
    let el = client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    el.clear().await.unwrap();
    el.send_keys(value).await.unwrap();
}

/// The Docs of the chosen Twin as the Docs tab lists them, read afresh.
async fn docs(client: &Client) -> BTreeSet<String> {
    click(client, "#tab-docs").await;
    wait_css(client, "#docs-refresh", 10).await;
    // Wait for any read in progress, then read again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.find(Locator::Css("#docs-refresh:disabled")).await.is_ok() {
        assert!(Instant::now() < deadline, "the Docs list stays busy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(client, "#docs-refresh").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    while client.find(Locator::Css("#docs-refresh:disabled")).await.is_ok() {
        assert!(Instant::now() < deadline, "the Docs list stays busy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names = client
        .execute("return [...document.querySelectorAll('#docs [data-name]')].map(e => e.dataset.name);", vec![])
        .await
        .unwrap();
    serde_json::from_value(names).unwrap()
}

/// Wait until the Twin has the Doc `name`; returns all the Docs then.
async fn wait_doc(client: &Client, name: &str, secs: u64) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let names = docs(client).await;
        if names.contains(name) {
            return names;
        }
        assert!(Instant::now() < deadline, "no Doc {name} within {secs} s; the Twin has {names:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn folder_status(client: &Client, status: &str, secs: u64) {
    click(client, "#tab-watched").await;
    wait_attr(client, "#watched .folder", "data-status", status, secs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_folder_syncs_pauses_resumes_and_settings_survive_a_restart() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("scans");
    std::fs::create_dir_all(&folder).unwrap();
    let folder = folder.canonicalize().unwrap();
    let picks = home.path().join("picks.json");
    std::fs::write(&picks, serde_json::to_vec(&json!([[folder]])).unwrap()).unwrap();

    let app = start(home.path(), &picks, &[]).await;
    let client = &app.client;
    let twin = new_twin(client).await;

    // The new tabs are in the tablist's keyboard order: End lands on Settings, Left on Activity.
    click(client, "#tab-uploads").await;
    client.find(Locator::Css("#tab-uploads")).await.unwrap().send_keys(&Key::End.to_string()).await.unwrap();
    wait_attr(client, "#tab-settings", "aria-selected", "true", 5).await;
    client.find(Locator::Css("#tab-settings")).await.unwrap().send_keys(&Key::Left.to_string()).await.unwrap();
    wait_attr(client, "#tab-activity", "aria-selected", "true", 5).await;
    let focused = client.execute("return document.activeElement.id;", vec![]).await.unwrap();
    assert_eq!(focused, json!("tab-activity"));

    // Add the folder with the picker; it is selected and watched at once.
    click(client, "#tab-watched").await;
    wait_css(client, "#screen-watched", 10).await;
    click(client, "#watched-add").await;
    wait_attr(client, "#watched .folder", "data-path", folder.to_str().unwrap(), 10).await;
    wait_attr(client, "#watched .folder", "data-status", "watching", 10).await;

    // A template typo is named while typing; Save stays off until it is right.
    type_into(client, "#watched-template", "w/{nme}").await;
    let problem = text(client, "#watched-template-help").await;
    assert!(problem.contains("Unknown placeholder {nme}"), "{problem}");
    assert!(client.find(Locator::Css("#watched-save:disabled")).await.is_ok());
    type_into(client, "#watched-template", "w/{name}").await;
    type_into(client, "#watched-ignore", "*.log").await;
    // A folder resolves a foreign Doc's name by renaming (the default) or skipping, never by
    // replacing: there is no such choice.
    let conflict = wait_css(client, "#watched-conflict", 5).await;
    let choices: Vec<String> = {
        let mut out = Vec::new();
        for option in conflict.find_all(Locator::Css("option")).await.unwrap() {
            out.push(option.attr("value").await.unwrap().unwrap_or_default());
        }
        out
    };
    assert_eq!(choices, ["rename", "skip"]);
    conflict.select_by_value("skip").await.unwrap();
    click(client, "#watched-save").await;
    wait_css(client, "#watched-notice", 10).await;
    assert!(text(client, "#watched-notice").await.contains("Saved"));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.path().join("config/settings.json")).unwrap()).unwrap();
    assert_eq!(saved["watched"][0]["template"], "w/{name}");
    assert_eq!(saved["watched"][0]["ignore"], json!(["*.log"]));
    assert_eq!(saved["watched"][0]["on_conflict"], "skip");
    screenshot(client, "e2e-watched-folder.png").await;

    // What the engine refuses comes back as code — message, and the form keeps what was typed.
    type_into(client, "#watched-twin", "not-a-twin").await;
    click(client, "#watched-save").await;
    wait_css(client, "#watched-action-error", 10).await;
    let refused = text(client, "#watched-action-error").await;
    assert!(refused.trim().starts_with("destination.invalid — "), "{refused}");
    screenshot(client, "e2e-watched-refused.png").await;
    type_into(client, "#watched-twin", &twin).await;
    assert!(client.find(Locator::Css("#watched-save:disabled")).await.is_ok(), "nothing left to save");

    // Files written into it go up under the template; the ignored one does not.
    std::fs::write(folder.join("a.txt"), "first scan\n").unwrap();
    std::fs::write(folder.join("debug.log"), "noise\n").unwrap();
    wait_doc(client, "w/a.txt", 30).await;
    folder_status(client, "watching", 15).await;
    let synced = text(client, "#watched .folder .when").await;
    assert!(synced.contains("synced"), "last sync shown: {synced:?}");
    std::fs::write(folder.join("b.txt"), "second scan\n").unwrap();
    let names = wait_doc(client, "w/b.txt", 30).await;
    assert!(!names.iter().any(|n| n.contains("debug")), "an ignored file was uploaded: {names:?}");
    screenshot(client, "e2e-watched-docs.png").await;

    // The folder says how many of its files are in step, and names the last synced with their
    // Docs (the ignored file is not one of its files).
    folder_status(client, "watching", 15).await;
    let figures = wait_text(client, "#watched .folder .figures", "2 in step", 15).await;
    assert_eq!(figures.trim(), "2 in step", "nothing waiting or failed: {figures:?}");
    wait_text(client, "#watched-counts", "2 in step", 5).await;
    let recent: Vec<(String, String)> = serde_json::from_value(
        client
            .execute(
                "return [...document.querySelectorAll('#watched-recent li')].map(e => [e.dataset.file, e.dataset.doc]);",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        recent.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([("a.txt", "w/a.txt"), ("b.txt", "w/b.txt")].map(|(f, d)| (f.to_owned(), d.to_owned()))),
        "the last synced, each with its Doc: {recent:?}"
    );
    let first = text(client, "#watched-recent li:first-child").await;
    assert!(first.contains("b.txt") && first.contains("→ w/b.txt"), "newest first: {first:?}");
    screenshot(client, "e2e-watched-in-step.png").await;

    // Paused: a new file stays on the disk.
    folder_status(client, "watching", 15).await;
    click(client, "#watched-pause").await;
    wait_attr(client, "#watched .folder", "data-status", "paused", 10).await;
    assert_eq!(text(client, "#watched-pause").await.trim(), "Resume");
    std::fs::write(folder.join("c.txt"), "written while paused\n").unwrap();
    // It counts what it has not sent: the new file (the ignored one written meanwhile is none).
    std::fs::write(folder.join("trace.log"), "noise\n").unwrap();
    wait_text(client, "#watched-changes", "1 change waiting", 20).await;
    wait_text(client, "#watched .folder .changes", "1 change waiting", 5).await;
    screenshot(client, "e2e-watched-paused.png").await;
    // The Uploads tab groups the folder's sync under its name: its state, its figures and the
    // files it sent last with their Docs; "Open" leads back here.
    click(client, "#tab-uploads").await;
    wait_text(client, "#folder-syncs-summary", "1 watched folder · 1 change waiting", 10).await;
    click(client, "#folder-syncs-summary").await;
    let group = wait_text(client, "#folder-syncs .group", "Paused · 2 in step · 1 change waiting", 10).await;
    assert!(group.contains("b.txt → w/b.txt") && group.contains("a.txt → w/a.txt"), "{group:?}");
    screenshot(client, "e2e-uploads-folder-syncs.png").await;
    click(client, "#folder-syncs .group .open").await;
    wait_attr(client, "#tab-watched", "aria-selected", "true", 5).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let names = docs(client).await;
    assert!(!names.contains("w/c.txt"), "a paused folder uploaded: {names:?}");
    // Resumed: the file written meanwhile goes up.
    click(client, "#tab-watched").await;
    wait_css(client, "#watched-pause", 10).await;
    click(client, "#watched-pause").await;
    wait_attr(client, "#watched .folder", "data-status", "watching", 10).await;
    let names = wait_doc(client, "w/c.txt", 30).await;
    assert_eq!(
        names,
        ["w/a.txt", "w/b.txt", "w/c.txt"].map(String::from).into_iter().collect::<BTreeSet<_>>(),
        "exactly the three files, under the template"
    );

    // The Activity tab lists the syncs, newest first, and filters them.
    click(client, "#tab-activity").await;
    // The last sync ends once its Doc is verified, a moment after the Doc is listed.
    wait_css(client, "#activity li:first-child[data-kind='watched_sync']", 15).await;
    let kinds: Vec<String> = serde_json::from_value(
        client
            .execute(
                "return [...document.querySelectorAll('#activity li[data-kind]')].map(e => e.dataset.kind);",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(kinds.first().map(String::as_str), Some("watched_sync"), "newest first: {kinds:?}");
    for kind in ["resumed", "paused", "signed_in"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} entry: {kinds:?}");
    }
    let first = text(client, "#activity li[data-kind='watched_sync'] .message").await;
    assert!(first.contains("1 ok") && first.contains(folder.to_str().unwrap()), "{first}");
    // It names the file it synced.
    assert!(first.contains("c.txt"), "the sync's line names its file: {first}");
    screenshot(client, "e2e-activity.png").await;
    click(client, "#activity-filter-account").await;
    wait_css(client, "#activity li[data-kind='paused']", 10).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.find(Locator::Css("#activity li[data-kind='watched_sync']")).await.is_ok() {
        assert!(Instant::now() < deadline, "the filter still shows syncs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Settings: parallelism and a bandwidth schedule. A bad time is refused with its reason.
    click(client, "#tab-settings").await;
    wait_css(client, "#screen-settings", 10).await;
    wait_attr(client, "#pref-parallel", "aria-invalid", "false", 10).await;
    type_into(client, "#pref-parallel", "2").await;
    click(client, "#bw-schedule").await;
    wait_css(client, "#bw-time-0", 5).await;
    type_into(client, "#bw-time-0", "25:00").await;
    wait_css(client, "#prefs-problem", 5).await;
    let reason = text(client, "#prefs-problem").await;
    assert!(reason.contains("\"25:00\" is not a time"), "{reason}");
    screenshot(client, "e2e-settings-invalid.png").await;
    let save = client.find(Locator::Css("#prefs-save")).await.unwrap();
    assert_eq!(save.prop("disabled").await.unwrap().as_deref(), Some("true"), "Save is open on an invalid form");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.path().join("config/settings.json")).unwrap()).unwrap();
    assert!(saved["prefs"].is_null() || saved["prefs"]["parallel"] == 4, "an invalid form was saved: {saved}");
    type_into(client, "#bw-time-0", "08:00").await;
    type_into(client, "#bw-rate-0", "512k").await;
    click(client, "#prefs-save").await;
    wait_css(client, "#prefs-saved", 10).await;
    assert_eq!(text(client, "#bw-spec").await, "08:00,512k 18:00,off");
    screenshot(client, "e2e-settings-saved.png").await;
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.path().join("config/settings.json")).unwrap()).unwrap();
    assert_eq!(saved["prefs"]["parallel"], 2);
    assert_eq!(saved["prefs"]["bandwidth"], "08:00,512k 18:00,off");
    assert_eq!(saved["prefs"]["notifications"], true);

    // At the smallest window size the three screens still fit: nothing sticks out sideways.
    client.set_window_rect(0, 0, 760, 520).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for tab in ["watched", "activity", "settings"] {
        click(client, &format!("#tab-{tab}")).await;
        wait_css(client, &format!("#screen-{tab}"), 10).await;
        let overflow = client
            .execute(
                "return [document.documentElement.scrollWidth - window.innerWidth, \
                 [...document.querySelectorAll('.card *')].filter(e => { \
                   const card = e.closest('.card').getBoundingClientRect(), r = e.getBoundingClientRect(); \
                   return r.width > 0 && r.right > card.right + 0.5; }).map(e => e.tagName + '.' + e.className)];",
                vec![],
            )
            .await
            .unwrap();
        screenshot(client, &format!("e2e-{tab}-narrow.png")).await;
        assert_eq!(overflow, json!([0, []]), "{tab} at 760x520: overflow");
    }
    let tabs_fit = client
        .execute(
            "const last = document.getElementById('tab-settings').getBoundingClientRect(); \
             return last.right <= document.querySelector('.tabs').parentElement.getBoundingClientRect().right;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(tabs_fit, json!(true), "the five tabs do not fit at 760x520");

    app.close().await;

    // After a restart (in the dark theme this time): the settings as saved, and the folder
    // watched again.
    let dark = PathBuf::from("Adwaita:dark");
    let app = start(home.path(), &picks, &[("GTK_THEME", dark.as_path())]).await;
    let client = &app.client;
    click(client, "#tab-settings").await;
    wait_css(client, "#bw-time-1", 10).await;
    let value = |css: &'static str| async move {
        client.find(Locator::Css(css)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
    };
    assert_eq!(value("#pref-parallel").await, "2");
    assert_eq!((value("#bw-time-0").await, value("#bw-rate-0").await), ("08:00".into(), "512k".into()));
    assert_eq!((value("#bw-time-1").await, value("#bw-rate-1").await), ("18:00".into(), "off".into()));
    assert!(client.find(Locator::Css("#bw-schedule:checked")).await.is_ok());
    screenshot(client, "e2e-settings-after-restart-dark.png").await;
    folder_status(client, "watching", 20).await;
    screenshot(client, "e2e-watched-dark.png").await;
    click(client, "#tab-activity").await;
    wait_css(client, "#activity li[data-kind='signed_in']", 10).await;
    screenshot(client, "e2e-activity-dark.png").await;
    app.close().await;
}
