//! Keeping a Twin in step with a watched folder. A file goes to the queue only once it has
//! stopped changing (the stability gate: size and mtime the same for `gate`), so a file still
//! being written is never sent; the upload stage checks it once more after sending, and a file
//! that changed meanwhile fails that job and comes back through the gate.
//!
//! On start, and whenever the watcher may have missed events (and every `rescan_every`), the
//! tree is walked and reconciled with the journal: a file whose size and mtime match a finished
//! job is left alone without being read. Ignore patterns are gitignore-style (`ignore` crate),
//! with defaults for the debris editors and browsers leave behind.
//!
//! While the server is unreachable, jobs wait in the journal and retry (the queue's policy with
//! no attempt limit for network errors): nothing is lost, and a restart carries on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::gate::Gate;
use super::watch::{Change, FolderWatcher};
use crate::error::{Error, Invalid, Result};
use crate::naming::{self, Template, TemplateInput};
use crate::queue::{EventSink, Queue, RunMode};
use crate::service::Destination;

/// Ignored unless the user says otherwise: OS and editor debris, partial downloads.
pub const DEFAULT_IGNORES: [&str; 6] = [".DS_Store", "*.tmp", "~$*", ".git/", "*.part", "*.crdownload"];

/// What happens to a Doc when its file is deleted from the folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DeletePolicy {
    /// Keep the Doc (the folder is a way in, not a mirror).
    #[default]
    Ignore,
    /// Delete the Doc too.
    Mirror,
}

impl DeletePolicy {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ignore" => Ok(DeletePolicy::Ignore),
            "mirror" => Ok(DeletePolicy::Mirror),
            _ => Err(Error::invalid(Invalid::DeletePolicy, format!("delete policy {s:?}: use ignore or mirror"))),
        }
    }
}

#[derive(Clone)]
pub struct SyncOptions {
    /// How long a file's size and mtime must stay the same before it is sent.
    pub gate: Duration,
    /// A full walk this often, whatever the watcher says.
    pub rescan_every: Duration,
    /// A full walk this often while some directories have no watch (the inotify limit).
    pub rescan_when_limited: Duration,
    /// Gitignore-style patterns, on top of [`DEFAULT_IGNORES`].
    pub ignore: Vec<String>,
    pub delete: DeletePolicy,
    /// This folder's storage class and description, when its queue is shared with folders
    /// that have others; `None` takes the queue's.
    pub batch: Option<crate::queue::Batch>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            gate: Duration::from_secs(2),
            rescan_every: Duration::from_secs(300),
            rescan_when_limited: Duration::from_secs(30),
            ignore: vec![],
            delete: DeletePolicy::Ignore,
            batch: None,
        }
    }
}

/// The name a file under the root gets on the server, from its path relative to the root.
pub type Namer = Arc<dyn Fn(&Path, &std::fs::Metadata) -> Result<String> + Send + Sync>;

/// Names from a template, or the sanitized relative path without one. `root` is where the
/// relative paths start (a template's `{hash8}` reads the file).
pub fn namer(template: Option<Template>, root: PathBuf) -> Namer {
    Arc::new(move |relative, meta| {
        let Some(template) = &template else { return naming::sanitize_path(relative).map(|n| n.to_string()) };
        let sha256 =
            if template.as_str().contains("{hash8}") { sha256_now(&root.join(relative))? } else { String::new() };
        let modified: chrono::DateTime<chrono::Local> =
            meta.modified().map(Into::into).unwrap_or_else(|_| chrono::Local::now());
        let input = TemplateInput { relative_path: relative, modified: modified.fixed_offset(), sha256: &sha256 };
        template.render(&input).map(|n| n.to_string())
    })
}

/// A blocking SHA-256, for the one template placeholder that needs it while naming.
fn sha256_now(path: &Path) -> Result<String> {
    use std::io::Read;
    let (mut file, _) = crate::source::open(path)?;
    let mut hasher = crate::hash::Sha256Stream::default();
    let mut buf = vec![0u8; crate::hash::CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::file(path, e))?;
        if n == 0 {
            return Ok(hasher.finish_hex());
        }
        hasher.update(&buf[..n]);
    }
}

/// A file gone from a mirrored folder, waiting to be sure before its Doc is deleted.
struct Vanished {
    since: Instant,
    /// Not before this (a delete that failed waits, as the retry policy says).
    next_try: Instant,
    failures: u32,
}

impl Vanished {
    fn new(since: Instant) -> Self {
        Vanished { since, next_try: since, failures: 0 }
    }
}

pub struct Syncer {
    queue: Arc<Queue>,
    root: PathBuf,
    dest: Destination,
    namer: Namer,
    opts: SyncOptions,
    ignore: Gitignore,
    notice: Option<Notice>,
}

/// Hears, once, what the user should know about a folder that keeps syncing (the watch limit).
pub type Notice = Arc<dyn Fn(String) + Send + Sync>;

/// What a folder with directories the watch limit left out says.
pub fn limited_notice(every: Duration) -> String {
    format!(
        "Some of its folders cannot be watched: the system's inotify watch limit \
         (fs.inotify.max_user_watches) is reached. They are walked every {} s instead, so changes there \
         sync later; raise the limit to watch them all.",
        every.as_secs()
    )
}

/// What a folder at `root` leaves out: [`DEFAULT_IGNORES`] and its own gitignore lines.
pub fn ignores(root: &Path, patterns: &[String]) -> Result<Gitignore> {
    let mut builder = GitignoreBuilder::new(root);
    for pattern in DEFAULT_IGNORES.iter().copied().chain(patterns.iter().map(String::as_str)) {
        builder
            .add_line(None, pattern)
            .map_err(|e| Error::invalid(Invalid::IgnorePattern, format!("ignore pattern {pattern:?}: {e}")))?;
    }
    builder.build().map_err(|e| Error::invalid(Invalid::IgnorePattern, format!("ignore patterns: {e}")))
}

impl Syncer {
    pub fn new(queue: Arc<Queue>, root: &Path, dest: Destination, namer: Namer, opts: SyncOptions) -> Result<Self> {
        let root = std::fs::canonicalize(root).map_err(|e| Error::file(root, e))?;
        if !root.is_dir() {
            return Err(Error::NotAFolder { path: root });
        }
        let ignore = ignores(&root, &opts.ignore)?;
        Ok(Syncer { queue, root, dest, namer, opts, ignore, notice: None })
    }

    /// Who hears the folder's notices (the app's folder status, the CLI's output).
    pub fn with_notice(mut self, notice: Notice) -> Self {
        self.notice = Some(notice);
        self
    }

    pub(super) fn ignored(&self, path: &Path, is_dir: bool) -> bool {
        path.strip_prefix(&self.root).is_err() || self.ignore.matched_path_or_any_parents(path, is_dir).is_ignore()
    }

    /// Every file under the root that is not ignored, with its metadata.
    fn walk(&self) -> Vec<(PathBuf, std::fs::Metadata)> {
        self.walk_from(&self.root)
    }

    fn walk_from(&self, top: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
        let mut out = Vec::new();
        let walker = ignore::WalkBuilder::new(top)
            .standard_filters(false)
            .follow_links(false)
            .filter_entry({
                let ignore = self.ignore.clone();
                move |e| !ignore.matched(e.path(), e.file_type().is_some_and(|t| t.is_dir())).is_ignore()
            })
            .build();
        for entry in walker.flatten() {
            if entry.file_type().is_some_and(|t| t.is_file()) {
                if let Ok(meta) = entry.metadata() {
                    out.push((entry.into_path(), meta));
                }
            }
        }
        out
    }

    /// Files that differ from what the journal says was sent (new, changed, or never finished).
    fn changed_files(&self) -> Result<Vec<(PathBuf, u64, i64)>> {
        let sent = self.queue.journal().finished_files(self.queue.service().base_url(), &self.dest)?;
        Ok(self.differing(&sent))
    }

    /// The files whose size or mtime is not what `recorded` has of them, or that it lacks. No
    /// file is read: the walk's metadata is enough.
    fn differing(&self, recorded: &HashMap<PathBuf, (u64, i64)>) -> Vec<(PathBuf, u64, i64)> {
        self.walk()
            .into_iter()
            .map(|(path, meta)| {
                let (size, mtime) = (meta.len(), crate::journal::mtime_ns(&meta));
                (path, size, mtime)
            })
            .filter(|(path, size, mtime)| recorded.get(path) != Some(&(*size, *mtime)))
            .collect()
    }

    /// How many files are new or changed since the journal last saw them (whatever became of
    /// that job: a failed or waiting file is counted as such, not as a change): the changes a
    /// paused folder has not seen. One walk and one journal read, no hashing.
    pub fn changes_waiting(&self) -> Result<u64> {
        let base_url = self.queue.service().base_url();
        let seen = self.queue.journal().folder_records(base_url, &self.dest, &self.root)?;
        Ok(self.differing(&seen).len() as u64)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Run the queue and watch and sync until `stop` fires (or, with `once`, until everything
    /// present at the start has been sent and nothing else is moving). If the queue stops,
    /// so does the sync, with the queue's error: files handed to a queue that no longer runs
    /// would never go up.
    pub async fn run(self, sink: EventSink, once: bool, stop: tokio_util::sync::CancellationToken) -> Result<()> {
        let mut runner = {
            let (queue, sink) = (self.queue.clone(), sink.clone());
            tokio::spawn(async move { queue.run(sink, RunMode::Forever).await })
        };
        let _stop_runner = AbortOnDrop(runner.abort_handle());
        tokio::select! {
            outcome = self.watch(sink, once, stop) => outcome,
            ended = &mut runner => Err(queue_ended(ended)),
        }
    }

    /// [`run`](Self::run) for a queue that runs elsewhere (one queue shared by many folders):
    /// whoever runs it stops the syncs if it ends.
    pub async fn watch(self, sink: EventSink, once: bool, stop: tokio_util::sync::CancellationToken) -> Result<()> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Started before the first walk, so nothing written during the walk is missed.
        let watcher = if once { None } else { Some(FolderWatcher::start(&self.root, Duration::from_millis(100), tx)?) };
        let mut waiting = Gate::new(self.opts.gate);
        let mut vanished: HashMap<PathBuf, Vanished> = HashMap::new();
        if self.opts.delete == DeletePolicy::Mirror {
            // Deletes decided before a restart: looked at again (the file may be back).
            let base = self.queue.service().base_url();
            for pending in self.queue.journal().deletions(base, &self.dest)? {
                let since = Instant::now().checked_sub(self.opts.gate).unwrap_or_else(Instant::now);
                vanished.insert(pending.job.path, Vanished::new(since));
            }
        }
        let mut last_walk = Instant::now();
        let mut rescan_every = self.opts.rescan_every;
        for (path, size, mtime_ns) in self.changed_files()? {
            waiting.add(path, size, mtime_ns);
        }
        // How often waiting files are looked at: a small part of the gate, so a file goes up
        // soon after its gate ends.
        let tick = (self.opts.gate / 20).clamp(Duration::from_millis(20), Duration::from_millis(100));
        let mut last_look = Instant::now();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                change = rx.recv() => match change {
                    Some(change) => {
                        // A burst comes as many events: take them all before looking at files.
                        self.on_change(change, &mut waiting, &mut vanished)?;
                        while let Ok(change) = rx.try_recv() {
                            self.on_change(change, &mut waiting, &mut vanished)?;
                        }
                    }
                    None => tokio::time::sleep(tick).await,
                },
                _ = tokio::time::sleep(tick) => {}
            }
            // Directories without a watch are only seen by walking: walk often, and say so once.
            if watcher.as_ref().is_some_and(FolderWatcher::limited) && rescan_every > self.opts.rescan_when_limited {
                rescan_every = self.opts.rescan_when_limited;
                let notice = limited_notice(rescan_every);
                tracing::warn!("{}: {notice}", self.root.display());
                if let Some(tell) = &self.notice {
                    tell(notice);
                }
            }
            if last_walk.elapsed() >= rescan_every {
                self.rescan(&mut waiting)?;
                last_walk = Instant::now();
            }
            if last_look.elapsed() < tick {
                continue;
            }
            last_look = Instant::now();
            let ready = waiting.through();
            if !ready.is_empty() {
                self.send(ready, &sink).await?;
            }
            self.tend_vanished(&mut vanished, &sink).await?;
            // A once-run does not wait on a delete the server keeps refusing: it was tried, and
            // its intent stays in the journal for the next run.
            let deletes_tried = vanished.values().all(|v| v.failures > 0);
            if once && waiting.is_empty() && deletes_tried && self.queue.is_idle()? {
                return Ok(());
            }
        }
    }

    fn on_change(&self, change: Change, waiting: &mut Gate, vanished: &mut HashMap<PathBuf, Vanished>) -> Result<()> {
        // A mirror only notes that the file is gone: editors save by renaming the old file
        // away (or a temporary file over it), and the file is back a moment later.
        let mut gone = |path: PathBuf| {
            if self.opts.delete == DeletePolicy::Mirror && !self.ignored(&path, false) {
                vanished.entry(path).or_insert_with(|| Vanished::new(Instant::now()));
            }
        };
        match change {
            Change::Touched(path) => self.consider(path, waiting),
            Change::Removed(path) => {
                waiting.remove(&path);
                gone(path);
            }
            Change::Renamed { from, to } => {
                waiting.remove(&from);
                gone(from);
                if to.is_dir() {
                    // A folder moved in: everything under it is new here.
                    self.rescan(waiting)?;
                } else {
                    self.consider(to, waiting);
                }
            }
            Change::Rescan => self.rescan(waiting)?,
        }
        Ok(())
    }

    /// Files gone for the whole gate have their Doc deleted, if it is provably theirs and
    /// unchanged (`Queue::delete_own_doc`); the intent is journaled first. A file that is back
    /// keeps its Doc. A delete that fails waits and is tried again, and holds up nothing else.
    async fn tend_vanished(&self, vanished: &mut HashMap<PathBuf, Vanished>, sink: &EventSink) -> Result<()> {
        let now = Instant::now();
        let due: Vec<PathBuf> = vanished
            .iter()
            .filter(|(_, v)| now.duration_since(v.since) >= self.opts.gate && now >= v.next_try)
            .map(|(p, _)| p.clone())
            .collect();
        for path in due {
            let job = self.queue.own_doc_job(&self.dest, &path)?;
            if std::fs::symlink_metadata(&path).is_ok() || job.is_none() {
                if let Some(job) = &job {
                    self.queue.journal().drop_deletion(job.id)?;
                }
                vanished.remove(&path);
                continue;
            }
            let job = job.expect("checked above");
            self.queue.journal().intend_delete(job.id)?;
            match self.queue.delete_own_doc(&self.dest, &job, sink).await {
                Ok(_) => {
                    vanished.remove(&path);
                }
                Err(e) => {
                    let v = vanished.get_mut(&path).expect("due");
                    v.failures += 1;
                    let policy = &self.queue.options().retry;
                    // Refusals too are tried again (permissions change), on the same backoff.
                    let unit = fastrand::f64();
                    let wait = policy.delay(&e, v.failures, unit).unwrap_or_else(|| policy.backoff(v.failures, unit));
                    v.next_try = Instant::now() + wait;
                    tracing::warn!(
                        job = job.id,
                        code = e.code(),
                        "{}: its Doc could not be deleted: {e}",
                        path.display()
                    );
                    sink(crate::queue::QueueEvent::Retrying {
                        id: job.id,
                        error: e.info(),
                        wait_ms: wait.as_millis() as u64,
                    });
                }
            }
        }
        Ok(())
    }

    /// Put a file at the gate (or reset its clock if it is there and changed). A new folder's
    /// files are walked: they may have been written before its watch was in place.
    fn consider(&self, path: PathBuf, waiting: &mut Gate) {
        let Ok(meta) = std::fs::symlink_metadata(&path) else { return };
        if meta.is_dir() && !self.ignored(&path, true) {
            for (file, meta) in self.walk_from(&path) {
                waiting.add(file, meta.len(), crate::journal::mtime_ns(&meta));
            }
            return;
        }
        if !meta.is_file() || self.ignored(&path, false) {
            return;
        }
        waiting.changed(path, meta.len(), crate::journal::mtime_ns(&meta));
    }

    fn rescan(&self, waiting: &mut Gate) -> Result<()> {
        for (path, size, mtime_ns) in self.changed_files()? {
            waiting.add(path, size, mtime_ns);
        }
        Ok(())
    }

    async fn send(&self, paths: Vec<PathBuf>, sink: &EventSink) -> Result<()> {
        let mut names = Vec::with_capacity(paths.len());
        let mut present = Vec::with_capacity(paths.len());
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let relative = path.strip_prefix(&self.root).unwrap_or(&path).to_owned();
            // A name that cannot be made is the file's refusal, with its reason, like any bad file.
            names.push((self.namer)(&relative, &meta).map_err(|e| e.info()));
            present.push(path);
        }
        let batch = self.opts.batch.as_ref();
        self.queue.enqueue_named(self.dest.clone(), &present, Some(&names), batch, sink).await.map(|_| ())
    }
}

/// Why a queue's run ended: its own error, or [`Error::QueueStopped`] if it ended without one
/// (it runs forever) or panicked.
pub fn queue_ended(ended: std::result::Result<Result<()>, tokio::task::JoinError>) -> Error {
    match ended {
        Ok(Err(e)) => e,
        Ok(Ok(())) => Error::QueueStopped("the upload queue ended".into()),
        Err(e) => Error::QueueStopped(format!("the upload queue stopped: {e}")),
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::service::trusted_twin::TrustedTwin;

    /// A sync whose queue stops (here its journal loses its table under it, so every worker's
    /// next claim fails) ends with the queue's error instead of watching on for nothing.
    #[tokio::test]
    async fn a_sync_ends_when_its_queue_stops() {
        let em =
            twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), twindrop_emulator::Config::new("s"))
                .await
                .unwrap();
        let tt = Arc::new(TrustedTwin::new(em.base_url(), crate::Secret::new("s")).unwrap());
        let twin = tt.create_twin().await.unwrap();
        let (root, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let db = state.path().join("j.sqlite");
        let queue = Queue::new(tt, Arc::new(Journal::open(&db).unwrap()), crate::queue::Options::default());
        let opts = SyncOptions { rescan_every: Duration::from_secs(3600), ..SyncOptions::default() };
        let syncer =
            Syncer::new(queue, root.path(), (&twin).into(), namer(None, root.path().to_owned()), opts).unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(syncer.run(Arc::new(|_| {}), false, stop.clone()));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!task.is_finished(), "a healthy sync keeps watching");
        rusqlite::Connection::open(&db).unwrap().execute_batch("DROP TABLE jobs").unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(10), task).await.expect("the sync ended").unwrap();
        assert_eq!(outcome.unwrap_err().code(), "journal.failed");
        em.shutdown().await;
    }

    #[test]
    fn a_queue_that_ends_is_an_error() {
        assert_eq!(queue_ended(Ok(Ok(()))).code(), "queue.stopped");
        assert_eq!(queue_ended(Ok(Err(Error::Journal("disk".into())))).code(), "journal.failed");
    }
}
