//! Verify through the real window: a watched folder whose file changed while it was paused
//! shows its groups with their counts; its receipt is saved through the save dialog's test
//! seam and checks out against its own SHA-256; "Send again" puts the folder in step, which its
//! status line says. Then "Verify against a folder…" on the Docs tab, with a picked folder
//! (the picker's test seam), sends what is missing through the upload queue.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use twindrop_e2e::{click, new_twin, screenshot, skip_without_display, text, wait_attr, wait_css, wait_text, App};

/// The group chips of the Verify view: verdict → count.
async fn chips(client: &Client) -> BTreeMap<String, u64> {
    let found = client
        .execute(
            "return [...document.querySelectorAll('#verify-chips [data-verdict]')]\
               .map(c => [c.dataset.verdict, Number(c.dataset.count)]);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value::<Vec<(String, u64)>>(found).unwrap().into_iter().collect()
}

/// The rows of the Verify list as rendered, top first: (verdict, name).
async fn rows(client: &Client) -> Vec<(String, String)> {
    let found = client
        .execute(
            "return [...document.querySelectorAll('#verify-list [data-verdict][data-name]')]\
               .sort((a, b) => a.offsetTop - b.offsetTop).map(r => [r.dataset.verdict, r.dataset.name]);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// Wait for the verification under way to end; returns its chips.
async fn verified(client: &Client) -> BTreeMap<String, u64> {
    wait_css(client, "#verify", 10).await;
    wait_attr(client, "#verify", "data-state", "done", 60).await;
    chips(client).await
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// JSON with object keys sorted and no whitespace: the receipt's canonical content.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Press "Verify again" until the chips are `want` (uploads take a moment to settle).
async fn verify_until(client: &Client, want: &BTreeMap<String, u64>, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = verified(client).await;
        if &now == want {
            return;
        }
        assert!(Instant::now() < deadline, "the chips are {now:?}, not {want:?}, after {secs} s");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = client.find(Locator::Css("#verify")).await.unwrap().attr("data-id").await.unwrap();
        click(client, "#verify-again").await;
        // A new verification has a new id.
        let again = Instant::now() + Duration::from_secs(60);
        while client.find(Locator::Css("#verify")).await.unwrap().attr("data-id").await.unwrap() == before {
            assert!(Instant::now() < again, "Verify again did not verify again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_shows_groups_exports_a_receipt_and_sends_again() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("scans");
    std::fs::create_dir_all(&folder).unwrap();
    let folder = folder.canonicalize().unwrap();
    std::fs::write(folder.join("a.txt"), "first scan\n").unwrap();
    std::fs::write(folder.join("b.txt"), "second scan\n").unwrap();
    let batch = home.path().join("batch");
    std::fs::create_dir_all(&batch).unwrap();
    std::fs::write(batch.join("d.txt"), "fourth scan\n").unwrap();
    let (picks, saves) = (home.path().join("picks.json"), home.path().join("saves.json"));
    std::fs::write(&picks, json!([[folder], [batch]]).to_string()).unwrap();
    let receipt = home.path().join("receipt.json");
    std::fs::write(&saves, json!([receipt]).to_string()).unwrap();

    let app =
        App::start(home.path(), &[("TWINDROP_TEST_PICKS", picks.as_path()), ("TWINDROP_TEST_SAVES", saves.as_path())])
            .await;
    let client = &app.client;
    let twin = new_twin(client).await;

    // Watched, synced, then paused while one file changes and another appears.
    click(client, "#tab-watched").await;
    click(client, "#watched-add").await;
    wait_attr(client, "#watched .folder", "data-path", folder.to_str().unwrap(), 10).await;
    // Synced: both Docs are ok (a sync ends when its last Doc is).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text(client, "#watched .folder .when").await.trim().starts_with("synced") {
        assert!(Instant::now() < deadline, "the folder did not sync");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_attr(client, "#watched .folder", "data-status", "watching", 30).await;
    click(client, "#watched-pause").await;
    wait_attr(client, "#watched .folder", "data-status", "paused", 10).await;
    std::fs::write(folder.join("a.txt"), "first scan, corrected\n").unwrap();
    std::fs::write(folder.join("c.txt"), "third scan\n").unwrap();

    click(client, "#watched-verify").await;
    let found = verified(client).await;
    let five = |differs, not_on_server, r#match| {
        counts(&[
            ("differs", differs),
            ("not_ok", 0),
            ("not_on_server", not_on_server),
            ("only_on_server", 0),
            ("match", r#match),
        ])
    };
    assert_eq!(found, five(1, 1, 1), "the five groups (no unreadable one: nothing was)");
    assert_eq!(text(client, "#verify-summary").await, "1 differs · 1 not on the server · 1 match");
    let names = rows(client).await;
    assert_eq!(
        names,
        [("differs", "a.txt"), ("not_on_server", "c.txt"), ("match", "b.txt")]
            .map(|(v, n)| (v.to_owned(), n.to_owned()))
    );
    let headers = client
        .execute(
            "return [...document.querySelectorAll('#verify-list [data-group]')].map(g => g.dataset.group);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(headers, json!(["differs", "not_on_server", "match"]), "a header above each group");
    assert_eq!(text(client, "#verify-send").await.trim(), "Send again (2)");
    // The folder's status line (behind the view) has it from the folders' journal.
    wait_text(client, "#watched .folder .verified", "not in step", 10).await;
    wait_text(client, "#watched-verified", "1 match, 1 differs, 1 not on the server", 10).await;
    screenshot(client, "e2e-verify-folder.png").await;

    // The receipt, through the save dialog's test seam: written where the dialog said, and its
    // SHA-256 is that of its canonical content (the receipt without that field).
    click(client, "#verify-export").await;
    let notice = wait_text(client, "#verify-notice", "Receipt saved to", 15).await;
    assert!(notice.contains(receipt.to_str().unwrap()), "{notice}");
    let mut saved: Value = serde_json::from_slice(&std::fs::read(&receipt).unwrap()).unwrap();
    let says = saved["sha256"].as_str().unwrap().to_owned();
    saved.as_object_mut().unwrap().remove("sha256");
    assert_eq!(hex::encode(Sha256::digest(canonical(&saved).as_bytes())), says, "the receipt's hash checks out");
    assert_eq!(saved["format"], "twindrop-receipt/1");
    assert_eq!(saved["destination"], twin.as_str());
    assert_eq!(saved["counts"]["differs"], 1);
    let entries: Vec<(String, String)> = saved["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e["verdict"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        entries,
        [("a.txt", "differs"), ("c.txt", "not_on_server"), ("b.txt", "match")].map(|(n, v)| (n.into(), v.into()))
    );
    assert_eq!(std::fs::read_to_string(&saves).unwrap(), "[]", "the seam's answer was used");

    // Send again: through the folder's queue (the changed file replaces the Doc it made).
    click(client, "#verify-send").await;
    wait_text(client, "#verify-notice", "2 files queued again", 15).await;
    verify_until(client, &five(0, 0, 3), 60).await;
    assert_eq!(text(client, "#verify-summary").await, "In step: 3 files match");
    screenshot(client, "e2e-verify-in-step.png").await;
    click(client, "#verify-close").await;
    let line = wait_text(client, "#watched .folder .verified", "· in step", 10).await;
    assert!(line.trim().starts_with("verified ") && !line.contains("not in step"), "{line}");
    wait_text(client, "#watched-verified", "3 match (in step)", 10).await;

    // The Docs tab: a picked folder against the Twin, named as an upload names it.
    click(client, "#tab-docs").await;
    click(client, "#docs-verify").await;
    let found = verified(client).await;
    assert_eq!(
        found,
        counts(&[("differs", 0), ("not_ok", 0), ("not_on_server", 1), ("only_on_server", 3), ("match", 0)])
    );
    assert_eq!(rows(client).await.first(), Some(&("not_on_server".to_owned(), "batch/d.txt".to_owned())));
    click(client, "#verify-send").await;
    wait_text(client, "#verify-notice", "1 file queued again", 15).await;
    verify_until(
        client,
        &counts(&[("differs", 0), ("not_ok", 0), ("not_on_server", 0), ("only_on_server", 3), ("match", 1)]),
        60,
    )
    .await;

    // At the smallest window the view's actions stay in sight.
    client.set_window_rect(0, 0, 760, 520).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let inside = client
        .execute(
            "const sheet = document.getElementById('verify').getBoundingClientRect(); \
             return ['verify-send', 'verify-export', 'verify-again', 'verify-close'].map(id => { \
               const r = document.getElementById(id).getBoundingClientRect(); \
               return r.width > 0 && r.left >= sheet.left && r.right <= sheet.right && r.bottom <= sheet.bottom \
                 && r.bottom <= window.innerHeight && r.right <= window.innerWidth; });",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inside, json!([true, true, true, true]), "an action is cut off at 760x520");
    screenshot(client, "e2e-verify-narrow.png").await;
    app.close().await;
}
