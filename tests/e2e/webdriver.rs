//! The real app window, driven through tauri-driver → WebKitWebDriver under Xvfb, with a real
//! XDND drop from another X client. Run by scripts/test inside a private D-Bus session with an
//! unlocked gnome-keyring.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use twindrop_e2e::{drag_files_onto, screenshot, skip_without_display, start_staged, text, wait_css, wait_staged, App};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dropped_files_become_ok_docs_in_the_sandbox() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    // No account configured: the app opens straight on the local sandbox.
    let app = App::start(home.path(), &[]).await;
    let client = &app.client;
    let label = text(client, "#account-label").await;
    assert!(label.to_lowercase().contains("sandbox"), "account label {label:?}");

    // Log in to the sandbox through the login screen, as a user switching back to it would.
    client.find(Locator::Css("#switch-account")).await.unwrap().click().await.unwrap();
    wait_css(client, "#screen-login", 10).await;
    client.find(Locator::Css("#login-sandbox")).await.unwrap().click().await.unwrap();
    wait_css(client, "#screen-main", 20).await;

    client.find(Locator::Css("#twin-create")).await.unwrap().click().await.unwrap();
    let twin = {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let t = text(client, "#twin-current").await;
            if t.trim().len() == 36 {
                break t.trim().to_owned();
            }
            assert!(Instant::now() < deadline, "no Twin shown after New Twin: {t:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    let files_dir = home.path().join("files");
    std::fs::create_dir_all(&files_dir).unwrap();
    let a = files_dir.join("field report.txt");
    let b = files_dir.join("scan.bin");
    std::fs::write(&a, "observations from the field\n").unwrap();
    std::fs::write(&b, (0..700_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()).unwrap();
    drag_files_onto(client, "#drop-zone", &[a.clone(), b.clone()]).await;
    // The drop waits in the Upload panel with its proposed names until it is started.
    wait_staged(client, 2, 20).await;
    assert!(client.find_all(Locator::Css("#queue [role=row]")).await.unwrap().is_empty(), "uploaded before Upload");
    start_staged(client).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let statuses = loop {
        let mut seen = Vec::new();
        for li in client.find_all(Locator::Css("#queue [role=row]")).await.unwrap() {
            let name = li.attr("data-doc-name").await.unwrap().unwrap_or_default();
            let status = li.attr("data-status").await.unwrap().unwrap_or_default();
            seen.push((name, status));
        }
        seen.sort();
        if seen.len() == 2 && seen.iter().all(|(_, s)| ["ok", "failed", "error", "hash_mismatch"].contains(&s.as_str()))
        {
            break seen;
        }
        assert!(Instant::now() < deadline, "queue did not settle: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(statuses, [("field_report.txt".to_owned(), "ok".to_owned()), ("scan.bin".to_owned(), "ok".to_owned())]);

    // Dropped again, with their folder: the folder stands for its files, named by their path
    // from it. The file dropped on its own is met first and keeps its name, so it is skipped
    // as unchanged; the other becomes a Doc of its own.
    drag_files_onto(client, "#drop-zone", &[a.clone(), files_dir.clone()]).await;
    wait_staged(client, 2, 20).await;
    let notice = format!("#upload-items li[data-path='{}'] .reason[data-code='file.unchanged']", a.display());
    assert!(text(client, &notice).await.contains("it will be skipped"), "no notice that {} is unchanged", a.display());
    start_staged(client).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (skipped, ok) = loop {
        let skipped = client.find_all(Locator::Css("#queue [data-status='skipped']")).await.unwrap().len();
        let mut ok = Vec::new();
        for li in client.find_all(Locator::Css("#queue [data-status='ok']")).await.unwrap() {
            ok.push(li.attr("data-doc-name").await.unwrap().unwrap_or_default());
        }
        ok.sort();
        if skipped + ok.len() == 4 {
            break (skipped, ok);
        }
        assert!(Instant::now() < deadline, "second drop did not settle: {skipped} skipped, {ok:?} ok");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(skipped, 1);
    assert_eq!(ok, ["field_report.txt", "files/scan.bin", "scan.bin"]);

    screenshot(client, "e2e-after-drop.png").await;
    app.close().await;

    // The emulator itself, reopened on the sandbox's state with a secret of our own, has both Docs.
    let mut cfg = twindrop_emulator::Config::new("e2e-checker");
    cfg.state_dir = Some(home.path().join("data/sandbox"));
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
    let http = reqwest::Client::new();
    for (name, size) in [("field_report.txt", 28u64), ("scan.bin", 700_000)] {
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
        assert_eq!(doc["creation_certificate"]["size"], size, "{name}: {doc}");
    }
    em.shutdown().await;
}

/// Log in to a Trusted Twin server (an emulator this test runs) through the login form: a wrong
/// secret shows its error code, the right one is kept in the Secret Service so the next start
/// opens the account without asking, and signing out forgets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_twin_login_is_remembered_through_the_keyring() {
    if skip_without_display() {
        return;
    }
    const SECRET: &str = "e2e-trusted-twin-secret";
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), twindrop_emulator::Config::new(SECRET))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");

    {
        let app = App::start(home.path(), &[]).await;
        let client = &app.client;
        client.find(Locator::Css("#switch-account")).await.unwrap().click().await.unwrap();
        wait_css(client, "#screen-login", 10).await;
        let url = client.find(Locator::Css("#login-tt-base-url")).await.unwrap();
        url.clear().await.unwrap();
        url.send_keys(em.base_url()).await.unwrap();
        let secret = client.find(Locator::Css("#login-tt-secret")).await.unwrap();
        secret.send_keys("not-the-secret").await.unwrap();
        client.find(Locator::Css("#login-tt-submit")).await.unwrap().click().await.unwrap();
        wait_css(client, "#login-error", 15).await;
        let shown = text(client, "#login-error").await;
        assert!(shown.contains("auth.unauthorized"), "login error shows {shown:?}");
        screenshot(client, "e2e-login-error.png").await;

        secret.clear().await.unwrap();
        secret.send_keys(SECRET).await.unwrap();
        client.find(Locator::Css("#login-tt-submit")).await.unwrap().click().await.unwrap();
        wait_css(client, "#screen-main", 15).await;
        let label = text(client, "#account-label").await;
        assert!(label.contains("127.0.0.1"), "account label {label:?}");
        app.close().await;
    }
    let settings = std::fs::read_to_string(config.join("settings.json")).unwrap();
    assert!(settings.contains(em.base_url()) && !settings.contains(SECRET), "{settings}");

    // A new start opens the account straight away: the secret came back from the keyring.
    {
        let app = App::start(home.path(), &[]).await;
        let client = &app.client;
        let label = text(client, "#account-label").await;
        assert!(label.contains("127.0.0.1"), "after restart the account label is {label:?}");
        client.find(Locator::Css("#sign-out")).await.unwrap().click().await.unwrap();
        wait_css(client, "#screen-login", 10).await;
        app.close().await;
    }

    // Signed out: the secret is gone, so the next start is the sandbox again.
    let app = App::start(home.path(), &[]).await;
    let client = &app.client;
    let label = text(client, "#account-label").await;
    assert!(label.to_lowercase().contains("sandbox"), "after sign-out the account label is {label:?}");
    app.close().await;
    em.shutdown().await;
}
