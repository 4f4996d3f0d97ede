//! Verify (engine `app::verifying`): a watched folder, or a folder the user picked against a
//! Twin, with progress over a channel; the rows the window scrolls to; "Send again"; a receipt
//! saved where the user says in a save dialog. One engine call each.

use std::path::PathBuf;
use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use twindrop_engine::app::{ReceiptSaved, SentAgain, VerifyView};
use twindrop_engine::verify::{Progress, ProgressFn, Row};
use twindrop_engine::QueueEvent;

use crate::state::{to_window, AppState, Reply};

/// The engine says how far it is every 100 ms: each goes to the window as it comes (unlike
/// queue events, they are too few to gather).
fn to_progress(channel: Channel<Progress>) -> ProgressFn {
    Arc::new(move |p| {
        if let Err(e) = channel.send(p) {
            tracing::debug!("verify progress not delivered to the window: {e}");
        }
    })
}

/// Verify one of the account's watched folders against its destination. Only a saved folder
/// is verified, so the path needs no other check.
#[tauri::command]
#[specta::specta]
pub async fn verify_folder(state: State<'_, AppState>, path: String, progress: Channel<Progress>) -> Reply<VerifyView> {
    state.app.verify_folder(&PathBuf::from(path), to_progress(progress)).await
}

/// Verify a folder the user picked against `twin`, its files named as an upload names them.
#[tauri::command]
#[specta::specta]
pub async fn verify_against(
    state: State<'_, AppState>,
    twin: String,
    path: String,
    progress: Channel<Progress>,
) -> Reply<VerifyView> {
    let paths = state.chosen.check(vec![PathBuf::from(path)]).await?;
    Ok(state.app.verify_against(&twin, paths, to_progress(progress)).await?)
}

/// Rows `start..end` of a verification: the ones in view.
#[tauri::command]
#[specta::specta]
pub async fn verify_rows(state: State<'_, AppState>, id: u64, start: u64, end: u64) -> Reply<Vec<Row>> {
    Ok(state.app.verification_rows(id, start as usize, end as usize)?)
}

/// The window closed a verification.
#[tauri::command]
#[specta::specta]
pub async fn verify_close(state: State<'_, AppState>, id: u64) -> Reply<()> {
    state.app.forget_verification(id);
    Ok(())
}

/// Send again what differs or is missing; jobs that go through the upload queue are heard
/// on `events`.
#[tauri::command]
#[specta::specta]
pub async fn verify_send_again(
    state: State<'_, AppState>,
    id: u64,
    events: Channel<Vec<QueueEvent>>,
) -> Reply<SentAgain> {
    state.app.send_again(id, to_window(events)).await
}

/// Ask where to save the receipt (offering `suggested`), then write it; `None`: cancelled.
#[tauri::command]
#[specta::specta]
pub async fn verify_export(
    app: AppHandle,
    state: State<'_, AppState>,
    id: u64,
    suggested: String,
) -> Reply<Option<ReceiptSaved>> {
    let filters: [(&str, &[&str]); 2] = [("JSON receipt", &["json"]), ("CSV receipt (for a spreadsheet)", &["csv"])];
    let Some(path) = crate::picker::save_path(&app, &suggested, &filters).await? else { return Ok(None) };
    Ok(Some(state.app.export_receipt(id, &path)?))
}
