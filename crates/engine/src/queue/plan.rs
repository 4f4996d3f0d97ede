//! Deciding what to do with each file before anything moves: upload it, carry on with the
//! job already in the journal, skip it because it is unchanged and its Doc is on the Twin, or
//! refuse it with a reason. `--dry-run` prints exactly this plan.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::{added, EventSink, Queue, QueueEvent};
use crate::error::{Error, ErrorInfo, Result};
use crate::journal::{mtime_ns, JobState, NewJob};
use crate::naming::DocName;
use crate::service::redivis::NewTempUpload;
use crate::service::{Destination, Service};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlanAction {
    Upload,
    /// An unfinished job for this file is in the journal; it carries on.
    Resume {
        job: u64,
    },
    Skip {
        reason: String,
    },
    Refuse {
        error: ErrorInfo,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanItem {
    pub path: PathBuf,
    pub doc_name: Option<String>,
    pub size: Option<u64>,
    #[serde(skip)]
    mtime_ns: i64,
    #[serde(flatten)]
    pub action: PlanAction,
}

impl Queue {
    /// What `enqueue` would do with `paths`. Reads the Twin's listing once, and only when some
    /// file may be skippable.
    pub async fn plan(&self, dest: &Destination, paths: &[PathBuf]) -> Result<Vec<PlanItem>> {
        self.plan_named(dest, paths, None).await
    }

    /// [`plan`](Self::plan) with the server names chosen by the caller (a watched folder's
    /// template), one per path; an `Err` refuses that file with its reason.
    async fn plan_named(
        &self,
        dest: &Destination,
        paths: &[PathBuf],
        names: Option<&[std::result::Result<String, ErrorInfo>]>,
    ) -> Result<Vec<PlanItem>> {
        let base = self.base_url();
        let mut listing: Option<BTreeMap<String, u64>> = None;
        let mut out = Vec::with_capacity(paths.len());
        for (index, path) in paths.iter().enumerate() {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let refuse = |error: ErrorInfo, name: Option<String>| PlanItem {
                path: path.clone(),
                doc_name: name,
                size: None,
                mtime_ns: 0,
                action: PlanAction::Refuse { error },
            };
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                Ok(_) => {
                    out.push(refuse(Error::NotAFile { path: path.clone() }.info(), None));
                    continue;
                }
                Err(e) => {
                    out.push(refuse(Error::file(&path, e).info(), None));
                    continue;
                }
            };
            let (size, mtime) = (meta.len(), mtime_ns(&meta));
            let latest = self.journal.latest_for_path(base, dest.as_str(), &path)?;
            let mut item = PlanItem {
                path: path.clone(),
                doc_name: None,
                size: Some(size),
                mtime_ns: mtime,
                action: PlanAction::Upload,
            };
            match latest {
                Some(job) if !job.state.is_final() => {
                    item.doc_name = Some(job.doc_name);
                    item.action = PlanAction::Resume { job: job.id };
                }
                Some(job)
                    if job.state == JobState::Done
                        && job.doc_status.as_deref() == Some("ok")
                        && job.size == size
                        && job.mtime_ns == mtime =>
                {
                    // Trusted Twin lists a Twin's Docs; the other services have no listing, so
                    // the journal's word that it finished is taken.
                    let on_server = match dest {
                        Destination::Twin(twin) => {
                            if listing.is_none() {
                                listing = Some(self.tt()?.list_docs(twin).await?);
                            }
                            listing.as_ref().and_then(|l| l.get(&job.doc_name)) == Some(&size)
                        }
                        _ => true,
                    };
                    item.doc_name = Some(job.doc_name.clone());
                    if on_server {
                        item.action =
                            PlanAction::Skip { reason: format!("unchanged since it was uploaded as {}", job.doc_name) };
                    }
                }
                _ => match names.map(|n| n[index].clone()) {
                    Some(Ok(name)) => match self.check_name(&name) {
                        Ok(()) => item.doc_name = Some(name),
                        Err(e) => item = refuse(e.info(), Some(name)),
                    },
                    Some(Err(error)) => item = refuse(error, None),
                    None => match self.name_for(&path) {
                        Ok(name) => item.doc_name = Some(name),
                        Err(e) => item = refuse(e.info(), None),
                    },
                },
            }
            out.push(item);
        }
        Ok(out)
    }

    /// The name a file gets on the server: a valid Doc name for Trusted Twin; the file's own
    /// name for the others, which take any.
    pub(super) fn name_for(&self, path: &std::path::Path) -> Result<String> {
        match &self.service {
            Service::TrustedTwin(_) => DocName::from_file_name(path).map(|n| n.to_string()),
            _ => path
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| Error::Input(format!("{}: the file name is not valid UTF-8", path.display()))),
        }
    }

    /// A name given by the caller must be one the service takes.
    fn check_name(&self, name: &str) -> Result<()> {
        match &self.service {
            Service::TrustedTwin(_) => DocName::parse(name).map(|_| ()),
            _ if name.is_empty() => Err(Error::Input("an empty name".into())),
            _ => Ok(()),
        }
    }

    /// Put `paths` in the journal as jobs (or find their unfinished jobs) and wake the workers.
    /// Returns the job ids, in the order of `paths`. Refused and skipped files get a finished
    /// job too, so `twindrop status` shows them.
    pub async fn enqueue(&self, dest: impl Into<Destination>, paths: &[PathBuf], sink: &EventSink) -> Result<Vec<u64>> {
        self.enqueue_named(dest.into(), paths, None, sink).await
    }

    /// [`enqueue`](Self::enqueue) with names chosen by the caller (see `plan_named`).
    pub async fn enqueue_named(
        &self,
        dest: Destination,
        paths: &[PathBuf],
        names: Option<&[std::result::Result<String, ErrorInfo>]>,
        sink: &EventSink,
    ) -> Result<Vec<u64>> {
        let plan = self.plan_named(&dest, paths, names).await?;
        let targets = self.prefetch_targets(&dest, &plan).await?;
        let description = self.opts.description.as_ref().map(|d| d.to_string());
        fn new_job<'a>(
            q: &'a Queue,
            dest: &'a Destination,
            description: Option<&'a str>,
            item: &'a PlanItem,
        ) -> NewJob<'a> {
            NewJob {
                base_url: q.base_url(),
                twin: dest.as_str(),
                path: &item.path,
                doc_name: item.doc_name.as_deref().unwrap_or(""),
                size: item.size.unwrap_or(0),
                mtime_ns: item.mtime_ns,
                storage_class: q.opts.storage_class.as_str(),
                description,
                on_conflict: q.opts.on_conflict.as_str(),
            }
        }
        // New rows go in with their final state (one commit per state), so a worker never
        // claims a file that is to be skipped or refused.
        let _gate = self.control.gate.write().await;
        let mut ids = vec![0u64; plan.len()];
        for state in [JobState::Queued, JobState::Skipped, JobState::Failed] {
            let picked: Vec<usize> = (0..plan.len())
                .filter(|&i| match &plan[i].action {
                    PlanAction::Upload => state == JobState::Queued,
                    PlanAction::Skip { .. } => state == JobState::Skipped,
                    PlanAction::Refuse { .. } => state == JobState::Failed,
                    PlanAction::Resume { .. } => false,
                })
                .collect();
            let rows: Vec<NewJob<'_>> =
                picked.iter().map(|&i| new_job(self, &dest, description.as_deref(), &plan[i])).collect();
            for (&i, id) in picked.iter().zip(self.journal.insert_many(&rows, state)?) {
                ids[i] = id;
            }
        }
        if !targets.is_empty() {
            let upload_ids =
                plan.iter().zip(&ids).filter(|(item, _)| item.action == PlanAction::Upload).map(|(_, id)| *id);
            let valid_until = super::upload::epoch_now() + crate::service::redivis::TARGET_LIFETIME.as_secs_f64();
            let rows: Vec<_> = upload_ids.zip(&targets).map(|(id, t)| (id, t.journal_target(valid_until))).collect();
            self.journal.record_targets(&rows)?;
        }
        for (item, id) in plan.into_iter().zip(ids.iter_mut()) {
            match item.action {
                PlanAction::Upload => {
                    self.control.bytes_planned.fetch_add(item.size.unwrap_or(0), Ordering::Relaxed);
                    sink(added(&self.journal.get(*id)?));
                }
                PlanAction::Resume { job } => {
                    self.journal.set_state_if(job, &[JobState::Paused], JobState::Queued)?;
                    *id = job;
                    sink(added(&self.journal.get(job)?));
                }
                PlanAction::Skip { reason } => {
                    self.journal.record_skipped(*id, &reason)?;
                    sink(added(&self.journal.get(*id)?));
                    sink(QueueEvent::Skipped { id: *id, doc_name: item.doc_name.unwrap_or_default(), reason });
                }
                PlanAction::Refuse { error } => {
                    self.journal.record_failed_info(*id, &error)?;
                    sink(added(&self.journal.get(*id)?));
                    sink(QueueEvent::Failed { id: *id, error });
                }
            }
        }
        drop(_gate);
        self.control.wake.notify_waiters();
        Ok(ids)
    }
}

impl Queue {
    /// Services that hand out upload targets in batches get them for a whole drop at once
    /// (one request per 1,000 files, not one per file), before any job exists: a refusal (no
    /// such table, no access) stops the drop with nothing queued.
    async fn prefetch_targets(
        &self,
        dest: &Destination,
        plan: &[PlanItem],
    ) -> Result<Vec<crate::service::redivis::TempUpload>> {
        let (Service::Redivis(r), Destination::Table(table)) = (&self.service, dest) else { return Ok(vec![]) };
        let wanted: Vec<NewTempUpload> = plan
            .iter()
            .filter(|item| item.action == PlanAction::Upload)
            .map(|item| {
                let size = item.size.unwrap_or(0);
                NewTempUpload {
                    name: item.doc_name.clone().unwrap_or_default(),
                    size,
                    resumable: size > self.opts.resumable_above,
                }
            })
            .collect();
        if wanted.is_empty() {
            return Ok(vec![]);
        }
        crate::retry::retry(&self.opts.retry, || r.create_temp_uploads(table, &wanted), |_, _| {}).await
    }
}

/// Exposed for the CLI's `--dry-run` output.
pub fn describe(item: &PlanItem) -> String {
    let name = item.doc_name.as_deref().unwrap_or("-");
    let path = item.path.display();
    match &item.action {
        PlanAction::Upload => format!("upload  {name}  ({path})"),
        PlanAction::Resume { job } => format!("resume  {name}  ({path}, job {job})"),
        PlanAction::Skip { reason } => format!("skip    {name}  ({path}: {reason})"),
        PlanAction::Refuse { error } => format!("refuse  [{}] {}", error.code, error.message),
    }
}
