//! The Docs tab's per-Doc actions beyond reading: download through the save dialog, the local
//! file a Doc came from, and revealing it in the file manager. One engine call each; the
//! paths written or shown are the save dialog's and the journal's, never the page's.
//!
//! Test seam: with `TWINDROP_TEST_REVEALS` naming a file, a reveal appends the path to it (one
//! line) instead of opening a file manager, which a WebDriver session cannot see.

use std::io::Write;

use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;
use twindrop_engine::app::LocalFile;
use twindrop_engine::transfer::download::Saved;
use twindrop_engine::{Error, TwinId};

use crate::state::{AppState, Reply};

/// Ask where to save Doc `name` (the dialog offers its file name and asks before replacing a
/// file), then download it there, checked against its recorded SHA-256; `None`: cancelled.
#[tauri::command]
#[specta::specta]
pub async fn doc_download(
    app: AppHandle,
    state: State<'_, AppState>,
    twin: String,
    name: String,
    suggested: String,
) -> Reply<Option<Saved>> {
    let twin = TwinId::parse(&twin)?;
    let Some(path) = crate::picker::save_path(&app, &suggested, &[]).await? else { return Ok(None) };
    // The save dialog asked before naming a file that is there: replacing it is the user's word.
    Ok(Some(state.app.download_doc(&twin, &name, &path, true).await?))
}

/// The file Doc `name` was sent from, when a journal knows it (and whether it is still there).
#[tauri::command]
#[specta::specta]
pub async fn doc_local_file(state: State<'_, AppState>, twin: String, name: String) -> Reply<Option<LocalFile>> {
    Ok(state.app.doc_local_file(&TwinId::parse(&twin)?, &name).await?)
}

/// Show the file Doc `name` came from in the file manager. Returns the path shown.
#[tauri::command]
#[specta::specta]
pub async fn doc_reveal(app: AppHandle, state: State<'_, AppState>, twin: String, name: String) -> Reply<String> {
    let local = state.app.doc_local_file(&TwinId::parse(&twin)?, &name).await?;
    let file = match local {
        Some(file) if file.present => file.path,
        Some(file) => {
            let gone = std::io::Error::new(std::io::ErrorKind::NotFound, "the file is no longer there");
            return Err(Error::file(file.path, gone).info());
        }
        None => return Err(Error::NotFound(format!("Twindrop has no record of the file behind Doc {name:?}")).info()),
    };
    if let Some(log) = std::env::var_os("TWINDROP_TEST_REVEALS") {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| Error::file(&log, e).info())?;
        writeln!(log, "{file}").map_err(|e| Error::file("TWINDROP_TEST_REVEALS", e).info())?;
        return Ok(file);
    }
    app.opener()
        .reveal_item_in_dir(&file)
        .map_err(|e| Error::Setup(format!("could not show {file} in the file manager: {e}")).info())?;
    Ok(file)
}
