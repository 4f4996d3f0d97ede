//! The worker stage, the same for every service: make sure the job has a live upload target
//! (the service's [`UploadApi::target`](crate::service::UploadApi::target), renewing an expired
//! one on its own), send the file while hashing it ([`UploadApi::send`](crate::service::UploadApi::send)),
//! check the file did not change meanwhile, and record the result before the job moves on.
//! Retries, renewals after a refused PUT or a checksum mismatch, and progress are here.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{EventSink, Queue, QueueEvent, Stage};
use crate::doc::DocStatus;
use crate::error::{Error, Result};
use crate::journal::{Job, JobState};
use crate::service::upload_api::{Prepared, SendCx};
use crate::transfer::Sent;

/// The file must still be as it was planned: a file written to during its upload (or since it
/// passed a watched folder's gate) is not finished, and what was sent is not what it will be.
fn unchanged(job: &Job, sent: Sent) -> Result<Sent> {
    let (_, meta) = crate::source::open_checked(&job.path, Some(job.identity()))?;
    if meta.len() != sent.size {
        return Err(Error::FileChanged { path: job.path.clone(), expected: sent.size, actual: meta.len() });
    }
    Ok(sent)
}

impl Queue {
    pub(super) async fn upload_stage(&self, mut job: Job, sink: &EventSink) -> Result<Job> {
        // A bug met on one file, on demand: `queue::tests::a_panic_fails_its_file_and_the_queue_goes_on`.
        #[cfg(test)]
        if job.doc_name.as_str().starts_with("panic-in-test") {
            panic!("a bug met while sending {}", job.doc_name);
        }
        // The size on record; the transfer itself reads the file as it is now.
        let total = job.size;
        let id = job.id;
        sink(QueueEvent::Progress { id, stage: Stage::Uploading, bytes_done: 0, bytes_total: total });
        let mut failures = 0;
        loop {
            // Every read of the file on the way is held to the identity it was planned with.
            let expected = crate::source::Expected { path: job.path.clone(), identity: job.identity() };
            let sent = crate::source::sending(expected, self.upload_once(&mut job, total, sink)).await;
            match sent.and_then(|sent| unchanged(&job, sent)) {
                Ok(sent) => {
                    let verdict = sent.unverified.then_some(DocStatus::Unverified);
                    self.journal.record_uploaded(id, &sent.sha256, sent.size, sent.md5.as_deref(), verdict.as_ref())?;
                    if verdict.is_some() {
                        job.doc_status = verdict;
                    }
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
                Err(e @ (Error::File { .. } | Error::NotAFile { .. } | Error::FileChanged { .. })) => return Err(e),
                Err(e) => {
                    failures += 1;
                    // A refused PUT most often means the URL expired or was revoked; a session
                    // that keeps vanishing or bytes that arrived wrong need a fresh target too.
                    let renew = matches!(
                        e,
                        Error::UploadRejected { status: 403, .. }
                            | Error::NotUploaded(_)
                            | Error::ChecksumMismatch { .. }
                    );
                    if renew {
                        job.upload_url = None;
                    }
                    let wait = if renew {
                        self.opts.retry.delay_renewal(failures, fastrand::f64())
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

    /// One attempt, through the service's core: a live target (journaled before any byte
    /// goes), then the bytes. A service that already holds these bytes sends nothing.
    async fn upload_once(&self, job: &mut Job, total: u64, sink: &EventSink) -> Result<Sent> {
        let id = job.id;
        // About one event per percent: enough for a smooth bar, few enough for a 100 GB file.
        let step = (total / 100).max(1);
        let reported = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let progress = {
            let sink = sink.clone();
            Arc::new(move |done: u64| {
                let last = reported.load(Ordering::Relaxed);
                // A resumed upload may step back to what the server has.
                if done == total || done >= last + step || done < last {
                    reported.store(done, Ordering::Relaxed);
                    sink(QueueEvent::Progress { id, stage: Stage::Uploading, bytes_done: done, bytes_total: total });
                }
            })
        };
        let cx = SendCx {
            journal: &self.journal,
            progress,
            bwlimit: self.opts.bwlimit.clone(),
            resumable_above: self.opts.resumable_above,
            chunk_size: self.opts.chunk_size,
        };
        let api = self.service.api();
        let signed_for = match api.target(job, &cx).await? {
            Prepared::AlreadyThere(sent) => return Ok(sent),
            Prepared::Send { signed_for } => signed_for,
        };
        let sent = api.send(job, &cx).await?;
        match signed_for {
            // The target was signed for other bytes than went: the file changed in between.
            Some(asked) if asked != sent.sha256 => {
                Err(Error::FileChanged { path: job.path.clone(), expected: total, actual: sent.size })
            }
            _ => Ok(sent),
        }
    }
}
