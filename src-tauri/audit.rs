//! The capability audit, as tests: the window may call exactly the commands the UI uses, each
//! command exists three times over (handler, `build.rs` permission, capability grant), and no
//! plugin permission reaches the window. A grant nobody uses, or a plugin scope (dialog, fs,
//! shell, notification, autostart) given to the webview, fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

fn root() -> PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    dir.unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(root().join(path.as_ref())).unwrap()
}

fn capture(text: &str, pattern: &str) -> BTreeSet<String> {
    Regex::new(pattern).unwrap().captures_iter(text).map(|c| c[1].to_owned()).collect()
}

fn ui_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy();
        if path.is_dir() {
            ui_sources(&path, out);
        } else if (name.ends_with(".ts") || name.ends_with(".svelte")) && !name.ends_with(".test.ts") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

fn config() -> serde_json::Value {
    serde_json::from_str(&read("tauri.conf.json")).unwrap()
}

fn granted() -> Vec<String> {
    let caps = config()["app"]["security"]["capabilities"].as_array().unwrap().clone();
    assert_eq!(caps.len(), 1, "one capability, for the main window");
    assert_eq!(caps[0]["windows"], serde_json::json!(["main"]));
    caps[0]["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_window_may_call_exactly_the_commands_the_ui_uses() {
    let handlers =
        capture(&read("src-tauri/lib.rs"), r"\b(?:commands|picker|upload|watched|prefs|activity)::([a-z_]+),");
    let built = capture(&read("src-tauri/build.rs"), r#"(?m)^\s*"([a-z_]+)",\s*$"#);
    let allowed: BTreeSet<String> =
        granted().iter().filter_map(|p| p.strip_prefix("allow-")).map(|c| c.replace('-', "_")).collect();
    let mut ui = String::new();
    ui_sources(&root().join("ui/src"), &mut ui);
    let used = capture(&ui, r#"\b(?:call|stream)(?:<[^(]*>)?\(\s*"([a-z_]+)""#);
    assert!(!handlers.is_empty() && !used.is_empty());
    assert_eq!(built, handlers, "build.rs COMMANDS and the handlers in lib.rs differ");
    assert_eq!(allowed, handlers, "the capability grants and the handlers differ");
    assert_eq!(used, handlers, "commands the UI calls vs commands the window may call");
}

#[test]
fn no_plugin_scope_reaches_the_window() {
    let others: Vec<String> = granted().into_iter().filter(|p| !p.starts_with("allow-")).collect();
    // The drag-and-drop and tray-pause events are all the window hears of the core.
    assert_eq!(others, ["core:event:allow-listen", "core:event:allow-unlisten"]);
    // Plugins work from Rust only; none of them is in the window's hands.
    let text = read("tauri.conf.json");
    for plugin in ["dialog:", "fs:", "shell:", "notification:", "autostart:", "window-state:", "core:default"] {
        assert!(!text.contains(plugin), "tauri.conf.json grants {plugin}");
    }
    assert!(!root().join("capabilities").exists(), "a capabilities/ folder would add grants outside the audit");
}

#[test]
fn the_csp_is_strict() {
    let csp = config()["app"]["security"]["csp"].as_str().unwrap().to_owned();
    // The IPC's own origin is the one plain-http source Tauri needs on Linux.
    let csp = csp.replace("http://ipc.localhost", "ipc");
    for bad in ["unsafe-inline", "unsafe-eval", "*", "data:", "http:"] {
        assert!(!csp.contains(bad), "CSP allows {bad}: {csp}");
    }
    for needed in ["default-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'"] {
        assert!(csp.contains(needed), "CSP lacks {needed}: {csp}");
    }
}
