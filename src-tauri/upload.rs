//! The Upload panel's commands: the naming preview of a drop, and the start of a batch under
//! the names settled on. Each is one engine call, on paths the user chose.

use std::path::PathBuf;

use tauri::ipc::Channel;
use tauri::State;
use twindrop_engine::naming::NamedFile;
use twindrop_engine::queue::{Batch, Planned};
use twindrop_engine::QueueEvent;

use crate::state::{to_window, AppState, Reply};

/// Each file of the dropped or picked `paths` (folders expanded) with the name it would get,
/// from `template` if given. With a destination (`twin`), names another file already has there
/// carry a notice.
#[tauri::command]
#[specta::specta]
pub async fn names_preview(
    state: State<'_, AppState>,
    twin: Option<String>,
    paths: Vec<String>,
    template: Option<String>,
) -> Reply<Vec<NamedFile>> {
    let paths = state.chosen.check(paths.into_iter().map(PathBuf::from).collect()).await?;
    Ok(state.app.preview(twin.as_deref(), paths, template.as_deref()).await?)
}

/// Queue the batch under its settled names, with its storage class and description. Returns
/// once the jobs are in the journal; their events stream over `events`.
#[tauri::command]
#[specta::specta]
pub async fn upload_planned(
    state: State<'_, AppState>,
    twin: String,
    items: Vec<Planned>,
    storage_class: String,
    description: Option<serde_json::Value>,
    events: Channel<Vec<QueueEvent>>,
) -> Reply<Vec<u64>> {
    let batch = Batch::new(&storage_class, description)?;
    state.chosen.check(items.iter().map(|item| item.path.clone()).collect()).await?;
    Ok(state.app.upload(&twin, &items, &batch, to_window(events)).await?)
}
