//! [`Batches`] turns a queue's events into batch entries: a batch starts with the first job
//! added while none of its source is open and ends when every job in it has settled.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::{
    batch_entry, conflict_entry, ActivityLog, BatchEnd, Kind, NewEntry, Source, FAILURES_PER_BATCH, NAMED_PER_BATCH,
};
use crate::journal::JobState;
use crate::queue::{EventSink, QueueEvent};
use crate::DocStatus;

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
        let mut sent_as = None;
        let (id, outcome, failure) = match event {
            QueueEvent::Added { id, path, .. } => return join(&mut t, *id, source, path.clone()),
            QueueEvent::State { id, state: JobState::Queued } => {
                if !t.jobs.contains_key(id) {
                    join(&mut t, *id, source, String::new());
                }
                return;
            }
            QueueEvent::Finished { id, status: DocStatus::Ok, doc_name, .. } => {
                sent_as = Some(doc_name.clone());
                (*id, Outcome::Ok, None)
            }
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
        if let Some(doc_name) = sent_as.filter(|_| batch.end.sent.len() < NAMED_PER_BATCH) {
            batch.end.sent.push(named(&file, &doc_name));
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
            self.log.note(batch_entry(&source, &end));
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

/// A file as a log line names it: its own name, and the Doc's when that is another.
fn named(file: &str, doc_name: &str) -> String {
    let own = std::path::Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match (own.as_str(), doc_name) {
        ("", doc) => doc.to_owned(),
        (own, doc) if doc == own || doc.ends_with(&format!("/{own}")) => own.to_owned(),
        (own, doc) => format!("{own} as {doc}"),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::activity::{Counts, Filter};
    use crate::ErrorInfo;

    fn log(cap: usize) -> (tempfile::TempDir, Arc<ActivityLog>) {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(ActivityLog::open_with_cap(&dir.path().join("activity.sqlite"), cap).unwrap());
        (dir, log)
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
        assert_eq!(entries[0].message, "Upload of 4 files: 1 ok, 2 failed, 1 cancelled (1.txt as d1)");
        assert_eq!(entries[1].message, "Synced 1 file from /w: 1 ok (a.txt as d10)");
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
        assert_eq!(log.list(&Filter::default()).unwrap()[0].message, "Upload of 1 file: 1 ok (d2)");
    }

    /// A batch's line names its first files sent (by their own name, with the Doc's when that
    /// is another), then says how many more.
    #[test]
    fn a_batch_names_its_files() {
        let (_dir, log) = log(1000);
        let batches = Batches::new(log.clone(), None);
        let folder = Source::Watched(PathBuf::from("/w"));
        let sink = batches.sink(folder.clone(), None);
        let names = ["Quarterly report.pdf", "b.txt", "c.txt", "d.txt", "e.txt"];
        for (i, name) in names.iter().enumerate() {
            sink(added(i as u64 + 1, &format!("/w/sub/{name}")));
        }
        let doc = |name: &str| if name.contains(' ') { name.replace(' ', "_") } else { format!("sub/{name}") };
        for (i, name) in names.iter().enumerate() {
            let id = i as u64 + 1;
            sink(QueueEvent::Finished { id, doc_name: doc(name), status: DocStatus::Ok, sha256: String::new() });
        }
        assert_eq!(
            log.list(&Filter::default()).unwrap()[0].message,
            "Synced 5 files from /w: 5 ok (Quarterly report.pdf as Quarterly_report.pdf, b.txt, c.txt and 2 more)"
        );
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
