//! What the user chose, kept on the Rust side (engine `chosen`): the paths the native dialogs
//! returned (`picker`, its test seam included), the paths dropped on the window (Tauri's own
//! drag-and-drop event, which the web view cannot forge), and the watched folders saved in
//! settings.json. A command that takes a path from the web view refuses any other with
//! `path.not_chosen`: a compromised page cannot make the app read, watch or upload `~/.ssh`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tauri::DragDropEvent;
use twindrop_engine::chosen::ChosenPaths;
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::{Error, ErrorInfo};

type Reply<T> = Result<T, ErrorInfo>;

/// The chosen paths, and those just chosen and not yet resolved: a drop is recorded on the
/// window's thread, which must not wait for the file system (a drop can be 10,000 files), so
/// its paths are resolved by the next check, off the runtime's threads.
#[derive(Default)]
pub struct Chosen {
    pending: Mutex<Vec<PathBuf>>,
    paths: Mutex<ChosenPaths>,
}

impl Chosen {
    /// The user chose these paths (picked or dropped): they, and what is under them, may be used.
    pub fn allow<P: AsRef<Path>>(&self, paths: impl IntoIterator<Item = P>) {
        let mut pending = self.pending.lock().expect("chosen paths");
        pending.extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
    }

    /// The watched folders saved in settings.json: chosen before, in this app or the CLI.
    pub fn allow_saved_watched(&self) {
        match SettingsFile::default_location().and_then(|s| s.load()) {
            Ok(saved) => self.allow(saved.watched.iter().map(|w| &w.path)),
            Err(e) => tracing::warn!(code = e.code(), "saved watched folders not read: {e}"),
        }
    }

    /// Each of `paths` as given, once every one of them has been found chosen; else the
    /// first that was not, as `path.not_chosen`. The file system is read off the runtime's
    /// threads (a drop of thousands of files resolves thousands of paths).
    pub async fn check(self: &Arc<Self>, paths: Vec<PathBuf>) -> Reply<Vec<PathBuf>> {
        let chosen = Arc::clone(self);
        tauri::async_runtime::spawn_blocking(move || chosen.check_now(&paths).map(|()| paths))
            .await
            .map_err(|e| Error::Internal(format!("path check stopped: {e}")).info())?
            .map_err(|e| e.info())
    }

    /// Blocking: resolves the paths.
    fn check_now(&self, paths: &[PathBuf]) -> twindrop_engine::Result<()> {
        let fresh = std::mem::take(&mut *self.pending.lock().expect("chosen paths"));
        let mut chosen = self.paths.lock().expect("chosen paths");
        chosen.allow_all(fresh);
        paths.iter().try_for_each(|path| chosen.check(path).map(drop))
    }
}

/// A drop on the window: its paths are the user's choice. Tauri fires this before it tells the
/// web view, so the page's `names_preview` of the same paths finds them allowed.
pub fn on_drag_drop(chosen: &Chosen, event: &DragDropEvent) {
    if let DragDropEvent::Drop { paths, .. } = event {
        chosen.allow(paths);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only picked or dropped paths, and what is under them, pass; the code is stable and the
    /// message names the path.
    #[tokio::test]
    async fn only_what_was_chosen_passes() {
        let home = tempfile::tempdir().unwrap();
        let picked = home.path().join("picked");
        std::fs::create_dir_all(picked.join("sub")).unwrap();
        std::fs::write(picked.join("sub/a.txt"), "a").unwrap();
        std::fs::write(home.path().join("other.txt"), "b").unwrap();
        let state = Arc::new(Chosen::default());
        let refused = state.check(vec![picked.clone()]).await.unwrap_err();
        assert_eq!(refused.code, "path.not_chosen");
        state.allow([&picked]);
        let ok = vec![picked.clone(), picked.join("sub/a.txt")];
        assert_eq!(state.check(ok.clone()).await.unwrap(), ok);
        for path in [home.path().to_path_buf(), home.path().join("other.txt"), picked.join("../other.txt")] {
            let err = state.check(vec![picked.join("sub/a.txt"), path.clone()]).await.unwrap_err();
            assert_eq!(err.code, "path.not_chosen", "{}", path.display());
            assert!(err.message.contains(&path.display().to_string()), "{}", err.message);
        }
    }
}
