//! The capability audit, as tests: the window may call exactly the commands the UI uses, and no
//! plugin permission reaches the window; the CSP is strict.
//!
//! The commands are listed once, in `ipc.rs` (`ipc_commands!`): the handler, the bindings, and
//! build.rs's permissions (`allow-<command>` each, and the app's `default` granting them all)
//! derive from it. What the window may call is read from Tauri's own resolution of the ACL that
//! the build made (`acl-manifests.json` in OUT_DIR) and the capability in tauri.conf.json, so a
//! grant nobody uses, a plugin scope (dialog, fs, shell, notification, autostart) given to the
//! webview, or a command the UI calls that the window may not, fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tauri::utils::acl::manifest::Manifest;
use tauri::utils::acl::resolved::Resolved;
use tauri::utils::config::Config;
use tauri::utils::platform::Target;

/// The one list.
const COMMANDS: &[&str] = ipc_commands!(command_names);

fn root() -> PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    dir.unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(root().join(path.as_ref())).unwrap()
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

/// Every command the main window may call, as Tauri resolves the capability against the
/// permissions the build generated: app commands by name, plugin commands as `plugin:NAME|CMD`.
fn window_may_call() -> BTreeSet<String> {
    let manifests = Path::new(env!("OUT_DIR")).join("acl-manifests.json");
    let manifests: BTreeMap<String, Manifest> =
        serde_json::from_str(&std::fs::read_to_string(manifests).unwrap()).unwrap();
    let config: Config = serde_json::from_str(&read("tauri.conf.json")).unwrap();
    let caps = tauri::utils::acl::get_capabilities(&config, BTreeMap::new(), None).unwrap();
    let resolved = Resolved::resolve(&manifests, caps, Target::current()).unwrap();
    assert!(resolved.has_app_acl, "without an app manifest every app command would be open");
    assert!(resolved.denied_commands.is_empty(), "{:?}", resolved.denied_commands.keys());
    let main = |cmds: &Vec<tauri::utils::acl::resolved::ResolvedCommand>| {
        cmds.iter().any(|c| c.windows.iter().any(|w| w.matches("main")))
    };
    resolved.allowed_commands.iter().filter(|(_, c)| main(c)).map(|(name, _)| name.clone()).collect()
}

fn ui_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy();
        if path.is_dir() {
            // The generated bindings define every command; what counts is what the UI calls.
            if !name.ends_with("generated") {
                ui_sources(&path, out);
            }
        } else if (name.ends_with(".ts") || name.ends_with(".svelte")) && !name.ends_with(".test.ts") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The commands the UI calls: `commands.sessionGet(` → `session_get` (the bindings' accessors
/// are the command names in camelCase).
fn ui_calls() -> BTreeSet<String> {
    let mut ui = String::new();
    ui_sources(&root().join("ui/src"), &mut ui);
    let mut used = BTreeSet::new();
    for part in ui.split("commands.").skip(1) {
        let accessor: String = part.chars().take_while(char::is_ascii_alphanumeric).collect();
        if part[accessor.len()..].starts_with('(') {
            used.insert(accessor.chars().fold(String::new(), |mut s, c| {
                if c.is_ascii_uppercase() {
                    s.push('_');
                }
                s.push(c.to_ascii_lowercase());
                s
            }));
        }
    }
    used
}

#[test]
fn the_window_may_call_exactly_the_commands_the_ui_uses() {
    let listed: BTreeSet<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
    assert_eq!(listed.len(), COMMANDS.len(), "a command is listed twice in ipc.rs");
    let app: BTreeSet<String> = window_may_call().into_iter().filter(|c| !c.starts_with("plugin:")).collect();
    assert_eq!(app, listed, "the commands the window may call vs the list in ipc.rs");
    assert_eq!(ui_calls(), listed, "the commands the UI calls vs the commands the window may call");
}

#[test]
fn no_plugin_scope_reaches_the_window() {
    let plugins: BTreeSet<String> = window_may_call().into_iter().filter(|c| c.starts_with("plugin:")).collect();
    // The drag-and-drop and tray-pause events are all the window hears of the core.
    assert_eq!(plugins, BTreeSet::from(["plugin:event|listen".into(), "plugin:event|unlisten".into()]));
    assert_eq!(granted(), ["core:event:allow-listen", "core:event:allow-unlisten", "default"]);
    // Plugins work from Rust only; none of them is in the window's hands.
    let text = read("tauri.conf.json");
    for plugin in ["dialog:", "fs:", "shell:", "notification:", "autostart:", "window-state:", "core:default"] {
        assert!(!text.contains(plugin), "tauri.conf.json grants {plugin}");
    }
    assert!(!root().join("capabilities").exists(), "a capabilities/ folder would add grants outside the audit");
    // The app's permissions are build.rs's alone (permissions/autogenerated, gitignored).
    for entry in std::fs::read_dir(root().join("permissions")).unwrap() {
        assert_eq!(entry.unwrap().file_name(), "autogenerated", "hand-written app permissions in permissions/");
    }
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
