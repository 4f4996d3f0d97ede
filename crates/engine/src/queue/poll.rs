//! The poller: one loop watches every copy still going, reading their statuses together each
//! round (a few requests in flight at once) until each is terminal, through the service's
//! [`Copies`](crate::service::upload_api::Copies) capability (Trusted Twin's Docs).

use futures_util::stream::{self, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{EventSink, Queue, QueueEvent};
use crate::doc::DocStatus;
use crate::error::{Error, Result};
use crate::journal::Job;

/// Status reads in flight at once.
const READS_IN_FLIGHT: usize = 16;
/// Uploads of one job before a failed or mismatched copy is reported as final.
const COPY_ATTEMPTS: u32 = 3;

impl Queue {
    pub(super) async fn poller(self: std::sync::Arc<Self>, mut rx: mpsc::UnboundedReceiver<Job>, sink: EventSink) {
        // Jobs reach the poller only from a service that copies after finishing.
        let Some(copies) = self.service.api().finishing().and_then(|f| f.copies()) else { return };
        let no_renames = |_: u64, _: &str| {};
        let cx = self.finish_cx(&no_renames);
        let mut watching: Vec<(Job, Instant)> = Vec::new();
        loop {
            if watching.is_empty() {
                match rx.recv().await {
                    Some(job) => watching.push((job, Instant::now() + self.opts.verify_limit)),
                    None => return,
                }
            }
            while let Ok(job) = rx.try_recv() {
                watching.push((job, Instant::now() + self.opts.verify_limit));
            }
            let mut asks = Vec::with_capacity(watching.len());
            for (job, _) in &watching {
                asks.push(copies.status(job));
            }
            let reads: Vec<Result<DocStatus>> = stream::iter(asks).buffered(READS_IN_FLIGHT).collect().await;
            let mut still = Vec::with_capacity(watching.len());
            let mut finished = Vec::new();
            for ((job, deadline), read) in watching.drain(..).zip(reads) {
                match read {
                    // The server's copy failed or its bytes differ from ours: the Doc is not
                    // what we sent. Remove it and send the file again, a few times at most.
                    Ok(status)
                        if matches!(status, DocStatus::Error | DocStatus::HashMismatch)
                            && job.attempts < COPY_ATTEMPTS =>
                    {
                        let error = Error::AttachRejected {
                            name: job.doc_name.to_string(),
                            message: format!("the server's copy ended {}", status.as_str()),
                        };
                        // Backed off like any retry: a server that keeps mangling bytes is not
                        // sent the whole file again at once.
                        let wait = self.opts.retry.backoff(job.attempts, fastrand::f64());
                        if let Err(e) = copies.discard(&job, wait, &cx).await {
                            self.fail(job.id, &e, &sink);
                            continue;
                        }
                        let wait_ms = wait.as_millis() as u64;
                        sink(QueueEvent::Retrying { id: job.id, error: error.info(), wait_ms });
                        self.leave_pipeline();
                    }
                    Ok(status) if status.is_terminal() => finished.push((job, status)),
                    Ok(_) | Err(_) if Instant::now() > deadline => {
                        let seconds = self.opts.verify_limit.as_secs();
                        self.fail(job.id, &Error::VerifyTimeout { name: job.doc_name.to_string(), seconds }, &sink);
                    }
                    Ok(_) => still.push((job, deadline)),
                    Err(e) if e.retryable() => still.push((job, deadline)),
                    Err(e) => self.fail(job.id, &e, &sink),
                }
            }
            self.record_finished(finished, &sink);
            watching = still;
            if !watching.is_empty() {
                tokio::time::sleep(self.opts.poll_interval).await;
            }
        }
    }
}
