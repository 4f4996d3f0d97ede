//! The worker stage: make sure the job has a live upload URL (renewing an expired one on its
//! own), PUT the file while hashing it, and record the result before the job moves on.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{EventSink, Queue, QueueEvent, Stage};
use crate::error::{Error, Result};
use crate::journal::{Job, JobState, Target, Transfer};
use crate::media_type;
use crate::service::hbr::FormTarget;
use crate::service::inspect::{self, FileFacts, Presigned};
use crate::service::redivis::{NewTempUpload, TempUpload, TARGET_LIFETIME};
use crate::service::trusted_twin::UploadTarget;
use crate::service::Service;
use crate::transfer::Sent;

/// A URL this close to its expiry is not worth starting a PUT on.
const URL_MARGIN: Duration = Duration::from_secs(300);

/// The file must still be as it was planned: a file written to during its upload (or since it
/// passed a watched folder's gate) is not finished, and what was sent is not what it will be.
fn unchanged(job: &Job, sent: Sent) -> Result<Sent> {
    let (_, meta) = crate::source::open_checked(&job.path, Some(job.identity()))?;
    if meta.len() != sent.size {
        return Err(Error::FileChanged { path: job.path.clone(), expected: sent.size, actual: meta.len() });
    }
    Ok(sent)
}

pub(super) fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
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
                    self.journal.record_uploaded(id, &sent.sha256, sent.size, sent.md5.as_deref())?;
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

    async fn upload_once(&self, job: &mut Job, total: u64, sink: &EventSink) -> Result<Sent> {
        let id = job.id;
        // About one event per percent: enough for a smooth bar, few enough for a 100 GB file.
        let step = (total / 100).max(1);
        let reported = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let on_bytes = {
            let sink = sink.clone();
            let sent_counter = self.sent_counter();
            Arc::new(move |done: u64| {
                let last = reported.load(Ordering::Relaxed);
                // A resumed upload may step back to what the server has.
                if done == total || done >= last + step || done < last {
                    reported.store(done, Ordering::Relaxed);
                    sent_counter.fetch_add(done.saturating_sub(last), Ordering::Relaxed);
                    sink(QueueEvent::Progress { id, stage: Stage::Uploading, bytes_done: done, bytes_total: total });
                }
            })
        };
        let live = |until: Option<f64>| until.is_some_and(|t| t > epoch_now() + URL_MARGIN.as_secs_f64());
        match &self.service {
            Service::TrustedTwin(tt) => {
                let target = match (&job.upload_url, &job.upload_id) {
                    (Some(url), Some(handler)) if live(job.url_valid_until) => UploadTarget {
                        url: url.clone(),
                        handler: handler.clone(),
                        validity_ts: job.url_valid_until.unwrap_or_default(),
                    },
                    _ => {
                        let target = tt.create_upload_url().await?;
                        self.remember_target(job, &target.handler, &target.url, target.validity_ts, None, None)?;
                        target
                    }
                };
                tt.upload(&target, &job.path, on_bytes, self.opts.bwlimit.clone()).await
            }
            Service::Redivis(r) => {
                let target = match TempUpload::from_job(job) {
                    Some(t) if live(job.url_valid_until) => t,
                    _ => {
                        let table = job.destination.table()?;
                        let wanted = NewTempUpload {
                            name: job.doc_name.to_string(),
                            size: job.size,
                            resumable: job.size > self.opts.resumable_above,
                        };
                        let target = r.create_temp_uploads(table, &[wanted]).await?.remove(0);
                        let valid_until = epoch_now() + TARGET_LIFETIME.as_secs_f64();
                        let transfer = target.journal_target(valid_until).transfer;
                        self.remember_target(job, &target.id, &target.url, valid_until, transfer, None)?;
                        target
                    }
                };
                r.upload(&target, &job.path, &self.journal, on_bytes, self.opts.bwlimit.clone(), self.opts.chunk_size)
                    .await
            }
            Service::Inspect(inspect) => {
                // The URL is signed for this exact media type, found the same way every time.
                let content_type = media_type::detect(&job.path)?;
                let (url, asked_with) = match (&job.upload_url, &job.upload_id) {
                    (Some(url), Some(_)) if live(job.url_valid_until) => (url.clone(), None),
                    _ => {
                        // The ask names the hash, so the file is read once before it is sent.
                        let (sha256, size) = crate::hash::sha256_file(&job.path).await?;
                        let asset = job.destination.asset()?.clone();
                        let facts = FileFacts {
                            name: job.doc_name.as_str(),
                            size,
                            content_type: &content_type,
                            sha256: &sha256,
                        };
                        match inspect.presign(&asset, &facts).await? {
                            Presigned::AlreadyUploaded { id } => {
                                // The asset has these bytes: nothing to send, nothing to complete.
                                self.remember_target(job, &id, "", 0.0, Some(Transfer::AlreadyThere), None)?;
                                return Ok(Sent { sha256, size, md5: None });
                            }
                            Presigned::Upload { id, url } => {
                                let until = epoch_now() + inspect::URL_LIFETIME.as_secs_f64();
                                self.remember_target(job, &id, &url, until, Some(Transfer::Put), None)?;
                                (url, Some(sha256))
                            }
                        }
                    }
                };
                let sent = inspect.put(&url, &job.path, &content_type, on_bytes, self.opts.bwlimit.clone()).await?;
                match asked_with {
                    Some(asked) if asked != sent.sha256 => {
                        Err(Error::FileChanged { path: job.path.clone(), expected: total, actual: sent.size })
                    }
                    _ => Ok(sent),
                }
            }
            Service::Hbr(hbr) => {
                let target = match job.form_target.clone() {
                    Some(t) if job.upload_url.is_some() && live(job.url_valid_until) => t,
                    _ => {
                        let target = hbr.create_temp_file_upload_url(job.doc_name.as_str()).await?;
                        let (key, url, until) = (target.temp_file_key.clone(), target.url(), target.expire_time as f64);
                        self.remember_target(job, &key, &url, until, Some(Transfer::Form), Some(&target))?;
                        target
                    }
                };
                let content_type = media_type::detect(&job.path)?;
                hbr.upload(&target, &job.path, &content_type, on_bytes, self.opts.bwlimit.clone()).await
            }
        }
    }

    /// Intent before effect: the target is on record before a byte goes to it.
    fn remember_target(
        &self,
        job: &mut Job,
        upload_id: &str,
        url: &str,
        valid_until: f64,
        transfer: Option<Transfer>,
        form: Option<&FormTarget>,
    ) -> Result<()> {
        self.journal.record_target(job.id, &Target { upload_id, url, valid_until, transfer, form })?;
        job.upload_id = Some(upload_id.to_owned());
        job.form_target = form.cloned();
        job.upload_url = Some(url.to_owned());
        job.url_valid_until = Some(valid_until);
        job.transfer = transfer;
        Ok(())
    }
}
