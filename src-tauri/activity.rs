//! The activity log (engine `activity`, kept by `App`).

use tauri::State;
use twindrop_engine::activity::{Entry, Filter};

use crate::state::{AppState, Reply};

/// Entries newest first, filtered by kind and text, paged with `before`.
#[tauri::command]
#[specta::specta]
pub async fn activity_list(state: State<'_, AppState>, filter: Filter) -> Reply<Vec<Entry>> {
    Ok(state.app.activity(&filter)?)
}
