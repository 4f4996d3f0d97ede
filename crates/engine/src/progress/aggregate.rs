//! The batch the queue is working through, as one model fed by the queue's own events: what
//! the header, the rows and the tray all read (through [`QueueEvent::Stats`]), so no two
//! places count on their own and contradict each other.
//!
//! A batch begins with the first job added once the last one was seen to end (by the queue's
//! tick, [`Aggregate::end_if_settled`]) and lasts until every job of it has ended; "Clear finished"
//! takes its ended jobs out. Jobs that end as they are added (skipped as already there) do not
//! end their batch on their own. Paused and cancelled jobs leave the
//! plan (their bytes are not "to go"), a retried one comes back. The speed is an exponential
//! moving average of the bytes that moved, never above the bandwidth limit in force, and the
//! time left is what remains of the whole batch over that speed ([`super::time_left`]).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::Throughput;
use crate::doc::DocStatus;
use crate::journal::JobState;
use crate::queue::{QueueEvent, Stage};

/// How quickly old samples fade from the speed: long enough that one slow request does not
/// swing the time left, short enough that a new bandwidth limit shows within seconds.
pub const SPEED_WINDOW: Duration = Duration::from_secs(3);

/// A job the batch still counts on: its size and the bytes of it that have moved.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    size: u64,
    done: u64,
}

/// The figures of a batch at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    pub bytes_per_sec: f64,
    pub files_per_sec: f64,
    pub eta_secs: Option<f64>,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Ended well: finished `ok` on the server, or skipped as already there.
    pub files_done: u64,
    pub files_failed: u64,
    pub files_total: u64,
}

pub struct Aggregate {
    pending: HashMap<u64, Pending>,
    /// Held by the user (paused): out of the plan until resumed.
    held: HashMap<u64, u64>,
    /// Failed, with their sizes, so a retry puts them back (kept across batches).
    failed: HashMap<u64, u64>,
    /// Jobs the journal had queued when the queue started, not yet heard of one by one.
    unseen_files: u64,
    unseen_bytes: u64,
    files_done: u64,
    bytes_done: u64,
    files_failed: u64,
    /// Every byte and every ended file ever, for the rates (a rewound upload must not make
    /// them go backwards).
    moved_ever: u64,
    ended_ever: u64,
    /// The last reading found nothing left to go: the next job added starts a new batch.
    ended: bool,
    bytes: Throughput,
    files: Throughput,
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate {
            pending: HashMap::new(),
            held: HashMap::new(),
            failed: HashMap::new(),
            unseen_files: 0,
            unseen_bytes: 0,
            files_done: 0,
            bytes_done: 0,
            files_failed: 0,
            moved_ever: 0,
            ended_ever: 0,
            ended: false,
            bytes: Throughput::new(SPEED_WINDOW),
            files: Throughput::new(SPEED_WINDOW),
        }
    }
}

impl Aggregate {
    /// Nothing of it is left to go.
    pub fn settled(&self) -> bool {
        self.pending.is_empty() && self.unseen_files == 0
    }

    /// The jobs the journal holds queued when the queue starts (those already heard of
    /// through their `Added` are not counted twice).
    pub fn seed(&mut self, queued_files: u64, queued_bytes: u64) {
        let known_bytes: u64 = self.pending.values().map(|p| p.size).sum();
        self.unseen_files = queued_files.saturating_sub(self.pending.len() as u64);
        self.unseen_bytes = queued_bytes.saturating_sub(known_bytes);
    }

    /// "Clear finished": the ended jobs leave the batch (a failed one can still be retried).
    pub fn clear_finished(&mut self) {
        self.files_done = 0;
        self.bytes_done = 0;
        self.files_failed = 0;
    }

    pub fn observe(&mut self, event: &QueueEvent) {
        use QueueEvent::*;
        match *event {
            Added { id, size, .. } => {
                self.begin_if_ended();
                self.failed.remove(&id);
                self.held.remove(&id);
                self.pending.insert(id, Pending { size: size.unwrap_or(0), done: 0 });
            }
            Progress { id, stage, bytes_done, bytes_total } => {
                let p = self.pending_or_adopt(id, bytes_total);
                p.size = bytes_total;
                let done = match stage {
                    Stage::Uploading => bytes_done.min(bytes_total),
                    Stage::Attaching | Stage::Verifying => bytes_total,
                };
                // A resumed or restarted upload may step back: the rate only counts forwards.
                let forward = done.saturating_sub(p.done);
                p.done = done;
                self.moved_ever += forward;
            }
            // Done is what the server holds as sent: a copy that ended hash_mismatch, error or
            // unverified is a failure the user has to deal with, as its row says.
            Finished { id, ref status, .. } if *status != DocStatus::Ok => self.fail(id),
            Finished { id, .. } | Skipped { id, .. } => {
                let p = self.pending.remove(&id).or_else(|| self.adopt_unseen(0)).unwrap_or_default();
                self.files_done += 1;
                self.bytes_done += p.size;
                self.ended_ever += 1;
            }
            Failed { id, .. } => self.fail(id),
            State { id, state } => self.state(id, state),
            Renamed { .. } | Retrying { .. } | Stats { .. } => {}
        }
    }

    fn fail(&mut self, id: u64) {
        let p = self.pending.remove(&id).or_else(|| self.adopt_unseen(0)).unwrap_or_default();
        self.files_failed += 1;
        self.ended_ever += 1;
        self.failed.insert(id, p.size);
    }

    fn state(&mut self, id: u64, state: JobState) {
        match state {
            JobState::Queued => {
                if let Some(size) = self.failed.remove(&id) {
                    // Retried: back in the plan, and no longer a failure of this batch.
                    if !self.begin_if_ended() {
                        self.files_failed = self.files_failed.saturating_sub(1);
                    }
                    self.pending.insert(id, Pending { size, done: 0 });
                } else if let Some(size) = self.held.remove(&id) {
                    self.pending.insert(id, Pending { size, done: 0 });
                } else if let Some(p) = self.pending.get_mut(&id) {
                    // Its upload stopped (pause all): it starts again from what the server has.
                    p.done = 0;
                }
            }
            JobState::Paused => {
                if let Some(p) = self.pending.remove(&id) {
                    self.held.insert(id, p.size);
                }
            }
            JobState::Cancelled => {
                self.pending.remove(&id);
                self.held.remove(&id);
                // A failure removed by the user is no longer one, nor one of the batch's files.
                if self.failed.remove(&id).is_some() {
                    self.files_failed = self.files_failed.saturating_sub(1);
                }
            }
            _ => {}
        }
    }

    /// The queue's tick: a batch with nothing left to go has ended, and the next job added
    /// starts a new one (a job that ends between two ticks does not end its batch by itself).
    pub fn end_if_settled(&mut self) {
        self.ended = self.settled();
    }

    /// A new batch, if the last one was seen to end; whether it began.
    fn begin_if_ended(&mut self) -> bool {
        let ended = std::mem::take(&mut self.ended);
        if ended {
            self.clear_finished();
        }
        ended
    }

    /// A job heard of first by its progress: one the journal had queued when the queue started.
    fn pending_or_adopt(&mut self, id: u64, size: u64) -> &mut Pending {
        if !self.pending.contains_key(&id) {
            let p = self.adopt_unseen(size).unwrap_or(Pending { size, done: 0 });
            self.pending.insert(id, p);
        }
        self.pending.get_mut(&id).expect("just inserted")
    }

    fn adopt_unseen(&mut self, size: u64) -> Option<Pending> {
        if self.unseen_files == 0 {
            return None;
        }
        self.unseen_files -= 1;
        self.unseen_bytes = self.unseen_bytes.saturating_sub(size);
        Some(Pending { size, done: 0 })
    }

    /// The figures now. `limit` is the bandwidth limit in force (bytes/s): no speed is shown
    /// above it, and the time left is reckoned at the speed shown. A paused queue moves
    /// nothing and has no time left.
    pub fn figures(&mut self, now: Instant, limit: Option<u64>, paused: bool) -> Figures {
        let mut bytes_per_sec = self.bytes.sample_at(now, self.moved_ever);
        let files_per_sec = self.files.sample_at(now, self.ended_ever);
        if let Some(limit) = limit {
            bytes_per_sec = bytes_per_sec.min(limit as f64);
            self.bytes.cap(limit as f64);
        }
        // One pass over what is still to go (100,000 queued files are read each tick).
        let (moving, planned) = self.pending.values().fold((0, 0), |(done, size), p| (done + p.done, size + p.size));
        let bytes_done = self.bytes_done + moving;
        let bytes_total = self.bytes_done + planned + self.unseen_bytes;
        let files_left = self.pending.len() as u64 + self.unseen_files;
        let eta_secs = match paused {
            true => None,
            false => super::time_left(&self.bytes, &self.files, bytes_total - bytes_done, files_left),
        };
        Figures {
            bytes_per_sec: if paused { 0.0 } else { bytes_per_sec },
            files_per_sec: if paused { 0.0 } else { files_per_sec },
            eta_secs,
            bytes_done,
            bytes_total,
            files_done: self.files_done,
            files_failed: self.files_failed,
            files_total: self.files_done + self.files_failed + files_left,
        }
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
