//! Which listener hears which job. Each drop brings its own sink for its jobs; the window's
//! sink (`App::watch_events`) hears the queue's `stats` and every job that has no sink of its
//! own (a failed job put back in the queue, a Doc sent again, a job from an earlier run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::journal::JobState;
use crate::queue::{EventSink, QueueEvent};

#[derive(Clone, Default)]
pub struct Routes {
    jobs: Arc<Mutex<HashMap<u64, EventSink>>>,
    window: Arc<Mutex<Option<EventSink>>>,
}

impl Routes {
    /// This job's events go to `sink` until its final one.
    pub fn route(&self, id: u64, sink: EventSink) {
        self.jobs.lock().expect("routes").insert(id, sink);
    }

    /// The window's sink, replacing any earlier one (a reloaded window).
    pub fn watch(&self, sink: EventSink) {
        *self.window.lock().expect("routes") = Some(sink);
    }

    fn window(&self) -> Option<EventSink> {
        self.window.lock().expect("routes").clone()
    }

    /// Deliver one event: a job's to the sink of the drop that queued it, the rest to the
    /// window's.
    pub fn deliver(&self, event: QueueEvent) {
        let sink = match event.job_id() {
            None => self.window(),
            Some(id) => {
                // A job's final event is its last: its route goes, and when a drop's last job is
                // done its sink is released (the window's catch-up covers anything said
                // afterwards, and a job that moves again is heard on the window's sink).
                let last = matches!(
                    event,
                    QueueEvent::Finished { .. } | QueueEvent::Failed { .. } | QueueEvent::Skipped { .. }
                ) || matches!(event, QueueEvent::State { state: JobState::Cancelled, .. });
                let own = {
                    let mut jobs = self.jobs.lock().expect("routes");
                    if last {
                        jobs.remove(&id)
                    } else {
                        jobs.get(&id).cloned()
                    }
                };
                own.or_else(|| self.window())
            }
        };
        if let Some(sink) = sink {
            sink(event);
        }
    }

    /// The sink of one drop: each job is routed to `events` as it is added (before any worker
    /// can claim it), and everything goes on through `deliver`.
    pub fn for_drop(&self, events: EventSink, deliver: EventSink) -> EventSink {
        let routes = self.clone();
        Arc::new(move |event: QueueEvent| {
            if let QueueEvent::Added { id, .. } = &event {
                routes.route(*id, events.clone());
            }
            deliver(event);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorInfo;

    /// A sink that keeps what it is sent (the `type` and `id` of each event).
    fn recorder() -> (EventSink, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let keep = seen.clone();
        let sink: EventSink = Arc::new(move |event: QueueEvent| {
            let v = serde_json::to_value(&event).unwrap();
            keep.lock().unwrap().push(format!("{} {}", v["type"].as_str().unwrap(), v["id"]));
        });
        (sink, seen)
    }

    /// A drop's jobs go to the drop's sink until their final event; the queue's stats, and a
    /// job after its final event (put back in the queue), go to the window's sink.
    #[test]
    fn events_go_to_their_drop_and_the_rest_to_the_window() {
        let routes = Routes::default();
        let stats = || QueueEvent::Stats {
            bytes_per_sec: 1.0,
            files_per_sec: 0.0,
            eta_secs: None,
            bytes_done: 0,
            bytes_total: 0,
            files_done: 0,
            files_failed: 0,
            files_total: 0,
            active: 1,
        };
        routes.deliver(stats()); // nobody listens yet: dropped quietly
        let (window, window_seen) = recorder();
        let (drop, drop_seen) = recorder();
        routes.watch(window);
        routes.route(7, drop);
        routes.deliver(QueueEvent::State { id: 7, state: JobState::Paused });
        routes.deliver(stats());
        let error = ErrorInfo { code: "x.y".into(), message: "m".into(), retryable: false };
        routes.deliver(QueueEvent::Failed { id: 7, error });
        routes.deliver(QueueEvent::State { id: 7, state: JobState::Queued });
        routes.deliver(QueueEvent::State { id: 8, state: JobState::Queued });
        assert_eq!(*drop_seen.lock().unwrap(), ["state 7", "failed 7"]);
        assert_eq!(*window_seen.lock().unwrap(), ["stats null", "state 7", "state 8"]);
    }
}
