//! The first run (issue 21, problems 5 and 6): a fresh profile opens on the sandbox with a
//! guide that is shown once, closed for good, and reopened from Help; "Add files…" waits, with
//! its reason, until a Twin is chosen, and the Twin is created right there. Twins then go by
//! their names: a new Twin named on the server, and a nickname given in the Twin card.

use fantoccini::{Client, Locator};
use twindrop_e2e::*;

async fn disabled(client: &Client, css: &str) -> bool {
    let el = client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    el.prop("disabled").await.unwrap().as_deref() == Some("true")
}

async fn fill(client: &Client, css: &str, value: &str) {
    let input = client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

async fn wait_text(client: &Client, css: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let now = match client.find(Locator::Css(css)).await {
            Ok(el) => el.prop("textContent").await.unwrap().unwrap_or_default(),
            Err(_) => String::new(),
        };
        if now.trim() == want {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{css} says {now:?}, not {want:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_shows_once_and_files_wait_for_a_twin() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let app = App::start_as_is(home.path(), &[]).await;
    let client = &app.client;
    assert_eq!(guide_state(client).await, "shown", "a fresh profile on the sandbox opens with the guide");
    let guide = text(client, "#first-run").await;
    for what in ["local sandbox", "A Twin", "Drop files", "Watch a folder", "Switch account"] {
        assert!(guide.contains(what), "the guide says nothing of {what:?}: {guide}");
    }
    screenshot(client, "first-run-guide.png").await;
    // At the smallest window the guide still fits, and "Got it" is there to click.
    client.set_window_rect(0, 0, 760, 520).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let on_top: bool = client
        .execute(
            "const b = document.querySelector('#first-run-close').getBoundingClientRect(); \
             const e = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2); \
             return b.bottom <= innerHeight && e && e.id === 'first-run-close';",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(on_top, "'Got it' is hidden or covered at 760x520");
    screenshot(client, "first-run-guide-760x520.png").await;
    client.set_window_rect(0, 0, 1100, 720).await.unwrap();

    // Behind it, files have nowhere to go yet: the buttons wait and say why.
    assert!(disabled(client, "#upload-add-files").await, "Add files… works before a Twin exists");
    assert!(disabled(client, "#upload-add-folder").await);
    assert_eq!(text(client, "#drop-reason").await.trim(), "Choose or create a Twin first");
    assert!(client.find(Locator::Css("#drop-create-twin")).await.is_ok(), "no way to create the Twin right there");

    click(client, "#first-run-close").await;
    wait_attr(client, "#screen-main", "data-guide", "hidden", 10).await;
    assert!(client.find(Locator::Css("#first-run")).await.is_err());
    app.close().await;

    // Closed once is closed for good: the next start opens without it; Help brings it back.
    let app = App::start_as_is(home.path(), &[]).await;
    let client = &app.client;
    assert_eq!(guide_state(client).await, "hidden", "the guide came back after a restart");
    click(client, "#help").await;
    wait_css(client, "#first-run", 10).await;
    click(client, "#first-run-close").await;
    wait_attr(client, "#screen-main", "data-guide", "hidden", 10).await;

    // The Twin is created from the drop zone itself; then files can be added.
    assert!(disabled(client, "#upload-add-files").await);
    click(client, "#drop-create-twin").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let twin = loop {
        let t = text(client, "#twin-current").await.trim().to_owned();
        if t.len() == 36 {
            break t;
        }
        assert!(std::time::Instant::now() < deadline, "no Twin after Create a Twin: {t:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(!disabled(client, "#upload-add-files").await, "Add files… still disabled with Twin {twin}");
    assert!(!disabled(client, "#upload-add-folder").await);
    assert!(client.find(Locator::Css("#drop-reason")).await.is_err(), "the reason outlived the Twin");
    assert!(client.find(Locator::Css("#drop-create-twin")).await.is_err());

    // With a Twin, the guide's first step says it is done.
    click(client, "#help").await;
    wait_css(client, "#first-run", 10).await;
    assert!(text(client, "#first-run").await.contains("You have a Twin"));
    assert!(client.find(Locator::Css("#first-run-create")).await.is_err());
    click(client, "#first-run-close").await;
    wait_attr(client, "#screen-main", "data-guide", "hidden", 10).await;

    // A new Twin named on the server shows by its name, in the card and on the Docs tab; the
    // UUID stays beside it, and a nickname given in the card wins over the server's name.
    fill(client, "#twin-new-name", "Lab scans").await;
    let named = new_twin(client).await;
    assert_ne!(named, twin);
    wait_text(client, "#twin-name", "Lab scans").await;
    wait_text(client, "#tab-docs .tab-twin", "Lab scans").await;
    assert_eq!(text(client, "#twin-current").await.trim(), named, "the UUID is still shown, to copy");
    click(client, "#twin-rename").await;
    fill(client, "#twin-rename-input", "Scans, mine").await;
    click(client, "#twin-rename-save").await;
    wait_text(client, "#twin-name", "Scans, mine").await;
    wait_text(client, "#tab-docs .tab-twin", "Scans, mine").await;
    let options = text(client, "#twin-select").await;
    assert!(options.contains("Scans, mine ·"), "recent Twins list the name: {options}");
    screenshot(client, "twin-card-nickname.png").await;
    app.close().await;

    // The CLI and the app keep names in the same settings.
    let settings = std::fs::read_to_string(home.path().join("config/settings.json")).unwrap();
    let settings: serde_json::Value = serde_json::from_str(&settings).unwrap();
    assert_eq!(settings["twin_names"][&named]["nickname"], "Scans, mine", "{settings}");
    assert_eq!(settings["twin_names"][&named]["serverName"], "Lab scans");
    assert_eq!(settings["guide_seen"], true);
}

/// Settings check each field as it is typed (issue 21, problem 10): a bandwidth of "fast" says
/// what is wrong beside its field, every wrong field is listed at once, Save waits until none
/// is, and the page says that changes apply on Save.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_say_what_is_wrong_as_it_is_typed() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let app = App::start(home.path(), &[]).await;
    let client = &app.client;
    click(client, "#tab-settings").await;
    wait_css(client, "#screen-settings", 10).await;
    wait_attr(client, "#pref-parallel", "aria-invalid", "false", 10).await;
    assert!(text(client, "#settings-applies").await.contains("apply when you press Save"));
    assert!(!disabled(client, "#prefs-save").await);

    click(client, "#bw-always").await;
    wait_css(client, "#bw-rate", 5).await;
    fill(client, "#bw-rate", "fast").await;
    wait_text(client, "#bw-rate-problem", "\"fast\" is not a rate: try 200k or 1.5 MB/s").await;
    wait_attr(client, "#bw-rate", "aria-invalid", "true", 5).await;
    fill(client, "#pref-parallel", "0").await;
    wait_text(client, "#pref-parallel-problem", "\"0\" is not a whole number from 1 to 16").await;
    let listed = client.find_all(Locator::Css("#prefs-problems li")).await.unwrap();
    let mut fields = Vec::new();
    for li in listed {
        fields.push(li.attr("data-field").await.unwrap().unwrap_or_default());
    }
    assert_eq!(fields, ["pref-parallel", "bw-rate"], "both problems at once, in the page's order");
    assert!(disabled(client, "#prefs-save").await, "Save is open on an invalid form");
    // A loaded machine paints late: the screenshot waits for the frame that shows the errors.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    screenshot(client, "settings-live-error.png").await;

    // Fixed, field by field: Save opens, and what it saves is what was typed.
    fill(client, "#pref-parallel", "3").await;
    fill(client, "#bw-rate", "2 MiB/s").await;
    wait_text(client, "#prefs-unsaved", "Changes not saved yet: they apply when you press Save").await;
    assert!(!disabled(client, "#prefs-save").await);
    click(client, "#prefs-save").await;
    wait_css(client, "#prefs-saved", 10).await;
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.path().join("config/settings.json")).unwrap()).unwrap();
    assert_eq!(saved["prefs"]["parallel"].as_u64(), Some(3), "{saved}");
    assert_eq!(saved["prefs"]["bandwidth"], "2M", "2 MiB/s, written as the engine writes it");
    app.close().await;
}
