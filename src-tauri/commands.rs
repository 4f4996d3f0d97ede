//! The IPC surface for sessions, the queue and Docs: each command parses its arguments, makes
//! one call into the engine's `app::App`, and returns the result; errors cross to the UI as
//! `{code, message, retryable}`.

use tauri::ipc::Channel;
use tauri::State;
use twindrop_engine::app::{ConnectionForm, ProfileEntry, SessionInfo};
use twindrop_engine::doctor;
use twindrop_engine::service::trusted_twin::{DocEntry, DocRow};
use twindrop_engine::service::ServiceKind;
use twindrop_engine::twin_names::TwinNames;
use twindrop_engine::{DocName, QueueEvent, Secret, TwinId};

use crate::state::{to_window, AppState, Reply};

#[tauri::command]
#[specta::specta]
pub async fn session_get(state: State<'_, AppState>) -> Reply<Option<SessionInfo>> {
    Ok(state.app.start_up().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn login_sandbox(state: State<'_, AppState>) -> Reply<SessionInfo> {
    Ok(state.app.open_sandbox().await?)
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
    let (kind, secret) = (ServiceKind::parse(&service)?, Secret::from_input(&secret)?);
    Ok(state.app.sign_in(kind, &base_url, secret, destination.as_deref()).await?)
}

/// "Check connection": of the sign-in form as filled in (`form`), or of the open session.
#[tauri::command]
#[specta::specta]
pub async fn connection_check(state: State<'_, AppState>, form: Option<ConnectionForm>) -> Reply<doctor::Report> {
    Ok(state.app.check_connection(form).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn profiles_list(state: State<'_, AppState>) -> Reply<Vec<ProfileEntry>> {
    Ok(state.app.profiles()?)
}

/// Switch to a saved profile, with the secret the keyring holds for it.
#[tauri::command]
#[specta::specta]
pub async fn profile_open(state: State<'_, AppState>, name: String) -> Reply<SessionInfo> {
    Ok(state.app.open_profile(&name).await?)
}

/// Close the session and keep the profile and its secret, to switch to another account.
#[tauri::command]
#[specta::specta]
pub async fn session_close(state: State<'_, AppState>) -> Reply<()> {
    state.app.close().await;
    Ok(())
}

/// Close the session and sign out: a profile's secret leaves the keyring.
#[tauri::command]
#[specta::specta]
pub async fn logout(state: State<'_, AppState>) -> Reply<()> {
    Ok(state.app.sign_out().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn twins_recent(state: State<'_, AppState>) -> Reply<Vec<String>> {
    Ok(state.app.recent_destinations().await?)
}

/// Create a Twin, named on the server (`description.name`) unless `name` is blank.
#[tauri::command]
#[specta::specta]
pub async fn twin_create(state: State<'_, AppState>, name: Option<String>) -> Reply<String> {
    Ok(state.app.create_named_twin(name.as_deref().unwrap_or("")).await?.to_string())
}

/// What every known Twin is called (nickname, server name), by UUID.
#[tauri::command]
#[specta::specta]
pub async fn twin_names(state: State<'_, AppState>) -> Reply<TwinNames> {
    Ok(state.app.twin_names()?)
}

/// Give a Twin a nickname on this machine (blank: remove it). Returns every Twin's names.
#[tauri::command]
#[specta::specta]
pub async fn twin_rename(state: State<'_, AppState>, twin: String, name: String) -> Reply<TwinNames> {
    Ok(state.app.name_twin(&TwinId::parse(&twin)?, &name)?)
}

#[tauri::command]
#[specta::specta]
pub async fn twin_select(state: State<'_, AppState>, twin: String) -> Reply<String> {
    let twin = TwinId::parse(&twin)?;
    state.app.select_twin(&twin).await?;
    Ok(twin.to_string())
}

/// Where these jobs stand in the journal: the final event of each settled one.
#[tauri::command]
#[specta::specta]
pub async fn queue_settled(state: State<'_, AppState>, ids: Vec<u64>) -> Reply<Vec<QueueEvent>> {
    Ok(state.app.settled(&ids).await?)
}

/// The window's own channel: the queue's `stats` and the events of jobs no drop listens to.
/// Returns whether the queue is paused as a whole.
#[tauri::command]
#[specta::specta]
pub async fn queue_watch(state: State<'_, AppState>, events: Channel<Vec<QueueEvent>>) -> Reply<bool> {
    Ok(state.app.watch_events(to_window(events)).await?)
}

/// Pause one job (queued or uploading). `false`: it is past the upload, or already settled.
#[tauri::command]
#[specta::specta]
pub async fn queue_pause(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    Ok(state.app.pause(id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn queue_resume(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    Ok(state.app.resume(id).await?)
}

/// Cancel one job that has not reached the attach.
#[tauri::command]
#[specta::specta]
pub async fn queue_cancel(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    Ok(state.app.cancel(id).await?)
}

/// Put one failed job back in the queue.
#[tauri::command]
#[specta::specta]
pub async fn queue_retry(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    Ok(state.app.retry(id).await?)
}

/// Forget a failed job (its file is gone): never retried, never listed again.
#[tauri::command]
#[specta::specta]
pub async fn queue_remove(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    Ok(state.app.remove_failed(id).await?)
}

/// Send a failed job's Doc from its file's new place, a path the user picked ("Locate…").
#[tauri::command]
#[specta::specta]
pub async fn queue_locate(state: State<'_, AppState>, id: u64, path: String) -> Reply<bool> {
    let path = state.chosen.check(vec![std::path::PathBuf::from(path)]).await?.remove(0);
    Ok(state.app.locate(id, &path).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn queue_pause_all(state: State<'_, AppState>) -> Reply<()> {
    Ok(state.app.set_paused(true).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn queue_resume_all(state: State<'_, AppState>) -> Reply<()> {
    Ok(state.app.set_paused(false).await?)
}

/// Put every failed job of this server back in the queue; returns how many.
#[tauri::command]
#[specta::specta]
pub async fn queue_retry_failed(state: State<'_, AppState>) -> Reply<usize> {
    Ok(state.app.retry_failed().await?)
}

/// "Clear finished": the ended jobs leave the queue's figures.
#[tauri::command]
#[specta::specta]
pub async fn queue_clear_finished(state: State<'_, AppState>) -> Reply<()> {
    Ok(state.app.clear_finished().await?)
}

/// The Twin's Docs from one listing: names, sizes, times (no statuses).
#[tauri::command]
#[specta::specta]
pub async fn docs_list(state: State<'_, AppState>, twin: String) -> Reply<Vec<DocRow>> {
    Ok(state.app.docs(&TwinId::parse(&twin)?).await?)
}

/// The named Docs with their server status and details: the rows in view.
#[tauri::command]
#[specta::specta]
pub async fn docs_details(state: State<'_, AppState>, twin: String, names: Vec<String>) -> Reply<Vec<DocEntry>> {
    Ok(state.app.doc_details(&TwinId::parse(&twin)?, names).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn doc_delete(state: State<'_, AppState>, twin: String, name: String) -> Reply<()> {
    Ok(state.app.delete_doc(&TwinId::parse(&twin)?, &DocName::parse(&name)?).await?)
}

/// Send a Doc whose copy ended `hash_mismatch` (or `error`) again, from the file it came from.
/// Returns the new job's id; its events go to the window's channel.
#[tauri::command]
#[specta::specta]
pub async fn doc_retry(state: State<'_, AppState>, twin: String, name: String) -> Reply<Vec<u64>> {
    Ok(state.app.resend_doc(&TwinId::parse(&twin)?, &DocName::parse(&name)?).await?)
}

/// Whether the first-run guide was closed once: then it opens only from Help.
#[tauri::command]
#[specta::specta]
pub async fn guide_seen(state: State<'_, AppState>) -> Reply<bool> {
    Ok(state.app.guide_seen()?)
}

#[tauri::command]
#[specta::specta]
pub async fn guide_set_seen(state: State<'_, AppState>, seen: bool) -> Reply<()> {
    Ok(state.app.set_guide_seen(seen)?)
}
