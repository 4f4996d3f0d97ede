//! What the WebDriver tests share: finding the app binary, one tauri-driver per test on free
//! loopback ports, and a real XDND drag from a GTK drag source driven by xdotool.

use std::io::BufRead;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// The built app: `TWINDROP_APP_BIN`, else `debug/twindrop-app` under the target directory that
/// cargo reports (it honours `CARGO_TARGET_DIR` and config files alike).
pub fn app_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TWINDROP_APP_BIN") {
        return p.into();
    }
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let bin = Path::new(meta["target_directory"].as_str().unwrap()).join("debug/twindrop-app");
    assert!(bin.exists(), "{} missing: build the app first (cargo build -p twindrop)", bin.display());
    bin
}

/// Tests need a display; without one they fail under `E2E_REQUIRED=1` and are skipped otherwise.
pub fn skip_without_display() -> bool {
    if std::env::var_os("DISPLAY").is_some() {
        return false;
    }
    assert!(std::env::var("E2E_REQUIRED").as_deref() != Ok("1"), "E2E_REQUIRED=1 but there is no DISPLAY");
    eprintln!("skipping: no DISPLAY (scripts/test runs this under Xvfb)");
    true
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// tauri-driver (and through it WebKitWebDriver and the app) with its own environment.
/// Stopped with SIGTERM on drop, which takes WebKitWebDriver and the app down with it.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub fn start(env: &[(&str, &Path)]) -> Self {
        let (port, native) = (free_port(), free_port());
        let bin = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into());
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string(), "--native-port", &native.to_string()]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("tauri-driver on PATH (cargo install tauri-driver --version ^2 --locked)");
        let driver = Driver { child, port };
        wait_for_port(port);
        wait_for_port(native);
        driver
    }

    /// A session on the app, returned once the UI says it is wired (`body[data-ready]`).
    pub async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert("tauri:options".into(), serde_json::json!({ "application": app_bin(), "args": [] }));
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("WebDriver session");
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body[data-ready='true']"))
            .await
            .expect("the UI never became ready");
        client
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_css(client: &Client, css: &str, secs: u64) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(secs))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear within {secs} s: {e}"))
}

/// The element's `textContent`: WebDriver's visible text is empty while a screen fades in.
pub async fn text(client: &Client, css: &str) -> String {
    let el = client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    el.prop("textContent").await.unwrap().unwrap_or_default()
}

fn xdotool(args: &[String]) {
    let ok = Command::new("xdotool").args(args).status().expect("xdotool").success();
    assert!(ok, "xdotool {args:?} failed");
}

/// Drag `files` from a separate GTK client onto the centre of the element `css`, with the real
/// X pointer. The source window sits right of the 1100 px wide app window.
pub async fn drag_files_onto(client: &Client, css: &str, files: &[PathBuf]) {
    let (sx, sy) = (1110i64, 560i64);
    let mut source = Command::new("/usr/bin/python3")
        .arg(workspace_root().join("tests/e2e/drag_source.py"))
        .args([sx.to_string(), sy.to_string()])
        .args(files)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with GTK (python3-gi, gir1.2-gtk-3.0)");
    let mut line = String::new();
    std::io::BufReader::new(source.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    tokio::time::sleep(Duration::from_millis(400)).await;

    let (wx, wy, _, _) = client.get_window_rect().await.unwrap();
    let (ex, ey, ew, eh) = client.find(Locator::Css(css)).await.unwrap().rectangle().await.unwrap();
    let (tx, ty) = (wx as i64 + (ex + ew / 2.0) as i64, wy as i64 + (ey + eh / 2.0) as i64);
    let s = |v: i64| v.to_string();
    xdotool(&["mousemove".into(), s(sx + 60), s(sy + 40)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    xdotool(&["mousedown".into(), "1".into()]);
    // GTK starts a drag only after the pointer moved past its threshold while pressed.
    let path = [(sx + 50, sy + 45), (sx + 30, sy + 50), (sx - 100, sy), (tx + 40, ty + 10), (tx + 5, ty), (tx, ty)];
    for (x, y) in path {
        tokio::time::sleep(Duration::from_millis(250)).await;
        xdotool(&["mousemove".into(), s(x), s(y)]);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    xdotool(&["mouseup".into(), "1".into()]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = source.kill();
    let _ = source.wait();
}
