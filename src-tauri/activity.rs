//! The activity log (engine `activity`): one per process, in the data folder. Writing to it
//! never fails a command: an entry that cannot be written is logged and dropped.

use std::sync::{Arc, Mutex};

use twindrop_engine::activity::{ActivityLog, Batches, Entry, Filter, NewEntry};
use twindrop_engine::{ErrorInfo, Result};

/// The log, opened on first use (the data folder can be changed by tests before then).
pub fn log() -> Result<Arc<ActivityLog>> {
    static LOG: Mutex<Option<Arc<ActivityLog>>> = Mutex::new(None);
    let mut slot = LOG.lock().expect("activity slot");
    if let Some(log) = slot.as_ref() {
        return Ok(log.clone());
    }
    let log = Arc::new(ActivityLog::open(&twindrop_engine::profile::activity_log_path()?)?);
    *slot = Some(log.clone());
    Ok(log)
}

pub fn note(entry: NewEntry) {
    match log() {
        Ok(log) => log.note(entry),
        Err(e) => tracing::warn!(code = e.code(), "activity log unavailable: {e}"),
    }
}

/// Batch tracking for a session's upload queue; a batch's end also tells the desktop.
pub fn batches() -> Option<Arc<Batches>> {
    log()
        .inspect_err(|e| tracing::warn!(code = e.code(), "activity log unavailable: {e}"))
        .ok()
        .map(|log| Batches::new(log, Some(std::sync::Arc::new(crate::desktop::batch_ended))))
}

/// Entries newest first, filtered by kind and text, paged with `before`.
#[tauri::command]
#[specta::specta]
pub async fn activity_list(filter: Filter) -> std::result::Result<Vec<Entry>, ErrorInfo> {
    Ok(log()?.list(&filter)?)
}
