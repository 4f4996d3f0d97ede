//! What the WebDriver tests share: finding the app binary, one tauri-driver per test on free
//! loopback ports, and a real XDND drag from a GTK drag source driven by xdotool.

use std::io::BufRead;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub fn workspace_root() -> PathBuf {
    // Read at run time: cargo sets it for test runs, and a path compiled in goes stale when a
    // clone elsewhere (CI's) shares this target directory and cargo reuses the artifact.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    dir.unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()).join("..").canonicalize().unwrap()
}

/// The built app: `TWINDROP_APP_BIN`, else `debug/twindrop-app` under the target directory that
/// cargo reports (it honours `CARGO_TARGET_DIR` and config files alike).
pub fn app_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TWINDROP_APP_BIN") {
        return p.into();
    }
    let bin = target_dir().join("debug/twindrop-app");
    assert!(
        bin.exists(),
        "{} missing: build the app first (cargo build -p twindrop --features custom-protocol)",
        bin.display()
    );
    bin
}

/// The target directory cargo reports (it honours `CARGO_TARGET_DIR` and config files alike).
pub fn target_dir() -> PathBuf {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    PathBuf::from(meta["target_directory"].as_str().unwrap())
}

/// Where screenshots go: `TWINDROP_ARTIFACTS`, else `twindrop-artifacts` in the target directory.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("TWINDROP_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("twindrop-artifacts"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Save a WebDriver screenshot of the window as `name` and check that it is not blank: the
/// standard deviation of its pixels (ImageMagick) must be above that of a plain page.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    // Let the last changes paint.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = artifacts_dir().join(name);
    std::fs::write(&path, client.screenshot().await.unwrap()).unwrap();
    let out = Command::new("convert")
        .arg(&path)
        .args(["-format", "%[fx:standard_deviation]", "info:"])
        .output()
        .expect("ImageMagick convert");
    let sd: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0.0);
    assert!(sd > 0.05, "{} looks blank (standard deviation {sd})", path.display());
    eprintln!("screenshot {} (standard deviation {sd:.3})", path.display());
    path
}

/// Install a fault plan on the sandbox (the app started with `TWINDROP_SANDBOX_CONTROL_TOKEN`).
pub async fn set_faults(base_url: &str, token: &str, plan: serde_json::Value) {
    let response = reqwest::Client::new()
        .put(format!("{base_url}/_emulator/faults"))
        .header("X-Emulator-Control", token)
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "faults refused: {}", response.text().await.unwrap_or_default());
}

/// How many requests the sandbox has answered on `route` since its fault plan was installed.
pub async fn calls(base_url: &str, token: &str, route: &str) -> u64 {
    let stats: serde_json::Value = reqwest::Client::new()
        .get(format!("{base_url}/_emulator/stats"))
        .header("X-Emulator-Control", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["calls"][route].as_u64().unwrap_or(0)
}

/// The Uploads list as rendered: (id, doc name, status) of each row in the DOM, top first.
pub async fn queue_rows(client: &Client) -> Vec<(u64, String, String)> {
    let rows = client
        .execute(
            "return [...document.querySelectorAll('#queue [role=row]')]\
               .sort((a, b) => a.offsetTop - b.offsetTop)\
               .map(r => [Number(r.dataset.id), r.dataset.docName, r.dataset.status]);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

/// Wait until `check` holds for the Uploads rows; returns them.
pub async fn wait_rows(
    client: &Client,
    secs: u64,
    what: &str,
    check: impl Fn(&[(u64, String, String)]) -> bool,
) -> Vec<(u64, String, String)> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let rows = queue_rows(client).await;
        if check(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s; rows {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the element `css` exists and its `attr` equals `value`.
pub async fn wait_attr(client: &Client, css: &str, attr: &str, value: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = match client.find(Locator::Css(css)).await {
            Ok(el) => el.attr(attr).await.ok().flatten(),
            Err(_) => None,
        };
        if now.as_deref() == Some(value) {
            return;
        }
        assert!(Instant::now() < deadline, "{css}[{attr}] is {now:?}, not {value:?}, after {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Click the element `css`, scrolled into view first: a row of a list that scrolls inside its
/// card may be below its fold, where WebKit's driver will not click it.
pub async fn click(client: &Client, css: &str) {
    let element = client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    let arg = serde_json::to_value(&element).unwrap();
    client.execute("arguments[0].scrollIntoView({block: 'nearest'});", vec![arg]).await.unwrap();
    element.click().await.unwrap_or_else(|e| panic!("{css}: {e}"));
}

/// Create a Twin with the New Twin button; returns its id.
pub async fn new_twin(client: &Client) -> String {
    let before = text(client, "#twin-current").await.trim().to_owned();
    click(client, "#twin-create").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = text(client, "#twin-current").await.trim().to_owned();
        if t.len() == 36 && t != before {
            return t;
        }
        assert!(Instant::now() < deadline, "no new Twin shown after New Twin: {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
        // Its own process group, which WebKitWebDriver and the app it starts inherit: dropping
        // the driver ends them all. A leftover app would take the next test's launch (the app
        // is single-instance) and that test's session would never connect.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
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
        // An app that dies at launch leaves the session request unanswered: bounded, so the test
        // fails with a reason instead of hanging the run.
        let (mut builder, url) = (ClientBuilder::native(), format!("http://127.0.0.1:{}", self.port));
        let client = tokio::time::timeout(Duration::from_secs(60), builder.capabilities(caps).connect(&url))
            .await
            .expect("no WebDriver session within 60 s: did the app start?")
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
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut ended = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                ended = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever of the group is still there (an app slow to quit) goes now.
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        if !ended {
            let _ = self.child.wait();
        }
        // Gone, not going: an app still on its way out holds the single-instance name on the
        // session bus, and the next test's app, asking it to take over, gets no reply.
        let deadline = Instant::now() + Duration::from_secs(10);
        while group_alive(self.child.id()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Some process of process group `pgid` still runs (a zombie, already gone but not yet reaped,
/// does not count).
fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { return false };
        // `pid (comm) state ppid pgrp ...`: comm may hold spaces, so read after its last ')'.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        matches!(fields.as_slice(), [state, _ppid, pgrp, ..] if *state != "Z" && pgrp.parse() == Ok(pgid))
    })
}

/// The sandbox's control token in these tests (the app reads it from the environment).
pub const CONTROL_TOKEN: &str = "e2e-control-token";

/// The app on `home`'s config and data folders (its sandbox with [`CONTROL_TOKEN`], plus the
/// `extra` variables), once its main screen shows.
pub struct App {
    pub client: Client,
    // Dropped last: the session closes before tauri-driver goes.
    pub driver: Driver,
}

impl App {
    /// The app as a returning user sees it: the first-run guide, if it opens (a fresh profile
    /// on the sandbox), is closed as a person would ("Got it"); that is remembered.
    pub async fn start(home: &Path, extra: &[(&str, &Path)]) -> App {
        let app = App::start_as_is(home, extra).await;
        if guide_state(&app.client).await == "shown" {
            click(&app.client, "#first-run-close").await;
            wait_attr(&app.client, "#screen-main", "data-guide", "hidden", 10).await;
        }
        app
    }

    /// The app as it opens, the first-run guide included; returns once it is known whether the
    /// guide shows.
    pub async fn start_as_is(home: &Path, extra: &[(&str, &Path)]) -> App {
        let (config, data, token) = (home.join("config"), home.join("data"), PathBuf::from(CONTROL_TOKEN));
        // The app's own config folder (window state, start at login) is named by its identifier
        // under XDG_CONFIG_HOME, not by TWINDROP_CONFIG_DIR: each test keeps its own.
        let xdg_config = home.join("xdg-config");
        let mut env = vec![
            ("TWINDROP_CONFIG_DIR", config.as_path()),
            ("TWINDROP_DATA_DIR", data.as_path()),
            ("XDG_CONFIG_HOME", xdg_config.as_path()),
            ("TWINDROP_SANDBOX_CONTROL_TOKEN", token.as_path()),
        ];
        env.extend_from_slice(extra);
        let driver = Driver::start(&env);
        let client = driver.session().await;
        wait_css(&client, "#screen-main", 20).await;
        guide_state(&client).await;
        App { client, driver }
    }

    /// The base URL of the account the window shows (the sandbox's, on its own port).
    pub async fn base_url(&self) -> String {
        let account = self.client.find(Locator::Css(".account[data-base-url]")).await.unwrap();
        account.attr("data-base-url").await.unwrap().expect("the account line names its base URL")
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// Whether the first-run guide shows (`shown` or `hidden`), once the window knows.
pub async fn guide_state(client: &Client) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let main = client.find(Locator::Css("#screen-main")).await.unwrap();
        let state = main.attr("data-guide").await.unwrap().unwrap_or_default();
        if state != "loading" {
            return state;
        }
        assert!(Instant::now() < deadline, "the first-run guide's state is still loading");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until `css`'s text contains `want`; returns its text. `textContent`, not WebDriver's
/// visible text, which is empty for what a panel has scrolled away.
pub async fn wait_text(client: &Client, css: &str, want: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = match client.find(Locator::Css(css)).await {
            Ok(el) => el.prop("textContent").await.ok().flatten().unwrap_or_default(),
            Err(_) => String::new(),
        };
        if now.contains(want) {
            return now;
        }
        assert!(Instant::now() < deadline, "{css} says {now:?}, not {want:?}, after {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
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
    // Many files go through a list file: a command line holds only so much.
    let list = tempfile::NamedTempFile::new().unwrap();
    let mut args: Vec<std::ffi::OsString> = files.iter().map(|f| f.as_os_str().to_owned()).collect();
    if files.len() > 100 {
        let lines: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        std::fs::write(list.path(), lines.join("\n")).unwrap();
        args = vec![format!("@{}", list.path().display()).into()];
    }
    let mut source = Command::new("/usr/bin/python3")
        .arg(workspace_root().join("tests/e2e/drag_source.py"))
        .args([sx.to_string(), sy.to_string()])
        .args(args)
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

/// Wait until the Upload panel holds `n` staged files.
pub async fn wait_staged(client: &Client, n: usize, secs: u64) {
    wait_attr(client, "#upload-count", "data-count", &n.to_string(), secs).await;
}

/// Start the batch staged in the Upload panel (dropped or picked files wait there for their
/// names to be checked) and wait until it is handed to the queue: the panel closes.
pub async fn start_staged(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let enabled = match client.find(Locator::Css("#upload-start")).await {
            Ok(el) => el.is_enabled().await.unwrap_or(false),
            Err(_) => false,
        };
        if enabled {
            break;
        }
        let why = match client.find(Locator::Css("#upload-why")).await {
            Ok(el) => el.prop("textContent").await.ok().flatten().unwrap_or_default(),
            Err(_) => "no Upload panel".into(),
        };
        assert!(Instant::now() < deadline, "the staged batch cannot start: {why:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(client, "#upload-start").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.find(Locator::Css("#upload-panel")).await.is_ok() {
        if let Ok(el) = client.find(Locator::Css("#upload-error")).await {
            panic!("the batch did not start: {:?}", el.prop("textContent").await.ok().flatten());
        }
        assert!(Instant::now() < deadline, "the Upload panel did not close after Upload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Drag `files` onto the drop zone and start them as staged, under their proposed names.
pub async fn drop_and_start(client: &Client, files: &[PathBuf]) {
    drag_files_onto(client, "#drop-zone", files).await;
    start_staged(client).await;
}
