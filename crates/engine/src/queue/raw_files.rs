//! Redivis's finalize stage: uploaded temp uploads become files of their table through
//! `POST /tables/{ref}/rawFiles`, many per request. The server takes a request whole or not at
//! all and answers at once (no copy to poll), with each file's MD5, which is checked against
//! ours.
//!
//! A job whose request may have landed (`attach_sent`: the answer was lost, or we were killed)
//! is sent again on its own. If the earlier request did land, the server refuses the reused
//! temp upload (`temp_upload_used`), which settles it as done: a file is never made twice.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ConflictPolicy, EventSink, Queue, QueueEvent};
use crate::error::{Error, Result};
use crate::journal::{Job, JobName};
use crate::service::redivis::{codes, is_code, RawFile, Redivis, BATCH_LIMIT};
use crate::service::trusted_twin::DocStatus;

/// How long the finalizer waits for more uploaded files before sending a request.
const GATHER: Duration = Duration::from_millis(20);
const RENAME_TRIES: u32 = 200;

/// What became of one job's rawFiles request.
enum Outcome {
    Settled,
    /// Send it in the next round (renamed, or left out of this round's request).
    Later(Job),
    /// The request failed in a way worth retrying, after a wait (the error goes to the round's
    /// `last_error`).
    Retry(Job),
}

impl Queue {
    pub(super) async fn finalizer(
        self: Arc<Self>,
        r: Arc<Redivis>,
        mut rx: mpsc::UnboundedReceiver<Job>,
        sink: EventSink,
    ) {
        let mut pending: VecDeque<Job> = VecDeque::new();
        let mut failures = 0u32;
        loop {
            if pending.is_empty() {
                match rx.recv().await {
                    Some(job) => pending.push_back(job),
                    None => return,
                }
            }
            let deadline = tokio::time::Instant::now() + GATHER;
            while pending.len() < BATCH_LIMIT {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(job)) => pending.push_back(job),
                    _ => break,
                }
            }
            // In-doubt jobs alone; fresh ones together, one table and unique names per request.
            let mut outcomes = Vec::new();
            let mut error = None;
            let mut batch = Vec::new();
            let mut names = HashSet::new();
            let table = pending.iter().find(|j| !j.attach_sent).map(|j| j.destination.clone());
            for job in pending.drain(..) {
                if job.attach_sent {
                    outcomes.push(self.finalize_single(&r, job, &sink, true, &mut error).await);
                } else if Some(&job.destination) == table.as_ref()
                    && batch.len() < BATCH_LIMIT
                    && names.insert(job.doc_name.clone())
                {
                    batch.push(job);
                } else {
                    outcomes.push(Outcome::Later(job));
                }
            }
            if !batch.is_empty() {
                outcomes.extend(self.finalize_batch(&r, batch, &sink, &mut error).await);
            }
            // Failed requests wait as the retry policy says (Retry-After included), and give up
            // when it does.
            for outcome in outcomes {
                match outcome {
                    Outcome::Settled => {}
                    Outcome::Later(job) | Outcome::Retry(job) => pending.push_back(job),
                }
            }
            let Some(error) = error else {
                failures = 0;
                continue;
            };
            failures += 1;
            match self.opts.retry.delay_in_doubt(&error, failures, fastrand::f64()) {
                Some(wait) => {
                    for job in pending.iter().filter(|j| j.attach_sent) {
                        sink(QueueEvent::Retrying {
                            id: job.id,
                            error: error.info(),
                            wait_ms: wait.as_millis() as u64,
                        });
                    }
                    tokio::time::sleep(wait).await;
                }
                None => {
                    // Given up: the jobs stay in doubt in the journal, so `twindrop retry` sends
                    // them alone and a file is still never made twice.
                    let (doubt, fresh): (Vec<Job>, Vec<Job>) = pending.drain(..).partition(|j| j.attach_sent);
                    pending.extend(fresh);
                    for job in doubt {
                        self.fail(job.id, &error, &sink);
                    }
                    failures = 0;
                }
            }
        }
    }

    /// Send fresh jobs in one request.
    async fn finalize_batch(
        &self,
        r: &Redivis,
        batch: Vec<Job>,
        sink: &EventSink,
        last_error: &mut Option<Error>,
    ) -> Vec<Outcome> {
        let sent = async {
            let table = batch[0].destination.table()?;
            let pairs =
                batch.iter().map(|j| Ok((j.doc_name.to_string(), temp_upload_id(j)?))).collect::<Result<Vec<_>>>()?;
            let ids: Vec<u64> = batch.iter().map(|j| j.id).collect();
            self.journal.mark_attach_sent(&ids)?;
            Ok(r.raw_files(table, &pairs).await)
        }
        .await;
        let batch: Vec<Job> = batch.into_iter().map(|j| Job { attach_sent: true, ..j }).collect();
        let result = match sent {
            Ok(result) => result,
            Err(e) => {
                for job in batch {
                    self.fail(job.id, &e, sink);
                }
                return vec![];
            }
        };
        match result {
            Ok(files) => {
                if let Err(e) = self.settle(&batch, &files, sink) {
                    tracing::error!("journal: {e}");
                }
                vec![]
            }
            Err(e @ Error::Rejected { .. }) if batch.len() == 1 => {
                let job = batch.into_iter().next().expect("one job");
                vec![self.outcome(job, Err(e), false, sink, last_error)]
            }
            Err(e @ Error::Rejected { .. }) => {
                // All or nothing: nothing was made. Each goes alone to find the one refused.
                tracing::info!(files = batch.len(), "rawFiles refused a batch ({e}); sending its files one by one");
                let mut outcomes = Vec::new();
                for job in batch {
                    outcomes.push(self.finalize_single(r, job, sink, false, last_error).await);
                }
                outcomes
            }
            Err(e) if e.in_doubt() => {
                *last_error = Some(e);
                batch.into_iter().map(Outcome::Retry).collect()
            }
            Err(e) => {
                for job in batch {
                    self.fail(job.id, &e, sink);
                }
                vec![]
            }
        }
    }

    /// Send one job alone. `maybe_landed`: an earlier request for it may have been taken.
    async fn finalize_single(
        &self,
        r: &Redivis,
        mut job: Job,
        sink: &EventSink,
        maybe_landed: bool,
        last_error: &mut Option<Error>,
    ) -> Outcome {
        let result = async {
            let table = job.destination.table()?.clone();
            let pair = (job.doc_name.to_string(), temp_upload_id(&job)?);
            self.journal.mark_attach_sent(&[job.id])?;
            job.attach_sent = true;
            r.raw_files(&table, &[pair]).await
        }
        .await;
        self.outcome(job, result, maybe_landed, sink, last_error)
    }

    /// Act on the answer to a request for `job` alone.
    fn outcome(
        &self,
        job: Job,
        result: Result<Vec<RawFile>>,
        maybe_landed: bool,
        sink: &EventSink,
        last_error: &mut Option<Error>,
    ) -> Outcome {
        let outcome = match result {
            Ok(files) => self.settle(std::slice::from_ref(&job), &files, sink).map(|_| Outcome::Settled),
            Err(e) if maybe_landed && is_code(&e, codes::TEMP_UPLOAD_USED) => {
                // The earlier request made the file; its bytes were checked at upload.
                self.done(&job, DocStatus::Ok, sink).map(|_| Outcome::Settled)
            }
            Err(e) if is_code(&e, codes::NAME_CONFLICT) => self.name_taken(job.clone(), sink),
            Err(e) if e.in_doubt() => {
                *last_error = Some(e);
                Ok(Outcome::Retry(job.clone()))
            }
            Err(e) => Err(e),
        };
        outcome.unwrap_or_else(|e| {
            self.fail(job.id, &e, sink);
            Outcome::Settled
        })
    }

    /// Nothing was made for this job: it may be sent as fresh.
    fn in_doubt(&self, job: &mut Job) -> Result<()> {
        self.journal.clear_attach_sent(job.id)?;
        job.attach_sent = false;
        Ok(())
    }

    /// The table has a file of this name already (from someone else: ours would be
    /// `temp_upload_used`). Follow the conflict policy.
    fn name_taken(&self, mut job: Job, sink: &EventSink) -> Result<Outcome> {
        match job.on_conflict {
            ConflictPolicy::Skip => {
                let reason = format!("a file named {} is already in the table", job.doc_name);
                self.journal.record_skipped(job.id, &reason)?;
                sink(QueueEvent::Skipped { id: job.id, doc_name: job.doc_name.to_string(), reason });
                self.leave_pipeline();
                Ok(Outcome::Settled)
            }
            ConflictPolicy::Replace => Err(Error::Unsupported(format!(
                "{}: a file of that name is already in the table, and Redivis cannot replace files; \
                 use --on-conflict rename or skip",
                job.doc_name
            ))),
            ConflictPolicy::Rename => {
                // Numbered from the file's own name: `a.csv` → `a-1.csv` → `a-2.csv`.
                let base = self.name_for(&job.path)?;
                let n = if job.doc_name == base.as_str() {
                    1
                } else {
                    number_after(&base, job.doc_name.as_str()).map_or(1, |n| n + 1)
                };
                if n > RENAME_TRIES {
                    return Err(Error::AttachRejected {
                        name: base,
                        message: format!("no free name after {RENAME_TRIES} tries"),
                    });
                }
                let name = with_suffix(&base, n);
                self.journal.rename(job.id, &name)?;
                self.in_doubt(&mut job)?;
                job.doc_name = JobName::parse(&name);
                sink(QueueEvent::Renamed { id: job.id, doc_name: name });
                Ok(Outcome::Later(job))
            }
        }
    }

    /// Record what rawFiles made of `jobs` (in request order), checking each file's MD5.
    fn settle(&self, jobs: &[Job], files: &[RawFile], sink: &EventSink) -> Result<()> {
        for (job, file) in jobs.iter().zip(files) {
            let ours = job.md5.as_deref();
            let status = match (ours, file.md5_hash.as_deref()) {
                (Some(ours), Some(theirs)) if !crate::hash::same_md5(ours, theirs) => DocStatus::HashMismatch,
                _ if file.size.is_some_and(|s| s != job.size) => DocStatus::HashMismatch,
                _ => DocStatus::Ok,
            };
            if status != DocStatus::Ok {
                tracing::warn!(job = job.id, file = %file.name, "Redivis holds other bytes than were sent");
            }
            self.done(job, status, sink)?;
        }
        Ok(())
    }

    fn done(&self, job: &Job, status: DocStatus, sink: &EventSink) -> Result<()> {
        self.journal.record_done_many(&[(job.id, &status)])?;
        sink(QueueEvent::Finished {
            id: job.id,
            doc_name: job.doc_name.to_string(),
            status,
            sha256: job.sha256.clone().unwrap_or_default(),
        });
        self.leave_pipeline();
        Ok(())
    }
}

fn temp_upload_id(job: &Job) -> Result<String> {
    job.upload_id
        .clone()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::Journal(format!("job {} is marked uploaded but has no temp upload on record", job.id)))
}

/// `a.csv`, `a-3.csv` → 3: the number a renamed name carries.
fn number_after(base: &str, name: &str) -> Option<u32> {
    let (stem, ext) = split_ext(base);
    name.strip_prefix(stem)?.strip_suffix(ext)?.strip_prefix('-')?.parse().ok()
}

/// `dir/a.tar.gz` → `dir/a-2.tar.gz`: how the services that take any name number a renamed one.
pub(super) fn with_suffix(name: &str, n: u32) -> String {
    let (stem, ext) = split_ext(name);
    format!("{stem}-{n}{ext}")
}

/// The stem and the extension (with its dot) of the last path component; a leading dot is not
/// an extension.
fn split_ext(name: &str) -> (&str, &str) {
    let last_start = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_start..].find('.') {
        Some(0) | None => (name, ""),
        Some(i) => name.split_at(last_start + i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_files_count_up_before_the_extension() {
        assert_eq!(with_suffix("a.tar.gz", 2), "a-2.tar.gz");
        assert_eq!(with_suffix("dir.v1/.env", 1), "dir.v1/.env-1");
        assert_eq!(with_suffix("noext", 3), "noext-3");
        assert_eq!(number_after("2024-01.csv", "2024-01-3.csv"), Some(3));
        assert_eq!(number_after("2024-01.csv", "2024-01.csv"), None);
        assert_eq!(number_after("a.csv", "b-1.csv"), None);
    }
}
