//! What happened, newest first, kept across restarts: batches that finished or failed (with
//! counts), the files that failed in them (code and path), watched-folder syncs and errors,
//! pause and resume, sign-in and sign-out. Its own SQLite file in the data folder
//! (`activity.sqlite`), so it never contends with the journal; bounded to the newest `cap`
//! entries, and a batch logs at most [`FAILURES_PER_BATCH`] of its failed files one by one.
//!
//! [`Batches`] turns a queue's events into batch entries: a batch starts with the first job
//! added while none of its source is open and ends when every job in it has settled.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::journal::JobState;
use crate::queue::{EventSink, QueueEvent};
use crate::DocStatus;

/// Entries kept by default; the oldest go first.
pub const DEFAULT_CAP: usize = 5_000;
/// Failed files of one batch logged one by one; the rest are counted in the batch's entry.
pub const FAILURES_PER_BATCH: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
#[serde(rename = "ActivityKind")] // the TypeScript name only: JSON carries no type names
pub enum Kind {
    BatchFinished,
    /// A batch in which at least one file failed.
    BatchFailed,
    ItemFailed,
    /// A file whose name another Doc or another file holds: renamed, or skipped.
    Conflict,
    WatchedSync,
    WatchedError,
    Paused,
    Resumed,
    SignedIn,
    SignedOut,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BatchFinished => "batch_finished",
            Kind::BatchFailed => "batch_failed",
            Kind::ItemFailed => "item_failed",
            Kind::Conflict => "conflict",
            Kind::WatchedSync => "watched_sync",
            Kind::WatchedError => "watched_error",
            Kind::Paused => "paused",
            Kind::Resumed => "resumed",
            Kind::SignedIn => "signed_in",
            Kind::SignedOut => "signed_out",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Counts {
    pub ok: u32,
    pub failed: u32,
    pub skipped: u32,
    pub cancelled: u32,
}

impl Counts {
    /// "3 ok, 1 failed" (only the non-zero parts; "nothing" when all are zero).
    pub fn summary(&self) -> String {
        let parts: Vec<String> =
            [(self.ok, "ok"), (self.failed, "failed"), (self.skipped, "skipped"), (self.cancelled, "cancelled")]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }
}

/// How a batch ended, for whoever tells the user (the desktop notification).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchEnd {
    pub counts: Counts,
    /// The first failure's code and message, so a notification can say what went wrong
    /// without a list.
    pub first_failure: Option<(String, String)>,
}

impl BatchEnd {
    /// One line for a notification title.
    pub fn headline(&self) -> String {
        let files = |n: u32| if n == 1 { "1 file".to_owned() } else { format!("{n} files") };
        match (self.counts.ok, self.counts.failed) {
            (0, 0) if self.counts.skipped > 0 => format!("{} already up to date", files(self.counts.skipped)),
            (0, 0) => format!("{} cancelled", files(self.counts.cancelled)),
            (n, 0) => format!("{} uploaded", files(n)),
            (0, f) => format!("{} failed", files(f)),
            (n, f) => format!("{} uploaded, {f} failed", files(n)),
        }
    }

    /// The notification's body: what failed first, with its code, or nothing to add.
    pub fn detail(&self) -> Option<String> {
        let (code, message) = self.first_failure.as_ref()?;
        let more = match self.counts.failed {
            0 | 1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        Some(format!("{code} — {message}{more}"))
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
#[serde(rename = "ActivityEntry")] // the TypeScript name only: JSON carries no type names
pub struct Entry {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub kind: Kind,
    pub message: String,
    /// An error's stable code, for failures.
    pub code: Option<String>,
    pub file: Option<String>,
    /// What it is about: a watched folder's path, an account.
    pub source: Option<String>,
    pub counts: Option<Counts>,
}

/// What to record; the log adds the id and the time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub kind: Kind,
    pub message: String,
    pub code: Option<String>,
    pub file: Option<String>,
    pub source: Option<String>,
    pub counts: Option<Counts>,
}

impl NewEntry {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        NewEntry { kind, message: message.into(), code: None, file: None, source: None, counts: None }
    }

    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }
}

/// Which entries to list: any of `kinds` (all when empty), whose message, file or code holds
/// `text`, older than the entry `before` (paging), at most `limit` (default 200, at most 1,000).
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(default, rename_all = "camelCase")]
#[serde(rename = "ActivityFilter")] // the TypeScript name only: JSON carries no type names
pub struct Filter {
    pub kinds: Vec<Kind>,
    pub text: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

pub struct ActivityLog {
    conn: Mutex<Connection>,
    cap: usize,
}

fn db(e: rusqlite::Error) -> Error {
    Error::Journal(format!("activity log: {e}"))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl ActivityLog {
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_cap(path, DEFAULT_CAP)
    }

    pub fn open_with_cap(path: &Path, cap: usize) -> Result<Self> {
        // Private (0600 files in a 0700 folder), like the journal.
        crate::private::touch_private(path)?;
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        crate::private::sqlite_companions(path).iter().try_for_each(|p| crate::private::chmod_private(p))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS activity (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at_ms INTEGER NOT NULL,
                kind TEXT NOT NULL,
                message TEXT NOT NULL,
                code TEXT,
                file TEXT,
                source TEXT,
                counts TEXT
            );
            CREATE INDEX IF NOT EXISTS activity_kind ON activity (kind, id);",
        )
        .map_err(db)?;
        Ok(ActivityLog { conn: Mutex::new(conn), cap: cap.max(1) })
    }

    /// Add an entry (now) and drop the oldest beyond the cap.
    pub fn record(&self, entry: NewEntry) -> Result<i64> {
        let conn = self.conn.lock().expect("activity lock");
        let counts = entry.counts.map(|c| serde_json::to_string(&c).expect("counts serialise"));
        conn.prepare_cached(
            "INSERT INTO activity (at_ms, kind, message, code, file, source, counts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut s| {
            s.execute(params![now_ms(), entry.kind.as_str(), entry.message, entry.code, entry.file, entry.source, counts])
        })
        .map_err(db)?;
        let id = conn.last_insert_rowid();
        // AUTOINCREMENT ids never repeat, so "the newest `cap`" is an id range.
        conn.prepare_cached("DELETE FROM activity WHERE id <= ?1")
            .and_then(|mut s| s.execute(params![id - self.cap as i64]))
            .map_err(db)?;
        Ok(id)
    }

    /// Entries matching `filter`, newest first.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Entry>> {
        let mut sql =
            String::from("SELECT id, at_ms, kind, message, code, file, source, counts FROM activity WHERE id < ?1");
        let mut args: Vec<rusqlite::types::Value> = vec![filter.before.unwrap_or(i64::MAX).into()];
        if !filter.kinds.is_empty() {
            let marks: Vec<String> = filter
                .kinds
                .iter()
                .map(|k| {
                    args.push(k.as_str().to_owned().into());
                    format!("?{}", args.len())
                })
                .collect();
            sql += &format!(" AND kind IN ({})", marks.join(","));
        }
        if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            args.push(format!("%{escaped}%").into());
            let n = args.len();
            sql += &format!(
                " AND (message LIKE ?{n} ESCAPE '\\' OR file LIKE ?{n} ESCAPE '\\' OR code LIKE ?{n} ESCAPE '\\' \
                 OR source LIKE ?{n} ESCAPE '\\')"
            );
        }
        args.push((filter.limit.unwrap_or(200).clamp(1, 1_000) as i64).into());
        sql += &format!(" ORDER BY id DESC LIMIT ?{}", args.len());
        let conn = self.conn.lock().expect("activity lock");
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at_ms, kind, message, code, file, source, counts) = row.map_err(db)?;
            // A kind written by a newer Twindrop is left out rather than failing the list.
            let Some(kind) = Kind::parse(&kind) else { continue };
            let counts = counts.and_then(|c| serde_json::from_str(&c).ok());
            out.push(Entry { id, at_ms, kind, message, code, file, source, counts });
        }
        Ok(out)
    }

    /// When the newest entry of `kind` about `source` was written.
    pub fn last_at(&self, kind: Kind, source: &str) -> Result<Option<i64>> {
        let conn = self.conn.lock().expect("activity lock");
        conn.prepare_cached("SELECT max(at_ms) FROM activity WHERE kind = ?1 AND source = ?2")
            .and_then(|mut s| s.query_row(params![kind.as_str(), source], |r| r.get::<_, Option<i64>>(0)).optional())
            .map(Option::flatten)
            .map_err(db)
    }

    pub fn len(&self) -> Result<usize> {
        let conn = self.conn.lock().expect("activity lock");
        conn.query_row("SELECT count(*) FROM activity", [], |r| r.get::<_, i64>(0)).map(|n| n as usize).map_err(db)
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Record, and only log a failure to record: the log must never stop what it describes.
    pub fn note(&self, entry: NewEntry) {
        if let Err(e) = self.record(entry) {
            tracing::warn!(code = e.code(), "activity not recorded: {e}");
        }
    }
}

/// Where a batch came from: dropped files, or a watched folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Uploads,
    Watched(PathBuf),
}

impl Source {
    fn key(&self) -> Option<String> {
        match self {
            Source::Uploads => None,
            Source::Watched(path) => Some(path.display().to_string()),
        }
    }
}

struct Batch {
    pending: HashSet<u64>,
    end: BatchEnd,
}

#[derive(Default)]
struct Tracking {
    /// Jobs of open batches: their source and file.
    jobs: HashMap<u64, (Source, String)>,
    open: HashMap<Source, Batch>,
    /// Batches whose end is being reported: still open to `is_open`, so a folder never reads
    /// as idle before its end (and last sync time) is written.
    ending: HashMap<Source, usize>,
}

/// Called when a batch ends, with its source and counts (the watched folders keep their
/// "last sync" time with it).
pub type OnBatchEnd = Arc<dyn Fn(&Source, &BatchEnd) + Send + Sync>;

/// Turns one queue's events into batch entries. Job ids are a journal's: use one `Batches` per
/// queue.
pub struct Batches {
    log: Arc<ActivityLog>,
    state: Mutex<Tracking>,
    on_end: Option<OnBatchEnd>,
}

impl Batches {
    pub fn new(log: Arc<ActivityLog>, on_end: Option<OnBatchEnd>) -> Arc<Self> {
        Arc::new(Batches { log, state: Mutex::new(Tracking::default()), on_end })
    }

    pub fn log(&self) -> &Arc<ActivityLog> {
        &self.log
    }

    /// A sink that sees events as coming from `source`, then passes them on to `next`.
    pub fn sink(self: &Arc<Self>, source: Source, next: Option<EventSink>) -> EventSink {
        let me = self.clone();
        Arc::new(move |event: QueueEvent| {
            me.see(&source, &event);
            if let Some(next) = &next {
                next(event);
            }
        })
    }

    fn note_conflict(&self, source: &Source, file: String, message: String) {
        self.log.note(conflict_entry(source, file, message));
    }

    /// Whether a batch of `source` is still moving.
    pub fn is_open(&self, source: &Source) -> bool {
        let t = self.state.lock().expect("batches lock");
        t.open.contains_key(source) || t.ending.contains_key(source)
    }

    /// Account for one event. A job's `added` (or its return to the queue) puts it in the open
    /// batch of `source` (starting one if needed); its final event counts it.
    pub fn see(&self, source: &Source, event: &QueueEvent) {
        let mut t = self.state.lock().expect("batches lock");
        let (id, outcome, failure) = match event {
            QueueEvent::Added { id, path, .. } => return join(&mut t, *id, source, path.clone()),
            QueueEvent::State { id, state: JobState::Queued } => {
                if !t.jobs.contains_key(id) {
                    join(&mut t, *id, source, String::new());
                }
                return;
            }
            QueueEvent::Finished { id, status: DocStatus::Ok, .. } => (*id, Outcome::Ok, None),
            QueueEvent::Finished { id, status, doc_name, .. } => {
                let failure =
                    (format!("doc.{}", status.as_str()), format!("Doc {doc_name:?} ended {}", status.as_str()));
                (*id, Outcome::Failed, Some(failure))
            }
            QueueEvent::Failed { id, error } => {
                (*id, Outcome::Failed, Some((error.code.clone(), error.message.clone())))
            }
            QueueEvent::Renamed { id, doc_name } => {
                let Some((source, file)) = t.jobs.get(id).cloned() else { return };
                drop(t);
                let message = format!("its name is another Doc's or another file's: sent as {doc_name}");
                return self.note_conflict(&source, file, message);
            }
            QueueEvent::Skipped { id, reason, .. } => {
                // Unchanged files are skipped all the time; a name held by someone else's Doc
                // is worth a line.
                if reason.starts_with(crate::queue::CONFLICT_SKIP) {
                    if let Some((source, file)) = t.jobs.get(id).cloned() {
                        self.log.note(conflict_entry(&source, file, reason.clone()));
                    }
                }
                (*id, Outcome::Skipped, None)
            }
            QueueEvent::State { id, state: JobState::Cancelled } => (*id, Outcome::Cancelled, None),
            _ => return,
        };
        let Some((source, file)) = t.jobs.remove(&id) else { return };
        let Some(batch) = t.open.get_mut(&source) else { return };
        batch.pending.remove(&id);
        if let (Some(failure), None) = (&failure, &batch.end.first_failure) {
            batch.end.first_failure = Some(failure.clone());
        }
        let c = &mut batch.end.counts;
        match outcome {
            Outcome::Ok => c.ok += 1,
            Outcome::Failed => c.failed += 1,
            Outcome::Skipped => c.skipped += 1,
            Outcome::Cancelled => c.cancelled += 1,
        }
        let (end, over) = (batch.end.clone(), batch.pending.is_empty());
        let counts = end.counts;
        if over {
            t.open.remove(&source);
            *t.ending.entry(source.clone()).or_default() += 1;
        }
        drop(t);
        if let Some((code, message)) = failure.filter(|_| counts.failed <= FAILURES_PER_BATCH) {
            self.log.note(NewEntry {
                kind: Kind::ItemFailed,
                message,
                code: Some(code),
                file: (!file.is_empty()).then_some(file),
                source: source.key(),
                counts: None,
            });
        }
        if over {
            self.log.note(batch_entry(&source, &counts));
            if let Some(on_end) = &self.on_end {
                on_end(&source, &end);
            }
            let mut t = self.state.lock().expect("batches lock");
            if let Some(n) = t.ending.get_mut(&source) {
                *n -= 1;
                if *n == 0 {
                    t.ending.remove(&source);
                }
            }
        }
    }
}

enum Outcome {
    Ok,
    Failed,
    Skipped,
    Cancelled,
}

fn join(t: &mut Tracking, id: u64, source: &Source, file: String) {
    t.jobs.insert(id, (source.clone(), file));
    t.open
        .entry(source.clone())
        .or_insert_with(|| Batch { pending: HashSet::new(), end: BatchEnd::default() })
        .pending
        .insert(id);
}

fn conflict_entry(source: &Source, file: String, message: String) -> NewEntry {
    NewEntry {
        kind: Kind::Conflict,
        message,
        code: Some("name.conflict".into()),
        file: (!file.is_empty()).then_some(file),
        source: source.key(),
        counts: None,
    }
}

fn batch_entry(source: &Source, counts: &Counts) -> NewEntry {
    let files = counts.ok + counts.failed + counts.skipped + counts.cancelled;
    let plural = if files == 1 { "file" } else { "files" };
    let (kind, message) = match source {
        Source::Uploads if counts.failed > 0 => {
            (Kind::BatchFailed, format!("Upload of {files} {plural}: {}", counts.summary()))
        }
        Source::Uploads => (Kind::BatchFinished, format!("Upload of {files} {plural}: {}", counts.summary())),
        Source::Watched(path) => {
            (Kind::WatchedSync, format!("Synced {files} {plural} from {}: {}", path.display(), counts.summary()))
        }
    };
    NewEntry { kind, message, code: None, file: None, source: source.key(), counts: Some(*counts) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorInfo;

    fn log(cap: usize) -> (tempfile::TempDir, Arc<ActivityLog>) {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(ActivityLog::open_with_cap(&dir.path().join("activity.sqlite"), cap).unwrap());
        (dir, log)
    }

    #[test]
    fn newest_first_bounded_and_persistent() {
        let (dir, log) = log(50);
        for i in 0..120 {
            log.record(NewEntry::new(Kind::Paused, format!("entry {i}"))).unwrap();
        }
        assert_eq!(log.len().unwrap(), 50, "only the newest cap entries stay");
        let all = log.list(&Filter { limit: Some(1000), ..Filter::default() }).unwrap();
        assert_eq!(all.len(), 50);
        assert_eq!(all[0].message, "entry 119");
        assert_eq!(all[49].message, "entry 70");
        assert!(all.windows(2).all(|w| w[0].id > w[1].id && w[0].at_ms >= w[1].at_ms));
        // Paging: what is older than the last one seen.
        let page = log.list(&Filter { before: Some(all[9].id), limit: Some(5), ..Filter::default() }).unwrap();
        assert_eq!(
            page.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["entry 109", "entry 108", "entry 107", "entry 106", "entry 105"]
        );
        drop(log);
        let again = ActivityLog::open_with_cap(&dir.path().join("activity.sqlite"), 50).unwrap();
        assert_eq!(again.list(&Filter::default()).unwrap()[0].message, "entry 119", "kept across a restart");
    }

    #[test]
    fn filters_by_kind_and_text() {
        let (_dir, log) = log(100);
        log.record(NewEntry::new(Kind::SignedIn, "Signed in to the local sandbox")).unwrap();
        log.record(NewEntry {
            code: Some("file.not_found".into()),
            file: Some("/data/report_100%.pdf".into()),
            ..NewEntry::new(Kind::ItemFailed, "gone")
        })
        .unwrap();
        log.record(NewEntry::new(Kind::WatchedSync, "Synced 2 files from /data: 2 ok").source("/data")).unwrap();
        let kinds = |kinds: Vec<Kind>| log.list(&Filter { kinds, ..Filter::default() }).unwrap();
        assert_eq!(kinds(vec![Kind::ItemFailed])[0].code.as_deref(), Some("file.not_found"));
        assert_eq!(kinds(vec![Kind::SignedIn, Kind::WatchedSync]).len(), 2);
        assert_eq!(kinds(vec![]).len(), 3);
        let text = |t: &str| log.list(&Filter { text: Some(t.into()), ..Filter::default() }).unwrap();
        assert_eq!(text("NOT_FOUND").len(), 1, "case-insensitive, matches codes");
        assert_eq!(text("100%").len(), 1, "a % is a character, not a wildcard");
        assert_eq!(text("1_0").len(), 0, "an _ is a character, not a wildcard");
        assert_eq!(text("/data").len(), 2);
        assert!(log.last_at(Kind::WatchedSync, "/data").unwrap().is_some());
        assert_eq!(log.last_at(Kind::WatchedSync, "/elsewhere").unwrap(), None);
        let json = serde_json::to_value(&kinds(vec![Kind::WatchedSync])[0]).unwrap();
        assert_eq!(json["kind"], "watched_sync");
        assert!(json["atMs"].as_i64().unwrap() > 1_600_000_000_000);
    }

    fn added(id: u64, path: &str) -> QueueEvent {
        QueueEvent::Added { id, path: path.into(), file_name: path.into(), doc_name: None, size: Some(1) }
    }

    fn failed(id: u64, code: &str) -> QueueEvent {
        QueueEvent::Failed {
            id,
            error: ErrorInfo { code: code.into(), message: format!("{code} happened"), retryable: false },
        }
    }

    fn finished(id: u64, status: DocStatus) -> QueueEvent {
        QueueEvent::Finished { id, doc_name: format!("d{id}"), status, sha256: String::new() }
    }

    #[test]
    fn batch_headlines_count_what_happened() {
        let end = |ok, failed, skipped, cancelled| BatchEnd {
            counts: Counts { ok, failed, skipped, cancelled },
            first_failure: None,
        };
        assert_eq!(end(1, 0, 0, 0).headline(), "1 file uploaded");
        assert_eq!(end(12, 1, 3, 0).headline(), "12 files uploaded, 1 failed");
        assert_eq!(end(0, 2, 0, 0).headline(), "2 files failed");
        assert_eq!(end(0, 0, 4, 0).headline(), "4 files already up to date");
        assert_eq!(end(0, 0, 0, 1).headline(), "1 file cancelled");
        assert_eq!(end(5, 0, 0, 0).detail(), None);
    }

    #[test]
    fn conflicts_are_logged_and_unchanged_skips_are_not() {
        let (_dir, log) = log(1000);
        let batches = Batches::new(log.clone(), None);
        let folder = Source::Watched(PathBuf::from("/w"));
        let watched = batches.sink(folder.clone(), None);
        for id in 1..=3 {
            watched(added(id, &format!("/w/{id}.txt")));
        }
        watched(QueueEvent::Renamed { id: 1, doc_name: "1-1.txt".into() });
        let skipped = |id, reason: String| QueueEvent::Skipped { id, doc_name: format!("{id}.txt"), reason };
        watched(skipped(2, format!("{} 2.txt is already on the Twin", crate::queue::CONFLICT_SKIP)));
        watched(skipped(3, "unchanged since it was uploaded as 3.txt".into()));
        let conflicts = log.list(&Filter { kinds: vec![Kind::Conflict], ..Filter::default() }).unwrap();
        let files: Vec<_> = conflicts.iter().map(|e| e.file.as_deref()).collect();
        assert_eq!(files, [Some("/w/2.txt"), Some("/w/1.txt")], "{conflicts:?}");
        assert!(conflicts[1].message.contains("1-1.txt"), "{conflicts:?}");
        assert!(conflicts
            .iter()
            .all(|e| e.source.as_deref() == Some("/w") && e.code.as_deref() == Some("name.conflict")));
    }

    #[test]
    fn a_batch_ends_when_all_its_jobs_have_settled() {
        let (_dir, log) = log(1000);
        let ended = Arc::new(Mutex::new(Vec::new()));
        let on_end: OnBatchEnd = {
            let ended = ended.clone();
            Arc::new(move |s: &Source, e: &BatchEnd| ended.lock().unwrap().push((s.clone(), e.clone())))
        };
        let batches = Batches::new(log.clone(), Some(on_end));
        let folder = Source::Watched(PathBuf::from("/w"));
        let uploads = batches.sink(Source::Uploads, None);
        let watched = batches.sink(folder.clone(), None);
        for id in 1..=4 {
            uploads(added(id, &format!("/f/{id}.txt")));
        }
        watched(added(10, "/w/a.txt"));
        assert!(batches.is_open(&Source::Uploads) && batches.is_open(&folder));
        // Final events come through the queue's own sink: the job's source is remembered.
        batches.see(&Source::Uploads, &finished(1, DocStatus::Ok));
        batches.see(&Source::Uploads, &failed(2, "file.not_found"));
        batches.see(&Source::Uploads, &finished(3, DocStatus::HashMismatch));
        batches.see(&Source::Uploads, &finished(10, DocStatus::Ok));
        assert!(!batches.is_open(&folder));
        assert!(batches.is_open(&Source::Uploads), "job 4 is still moving");
        batches.see(&Source::Uploads, &QueueEvent::State { id: 4, state: JobState::Cancelled });
        assert!(!batches.is_open(&Source::Uploads));
        let entries = log.list(&Filter::default()).unwrap();
        let kinds: Vec<Kind> = entries.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [Kind::BatchFailed, Kind::WatchedSync, Kind::ItemFailed, Kind::ItemFailed]);
        assert_eq!(entries[0].message, "Upload of 4 files: 1 ok, 2 failed, 1 cancelled");
        assert_eq!(entries[0].counts, Some(Counts { ok: 1, failed: 2, skipped: 0, cancelled: 1 }));
        assert_eq!(entries[1].source.as_deref(), Some("/w"));
        assert_eq!(
            (entries[2].code.as_deref(), entries[2].file.as_deref()),
            (Some("doc.hash_mismatch"), Some("/f/3.txt"))
        );
        assert_eq!(
            (entries[3].code.as_deref(), entries[3].file.as_deref()),
            (Some("file.not_found"), Some("/f/2.txt"))
        );
        {
            let ended = ended.lock().unwrap();
            assert_eq!(ended.len(), 2);
            let (source, end) = &ended[1];
            assert_eq!(source, &Source::Uploads);
            assert_eq!(end.first_failure.as_ref().map(|f| f.0.as_str()), Some("file.not_found"));
            assert_eq!(end.headline(), "1 file uploaded, 2 failed");
            assert_eq!(end.detail().unwrap(), "file.not_found — file.not_found happened (and 1 more)");
        }
        // A job put back in the queue later starts a new batch of its own.
        batches.see(&Source::Uploads, &QueueEvent::State { id: 2, state: JobState::Queued });
        batches.see(&Source::Uploads, &finished(2, DocStatus::Ok));
        assert_eq!(log.list(&Filter::default()).unwrap()[0].message, "Upload of 1 file: 1 ok");
    }

    #[test]
    fn a_batch_logs_a_bounded_number_of_failed_files() {
        let (_dir, log) = log(10_000);
        let batches = Batches::new(log.clone(), None);
        let n = FAILURES_PER_BATCH as u64 + 30;
        for id in 0..n {
            batches.see(&Source::Uploads, &added(id, "/f"));
        }
        for id in 0..n {
            batches.see(&Source::Uploads, &failed(id, "auth.forbidden"));
        }
        let items =
            log.list(&Filter { kinds: vec![Kind::ItemFailed], limit: Some(1000), ..Filter::default() }).unwrap();
        assert_eq!(items.len(), FAILURES_PER_BATCH as usize);
        let batch = &log.list(&Filter { kinds: vec![Kind::BatchFailed], ..Filter::default() }).unwrap()[0];
        assert_eq!(batch.counts.unwrap().failed, n as u32, "the batch counts them all");
    }
}
