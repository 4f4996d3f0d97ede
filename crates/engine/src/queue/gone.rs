//! A failed job whose file is gone (`file.not_found`): Retry would fail the same way, so the
//! person either removes the job, or locates the file and sends it from its new place.

use std::path::Path;

use super::{EventSink, Queue, QueueEvent};
use crate::error::{Error, Result};
use crate::journal::{Job, JobState};

impl Queue {
    /// Forget a failed job: it is never retried (not by Retry failed, `twindrop retry` or a
    /// restart) and no list of failures shows it again. `false` when the job is not failed.
    /// Listeners hear it `cancelled`.
    pub fn remove_failed(&self, id: u64, sink: &EventSink) -> Result<bool> {
        let sink = &self.tap(sink);
        let job = self.journal.get(id)?;
        if job.state != JobState::Failed {
            return Ok(false);
        }
        refuse_in_doubt(&job, "removed")?;
        let removed = self.journal.forget_failed(id)?;
        if removed {
            sink(QueueEvent::State { id, state: JobState::Cancelled });
        }
        Ok(removed)
    }

    /// Point a failed job at the file's new place and queue it again. The file at `path` is read
    /// now (its device, inode, size and mtime, as a new job's would be); the Doc keeps the job's
    /// name. `false` when the job is not failed. Listeners hear it `queued`, then `added` again
    /// (its new path and size).
    pub fn locate(&self, id: u64, path: &Path, sink: &EventSink) -> Result<bool> {
        let sink = &self.tap(sink);
        let job = self.journal.get(id)?;
        if job.state != JobState::Failed {
            return Ok(false);
        }
        refuse_in_doubt(&job, "pointed at another file")?;
        let path = std::path::absolute(path).map_err(|e| Error::file(path, e))?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::file(&path, e))?;
        if !meta.is_file() {
            return Err(Error::NotAFile { path });
        }
        if job.doc_name.is_empty() {
            // Refused before it had a name (the file was missing then): the name its first place
            // gives, as it would have had.
            let name = self.name_for(&job.path).or_else(|_| self.name_for(&path))?;
            self.journal.rename(id, &name)?;
        }
        let moved = self.journal.repoint(id, &path, &crate::source::Identity::of(&meta))?;
        if moved {
            // Queued again (as a retry is: no longer a failure of its batch), then said as the
            // job it now is (its new path and size).
            sink(QueueEvent::State { id, state: JobState::Queued });
            sink(super::added(&self.journal.get(id)?));
            self.control.wake.notify_waiters();
        }
        Ok(moved)
    }
}

/// A job whose attach may have reached the server is left to Retry failed (or a restart),
/// which reads its Doc back first: that Doc may exist.
fn refuse_in_doubt(job: &Job, what: &str) -> Result<()> {
    match job.attach_sent {
        true => Err(Error::RetryRefused(format!(
            "the attach of {:?} may have reached the server, so it cannot be {what}; Retry failed (or a restart) \
             reads it back first",
            job.doc_name
        ))),
        false => Ok(()),
    }
}
