//! The app's own folders, named by its identifier (tauri.conf.json), and their move when the
//! identifier changed (`dev.twindrop.app` → `dev.twindrop.Twindrop`).
//!
//! Two sets of folders exist. The engine's (settings.json with the accounts, the journals, the
//! activity log, the sandbox) are `~/.config/twindrop` and `~/.local/share/twindrop`, shared
//! with the CLI and not named by the identifier: they stay. Tauri's are named by it: the web
//! view's storage (`~/.local/share/<identifier>`, the queue's density choice), its cache, the
//! window state and the log files. Those are moved once, at start, before any plugin or the
//! web view opens them (`twindrop_engine::relocate`: a rename, the new kept when both exist).

use std::path::{Path, PathBuf};

use twindrop_engine::relocate::Move;

/// The identifier of releases up to 0.1: it ended in `.app`, which the Tauri CLI warns about
/// (on macOS it reads as the bundle's extension).
pub const OLD_IDENTIFIER: &str = "dev.twindrop.app";

/// The window-state plugin's file, in the app's config folder (the plugin's own place for it).
pub const WINDOW_STATE_FILE: &str = "window-state.json";

/// The platform's base folders, from which Tauri makes the app's (`<base>/<identifier>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub config: PathBuf,
    pub data: PathBuf,
    pub local_data: PathBuf,
    pub cache: PathBuf,
}

impl Base {
    /// As Tauri's path resolver finds them (the same `dirs` calls), before the app exists.
    pub fn for_user() -> Option<Base> {
        Some(Base {
            config: dirs::config_dir()?,
            data: dirs::data_dir()?,
            local_data: dirs::data_local_dir()?,
            cache: dirs::cache_dir()?,
        })
    }

    /// Tauri's `app_log_dir` on Linux and Windows: `<local data>/<identifier>/logs`.
    pub fn log_dir(&self, identifier: &str) -> PathBuf {
        self.local_data.join(identifier).join("logs")
    }
}

/// The moves from the old identifier's folders to `identifier`'s, in order: each folder, then
/// the window state of before (kept beside settings.json, `old_window_state`) into the config
/// folder, where the plugin now keeps it.
pub fn moves(base: &Base, identifier: &str, old_window_state: Option<&Path>) -> Vec<Move> {
    let mut moves = vec![];
    let mut folder = |what: &'static str, root: &Path| {
        let (from, to) = (root.join(OLD_IDENTIFIER), root.join(identifier));
        // data and local data are one folder on Linux: one move.
        if identifier != OLD_IDENTIFIER && !moves.iter().any(|m: &Move| m.from == from) {
            moves.push(Move { what, from, to });
        }
    };
    folder("app config folder", &base.config);
    folder("web view data folder", &base.data);
    folder("web view data folder", &base.local_data);
    folder("web view cache", &base.cache);
    if let Some(old) = old_window_state {
        let to = base.config.join(identifier).join(WINDOW_STATE_FILE);
        moves.push(Move { what: "window state", from: old.to_owned(), to });
    }
    moves
}

/// Where the window state was kept before: beside settings.json in the engine's config folder.
/// Not looked for when `TWINDROP_CONFIG_DIR` points elsewhere (tests): that folder was never the
/// user's, and its file must not land in the user's app folder.
pub fn old_window_state() -> Option<PathBuf> {
    if std::env::var_os("TWINDROP_CONFIG_DIR").is_some() {
        return None;
    }
    twindrop_engine::profile::config_dir().ok().map(|dir| dir.join(WINDOW_STATE_FILE))
}

#[cfg(test)]
mod tests {
    use twindrop_engine::relocate::{run, Moved};

    use super::*;

    const NEW: &str = "dev.twindrop.Twindrop";

    fn base(home: &Path) -> Base {
        Base {
            config: home.join(".config"),
            data: home.join(".local/share"),
            local_data: home.join(".local/share"),
            cache: home.join(".cache"),
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_identifier_is_reverse_dns_and_not_an_app_bundle_name() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).expect("tauri.conf.json");
        let id = config["identifier"].as_str().unwrap();
        assert_eq!(id, NEW);
        assert!(!id.ends_with(".app") && id.split('.').count() >= 3, "{id}");
        assert_ne!(id, OLD_IDENTIFIER);
    }

    #[test]
    fn the_old_folders_and_window_state_move_to_the_new_identifier_once() {
        let home = tempfile::tempdir().unwrap();
        let base = base(home.path());
        let old_state = home.path().join(".config/twindrop/window-state.json");
        // What a 0.1 user has: Tauri's folders under the old identifier, the window state beside
        // settings.json, and the engine's folders (which are not the identifier's).
        write(&base.config.join(OLD_IDENTIFIER).join("other.json"), "tauri config");
        write(&base.data.join(OLD_IDENTIFIER).join("localstorage/file__0.localstorage"), "density");
        write(&base.cache.join(OLD_IDENTIFIER).join("WebKitCache/x"), "cache");
        write(&old_state, r#"{"main":{"width":900}}"#);
        write(&home.path().join(".config/twindrop/settings.json"), "accounts");
        write(&home.path().join(".local/share/twindrop/journal.sqlite"), "jobs");

        let moves = moves(&base, NEW, Some(&old_state));
        assert_eq!(moves.len(), 4, "data and local data are one folder here: {moves:?}");
        let done = run(&moves);
        assert!(done.iter().all(|d| matches!(d, Ok(Moved::Moved))), "{done:?}");

        assert_eq!(read(&base.config.join(NEW).join("other.json")), "tauri config");
        assert_eq!(read(&base.data.join(NEW).join("localstorage/file__0.localstorage")), "density");
        assert_eq!(read(&base.cache.join(NEW).join("WebKitCache/x")), "cache");
        assert_eq!(read(&base.config.join(NEW).join(WINDOW_STATE_FILE)), r#"{"main":{"width":900}}"#);
        for gone in [base.config.join(OLD_IDENTIFIER), base.data.join(OLD_IDENTIFIER), old_state.clone()] {
            assert!(!gone.exists(), "{} is still there", gone.display());
        }
        // The engine's files are where they were: the CLI and the app share them.
        assert_eq!(read(&home.path().join(".config/twindrop/settings.json")), "accounts");
        assert_eq!(read(&home.path().join(".local/share/twindrop/journal.sqlite")), "jobs");

        // The next start finds nothing to move and changes nothing.
        let again = run(&super::moves(&base, NEW, Some(&old_state)));
        assert!(again.iter().all(|d| matches!(d, Ok(Moved::NothingThere))), "{again:?}");
        assert_eq!(read(&base.config.join(NEW).join(WINDOW_STATE_FILE)), r#"{"main":{"width":900}}"#);
    }

    #[test]
    fn a_user_of_both_versions_keeps_the_new_folders() {
        let home = tempfile::tempdir().unwrap();
        let base = base(home.path());
        let old_state = home.path().join(".config/twindrop/window-state.json");
        write(&base.data.join(OLD_IDENTIFIER).join("ls"), "old");
        write(&base.data.join(NEW).join("ls"), "new");
        write(&old_state, "old window");
        write(&base.config.join(NEW).join(WINDOW_STATE_FILE), "new window");
        let done = run(&moves(&base, NEW, Some(&old_state)));
        assert!(done.iter().all(|d| matches!(d, Ok(Moved::KeptNew | Moved::NothingThere))), "{done:?}");
        assert_eq!(read(&base.data.join(NEW).join("ls")), "new");
        assert_eq!(read(&base.data.join(OLD_IDENTIFIER).join("ls")), "old", "the old is left for the user");
        assert_eq!(read(&base.config.join(NEW).join(WINDOW_STATE_FILE)), "new window");
        assert_eq!(read(&old_state), "old window");
    }

    #[test]
    fn logs_go_where_tauri_puts_an_apps_logs() {
        let base = base(Path::new("/home/u"));
        assert_eq!(base.log_dir(NEW), Path::new("/home/u/.local/share/dev.twindrop.Twindrop/logs"));
    }
}
