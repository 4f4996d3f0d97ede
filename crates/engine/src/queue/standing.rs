//! What a window that opens on this queue should see at once: every job that has not ended
//! well, from the journal. A user who switches accounts and comes back, or restarts the app,
//! finds the failures still there to retry or remove, and the files still waiting.

use super::{added, Queue, QueueEvent};
use crate::error::Result;
use crate::journal::JobState;

/// The most jobs told at once: the newest of them (a window lists this many easily; older
/// ones are still in `twindrop status` and a "Retry failed").
const STANDING_MOST: usize = 10_000;

impl Queue {
    /// For each job of this server that is waiting, moving, paused or failed: its `Added`, and
    /// where it stands when that is not simply "queued".
    pub fn standing(&self) -> Result<Vec<QueueEvent>> {
        let states = [
            JobState::Queued,
            JobState::Uploading,
            JobState::Attaching,
            JobState::Verifying,
            JobState::Paused,
            JobState::Failed,
        ];
        // Oldest first (`Journal::list` orders by id): the newest are at its end.
        let jobs = self.journal.list(Some(self.base_url()), &states)?;
        let newest = &jobs[jobs.len().saturating_sub(STANDING_MOST)..];
        let mut events = Vec::with_capacity(newest.len() * 2);
        for job in newest {
            events.push(added(job));
            if let Some(settled) = job.settled_event() {
                events.push(settled);
            }
        }
        Ok(events)
    }
}
