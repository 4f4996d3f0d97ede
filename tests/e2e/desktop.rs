//! The desktop around the window: the tray icon and notifications, over the real D-Bus of the
//! test's session. `fake_desktop.py` plays the shell (a notification server and a tray host);
//! the app is unchanged, and the tray is read and clicked through its own dbusmenu, as a
//! panel would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use twindrop_e2e::*;

struct Shell {
    child: Child,
    log: PathBuf,
}

impl Shell {
    fn start(dir: &Path) -> Shell {
        let log = dir.join("desktop.jsonl");
        let child = Command::new("/usr/bin/python3")
            .arg(script())
            .arg("serve")
            .arg(&log)
            .spawn()
            .expect("python3 with python3-gi");
        let shell = Shell { child, log };
        // Both names owned before the app looks for them.
        let deadline = Instant::now() + Duration::from_secs(10);
        while shell.records("owned").len() < 2 {
            assert!(Instant::now() < deadline, "the fake desktop did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        shell
    }

    fn records(&self, kind: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get(kind).cloned())
            .collect()
    }

    fn panel(&self, args: &[&str]) -> std::process::Output {
        Command::new("/usr/bin/python3").arg(script()).args(args).output().unwrap()
    }

    /// The tray menu's labels and the icon file it shows now.
    fn tray(&self) -> (Vec<String>, PathBuf) {
        let out = self.panel(&["menu", self.log.to_str().unwrap()]);
        assert!(out.status.success(), "tray menu: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let labels = v["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_owned()).collect();
        (labels, PathBuf::from(v["icon"].as_str().unwrap()))
    }

    fn click(&self, label: &str) {
        let out = self.panel(&["click", self.log.to_str().unwrap(), label]);
        assert!(out.status.success(), "click {label}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Wait until the tray's status line (its first item) reads `status`.
    async fn wait_status(&self, status: &str, secs: u64) -> PathBuf {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (labels, icon) = self.tray();
            // The icon is a file the tray host may still be writing: wait until it reads whole.
            if labels.first().is_some_and(|l| l.starts_with(status)) && !dot(&icon).is_empty() {
                return icon;
            }
            assert!(Instant::now() < deadline, "tray status {status:?} not shown; menu {labels:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_notification(&self, n: usize, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let all = self.records("notify");
            if all.len() >= n {
                return all[n - 1].clone();
            }
            assert!(Instant::now() < deadline, "notification {n} not sent; sent {all:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    workspace_root().join("tests/e2e/fake_desktop.py")
}

/// The colour of the state dot on a tray icon (its pixel at 24,24), as `r,g,b`.
fn dot(icon: &Path) -> String {
    let out = Command::new("convert")
        .arg(icon)
        .args(["-format", "%[fx:int(255*p{24,24}.r)],%[fx:int(255*p{24,24}.g)],%[fx:int(255*p{24,24}.b)]", "info:"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

async fn queue_paused(client: &Client) -> bool {
    client.find(Locator::Css("#queue-stats.paused")).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_shows_state_pauses_the_queue_and_batches_notify() {
    if skip_without_display() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let shell = Shell::start(home.path());
    let (config, data) = (home.path().join("config"), home.path().join("data"));
    let app = App::start(home.path(), &[]).await;
    let (client, base) = (&app.client, app.base_url().await);
    assert_eq!(shell.records("tray").len(), 1, "one tray item registered");
    let idle = shell.wait_status("Idle", 10).await;
    let (labels, _) = shell.tray();
    assert_eq!(labels[2..], ["Open Twindrop", "Pause all", "Open log folder", "Quit Twindrop"], "menu {labels:?}");
    let idle_dot = dot(&idle);
    new_twin(client).await;

    // A batch: the tray says it is uploading (green dot) while it runs, then one notification.
    set_faults(&base, CONTROL_TOKEN, json!({"rules": [{"route": "upload", "latency_ms": 1500}]})).await;
    let files: Vec<PathBuf> = (0..2)
        .map(|i| {
            let p = home.path().join(format!("tray-{i}.txt"));
            std::fs::write(&p, format!("file {i}\n")).unwrap();
            p
        })
        .collect();
    drop_and_start(client, &files).await;
    let busy = shell.wait_status("Uploading", 10).await;
    assert_eq!(dot(&busy), "46,158,91", "the uploading icon has a green dot");
    wait_rows(client, 30, "both ok", |r| r.len() == 2 && r.iter().all(|(_, _, s)| s == "ok")).await;
    let note = shell.wait_notification(1, 10).await;
    assert_eq!(note["summary"], "2 files uploaded", "{note}");
    let back = shell.wait_status("Idle", 10).await;
    assert_eq!(dot(&back), idle_dot, "idle again");

    // Pause from the tray: the window hears it, and the tray offers to resume.
    shell.click("Pause all");
    let paused = shell.wait_status("Paused", 10).await;
    assert_eq!(dot(&paused), "212,154,26", "the paused icon has an amber dot");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !queue_paused(client).await {
        assert!(Instant::now() < deadline, "the window did not show the pause made in the tray");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shell.tray().0.contains(&"Resume all".to_owned()));
    shell.click("Resume all");
    shell.wait_status("Idle", 10).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue_paused(client).await {
        assert!(Instant::now() < deadline, "the window did not show the resume made in the tray");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A failed batch: a notification with the code, and a red dot until the next batch.
    // A 400 from storage is final at once (a 403 would be renewed, after growing waits).
    set_faults(&base, CONTROL_TOKEN, json!({"rules": [{"route": "upload", "status": 400}]})).await;
    let bad = home.path().join("refused.txt");
    std::fs::write(&bad, b"the server will refuse this\n").unwrap();
    drop_and_start(client, &[bad]).await;
    wait_rows(client, 30, "refused.txt failed", |r| r.iter().any(|(_, n, s)| n == "refused.txt" && s == "failed"))
        .await;
    let note = shell.wait_notification(2, 10).await;
    assert_eq!(note["summary"], "1 file failed", "{note}");
    assert!(note["body"].as_str().unwrap().starts_with("upload.rejected — "), "{note}");
    let failed = shell.wait_status("Idle", 10).await;
    assert_eq!(dot(&failed), "214,69,69", "a failed batch leaves a red dot");
    assert_eq!(shell.records("notify").len(), 2, "one notification per batch, none per file");

    // One instance: a second launch hands over to the running window and exits.
    let mut second =
        Command::new(app_bin()).env("TWINDROP_CONFIG_DIR", &config).env("TWINDROP_DATA_DIR", &data).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second launch kept running beside the first");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "the second launch: {status}");
    assert_eq!(shell.records("tray").len(), 1, "the second launch made no tray icon of its own");
    assert!(client.find(Locator::Css("#screen-main")).await.is_ok(), "the first window is still there");

    // The window's size is remembered: resize, quit from the tray, start again.
    client.set_window_rect(40, 30, 900, 640).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, _, w, h) = client.get_window_rect().await.unwrap();
    assert_eq!((w, h), (900, 640), "the resize itself");
    shell.click("Quit Twindrop");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The app is gone; the driver's session for it must go too before a new one may start.
    let _ = client.clone().close().await;
    let state = home.path().join("xdg-config/dev.twindrop.Twindrop/window-state.json");
    assert!(state.exists(), "the window state is kept in the app's config folder (the plugin's place)");
    let again = app.driver.session().await;
    wait_css(&again, "#screen-main", 20).await;
    let (_, _, w, h) = again.get_window_rect().await.unwrap();
    assert_eq!((w, h), (900, 640), "the window's size after a restart");
    again.close().await.unwrap();
}
