//! Failures stay in view until dealt with: a file that failed is still a failed row, with its
//! Retry, in the header's count and colour, after the user switches account and comes back,
//! and after the app restarts (the journal knows it; the window is told when it opens).

use std::path::Path;

use fantoccini::{Client, Locator};
use serde_json::json;
use twindrop_e2e::{click, new_twin, screenshot, skip_without_display, text, wait_attr, wait_css, App};

/// The row of the file `name`, once it is a failed row (a file refused before it had a Doc
/// name is known by its file's name).
async fn failed_row(client: &Client, name: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rows = client
            .execute(
                "return [...document.querySelectorAll('#queue [role=row]')].map(r => \
                   [r.id, r.querySelector('.file-name').textContent.trim(), r.dataset.status]);",
                vec![],
            )
            .await
            .unwrap();
        let rows: Vec<(String, String, String)> = serde_json::from_value(rows).unwrap();
        if let Some((id, _, _)) = rows.iter().find(|(_, n, s)| n == name && s == "failed") {
            return format!("#{id}");
        }
        assert!(std::time::Instant::now() < deadline, "{name} is not a failed row: {rows:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn header_says_failed(client: &Client) {
    wait_attr(client, "#queue-stats", "data-tone", "failed", 10).await;
    let headline = text(client, "#queue-count").await;
    assert!(headline.contains("1 failed"), "{headline:?}");
}

async fn start(home: &Path, picks: &Path) -> App {
    App::start(home, &[("TWINDROP_TEST_PICKS", picks)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_outlives_a_switch_of_account_and_a_restart() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let doomed = home.path().join("doomed.txt");
    std::fs::write(&doomed, "here when picked, gone when sent\n").unwrap();
    let picks = home.path().join("picks.json");
    std::fs::write(&picks, json!([[doomed]]).to_string()).unwrap();
    let app = start(home.path(), &picks).await;
    let client = &app.client;
    new_twin(client).await;
    click(client, "#upload-add-files").await;
    wait_attr(client, "#upload-count", "data-count", "1", 20).await;
    // Gone between the pick and the upload: the job fails, not_found.
    std::fs::remove_file(&doomed).unwrap();
    click(client, "#upload-start").await;
    let row = failed_row(client, "doomed.txt").await;
    header_says_failed(client).await;

    // Another account and back: the row, its Retry and the header's count are still there.
    click(client, "#switch-account").await;
    wait_css(client, "#screen-login", 10).await;
    click(client, "#login-sandbox").await;
    wait_css(client, "#screen-main", 20).await;
    let again = failed_row(client, "doomed.txt").await;
    assert_eq!(again, row, "the same job");
    assert!(client.find(Locator::Css(&format!("{again} .act-retry"))).await.is_ok(), "its Retry is offered");
    header_says_failed(client).await;
    screenshot(client, "e2e-failure-after-switch.png").await;
    app.close().await;

    // A restart: the journal still knows it.
    let app = start(home.path(), &picks).await;
    let client = &app.client;
    failed_row(client, "doomed.txt").await;
    header_says_failed(client).await;
    app.close().await;
}
