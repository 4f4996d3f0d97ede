//! Deciding what to do with each file before anything moves: upload it, carry on with the
//! job already in the journal, skip it because it is unchanged and its Doc is on the Twin, or
//! refuse it with a reason. `--dry-run` prints exactly this plan.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{added, EventSink, Queue, QueueEvent};
use crate::error::{Error, ErrorInfo, Invalid, Result};
use crate::journal::{mtime_ns, JobState, NewJob};
use crate::naming::{self, NamedFile, Template};
use crate::service::trusted_twin::StorageClass;
use crate::service::upload_api::PrefetchedTarget;
use crate::service::Destination;

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
    #[serde(skip)]
    identity: Option<crate::source::Identity>,
    /// The name it was to have, when it gets another because another local file holds that one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    #[serde(flatten)]
    pub action: PlanAction,
}

/// What one batch of files shares on the server: its storage class and description (a drop
/// chooses them; the queue's [`Options`](super::Options) give them otherwise).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    pub storage_class: StorageClass,
    pub description: Option<serde_json::Value>,
    /// This batch's conflict policy (a watched folder's); `None` takes the queue's.
    pub on_conflict: Option<super::ConflictPolicy>,
}

impl Batch {
    /// A batch from what a person chose: the storage class by its API name, the description a
    /// JSON object whose keys the server takes (`^[a-z_][0-9a-z_]{0,63}$`); an empty object is
    /// no description.
    pub fn new(storage_class: &str, description: Option<serde_json::Value>) -> Result<Batch> {
        let storage_class = StorageClass::parse(storage_class)?;
        let description = match description {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(map)) if map.is_empty() => None,
            Some(serde_json::Value::Object(map)) => {
                if let Some(key) = map.keys().find(|k| !description_key_ok(k)) {
                    return Err(Error::invalid(
                        Invalid::Description,
                        format!("description key {key:?}: 1-64 of a-z, 0-9 and _, not starting with a digit"),
                    ));
                }
                Some(serde_json::Value::Object(map))
            }
            Some(other) => {
                return Err(Error::invalid(
                    Invalid::Description,
                    format!("the description must be a JSON object of keys and values, not {other}"),
                ))
            }
        };
        Ok(Batch { storage_class, description, on_conflict: None })
    }
}

/// A description from `key=value` entries (the CLI's `--description`): a value that parses as
/// JSON is sent as JSON, any other as a string; keys follow [`description_key_ok`].
pub fn description_from_entries(entries: &[String]) -> Result<Option<serde_json::Value>> {
    let mut map = serde_json::Map::new();
    for entry in entries {
        let (k, v) = entry
            .split_once('=')
            .ok_or_else(|| Error::invalid(Invalid::Description, format!("--description {entry:?}: use key=value")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()));
        map.insert(k.to_owned(), value);
    }
    // The keys are checked by the same rule as a description from the app.
    let class = crate::service::trusted_twin::StorageClass::default().as_str();
    Ok(Batch::new(class, Some(serde_json::Value::Object(map)))?.description)
}

/// The server's rule for description keys, `^[a-z_][0-9a-z_]{0,63}$`.
pub fn description_key_ok(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && key.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A file and the Doc name a person settled on for it.
#[derive(Debug, Clone, PartialEq, Deserialize, specta::Type)]
pub struct Planned {
    pub path: PathBuf,
    pub name: String,
}

impl Queue {
    /// The naming preview of a drop for `dest` (see [`naming::preview()`]): every file of
    /// `paths`, folders expanded, with its proposed name (from `template` when one is given), what
    /// blocks it, and a notice when the journal says another file already has that name there,
    /// or that this file went up under this name and has not changed since, so it will be
    /// skipped (only with a destination).
    pub async fn names_preview(
        &self,
        dest: Option<&Destination>,
        paths: Vec<PathBuf>,
        template: Option<&str>,
    ) -> Result<Vec<NamedFile>> {
        let template = template.map(str::trim).filter(|t| !t.is_empty()).map(Template::parse).transpose()?;
        let (base, twin, journal) = (self.base_url().to_owned(), dest.cloned(), self.journal.clone());
        // Walking folders and reading metadata block; thousands of files must not stall a runtime thread.
        tokio::task::spawn_blocking(move || {
            // The journal is asked file by file, each question an index probe, so a preview costs
            // the same whatever the journal's history: which file holds a name (each name asked
            // once; the preview asks again while it sorts), and each file's newest job.
            let failed: RefCell<Option<Error>> = RefCell::new(None);
            let holders: RefCell<HashMap<String, Option<PathBuf>>> = RefCell::new(HashMap::new());
            let taken_by = |name: &str, path: &std::path::Path| -> Option<PathBuf> {
                let dest = twin.as_ref()?;
                let mut holders = holders.borrow_mut();
                if !holders.contains_key(name) {
                    let holder = journal.name_holder(&base, dest, name).unwrap_or_else(|e| {
                        failed.borrow_mut().get_or_insert(e);
                        None
                    });
                    holders.insert(name.to_owned(), holder);
                }
                holders[name].as_ref().filter(|p| p.as_path() != path).cloned()
            };
            let mut files = naming::preview(&paths, template.as_ref(), &taken_by);
            if let Some(e) = failed.borrow_mut().take() {
                return Err(e);
            }
            let Some(dest) = twin.as_ref() else { return Ok(files) };
            for file in files.iter_mut().filter(|f| f.problem.is_none()) {
                let Some(job) = journal.latest_record(&base, dest, &file.path)? else { continue };
                if job.ok
                    && Some(job.size) == file.size
                    && Some(job.mtime_ns) == file.mtime_ns
                    && file.name.as_deref() == Some(job.doc_name.as_str())
                {
                    file.notice = Some(naming::NameIssue {
                        code: naming::UNCHANGED.into(),
                        rule: None,
                        message: format!(
                            "unchanged since it was sent as {:?}: it will be skipped (give it another name to send it \
                             again)",
                            job.doc_name
                        ),
                    });
                }
            }
            Ok(files)
        })
        .await
        .map_err(|e| Error::Internal(format!("the naming preview stopped: {e}")))?
    }

    /// Queue files under the names a person settled on, with this batch's storage class and
    /// description. The names are checked here, whatever the window checked: one that breaks a
    /// rule, or is given to two files, refuses the whole batch before anything is queued.
    pub async fn enqueue_planned(
        &self,
        dest: Destination,
        files: &[Planned],
        batch: &Batch,
        sink: &EventSink,
    ) -> Result<Vec<u64>> {
        if files.is_empty() {
            return Err(Error::NothingToUpload("nothing to upload: the batch is empty".into()));
        }
        let reviewed = naming::review_names(files.iter().map(|f| Some(f.name.as_str())));
        let mut refused = files.iter().zip(&reviewed).filter_map(|(f, issue)| issue.as_ref().map(|i| (f, i)));
        if let Some((first, issue)) = refused.next() {
            let more = refused.count();
            let more = if more > 0 { format!(" (and {more} more names to fix)") } else { String::new() };
            return Err(Error::DocName { name: first.name.clone(), reason: format!("{}{more}", issue.message) });
        }
        let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        let names: Vec<std::result::Result<String, ErrorInfo>> = files.iter().map(|f| Ok(f.name.clone())).collect();
        self.enqueue_named(dest, &paths, Some(&names), Some(batch), sink).await
    }

    /// What `enqueue` would do with `paths`. Reads the Twin's listing once, and only when some
    /// file may be skippable.
    pub async fn plan(&self, dest: &Destination, paths: &[PathBuf]) -> Result<Vec<PlanItem>> {
        self.plan_named(dest, paths, None, self.opts.on_conflict, false).await
    }

    /// [`plan`](Self::plan) with the server names chosen by the caller (a watched folder's
    /// template), one per path; an `Err` refuses that file with its reason.
    async fn plan_named(
        &self,
        dest: &Destination,
        paths: &[PathBuf],
        names: Option<&[std::result::Result<String, ErrorInfo>]>,
        on_conflict: super::ConflictPolicy,
        commit: bool,
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
                identity: None,
                renamed_from: None,
                action: PlanAction::Refuse { error },
            };
            // Not followed: a symlink could send a file from anywhere (see `source`).
            let meta = match std::fs::symlink_metadata(&path) {
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
            let latest = self.journal.latest_for_path(base, dest, &path)?;
            let mut item = PlanItem {
                path: path.clone(),
                doc_name: None,
                size: Some(size),
                mtime_ns: mtime,
                identity: Some(crate::source::Identity::of(&meta)),
                renamed_from: None,
                action: PlanAction::Upload,
            };
            match latest {
                Some(job) if !job.state.is_final() => {
                    item.doc_name = Some(job.doc_name.to_string());
                    item.action = PlanAction::Resume { job: job.id };
                }
                // A name chosen for this file that is not the one it went up under asks for a new
                // Doc, not for the old one again.
                Some(job)
                    if job.is_ok()
                        && job.size == size
                        && job.mtime_ns == mtime
                        && names.is_none_or(|n| {
                            n[index].as_ref().is_ok_and(|name| {
                                job.doc_name == name.as_str()
                                    || self.journal.decided_name(base, dest, &path, name).ok().flatten().as_deref()
                                        == Some(job.doc_name.as_str())
                            })
                        }) =>
                {
                    // A service with a listing (Trusted Twin) is asked; for the others the
                    // journal's word that it finished is taken.
                    let on_server = match self.service.api().listing() {
                        Some(lister) => {
                            if listing.is_none() {
                                listing = Some(lister.sizes(dest).await?);
                            }
                            listing.as_ref().and_then(|l| l.get(job.doc_name.as_str())) == Some(&size)
                        }
                        None => true,
                    };
                    item.doc_name = Some(job.doc_name.to_string());
                    if on_server {
                        item.action =
                            PlanAction::Skip { reason: format!("{} {}", crate::journal::UNCHANGED_SKIP, job.doc_name) };
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
        self.unique_names(dest, &mut out, on_conflict, commit)?;
        Ok(out)
    }

    /// The name a file gets on the server by default (the service's [`NameRules`](crate::service::upload_api::NameRules)).
    pub(super) fn name_for(&self, path: &std::path::Path) -> Result<String> {
        self.service.api().names().name_for(path)
    }

    /// A name given by the caller must be one the service takes.
    fn check_name(&self, name: &str) -> Result<()> {
        self.service.api().names().check(name)
    }

    /// Put `paths` in the journal as jobs (or find their unfinished jobs) and wake the workers.
    /// Returns the job ids, in the order of `paths`. Refused and skipped files get a finished
    /// job too, so `twindrop status` shows them.
    pub async fn enqueue(&self, dest: impl Into<Destination>, paths: &[PathBuf], sink: &EventSink) -> Result<Vec<u64>> {
        self.enqueue_named(dest.into(), paths, None, None, sink).await
    }

    /// [`enqueue`](Self::enqueue) with names chosen by the caller (see `plan_named`), and the
    /// storage class and description of this batch (`None`: the queue's [`Options`](super::Options)).
    pub async fn enqueue_named(
        &self,
        dest: Destination,
        paths: &[PathBuf],
        names: Option<&[std::result::Result<String, ErrorInfo>]>,
        batch: Option<&Batch>,
        sink: &EventSink,
    ) -> Result<Vec<u64>> {
        let sink = &self.tap(sink);
        let on_conflict = batch.and_then(|b| b.on_conflict).unwrap_or(self.opts.on_conflict);
        let plan = self.plan_named(&dest, paths, names, on_conflict, true).await?;
        let targets = self.prefetch_targets(&dest, &plan).await?;
        let (storage_class, description) = match batch {
            Some(batch) => (batch.storage_class, batch.description.as_ref()),
            None => (self.opts.storage_class, self.opts.description.as_ref()),
        };
        let keep = self.control.original_name.load(std::sync::atomic::Ordering::Relaxed);
        let descriptions: Vec<Option<String>> =
            plan.iter().map(|item| described(description, &dest, keep, &item.path)).collect();
        fn new_job<'a>(
            q: &'a Queue,
            dest: &'a Destination,
            (storage_class, on_conflict): (StorageClass, super::ConflictPolicy),
            description: Option<&'a str>,
            item: &'a PlanItem,
        ) -> NewJob<'a> {
            NewJob {
                base_url: q.base_url(),
                destination: dest,
                path: &item.path,
                doc_name: item.doc_name.as_deref().unwrap_or(""),
                size: item.size.unwrap_or(0),
                mtime_ns: item.mtime_ns,
                dev: item.identity.map_or(0, |i| i.dev),
                ino: item.identity.map_or(0, |i| i.ino),
                storage_class,
                description,
                on_conflict,
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
            let rows: Vec<NewJob<'_>> = picked
                .iter()
                .map(|&i| new_job(self, &dest, (storage_class, on_conflict), descriptions[i].as_deref(), &plan[i]))
                .collect();
            for (&i, id) in picked.iter().zip(self.journal.insert_many(&rows, state)?) {
                ids[i] = id;
            }
        }
        if !targets.is_empty() {
            let upload_ids =
                plan.iter().zip(&ids).filter(|(item, _)| item.action == PlanAction::Upload).map(|(_, id)| *id);
            let rows: Vec<_> = upload_ids.zip(&targets).map(|(id, t)| (id, t.journal_target())).collect();
            self.journal.record_targets(&rows)?;
        }
        for (item, id) in plan.into_iter().zip(ids.iter_mut()) {
            match item.action {
                PlanAction::Upload => {
                    sink(added(&self.journal.get(*id)?));
                    if let (Some(_), Some(doc_name)) = (&item.renamed_from, item.doc_name) {
                        sink(QueueEvent::Renamed { id: *id, doc_name });
                    }
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
    /// Services that hand out upload targets in batches ([`Prefetch`]) get them for a whole
    /// drop at once (one request per 1,000 files, not one per file), before any job exists: a
    /// refusal (no such table, no access) stops the drop with nothing queued.
    async fn prefetch_targets(&self, dest: &Destination, plan: &[PlanItem]) -> Result<Vec<PrefetchedTarget>> {
        let Some(prefetch) = self.service.api().prefetch() else { return Ok(vec![]) };
        let files: Vec<(String, u64)> = plan
            .iter()
            .filter(|item| item.action == PlanAction::Upload)
            .map(|item| (item.doc_name.clone().unwrap_or_default(), item.size.unwrap_or(0)))
            .collect();
        if files.is_empty() {
            return Ok(vec![]);
        }
        prefetch.targets(dest, files, self.opts.resumable_above, &self.opts.retry).await
    }
}

/// The key under which a Doc's description keeps its file's own name.
pub const ORIGINAL_NAME: &str = "original_name";

/// The description a file's Doc gets: the batch's, and, when `keep`, the file's own name under
/// [`ORIGINAL_NAME`] (U+FFFD for bytes that are not UTF-8). Only a Twin's Docs have
/// descriptions. A description that names an `original_name` itself keeps it.
fn described(
    batch: Option<&serde_json::Value>,
    dest: &Destination,
    keep: bool,
    path: &std::path::Path,
) -> Option<String> {
    let own = path.file_name().map(|n| n.to_string_lossy().into_owned()).filter(|_| keep);
    match (batch, own, dest) {
        (batch, Some(own), Destination::Twin(_)) => {
            let mut map = match batch {
                Some(serde_json::Value::Object(map)) => map.clone(),
                _ => serde_json::Map::new(),
            };
            map.entry(ORIGINAL_NAME).or_insert(serde_json::Value::String(own));
            Some(serde_json::Value::Object(map).to_string())
        }
        (batch, _, _) => batch.map(|d| d.to_string()),
    }
}

/// Exposed for the CLI's `--dry-run` output.
pub fn describe(item: &PlanItem) -> String {
    let name = item.doc_name.as_deref().unwrap_or("-");
    let path = item.path.display();
    match &item.action {
        PlanAction::Upload => match &item.renamed_from {
            Some(wanted) => format!("upload  {name}  ({path}; {wanted} is another file's)"),
            None => format!("upload  {name}  ({path})"),
        },
        PlanAction::Resume { job } => format!("resume  {name}  ({path}, job {job})"),
        PlanAction::Skip { reason } => format!("skip    {name}  ({path}: {reason})"),
        PlanAction::Refuse { error } => format!("refuse  [{}] {}", error.code, error.message),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
