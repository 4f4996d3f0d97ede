//! The IPC surface. Each command is one engine call plus the bookkeeping of app state;
//! errors cross to the UI as `{code, message, retryable}`.

use std::sync::Arc;

use std::sync::atomic::Ordering;

use tauri::ipc::Channel;
use tauri::State;
use twindrop_engine::journal::JobState;
use twindrop_engine::queue::EventSink;
use twindrop_engine::service::trusted_twin::DocEntry;
use twindrop_engine::service::{Destination, ServiceKind};
use twindrop_engine::{DocName, DocStatus, Error, ErrorInfo, Queue, QueueEvent, Secret, TwinId};

use crate::session::{route_events, settings, AppState, Inner, SessionInfo};

type Reply<T> = Result<T, ErrorInfo>;

/// The open session's queue and profile, taken out of the lock so network calls never hold it.
async fn current(state: &State<'_, AppState>) -> Reply<(Arc<Queue>, Option<String>)> {
    let inner = state.inner.lock().await;
    let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
    Ok((session.queue.clone(), session.info.profile.clone()))
}

/// The open session's queue and the sink that routes its events to the window.
async fn queue_and_sink(state: &State<'_, AppState>) -> Reply<(Arc<Queue>, EventSink)> {
    let inner = state.inner.lock().await;
    let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
    Ok((session.queue.clone(), route_events(session.routes.clone())))
}

fn session_info(inner: &Inner) -> Reply<SessionInfo> {
    inner.session.as_ref().map(|s| s.info.clone()).ok_or_else(|| Error::Input("not logged in".into()).info())
}

fn remember_twin(profile: Option<&str>, twin: &TwinId) -> Reply<()> {
    Ok(settings()?.update(|s| s.remember_twin(profile, twin.as_str()))?)
}

#[tauri::command]
#[specta::specta]
pub async fn session_get(state: State<'_, AppState>) -> Reply<Option<SessionInfo>> {
    let mut inner = state.inner.lock().await;
    inner.start_up().await?;
    Ok(inner.session.as_ref().map(|s| s.info.clone()))
}

#[tauri::command]
#[specta::specta]
pub async fn login_sandbox(state: State<'_, AppState>) -> Reply<SessionInfo> {
    let mut inner = state.inner.lock().await;
    inner.open_sandbox().await?;
    session_info(&inner)
}

/// Sign in to a service (`trusted_twin`, `redivis`, `inspect`, `hbr`). Redivis and Inspect
/// logins name their destination (a table reference, an asset ID): reading it is their check.
#[tauri::command]
#[specta::specta]
pub async fn login_service(
    state: State<'_, AppState>,
    service: String,
    base_url: String,
    secret: String,
    destination: Option<String>,
) -> Reply<SessionInfo> {
    let kind = ServiceKind::parse(&service)?;
    let secret = Secret::from_input(&secret)?;
    let mut inner = state.inner.lock().await;
    inner.open_service(kind, &base_url, secret, destination.as_deref()).await?;
    session_info(&inner)
}

/// A saved account, for the login screen's "switch to" list. Never the secret.
#[derive(serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileEntry {
    name: String,
    service: ServiceKind,
    base_url: String,
    destination: Option<String>,
    active: bool,
}

#[tauri::command]
#[specta::specta]
pub async fn profiles_list() -> Reply<Vec<ProfileEntry>> {
    let s = settings()?.load()?;
    Ok(s.profiles
        .iter()
        .map(|(name, p)| ProfileEntry {
            name: name.clone(),
            service: p.service,
            base_url: p.base_url.clone(),
            destination: p.recent_twins.first().cloned().filter(|_| p.service != ServiceKind::TrustedTwin),
            active: s.active.as_deref() == Some(name),
        })
        .collect())
}

/// Switch to a saved profile, with the secret the keyring holds for it.
#[tauri::command]
#[specta::specta]
pub async fn profile_open(state: State<'_, AppState>, name: String) -> Reply<SessionInfo> {
    let mut inner = state.inner.lock().await;
    inner.open_profile(&name).await?;
    session_info(&inner)
}

/// Close the session and keep the profile and its secret, to switch to another account.
#[tauri::command]
#[specta::specta]
pub async fn session_close(state: State<'_, AppState>) -> Reply<()> {
    state.inner.lock().await.session = None;
    Ok(())
}

/// Close the session and sign out: a profile's secret leaves the keyring.
#[tauri::command]
#[specta::specta]
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
#[specta::specta]
pub async fn twins_recent(state: State<'_, AppState>) -> Reply<Vec<String>> {
    let (_, profile) = current(&state).await?;
    Ok(settings()?.load()?.recent_twins(profile.as_deref())?.to_vec())
}

#[tauri::command]
#[specta::specta]
pub async fn twin_create(state: State<'_, AppState>) -> Reply<String> {
    let (queue, profile) = current(&state).await?;
    let twin = queue.service().trusted_twin()?.create_twin().await?;
    remember_twin(profile.as_deref(), &twin)?;
    Ok(twin.to_string())
}

#[tauri::command]
#[specta::specta]
pub async fn twin_select(state: State<'_, AppState>, twin: String) -> Reply<String> {
    let twin = TwinId::parse(&twin)?;
    let (queue, profile) = current(&state).await?;
    queue.service().trusted_twin()?.get_twin(&twin).await?;
    remember_twin(profile.as_deref(), &twin)?;
    Ok(twin.to_string())
}

/// Where these jobs stand in the journal: the final event of each settled one. The window calls
/// this now and then for items still moving, so it converges on the journal even if it missed
/// an event.
#[tauri::command]
#[specta::specta]
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

/// The window's own channel: the queue's `stats` (speed, ETA) and the events of jobs no drop
/// listens to. Returns whether the queue is paused as a whole.
#[tauri::command]
#[specta::specta]
pub async fn queue_watch(state: State<'_, AppState>, events: Channel<QueueEvent>) -> Reply<bool> {
    let inner = state.inner.lock().await;
    let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
    session.routes.watch(events);
    Ok(session.paused.load(Ordering::SeqCst))
}

/// Pause one job (queued or uploading). `false`: it is past the upload, or already settled.
#[tauri::command]
#[specta::specta]
pub async fn queue_pause(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    let (queue, sink) = queue_and_sink(&state).await?;
    Ok(queue.pause(id, &sink)?)
}

#[tauri::command]
#[specta::specta]
pub async fn queue_resume(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    let (queue, sink) = queue_and_sink(&state).await?;
    Ok(queue.resume(id, &sink)?)
}

/// Cancel one job that has not reached the attach.
#[tauri::command]
#[specta::specta]
pub async fn queue_cancel(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    let (queue, sink) = queue_and_sink(&state).await?;
    Ok(queue.cancel(id, &sink)?)
}

/// Put one failed job back in the queue.
#[tauri::command]
#[specta::specta]
pub async fn queue_retry(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    let (queue, sink) = queue_and_sink(&state).await?;
    Ok(queue.retry(id, &sink)?)
}

/// Stop taking jobs and stop the bytes in flight. The interrupted jobs go back to the queue,
/// and the window hears so.
#[tauri::command]
#[specta::specta]
pub async fn queue_pause_all(state: State<'_, AppState>) -> Reply<()> {
    set_queue_paused(&state, true).await
}

#[tauri::command]
#[specta::specta]
pub async fn queue_resume_all(state: State<'_, AppState>) -> Reply<()> {
    set_queue_paused(&state, false).await
}

/// Pause or resume the whole queue: the window's buttons and the tray's menu both come here.
pub async fn set_queue_paused(state: &AppState, paused: bool) -> Reply<()> {
    let (queue, sink) = {
        let inner = state.inner.lock().await;
        let session = inner.session.as_ref().ok_or_else(|| Error::Input("not logged in".into()).info())?;
        session.paused.store(paused, Ordering::SeqCst);
        (session.queue.clone(), route_events(session.routes.clone()))
    };
    crate::desktop::set_paused(paused);
    crate::activity::note(twindrop_engine::activity::NewEntry::new(
        if paused { twindrop_engine::activity::Kind::Paused } else { twindrop_engine::activity::Kind::Resumed },
        if paused { "Paused all uploads" } else { "Resumed all uploads" },
    ));
    if !paused {
        queue.resume_all();
        return Ok(());
    }
    let base = queue.service().base_url().to_owned();
    let moving = queue.journal().list(Some(&base), &[JobState::Uploading])?;
    queue.pause_all()?;
    for job in moving {
        if queue.journal().get(job.id)?.state == JobState::Queued {
            sink(QueueEvent::State { id: job.id, state: JobState::Queued });
        }
    }
    Ok(())
}

/// Put every failed job of this server back in the queue; returns how many. The window hears
/// each one go back to `queued` on its own channel.
#[tauri::command]
#[specta::specta]
pub async fn queue_retry_failed(state: State<'_, AppState>) -> Reply<usize> {
    let (queue, sink) = queue_and_sink(&state).await?;
    let base = queue.service().base_url().to_owned();
    let failed = queue.journal().list(Some(&base), &[JobState::Failed])?;
    let n = queue.retry_failed()?;
    for job in failed {
        // A job whose attach is in doubt goes to `attaching`, not `queued`: it is resolved
        // when the queue next starts, and the window keeps showing it failed until then.
        if queue.journal().get(job.id)?.state == JobState::Queued {
            sink(QueueEvent::State { id: job.id, state: JobState::Queued });
        }
    }
    Ok(n)
}

/// Every Doc of the Twin with its server status and details.
#[tauri::command]
#[specta::specta]
pub async fn docs_list(state: State<'_, AppState>, twin: String) -> Reply<Vec<DocEntry>> {
    let twin = TwinId::parse(&twin)?;
    let (queue, _) = current(&state).await?;
    Ok(queue.service().trusted_twin()?.list_docs_detailed(&twin).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn doc_delete(state: State<'_, AppState>, twin: String, name: String) -> Reply<()> {
    let twin = TwinId::parse(&twin)?;
    let name = DocName::parse(&name)?;
    let (queue, _) = current(&state).await?;
    Ok(queue.service().trusted_twin()?.delete_doc(&twin, &name).await?)
}

/// Send a Doc whose copy ended `hash_mismatch` (or `error`) again: find the file it came from
/// in the journal, check that the file is still there, delete the Doc, and queue the file under
/// the same name. Returns the new job's id; its events go to the window's channel.
#[tauri::command]
#[specta::specta]
pub async fn doc_retry(state: State<'_, AppState>, twin: String, name: String) -> Reply<Vec<u64>> {
    let twin = TwinId::parse(&twin)?;
    let doc_name = DocName::parse(&name)?;
    let (queue, sink) = queue_and_sink(&state).await?;
    let tt = queue.service().trusted_twin()?.clone();
    let doc = tt.get_doc(&twin, &doc_name).await?;
    if !matches!(doc.status, DocStatus::HashMismatch | DocStatus::Error) {
        let status = doc.status.as_str();
        return Err(
            Error::Input(format!("Doc {name:?} is {status}: only a hash_mismatch or error Doc is sent again")).info()
        );
    }
    let base = queue.service().base_url().to_owned();
    let settled = [JobState::Done, JobState::Failed, JobState::Skipped, JobState::Cancelled];
    let source = queue
        .journal()
        .list(Some(&base), &settled)?
        .into_iter()
        .filter(|job| job.twin == twin.as_str() && job.doc_name == name)
        .max_by_key(|job| job.id)
        .ok_or_else(|| {
            Error::Input(format!("Twindrop has no record of the file behind Doc {name:?}, so it cannot send it again"))
        })?;
    // The file first: a Doc is only deleted when its file can take its place.
    match std::fs::metadata(&source.path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Err(Error::NotAFile { path: source.path }.info()),
        Err(e) => return Err(Error::file(&source.path, e).info()),
    }
    match tt.delete_doc(&twin, &doc_name).await {
        Ok(()) | Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e.info()),
    }
    let names = [Ok(name)];
    Ok(queue.enqueue_named(Destination::Twin(twin), &[source.path], Some(&names), None, &sink).await?)
}
