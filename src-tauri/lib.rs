//! # Twindrop desktop shell
//!
//! Thin by design: the window, the IPC commands and app state. Every behaviour is a call into
//! `twindrop-engine`.
//!
//! # Layout
//! - `state`: what Tauri manages: the engine's `app::App` (session, queue, watched folders,
//!   activity log, event routing) and the paths the user chose.
//! - `commands`: the IPC surface for sessions, the queue and Docs, one engine call each;
//!   errors cross as `ErrorInfo`.
//! - `watched`, `prefs`, `activity`, `upload`: the same for watched folders, preferences, the
//!   activity log and the Upload panel (a drop's naming preview, a batch under settled names).
//! - `desktop`: tray icon and notifications, fed by the queue's events through `app::Hooks`.
//! - `picker`: native file and folder dialogs, with a test seam.
//! - `ipc`: the list of commands, the one source of the handler, the TypeScript bindings
//!   (`bindings`, a test) and the window's permissions (build.rs).

use tauri::Manager;

// The command list: `ipc_commands!`, also read by build.rs.
#[macro_use]
mod ipc;

mod activity;
#[cfg(test)]
mod audit;
#[cfg(test)]
mod bindings;
mod commands;
mod desktop;
mod picker;
mod prefs;
mod state;
mod upload;
mod watched;

use std::sync::Arc;

use twindrop_engine::app::{App, Hooks, Places};

/// The IPC commands with their types: the invoke handler, and (in `bindings`) the TypeScript
/// bindings of the UI. Nothing is written at run time.
fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::new().commands(ipc_commands!(tauri_specta::collect_commands))
}

fn window_state_file() -> String {
    let dir = twindrop_engine::profile::config_dir().unwrap_or_default();
    dir.join("window-state.json").to_string_lossy().into_owned()
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TWINDROP_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    tauri::Builder::default()
        // First, so a second launch hands over to the running window before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        // Beside settings.json (so TWINDROP_CONFIG_DIR moves it too), not in Tauri's own folder.
        .plugin(tauri_plugin_window_state::Builder::default().with_filename(window_state_file()).build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, None))
        .setup(|app| {
            let hooks = Hooks {
                observe: Some(Arc::new(|event| desktop::observe(&event))),
                batch_ended: Some(Arc::new(desktop::batch_ended)),
                paused: Some(Arc::new(desktop::set_paused)),
            };
            let places = Places::for_user()?;
            let chosen = Arc::new(twindrop_engine::chosen::Chosen::default());
            chosen.allow_saved_watched(&places.settings);
            app.manage(state::AppState { app: App::new(places, hooks), chosen });
            desktop::setup(app.handle(), tray_set_paused);
            Ok(())
        })
        // A drop's paths are recorded here, from the native event, before the page hears of it
        // (the web view cannot forge this event).
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                window.state::<state::AppState>().chosen.allow(paths);
            }
        })
        .on_webview_event(|webview, event| {
            if let tauri::WebviewEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                webview.state::<state::AppState>().chosen.allow(paths);
            }
        })
        .invoke_handler(specta_builder().invoke_handler())
        .run(tauri::generate_context!())
        .expect("error while running the Twindrop window");
}

/// The tray's "Pause all" / "Resume all": the same engine call as the window's buttons.
fn tray_set_paused(
    app: tauri::AppHandle,
    paused: bool,
) -> tauri::async_runtime::JoinHandle<std::result::Result<(), twindrop_engine::ErrorInfo>> {
    tauri::async_runtime::spawn(async move { Ok(app.state::<state::AppState>().app.set_paused(paused).await?) })
}
