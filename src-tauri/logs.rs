//! The app's log: stderr, and files rotated daily in the app's log folder (Tauri's
//! `app_log_dir`: `~/.local/share/<identifier>/logs` on Linux; `$TWINDROP_DATA_DIR/logs` when
//! that is set, as in tests), the last [`KEEP_FILES`] days kept. "Open log folder" (Settings,
//! tray) shows them in the file manager.
//!
//! The level is the CLI's scale (`twindrop_engine::logging::Level`): `-q`, `-v`, `-vv`, `-vvv`
//! on the app's command line, else `TWINDROP_LOG` (a tracing filter), else [`DEFAULT_LEVEL`].
//! The files are written through the same events as stderr, so the engine's redaction covers
//! them: no secret and no upload-URL credential reaches them (tested below).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;
use twindrop_engine::logging::Level;
use twindrop_engine::Error;

use crate::places::Base;
use crate::state::Reply;

/// Days of log files kept (one file a day): a week of history for a bug report.
pub const KEEP_FILES: usize = 7;

/// Without a flag or `TWINDROP_LOG`: warnings, and what Twindrop does. One step above the CLI's
/// default, since nobody watches the app's stderr and its file is what a bug report needs.
pub const DEFAULT_LEVEL: Level = Level::Verbose;

/// Log files are `twindrop.YYYY-MM-DD.log`.
const PREFIX: &str = "twindrop";
const SUFFIX: &str = "log";

/// Where the log files are (Tauri state: "Open log folder" opens it).
pub struct LogDir(pub PathBuf);

/// The filter: flags first, then `TWINDROP_LOG` when set and not empty, then the default.
pub fn filter(flags: Option<Level>, env: Option<&str>) -> String {
    match (flags, env.map(str::trim)) {
        (Some(level), _) => level.directives(),
        (None, Some(spec)) if !spec.is_empty() => spec.to_owned(),
        (None, _) => DEFAULT_LEVEL.directives(),
    }
}

/// The log folder: under `TWINDROP_DATA_DIR` when set (tests keep out of the user's folders),
/// else where Tauri keeps an app's logs.
pub fn dir(base: Option<&Base>, identifier: &str) -> Option<PathBuf> {
    match std::env::var_os("TWINDROP_DATA_DIR") {
        Some(data) => Some(PathBuf::from(data).join("logs")),
        None => base.map(|b| b.log_dir(identifier)),
    }
}

/// The daily files in `dir` (created `0700`: logs name files and Docs, like the journal).
fn files(dir: &Path) -> Result<RollingFileAppender, String> {
    twindrop_engine::private::create_dir_private(dir).map_err(|e| e.to_string())?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(PREFIX)
        .filename_suffix(SUFFIX)
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| format!("no log files in {}: {e}", dir.display()))
}

/// stderr and, when `dir` can be written, the daily files; both at `filter`. The files are
/// written as each line comes (no background writer): a crash or `exit` loses no line.
fn subscriber(filter: &str, dir: Option<&Path>) -> (impl tracing::Subscriber + Send + Sync, Option<String>) {
    let (appender, trouble) = match dir.map(files) {
        Some(Ok(appender)) => (Some(appender), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, Some("no home folder to keep log files in".into())),
    };
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new(filter))
        // Colour codes only for a person at a terminal, as the CLI does.
        .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr))
        .with(appender.map(|a| tracing_subscriber::fmt::layer().with_ansi(false).with_writer(a)));
    (subscriber, trouble)
}

/// Set up the process's logging (once, first thing in `run`). Libraries that log through the
/// `log` crate (Tauri, reqwest) are heard too.
pub fn init(filter: &str, dir: Option<&Path>) {
    let (subscriber, trouble) = subscriber(filter, dir);
    if subscriber.try_init().is_err() {
        return;
    }
    // Said once logging is up: a log folder that cannot be written is no reason not to start.
    if let Some(trouble) = trouble {
        tracing::warn!("logging to stderr only: {trouble}");
    }
}

/// Show the log folder in the file manager (created if no line was written yet).
pub fn open_folder(app: &AppHandle, dir: &Path) -> Result<(), Error> {
    twindrop_engine::private::create_dir_private(dir)?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|e| Error::Setup(format!("could not open the log folder {}: {e}", dir.display())))
}

/// Settings' "Open log folder".
#[tauri::command]
#[specta::specta]
pub async fn logs_open_folder(app: AppHandle, logs: State<'_, LogDir>) -> Reply<()> {
    Ok(open_folder(&app, &logs.0)?)
}

#[cfg(test)]
mod tests;
