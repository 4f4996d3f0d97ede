//! Native file and folder pickers. The window never gets the dialog plugin's own permissions:
//! it asks this one command, and only gets back the paths the user chose.
//!
//! Test seam: with `TWINDROP_TEST_PICKS` naming a JSON file that holds a list of answers (each
//! a list of paths, `[]` for "cancelled"), each call takes the first answer from the file
//! instead of opening a dialog. A WebDriver session cannot drive a GTK dialog.

use std::path::{Path, PathBuf};

use serde::Deserialize;
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

fn next_test_pick(file: &Path) -> twindrop_engine::Result<Vec<String>> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::file(file, e))?;
    let mut answers: Vec<Vec<String>> = serde_json::from_str(&text)
        .map_err(|e| Error::invalid(twindrop_engine::Invalid::Option, format!("{}: {e}", file.display())))?;
    if answers.is_empty() {
        return Ok(Vec::new());
    }
    let first = answers.remove(0);
    std::fs::write(file, serde_json::to_vec(&answers).expect("paths serialize")).map_err(|e| Error::file(file, e))?;
    Ok(first)
}
