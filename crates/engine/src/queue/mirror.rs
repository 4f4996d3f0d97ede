//! A mirrored folder's deletes. The Doc of a file that is gone is deleted only when the journal
//! shows that Twindrop made it from that very file and the server still holds the hash that
//! was sent: a Doc someone else made, or changed since, is never deleted. The caller (the
//! folder's syncer) has waited for the file to stay gone and journaled the intent first.

use std::path::Path;

use super::{EventSink, Queue, QueueEvent};
use crate::error::{Error, Result};
use crate::journal::{Job, JobState, OwnedDoc};
use crate::service::{Destination, Service};

/// How a pending delete ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forgotten {
    /// The Doc is gone (deleted now, or already).
    Deleted,
    /// The Doc stays, for this reason.
    Kept(String),
}

impl Queue {
    /// The job whose Doc is this file's own at `dest`: its latest, finished `ok`, and the Doc
    /// the journal says Twindrop made from it. `None` when the file has no such Doc.
    pub fn own_doc_job(&self, dest: &Destination, path: &Path) -> Result<Option<Job>> {
        let Some(job) = self.journal.latest_for_path(self.base_url(), dest, path)? else { return Ok(None) };
        if !job.is_ok() {
            return Ok(None);
        }
        Ok(self.owned_by(dest, &job)?.map(|_| job))
    }

    /// The journal's record of `job`'s Doc, if Twindrop made it from this job's file.
    fn owned_by(&self, dest: &Destination, job: &Job) -> Result<Option<OwnedDoc>> {
        let owned = self.journal.owned_doc(self.base_url(), dest, job.doc_name.as_str())?;
        Ok(owned.filter(|o| o.job_id == job.id && o.path == job.path))
    }

    /// Delete `job`'s Doc if it still holds what was sent; one try (the caller waits and
    /// tries again on an error, without holding up anything else).
    pub async fn delete_own_doc(&self, dest: &Destination, job: &Job, sink: &EventSink) -> Result<Forgotten> {
        let sink = &self.tap(sink);
        let kept = |reason: String| -> Result<Forgotten> {
            self.journal.drop_deletion(job.id)?;
            tracing::info!(job = job.id, "{}: its Doc {:?} stays: {reason}", job.path.display(), job.doc_name);
            sink(QueueEvent::Skipped { id: job.id, doc_name: job.doc_name.to_string(), reason: reason.clone() });
            Ok(Forgotten::Kept(reason))
        };
        let (Service::TrustedTwin(tt), Destination::Twin(twin)) = (&self.service, dest) else {
            return kept("deleted locally; this service cannot delete files".into());
        };
        // Looked at again: the journal may have changed since the file was found gone.
        let Some(owned) = self.owned_by(dest, job)? else {
            return kept("Twindrop did not make it from this file".into());
        };
        let name = job.doc_name.doc_name()?;
        match tt.get_doc(twin, &name).await {
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
            Ok(doc) if doc.sha256().is_some_and(|h| h.eq_ignore_ascii_case(&owned.sha256)) => {
                match tt.delete_doc(twin, &name).await {
                    Ok(()) | Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(_) => return kept("it changed on the server since this folder sent it".into()),
        }
        self.journal.forget_doc(job)?;
        tracing::info!(job = job.id, "{}: gone, so its Doc {:?} was deleted", job.path.display(), job.doc_name);
        sink(QueueEvent::State { id: job.id, state: JobState::Cancelled });
        Ok(Forgotten::Deleted)
    }
}
