//! The app's state as Tauri manages it: the engine's [`App`] and the paths the user chose.

use std::sync::Arc;

use tauri::ipc::Channel;
use twindrop_engine::app::App;
use twindrop_engine::chosen::Chosen;
use twindrop_engine::queue::EventSink;
use twindrop_engine::{ErrorInfo, QueueEvent};

/// What every command answers: its value, or `{code, message, retryable}`.
pub type Reply<T> = Result<T, ErrorInfo>;

pub struct AppState {
    pub app: App,
    /// The paths the user chose (engine `chosen`): the only ones commands accept from the web
    /// view, so a compromised page cannot make the app read, watch or upload `~/.ssh`.
    pub chosen: Arc<Chosen>,
}

/// A window channel as the engine's event sink.
pub fn to_window(channel: Channel<QueueEvent>) -> EventSink {
    Arc::new(move |event| {
        if let Err(e) = channel.send(event) {
            tracing::warn!("queue event not delivered to the window: {e}");
        }
    })
}
