//! The worker stage: make sure the job has a live upload URL (renewing an expired one on its
//! own), PUT the file while hashing it, and record the result before the job moves on.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{EventSink, Queue, QueueEvent, Stage};
use crate::error::{Error, Result};
use crate::journal::{Job, JobState};
use crate::service::trusted_twin::UploadTarget;

/// A URL this close to its expiry is not worth starting a PUT on.
const URL_MARGIN: Duration = Duration::from_secs(300);

fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Queue {
    pub(super) async fn upload_stage(&self, mut job: Job, sink: &EventSink) -> Result<Job> {
        // The size on record; the transfer itself reads the file as it is now.
        let total = job.size;
        let id = job.id;
        sink(QueueEvent::Progress { id, stage: Stage::Uploading, bytes_done: 0, bytes_total: total });
        let mut failures = 0;
        loop {
            match self.upload_once(&mut job, total, sink).await {
                Ok(sent) => {
                    self.journal.record_uploaded(id, &sent.sha256, sent.size)?;
                    job.sha256 = Some(sent.sha256);
                    job.size = sent.size;
                    job.state = JobState::Attaching;
                    job.attach_sent = false;
                    sink(QueueEvent::Progress {
                        id,
                        stage: Stage::Attaching,
                        bytes_done: sent.size,
                        bytes_total: sent.size,
                    });
                    return Ok(job);
                }
                Err(e @ (Error::File { .. } | Error::NotAFile { .. })) => return Err(e),
                Err(e) => {
                    failures += 1;
                    // A refused PUT most often means the URL expired or was revoked: get a new one.
                    let renew = matches!(e, Error::UploadRejected { status: 403, .. });
                    if renew {
                        job.upload_url = None;
                    }
                    let wait = if renew && failures < self.opts.retry.max_attempts {
                        Some(Duration::ZERO)
                    } else {
                        self.opts.retry.delay(&e, failures, fastrand::f64())
                    };
                    let Some(wait) = wait else { return Err(e) };
                    sink(QueueEvent::Retrying { id, error: e.info(), wait_ms: wait.as_millis() as u64 });
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn upload_once(&self, job: &mut Job, total: u64, sink: &EventSink) -> Result<crate::transfer::Sent> {
        let target = match (&job.upload_url, &job.handler, job.url_valid_until) {
            (Some(url), Some(handler), Some(until)) if until > epoch_now() + URL_MARGIN.as_secs_f64() => {
                UploadTarget { url: url.clone(), handler: handler.clone(), validity_ts: until }
            }
            _ => {
                let target = self.tt.create_upload_url().await?;
                // Intent before effect: the URL is on record before a byte goes to it.
                self.journal.record_target(job.id, &target.handler, &target.url, target.validity_ts)?;
                job.handler = Some(target.handler.clone());
                job.upload_url = Some(target.url.clone());
                job.url_valid_until = Some(target.validity_ts);
                target
            }
        };
        let id = job.id;
        // About one event per percent: enough for a smooth bar, few enough for a 100 GB file.
        let step = (total / 100).max(1);
        let reported = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let on_bytes = {
            let sink = sink.clone();
            let sent_counter = self.sent_counter();
            Arc::new(move |done: u64| {
                let last = reported.load(Ordering::Relaxed);
                if done == total || done >= last + step {
                    reported.store(done, Ordering::Relaxed);
                    sent_counter.fetch_add(done - last, Ordering::Relaxed);
                    sink(QueueEvent::Progress { id, stage: Stage::Uploading, bytes_done: done, bytes_total: total });
                }
            })
        };
        self.tt.upload(&target, &job.path, on_bytes, self.opts.bwlimit.clone()).await
    }
}
