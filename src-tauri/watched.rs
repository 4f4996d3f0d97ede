//! Watched folders (engine `watched`): the open session runs the folders of its account; these
//! commands list and change them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tauri::State;
use twindrop_engine::watched::{FolderStatus, FolderUpdate, Watched};
use twindrop_engine::{Error, ErrorInfo};

use crate::session::AppState;

type Reply<T> = Result<T, ErrorInfo>;

async fn watched(state: &State<'_, AppState>) -> Reply<Arc<Watched>> {
    let inner = state.inner.lock().await;
    let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
    session.watched.clone()
}

#[tauri::command]
#[specta::specta]
pub async fn watched_list(state: State<'_, AppState>) -> Reply<Vec<FolderStatus>> {
    Ok(watched(&state).await?.list()?)
}

/// `path`, when the user chose it (`chosen`) or it is one of this account's saved watched
/// folders (chosen before, maybe with the CLI while the app ran); else `path.not_chosen`.
async fn chosen_folder(state: &State<'_, AppState>, watched: &Watched, path: String) -> Reply<PathBuf> {
    let path = PathBuf::from(path);
    match state.chosen.check(vec![path.clone()]).await {
        Ok(_) => Ok(path),
        Err(refused) => match watched.list()?.iter().any(|f| Path::new(&f.path) == path) {
            true => Ok(path),
            false => Err(refused),
        },
    }
}

/// Watch a folder the user picked (or dropped).
#[tauri::command]
#[specta::specta]
pub async fn watched_add(state: State<'_, AppState>, path: String, destination: String) -> Reply<FolderStatus> {
    let path = state.chosen.check(vec![PathBuf::from(path)]).await?.remove(0);
    let watched = watched(&state).await?;
    Ok(watched.add(&path, &destination)?)
}

#[tauri::command]
#[specta::specta]
pub async fn watched_update(state: State<'_, AppState>, path: String, update: FolderUpdate) -> Reply<FolderStatus> {
    let watched = watched(&state).await?;
    let path = chosen_folder(&state, &watched, path).await?;
    Ok(watched.update(&path, update)?)
}

#[tauri::command]
#[specta::specta]
pub async fn watched_remove(state: State<'_, AppState>, path: String) -> Reply<()> {
    let watched = watched(&state).await?;
    let path = chosen_folder(&state, &watched, path).await?;
    Ok(watched.remove(&path)?)
}

#[tauri::command]
#[specta::specta]
pub async fn watched_pause(state: State<'_, AppState>, path: String, paused: bool) -> Reply<FolderStatus> {
    let watched = watched(&state).await?;
    let path = chosen_folder(&state, &watched, path).await?;
    Ok(watched.set_paused(&path, paused)?)
}
