//! The Docs tab with many Docs, through the real window: search (names and original names),
//! sort, the status filter, all still virtualized; per Doc: download through the save dialog
//! (`TWINDROP_TEST_SAVES`), the local file revealed (`TWINDROP_TEST_REVEALS`) or "no longer
//! at …", and the Twin/Doc reference copied to the clipboard.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use sha2::Digest;
use twindrop_e2e::{
    click, drop_and_start, screenshot, skip_without_display, text, wait_attr, wait_css, wait_rows, wait_text, App,
};
use twindrop_emulator::{Config, Emulator};

/// How many Docs the Twin is given before the app starts, by size class.
const SIZES: [usize; 4] = [10, 200, 3_000, 40_000];
const SEEDED: usize = 1_200;
/// Of the seeded Docs, this many of the smallest ended `hash_mismatch` (a wrong hash).
const MISMATCHED: usize = 12;

/// Whether seeded Doc `i` is attached with a wrong hash: the first `MISMATCHED` of size class 0.
fn mismatched(i: usize) -> bool {
    i % SIZES.len() == 0 && i < MISMATCHED * SIZES.len()
}

/// The seeded Docs: name → size. One upload per size class feeds many Docs (a handler is not
/// single-use), attached a few hundred per request, so seeding stays quick.
struct Seeded {
    twin: String,
    docs: Vec<(String, usize)>,
    bytes: Vec<Vec<u8>>,
}

fn seed_bytes(size: usize, salt: u8) -> Vec<u8> {
    (0..size).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)).collect()
}

/// A Twin with `SEEDED` Docs in the sandbox's state folder, made by an emulator on the same
/// folder before the app (whose sandbox then serves them) starts.
async fn seed(state_dir: &Path) -> Seeded {
    let secret = "seed-secret";
    let mut config = Config::new(secret);
    config.state_dir = Some(state_dir.to_owned());
    config.copy_delay = Duration::from_millis(10);
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let base = em.base_url().to_owned();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let request = http.request(method, format!("{base}{path}")).header("Authorization", secret);
        match body {
            Some(b) => request.json(&b),
            None => request.header("Content-Length", "0"),
        }
    };
    let twin: Value =
        call(reqwest::Method::POST, "/twins", Some(json!({}))).send().await.unwrap().json().await.unwrap();
    let twin = twin["creation_certificate"]["uuid"].as_str().unwrap().to_owned();
    let mut handlers = Vec::new();
    let mut bytes = Vec::new();
    for (i, size) in SIZES.iter().enumerate() {
        let target: Value = call(reqwest::Method::POST, "/cache", None).send().await.unwrap().json().await.unwrap();
        let body = seed_bytes(*size, i as u8);
        let put = http.put(target["url"].as_str().unwrap()).body(body.clone()).send().await.unwrap();
        assert!(put.status().is_success());
        handlers.push((target["handler"].as_str().unwrap().to_owned(), hex::encode(sha2::Sha256::digest(&body))));
        bytes.push(body);
    }
    let mut docs = Vec::new();
    let mut batch = serde_json::Map::new();
    for i in 0..SEEDED {
        let class = (i * 7) % SIZES.len();
        // A few report names, one kept with an original name that has spaces and accents.
        let name = match i {
            5 => "reports/Quarterly_report_Q3.pdf".to_owned(),
            _ if i % 100 == 42 => format!("reports/report_{i:04}.txt"),
            _ => format!("batch/file_{i:04}.bin"),
        };
        let (handler, hash) = &handlers[class];
        let hash = if mismatched(i) { "0".repeat(64) } else { hash.clone() };
        let mut entry = json!({ "handler": handler, "hash": hash });
        if i == 5 {
            entry["description"] = json!({"original_name": "Quarterly report Q3 — Zürich.pdf"});
        }
        batch.insert(name.clone(), entry);
        docs.push((name, SIZES[class]));
        if batch.len() == 300 || i == SEEDED - 1 {
            let body = json!({ "docs": std::mem::take(&mut batch) });
            let r = call(reqwest::Method::POST, &format!("/twins/{twin}/docs"), Some(body)).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    }
    // Every copy settled before the state is handed over.
    tokio::time::sleep(Duration::from_millis(500)).await;
    em.shutdown().await;
    Seeded { twin, docs, bytes }
}

async fn count(client: &Client) -> usize {
    let list = client.find(Locator::Css("#docs")).await.unwrap();
    list.attr("data-count").await.unwrap().unwrap_or_default().parse().unwrap()
}

async fn wait_count(client: &Client, n: usize, secs: u64) {
    wait_attr(client, "#docs", "data-count", &n.to_string(), secs).await;
}

/// The rows in the DOM, top first: (name, status).
async fn rows(client: &Client) -> Vec<(String, String)> {
    let v = client
        .execute(
            "return [...document.querySelectorAll('#docs [role=option]')]\
               .sort((a, b) => a.offsetTop - b.offsetTop).map(r => [r.dataset.name, r.dataset.status]);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

async fn select_value(client: &Client, css: &str, value: &str) {
    // A native <select>'s popup is GTK's, out of WebDriver's reach: set it as a person's choice
    // would, with the change event the page listens to.
    let el = client.find(Locator::Css(css)).await.unwrap();
    let arg = serde_json::to_value(&el).unwrap();
    client
        .execute(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            vec![arg, json!(value)],
        )
        .await
        .unwrap();
}

async fn search(client: &Client, what: &str) {
    let input = client.find(Locator::Css("#docs-search")).await.unwrap();
    input.clear().await.unwrap();
    if what.is_empty() {
        // clear() sets the value without an input event.
        let arg = serde_json::to_value(&input).unwrap();
        client.execute("arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", vec![arg]).await.unwrap();
    } else {
        input.send_keys(what).await.unwrap();
    }
}

async fn select_doc(client: &Client, name: &str) {
    click(client, &format!("#docs [data-name='{name}']")).await;
    wait_attr(client, "#doc-details .details-name", "title", name, 10).await;
}

/// What the X clipboard holds, read by a GTK client (the same python3-gi the drag source uses).
fn clipboard() -> String {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk, Gdk; \
             print(Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD).wait_for_text() or '', end='')",
        ])
        .output()
        .expect("python3 with GTK");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_docs_are_searched_sorted_filtered_and_downloaded() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let seeded = seed(&home.path().join("data/sandbox")).await;
    let out = home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (saves, reveals) = (home.path().join("saves.json"), home.path().join("reveals.log"));
    let (notes_copy, big_copy) = (out.join("notes copy.txt"), out.join("largest.bin"));
    std::fs::write(&saves, serde_json::to_vec(&json!([notes_copy, big_copy])).unwrap()).unwrap();
    let app = App::start(
        home.path(),
        &[("TWINDROP_TEST_SAVES", saves.as_path()), ("TWINDROP_TEST_REVEALS", reveals.as_path())],
    )
    .await;
    let client = &app.client;

    // The seeded Twin, chosen by its UUID; one file of our own sent to it through the window.
    let input = client.find(Locator::Css("#twin-input")).await.unwrap();
    input.send_keys(&seeded.twin).await.unwrap();
    click(client, "#twin-use").await;
    wait_text(client, "#twin-current", &seeded.twin, 15).await;
    let files = home.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let notes: PathBuf = files.join("Field notes é.txt");
    std::fs::write(&notes, b"field notes, kept locally\n").unwrap();
    drop_and_start(client, std::slice::from_ref(&notes)).await;
    let queued = wait_rows(client, 30, "the notes ok", |r| r.iter().any(|(_, _, s)| s == "ok")).await;
    let notes_doc = queued[0].1.as_str();
    assert!(notes_doc.starts_with("Field_notes"), "{notes_doc}");

    click(client, "#tab-docs").await;
    wait_count(client, SEEDED + 1, 30).await;
    let in_dom = rows(client).await.len();
    assert!((1..=40).contains(&in_dom), "{in_dom} rows in the DOM for {} Docs", SEEDED + 1);
    assert_eq!(text(client, "#docs-shown").await.trim(), "", "nothing to say while every Doc shows");

    // Search: names, any case.
    search(client, "REPORT").await;
    let reports = seeded.docs.iter().filter(|(n, _)| n.to_lowercase().contains("report")).count();
    wait_count(client, reports, 10).await;
    assert!(rows(client).await.iter().all(|(n, _)| n.to_lowercase().contains("report")));
    // ...and original names, once read (the search reads the Docs its names do not match).
    search(client, "report q3").await;
    wait_count(client, 1, 30).await;
    assert_eq!(rows(client).await[0].0, "reports/Quarterly_report_Q3.pdf");
    search(client, "field notes").await;
    wait_count(client, 1, 30).await;
    assert_eq!(rows(client).await[0].0, notes_doc);
    search(client, "").await;
    wait_count(client, SEEDED + 1, 10).await;

    // Sort by size: the largest first (ties by name), then reversed.
    select_value(client, "#docs-sort", "size").await;
    wait_attr(client, "#docs-sort-dir", "data-dir", "desc", 5).await;
    let mut expected: Vec<(String, usize)> = seeded.docs.clone();
    expected.push((notes_doc.to_owned(), 26));
    expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let shown: Vec<String> = rows(client).await.into_iter().map(|r| r.0).take(5).collect();
    let want: Vec<String> = expected.iter().take(5).map(|d| d.0.clone()).collect();
    assert_eq!(shown, want);
    search(client, "report").await;
    wait_count(client, reports, 10).await;
    screenshot(client, "e2e-docs-many-searched-sorted.png").await;
    search(client, "").await;
    click(client, "#docs-sort-dir").await;
    wait_attr(client, "#docs-sort-dir", "data-dir", "asc", 5).await;
    let first = rows(client).await[0].0.clone();
    assert_eq!(Some(&first), expected.iter().filter(|d| d.1 == SIZES[0]).map(|d| &d.0).min());

    // The status filter reads every status, a batch at a time, and shows only the matches.
    select_value(client, "#docs-filter", "hash_mismatch").await;
    wait_count(client, MISMATCHED, 60).await;
    assert!(rows(client).await.iter().all(|(_, s)| s == "hash_mismatch"));
    wait_text(client, "#docs-shown", &format!("Showing {MISMATCHED} of 1,201"), 30).await;
    select_value(client, "#docs-filter", "ok").await;
    wait_count(client, SEEDED + 1 - MISMATCHED, 30).await;
    select_value(client, "#docs-filter", "unknown").await;
    wait_count(client, 0, 10).await;
    wait_css(client, "#docs-none-match", 5).await;
    screenshot(client, "e2e-docs-many-filtered.png").await;
    select_value(client, "#docs-filter", "all").await;
    select_value(client, "#docs-sort", "name").await;
    wait_count(client, SEEDED + 1, 10).await;

    // Our own Doc: its local file is known, revealed, and downloaded through the save dialog.
    search(client, "field").await;
    wait_count(client, 1, 10).await;
    select_doc(client, notes_doc).await;
    wait_text(client, "#doc-local", &notes.display().to_string(), 10).await;
    click(client, "#doc-reveal").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&reveals).unwrap_or_default().trim() != notes.display().to_string() {
        assert!(Instant::now() < deadline, "not revealed: {:?}", std::fs::read_to_string(&reveals));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(client, "#doc-download").await;
    wait_text(client, "#doc-notice", "Saved", 20).await;
    assert_eq!(std::fs::read(&notes_copy).unwrap(), std::fs::read(&notes).unwrap());
    assert!(text(client, "#doc-notice").await.contains("SHA-256 matches"));
    // The reference, and the Twin alone, on the clipboard.
    click(client, "#doc-copy-ref").await;
    wait_text(client, "#doc-notice", "Copied the Twin/Doc reference", 5).await;
    assert_eq!(clipboard(), format!("{}/{notes_doc}", seeded.twin));
    click(client, "#doc-copy-twin").await;
    wait_text(client, "#doc-notice", "Copied the Twin UUID", 5).await;
    assert_eq!(clipboard(), seeded.twin);
    // Gone from its place: said, and no reveal offered.
    std::fs::remove_file(&notes).unwrap();
    search(client, "").await;
    wait_count(client, SEEDED + 1, 10).await;
    // Away and back: the local file is looked up again. (By name, ours sorts first.)
    let other = rows(client).await.into_iter().map(|r| r.0).find(|n| n != notes_doc).unwrap();
    select_doc(client, &other).await;
    select_doc(client, notes_doc).await;
    wait_text(client, "#doc-local", "file no longer at", 10).await;
    assert!(client.find(Locator::Css("#doc-reveal")).await.is_err());

    // A seeded Doc (no local file known) downloads byte for byte too.
    select_value(client, "#docs-sort", "size").await;
    let largest = expected[0].0.clone();
    wait_css(client, &format!("#docs [data-name='{largest}']"), 10).await;
    select_doc(client, &largest).await;
    assert!(client.find(Locator::Css("#doc-local")).await.is_err(), "no local file known for a seeded Doc");
    assert!(client.find(Locator::Css("#doc-reveal")).await.is_err());
    click(client, "#doc-download").await;
    wait_text(client, "#doc-notice", "Saved", 20).await;
    assert_eq!(std::fs::read(&big_copy).unwrap(), seeded.bytes[SIZES.len() - 1]);
    screenshot(client, "e2e-docs-downloaded.png").await;
    assert!(count(client).await == SEEDED + 1);

    // The smallest window: a selected Doc's actions and the toolbar are still there to click.
    client.set_window_rect(0, 0, 760, 520).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let covered = client
        .execute(
            "return arguments[0].map(css => { \
               const el = document.querySelector(css); \
               if (!el) return css + ': missing'; \
               el.scrollIntoView({ block: 'nearest' }); \
               const r = el.getBoundingClientRect(); \
               const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
               return hit === el || el.contains(hit) ? null : css + ': covered by ' + (hit ? hit.tagName + '#' + hit.id : 'nothing'); \
             }).filter(x => x);",
            vec![json!(["#docs-search", "#docs-sort", "#docs-filter", "#doc-download", "#doc-copy-ref", "#doc-delete"])],
        )
        .await
        .unwrap();
    assert_eq!(covered, json!([]), "at 760x520");
    let list = client.find(Locator::Css("#docs")).await.unwrap().rectangle().await.unwrap();
    assert!(list.3 >= 80.0, "the list keeps room for rows beside the details: {list:?}");
    screenshot(client, "e2e-docs-760x520-selected.png").await;
    app.close().await;
}
