//! The app's watched folders: one [`Syncer`] per folder of the open account, all feeding one
//! queue that this runner runs (so parallelism and the bandwidth limit hold for all of them
//! together). Folders and their settings live in `settings.json` (`watched`); a folder belongs
//! to the account it was added with (`profile`, `None` for the local sandbox).
//!
//! Each folder reports a status (watching, syncing, paused, or error with the error's code)
//! and when its last sync ended; syncs, errors, pauses and resumes go to the activity log. If
//! the queue stops, every folder stops with its error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::syncer::{namer, queue_ended, DeletePolicy, SyncOptions, Syncer};
use crate::activity::{ActivityLog, Batches, Kind, NewEntry, OnBatchEnd, Source};
use crate::error::{Error, ErrorInfo, Invalid, Result};
use crate::journal::{FolderFiles, Journal, LastVerification};
use crate::naming::Template;
use crate::profile::{SettingsFile, WatchedFolder};
use crate::queue::{EventSink, FolderConflicts, Planned, Queue, QueueEvent, RunMode};
use crate::service::Destination;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
#[serde(rename = "FolderState")] // the TypeScript name only: JSON carries no type names
pub enum Status {
    /// Waiting for changes.
    Watching,
    /// Files of it are on their way up.
    Syncing,
    Paused,
    Error,
}

/// A watched folder as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FolderStatus {
    pub path: String,
    pub destination: String,
    pub template: Option<String>,
    pub ignore: Vec<String>,
    pub delete: DeletePolicy,
    /// When a Doc the folder did not make has a file's name.
    pub on_conflict: FolderConflicts,
    pub paused: bool,
    pub status: Status,
    pub error: Option<ErrorInfo>,
    /// Something to know while it syncs: some of its directories are walked, not watched.
    pub notice: Option<String>,
    /// When its last sync ended (ms since the epoch), if ever.
    pub last_sync_ms: Option<i64>,
    /// Its last verification against its destination (`App::verify_folder`), if any.
    pub last_verified: Option<LastVerification>,
    /// Its files by their newest job (in step, waiting, failed) and the last few synced, with
    /// their Doc names; `None` if the journal cannot say.
    pub files: Option<FolderFiles>,
    /// While it is paused: how many of its files are new or changed since the journal last saw
    /// them (looked at afresh at most every [`CHANGES_MAX_AGE`]).
    pub changes_waiting: Option<u64>,
}

/// How many of a folder's last synced files its status names.
pub const RECENT_FILES: usize = 5;

/// How old a paused folder's count of changes may be: counting walks the whole folder, and
/// the window asks for the status every 1.5 s.
pub const CHANGES_MAX_AGE: Duration = Duration::from_secs(5);

/// New settings of a folder; each `None` leaves that one as it is.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(default, rename_all = "camelCase")]
pub struct FolderUpdate {
    pub destination: Option<String>,
    /// `Some("")` removes the template (names from the path again).
    pub template: Option<String>,
    pub ignore: Option<Vec<String>>,
    pub delete: Option<DeletePolicy>,
    pub on_conflict: Option<FolderConflicts>,
}

#[derive(Default)]
struct Slot {
    stop: Option<CancellationToken>,
    error: Option<ErrorInfo>,
    /// What the user should know of a folder that keeps syncing (the watch limit).
    notice: Option<String>,
    last_sync_ms: Option<i64>,
    /// Counts the folder's runs, so an old run that ends late does not mark a newer one.
    run: u64,
    /// A paused folder's changes, when they were counted.
    changes: Option<(Instant, u64)>,
}

type Slots = Arc<Mutex<HashMap<PathBuf, Slot>>>;

pub struct Watched {
    queue: Arc<Queue>,
    settings: SettingsFile,
    profile: Option<String>,
    batches: Arc<Batches>,
    slots: Slots,
    gate: Duration,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        for slot in self.slots.lock().expect("watched lock").values() {
            if let Some(stop) = &slot.stop {
                stop.cancel();
            }
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Watched {
    /// Run `queue` and start every unpaused folder of `profile`. Call inside a Tokio runtime.
    pub fn start(
        queue: Arc<Queue>,
        settings: SettingsFile,
        profile: Option<String>,
        log: Arc<ActivityLog>,
        gate: Duration,
    ) -> Result<Self> {
        let slots: Slots = Arc::default();
        let on_end: OnBatchEnd = {
            let slots = slots.clone();
            Arc::new(move |source, _| {
                if let Source::Watched(path) = source {
                    if let Some(slot) = slots.lock().expect("watched lock").get_mut(path) {
                        slot.last_sync_ms = Some(now_ms());
                    }
                }
            })
        };
        let batches = Batches::new(log, Some(on_end));
        // The queue's own events: jobs it picks up again after a restart are put in the
        // batch of the folder they are in.
        let run_sink: EventSink = {
            let (batches, slots) = (batches.clone(), slots.clone());
            Arc::new(move |event: QueueEvent| {
                let source = match &event {
                    QueueEvent::Added { path, .. } => slots
                        .lock()
                        .expect("watched lock")
                        .keys()
                        .find(|root| Path::new(path).starts_with(root))
                        .map(|root| Source::Watched(root.clone()))
                        .unwrap_or(Source::Uploads),
                    _ => Source::Uploads,
                };
                batches.see(&source, &event);
            })
        };
        let runner = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.run(run_sink, RunMode::Forever).await })
        };
        let runner_handle = runner.abort_handle();
        let supervisor = {
            let (slots, log) = (slots.clone(), batches.log().clone());
            tokio::spawn(async move {
                let error = queue_ended(runner.await).info();
                tracing::error!(code = error.code, "the watched folders' queue stopped: {}", error.message);
                for (path, slot) in slots.lock().expect("watched lock").iter_mut() {
                    if let Some(stop) = slot.stop.take() {
                        stop.cancel();
                        slot.error = Some(error.clone());
                        log.note(failure_entry(path, &error));
                    }
                }
            })
        };
        let watched = Watched {
            queue,
            settings,
            profile,
            batches,
            slots,
            gate,
            tasks: vec![runner_handle, supervisor.abort_handle()],
        };
        for folder in watched.folders()? {
            let last = watched.batches.log().last_at(Kind::WatchedSync, &folder.path.display().to_string())?;
            watched.slots.lock().expect("watched lock").entry(folder.path.clone()).or_default().last_sync_ms = last;
            if !folder.paused {
                watched.launch(&folder);
            }
        }
        Ok(watched)
    }

    /// The watched folders of the account whose upload queue is `uploads`: their own queue on
    /// the folders' journal (`profile::folders_journal_path`: its own file, so the two queues
    /// never claim each other's jobs), with options [`Prefs::sync_options`](crate::prefs::Prefs::sync_options)
    /// (the same parallelism and bandwidth limiter), started, with a 2 s stability gate.
    pub fn open(
        uploads: &Queue,
        settings: SettingsFile,
        journal: Arc<Journal>,
        profile: Option<String>,
        log: Arc<ActivityLog>,
    ) -> Result<Self> {
        let opts = settings.load()?.prefs.sync_options(uploads.options());
        let queue = Queue::new(uploads.service().clone(), journal, opts);
        Watched::start(queue, settings, profile, log, SyncOptions::default().gate)
    }

    pub fn queue(&self) -> &Arc<Queue> {
        &self.queue
    }

    /// The folders of this account, as saved.
    fn folders(&self) -> Result<Vec<WatchedFolder>> {
        Ok(self.settings.load()?.watched.into_iter().filter(|w| w.profile == self.profile).collect())
    }

    /// A folder of this account as saved (its path, destination, template, policies).
    pub fn folder(&self, path: &Path) -> Result<WatchedFolder> {
        self.folders()?
            .into_iter()
            .find(|w| w.path == path)
            .ok_or_else(|| Error::NotFound(format!("no watched folder {}", path.display())))
    }

    pub fn list(&self) -> Result<Vec<FolderStatus>> {
        Ok(self.folders()?.iter().map(|f| self.status_of(f)).collect())
    }

    pub fn get(&self, path: &Path) -> Result<FolderStatus> {
        Ok(self.status_of(&self.folder(path)?))
    }

    fn status_of(&self, folder: &WatchedFolder) -> FolderStatus {
        let (mut error, notice, last_sync_ms) = {
            let slots = self.slots.lock().expect("watched lock");
            slots.get(&folder.path).map(|s| (s.error.clone(), s.notice.clone(), s.last_sync_ms)).unwrap_or_default()
        };
        // A folder deleted (or unmounted) says so, whatever its watch made of it (it may only
        // have seen its files go, or failed to start on a path no longer there).
        if !folder.paused && !folder.path.is_dir() {
            let gone = std::io::Error::new(std::io::ErrorKind::NotFound, "the folder is not there any more");
            error = Some(Error::file(&folder.path, gone).info());
        }
        let status = if folder.paused {
            Status::Paused
        } else if error.is_some() {
            Status::Error
        } else if self.batches.is_open(&Source::Watched(folder.path.clone())) {
            Status::Syncing
        } else {
            Status::Watching
        };
        FolderStatus {
            path: folder.path.display().to_string(),
            destination: folder.destination.clone(),
            template: folder.template.clone(),
            ignore: folder.ignore.clone(),
            delete: folder.delete,
            on_conflict: folder.on_conflict,
            paused: folder.paused,
            status,
            error: if folder.paused { None } else { error },
            notice: if folder.paused { None } else { notice },
            last_sync_ms,
            last_verified: self.last_verified(folder),
            files: self.files(folder),
            changes_waiting: if folder.paused { self.changes_waiting(folder) } else { None },
        }
    }

    /// What the folders' journal says of the folder's files. A journal that cannot say leaves
    /// them out of the status rather than failing the whole list.
    fn files(&self, folder: &WatchedFolder) -> Option<FolderFiles> {
        files_of(&self.queue, folder)
            .inspect_err(|e| tracing::warn!(code = e.code(), "files of {}: {e}", folder.path.display()))
            .ok()
    }

    /// A paused folder's changes, counted by its syncer's own walk and ignore patterns, at most
    /// every [`CHANGES_MAX_AGE`].
    fn changes_waiting(&self, folder: &WatchedFolder) -> Option<u64> {
        let cached = self.slots.lock().expect("watched lock").get(&folder.path).and_then(|s| s.changes);
        if let Some((_, n)) = cached.filter(|(at, _)| at.elapsed() < CHANGES_MAX_AGE) {
            return Some(n);
        }
        let counted = changes_of(&self.queue, folder)
            .inspect_err(|e| tracing::warn!(code = e.code(), "changes in {}: {e}", folder.path.display()))
            .ok()?;
        if let Some(slot) = self.slots.lock().expect("watched lock").get_mut(&folder.path) {
            slot.changes = Some((Instant::now(), counted));
        }
        Some(counted)
    }

    /// What the folders' journal keeps of the folder's last verification. A journal that
    /// cannot say leaves the status line without it rather than failing the whole list.
    fn last_verified(&self, folder: &WatchedFolder) -> Option<LastVerification> {
        let dest = Destination::parse_for(self.queue.service(), &folder.destination).ok()?;
        let base_url = self.queue.service().base_url();
        self.queue
            .journal()
            .last_verification(base_url, &dest, &folder.path)
            .inspect_err(|e| tracing::warn!(code = e.code(), "last verification of {}: {e}", folder.path.display()))
            .ok()
            .flatten()
    }

    /// Queue `files` of the folder at `path` again (a verification found them different or
    /// not on the server) as its sync queues its files: on its queue, to its destination, with
    /// its batch (its conflict policy; its journal says which Docs its files made), counted in
    /// its activity. A file its ignore patterns leave out is not sent: returns the jobs and how
    /// many were left out.
    pub async fn send_again(&self, path: &Path, files: &[Planned]) -> Result<(Vec<u64>, usize)> {
        let folder = self.folder(path)?;
        let syncer = self.syncer(&folder)?;
        let (send, ignored): (Vec<&Planned>, Vec<&Planned>) =
            files.iter().partition(|f| !syncer.ignored(&f.path, false));
        if send.is_empty() {
            return Ok((Vec::new(), ignored.len()));
        }
        let dest = Destination::parse_for(self.queue.service(), &folder.destination)?;
        let paths: Vec<PathBuf> = send.iter().map(|f| f.path.clone()).collect();
        let names: Vec<std::result::Result<String, ErrorInfo>> = send.iter().map(|f| Ok(f.name.clone())).collect();
        let sink = self.batches.sink(Source::Watched(folder.path.clone()), None);
        let ids = self.queue.enqueue_named(dest, &paths, Some(&names), folder.batch()?.as_ref(), &sink).await?;
        Ok((ids, ignored.len()))
    }

    /// Watch a new folder, sending to `destination`, and start it.
    pub fn add(&self, path: &Path, destination: &str) -> Result<FolderStatus> {
        let path = std::fs::canonicalize(path).map_err(|e| Error::file(path, e))?;
        if !path.is_dir() {
            return Err(Error::NotAFolder { path });
        }
        let dest = Destination::parse_for(self.queue.service(), destination.trim())?;
        let folder = WatchedFolder::new(path.clone(), self.profile.clone(), dest.as_str().to_owned());
        self.settings.update(|s| {
            let clash = s.watched.iter().find(|w| path.starts_with(&w.path) || w.path.starts_with(&path));
            if let Some(other) = clash {
                return Err(Error::AlreadyWatched(format!(
                    "{} is already watched (as part of {})",
                    path.display(),
                    other.path.display()
                )));
            }
            s.watched.push(folder.clone());
            Ok(())
        })?;
        self.slots.lock().expect("watched lock").insert(path.clone(), Slot::default());
        self.launch(&folder);
        self.get(&path)
    }

    /// Change a folder's settings (checked first: a bad template or pattern changes nothing)
    /// and restart it with them.
    pub fn update(&self, path: &Path, update: FolderUpdate) -> Result<FolderStatus> {
        let mut folder = self.folder(path)?;
        if let Some(dest) = update.destination {
            folder.destination = Destination::parse_for(self.queue.service(), dest.trim())?.as_str().to_owned();
        }
        if let Some(template) = update.template {
            let template = template.trim();
            folder.template =
                if template.is_empty() { None } else { Some(Template::parse(template)?.as_str().to_owned()) };
        }
        if let Some(ignore) = update.ignore {
            folder.ignore = ignore.into_iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
            ignore_patterns_ok(&folder.ignore)?;
        }
        if let Some(delete) = update.delete {
            folder.delete = delete;
        }
        if let Some(on_conflict) = update.on_conflict {
            folder.on_conflict = on_conflict;
        }
        self.save(&folder)?;
        // Its changes are counted again, with its new patterns.
        self.halt(path);
        if !folder.paused {
            self.launch(&folder);
        }
        self.get(path)
    }

    pub fn remove(&self, path: &Path) -> Result<()> {
        self.folder(path)?;
        self.halt(path);
        self.slots.lock().expect("watched lock").remove(path);
        self.settings.update(|s| {
            s.watched.retain(|w| w.path != path);
            Ok(())
        })
    }

    /// Pause (stop watching; changes meanwhile are found by the walk on resume) or resume.
    pub fn set_paused(&self, path: &Path, paused: bool) -> Result<FolderStatus> {
        let mut folder = self.folder(path)?;
        if folder.paused != paused {
            folder.paused = paused;
            self.save(&folder)?;
            let (kind, verb) = if paused { (Kind::Paused, "Paused") } else { (Kind::Resumed, "Resumed") };
            let source = path.display().to_string();
            self.batches.log().note(NewEntry::new(kind, format!("{verb} watched folder {source}")).source(source));
        }
        self.halt(path);
        if !paused {
            self.launch(&folder);
        }
        self.get(path)
    }

    fn save(&self, folder: &WatchedFolder) -> Result<()> {
        self.settings.update(|s| {
            *s.watched_mut(&folder.path)? = folder.clone();
            Ok(())
        })
    }

    fn halt(&self, path: &Path) {
        if let Some(slot) = self.slots.lock().expect("watched lock").get_mut(path) {
            if let Some(stop) = slot.stop.take() {
                stop.cancel();
            }
            slot.error = None;
            slot.changes = None;
        }
    }

    /// Start a folder's sync; a failure to start or a sync that ends in an error shows as the
    /// folder's error.
    fn launch(&self, folder: &WatchedFolder) {
        let stop = CancellationToken::new();
        let path = folder.path.clone();
        let started = self.syncer(folder);
        let mut slots = self.slots.lock().expect("watched lock");
        let slot = slots.entry(path.clone()).or_default();
        slot.error = None;
        slot.notice = None;
        let syncer = match started {
            Ok(syncer) => syncer,
            Err(e) => {
                let error = e.info();
                self.batches.log().note(failure_entry(&path, &error));
                slot.error = Some(error);
                return;
            }
        };
        slot.stop = Some(stop.clone());
        slot.run += 1;
        let run = slot.run;
        drop(slots);
        let sink = self.batches.sink(Source::Watched(path.clone()), None);
        let (slots, log) = (self.slots.clone(), self.batches.log().clone());
        let tell = {
            let (slots, log, path) = (slots.clone(), log.clone(), path.clone());
            Arc::new(move |notice: String| {
                if let Some(slot) = slots.lock().expect("watched lock").get_mut(&path) {
                    if slot.run == run {
                        let source = path.display().to_string();
                        let message = format!("Watched folder {source}: {notice}");
                        log.note(NewEntry::new(Kind::WatchedNotice, message).source(source));
                        slot.notice = Some(notice);
                    }
                }
            })
        };
        let syncer = syncer.with_notice(tell);
        tokio::spawn(async move {
            let outcome = syncer.watch(sink, false, stop.clone()).await;
            if let Err(e) = outcome {
                let error = e.info();
                tracing::warn!(code = error.code, "watched folder {}: {}", path.display(), error.message);
                if let Some(slot) = slots.lock().expect("watched lock").get_mut(&path) {
                    // A run already replaced or stopped ends as it likes: it is not the folder's.
                    if slot.run == run && !stop.is_cancelled() {
                        log.note(failure_entry(&path, &error));
                        slot.stop = None;
                        slot.error = Some(error);
                    }
                }
            }
        });
    }

    fn syncer(&self, folder: &WatchedFolder) -> Result<Syncer> {
        syncer_for(self.queue.clone(), folder, self.gate)
    }
}

/// What the folder's journal (`queue`'s) says of its files: each by its newest job, and the
/// last [`RECENT_FILES`] synced.
pub fn files_of(queue: &Queue, folder: &WatchedFolder) -> Result<FolderFiles> {
    let dest = Destination::parse_for(queue.service(), &folder.destination)?;
    queue.journal().folder_files(queue.service().base_url(), &dest, &folder.path, RECENT_FILES)
}

/// How many of the folder's files are new or changed since its journal last saw them: its
/// syncer's walk, with its ignore patterns (no file is read).
pub fn changes_of(queue: &Arc<Queue>, folder: &WatchedFolder) -> Result<u64> {
    syncer_for(queue.clone(), folder, SyncOptions::default().gate)?.changes_waiting()
}

/// A saved folder's syncer on `queue`, with its destination, naming, filters and batch.
pub(super) fn syncer_for(queue: Arc<Queue>, folder: &WatchedFolder, gate: Duration) -> Result<Syncer> {
    let dest = Destination::parse_for(queue.service(), &folder.destination)?;
    let template = folder.template.as_deref().map(Template::parse).transpose()?;
    let opts = SyncOptions {
        gate,
        ignore: folder.ignore.clone(),
        delete: folder.delete,
        batch: folder.batch()?,
        ..SyncOptions::default()
    };
    Syncer::new(queue, &folder.path, dest, namer(template, folder.path.clone()), opts)
}

fn failure_entry(path: &Path, error: &ErrorInfo) -> NewEntry {
    let source = path.display().to_string();
    NewEntry {
        code: Some(error.code.clone()),
        ..NewEntry::new(Kind::WatchedError, format!("Watched folder {source} stopped: {}", error.message))
            .source(source)
    }
}

/// Gitignore patterns as the syncer builds them, so a bad one is refused when it is saved.
fn ignore_patterns_ok(patterns: &[String]) -> Result<()> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new("/");
    for pattern in patterns {
        builder
            .add_line(None, pattern)
            .map_err(|e| Error::invalid(Invalid::IgnorePattern, format!("ignore pattern {pattern:?}: {e}")))?;
    }
    builder.build().map(|_| ()).map_err(|e| Error::invalid(Invalid::IgnorePattern, format!("ignore patterns: {e}")))
}

#[cfg(test)]
mod tests;
