//! The Upload panel through the real window: files picked through "Add folder…" and "Add
//! files…" (the picker's test seam answers for the GTK dialog) wait with their proposed Doc
//! names; an edited name that breaks a rule shows why and blocks the start until it is fixed;
//! the batch's storage class and description end up on every Doc, under the edited names.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::json;
use twindrop_e2e::{
    click, new_twin, screenshot, skip_without_display, text, wait_css, wait_rows, wait_staged, App, CONTROL_TOKEN,
};

/// (path, name typed, aria-invalid, reason) of each staged row, top first.
async fn staged(client: &Client) -> Vec<(String, String, String, String)> {
    let rows = client
        .execute(
            "return [...document.querySelectorAll('#upload-items li')].map(li => { \
               const input = li.querySelector('input'); \
               const reason = li.querySelector('.reason'); \
               return [li.dataset.path, input.value, input.getAttribute('aria-invalid'), \
                       reason ? reason.textContent.trim() : '']; });",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

async fn input_for(client: &Client, path: &Path) -> fantoccini::elements::Element {
    let css = format!("#upload-items li[data-path='{}'] input", path.display());
    client.find(Locator::Css(&css)).await.unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// Replace what the name input of `path` holds, as a person would: select all, type.
async fn type_name(client: &Client, path: &Path, name: &str) {
    let input = input_for(client, path).await;
    input.clear().await.unwrap();
    input.send_keys(name).await.unwrap();
}

async fn start_enabled(client: &Client) -> bool {
    client.find(Locator::Css("#upload-start")).await.unwrap().is_enabled().await.unwrap()
}

async fn wait_until(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picked_files_are_named_checked_and_sent_with_the_batch_settings() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let scans = home.path().join("scans");
    let write = |rel: &str, text: &str| -> PathBuf {
        let path = scans.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    };
    let report = write("Report 2024.pdf", "quarterly figures\n");
    let notes = write("notes.txt", "meeting notes\n");
    let csv = write("sub/Été.csv", "a,b\n1,2\n");
    let loose = home.path().join("loose.txt");
    std::fs::write(&loose, "not wanted\n").unwrap();
    // The picker's answers, one per call: the folder twice (the first batch is cleared with
    // Escape), then one file.
    let picks = home.path().join("picks.json");
    std::fs::write(&picks, json!([[scans], [scans], [loose]]).to_string()).unwrap();
    let app = App::start(home.path(), &[("TWINDROP_TEST_PICKS", picks.as_path())]).await;
    let (client, base) = (&app.client, app.base_url().await);
    let twin = new_twin(client).await;

    // (a) "Add folder…" stages the folder's files, named by their path from the folder.
    click(client, "#upload-add-folder").await;
    wait_staged(client, 3, 20).await;
    let rows = staged(client).await;
    let proposed: Vec<(String, String, String)> =
        rows.iter().map(|(p, n, invalid, _)| (p.clone(), n.clone(), invalid.clone())).collect();
    let row = |p: &Path, n: &str| (p.display().to_string(), n.to_owned(), "false".to_owned());
    assert_eq!(
        proposed,
        [row(&report, "scans/Report_2024.pdf"), row(&notes, "scans/notes.txt"), row(&csv, "scans/sub/Ete.csv")]
    );
    assert!(client.find_all(Locator::Css("#queue [role=row]")).await.unwrap().is_empty(), "nothing is sent yet");
    assert!(start_enabled(client).await);
    assert_eq!(text(client, "#upload-start").await.trim(), "Upload 3 files");

    // Escape clears the panel; the folder picked again comes back, and "Add files…" adds to it.
    input_for(client, &notes).await.send_keys(&Key::Escape.to_string()).await.unwrap();
    wait_until("the panel cleared by Escape", 5, async || client.find(Locator::Css("#upload-panel")).await.is_err())
        .await;
    click(client, "#upload-add-folder").await;
    wait_staged(client, 3, 20).await;
    click(client, "#upload-add-files").await;
    wait_staged(client, 4, 20).await;
    screenshot(client, "e2e-upload-staged.png").await;
    click(client, &format!("#upload-items li[data-path='{}'] .remove", loose.display())).await;
    wait_staged(client, 3, 5).await;

    // (b) An edited name that breaks a rule says which and where, and blocks the start; Enter
    // does not start it either.
    type_name(client, &notes, "scans/my notes.txt").await;
    let input = input_for(client, &notes).await;
    wait_until("the bad name flagged", 5, async || {
        input.attr("aria-invalid").await.unwrap().as_deref() == Some("true")
    })
    .await;
    let reason_id = input.attr("aria-describedby").await.unwrap().expect("the reason is described");
    let reason = text(client, &format!("#{reason_id}")).await;
    assert_eq!(
        reason.trim(),
        "' ' (position 9) is not allowed in a folder or base name: letters, digits, '-' and '_' only"
    );
    assert!(!start_enabled(client).await, "a bad name must block the start");
    screenshot(client, "e2e-upload-invalid-name.png").await;
    assert!(text(client, "#upload-why").await.contains("1 name to fix"), "{}", text(client, "#upload-why").await);
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(client.find(Locator::Css("#upload-panel")).await.is_ok(), "Enter started a batch with a bad name");
    // Two files under one name block too, both of them.
    type_name(client, &report, "scans/my_notes.txt").await;
    type_name(client, &notes, "scans/my_notes.txt").await;
    wait_until("both duplicates flagged", 5, async || {
        staged(client).await.iter().filter(|r| r.3.contains("2 files of this batch")).count() == 2
    })
    .await;
    screenshot(client, "e2e-upload-duplicate-names.png").await;
    type_name(client, &report, "reports/q4-2024.pdf").await;
    // Accepted: nothing left to fix; a name the rules changed only says why.
    wait_until("the fixed names accepted", 5, async || {
        staged(client).await.iter().all(|r| r.2 == "false" && (r.3.is_empty() || r.3.starts_with("renamed: ")))
    })
    .await;
    assert!(start_enabled(client).await);
    let rows = staged(client).await;
    let accented = rows.iter().find(|r| r.0.ends_with("Été.csv")).expect("the accented file is staged");
    assert_eq!(accented.3, "renamed: accents and other non-ASCII letters are spelled in ASCII", "{rows:?}");
    // The names the rules changed can be reviewed alone (the edited ones are a person's now).
    click(client, "#upload-only-renamed").await;
    wait_until("only the renamed shown", 5, async || staged(client).await.len() == 1).await;
    assert!(staged(client).await[0].0.ends_with("Été.csv"), "{:?}", staged(client).await);
    click(client, "#upload-only-renamed").await;
    wait_until("all shown again", 5, async || staged(client).await.len() == rows.len()).await;

    // A template renames what nobody edited; edited names stay.
    client.find(Locator::Css("#upload-template")).await.unwrap().send_keys("tables/{stem}.{ext}").await.unwrap();
    wait_until("the template applied", 10, async || staged(client).await.iter().any(|r| r.1 == "tables/Ete.csv")).await;

    // (c) The batch's storage class and description. A key the server refuses blocks the start.
    client.find(Locator::Css("#upload-storage")).await.unwrap().select_by_value("cost_optimized").await.unwrap();
    let description = client.find(Locator::Css("#upload-description")).await.unwrap();
    description.send_keys("Origin: scanner").await.unwrap();
    wait_css(client, "#upload-description-error", 5).await;
    assert!(text(client, "#upload-description-error").await.contains("\"Origin\""));
    assert!(!start_enabled(client).await, "a bad description must block the start");
    description.clear().await.unwrap();
    // Enter in the description is a new line, not a start.
    description.send_keys(&format!("origin: scanner{}batch: 7", Key::Enter)).await.unwrap();
    wait_until("the description accepted", 5, async || {
        client.find(Locator::Css("#upload-description-error")).await.is_err()
    })
    .await;
    let names = ["reports/q4-2024.pdf", "scans/my_notes.txt", "tables/Ete.csv"];
    let shown: Vec<String> = staged(client).await.into_iter().map(|r| r.1).collect();
    assert_eq!(shown, names);

    // Enter in a name starts the batch.
    input_for(client, &csv).await.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_until("the panel closed", 20, async || client.find(Locator::Css("#upload-panel")).await.is_err()).await;
    wait_rows(client, 60, "three ok", |r| r.len() == 3 && r.iter().all(|(_, _, s)| s == "ok")).await;
    let mut in_queue: Vec<String> = twindrop_e2e::queue_rows(client).await.into_iter().map(|r| r.1).collect();
    in_queue.sort();
    assert_eq!(in_queue, names);

    // (d) The sandbox attached exactly these names, once each.
    let stats: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/_emulator/stats"))
        .header("X-Emulator-Control", CONTROL_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attached = stats["attached"][&twin].as_object().unwrap_or_else(|| panic!("no Docs attached: {stats}"));
    let mut attached: Vec<(&str, u64)> = attached.iter().map(|(k, v)| (k.as_str(), v.as_u64().unwrap())).collect();
    attached.sort();
    assert_eq!(attached, names.map(|n| (n, 1)));
    app.close().await;

    // Each Doc, read back from the sandbox's state with a secret of our own, carries the batch's
    // storage class and description and the bytes of its file.
    let mut cfg = twindrop_emulator::Config::new("e2e-checker");
    cfg.state_dir = Some(home.path().join("data/sandbox"));
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
    let http = reqwest::Client::new();
    for (name, file) in names.iter().zip([&report, &notes, &csv]) {
        let doc: serde_json::Value = http
            .get(format!("{}/twins/{twin}/docs/{name}", em.base_url()))
            .header("Authorization", "e2e-checker")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["status"], "ok", "{name}: {doc}");
        assert_eq!(doc["storage_class"], "cost_optimized", "{name}: {doc}");
        let own = file.file_name().unwrap().to_str().unwrap();
        assert_eq!(doc["description"], json!({"origin": "scanner", "batch": 7, "original_name": own}), "{name}: {doc}");
        assert_eq!(doc["creation_certificate"]["size"], std::fs::metadata(file).unwrap().len(), "{name}: {doc}");
    }
    em.shutdown().await;
}

/// The panel in the dark theme (GTK's dark preference reaches the page as
/// `prefers-color-scheme: dark`): its colours come from the theme's variables, so a staged
/// batch with a bad name reads light on dark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_follows_the_dark_theme() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("My Report.pdf");
    std::fs::write(&file, "x").unwrap();
    let picks = home.path().join("picks.json");
    std::fs::write(&picks, json!([[file]]).to_string()).unwrap();
    let dark = PathBuf::from("Adwaita:dark");
    let extra = [("TWINDROP_TEST_PICKS", picks.as_path()), ("GTK_THEME", dark.as_path())];
    let app = App::start(home.path(), &extra).await;
    let client = &app.client;
    new_twin(client).await;
    click(client, "#upload-add-files").await;
    wait_staged(client, 1, 20).await;
    type_name(client, &file, "My Report.pdf").await;
    wait_css(client, "#upload-items .reason", 5).await;
    screenshot(client, "e2e-upload-dark.png").await;
    let colours = client
        .execute(
            "const dark = matchMedia('(prefers-color-scheme: dark)').matches; \
             const lum = c => { const [r, g, b] = c.match(/\\d+/g).map(Number); return (r + g + b) / 3; }; \
             const panel = getComputedStyle(document.getElementById('upload-panel')); \
             const reason = getComputedStyle(document.querySelector('#upload-items .reason')); \
             return [dark, lum(panel.backgroundColor), lum(panel.color), lum(reason.color)];",
            vec![],
        )
        .await
        .unwrap();
    let (is_dark, panel_bg, panel_text, reason) = serde_json::from_value::<(bool, f64, f64, f64)>(colours).unwrap();
    assert!(is_dark, "GTK's dark preference did not reach the page");
    assert!(panel_bg < 80.0 && panel_text > 150.0, "panel {panel_bg} on text {panel_text}");
    assert!(reason > panel_bg + 60.0, "the reason ({reason}) does not stand out from the panel ({panel_bg})");
    app.close().await;
}
