//! The upload queue: takes files, runs each through create-URL → PUT (hashing on the way) →
//! attach → verify, a few at a time, and reports every step as a [`QueueEvent`]. One failing
//! item never stops the others.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::{Error, ErrorInfo, Result};
use crate::naming::DocName;
use crate::service::trusted_twin::{DocStatus, TrustedTwin, TwinId};

/// How long a Doc may stay `copying` before we give up watching it.
const VERIFY_LIMIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Uploading,
    Attaching,
    Verifying,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum QueueEvent {
    Added { id: u64, path: String, file_name: String, doc_name: Option<String>, size: Option<u64> },
    Progress { id: u64, stage: Stage, bytes_done: u64, bytes_total: u64 },
    Finished { id: u64, doc_name: String, status: DocStatus, sha256: String },
    Failed { id: u64, error: ErrorInfo },
}

pub type EventSink = Arc<dyn Fn(QueueEvent) + Send + Sync>;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uploaded {
    pub doc_name: DocName,
    pub status: DocStatus,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug)]
pub struct ItemResult {
    pub id: u64,
    pub path: PathBuf,
    pub outcome: Result<Uploaded>,
}

pub struct Queue {
    tt: Arc<TrustedTwin>,
    next_id: AtomicU64,
    permits: Arc<Semaphore>,
}

pub struct Batch {
    pub ids: Vec<u64>,
    tasks: JoinSet<ItemResult>,
}

impl Batch {
    /// Wait for every item; results come back in submission order.
    pub async fn finished(mut self) -> Vec<ItemResult> {
        let mut out = Vec::with_capacity(self.ids.len());
        while let Some(done) = self.tasks.join_next().await {
            out.push(done.expect("upload task panicked"));
        }
        out.sort_by_key(|r| r.id);
        out
    }
}

impl Queue {
    pub fn new(tt: Arc<TrustedTwin>, concurrency: usize) -> Self {
        Queue { tt, next_id: AtomicU64::new(1), permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    pub fn service(&self) -> &Arc<TrustedTwin> {
        &self.tt
    }

    /// Queue `paths` for `twin`. `Added` is sent for every item before this returns.
    pub fn submit(&self, twin: &TwinId, paths: Vec<PathBuf>, sink: EventSink) -> Batch {
        let mut tasks = JoinSet::new();
        let mut ids = Vec::with_capacity(paths.len());
        for path in paths {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            ids.push(id);
            let name = DocName::from_file_name(&path);
            sink(QueueEvent::Added {
                id,
                path: path.display().to_string(),
                file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                doc_name: name.as_ref().ok().map(|n| n.to_string()),
                size: std::fs::metadata(&path).ok().filter(|m| m.is_file()).map(|m| m.len()),
            });
            let (tt, twin, sink, permits) = (self.tt.clone(), twin.clone(), sink.clone(), self.permits.clone());
            tasks.spawn(async move {
                let outcome = match name {
                    Ok(name) => {
                        let _permit = permits.acquire_owned().await.expect("queue semaphore closed");
                        upload_one(&tt, &twin, &path, name, id, &sink).await
                    }
                    Err(e) => Err(e),
                };
                sink(match &outcome {
                    Ok(up) => QueueEvent::Finished {
                        id,
                        doc_name: up.doc_name.to_string(),
                        status: up.status.clone(),
                        sha256: up.sha256.clone(),
                    },
                    Err(e) => QueueEvent::Failed { id, error: e.info() },
                });
                ItemResult { id, path, outcome }
            });
        }
        Batch { ids, tasks }
    }
}

async fn upload_one(
    tt: &TrustedTwin,
    twin: &TwinId,
    path: &Path,
    name: DocName,
    id: u64,
    sink: &EventSink,
) -> Result<Uploaded> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| Error::file(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_owned() });
    }
    let total = meta.len();
    let progress = |stage, done| QueueEvent::Progress { id, stage, bytes_done: done, bytes_total: total };
    sink(progress(Stage::Uploading, 0));
    let target = tt.create_upload_url().await?;
    // About one event per percent: enough for a smooth bar, few enough for a 100 GB file.
    let step = (total / 100).max(1);
    let reported = Arc::new(AtomicU64::new(0));
    let on_bytes = {
        let sink = sink.clone();
        Arc::new(move |done: u64| {
            let last = reported.load(Ordering::Relaxed);
            if done == total || done >= last + step {
                reported.store(done, Ordering::Relaxed);
                sink(QueueEvent::Progress { id, stage: Stage::Uploading, bytes_done: done, bytes_total: total });
            }
        })
    };
    let sent = tt.upload(&target, path, on_bytes).await?;
    sink(progress(Stage::Attaching, sent.size));
    tt.attach(twin, &name, &target.handler, Some(&sent.sha256)).await?;
    sink(progress(Stage::Verifying, sent.size));
    let doc = tt.wait_terminal(twin, &name, VERIFY_LIMIT).await?;
    Ok(Uploaded { doc_name: name, status: doc.status, sha256: sent.sha256, size: sent.size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_the_ui_expects() {
        let e = QueueEvent::Progress { id: 3, stage: Stage::Uploading, bytes_done: 5, bytes_total: 9 };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"type": "progress", "id": 3, "stage": "uploading", "bytesDone": 5, "bytesTotal": 9})
        );
        let e = QueueEvent::Finished {
            id: 1,
            doc_name: "a.txt".into(),
            status: DocStatus::HashMismatch,
            sha256: "ab".into(),
        };
        assert_eq!(serde_json::to_value(&e).unwrap()["status"], "hash_mismatch");
    }
}
