//! The Upload panel's commands: the naming preview of a drop, and the start of a batch under
//! the names settled on. Each is one engine call.

use std::path::PathBuf;
use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::State;
use twindrop_engine::naming::{self, NamedFile};
use twindrop_engine::queue::{Batch, EventSink, Planned};
use twindrop_engine::service::Destination;
use twindrop_engine::{Error, ErrorInfo, Queue, QueueEvent};

use crate::session::{route_events, AppState, Routes};

type Reply<T> = Result<T, ErrorInfo>;

async fn session_queue(state: &State<'_, AppState>) -> Reply<(Arc<Queue>, Routes)> {
    let inner = state.inner.lock().await;
    let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
    Ok((session.queue.clone(), session.routes.clone()))
}

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
    let (queue, _) = session_queue(&state).await?;
    let dest = twin.filter(|t| !t.is_empty()).map(|t| Destination::parse_for(queue.service(), &t)).transpose()?;
    let files = queue.names_preview(dest.as_ref(), paths, template.as_deref()).await?;
    // A drop past the preview's limit is refused whole rather than shown in part.
    naming::cut_short(&files)?;
    Ok(files)
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
    events: Channel<QueueEvent>,
) -> Reply<Vec<u64>> {
    let (queue, routes) = session_queue(&state).await?;
    let dest = Destination::parse_for(queue.service(), &twin)?;
    let batch = Batch::new(&storage_class, description)?;
    state.chosen.check(items.iter().map(|item| item.path.clone()).collect()).await?;
    // Route before anything can run: a job's first event registers its channel.
    let forward = route_events(routes.clone());
    let sink: EventSink = Arc::new(move |event: QueueEvent| {
        if let QueueEvent::Added { id, .. } = &event {
            routes.route(*id, events.clone());
        }
        forward(event);
    });
    Ok(queue.enqueue_planned(dest, &items, &batch, &sink).await?)
}
