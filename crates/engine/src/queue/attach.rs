//! The attacher: ready Docs go to the server in batches (one `attach_twin_doc` call takes
//! many). Before a job whose attach may already have happened is attached again, its Doc is
//! read: present with our hash means done; present with other content is a conflict.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ConflictPolicy, EventSink, Queue, QueueEvent};
use crate::destination::{Destination, TwinId};
use crate::error::{Error, Invalid, Result};
use crate::journal::{Job, JobState};
use crate::naming::DocName;
use crate::service::trusted_twin::AttachItem;

/// How long the attacher waits for more ready Docs before sending a batch.
const GATHER: Duration = Duration::from_millis(20);
/// Names tried for `rename` before giving up.
pub(super) const RENAME_TRIES: u32 = 200;

/// Whose a Doc found under the job's name with the job's hash may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// The job's own attach may have made it (it was sent, the answer lost): Twindrop's.
    MaybeOurs,
    /// The server said it existed before this attach: someone else's, whatever it holds.
    NotOurs,
}

enum Resolution {
    /// The Doc is not there: attach (again).
    Attach(Job),
    /// The Doc is there with our content: watch its copy.
    Attached(Job),
    /// Finished one way or another (skipped, failed); already recorded and reported.
    Settled,
}

fn same_hash(ours: Option<&str>, theirs: Option<&str>) -> bool {
    matches!((ours, theirs), (Some(a), Some(b)) if !a.is_empty() && a.eq_ignore_ascii_case(b))
}

impl Queue {
    pub(super) async fn attacher(
        self: std::sync::Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<Job>,
        poll_tx: mpsc::UnboundedSender<Job>,
        sink: EventSink,
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
            let deadline = tokio::time::Instant::now() + GATHER;
            while open && pending.len() < self.opts.attach_batch {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(job)) => pending.push_back(job),
                    Ok(None) => open = false,
                    Err(_) => break,
                }
            }

            // Jobs whose attach may have happened are read back first.
            let mut fresh = Vec::new();
            for job in pending.drain(..) {
                if !job.attach_sent {
                    fresh.push(job);
                    continue;
                }
                match self.resolve(job, Found::MaybeOurs, &sink).await {
                    Resolution::Attach(job) => fresh.push(job),
                    Resolution::Attached(job) => self.to_poller(job, &poll_tx, &sink),
                    Resolution::Settled => {}
                }
            }

            // One batch per Twin, names unique within a batch; the rest waits for the next round.
            let Some(twin) = fresh.first().map(|j| j.destination.clone()) else { continue };
            let mut names = HashSet::new();
            let mut batch = Vec::new();
            for job in fresh {
                if job.destination == twin && batch.len() < self.opts.attach_batch && names.insert(job.doc_name.clone())
                {
                    batch.push(job);
                } else {
                    pending.push_back(job);
                }
            }
            match self.attach_batch(&twin, &mut batch, &poll_tx, &sink).await {
                Ok(()) => {
                    failures = 0;
                    pending.extend(batch);
                }
                Err(e) => {
                    // Nobody knows which of these Docs were attached: read each back next round.
                    failures += 1;
                    match self.opts.retry.delay_in_doubt(&e, failures, fastrand::f64()) {
                        Some(wait) => {
                            for job in &batch {
                                sink(QueueEvent::Retrying {
                                    id: job.id,
                                    error: e.info(),
                                    wait_ms: wait.as_millis() as u64,
                                });
                            }
                            pending.extend(batch);
                            tokio::time::sleep(wait).await;
                        }
                        None => {
                            for job in batch {
                                self.fail(job.id, &e, &sink);
                            }
                            failures = 0;
                        }
                    }
                }
            }
        }
    }

    /// Send one batch. Per-Doc outcomes are handled here; the error is for the request as a
    /// whole, after which every job in `batch` has `attach_sent` set and must be read back.
    async fn attach_batch(
        &self,
        twin: &Destination,
        batch: &mut Vec<Job>,
        poll_tx: &mpsc::UnboundedSender<Job>,
        sink: &EventSink,
    ) -> Result<()> {
        let twin_id = twin.twin()?.clone();
        let mut items = Vec::with_capacity(batch.len());
        let mut ready = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            match self.attach_item(&job) {
                Ok(item) => {
                    items.push(item);
                    ready.push(job);
                }
                Err(e) => self.fail(job.id, &e, sink),
            }
        }
        if ready.is_empty() {
            return Ok(());
        }
        let ids: Vec<u64> = ready.iter().map(|j| j.id).collect();
        // Intent before effect: from here on, these attaches are in doubt until answered.
        self.journal.mark_attach_sent(&ids)?;
        for job in &mut ready {
            job.attach_sent = true;
        }
        let results = match self.tt()?.attach_many(&twin_id, &items).await {
            Ok(results) => results,
            Err(e) if e.in_doubt() => {
                *batch = ready;
                return Err(e);
            }
            // Refused outright (bad twin, no permission): nothing was attached.
            Err(e) => {
                for job in ready {
                    self.fail(job.id, &e, sink);
                }
                return Ok(());
            }
        };
        let mut attached = Vec::new();
        let mut others = Vec::new();
        for (job, result) in ready.into_iter().zip(results) {
            match result {
                Ok(_) => attached.push(job),
                Err(e) => others.push((job, e)),
            }
        }
        self.journal.record_attached_many(&attached.iter().map(|j| j.id).collect::<Vec<_>>())?;
        for job in attached {
            self.to_poller(job, poll_tx, sink);
        }
        for (job, error) in others {
            match error {
                Error::DocExists(_) => match self.resolve(job, Found::NotOurs, sink).await {
                    Resolution::Attach(job) => batch.push(job),
                    Resolution::Attached(job) => self.to_poller(job, poll_tx, sink),
                    Resolution::Settled => {}
                },
                Error::NotUploaded(_) => {
                    // The handler expired (or its bytes were lost): upload again from the start.
                    self.journal.clear_attach_sent(job.id)?;
                    self.journal.forget_target(job.id)?;
                    self.journal.set_state(job.id, JobState::Queued)?;
                    self.leave_pipeline();
                }
                e => self.fail(job.id, &e, sink),
            }
        }
        // Jobs renamed or cleared by a conflict stay in `batch` and go out in the next round.
        Ok(())
    }

    fn attach_item(&self, job: &Job) -> Result<AttachItem> {
        Ok(AttachItem {
            name: job.doc_name.doc_name()?,
            handler: job
                .upload_id
                .clone()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| Error::NotUploaded(job.doc_name.to_string()))?,
            sha256: job.sha256.clone(),
            storage_class: job.storage_class,
            description: job
                .description
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| Error::invalid(Invalid::Description, format!("description: {e}")))?,
        })
    }

    fn to_poller(&self, mut job: Job, poll_tx: &mpsc::UnboundedSender<Job>, sink: &EventSink) {
        job.state = JobState::Verifying;
        sink(QueueEvent::Progress {
            id: job.id,
            stage: super::Stage::Verifying,
            bytes_done: job.size,
            bytes_total: job.size,
        });
        let _ = poll_tx.send(job);
    }

    /// Replace the Doc at `name` (holding `old_sha256`) with this job's. The new bytes are
    /// already uploaded (the job is past its upload stage), and the intent is journaled before
    /// the delete: a process killed after the delete finds the job attaching and attaches it,
    /// so the name is never left with neither Doc.
    async fn replace(&self, job: &mut Job, twin: &TwinId, name: &DocName, old_sha256: &str) -> Result<Resolution> {
        self.journal.record_replacing(job.id, old_sha256)?;
        job.replaces = Some(old_sha256.to_owned());
        let tt = self.tt()?.clone();
        match crate::retry::retry(&self.opts.retry, || tt.delete_doc(twin, name), |_, _| {}).await {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        self.journal.clear_attach_sent(job.id)?;
        job.attach_sent = false;
        Ok(Resolution::Attach(job.clone()))
    }

    /// Read the Doc of a job whose attach may have happened, and decide.
    async fn resolve(&self, mut job: Job, whose: Found, sink: &EventSink) -> Resolution {
        match self.resolve_inner(&mut job, whose, sink).await {
            Ok(r) => r,
            Err(e) => {
                self.fail(job.id, &e, sink);
                Resolution::Settled
            }
        }
    }

    async fn resolve_inner(&self, job: &mut Job, whose: Found, sink: &EventSink) -> Result<Resolution> {
        let twin = job.destination.twin()?.clone();
        let name = job.doc_name.doc_name()?;
        let tt = self.tt()?.clone();
        let read = |name: DocName| {
            let tt = tt.clone();
            let twin = twin.clone();
            async move { crate::retry::retry(&self.opts.retry, || tt.get_doc(&twin, &name), |_, _| {}).await }
        };
        // The hash of the Doc that holds the name now.
        let theirs = match read(name.clone()).await {
            Err(Error::NotFound(_)) => {
                self.journal.clear_attach_sent(job.id)?;
                job.attach_sent = false;
                return Ok(Resolution::Attach(job.clone()));
            }
            Err(e) => return Err(e),
            Ok(doc) if same_hash(job.sha256.as_deref(), doc.sha256()) => {
                self.journal.record_found(job.id, whose == Found::MaybeOurs)?;
                return Ok(Resolution::Attached(job.clone()));
            }
            Ok(doc) => doc.sha256().unwrap_or_default().to_owned(),
        };
        // This file's own Doc, still as it was sent (or a replace of it decided before a
        // crash): the changed file takes its place.
        let ours = self.journal.owned_doc(self.base_url(), &job.destination, name.as_str())?;
        let own = ours.is_some_and(|o| o.path == job.path && same_hash(Some(&o.sha256), Some(&theirs)));
        let decided = same_hash(job.replaces.as_deref(), Some(&theirs));
        if own || decided {
            return self.replace(job, &twin, &name, &theirs).await;
        }
        // A different Doc holds the name, and Twindrop cannot show it is this file's to replace.
        match job.on_conflict {
            ConflictPolicy::Skip => {
                let reason = format!("{} {name} is already on the Twin", super::CONFLICT_SKIP);
                self.journal.record_skipped(job.id, &reason)?;
                sink(QueueEvent::Skipped { id: job.id, doc_name: name.to_string(), reason });
                self.leave_pipeline();
                Ok(Resolution::Settled)
            }
            ConflictPolicy::Replace => self.replace(job, &twin, &name, &theirs).await,
            ConflictPolicy::Rename => {
                // Numbered from the name the file was first proposed (report-2.txt after
                // report-1.txt, not report-1-1.txt).
                let proposed =
                    self.journal.proposed_name(self.base_url(), &job.destination, &job.path, name.as_str())?;
                let stem = match proposed.map(|p| DocName::parse(&p)) {
                    Some(Ok(p)) => p,
                    _ => name.clone(),
                };
                for n in 1..=RENAME_TRIES {
                    let candidate = stem.with_suffix(n);
                    if candidate == name {
                        continue;
                    }
                    // Another local file's name is not free, whatever the Twin holds now.
                    if self.journal.name_held_by_other(
                        self.base_url(),
                        &job.destination,
                        candidate.as_str(),
                        &job.path,
                    )? {
                        continue;
                    }
                    let found = match read(candidate.clone()).await {
                        Err(Error::NotFound(_)) => None,
                        Err(e) => return Err(e),
                        Ok(doc) => Some(same_hash(job.sha256.as_deref(), doc.sha256())),
                    };
                    if found == Some(false) {
                        continue;
                    }
                    // Recorded before the attach, so a crash resolves against the new name.
                    self.journal.rename(job.id, candidate.as_str())?;
                    job.doc_name = candidate.clone().into();
                    job.attach_sent = false;
                    sink(QueueEvent::Renamed { id: job.id, doc_name: candidate.to_string() });
                    if found == Some(true) {
                        // Someone else's Doc with these very bytes: done, but not ours to replace.
                        self.journal.record_found(job.id, false)?;
                        return Ok(Resolution::Attached(job.clone()));
                    }
                    return Ok(Resolution::Attach(job.clone()));
                }
                Err(Error::AttachRejected {
                    name: name.to_string(),
                    message: format!("no free name after {RENAME_TRIES} tries"),
                })
            }
        }
    }
}
