//! The app's state as Tauri manages it: the engine's [`App`] and the paths the user chose.

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// How long events gather before they go to the window as one message.
const GATHER: Duration = Duration::from_millis(16);

/// A window channel as the engine's event sink. Events go in batches, one message per
/// [`GATHER`] at most: each message costs the web view a script evaluation, and a drop of
/// 100,000 files sent one "added" each kept the window busy for seconds.
pub fn to_window(channel: Channel<Vec<QueueEvent>>) -> EventSink {
    let pending: Arc<Mutex<Vec<QueueEvent>>> = Arc::default();
    Arc::new(move |event| {
        let first = {
            let mut pending = pending.lock().expect("pending events");
            pending.push(event);
            pending.len() == 1
        };
        if first {
            let (pending, channel) = (pending.clone(), channel.clone());
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(GATHER).await;
                // Sent under the lock: a later batch cannot overtake this one.
                let mut pending = pending.lock().expect("pending events");
                if let Err(e) = channel.send(std::mem::take(&mut *pending)) {
                    tracing::warn!("queue events not delivered to the window: {e}");
                }
            });
        }
    })
}
