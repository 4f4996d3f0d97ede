//! Desktop integration: the tray icon (state, pause/resume, open, log folder, quit) and a
//! notification when a batch of dropped files has settled. The tray follows the queue's `stats`
//! through [`observe`]; batches are the activity log's (`twindrop_engine::activity::Batches`),
//! which calls [`batch_ended`], so a notification and the log's entry always tell the same story.
//! Its state is Tauri's (`app.manage`), reached through the `AppHandle` the hooks hold.

use std::sync::{Arc, Mutex};

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use twindrop_engine::activity::{BatchEnd, Source};
use twindrop_engine::app::Hooks;
use twindrop_engine::QueueEvent;

use crate::logs::LogDir;

/// The window hears this when the tray pauses or resumes the queue (payload: paused or not).
pub const PAUSED_EVENT: &str = "queue-paused";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Look {
    Idle,
    Uploading,
    Paused,
    Failed,
}

struct Tray {
    icon: TrayIcon,
    status: MenuItem<tauri::Wry>,
    pause: MenuItem<tauri::Wry>,
}

#[derive(Default)]
struct Status {
    /// Jobs in the upload queue's pipeline, and its throughput, at its last `stats`.
    active: usize,
    bytes_per_sec: f64,
    /// The batch's files that ended well, and its files in all (the queue's one model).
    files: (u64, u64),
    paused: bool,
    /// The batch has failures: the tray says so until they are dealt with or the next one starts.
    failed: bool,
    shown: Option<Look>,
}

/// What "Pause all" / "Resume all" in the tray does: set the queue paused (`true`) or not,
/// given by the app's top (the desktop knows no session).
pub type SetPaused = fn(AppHandle, bool) -> tauri::async_runtime::JoinHandle<Result<(), twindrop_engine::ErrorInfo>>;

/// Tauri state (managed once, by [`setup`]).
struct Desktop {
    tray: Option<Tray>,
    status: Mutex<Status>,
    set_paused: SetPaused,
}

/// Build the tray and manage the desktop's state. A desktop without a tray host (no
/// StatusNotifier watcher, no appindicator library) still gets notifications and the window:
/// the tray is a convenience, never a reason not to start (but then a `--hidden` start shows
/// the window, or nothing could open it).
pub fn setup(app: &AppHandle, set_paused: SetPaused) -> bool {
    let tray = build_tray(app).inspect_err(|e| tracing::warn!("no tray icon: {e}")).ok();
    let has_tray = tray.is_some();
    app.manage(Desktop { tray, status: Mutex::new(Status::default()), set_paused });
    has_tray
}

/// What the engine's app calls on the desktop: each hook holds the handle to reach the state.
pub fn hooks(app: &AppHandle) -> Hooks {
    let (observing, ending, pausing) = (app.clone(), app.clone(), app.clone());
    Hooks {
        observe: Some(Arc::new(move |event| observe(&observing, &event))),
        batch_ended: Some(Arc::new(move |source, end| batch_ended(&ending, source, end))),
        paused: Some(Arc::new(move |paused| set_paused(&pausing, paused))),
    }
}

fn build_tray(app: &AppHandle) -> tauri::Result<Tray> {
    let status = MenuItem::with_id(app, "status", "Idle", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Twindrop", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause all", true, None::<&str>)?;
    let logs = MenuItem::with_id(app, "logs", "Open log folder", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Twindrop", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&status, &separator, &open, &pause, &logs, &quit])?;
    let icon = TrayIconBuilder::with_id("twindrop")
        .icon(icon_for(Look::Idle))
        .tooltip("Twindrop — Idle")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_window(app),
            "pause" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move { toggle_pause(&app).await });
            }
            "logs" => {
                let dir = app.state::<LogDir>().0.clone();
                if let Err(e) = crate::logs::open_folder(app, &dir) {
                    tracing::warn!(code = e.code(), "tray: {e}");
                }
            }
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                show_window(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(Tray { icon, status, pause })
}

fn icon_for(look: Look) -> Image<'static> {
    let bytes: &'static [u8] = match look {
        Look::Idle => include_bytes!("../icons/tray-idle.png"),
        Look::Uploading => include_bytes!("../icons/tray-uploading.png"),
        Look::Paused => include_bytes!("../icons/tray-paused.png"),
        Look::Failed => include_bytes!("../icons/tray-failed.png"),
    };
    Image::from_bytes(bytes).expect("tray icons are valid PNGs")
}

pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

async fn toggle_pause(app: &AppHandle) {
    let Some(desktop) = app.try_state::<Desktop>() else { return };
    let paused = desktop.status.lock().expect("desktop").paused;
    match (desktop.set_paused)(app.clone(), !paused).await {
        Ok(Ok(())) => {
            let _ = app.emit(PAUSED_EVENT, !paused);
        }
        Ok(Err(e)) => tracing::warn!(code = e.code, "tray pause/resume: {}", e.message),
        Err(e) => tracing::warn!("tray pause/resume: {e}"),
    }
}

/// The queue was paused or resumed (from the window or the tray).
fn set_paused(app: &AppHandle, paused: bool) {
    let Some(desktop) = app.try_state::<Desktop>() else { return };
    let mut status = desktop.status.lock().expect("desktop");
    status.paused = paused;
    desktop.refresh(&mut status);
}

/// Every upload-queue event passes here on its way to the window; the tray follows `stats`.
fn observe(app: &AppHandle, event: &QueueEvent) {
    let QueueEvent::Stats { active, bytes_per_sec, files_done, files_failed, files_total, .. } = event else {
        return;
    };
    let Some(desktop) = app.try_state::<Desktop>() else { return };
    let mut status = desktop.status.lock().expect("desktop");
    (status.active, status.bytes_per_sec, status.files) = (*active, *bytes_per_sec, (*files_done, *files_total));
    // The batch's own failures, as the window's header counts them: they stay until the next
    // batch begins (or they are retried or removed).
    status.failed = *files_failed > 0;
    desktop.refresh(&mut status);
}

/// A batch of dropped files has settled: one notification (the tray's red dot follows the
/// queue's figures). Watched folders sync quietly; their failures are in the Activity tab and
/// on their row.
fn batch_ended(app: &AppHandle, source: &Source, end: &BatchEnd) {
    if *source == Source::Uploads && app.try_state::<Desktop>().is_some() {
        notify(app, end);
    }
}

/// "Idle", "Paused · 237 of 1,005", "Uploading 237 of 1,005 · 12.4 MB/s": the window's
/// headline, from the same figures.
fn status_line(active: usize, (done, total): (u64, u64), bytes_per_sec: f64, paused: bool) -> String {
    let of = (total > 0).then(|| format!("{} of {}", thousands(done), thousands(total)));
    match (paused, active, of) {
        (true, _, Some(of)) => format!("Paused · {of}"),
        (true, _, None) => "Paused".into(),
        (false, 0, _) => "Idle".into(),
        (false, _, Some(of)) => format!("Uploading {of} · {}", twindrop_engine::size::human_rate(bytes_per_sec)),
        (false, 1, None) => format!("Uploading 1 file · {}", twindrop_engine::size::human_rate(bytes_per_sec)),
        (false, n, None) => format!("Uploading {n} files · {}", twindrop_engine::size::human_rate(bytes_per_sec)),
    }
}

/// 1005 → "1,005", as the window writes counts.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Desktop {
    fn refresh(&self, status: &mut Status) {
        let line = status_line(status.active, status.files, status.bytes_per_sec, status.paused);
        let look = if status.paused {
            Look::Paused
        } else if status.active > 0 {
            Look::Uploading
        } else if status.failed {
            Look::Failed
        } else {
            Look::Idle
        };
        let Some(tray) = &self.tray else { return };
        // The icon first: whoever reads the state line then finds the icon that goes with it.
        if status.shown != Some(look) {
            status.shown = Some(look);
            let _ = tray.icon.set_icon(Some(icon_for(look)));
        }
        let _ = tray.status.set_text(if look == Look::Failed { "Idle — the last batch had failures" } else { &line });
        let _ = tray.icon.set_tooltip(Some(format!("Twindrop — {line}")));
        let _ = tray.pause.set_text(if status.paused { "Resume all" } else { "Pause all" });
    }
}

fn notify(app: &AppHandle, end: &BatchEnd) {
    if !notifications_enabled() {
        return;
    }
    let mut n = app.notification().builder().title(end.headline());
    if let Some(detail) = end.detail() {
        n = n.body(detail);
    }
    // No notification server (a bare session) is not worth more than a log line.
    if let Err(e) = n.show() {
        tracing::warn!("notification not shown: {e}");
    }
}

/// Read at each batch, so the Settings switch counts at once; unreadable settings notify.
fn notifications_enabled() -> bool {
    twindrop_engine::profile::SettingsFile::default_location()
        .and_then(|f| f.load())
        .map_or(true, |s| s.prefs.notifications)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_status_line_says_what_the_queue_does() {
        let none = (0, 0);
        assert_eq!(super::status_line(0, none, 0.0, false), "Idle");
        assert_eq!(super::status_line(0, (5, 5), 0.0, false), "Idle");
        assert_eq!(super::status_line(3, none, 2_500_000.0, false), "Uploading 3 files · 2.5 MB/s");
        assert_eq!(super::status_line(1, none, 0.0, false), "Uploading 1 file · 0 B/s");
        assert_eq!(super::status_line(3, none, 1.0, true), "Paused");
        // The batch's own count, as the window's headline has it.
        assert_eq!(super::status_line(4, (237, 1_005), 2_500_000.0, false), "Uploading 237 of 1,005 · 2.5 MB/s");
        assert_eq!(super::status_line(4, (237, 1_005), 0.0, true), "Paused · 237 of 1,005");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
        assert_eq!(super::thousands(999), "999");
    }

    /// The tray reads rates as the queue, the Docs tab and Settings do (ui/src/lib/units.ts).
    #[test]
    fn the_tray_uses_the_window_s_units() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/units.fixtures.json");
        let fixtures: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for f in fixtures {
            let line = super::status_line(2, (0, 0), f["bytes"].as_f64().unwrap(), false);
            assert_eq!(line, format!("Uploading 2 files · {}", f["rate"].as_str().unwrap()));
        }
    }
}
