//! How a file reaches a Twin, as the queue drives it ([`UploadApi`]): an upload URL from
//! `POST /cache` (reused while it is live), one PUT, then the attach in batches (one
//! `attach_twin_doc` call takes many), then the Doc's copy polled until it ends ([`Copies`]).
//!
//! Before a job whose attach may already have happened is attached again, its Doc is read:
//! present with our hash means done; present with other content is a conflict. A Doc is
//! replaced only when Twindrop can show it is this file's own (`journal::docs`), or the job
//! says `replace`.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{AttachItem, TrustedTwin, TwinId, UploadTarget};
use crate::destination::Destination;
use crate::doc::{ConflictPolicy, DocStatus};
use crate::error::{Error, Invalid, Result};
use crate::journal::{Job, JobState};
use crate::naming::DocName;
use crate::service::holdings::{Algorithm, Digest, Held};
use crate::service::upload_api::{
    live, remember, Copies, FinishCx, Finishing, Holdings, Listing, NameRules, Outcome, Prepared, Round, SendCx,
    UploadApi, CONFLICT_SKIP, RENAME_TRIES,
};
use crate::transfer::Sent;

/// Uploads of one job that the server may answer "No Doc uploaded" before the job fails: a
/// handler that expired or lost its bytes deserves a fresh one, but an empty file that the
/// service reads as "no file" would otherwise be sent forever.
const NOT_UPLOADED_TRIES: u32 = 3;

/// Whose a Doc found under the job's name with the job's hash may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// The job's own attach may have made it (it was sent, the answer lost): Twindrop's.
    MaybeOurs,
    /// The server said it existed before this attach: someone else's, whatever it holds.
    NotOurs,
}

fn same_hash(ours: Option<&str>, theirs: Option<&str>) -> bool {
    matches!((ours, theirs), (Some(a), Some(b)) if !a.is_empty() && a.eq_ignore_ascii_case(b))
}

impl UploadApi for TrustedTwin {
    fn target<'a>(&'a self, job: &'a mut Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Prepared>> {
        async move {
            if job.upload_url.is_none() || job.upload_id.is_none() || !live(job.url_valid_until) {
                let t = self.create_upload_url().await?;
                remember(cx.journal, job, &t.handler, &t.url, t.validity_ts, None, None)?;
            }
            Ok(Prepared::Send { signed_for: None })
        }
        .boxed()
    }

    fn send<'a>(&'a self, job: &'a Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Sent>> {
        async move {
            let target = UploadTarget {
                url: job.upload_url.clone().unwrap_or_default(),
                handler: job.upload_id.clone().unwrap_or_default(),
                validity_ts: job.url_valid_until.unwrap_or_default(),
            };
            self.upload(&target, &job.path, cx.progress.clone(), cx.bwlimit.clone()).await
        }
        .boxed()
    }

    fn finishing(&self) -> Option<&dyn Finishing> {
        Some(self)
    }

    fn names(&self) -> NameRules {
        NameRules::DocName
    }

    fn listing(&self) -> Option<&dyn Listing> {
        Some(self)
    }

    fn holdings(&self) -> std::result::Result<&dyn Holdings, &'static str> {
        Ok(self)
    }
}

impl Holdings for TrustedTwin {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Sha256
    }

    fn held<'a>(&'a self, dest: &'a Destination) -> BoxFuture<'a, Result<Vec<Held>>> {
        async move {
            let twin = dest.twin()?;
            let names = match self.list_docs(twin).await {
                Err(Error::NotFound(_)) => return Err(Error::TwinNotFound(twin.to_string())),
                other => other?,
            };
            self.read_docs(twin, names.into_keys(), |name, doc| {
                let cert = doc.creation_certificate.as_ref();
                Held {
                    name,
                    size: cert.and_then(|c| c.size),
                    digest: cert.and_then(|c| c.hash.as_deref()).map(|h| Digest::Sha256(h.to_ascii_lowercase())),
                    status: doc.status.clone(),
                    created_ts: cert.and_then(|c| c.created_ts),
                    updated_ts: doc.updated_ts,
                    certificate: cert.map(|c| {
                        serde_json::json!({"created_ts": c.created_ts, "creator": c.creator, "size": c.size, "hash": c.hash})
                    }),
                }
            })
            .await
        }
        .boxed()
    }
}

impl Listing for TrustedTwin {
    fn sizes<'a>(&'a self, dest: &'a Destination) -> BoxFuture<'a, Result<BTreeMap<String, u64>>> {
        async move { self.list_docs(dest.twin()?).await }.boxed()
    }
}

impl Finishing for TrustedTwin {
    fn max_batch(&self, cx: &FinishCx<'_>) -> usize {
        cx.batch.max(1)
    }

    fn send<'a>(&'a self, batch: Vec<Job>, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        self.attach_batch(batch, cx).boxed()
    }

    fn in_doubt<'a>(&'a self, job: Job, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        async move {
            let mut round = Round::default();
            let (job, outcome) = self.resolve(job, Found::MaybeOurs, cx).await;
            round.push(job, outcome);
            round
        }
        .boxed()
    }

    fn copies(&self) -> Option<&dyn Copies> {
        Some(self)
    }
}

impl Copies for TrustedTwin {
    fn status<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<DocStatus>> {
        async move { Ok(self.get_doc(job.destination.twin()?, &job.doc_name.doc_name()?).await?.status) }.boxed()
    }

    fn discard<'a>(
        &'a self,
        job: &'a Job,
        wait: std::time::Duration,
        cx: &'a FinishCx<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        async move {
            let twin = job.destination.twin()?.clone();
            let name = job.doc_name.doc_name()?;
            // Journal first: killed before the delete, the next run finds the bad Doc again by
            // reading it back (it carries our hash) and lands here once more.
            cx.journal.requeue_after(job.id, wait)?;
            match crate::retry::retry(cx.retry, || self.delete_doc(&twin, &name), |_, _| {}).await {
                Ok(()) | Err(Error::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            }
        }
        .boxed()
    }
}

impl TrustedTwin {
    /// Send one batch. Per-Doc outcomes are decided here; a request whose answer is lost
    /// leaves every job of it in doubt (`attach_sent` on record), to be read back.
    async fn attach_batch(&self, batch: Vec<Job>, cx: &FinishCx<'_>) -> Round {
        let mut round = Round::default();
        let Some(twin) = batch.first().map(|j| j.destination.clone()) else { return round };
        let twin_id = match twin.twin() {
            Ok(t) => t.clone(),
            Err(e) => return Round::failed(batch, e),
        };
        let mut items = Vec::with_capacity(batch.len());
        let mut ready = Vec::with_capacity(batch.len());
        for job in batch {
            match attach_item(&job) {
                Ok(item) => {
                    items.push(item);
                    ready.push(job);
                }
                Err(e) => round.push(job, Outcome::failed(e)),
            }
        }
        if ready.is_empty() {
            return round;
        }
        let ids: Vec<u64> = ready.iter().map(|j| j.id).collect();
        // Intent before effect: from here on, these attaches are in doubt until answered.
        if let Err(e) = cx.journal.mark_attach_sent(&ids) {
            round.extend(Round::failed(ready, e));
            return round;
        }
        for job in &mut ready {
            job.attach_sent = true;
        }
        let results = match self.attach_many(&twin_id, &items).await {
            Ok(results) => results,
            Err(e) if e.in_doubt() => {
                round.extend(Round::in_doubt(ready, e));
                return round;
            }
            // Refused outright (bad twin, no permission): nothing was attached.
            Err(e) => {
                round.extend(Round::failed(ready, e));
                return round;
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
        // One commit for the attached ones.
        let ids: Vec<u64> = attached.iter().map(|j| j.id).collect();
        match cx.journal.record_attached_many(&ids) {
            Ok(()) => attached.into_iter().for_each(|job| round.push(job, Outcome::Copying)),
            Err(e) => round.extend(Round::failed(attached, e)),
        }
        for (job, error) in others {
            let (job, outcome) = match error {
                Error::DocExists(_) => self.resolve(job, Found::NotOurs, cx).await,
                Error::NotUploaded(_) if job.attempts >= NOT_UPLOADED_TRIES => {
                    let error =
                        Error::NeverArrived { name: job.doc_name.to_string(), tries: job.attempts, size: job.size };
                    (job, Outcome::failed(error))
                }
                Error::NotUploaded(_) => {
                    // The handler expired (or its bytes were lost): upload again from the start.
                    let requeued = cx
                        .journal
                        .clear_attach_sent(job.id)
                        .and_then(|_| cx.journal.forget_target(job.id))
                        .and_then(|_| cx.journal.set_state(job.id, JobState::Queued));
                    match requeued {
                        Ok(()) => (job, Outcome::Requeued),
                        Err(e) => (job, Outcome::failed(e)),
                    }
                }
                e => (job, Outcome::failed(e)),
            };
            round.push(job, outcome);
        }
        round
    }

    /// Read the Doc of a job whose attach may have happened, and decide.
    async fn resolve(&self, mut job: Job, whose: Found, cx: &FinishCx<'_>) -> (Job, Outcome) {
        let outcome = self.resolve_inner(&mut job, whose, cx).await.unwrap_or_else(Outcome::failed);
        (job, outcome)
    }

    async fn read(&self, twin: &TwinId, name: &DocName, cx: &FinishCx<'_>) -> Result<super::Doc> {
        crate::retry::retry(cx.retry, || self.get_doc(twin, name), |_, _| {}).await
    }

    /// Replace the Doc at `name` (holding `old_sha256`) with this job's. The new bytes are
    /// already uploaded (the job is past its upload stage), and the intent is journaled before
    /// the delete: a process killed after the delete finds the job attaching and attaches it,
    /// so the name is never left with neither Doc.
    async fn replace(
        &self,
        job: &mut Job,
        twin: &TwinId,
        name: &DocName,
        old_sha256: &str,
        cx: &FinishCx<'_>,
    ) -> Result<Outcome> {
        cx.journal.record_replacing(job.id, old_sha256)?;
        job.replaces = Some(old_sha256.to_owned());
        match crate::retry::retry(cx.retry, || self.delete_doc(twin, name), |_, _| {}).await {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        cx.journal.clear_attach_sent(job.id)?;
        job.attach_sent = false;
        Ok(Outcome::Again)
    }

    async fn resolve_inner(&self, job: &mut Job, whose: Found, cx: &FinishCx<'_>) -> Result<Outcome> {
        let twin = job.destination.twin()?.clone();
        let name = job.doc_name.doc_name()?;
        // The hash of the Doc that holds the name now.
        let theirs = match self.read(&twin, &name, cx).await {
            Err(Error::NotFound(_)) => {
                cx.journal.clear_attach_sent(job.id)?;
                job.attach_sent = false;
                return Ok(Outcome::Again);
            }
            Err(e) => return Err(e),
            Ok(doc) if same_hash(job.sha256.as_deref(), doc.sha256()) => {
                cx.journal.record_found(job.id, whose == Found::MaybeOurs)?;
                return Ok(Outcome::Copying);
            }
            Ok(doc) => doc.sha256().unwrap_or_default().to_owned(),
        };
        // This file's own Doc, still as it was sent (or a replace of it decided before a
        // crash): the changed file takes its place.
        let ours = cx.journal.owned_doc(cx.base_url, &job.destination, name.as_str())?;
        let own = ours.is_some_and(|o| o.path == job.path && same_hash(Some(&o.sha256), Some(&theirs)));
        let decided = same_hash(job.replaces.as_deref(), Some(&theirs));
        if own || decided {
            return self.replace(job, &twin, &name, &theirs, cx).await;
        }
        // A different Doc holds the name, and Twindrop cannot show it is this file's to replace.
        match job.on_conflict {
            ConflictPolicy::Skip => Ok(Outcome::Skipped(format!("{CONFLICT_SKIP} {name} is already on the Twin"))),
            ConflictPolicy::Replace => self.replace(job, &twin, &name, &theirs, cx).await,
            ConflictPolicy::Rename => self.rename(job, &twin, &name, cx).await,
        }
    }

    /// Numbered from the name the file was first proposed (report-2.txt after report-1.txt,
    /// not report-1-1.txt): the first name neither another local file's nor a different Doc's.
    async fn rename(&self, job: &mut Job, twin: &TwinId, name: &DocName, cx: &FinishCx<'_>) -> Result<Outcome> {
        let proposed = cx.journal.proposed_name(cx.base_url, &job.destination, &job.path, name.as_str())?;
        let stem = match proposed.map(|p| DocName::parse(&p)) {
            Some(Ok(p)) => p,
            _ => name.clone(),
        };
        for n in 1..=RENAME_TRIES {
            let candidate = stem.with_suffix(n);
            if &candidate == name {
                continue;
            }
            // Another local file's name is not free, whatever the Twin holds now.
            if cx.journal.name_held_by_other(cx.base_url, &job.destination, candidate.as_str(), &job.path)? {
                continue;
            }
            let found = match self.read(twin, &candidate, cx).await {
                Err(Error::NotFound(_)) => None,
                Err(e) => return Err(e),
                Ok(doc) => Some(same_hash(job.sha256.as_deref(), doc.sha256())),
            };
            if found == Some(false) {
                continue;
            }
            // Recorded before the attach, so a crash resolves against the new name.
            cx.journal.rename(job.id, candidate.as_str())?;
            job.doc_name = candidate.clone().into();
            job.attach_sent = false;
            (cx.renamed)(job.id, candidate.as_str());
            if found == Some(true) {
                // Someone else's Doc with these very bytes: done, but not ours to replace.
                cx.journal.record_found(job.id, false)?;
                return Ok(Outcome::Copying);
            }
            return Ok(Outcome::Again);
        }
        Err(Error::AttachRejected {
            name: name.to_string(),
            message: format!("no free name after {RENAME_TRIES} tries"),
        })
    }
}

fn attach_item(job: &Job) -> Result<AttachItem> {
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
