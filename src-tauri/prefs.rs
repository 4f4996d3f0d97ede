//! Preferences (engine `prefs`): read, and saved after they check out. Autostart goes to the OS
//! through the autostart plugin (its entry starts the app `--hidden`, `launch::AUTOSTART_ARGS`);
//! the rest is the engine's (`App::set_prefs`).

use tauri::{AppHandle, State};
use tauri_plugin_autostart::ManagerExt;
use twindrop_engine::prefs::Prefs;
use twindrop_engine::Error;

use crate::state::{AppState, Reply};

#[tauri::command]
#[specta::specta]
pub async fn prefs_get(state: State<'_, AppState>) -> Reply<Prefs> {
    Ok(state.app.prefs()?)
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
    Ok(state.app.set_prefs(prefs).await?)
}

/// Store the proxy's password in the OS keyring (`None` or empty: remove it) and use it at
/// once. Never sent back to the window.
#[tauri::command]
#[specta::specta]
pub async fn proxy_password_set(state: State<'_, AppState>, password: Option<String>) -> Reply<()> {
    Ok(state.app.set_proxy_password(password).await?)
}

/// An autostart entry written by an older release starts the app without `--hidden` (or from
/// a binary since moved): written again with today's arguments. Release builds only, so a
/// development build never points the user's login entry at itself.
pub fn refresh_autostart(app: &AppHandle) {
    if cfg!(debug_assertions) {
        return;
    }
    let autolaunch = app.autolaunch();
    if autolaunch.is_enabled().unwrap_or(false) {
        if let Err(e) = autolaunch.enable() {
            tracing::warn!("start at login not refreshed: {e}");
        }
    }
}
