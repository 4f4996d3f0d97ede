//! The finish stage, one loop for every service: uploaded jobs are gathered, grouped into
//! batches of the service's size (one destination, distinct names), sent through its
//! [`Finishing`] capability, and what became of each is recorded (done, skipped, failed, back
//! in the queue, or copying, for the poller). A request whose answer was lost leaves its jobs
//! in doubt: they wait as the retry policy's in-doubt budget says, then go to
//! [`Finishing::in_doubt`] (read back, or sent alone), never failed blind. A service with no
//! finishing (HBR) has its uploads recorded done as they come.
//!
//! What differs between services (conflicts, ownership checks before a replace, splitting a
//! refused batch) is behind the capability, in the service's own module.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{EventSink, Queue, QueueEvent, Stage};
use crate::doc::DocStatus;
use crate::error::Error;
use crate::journal::{Job, JobState};
use crate::service::upload_api::{FinishCx, Finishing, Outcome, Round};

/// How long the loop waits for more uploaded jobs before sending a batch.
const GATHER: Duration = Duration::from_millis(20);

/// Told each job that waits, in doubt, before its request is retried.
type Retrying<'a> = &'a (dyn Fn(&Job, &Error, Duration) + Send + Sync);

/// Drive `fin` until `rx` closes and nothing is pending. `settle` gets each round's jobs whose
/// outcome ends their stay here (never `Again` or `InDoubt`, which the loop keeps).
pub(super) async fn batch_loop(
    fin: &dyn Finishing,
    cx: &FinishCx<'_>,
    rx: &mut mpsc::UnboundedReceiver<Job>,
    settle: &mut (dyn FnMut(Vec<(Job, Outcome)>) + Send),
    retrying: Retrying<'_>,
) {
    let mut pending: VecDeque<Job> = VecDeque::new();
    let mut failures = 0u32;
    let mut open = true;
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(job) => pending.push_back(job),
                None => return,
            }
        }
        let limit = fin.max_batch(cx).max(1);
        let deadline = tokio::time::Instant::now() + GATHER;
        while open && pending.len() < limit {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => pending.push_back(job),
                Ok(None) => open = false,
                Err(_) => break,
            }
        }

        // Jobs whose request may have landed are settled first, each alone.
        let mut round = Round::default();
        let mut fresh = Vec::new();
        for job in pending.drain(..) {
            if !job.attach_sent {
                fresh.push(job);
                continue;
            }
            let answer = fin.in_doubt(job, cx).await;
            if answer.doubt.is_some() {
                round.doubt = answer.doubt;
            }
            for (job, outcome) in answer.outcomes {
                match outcome {
                    Outcome::Again => fresh.push(job),
                    outcome => round.push(job, outcome),
                }
            }
        }

        // One batch: the first job's destination, distinct names; the rest waits its turn.
        let mut later = VecDeque::new();
        if let Some(dest) = fresh.first().map(|j| j.destination.clone()) {
            let mut names = HashSet::new();
            let mut batch = Vec::new();
            for job in fresh {
                if job.destination == dest && batch.len() < limit && names.insert(job.doc_name.clone()) {
                    batch.push(job);
                } else {
                    later.push_back(job);
                }
            }
            round.extend(fin.send(batch, cx).await);
        }

        let mut ended = Vec::new();
        for (job, outcome) in round.outcomes {
            match outcome {
                Outcome::Again | Outcome::InDoubt => later.push_back(job),
                outcome => ended.push((job, outcome)),
            }
        }
        if !ended.is_empty() {
            settle(ended);
        }
        pending = later;

        let Some(error) = round.doubt else {
            failures = 0;
            continue;
        };
        // Failed requests wait as the retry policy says (Retry-After included), and give up
        // when it does.
        failures += 1;
        match cx.retry.delay_in_doubt(&error, failures, fastrand::f64()) {
            Some(wait) => {
                for job in pending.iter().filter(|j| j.attach_sent) {
                    retrying(job, &error, wait);
                }
                tokio::time::sleep(wait).await;
            }
            None => {
                // Given up: the jobs stay in doubt in the journal, so a retry or a restart
                // reads them back first and a file is still never made twice.
                let error = Arc::new(error);
                let (doubt, fresh): (VecDeque<Job>, VecDeque<Job>) = pending.drain(..).partition(|j| j.attach_sent);
                pending = fresh;
                settle(doubt.into_iter().map(|j| (j, Outcome::Failed(error.clone()))).collect());
                failures = 0;
            }
        }
    }
}

impl Queue {
    /// The finish stage of this queue's service (see the module's doc).
    pub(super) async fn finisher(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<Job>,
        poll_tx: mpsc::UnboundedSender<Job>,
        sink: EventSink,
    ) {
        let mut settle = |outcomes: Vec<(Job, Outcome)>| self.settle(outcomes, &poll_tx, &sink);
        let Some(fin) = self.service.api().finishing() else {
            // Nothing to finish: an upload is final, and said itself whether its bytes were
            // confirmed.
            while let Some(job) = rx.recv().await {
                let status = match job.doc_status {
                    Some(DocStatus::Unverified) => DocStatus::Unverified,
                    _ => DocStatus::Ok,
                };
                settle(vec![(job, Outcome::Done(status))]);
            }
            return;
        };
        let renamed = {
            let sink = sink.clone();
            move |id: u64, name: &str| sink(QueueEvent::Renamed { id, doc_name: name.to_owned() })
        };
        let cx = self.finish_cx(&renamed);
        let retrying = {
            let sink = sink.clone();
            move |job: &Job, error: &Error, wait: Duration| {
                sink(QueueEvent::Retrying { id: job.id, error: error.info(), wait_ms: wait.as_millis() as u64 })
            }
        };
        batch_loop(fin, &cx, &mut rx, &mut settle, &retrying).await;
    }

    pub(super) fn finish_cx<'a>(&'a self, renamed: &'a (dyn Fn(u64, &str) + Send + Sync)) -> FinishCx<'a> {
        FinishCx {
            journal: &self.journal,
            base_url: self.base_url(),
            retry: &self.opts.retry,
            batch: self.opts.attach_batch,
            renamed,
        }
    }

    /// Record and report what a round made of its jobs. The done ones go in one commit, and
    /// leave memory only once it is on record.
    fn settle(&self, outcomes: Vec<(Job, Outcome)>, poll_tx: &mpsc::UnboundedSender<Job>, sink: &EventSink) {
        let mut done = Vec::new();
        for (mut job, outcome) in outcomes {
            match outcome {
                Outcome::Done(status) => done.push((job, status)),
                Outcome::Skipped(reason) => {
                    if let Err(e) = self.journal.record_skipped(job.id, &reason) {
                        self.fail(job.id, &e, sink);
                        continue;
                    }
                    sink(QueueEvent::Skipped { id: job.id, doc_name: job.doc_name.to_string(), reason });
                    self.leave_pipeline();
                }
                Outcome::Failed(e) => self.fail(job.id, &e, sink),
                Outcome::Requeued => self.leave_pipeline(),
                Outcome::Copying => {
                    job.state = JobState::Verifying;
                    let (id, size) = (job.id, job.size);
                    sink(QueueEvent::Progress { id, stage: Stage::Verifying, bytes_done: size, bytes_total: size });
                    let _ = poll_tx.send(job);
                }
                Outcome::Again | Outcome::InDoubt => {
                    tracing::error!(job = job.id, "a job still moving was settled; it waits for the next run");
                    self.leave_pipeline();
                }
            }
        }
        self.record_finished(done, sink);
    }

    /// Jobs that ended with their server status: one commit for the round, then each one's
    /// `finished`; a job leaves memory only once it is on record.
    pub(super) fn record_finished(&self, done: Vec<(Job, DocStatus)>, sink: &EventSink) {
        if done.is_empty() {
            return;
        }
        let rows: Vec<(u64, &DocStatus)> = done.iter().map(|(job, status)| (job.id, status)).collect();
        if let Err(e) = self.journal.record_done_many(&rows) {
            tracing::error!("journal: {e}");
        }
        for (job, status) in done {
            sink(QueueEvent::Finished {
                id: job.id,
                doc_name: job.doc_name.to_string(),
                status,
                sha256: job.sha256.unwrap_or_default(),
            });
            self.leave_pipeline();
        }
    }
}

#[cfg(test)]
#[path = "finish_tests.rs"]
mod tests;
