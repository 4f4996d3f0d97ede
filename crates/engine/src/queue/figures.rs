//! The queue's side of its batch's figures: every sink that comes in is tapped, so one
//! [`Aggregate`](crate::progress::Aggregate) hears every event; `Stats` go out on a tick and
//! as a file ends.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{Control, EventSink, Queue, QueueEvent};

/// The queue's figures go out this often while it runs…
const STATS_EVERY: Duration = Duration::from_millis(500);
/// …and also when a file ends, but not more often than this (10,000 small files end in seconds).
const STATS_SOONEST: Duration = Duration::from_millis(100);

impl Control {
    fn stats_due(&self) -> bool {
        let now = tokio::time::Instant::now();
        let mut sent = self.stats_sent.lock().expect("stats");
        let due = sent.is_none_or(|at| now.duration_since(at) >= STATS_SOONEST);
        if due {
            *sent = Some(now);
        }
        due
    }
}

impl Queue {
    /// `sink`, with every event also told to the batch's figures. Each way in that sends
    /// events taps its sink once, so the figures hear what the window hears.
    pub(super) fn tap(&self, sink: &EventSink) -> EventSink {
        let (me, sink) = (self.me.clone(), sink.clone());
        Arc::new(move |event: QueueEvent| {
            let Some(queue) = me.upgrade() else { return sink(event) };
            let ends =
                matches!(event, QueueEvent::Finished { .. } | QueueEvent::Failed { .. } | QueueEvent::Skipped { .. });
            queue.control.batch.lock().expect("batch").observe(&event);
            sink(event);
            // A file's end shows in the header with its row, not up to a tick later.
            if ends && queue.control.stats_due() {
                sink(queue.stats_event());
            }
        })
    }

    /// "Clear finished": the ended jobs leave the batch's figures.
    pub fn clear_finished(&self) {
        self.control.batch.lock().expect("batch").clear_finished();
    }

    /// The whole queue's figures, from its batch.
    pub(super) fn stats_event(&self) -> QueueEvent {
        let limit = self.opts.bwlimit.as_ref().and_then(|l| l.limit_now());
        let paused = self.control.paused.load(Ordering::SeqCst);
        let f = self.control.batch.lock().expect("batch").figures(tokio::time::Instant::now(), limit, paused);
        QueueEvent::Stats {
            bytes_per_sec: f.bytes_per_sec,
            files_per_sec: f.files_per_sec,
            eta_secs: f.eta_secs,
            bytes_done: f.bytes_done,
            bytes_total: f.bytes_total,
            files_done: f.files_done,
            files_failed: f.files_failed,
            files_total: f.files_total,
            active: self.control.in_pipeline.load(Ordering::SeqCst),
        }
    }

    /// The figures at a tick, after which a batch with nothing left to go has ended.
    pub(super) fn tick_stats(&self) -> QueueEvent {
        let stats = self.stats_event();
        self.control.batch.lock().expect("batch").end_if_settled();
        stats
    }

    pub(super) async fn report_stats(self: Arc<Self>, sink: EventSink) {
        let mut tick = tokio::time::interval(STATS_EVERY);
        loop {
            tick.tick().await;
            sink(self.tick_stats());
        }
    }
}
