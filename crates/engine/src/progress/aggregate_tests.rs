//! Scripted sequences of queue events, with the clock in the script's hands: the figures the
//! header, the rows and the tray would show at each step.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::doc::DocStatus;
use crate::error::{Error, ErrorInfo};

const MB: u64 = 1_000_000;

fn added(id: u64, size: u64) -> QueueEvent {
    QueueEvent::Added { id, path: format!("/f/{id}"), file_name: format!("{id}"), doc_name: None, size: Some(size) }
}

fn sent(id: u64, done: u64, total: u64) -> QueueEvent {
    QueueEvent::Progress { id, stage: Stage::Uploading, bytes_done: done, bytes_total: total }
}

fn finished(id: u64) -> QueueEvent {
    QueueEvent::Finished { id, doc_name: format!("{id}"), status: DocStatus::Ok, sha256: String::new() }
}

fn failed(id: u64) -> QueueEvent {
    let error: ErrorInfo = Error::Timeout("http://x/".into()).info();
    QueueEvent::Failed { id, error }
}

fn state(id: u64, state: JobState) -> QueueEvent {
    QueueEvent::State { id, state }
}

/// A batch and a clock that only moves when the script says so.
struct Script {
    batch: Aggregate,
    now: Instant,
}

impl Script {
    fn new() -> Self {
        Script { batch: Aggregate::default(), now: Instant::now() }
    }
    fn feed(&mut self, events: impl IntoIterator<Item = QueueEvent>) {
        for e in events {
            self.batch.observe(&e);
        }
    }
    /// Half a second passes (the queue's tick), then the figures are read.
    fn tick(&mut self, limit: Option<u64>) -> Figures {
        self.now += Duration::from_millis(500);
        let figures = self.batch.figures(self.now, limit, false);
        self.batch.end_if_settled();
        figures
    }
}

fn near(actual: f64, expected: f64, within: f64) -> bool {
    (actual - expected).abs() <= expected.abs() * within
}

#[test]
fn one_file_counts_its_bytes_and_its_time_left_falls_with_them() {
    let mut s = Script::new();
    s.feed([added(1, 20 * MB)]);
    let f = s.tick(None);
    assert_eq!((f.bytes_done, f.bytes_total, f.files_done, f.files_total), (0, 20 * MB, 0, 1));
    assert_eq!(f.eta_secs, None, "nothing has moved yet: no time left to say");
    // 1 MB/s: half a megabyte a tick.
    let mut last_eta = f64::MAX;
    for tick in 1..=30u64 {
        s.feed([sent(1, tick * MB / 2, 20 * MB)]);
        let f = s.tick(None);
        assert_eq!(f.bytes_done, tick * MB / 2);
        if tick >= 16 {
            // After a few time constants the speed is the link's, and so is the time left.
            assert!(near(f.bytes_per_sec, 1e6, 0.02), "tick {tick}: {f:?}");
            let left = (20 * MB - tick * MB / 2) as f64 / 1e6;
            assert!(near(f.eta_secs.unwrap(), left, 0.03), "tick {tick}: {f:?}");
        }
        if let Some(eta) = f.eta_secs {
            assert!(eta < last_eta, "the time left only falls at a steady speed: {f:?}");
            last_eta = eta;
        }
    }
    s.feed([sent(1, 20 * MB, 20 * MB), finished(1)]);
    let f = s.tick(None);
    assert_eq!((f.bytes_done, f.bytes_total, f.files_done, f.files_total), (20 * MB, 20 * MB, 1, 1));
    assert_eq!(f.eta_secs, Some(0.0));
}

#[test]
fn many_small_files_count_down_by_files_and_the_time_left_keeps_falling() {
    // 1,000 files of 2 kB, 25 of them ending each half second (50 files/s): 20 s in all.
    let mut s = Script::new();
    s.feed((1..=1000).map(|id| added(id, 2_000)));
    let mut next = 1;
    for tick in 1..=36u64 {
        for _ in 0..25 {
            s.feed([sent(next, 2_000, 2_000), finished(next)]);
            next += 1;
        }
        let f = s.tick(None);
        assert_eq!(f.files_done, tick * 25);
        assert_eq!(f.files_total, 1000);
        assert_eq!(f.bytes_done, tick * 25 * 2_000);
        if tick >= 12 {
            assert!(near(f.files_per_sec, 50.0, 0.03), "tick {tick}: {f:?}");
            // The time left is what is left at the rate the files go: it must not stall at
            // one figure while the files go by (the 0:27 that stayed for most of a run).
            let left = (1000 - tick * 25) as f64 / 50.0;
            assert!(near(f.eta_secs.unwrap(), left, 0.05), "tick {tick}: {:?} vs {left}", f.eta_secs);
        }
    }
}

#[test]
fn a_limited_rate_is_never_shown_above_the_limit() {
    // 200 kB/s, but the limiter lets a whole 256 kB chunk through at once and then makes the
    // next one wait: bursts well above the limit between quiet ticks.
    let limit = 200_000;
    let mut s = Script::new();
    s.feed([added(1, 10 * MB)]);
    let mut done = 0;
    for tick in 1..=40u64 {
        if tick % 3 != 0 {
            done += 256_000;
        }
        s.feed([sent(1, done, 10 * MB)]);
        let f = s.tick(Some(limit));
        assert!(f.bytes_per_sec <= limit as f64, "tick {tick}: {f:?}");
        if let Some(eta) = f.eta_secs {
            let at_the_limit = (10 * MB - done) as f64 / limit as f64;
            assert!(
                eta >= at_the_limit * 0.999,
                "tick {tick}: {eta} s is faster than the limit allows ({at_the_limit} s)"
            );
        }
    }
    // Without a limit, the same bursts read higher: the cap is what held them.
    let mut free = Script::new();
    free.feed([added(1, 10 * MB), sent(1, 0, 10 * MB)]);
    free.tick(None);
    free.feed([sent(1, 1_000_000, 10 * MB)]);
    assert!(free.tick(None).bytes_per_sec > limit as f64);
}

#[test]
fn a_paused_queue_moves_nothing_and_paused_files_leave_the_plan() {
    let mut s = Script::new();
    s.feed([added(1, 4 * MB), added(2, 6 * MB), sent(1, 2 * MB, 4 * MB)]);
    s.tick(None);
    // The whole queue paused: no speed, no time left, the counts stay.
    let f = s.batch.figures(s.now + Duration::from_millis(500), None, true);
    assert_eq!((f.bytes_per_sec, f.eta_secs), (0.0, None));
    assert_eq!((f.files_total, f.bytes_total), (2, 10 * MB));
    // One file held: its bytes are no longer counted as to go.
    s.feed([state(2, JobState::Paused)]);
    let f = s.tick(None);
    assert_eq!((f.files_total, f.bytes_total, f.bytes_done), (1, 4 * MB, 2 * MB));
    // Pause all stops the upload in flight: it starts over from what the server has.
    s.feed([state(1, JobState::Queued)]);
    assert_eq!(s.tick(None).bytes_done, 0);
    // Resumed: back in the plan.
    s.feed([state(2, JobState::Queued)]);
    let f = s.tick(None);
    assert_eq!((f.files_total, f.bytes_total), (2, 10 * MB));
    // Cancelled: gone from it for good.
    s.feed([state(2, JobState::Cancelled)]);
    assert_eq!(s.tick(None).bytes_total, 4 * MB);
}

#[test]
fn clear_finished_and_a_new_batch_count_only_their_own_files() {
    let mut s = Script::new();
    // Batch one: 2.1 MB in three files, one of them failing.
    s.feed([added(1, MB), added(2, MB), added(3, 100_000)]);
    s.feed([sent(1, MB, MB), finished(1), sent(2, MB, MB), finished(2), failed(3)]);
    let f = s.tick(None);
    assert_eq!((f.files_done, f.files_failed, f.files_total), (2, 1, 3));
    assert_eq!((f.bytes_done, f.bytes_total), (2 * MB, 2 * MB), "a failed file's bytes are not still to go");
    // "Clear finished": nothing is left of it.
    s.batch.clear_finished();
    let f = s.tick(None);
    assert_eq!((f.bytes_done, f.bytes_total, f.files_done, f.files_failed, f.files_total), (0, 0, 0, 0, 0));
    // Batch two: 5.6 MB in two files is 5.6 MB, not 5.6 MB plus what went before.
    s.feed([added(4, 2_600_000), added(5, 3_000_000), sent(4, 2_300_000, 2_600_000)]);
    let f = s.tick(None);
    assert_eq!((f.bytes_done, f.bytes_total, f.files_total), (2_300_000, 5_600_000, 2));
    s.feed([sent(4, 2_600_000, 2_600_000), finished(4), sent(5, 3_000_000, 3_000_000), finished(5)]);
    assert_eq!(s.tick(None).files_done, 2);
    // Batch three, without a clear: a batch seen to end gives way to the next one by itself.
    s.feed([added(6, 500)]);
    let f = s.tick(None);
    assert_eq!((f.files_done, f.files_total, f.bytes_done, f.bytes_total), (0, 1, 0, 500));
    // The failure of batch one, retried: back in the plan, as this batch's.
    s.feed([state(3, JobState::Queued)]);
    let f = s.tick(None);
    assert_eq!((f.files_total, f.bytes_total, f.files_failed), (2, 100_500, 0));
}

#[test]
fn jobs_queued_before_the_start_are_counted_once() {
    let mut s = Script::new();
    // One heard of through its Added before the queue ran, two more only in the journal.
    s.feed([added(1, 1_000)]);
    s.batch.seed(3, 6_000);
    let f = s.tick(None);
    assert_eq!((f.files_total, f.bytes_total), (3, 6_000));
    // An unseen one shows up by its progress and ends; the count does not grow.
    s.feed([sent(9, 2_000, 2_000), finished(9)]);
    let f = s.tick(None);
    assert_eq!((f.files_done, f.files_total, f.bytes_done), (1, 3, 2_000));
}

#[test]
fn files_skipped_as_they_are_added_are_one_batch() {
    // Five files already on the server: each is added and skipped at once, one after another,
    // and the five make one batch ("Done · 5 of 5"), not five batches of one.
    let mut s = Script::new();
    s.feed([added(1, 10), finished(1)]);
    s.tick(None);
    let skipped = |id: u64| QueueEvent::Skipped { id, doc_name: format!("{id}"), reason: "unchanged".into() };
    s.feed((2..=6).flat_map(|id| [added(id, 100), skipped(id)]));
    let f = s.tick(None);
    assert_eq!((f.files_done, f.files_total, f.bytes_done, f.bytes_total), (5, 5, 500, 500));
}

#[test]
fn a_failure_removed_leaves_the_batch() {
    let mut s = Script::new();
    s.feed([added(1, 100), added(2, 200), sent(1, 100, 100), finished(1), failed(2)]);
    let f = s.tick(None);
    assert_eq!((f.files_done, f.files_failed, f.files_total), (1, 1, 2));
    // "Remove" on the failed row: it was never this batch's to count.
    s.feed([state(2, JobState::Cancelled)]);
    let f = s.tick(None);
    assert_eq!((f.files_done, f.files_failed, f.files_total, f.bytes_total), (1, 0, 1, 100));
}

#[test]
fn a_copy_that_did_not_end_ok_is_a_failure_not_done() {
    // The server's word decides: a hash_mismatch or an unverified copy is not "done".
    let mut s = Script::new();
    s.feed([added(1, 100), added(2, 100), added(3, 100)]);
    let ended = |id: u64, status: DocStatus| QueueEvent::Finished {
        id,
        doc_name: format!("{id}"),
        status,
        sha256: String::new(),
    };
    s.feed([
        sent(1, 100, 100),
        ended(1, DocStatus::Ok),
        ended(2, DocStatus::HashMismatch),
        ended(3, DocStatus::Unverified),
    ]);
    let f = s.tick(None);
    assert_eq!((f.files_done, f.files_failed, f.files_total), (1, 2, 3));
}
