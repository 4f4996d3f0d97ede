//! Native file and folder pickers, and the save dialog. The window never gets the dialog
//! plugin's own permissions: it asks this one command, and only gets back the paths the user
//! chose; a file is saved only where the user said in a save dialog opened here
//! ([`save_path`], for the command that writes it), never at a path the page names.
//!
//! Test seams: a WebDriver session cannot drive a GTK dialog, so
//! - with `TWINDROP_TEST_PICKS` naming a JSON file that holds a list of answers (each a list of
//!   paths, `[]` for "cancelled"), each pick takes the first answer from the file instead of
//!   opening a dialog;
//! - with `TWINDROP_TEST_SAVES` naming a JSON file that holds a list of answers (each a path,
//!   `null` for "cancelled"), each save dialog does the same.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use twindrop_engine::{Error, ErrorInfo};

use crate::state::AppState;

#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PickKind {
    Files,
    Folder,
}

/// Paths the user picked; empty when they cancelled. They become chosen paths (`chosen`):
/// the commands that take paths accept them, and what is under them.
#[tauri::command]
#[specta::specta]
pub async fn pick_paths(app: AppHandle, state: State<'_, AppState>, kind: PickKind) -> Result<Vec<String>, ErrorInfo> {
    let picked = pick(app, kind).await?;
    state.chosen.allow(&picked);
    Ok(picked)
}

async fn pick(app: AppHandle, kind: PickKind) -> Result<Vec<String>, ErrorInfo> {
    if let Some(file) = std::env::var_os("TWINDROP_TEST_PICKS") {
        return next_test_pick(Path::new(&file)).map_err(|e| e.info());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dialog = app.dialog().file();
    match kind {
        PickKind::Files => dialog.pick_files(move |picked| {
            let _ = tx.send(picked.unwrap_or_default());
        }),
        PickKind::Folder => dialog.pick_folder(move |picked| {
            let _ = tx.send(picked.into_iter().collect());
        }),
    }
    let picked = rx.await.unwrap_or_default();
    // A picked entry that is not a local path (a portal URI we cannot read) is left out
    // rather than failing the whole pick.
    Ok(picked
        .into_iter()
        .filter_map(|p| p.into_path().ok())
        .map(|p: PathBuf| p.to_string_lossy().into_owned())
        .collect())
}

/// Where the user wants a file saved (a native save dialog offering `suggested`, of `filters`:
/// (name, extensions)); `None` when they cancelled.
pub async fn save_path(
    app: &AppHandle,
    suggested: &str,
    filters: &[(&str, &[&str])],
) -> Result<Option<PathBuf>, ErrorInfo> {
    if let Some(file) = std::env::var_os("TWINDROP_TEST_SAVES") {
        return next_test_answer::<Option<PathBuf>>(Path::new(&file)).map(Option::flatten).map_err(|e| e.info());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Only a file name: where it goes is the user's to say.
    let name = Path::new(suggested).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut dialog = app.dialog().file().set_file_name(name);
    for (name, extensions) in filters {
        dialog = dialog.add_filter(*name, extensions);
    }
    dialog.save_file(move |chosen| {
        let _ = tx.send(chosen);
    });
    // A portal URI we cannot write to is as good as cancelled: nothing is written.
    Ok(rx.await.ok().flatten().and_then(|p| p.into_path().ok()))
}

fn next_test_pick(file: &Path) -> twindrop_engine::Result<Vec<String>> {
    next_test_answer::<Vec<String>>(file).map(Option::unwrap_or_default)
}

/// The first answer of a test seam's file, which keeps the rest; `None` once none are left.
fn next_test_answer<T: DeserializeOwned + Serialize>(file: &Path) -> twindrop_engine::Result<Option<T>> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::file(file, e))?;
    let mut answers: Vec<T> = serde_json::from_str(&text)
        .map_err(|e| Error::invalid(twindrop_engine::Invalid::Option, format!("{}: {e}", file.display())))?;
    if answers.is_empty() {
        return Ok(None);
    }
    let first = answers.remove(0);
    std::fs::write(file, serde_json::to_vec(&answers).expect("answers serialize")).map_err(|e| Error::file(file, e))?;
    Ok(Some(first))
}
