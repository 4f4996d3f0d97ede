//! Deciding what to do with each file before anything moves: upload it, carry on with the
//! job already in the journal, skip it because it is unchanged and its Doc is on the Twin, or
//! refuse it with a reason. `--dry-run` prints exactly this plan.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::{added, EventSink, Queue, QueueEvent};
use crate::error::{Error, ErrorInfo, Result};
use crate::journal::{JobState, NewJob};
use crate::naming::DocName;
use crate::service::trusted_twin::TwinId;

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

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl Queue {
    /// What `enqueue` would do with `paths`. Reads the Twin's listing once, and only when some
    /// file may be skippable.
    pub async fn plan(&self, twin: &TwinId, paths: &[PathBuf]) -> Result<Vec<PlanItem>> {
        let base = self.base_url();
        let mut listing: Option<BTreeMap<String, u64>> = None;
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let refuse = |e: Error, name: Option<String>| PlanItem {
                path: path.clone(),
                doc_name: name,
                size: None,
                mtime_ns: 0,
                action: PlanAction::Refuse { error: e.info() },
            };
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                Ok(_) => {
                    out.push(refuse(Error::NotAFile { path: path.clone() }, None));
                    continue;
                }
                Err(e) => {
                    out.push(refuse(Error::file(&path, e), None));
                    continue;
                }
            };
            let (size, mtime) = (meta.len(), mtime_ns(&meta));
            let latest = self.journal.latest_for_path(base, twin.as_str(), &path)?;
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
                    if listing.is_none() {
                        listing = Some(self.tt.list_docs(twin).await?);
                    }
                    let on_server = listing.as_ref().and_then(|l| l.get(&job.doc_name)) == Some(&size);
                    item.doc_name = Some(job.doc_name.clone());
                    if on_server {
                        item.action =
                            PlanAction::Skip { reason: format!("unchanged since it was uploaded as {}", job.doc_name) };
                    }
                }
                _ => match DocName::from_file_name(&path) {
                    Ok(name) => item.doc_name = Some(name.to_string()),
                    Err(e) => item = refuse(e, None),
                },
            }
            out.push(item);
        }
        Ok(out)
    }

    /// Put `paths` in the journal as jobs (or find their unfinished jobs) and wake the workers.
    /// Returns the job ids, in the order of `paths`. Refused and skipped files get a finished
    /// job too, so `twindrop status` shows them.
    pub async fn enqueue(&self, twin: &TwinId, paths: &[PathBuf], sink: &EventSink) -> Result<Vec<u64>> {
        let plan = self.plan(twin, paths).await?;
        let description = self.opts.description.as_ref().map(|d| d.to_string());
        fn new_job<'a>(q: &'a Queue, twin: &'a TwinId, description: Option<&'a str>, item: &'a PlanItem) -> NewJob<'a> {
            NewJob {
                base_url: q.base_url(),
                twin: twin.as_str(),
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
                picked.iter().map(|&i| new_job(self, twin, description.as_deref(), &plan[i])).collect();
            for (&i, id) in picked.iter().zip(self.journal.insert_many(&rows, state)?) {
                ids[i] = id;
            }
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
