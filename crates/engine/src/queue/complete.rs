//! The finalize stage of services that take files one at a time: Inspect's "complete" call
//! (idempotent, so one whose answer was lost is simply made again) and HBR, whose upload is
//! final once the storage has answered with our MD5 (nothing to call).

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{EventSink, Queue, QueueEvent};
use crate::error::{Error, Result};
use crate::journal::{Job, Transfer};
use crate::service::trusted_twin::DocStatus;
use crate::service::Service;

/// Complete calls in flight at once.
const IN_FLIGHT: usize = 8;

impl Queue {
    pub(super) async fn completer(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Job>, sink: EventSink) {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
            .for_each_concurrent(IN_FLIGHT, |job| {
                let (queue, sink) = (self.clone(), sink.clone());
                async move {
                    let id = job.id;
                    match queue.complete(&job).await {
                        Ok(()) => {
                            if let Err(e) = queue.journal.record_done_many(&[(id, &DocStatus::Ok)]) {
                                tracing::error!("journal: {e}");
                            }
                            sink(QueueEvent::Finished {
                                id,
                                doc_name: job.doc_name.to_string(),
                                status: DocStatus::Ok,
                                sha256: job.sha256.clone().unwrap_or_default(),
                            });
                            queue.leave_pipeline();
                        }
                        Err(e) => queue.fail(id, &e, &sink),
                    }
                }
            })
            .await;
    }

    async fn complete(&self, job: &Job) -> Result<()> {
        match &self.service {
            Service::Inspect(inspect) if job.transfer != Some(Transfer::AlreadyThere) => {
                let id = job.upload_id.as_deref().filter(|h| !h.is_empty()).ok_or_else(|| {
                    Error::Journal(format!("job {} is marked uploaded but has no file id on record", job.id))
                })?;
                // Intent first, for `twindrop status`; repeating the call is harmless.
                self.journal.mark_attach_sent(&[job.id])?;
                crate::retry::retry(&self.opts.retry, || inspect.complete(id), |_, _| {}).await
            }
            _ => Ok(()),
        }
    }
}
