//! Accounts through the real window: signing in to a service other than Trusted Twin (Redivis,
//! on an emulator this test runs), its check on the destination, saved accounts to switch
//! between, and files dropped on a Redivis session landing in its table.

use std::time::Duration;

use fantoccini::{Client, Locator};
use twindrop_e2e::*;

const TOKEN: &str = "e2e-redivis-token";
const TABLE: &str = "demo.sandbox:v1.files";

async fn fill(client: &Client, css: &str, value: &str) {
    let input = client.find(Locator::Css(css)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Choose a service in the sign-in form's select (WebDriver cannot open a native popup).
async fn choose_service(client: &Client, kind: &str) {
    client
        .execute(
            "const s = document.querySelector('#login-service'); s.value = arguments[0];\
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![serde_json::json!(kind)],
        )
        .await
        .unwrap();
}

/// The login error shown once it matches `want` (an earlier error goes while a new try runs).
async fn login_error(client: &Client, want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let shown = match client.find(Locator::Css("#login-error")).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if shown.contains(want) {
            return shown;
        }
        assert!(std::time::Instant::now() < deadline, "login error {want:?} not shown; last {shown:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The element's place and size on the page (x, y, width, height).
async fn rect(client: &Client, css: &str) -> Vec<f64> {
    let r = client
        .execute(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.x, r.y, r.width, r.height];",
            vec![serde_json::json!(css)],
        )
        .await
        .unwrap();
    serde_json::from_value(r).unwrap()
}

async fn sign_in_to_redivis(client: &Client, api: &str, token: &str, table: &str) {
    choose_service(client, "redivis").await;
    wait_css(client, "#login-destination", 5).await;
    fill(client, "#login-tt-base-url", api).await;
    fill(client, "#login-tt-secret", token).await;
    fill(client, "#login-destination", table).await;
    click(client, "#login-tt-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redivis_account_is_checked_saved_and_switched_to() {
    if skip_without_display() {
        return;
    }
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), twindrop_emulator::Config::new(TOKEN))
        .await
        .unwrap();
    let api = format!("{}/api/v1", em.base_url());
    let home = tempfile::tempdir().unwrap();
    let app = App::start(home.path(), &[]).await;
    let client = &app.client;
    click(client, "#switch-account").await;
    wait_css(client, "#screen-login", 10).await;
    assert!(client.find(Locator::Css("#profiles")).await.is_err(), "no saved account yet");

    // The form asks Redivis for its table: reading it is how the token is checked.
    sign_in_to_redivis(client, &api, "not-the-token", TABLE).await;
    login_error(client, "auth.unauthorized").await;
    sign_in_to_redivis(client, &api, TOKEN, "demo.sandbox:v1.missing").await;
    login_error(client, "not_found").await;
    screenshot(client, "e2e-login-redivis.png").await;

    sign_in_to_redivis(client, &api, TOKEN, TABLE).await;
    wait_css(client, "#screen-main", 20).await;
    let label = text(client, "#account-label").await;
    assert!(label.contains("Redivis") && label.contains(TABLE), "account label {label:?}");
    assert_eq!(text(client, "#twin-current").await, TABLE);
    assert!(!client.find(Locator::Css("#tab-docs")).await.unwrap().is_displayed().await.unwrap(), "no Docs tab");
    screenshot(client, "e2e-main-redivis.png").await;

    // Switch to the sandbox: the Redivis account stays saved, with its secret in the keyring.
    click(client, "#switch-account").await;
    wait_css(client, "#profiles", 10).await;
    let saved = text(client, "#profiles").await;
    assert!(saved.contains("Redivis") && saved.contains(TABLE), "saved accounts {saved:?}");
    screenshot(client, "e2e-login-saved-accounts.png").await;
    click(client, "#login-sandbox").await;
    wait_css(client, "#screen-main", 20).await;
    assert!(text(client, "#account-label").await.contains("sandbox"));

    // Back to Redivis from the saved list, without typing the token again.
    click(client, "#switch-account").await;
    wait_css(client, "#profiles", 10).await;
    click(client, "#profiles li button.open").await;
    wait_css(client, "#screen-main", 20).await;
    let label = text(client, "#account-label").await;
    assert!(label.contains("Redivis"), "reopened account {label:?}");

    // Signing out forgets the token: the saved entry can no longer open.
    click(client, "#sign-out").await;
    wait_css(client, "#profiles", 10).await;
    click(client, "#profiles li button.open").await;
    login_error(client, "keyring.").await;
    app.close().await;
    em.shutdown().await;
}

/// "Check connection" in Settings checks the open session (the sandbox: every step passes);
/// on the sign-in screen it checks the form as typed, without signing in: a wrong secret fails
/// the secret step, a closed port the host step, each with what to do next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connection_shows_a_checklist() {
    if skip_without_display() {
        return;
    }
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), twindrop_emulator::Config::new(TOKEN))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let app = App::start(home.path(), &[]).await;
    let client = &app.client;
    click(client, "#tab-settings").await;
    wait_css(client, "#screen-settings", 10).await;
    click(client, "#settings-check").await;
    wait_css(client, "#settings-checkup li[data-step='round_trip']", 20).await;
    for step in ["keyring", "host", "secret", "round_trip"] {
        let css = format!("#settings-checkup li[data-step='{step}'][data-verdict='pass']");
        assert!(client.find(Locator::Css(&css)).await.is_ok(), "{step}: {}", text(client, "#settings-checkup").await);
    }
    screenshot(client, "e2e-settings-check.png").await;

    click(client, "#switch-account").await;
    wait_css(client, "#screen-login", 10).await;
    // Signing in where nothing listens fails with what to do, and the card does not move when
    // the error shows.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    fill(client, "#login-tt-base-url", &format!("http://{closed}")).await;
    fill(client, "#login-tt-secret", "not-the-secret").await;
    let before = rect(client, "#login-tt-submit").await;
    click(client, "#login-tt-submit").await;
    let shown = login_error(client, "network.refused").await;
    assert!(shown.contains("nothing is listening at that address"), "{shown}");
    assert!(!shown.contains("os error"), "the error chain sits behind Details: {shown}");
    let hint = text(client, "#screen-login .error-box .hint").await;
    assert!(hint.contains("port in the base URL"), "{hint}");
    assert!(text(client, "#screen-login .error-box details").await.contains("Connection refused"));
    screenshot(client, "e2e-login-refused.png").await;
    assert_eq!(rect(client, "#login-tt-submit").await, before, "the sign-in button moved when the error showed");
    click(client, "#screen-login .error-box summary").await;
    assert!(client.find(Locator::Css("#screen-login .error-box details[open]")).await.is_ok());
    assert_eq!(rect(client, "#login-tt-submit").await, before, "opening the details moved the sign-in button");
    screenshot(client, "e2e-login-refused-details.png").await;

    fill(client, "#login-tt-base-url", em.base_url()).await;
    fill(client, "#login-tt-secret", "not-the-secret").await;
    click(client, "#login-check").await;
    wait_css(client, "#login-checkup li[data-step='secret'][data-verdict='fail']", 20).await;
    let shown = text(client, "#login-checkup").await;
    assert!(shown.contains("auth.unauthorized") && shown.contains("sign in again"), "{shown}");
    assert!(!shown.contains("not-the-secret"));
    assert!(client.find(Locator::Css("#login-checkup li[data-step='round_trip'][data-verdict='skip']")).await.is_ok());
    screenshot(client, "e2e-login-check-secret.png").await;

    fill(client, "#login-tt-base-url", &format!("http://{closed}")).await;
    click(client, "#login-check").await;
    wait_css(client, "#login-checkup li[data-step='host'][data-verdict='fail']", 20).await;
    assert!(text(client, "#login-checkup").await.contains("network.refused"));
    assert!(client.find(Locator::Css("#profiles")).await.is_err(), "checking saved no account");

    app.close().await;
    em.shutdown().await;
}
