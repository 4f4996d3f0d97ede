//! A file deleted before it could be sent fails `file.not_found`; its row offers Remove and
//! Locate… beside Retry. Remove takes the row away; Locate… (the picker's test seam
//! TWINDROP_TEST_PICKS answers) sends the file from its new place under the same Doc name.

use std::path::PathBuf;

use fantoccini::Locator;
use serde_json::json;
use twindrop_e2e::{
    click, new_twin, screenshot, skip_without_display, start_staged, text, wait_attr, wait_css, wait_rows, wait_staged,
    App,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_removed_or_located() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let files = home.path().join("files");
    std::fs::create_dir_all(files.join("moved")).unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let path = files.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let (dropped, lost) = (write("dropped.txt", b"no longer wanted\n"), write("lost.txt", b"moved away\n"));
    let found = write("moved/lost (found).txt", b"moved away, and grown since\n");
    // "Add files…" picks both; "Locate…" picks the file's new place.
    let picks = home.path().join("picks.json");
    std::fs::write(&picks, json!([[dropped, lost], [found]]).to_string()).unwrap();
    let app = App::start(home.path(), &[("TWINDROP_TEST_PICKS", picks.as_path())]).await;
    let client = &app.client;
    new_twin(client).await;

    // Paused, so that both files are gone before the queue reaches them.
    click(client, "#queue-pause-all").await;
    wait_css(client, "#queue-resume-all", 5).await;
    click(client, "#upload-add-files").await;
    wait_staged(client, 2, 20).await;
    start_staged(client).await;
    wait_rows(client, 10, "both queued", |r| r.len() == 2).await;
    std::fs::remove_file(&dropped).unwrap();
    std::fs::remove_file(&lost).unwrap();
    click(client, "#queue-resume-all").await;
    let rows = wait_rows(client, 30, "both failed", |r| r.len() == 2 && r.iter().all(|(_, _, s)| s == "failed")).await;
    let id = |name: &str| rows.iter().find(|(_, n, _)| n == name).unwrap_or_else(|| panic!("{name}: {rows:?}")).0;
    let (dropped_id, lost_id) = (id("dropped.txt"), id("lost.txt"));
    for id in [dropped_id, lost_id] {
        let row = format!("#queue-row-{id}");
        assert!(text(client, &format!("{row} .item-error")).await.starts_with("file.not_found — "));
        for action in ["act-retry", "act-locate", "act-remove"] {
            let button = client.find(Locator::Css(&format!("{row} .{action}"))).await;
            assert!(button.is_ok(), "{row} offers {action}");
        }
    }
    screenshot(client, "e2e-queue-missing-file.png").await;

    // Remove: the row goes, and nothing is left to retry of it.
    click(client, &format!("#queue-row-{dropped_id} .act-remove")).await;
    wait_rows(client, 10, "the removed row gone", |r| r.iter().all(|(id, _, _)| *id != dropped_id)).await;
    screenshot(client, "e2e-queue-removed.png").await;

    // Locate…: the file's new place is sent under the Doc name it had.
    click(client, &format!("#queue-row-{lost_id} .act-locate")).await;
    wait_attr(client, &format!("#queue-row-{lost_id}"), "data-status", "ok", 30).await;
    let row = format!("#queue-row-{lost_id}");
    assert_eq!(
        client.find(Locator::Css(&row)).await.unwrap().attr("data-doc-name").await.unwrap().as_deref(),
        Some("lost.txt")
    );
    let name = client.find(Locator::Css(&format!("{row} .file-name"))).await.unwrap();
    assert_eq!(
        name.attr("title").await.unwrap().as_deref(),
        Some(found.to_str().unwrap()),
        "the row names the new place"
    );
    assert!(text(client, "#queue-message").await.contains("will be sent from"));
    assert_eq!(text(client, "#filter-failed .count").await.trim(), "0");
    screenshot(client, "e2e-queue-located.png").await;
    app.close().await;
}
