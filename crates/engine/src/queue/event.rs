//! What the queue tells its caller: a [`QueueEvent`] per step of each job, to an [`EventSink`].

use std::sync::Arc;

use serde::Serialize;

use crate::doc::DocStatus;
use crate::error::ErrorInfo;
use crate::journal::{Job, JobState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Uploading,
    Attaching,
    Verifying,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum QueueEvent {
    Added {
        id: u64,
        path: String,
        file_name: String,
        doc_name: Option<String>,
        size: Option<u64>,
    },
    Progress {
        id: u64,
        stage: Stage,
        bytes_done: u64,
        bytes_total: u64,
    },
    /// The job's Doc got another name (conflict policy `rename`).
    Renamed {
        id: u64,
        doc_name: String,
    },
    Retrying {
        id: u64,
        error: ErrorInfo,
        wait_ms: u64,
    },
    Finished {
        id: u64,
        doc_name: String,
        status: DocStatus,
        sha256: String,
    },
    Skipped {
        id: u64,
        doc_name: String,
        reason: String,
    },
    Failed {
        id: u64,
        error: ErrorInfo,
    },
    /// Paused, resumed (back to queued) or cancelled.
    State {
        id: u64,
        state: JobState,
    },
    /// The whole queue, about twice a second while it runs.
    Stats {
        bytes_per_sec: f64,
        /// Files finished per second: what says how fast many small files go.
        files_per_sec: f64,
        eta_secs: Option<f64>,
        bytes_done: u64,
        bytes_total: u64,
        /// The batch's files that ended well (finished or skipped), failed, and in all
        /// ([`crate::progress::Aggregate`]): "Uploading 237 of 1,005 · 3 failed".
        files_done: u64,
        files_failed: u64,
        files_total: u64,
        active: usize,
    },
}

impl QueueEvent {
    /// The job an event is about (`Stats` is about the whole queue).
    pub fn job_id(&self) -> Option<u64> {
        use QueueEvent::*;
        match self {
            Added { id, .. }
            | Progress { id, .. }
            | Renamed { id, .. }
            | Retrying { id, .. }
            | Finished { id, .. }
            | Skipped { id, .. }
            | Failed { id, .. }
            | State { id, .. } => Some(*id),
            Stats { .. } => None,
        }
    }
}

impl Job {
    /// The event that says where this job has ended up, for a window that wants to catch up
    /// with the journal (after missing events, or after a restart). `None` while it is moving.
    pub fn settled_event(&self) -> Option<QueueEvent> {
        let id = self.id;
        Some(match self.state {
            JobState::Done => QueueEvent::Finished {
                id,
                doc_name: self.doc_name.to_string(),
                status: self.doc_status.clone()?,
                sha256: self.sha256.clone().unwrap_or_default(),
            },
            JobState::Failed => QueueEvent::Failed {
                id,
                error: ErrorInfo {
                    code: self.error_code.clone().unwrap_or_else(|| crate::error::Code::JobFailed.as_str().into()),
                    message: self.error_message.clone().unwrap_or_default(),
                    retryable: false,
                },
            },
            JobState::Skipped => QueueEvent::Skipped {
                id,
                doc_name: self.doc_name.to_string(),
                reason: self.error_message.clone().unwrap_or_default(),
            },
            JobState::Paused | JobState::Cancelled => QueueEvent::State { id, state: self.state },
            _ => return None,
        })
    }
}

pub type EventSink = Arc<dyn Fn(QueueEvent) + Send + Sync>;

pub(super) fn added(job: &Job) -> QueueEvent {
    QueueEvent::Added {
        id: job.id,
        path: job.path.display().to_string(),
        file_name: job.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        doc_name: Some(job.doc_name.to_string()),
        size: Some(job.size),
    }
}
