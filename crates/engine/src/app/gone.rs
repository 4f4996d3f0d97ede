//! A failed job whose file is gone offers Remove and Locate… beside Retry (which would fail
//! again): both are the queue's ([`Queue::remove_failed`], [`Queue::locate`]), heard on the
//! session's listeners like a retry.
//!
//! [`Queue::remove_failed`]: crate::queue::Queue::remove_failed
//! [`Queue::locate`]: crate::queue::Queue::locate

use std::path::Path;

use super::App;
use crate::error::Result;

impl App {
    /// Forget a failed job for good (see [`Queue::remove_failed`](crate::queue::Queue::remove_failed)).
    pub async fn remove_failed(&self, id: u64) -> Result<bool> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.remove_failed(id, &sink)
    }

    /// Send a failed job's Doc from the file at `path`, its file's new place (see
    /// [`Queue::locate`](crate::queue::Queue::locate)).
    pub async fn locate(&self, id: u64, path: &Path) -> Result<bool> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.locate(id, path, &sink)
    }
}
