//! Retention: finished history (jobs `done`, `failed`, `skipped` or `cancelled`) whose last
//! change is older than the setting is deleted, a bounded batch of rows per transaction, when a
//! journal is opened ([`Journal::open_with`]) and every [`PRUNE_EVERY`] while a queue runs on it.
//!
//! A finished job is kept, however old, while something still reads it:
//! - it is its file's newest finished job at its destination, or its newest `ok` one: what
//!   skip-unchanged compares with (`latest_for_path`, `finished_files`: size, mtime, identity,
//!   SHA-256), so a file sent once and never changed is never sent again, whatever its age;
//! - `docs` names it as the job that made a Doc Twindrop still owns: a later conflict or a mirror's
//!   delete proves ownership with it (the `docs` rows themselves are never pruned);
//! - a mirror's pending delete (`deletions`) points at it.
//!
//! Jobs still in flight (queued, uploading, attaching, verifying, paused) are never pruned. So
//! after a prune every file's newest job is the one it was before: the journal answers
//! `latest_for_path` as before, and `finished_files` too (it could differ only for a file whose
//! jobs went changed, then back to the very size and nanosecond mtime it had when sent).
//! `names` (a file's decided name) is kept too: it is one row per file, not per job.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rusqlite::{params, OptionalExtension};

use super::{db, finished, now, Journal};
use crate::error::Result;

/// The default of the app's setting (`Prefs::history_days`).
pub const DEFAULT_HISTORY_DAYS: u32 = 30;

/// How often a running queue prunes its journal (and how old the last prune must be for an
/// open to prune again, unless the retention changed: restarts in a row do not each walk the
/// history).
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Rows looked at per transaction: the journal is held for one batch at a time, a few
/// milliseconds, and other work goes on between batches.
const BATCH: i64 = 2_000;

/// How long finished history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Nothing is pruned.
    Forever,
    /// Finished jobs whose last change is older than this many days are pruned (what
    /// skip-unchanged and ownership need stays).
    Days(u32),
}

impl Default for Retention {
    fn default() -> Self {
        Retention::Days(DEFAULT_HISTORY_DAYS)
    }
}

impl Retention {
    /// `0` is for ever.
    pub fn days(n: u32) -> Retention {
        if n == 0 {
            Retention::Forever
        } else {
            Retention::Days(n)
        }
    }

    fn as_days(self) -> u32 {
        match self {
            Retention::Forever => 0,
            Retention::Days(n) => n,
        }
    }

    /// The epoch second before which finished history goes, at `now`.
    pub fn cutoff(self, now: f64) -> Option<f64> {
        match self {
            Retention::Forever => None,
            Retention::Days(n) => Some(now - f64::from(n) * 86_400.0),
        }
    }
}

/// What one prune did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Jobs deleted.
    pub jobs: usize,
    /// Transactions (batches) it took.
    pub batches: usize,
}

/// The jobs of one batch (rowids in `(?1, ?2]`) that are finished, older than `?3`, and needed by
/// nothing (see the module's doc). The newer-job probes use `jobs_by_path`, the ownership probe
/// `docs_by_job`, the pending-delete probe `deletions`' key.
pub(super) const PRUNE_BATCH: &str = concat!(
    "DELETE FROM jobs WHERE id IN (SELECT j.id FROM jobs j WHERE j.id > ?1 AND j.id <= ?2 AND j.updated_at < ?3 \
     AND j.state IN ",
    finished!(),
    " AND EXISTS (SELECT 1 FROM jobs k WHERE k.base_url = j.base_url AND k.destination = j.destination \
     AND k.path = j.path AND k.id > j.id AND k.state IN ",
    finished!(),
    ") AND (j.state != 'done' OR j.doc_status IS NOT 'ok' OR EXISTS (SELECT 1 FROM jobs k \
     WHERE k.base_url = j.base_url AND k.destination = j.destination AND k.path = j.path AND k.id > j.id \
     AND k.state = 'done' AND k.doc_status = 'ok')) \
     AND NOT EXISTS (SELECT 1 FROM docs d WHERE d.job_id = j.id) \
     AND NOT EXISTS (SELECT 1 FROM deletions x WHERE x.job_id = j.id))"
);

/// The last rowid of the batch that starts after `?1`: `BATCH` rows on (or the last row).
pub(super) const BATCH_END: &str = "SELECT id FROM jobs WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2";

/// When the row after `?1` was made: from there on nothing can be old enough.
pub(super) const NEXT_CREATED: &str = "SELECT created_at FROM jobs WHERE id > ?1 ORDER BY id LIMIT 1";

/// When the last prune started (epoch seconds), and with which retention (days).
const PRUNED_AT: &str = "pruned_at";
const PRUNED_DAYS: &str = "pruned_days";

impl Journal {
    /// [`open`](Self::open), keeping finished history for `retention`, and pruning it now if
    /// the last prune is [`PRUNE_EVERY`] old or more.
    pub fn open_with(path: &std::path::Path, retention: Retention) -> Result<Self> {
        let journal = Journal::open(path)?;
        journal.set_retention(retention);
        journal.prune_if_due()?;
        Ok(journal)
    }

    /// From now on (the next prune), keep finished history for `retention`.
    pub fn set_retention(&self, retention: Retention) {
        self.history_days.store(retention.as_days(), Ordering::Relaxed);
    }

    pub fn retention(&self) -> Retention {
        Retention::days(self.history_days.load(Ordering::Relaxed))
    }

    /// Prune as [`prune`](Self::prune) does, unless the last prune started less than
    /// [`PRUNE_EVERY`] ago with the same retention. `None` when it was not due (or history is
    /// kept for ever).
    pub fn prune_if_due(&self) -> Result<Option<Pruned>> {
        let retention = self.retention();
        if retention == Retention::Forever {
            return Ok(None);
        }
        let (at, days): (Option<f64>, Option<i64>) = {
            let conn = self.conn();
            let mut st = conn.prepare_cached("SELECT value FROM housekeeping WHERE key = ?1").map_err(db)?;
            let at = st.query_row([PRUNED_AT], |r| r.get(0)).optional().map_err(db)?;
            let days = st.query_row([PRUNED_DAYS], |r| r.get(0)).optional().map_err(db)?;
            (at, days)
        };
        let recent = at.is_some_and(|at| (0.0..PRUNE_EVERY.as_secs_f64()).contains(&(now() - at)));
        if recent && days == Some(i64::from(retention.as_days())) {
            return Ok(None);
        }
        self.prune().map(Some)
    }

    /// Delete the finished history older than the retention setting (nothing when it is for
    /// ever), in batches.
    pub fn prune(&self) -> Result<Pruned> {
        let (t, retention) = (now(), self.retention());
        let Some(cutoff) = retention.cutoff(t) else { return Ok(Pruned::default()) };
        let pruned = self.prune_before(cutoff)?;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute("INSERT OR REPLACE INTO housekeeping (key, value) VALUES (?1, ?2)", params![PRUNED_AT, t])
            .and_then(|_| {
                tx.execute(
                    "INSERT OR REPLACE INTO housekeeping (key, value) VALUES (?1, ?2)",
                    params![PRUNED_DAYS, retention.as_days()],
                )
            })
            .map_err(db)?;
        tx.commit().map_err(db)?;
        drop(conn);
        if pruned.jobs > 0 {
            tracing::info!(jobs = pruned.jobs, batches = pruned.batches, "journal: finished history pruned");
        }
        Ok(pruned)
    }

    /// Delete the finished jobs whose last change is before `cutoff` (epoch seconds) and that
    /// nothing needs (see the module's doc), [`BATCH`] rows looked at per transaction, oldest
    /// first. The journal is free for others between batches.
    pub fn prune_before(&self, cutoff: f64) -> Result<Pruned> {
        let mut pruned = Pruned::default();
        let mut after = 0i64;
        loop {
            let conn = self.conn();
            // Rows are made in id order: once the next one was made after the cutoff, no row
            // from there on can have last changed before it.
            let next: Option<f64> = conn.query_row(NEXT_CREATED, [after], |r| r.get(0)).optional().map_err(db)?;
            match next {
                Some(created) if created < cutoff => {}
                _ => return Ok(pruned),
            }
            let end: Option<i64> =
                conn.query_row(BATCH_END, params![after, BATCH - 1], |r| r.get(0)).optional().map_err(db)?;
            let end = match end {
                Some(end) => end,
                None => conn.query_row("SELECT max(id) FROM jobs", [], |r| r.get(0)).map_err(db)?,
            };
            let n = conn
                .prepare_cached(PRUNE_BATCH)
                .and_then(|mut st| st.execute(params![after, end, cutoff]))
                .map_err(db)?;
            drop(conn);
            pruned.jobs += n;
            pruned.batches += 1;
            after = end;
        }
    }
}

#[cfg(test)]
impl Journal {
    /// Make every row `secs` older, as if the journal had been written that long ago.
    pub(crate) fn backdate(&self, secs: f64) {
        self.conn()
            .execute("UPDATE jobs SET created_at = created_at - ?1, updated_at = updated_at - ?1", [secs])
            .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::destination::Destination;
    use crate::doc::{ConflictPolicy, DocStatus, StorageClass};
    use crate::journal::tests::twin;
    use crate::journal::{JobState, NewJob};

    const DAY: f64 = 86_400.0;

    fn new_job<'a>(dest: &'a Destination, path: &'a Path, name: &'a str, size: u64) -> NewJob<'a> {
        NewJob {
            base_url: "h",
            destination: dest,
            path,
            doc_name: name,
            size,
            mtime_ns: size as i64,
            dev: 1,
            ino: 2,
            storage_class: StorageClass::AccessOptimized,
            description: None,
            on_conflict: ConflictPolicy::Rename,
        }
    }

    /// How a job of a test history ends.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum End {
        Ok,
        Mismatch,
        Failed,
        Skipped,
        Cancelled,
        Queued,
    }

    /// A job for `path` that went as `end` (an `ok` one is owned: its Doc is recorded in `docs`).
    fn job(j: &Journal, dest: &Destination, path: &Path, name: &str, size: u64, end: End) -> u64 {
        let id = j.insert(&new_job(dest, path, name, size), JobState::Queued).unwrap();
        match end {
            End::Ok | End::Mismatch => {
                j.record_uploaded(id, &format!("{size:064x}"), size, None, None).unwrap();
                j.record_attached(id).unwrap();
                let status = if end == End::Ok { DocStatus::Ok } else { DocStatus::HashMismatch };
                j.record_done(id, &status).unwrap();
            }
            End::Failed => j.record_failed(id, &crate::Error::Cancelled).unwrap(),
            End::Skipped => j.record_skipped(id, "unchanged").unwrap(),
            End::Cancelled => j.set_state(id, JobState::Cancelled).unwrap(),
            End::Queued => {}
        }
        id
    }

    fn ids(j: &Journal) -> Vec<u64> {
        j.list(None, &[]).unwrap().iter().map(|job| job.id).collect()
    }

    /// What skip-unchanged and ownership read, for these files and names.
    fn needed(j: &Journal, dest: &Destination, paths: &[&Path], names: &[&str]) -> impl PartialEq + std::fmt::Debug {
        let latest: Vec<Option<u64>> =
            paths.iter().map(|p| j.latest_for_path("h", dest, p).unwrap().map(|job| job.id)).collect();
        let owned: Vec<_> = names.iter().map(|n| j.owned_doc("h", dest, n).unwrap()).collect();
        let pending: Vec<u64> = j.deletions("h", dest).unwrap().iter().map(|d| d.job.id).collect();
        (
            j.finished_files("h", dest).unwrap().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            latest,
            owned,
            pending,
        )
    }

    #[test]
    fn a_prune_removes_old_history_and_keeps_what_is_needed() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let dest = twin(1);
        let (a, b, c, d, e) = (Path::new("/a"), Path::new("/b"), Path::new("/c"), Path::new("/d"), Path::new("/e"));
        // a: sent, dropped again unchanged, changed and sent, changed and failed.
        let a1 = job(&j, &dest, a, "a", 1, End::Ok);
        let a2 = job(&j, &dest, a, "a", 1, End::Skipped);
        let a3 = job(&j, &dest, a, "a", 2, End::Ok);
        let a4 = job(&j, &dest, a, "a", 3, End::Failed);
        // b: sent as b, then (another template) as b2: both Docs are Twindrop's.
        let b1 = job(&j, &dest, b, "b", 1, End::Ok);
        let b2 = job(&j, &dest, b, "b2", 1, End::Ok);
        // c: sent, then its copy went wrong and it was sent again; the first Doc's delete pending.
        let c1 = job(&j, &dest, c, "c", 1, End::Ok);
        let c2 = job(&j, &dest, c, "c-x", 2, End::Mismatch);
        let c3 = job(&j, &dest, c, "c-y", 3, End::Ok);
        j.intend_delete(c1).unwrap();
        // d: failed, cancelled, then queued (never pruned, and the one before it stays its newest finished).
        let d1 = job(&j, &dest, d, "d", 1, End::Failed);
        let d2 = job(&j, &dest, d, "d", 1, End::Cancelled);
        let d3 = job(&j, &dest, d, "d", 1, End::Queued);
        let old = ids(&j);
        j.backdate(90.0 * DAY);
        // e: recent history is kept, superseded or not.
        let e1 = job(&j, &dest, e, "e", 1, End::Ok);
        let e2 = job(&j, &dest, e, "e", 1, End::Skipped);
        let (paths, names) = ([a, b, c, d, e], ["a", "b", "b2", "c", "c-x", "c-y", "d", "e"]);
        let before = needed(&j, &dest, &paths, &names);

        j.set_retention(Retention::days(30));
        let pruned = j.prune().unwrap();
        assert_eq!(pruned.jobs, 3, "{pruned:?}");
        // Gone: a1 (superseded by a3, which holds its Doc now), a2, d1. Kept however old: a3 (a's
        // newest ok) and a4 (its newest finished), b1 and c2 (their Docs are Twindrop's), c1 (its
        // delete is pending), d2 and d3; e's are recent.
        let gone = [a1, a2, d1];
        assert_eq!(ids(&j), [a3, a4, b1, b2, c1, c2, c3, d2, d3, e1, e2], "{old:?} less {gone:?}");
        assert_eq!(needed(&j, &dest, &paths, &names), before);
        assert_eq!(j.prune().unwrap().jobs, 0, "a second prune finds nothing more");
    }

    #[test]
    fn forever_prunes_nothing_and_a_prune_is_due_hourly() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("j.sqlite");
        let dest = twin(1);
        {
            let j = Journal::open(&db).unwrap();
            for size in 1..=3 {
                job(&j, &dest, Path::new("/a"), "a", size, End::Ok);
            }
            j.backdate(400.0 * DAY);
        }
        let j = Journal::open_with(&db, Retention::Forever).unwrap();
        assert_eq!((ids(&j).len(), j.prune_if_due().unwrap(), j.prune().unwrap().jobs), (3, None, 0));
        drop(j);
        let j = Journal::open_with(&db, Retention::days(365)).unwrap();
        assert_eq!(ids(&j).len(), 1, "pruned at open");
        assert_eq!(j.prune_if_due().unwrap(), None, "not due again within the hour");
        j.set_retention(Retention::days(400));
        assert!(j.prune_if_due().unwrap().is_some(), "due at once with another retention");
        assert_eq!(j.prune_if_due().unwrap(), None);
        j.conn().execute("UPDATE housekeeping SET value = value - 3601 WHERE key = 'pruned_at'", []).unwrap();
        assert_eq!(j.prune_if_due().unwrap(), Some(Pruned { jobs: 0, batches: 1 }));
    }

    #[test]
    fn a_prune_goes_a_bounded_batch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let dest = twin(1);
        let paths: Vec<PathBuf> = (0..2_600).map(|i| PathBuf::from(format!("/f/{i}"))).collect();
        // Each file sent twice, in two drops: the first job of each is history.
        for round in 1..=2u64 {
            let jobs: Vec<NewJob<'_>> = paths.iter().map(|p| new_job(&dest, p, "n", round)).collect();
            let ids = j.insert_many(&jobs, JobState::Queued).unwrap();
            let done: Vec<(u64, &DocStatus)> = ids.iter().map(|&id| (id, &DocStatus::Ok)).collect();
            j.record_done_many(&done).unwrap();
        }
        j.backdate(DAY);
        let pruned = j.prune_before(now()).unwrap();
        assert_eq!((pruned.jobs, pruned.batches), (2_600, 3));
        let sent = j.finished_files("h", &dest).unwrap();
        assert_eq!((sent.len(), sent.get(&paths[7])), (2_600, Some(&(2, 2))));
    }

    /// `finished_files` as it was before it read file by file: every finished job of the
    /// destination, oldest first.
    fn finished_files_as_before(j: &Journal, dest: &Destination) -> HashMap<PathBuf, (u64, i64)> {
        let mut out = HashMap::new();
        for job in j.list(Some("h"), &[]).unwrap() {
            if &job.destination != dest || !job.state.is_final() {
                continue;
            }
            if job.is_ok() {
                out.insert(job.path, (job.size, job.mtime_ns));
            } else if out.get(&job.path).is_some_and(|&s| s != (job.size, job.mtime_ns)) {
                out.remove(&job.path);
            }
        }
        out
    }

    /// Random histories: `finished_files` says what it said when it read every job; a prune of
    /// all of them (everything old) changes neither it nor any file's newest job. A file's
    /// versions only move forward, as a file's size and mtime do.
    #[test]
    fn finished_files_reads_as_before_and_a_prune_changes_no_answer() {
        use std::os::unix::ffi::OsStrExt;
        let ends = [End::Ok, End::Ok, End::Ok, End::Mismatch, End::Failed, End::Skipped, End::Cancelled, End::Queued];
        for seed in 0..20 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let dir = tempfile::tempdir().unwrap();
            let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
            let (dest, other) = (twin(1), twin(2));
            // Text paths and one that is not UTF-8, which sorts apart from them.
            let mut paths: Vec<PathBuf> = (0..12).map(|i| PathBuf::from(format!("/p/{i}"))).collect();
            paths.push(PathBuf::from(std::ffi::OsStr::from_bytes(b"/p/caf\xe9")));
            let mut version = vec![1u64; paths.len()];
            for _ in 0..120 {
                let f = rng.usize(..paths.len());
                if rng.u8(..3) == 0 {
                    version[f] += 1;
                }
                let at = if rng.u8(..8) == 0 { &other } else { &dest };
                let name = format!("n{f}-{}", rng.u8(..2));
                job(&j, at, &paths[f], &name, version[f], ends[rng.usize(..ends.len())]);
            }
            let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            for at in [&dest, &other] {
                assert_eq!(j.finished_files("h", at).unwrap(), finished_files_as_before(&j, at), "seed {seed}");
            }
            let before = [needed(&j, &dest, &refs, &[]), needed(&j, &other, &refs, &[])];
            let pruned = j.prune_before(now() + DAY).unwrap();
            assert!(pruned.jobs > 0, "seed {seed}");
            assert_eq!([needed(&j, &dest, &refs, &[]), needed(&j, &other, &refs, &[])], before, "seed {seed}");
        }
    }
}
