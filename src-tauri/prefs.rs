//! Preferences (engine `prefs`): read, and saved after they check out. Parallelism and the
//! bandwidth limit apply at once to the open session's queues; the conflict policy to uploads
//! of the next session; autostart goes to the OS through the autostart plugin.

use tauri::{AppHandle, State};
use tauri_plugin_autostart::ManagerExt;
use twindrop_engine::prefs::Prefs;
use twindrop_engine::{Error, ErrorInfo};

use crate::session::{settings, AppState};

type Reply<T> = Result<T, ErrorInfo>;

/// The upload queue's options from the saved prefs; a settings file edited into something
/// invalid falls back to the defaults rather than keeping the session shut.
#[tauri::command]
#[specta::specta]
pub async fn prefs_get() -> Reply<Prefs> {
    Ok(settings()?.load()?.prefs)
}

/// Check, apply autostart, save, and apply to the running queues. Returns the prefs as saved
/// (the bandwidth written canonically).
#[tauri::command]
#[specta::specta]
pub async fn prefs_set(app: AppHandle, state: State<'_, AppState>, prefs: Prefs) -> Reply<Prefs> {
    let prefs = prefs.validated()?;
    let autolaunch = app.autolaunch();
    let autostart_error = |e: tauri_plugin_autostart::Error| Error::Autostart(e.to_string());
    if autolaunch.is_enabled().map_err(autostart_error)? != prefs.autostart {
        if prefs.autostart { autolaunch.enable() } else { autolaunch.disable() }.map_err(autostart_error)?;
    }
    settings()?.update(|s| {
        s.prefs = prefs.clone();
        Ok(())
    })?;
    let inner = state.inner.lock().await;
    if let Some(session) = inner.session.as_ref() {
        match &session.watched {
            Ok(watched) => prefs.apply(&[&session.queue, watched.queue()])?,
            Err(_) => prefs.apply(&[&session.queue])?,
        }
    }
    Ok(prefs)
}
