//! The scheduler. The journal is the queue: workers claim `queued` jobs from it, upload them
//! (hashing on the way), and hand them to one finisher, which sends ready files in batches (an
//! attach, rawFiles or complete call), and one poller, which watches their copies until the
//! server says how they ended. Every step is
//! written to the journal before and after it happens (see `journal`), and reported to the
//! caller as a [`QueueEvent`].
//!
//! - `plan`: which files to upload, resume or skip; enqueueing.
//! - `upload`: the worker stage (upload target, transfer, renewal of expired targets, retries),
//!   through the service's core ([`UploadApi`](crate::service::UploadApi)).
//! - `finish`: one batch loop for every service's [`Finishing`](crate::service::upload_api::Finishing)
//!   (gather, group, send, record, retry the requests in doubt): Trusted Twin's attach, Redivis's
//!   rawFiles, Inspect's complete call; HBR has nothing to finish.
//! - `poll`: batched status polling of copies ([`Copies`](crate::service::upload_api::Copies)).
//! - `names`: a batch's names made distinct, and the decisions kept in the journal.
//! - `mirror`: deleting the Doc of a file gone from a mirrored folder, only when it is provably
//!   that file's Doc, unchanged.
//! - `standing`: the jobs a window opening on the queue is told of (those not ended well).
//! - `figures`: the batch's `Stats`, from one [`Aggregate`](crate::progress::Aggregate) that
//!   hears every event the queue sends (each sink that comes in is tapped).
//! - `gone`: a failed job whose file is gone, removed or pointed at the file's new place.
//!
//! Every job goes worker → `finish` (→ `poll` for a service that copies). The queue does not
//! branch on the service: what differs is in each service's module (`service::upload_api`).

mod event;
mod figures;
mod finish;
mod gone;
mod mirror;
mod names;
mod plan;
mod poll;
mod resend;
mod standing;
mod upload;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use event::added;
pub use event::{EventSink, QueueEvent, Stage};
pub use mirror::Forgotten;
pub use plan::{
    describe, description_from_entries, description_key_ok, Batch, PlanAction, PlanItem, Planned, ORIGINAL_NAME,
};

use crate::bandwidth::Limiter;
pub use crate::doc::ConflictPolicy;
use crate::error::{Error, Invalid, Result};
use crate::journal::{Job, JobState, Journal, PRUNE_EVERY};
use crate::progress::Aggregate;
use crate::retry::RetryPolicy;
use crate::service::trusted_twin::StorageClass;
use crate::service::Service;

pub use crate::service::upload_api::CONFLICT_SKIP;

/// What a watched folder does when a Doc it did not make holds a file's name. It has no
/// `replace`: a folder replaces only the Docs it made, and only while they hold what it sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum FolderConflicts {
    #[default]
    Rename,
    Skip,
}

impl FolderConflicts {
    pub fn policy(self) -> ConflictPolicy {
        match self {
            FolderConflicts::Rename => ConflictPolicy::Rename,
            FolderConflicts::Skip => ConflictPolicy::Skip,
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "rename" => Ok(FolderConflicts::Rename),
            "skip" => Ok(FolderConflicts::Skip),
            "replace" => Err(Error::invalid(
                Invalid::ConflictPolicy,
                "a watched folder cannot replace Docs it did not make: use rename or skip (a changed file still \
                 replaces its own Doc)",
            )),
            _ => Err(Error::invalid(Invalid::ConflictPolicy, format!("conflict policy {s:?}: use rename or skip"))),
        }
    }
}

#[derive(Clone)]
pub struct Options {
    /// Files uploading at the same time. Each holds one read buffer (`hash::CHUNK`), so memory
    /// is bounded by `parallel × CHUNK` whatever the file sizes.
    pub parallel: usize,
    pub on_conflict: ConflictPolicy,
    pub storage_class: StorageClass,
    /// A JSON object of description keys, sent with every Doc.
    pub description: Option<serde_json::Value>,
    /// Add each file's own name to its Doc's description as `original_name` (Trusted Twin),
    /// so the link from a Doc back to its file survives the renaming a Doc name may need.
    pub original_name: bool,
    pub bwlimit: Option<Arc<Limiter>>,
    pub retry: RetryPolicy,
    /// Most Docs in one attach request.
    pub attach_batch: usize,
    pub poll_interval: Duration,
    /// How long a Doc may stay `copying` before its job fails.
    pub verify_limit: Duration,
    /// Files larger than this go by a resumable session where the service offers one.
    pub resumable_above: u64,
    /// Chunk size of resumable sessions (a multiple of 256 KiB).
    pub chunk_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallel: 4,
            on_conflict: ConflictPolicy::default(),
            storage_class: StorageClass::default(),
            description: None,
            original_name: true,
            bwlimit: None,
            retry: RetryPolicy::default(),
            attach_batch: 100,
            poll_interval: Duration::from_millis(150),
            verify_limit: Duration::from_secs(600),
            resumable_above: crate::service::redivis::RESUMABLE_ABOVE,
            chunk_size: crate::transfer::resumable::DEFAULT_CHUNK,
        }
    }
}

impl Options {
    /// These options for a queue of watched folders (the app's and `twindrop sync`'s alike):
    /// a server that is away is waited for, never given up on; a Doc someone else made is
    /// never replaced (each folder's own policy, rename by default, comes with its batch),
    /// while a changed file still replaces the Doc it made (the journal proves it).
    pub fn for_folders(self) -> Options {
        Options {
            on_conflict: ConflictPolicy::Rename,
            retry: RetryPolicy { max_attempts: u32::MAX, cap: Duration::from_secs(60), ..self.retry },
            ..self
        }
    }
}

/// Run until nothing is left to do (the CLI), or keep waiting for new work (the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    UntilIdle,
    Forever,
}

/// The most workers a queue can be turned up to while it runs ([`Queue::set_parallel`]).
pub const MAX_PARALLEL: usize = 16;

#[derive(Default)]
struct Control {
    paused: AtomicBool,
    /// [`Options::original_name`], changeable while the queue runs (a Settings switch).
    original_name: AtomicBool,
    /// Workers allowed to claim jobs; the others wait. Changeable while the queue runs.
    parallel: AtomicUsize,
    wake: Notify,
    running: Mutex<HashMap<u64, CancellationToken>>,
    /// Jobs held in memory by a worker, the finisher or the poller.
    in_pipeline: AtomicUsize,
    /// Held for writing while `enqueue` puts jobs in and reports them, so a worker never claims
    /// (and reports on) a job before its `Added` event has gone out.
    gate: tokio::sync::RwLock<()>,
    /// The batch being worked through, fed by every event the queue sends ([`Queue::tap`]):
    /// the figures of its `Stats`.
    batch: Mutex<Aggregate>,
    /// When `Stats` last went out for a file's end (`figures`: at most every 100 ms).
    stats_sent: Mutex<Option<tokio::time::Instant>>,
}

pub struct Queue {
    /// Itself, for the sinks it taps (they outlive no queue: a weak reference).
    me: std::sync::Weak<Queue>,
    service: Service,
    journal: Arc<Journal>,
    opts: Options,
    control: Control,
}

impl Queue {
    pub fn new(service: impl Into<Service>, journal: Arc<Journal>, opts: Options) -> Arc<Self> {
        let control = Control {
            parallel: AtomicUsize::new(opts.parallel.max(1)),
            original_name: AtomicBool::new(opts.original_name),
            ..Control::default()
        };
        Arc::new_cyclic(|me| Queue { me: me.clone(), service: service.into(), journal, opts, control })
    }

    /// How many files may upload at once from now on (1 to [`MAX_PARALLEL`], or more if the
    /// queue was built with more). Uploads beyond a lowered limit finish; no new one starts.
    pub fn set_parallel(&self, n: usize) {
        let most = self.opts.parallel.max(MAX_PARALLEL);
        self.control.parallel.store(n.clamp(1, most), Ordering::SeqCst);
        self.control.wake.notify_waiters();
    }

    /// Whether files queued from now on keep their own name in their Doc's description.
    pub fn set_original_name(&self, keep: bool) {
        self.control.original_name.store(keep, Ordering::Relaxed);
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    pub fn parallel(&self) -> usize {
        self.control.parallel.load(Ordering::SeqCst)
    }

    /// The limiter every transfer of this queue is paced by, if it has one (change its
    /// timetable to change the limit while uploads run).
    pub fn bandwidth(&self) -> Option<&Arc<Limiter>> {
        self.opts.bwlimit.as_ref()
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    fn base_url(&self) -> &str {
        self.service.base_url()
    }

    /// Carry on with every unfinished job of this server: those left by a crash, and those
    /// enqueued while it runs.
    pub async fn run(self: &Arc<Self>, sink: EventSink, mode: RunMode) -> Result<()> {
        let sink = self.tap(&sink);
        let base = self.base_url().to_owned();
        self.journal.recover(&base)?;
        let (queued_files, queued_bytes) = self.journal.queued(&base)?;
        // Everything queued is in the journal by now (enqueued files included): count it once.
        self.control.batch.lock().expect("batch").seed(queued_files, queued_bytes);

        let (attach_tx, attach_rx) = mpsc::unbounded_channel::<Job>();
        let (poll_tx, poll_rx) = mpsc::unbounded_channel::<Job>();
        for job in self.journal.list(Some(&base), &[JobState::Attaching, JobState::Verifying])? {
            self.control.in_pipeline.fetch_add(1, Ordering::SeqCst);
            sink(added(&job));
            if job.state == JobState::Attaching {
                let _ = attach_tx.send(job);
            } else {
                let _ = poll_tx.send(job);
            }
        }
        let finisher = tokio::spawn(self.clone().finisher(attach_rx, poll_tx.clone(), sink.clone()));
        let poller = tokio::spawn(self.clone().poller(poll_rx, sink.clone()));
        drop(poll_tx);
        let stats = tokio::spawn(self.clone().report_stats(sink.clone()));
        let pruner = tokio::spawn(self.clone().prune_history());
        // As many workers as the limit may be raised to; those above the current limit wait.
        let mut workers = tokio::task::JoinSet::new();
        for index in 0..self.opts.parallel.max(MAX_PARALLEL) {
            workers.spawn(self.clone().worker(index, attach_tx.clone(), sink.clone(), mode));
        }
        drop(attach_tx);
        // If this future is dropped (the app closes a session), its tasks stop with it; jobs
        // caught mid-way stay in the journal and carry on at the next run.
        // (The workers' JoinSet aborts them when dropped.)
        let _stop_with_me = AbortOnDrop([&finisher, &poller, &stats, &pruner].map(|t| t.abort_handle()).to_vec());
        let mut outcome = Ok(());
        while let Some(ended) = workers.join_next().await {
            // The first worker to fail ends the run: what it failed on (the journal) fails the
            // others too, and workers above the parallel limit would wait for ever.
            if let Err(e) = ended.map_err(|e| Error::Journal(format!("worker: {e}"))).and_then(|r| r) {
                outcome = Err(e);
                break;
            }
        }
        drop(workers);
        let _ = finisher.await;
        let _ = poller.await;
        stats.abort();
        pruner.abort();
        sink(self.tick_stats());
        outcome
    }

    /// [`run`](Self::run) for good (the app): a run that stops with an error (its journal
    /// failing under it) is started again after a growing wait, so queued files never just sit
    /// there. `on_stop` hears each stop, for the log and the window.
    pub async fn run_supervised(self: &Arc<Self>, sink: EventSink, on_stop: impl Fn(&Error, Duration)) {
        let policy = self.opts.retry;
        let mut stops = 0;
        loop {
            let started = std::time::Instant::now();
            let outcome = self.run(sink.clone(), RunMode::Forever).await;
            // A run that lasted a while was healthy: the next stop starts the backoff over.
            if started.elapsed() > policy.cap {
                stops = 0;
            }
            stops += 1;
            let error = outcome.err().unwrap_or_else(|| Error::QueueStopped("the upload queue ended".into()));
            let wait = policy.backoff(stops, fastrand::f64());
            on_stop(&error, wait);
            tokio::time::sleep(wait).await;
        }
    }

    async fn worker(
        self: Arc<Self>,
        index: usize,
        attach_tx: mpsc::UnboundedSender<Job>,
        sink: EventSink,
        mode: RunMode,
    ) -> Result<()> {
        loop {
            if index >= self.control.parallel.load(Ordering::SeqCst) {
                // Over the limit: nothing to claim. It can only end the run once the queue is
                // idle, which the workers under the limit announce with a wake-up.
                if mode == RunMode::UntilIdle
                    && self.control.in_pipeline.load(Ordering::SeqCst) == 0
                    && self.is_idle()?
                {
                    return Ok(());
                }
                let _ = tokio::time::timeout(Duration::from_secs(1), self.control.wake.notified()).await;
                continue;
            }
            let job = if self.control.paused.load(Ordering::SeqCst) {
                None
            } else {
                self.journal.claim_next(self.base_url())?
            };
            let Some(job) = job else {
                if mode == RunMode::UntilIdle
                    && self.control.in_pipeline.load(Ordering::SeqCst) == 0
                    && !self.control.paused.load(Ordering::SeqCst)
                    && !self.journal.has_jobs(self.base_url(), &[JobState::Queued])?
                {
                    self.control.wake.notify_waiters();
                    return Ok(());
                }
                let _ = tokio::time::timeout(Duration::from_millis(200), self.control.wake.notified()).await;
                continue;
            };
            self.control.in_pipeline.fetch_add(1, Ordering::SeqCst);
            let token = CancellationToken::new();
            self.control.running.lock().expect("running").insert(job.id, token.clone());
            let id = job.id;
            // A bug met on one file (a panic) fails that file, not the worker: the queue goes on
            // with the others instead of leaving them queued for ever.
            let stage =
                futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(self.upload_stage(job, &sink)));
            let result = tokio::select! {
                r = stage => r.unwrap_or_else(|panic| Err(Error::Internal(panic_message(&panic)))),
                _ = token.cancelled() => Err(Error::Cancelled),
            };
            self.control.running.lock().expect("running").remove(&id);
            match result {
                Ok(job) => {
                    let _ = attach_tx.send(job);
                }
                // Whoever cancelled has already written the job's new state.
                Err(Error::Cancelled) => self.leave_pipeline(),
                Err(e) => self.fail(id, &e, &sink),
            }
        }
    }

    /// A job is final (or back in the queue): it leaves memory, and idle workers look again.
    fn leave_pipeline(&self) {
        self.control.in_pipeline.fetch_sub(1, Ordering::SeqCst);
        self.control.wake.notify_waiters();
    }

    fn fail(&self, id: u64, e: &Error, sink: &EventSink) {
        tracing::warn!(job = id, code = e.code(), "job failed: {e}");
        if let Err(j) = self.journal.record_failed(id, e) {
            tracing::error!("journal: {j}");
        }
        sink(QueueEvent::Failed { id, error: e.info() });
        self.leave_pipeline();
    }

    /// The journal's finished history is pruned as its retention says, when the queue starts
    /// (unless a prune ended less than [`PRUNE_EVERY`] ago) and every [`PRUNE_EVERY`] after: a
    /// bounded batch at a time, off the runtime's threads. A prune that fails is logged and
    /// tried at the next tick; it never stops the queue.
    async fn prune_history(self: Arc<Self>) {
        loop {
            let journal = self.journal.clone();
            match tokio::task::spawn_blocking(move || journal.prune_if_due()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(code = e.code(), "journal: history not pruned: {e}"),
                Err(e) => tracing::warn!("journal: the prune stopped: {e}"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    }

    /// Stop taking new jobs and stop the bytes in flight; finished work stays finished and the
    /// interrupted uploads go back to the queue, each said on `sink`.
    pub fn pause_all(&self, sink: &EventSink) -> Result<()> {
        let sink = &self.tap(sink);
        self.control.paused.store(true, Ordering::SeqCst);
        let mut requeued = Vec::new();
        for (id, token) in self.control.running.lock().expect("running").iter() {
            if self.journal.set_state_if(*id, &[JobState::Uploading], JobState::Queued)? {
                requeued.push(*id);
            }
            token.cancel();
        }
        for id in requeued {
            sink(QueueEvent::State { id, state: JobState::Queued });
        }
        Ok(())
    }

    pub fn resume_all(&self) {
        self.control.paused.store(false, Ordering::SeqCst);
        self.control.wake.notify_waiters();
    }

    /// Pause one job: queued → paused; uploading → its bytes stop and it waits, paused.
    pub fn pause(&self, id: u64, sink: &EventSink) -> Result<bool> {
        let sink = &self.tap(sink);
        let paused = self.journal.set_state_if(id, &[JobState::Queued, JobState::Uploading], JobState::Paused)?;
        if paused {
            if let Some(token) = self.control.running.lock().expect("running").get(&id) {
                token.cancel();
            }
            sink(QueueEvent::State { id, state: JobState::Paused });
        }
        Ok(paused)
    }

    pub fn resume(&self, id: u64, sink: &EventSink) -> Result<bool> {
        let sink = &self.tap(sink);
        let resumed = self.journal.set_state_if(id, &[JobState::Paused], JobState::Queued)?;
        if resumed {
            sink(QueueEvent::State { id, state: JobState::Queued });
            self.control.wake.notify_waiters();
        }
        Ok(resumed)
    }

    /// Cancel a job that has not reached the attach: once a Doc may exist, it runs to the end.
    pub fn cancel(&self, id: u64, sink: &EventSink) -> Result<bool> {
        let sink = &self.tap(sink);
        let from = [JobState::Queued, JobState::Uploading, JobState::Paused];
        let cancelled = self.journal.set_state_if(id, &from, JobState::Cancelled)?;
        if cancelled {
            if let Some(token) = self.control.running.lock().expect("running").get(&id) {
                token.cancel();
            }
            sink(QueueEvent::State { id, state: JobState::Cancelled });
        }
        Ok(cancelled)
    }

    /// Nothing queued, nothing moving.
    pub fn is_idle(&self) -> Result<bool> {
        Ok(self.control.in_pipeline.load(Ordering::SeqCst) == 0
            && !self.journal.has_jobs(self.base_url(), &[JobState::Queued, JobState::Uploading])?)
    }

    /// Put one failed job back in the queue. A job whose attach may have committed is left to
    /// [`retry_failed`](Self::retry_failed) and a restart, which read its Doc back first.
    pub fn retry(&self, id: u64, sink: &EventSink) -> Result<bool> {
        let sink = &self.tap(sink);
        let job = self.journal.get(id)?;
        if job.state != JobState::Failed {
            return Ok(false);
        }
        if job.attach_sent {
            return Err(Error::RetryRefused(format!(
                "the attach of {:?} may have reached the server; Retry failed (or a restart) reads it back first",
                job.doc_name
            )));
        }
        self.refresh_identity(&job)?;
        let retried = self.journal.set_state_if(id, &[JobState::Failed], JobState::Queued)?;
        if retried {
            sink(QueueEvent::State { id, state: JobState::Queued });
            self.control.wake.notify_waiters();
        }
        Ok(retried)
    }

    /// Put failed jobs back in the queue (`twindrop retry`, "Retry failed"); each one that is
    /// queued again is said on `sink`. A job whose attach is in doubt goes to `attaching`
    /// instead, and is resolved when the queue next starts, so it is not said to be queued.
    pub fn retry_failed(&self, sink: &EventSink) -> Result<usize> {
        let sink = &self.tap(sink);
        let failed = self.journal.list(Some(self.base_url()), &[JobState::Failed])?;
        for job in &failed {
            if !job.attach_sent {
                self.refresh_identity(job)?;
            }
        }
        let n = self.journal.requeue_failed(self.base_url())?;
        for job in failed {
            if self.journal.get(job.id)?.state == JobState::Queued {
                sink(QueueEvent::State { id: job.id, state: JobState::Queued });
            }
        }
        self.control.wake.notify_waiters();
        Ok(n)
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
    format!("an internal error stopped this file: {}", text.unwrap_or_else(|| "a panic".into()))
}

impl Queue {
    /// A failed job is retried with the file as it is now: its bytes were never attached, and
    /// the person asking for the retry means the file in its place. A symlink or a folder there
    /// stays as it was recorded, and fails again for what it is.
    fn refresh_identity(&self, job: &Job) -> Result<()> {
        let Ok(meta) = std::fs::symlink_metadata(&job.path) else { return Ok(()) };
        if !meta.is_file() {
            return Ok(());
        }
        if job.doc_name.is_empty() {
            // Refused before it had a name (the file was missing then).
            if let Ok(name) = self.name_for(&job.path) {
                self.journal.rename(job.id, &name)?;
            }
        }
        self.journal.refresh_identity(job.id, &crate::source::Identity::of(&meta))
    }
}

struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests;
