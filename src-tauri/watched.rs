//! Watched folders (engine `folders`): the open session runs the folders of its account; these
//! commands list and change them.

use std::path::PathBuf;
use std::sync::Arc;

use tauri::State;
use twindrop_engine::folders::{FolderStatus, FolderUpdate, Watched};

use crate::state::{AppState, Reply};

/// The session's folders, and `path` when the user chose it or it is one of them.
async fn folder(state: &State<'_, AppState>, path: String) -> Reply<(Arc<Watched>, PathBuf)> {
    let watched = state.app.folders().await?;
    let saved: Vec<PathBuf> = watched.list()?.iter().map(|f| PathBuf::from(&f.path)).collect();
    let path = state.chosen.check_folder(PathBuf::from(path), &saved).await?;
    Ok((watched, path))
}

#[tauri::command]
#[specta::specta]
pub async fn watched_list(state: State<'_, AppState>) -> Reply<Vec<FolderStatus>> {
    Ok(state.app.folders().await?.list()?)
}

/// Watch a folder the user picked (or dropped).
#[tauri::command]
#[specta::specta]
pub async fn watched_add(state: State<'_, AppState>, path: String, destination: String) -> Reply<FolderStatus> {
    let path = state.chosen.check(vec![PathBuf::from(path)]).await?.remove(0);
    Ok(state.app.folders().await?.add(&path, &destination)?)
}

#[tauri::command]
#[specta::specta]
pub async fn watched_update(state: State<'_, AppState>, path: String, update: FolderUpdate) -> Reply<FolderStatus> {
    let (watched, path) = folder(&state, path).await?;
    Ok(watched.update(&path, update)?)
}

#[tauri::command]
#[specta::specta]
pub async fn watched_remove(state: State<'_, AppState>, path: String) -> Reply<()> {
    let (watched, path) = folder(&state, path).await?;
    Ok(watched.remove(&path)?)
}

#[tauri::command]
#[specta::specta]
pub async fn watched_pause(state: State<'_, AppState>, path: String, paused: bool) -> Reply<FolderStatus> {
    let (watched, path) = folder(&state, path).await?;
    Ok(watched.set_paused(&path, paused)?)
}
