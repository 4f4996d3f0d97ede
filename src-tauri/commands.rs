//! The IPC surface. Each command is one engine call plus the bookkeeping of app state;
//! errors cross to the UI as `{code, message, retryable}`.

use std::path::PathBuf;
use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::State;
use twindrop_engine::queue::EventSink;
use twindrop_engine::{Error, ErrorInfo, Queue, QueueEvent, Secret, TwinId};

use crate::session::{route_events, settings, AppState, Inner, SessionInfo};

type Reply<T> = Result<T, ErrorInfo>;

/// The open session's queue and profile, taken out of the lock so network calls never hold it.
async fn current(state: &State<'_, AppState>) -> Reply<(Arc<Queue>, Option<String>)> {
    let inner = state.inner.lock().await;
    let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
    Ok((session.queue.clone(), session.info.profile.clone()))
}

fn session_info(inner: &Inner) -> Reply<SessionInfo> {
    inner.session.as_ref().map(|s| s.info.clone()).ok_or_else(|| Error::Input("not logged in".into()).info())
}

fn remember_twin(profile: Option<&str>, twin: &TwinId) -> Reply<()> {
    Ok(settings()?.update(|s| s.remember_twin(profile, twin.as_str()))?)
}

#[tauri::command]
pub async fn session_get(state: State<'_, AppState>) -> Reply<Option<SessionInfo>> {
    let mut inner = state.inner.lock().await;
    inner.start_up().await?;
    Ok(inner.session.as_ref().map(|s| s.info.clone()))
}

#[tauri::command]
pub async fn login_sandbox(state: State<'_, AppState>) -> Reply<SessionInfo> {
    let mut inner = state.inner.lock().await;
    inner.open_sandbox().await?;
    session_info(&inner)
}

#[tauri::command]
pub async fn login_trusted_twin(state: State<'_, AppState>, base_url: String, secret: String) -> Reply<SessionInfo> {
    let secret = Secret::from_input(&secret)?;
    let mut inner = state.inner.lock().await;
    inner.open_trusted_twin(&base_url, secret).await?;
    session_info(&inner)
}

/// Close the session. For a Trusted Twin profile this also removes its secret from the keyring.
#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> Reply<()> {
    let mut inner = state.inner.lock().await;
    if let Some(s) = inner.session.take() {
        if let Some(profile) = s.info.profile.clone() {
            twindrop_engine::account::logout(&settings()?, &profile).await?;
        }
    }
    Ok(())
}

#[tauri::command]
pub async fn twins_recent(state: State<'_, AppState>) -> Reply<Vec<String>> {
    let (_, profile) = current(&state).await?;
    Ok(settings()?.load()?.recent_twins(profile.as_deref())?.to_vec())
}

#[tauri::command]
pub async fn twin_create(state: State<'_, AppState>) -> Reply<String> {
    let (queue, profile) = current(&state).await?;
    let twin = queue.service().trusted_twin()?.create_twin().await?;
    remember_twin(profile.as_deref(), &twin)?;
    Ok(twin.to_string())
}

#[tauri::command]
pub async fn twin_select(state: State<'_, AppState>, twin: String) -> Reply<String> {
    let twin = TwinId::parse(&twin)?;
    let (queue, profile) = current(&state).await?;
    queue.service().trusted_twin()?.get_twin(&twin).await?;
    remember_twin(profile.as_deref(), &twin)?;
    Ok(twin.to_string())
}

/// Queue dropped files. Returns once they are in the journal, with their job ids; progress
/// streams over `events`.
#[tauri::command]
pub async fn upload_paths(
    state: State<'_, AppState>,
    twin: String,
    paths: Vec<String>,
    events: Channel<QueueEvent>,
) -> Reply<Vec<u64>> {
    let twin = TwinId::parse(&twin)?;
    let (queue, routes) = {
        let inner = state.inner.lock().await;
        let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
        (session.queue.clone(), session.routes.clone())
    };
    // Route before anything can run: a job's first event registers its channel.
    let forward = route_events(routes.clone());
    let sink: EventSink = Arc::new(move |event: QueueEvent| {
        if let QueueEvent::Added { id, .. } = &event {
            routes.lock().expect("routes").insert(*id, events.clone());
        }
        forward(event);
    });
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    Ok(queue.enqueue(&twin, &paths, &sink).await?)
}

/// Where these jobs stand in the journal: the final event of each settled one. The window calls
/// this now and then for items still moving, so it converges on the journal even if it missed
/// an event.
#[tauri::command]
pub async fn queue_settled(state: State<'_, AppState>, ids: Vec<u64>) -> Reply<Vec<QueueEvent>> {
    let (queue, _) = current(&state).await?;
    let mut events = Vec::new();
    for id in ids {
        if let Some(event) = queue.journal().get(id).ok().and_then(|job| job.settled_event()) {
            events.push(event);
        }
    }
    Ok(events)
}
