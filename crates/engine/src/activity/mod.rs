//! What happened, newest first, kept across restarts: batches that finished or failed (with
//! counts), the files that failed in them (code and path), watched-folder syncs and errors,
//! pause and resume, sign-in and sign-out. Its own SQLite file in the data folder
//! (`activity.sqlite`), so it never contends with the journal; bounded to the newest `cap`
//! entries, and a batch logs at most [`FAILURES_PER_BATCH`] of its failed files one by one.
//!
//! [`Batches`] turns a queue's events into batch entries: a batch starts with the first job
//! added while none of its source is open and ends when every job in it has settled.
//!
//! # Layout
//! - this module: the entries, their kinds and wording;
//! - `store`: [`ActivityLog`], the SQLite file (versioned schema), bounded;
//! - `batches`: [`Batches`], the jobs of a drop or a sync until all have settled.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod batches;
mod store;
pub use batches::{Batches, OnBatchEnd};
pub use store::ActivityLog;

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
    /// A folder that keeps syncing, with something the user should know (the watch limit).
    WatchedNotice,
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
            Kind::WatchedNotice => "watched_notice",
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
#[serde(rename = "ActivityCounts")] // the TypeScript name only (verify has `Counts` too)
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
    /// The first files sent, by name (with the Doc name when it is not the file's own), so
    /// the log says which files a batch was, not only how many.
    pub sent: Vec<String>,
}

/// How many of a batch's files its log line names.
pub const NAMED_PER_BATCH: usize = 3;

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
    #[specta(type = Option<crate::Code>)]
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

pub(super) fn conflict_entry(source: &Source, file: String, message: String) -> NewEntry {
    NewEntry {
        kind: Kind::Conflict,
        message,
        code: Some("name.conflict".into()),
        file: (!file.is_empty()).then_some(file),
        source: source.key(),
        counts: None,
    }
}

pub(super) fn batch_entry(source: &Source, end: &BatchEnd) -> NewEntry {
    let counts = &end.counts;
    let files = counts.ok + counts.failed + counts.skipped + counts.cancelled;
    let plural = if files == 1 { "file" } else { "files" };
    // "a.txt", or "a.txt, b.txt and 3 more" of the files sent.
    let named = match end.sent.as_slice() {
        [] => String::new(),
        sent => {
            let more = counts.ok as usize - sent.len().min(counts.ok as usize);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            format!(" ({}{more})", sent.join(", "))
        }
    };
    let (kind, message) = match source {
        Source::Uploads if counts.failed > 0 => {
            (Kind::BatchFailed, format!("Upload of {files} {plural}: {}{named}", counts.summary()))
        }
        Source::Uploads => (Kind::BatchFinished, format!("Upload of {files} {plural}: {}{named}", counts.summary())),
        Source::Watched(path) => {
            (Kind::WatchedSync, format!("Synced {files} {plural} from {}: {}{named}", path.display(), counts.summary()))
        }
    };
    NewEntry { kind, message, code: None, file: None, source: source.key(), counts: Some(*counts) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_headlines_count_what_happened() {
        let end = |ok, failed, skipped, cancelled| BatchEnd {
            counts: Counts { ok, failed, skipped, cancelled },
            first_failure: None,
            sent: Vec::new(),
        };
        assert_eq!(end(1, 0, 0, 0).headline(), "1 file uploaded");
        assert_eq!(end(12, 1, 3, 0).headline(), "12 files uploaded, 1 failed");
        assert_eq!(end(0, 2, 0, 0).headline(), "2 files failed");
        assert_eq!(end(0, 0, 4, 0).headline(), "4 files already up to date");
        assert_eq!(end(0, 0, 0, 1).headline(), "1 file cancelled");
        assert_eq!(end(5, 0, 0, 0).detail(), None);
    }
}
