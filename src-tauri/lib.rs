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
//! - `launch`: the command line (`--hidden` from start at login, `-v`/`-q` log levels).
//! - `logs`: stderr and rotated log files in the app's log folder, and "Open log folder".
//! - `places`: the app's folders by identifier, moved once from the old identifier's.
//! - `picker`: native file, folder and save dialogs, with test seams.
//! - `verify`: verify a watched or picked folder, send again, export a receipt.
//! - `docs`: a Doc's download (through the save dialog), its local file, and revealing it.
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
mod docs;
mod launch;
mod logs;
mod picker;
mod places;
mod prefs;
mod state;
mod upload;
mod verify;
mod watched;

use std::sync::Arc;

use tauri_plugin_window_state::StateFlags;
use twindrop_engine::app::{App, Places};

/// The IPC commands with their types: the invoke handler, and (in `bindings`) the TypeScript
/// bindings of the UI. Nothing is written at run time.
fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::new().commands(ipc_commands!(tauri_specta::collect_commands))
}

pub fn run() {
    let context = tauri::generate_context!();
    let identifier = context.config().identifier.clone();
    let launch = launch::Launch::from_argv(std::env::args_os());
    let base = places::Base::for_user();
    // First of all: before the log files (in the app's data folder), any plugin or the web view
    // open the app's folders, they must have been moved. Logged once logging is up.
    let moves = base.as_ref().map(|b| places::moves(b, &identifier, places::old_window_state().as_deref()));
    let moved = moves.as_deref().map(twindrop_engine::relocate::run);
    let log_dir = logs::dir(base.as_ref(), &identifier);
    logs::init(&logs::filter(launch.level(), std::env::var("TWINDROP_LOG").ok().as_deref()), log_dir.as_deref());
    if let (Some(moves), Some(moved)) = (&moves, &moved) {
        twindrop_engine::relocate::log(moves, moved);
    }
    if !launch.unknown.is_empty() {
        tracing::warn!("unknown arguments ignored: {:?}", launch.unknown);
    }
    // A plain `cargo build` is a development build: said, since its window stays blank
    // without Vite's dev server.
    #[cfg(dev)]
    tracing::warn!(
        "development build: the UI comes from {} (scripts/dev); build with --features custom-protocol to embed ui/dist",
        context.config().build.dev_url.as_ref().map_or("nowhere".into(), ToString::to_string)
    );
    let log_dir = log_dir.unwrap_or_default();
    tauri::Builder::default()
        // First, so a second launch hands over to the running window before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if launch::second_launch_shows_window(&argv) {
                desktop::show_window(app);
            }
        }))
        // Its file in the app's config folder, the plugin's default place. Visibility is not
        // restored: whether the window shows is the command line's (`--hidden`).
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_filename(places::WINDOW_STATE_FILE)
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_autostart::Builder::new().args(launch::AUTOSTART_ARGS).build())
        .manage(logs::LogDir(log_dir))
        .setup(move |app| {
            if std::env::var_os("TWINDROP_DATA_DIR").is_none() {
                // logs::dir mirrors Tauri's own rule; say so if the two ever part.
                let tauri_dir = app.path().app_log_dir().ok();
                if tauri_dir.as_ref() != Some(&app.state::<logs::LogDir>().0) {
                    tracing::warn!("the log folder is not Tauri's app_log_dir ({tauri_dir:?})");
                }
            }
            prefs::refresh_autostart(app.handle());
            let has_tray = desktop::setup(app.handle(), tray_set_paused);
            let places = Places::for_user()?;
            let chosen = Arc::new(twindrop_engine::chosen::Chosen::default());
            chosen.allow_saved_watched(&places.settings);
            app.manage(state::AppState { app: App::new(places, desktop::hooks(app.handle())), chosen });
            if launch.window_at_start(has_tray) {
                desktop::show_window(app.handle());
            } else {
                // Started at login with no window: the session and its watched folders open now,
                // not when the page asks (`session_get`), which a hidden web view may not do
                // for a while. A profile that fails to reopen says why in the log.
                let handle = app.handle().clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = handle.state::<state::AppState>().app.start_up().await {
                        tracing::warn!(code = e.code(), "hidden start: no session opened: {e}");
                    }
                });
            }
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
        .run(context)
        .expect("error while running the Twindrop window");
}

/// The tray's "Pause all" / "Resume all": the same engine call as the window's buttons.
fn tray_set_paused(
    app: tauri::AppHandle,
    paused: bool,
) -> tauri::async_runtime::JoinHandle<std::result::Result<(), twindrop_engine::ErrorInfo>> {
    tauri::async_runtime::spawn(async move { Ok(app.state::<state::AppState>().app.set_paused(paused).await?) })
}
