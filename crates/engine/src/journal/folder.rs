//! A watched folder's files as the journal knows them: each file's newest job at the folder's
//! destination, read in one pass over `jobs_by_path` (the folder is a range of paths, each
//! file's jobs are in a row there, newest by `max(id)`), never the whole history.
//!
//! The folder's status line counts them (in step, waiting, failed), names the last few synced
//! with their Doc names, and tells which files changed since the journal last saw them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::params;
use rusqlite::types::Value;
use serde::Serialize;

use super::{db, path_from, JobState, Journal, Text};
use crate::destination::Destination;
use crate::doc::DocStatus;
use crate::error::Result;

/// How the reason of a job skipped because its file is unchanged since its Doc was made
/// starts: such a file is in step.
pub const UNCHANGED_SKIP: &str = "unchanged since it was uploaded as";

/// Each file's newest job under a folder (`?3 <= path < ?4`), in `jobs_by_path`'s order: the
/// grouping needs no sort, and SQLite takes the bare columns from the row of `max(id)`.
pub(super) const LATEST_IN_FOLDER: &str = "SELECT path, max(id), state, doc_status, error_message, doc_name, \
     size, mtime_ns, updated_at FROM jobs WHERE base_url = ?1 AND destination = ?2 AND path >= ?3 AND path < ?4 \
     GROUP BY path";

/// A folder's files by where their newest job left them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FolderCounts {
    /// Their newest job ended with the Doc `ok` (or found it unchanged since).
    pub in_step: u64,
    /// Queued, being sent, attached or verified, or paused.
    pub waiting: u64,
    /// Their newest job failed, or its Doc ended other than `ok`.
    pub failed: u64,
    /// Left as they were: another Doc holds the name (the folder skips conflicts), or cancelled.
    pub skipped: u64,
}

/// A file whose Doc is in step, as the folder's "last synced" list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RecentFile {
    pub path: String,
    pub doc_name: String,
    /// When its job ended (ms since the epoch).
    pub at_ms: i64,
}

/// What the journal says of a folder's files: counts, and the newest synced first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FolderFiles {
    pub counts: FolderCounts,
    pub recent: Vec<RecentFile>,
}

/// A row of [`LATEST_IN_FOLDER`], each column read only by whoever needs it: counting 10,000
/// files reads their states, not their paths and names.
struct Latest<'r, 's>(&'r rusqlite::Row<'s>);

impl Latest<'_, '_> {
    fn path(&self) -> rusqlite::Result<PathBuf> {
        path_from(self.0.get_ref(0)?)
    }

    fn state(&self) -> rusqlite::Result<JobState> {
        self.0.get(2)
    }

    /// Its Doc ended `ok` (for a job that is done).
    fn doc_ok(&self) -> rusqlite::Result<bool> {
        Ok(self.0.get::<_, Option<String>>(3)?.is_some_and(|s| DocStatus::parse(&s) == DocStatus::Ok))
    }

    /// Skipped as unchanged since its Doc was made (not for a conflict), for a skipped job.
    fn unchanged(&self) -> rusqlite::Result<bool> {
        Ok(self.0.get::<_, Option<String>>(4)?.is_some_and(|r| r.starts_with(UNCHANGED_SKIP)))
    }

    fn doc_name(&self) -> rusqlite::Result<String> {
        self.0.get(5)
    }

    fn identity(&self) -> rusqlite::Result<(u64, i64)> {
        Ok((self.0.get::<_, i64>(6)?.max(0) as u64, self.0.get(7)?))
    }

    fn at_ms(&self) -> rusqlite::Result<i64> {
        Ok((self.0.get::<_, f64>(8)? * 1000.0) as i64)
    }
}

/// The bounds of the paths under `root`, as text (every UTF-8 path, as the journal keeps
/// them) and as bytes (the others): `root/` up to, not including, `root0` ('0' follows '/').
fn bounds(root: &Path) -> Vec<(Value, Value)> {
    let mut low = root.as_os_str().as_encoded_bytes().to_vec();
    if low.last() != Some(&b'/') {
        low.push(b'/');
    }
    let mut high = low.clone();
    *high.last_mut().expect("not empty") = b'0';
    let mut out = Vec::with_capacity(2);
    if let (Ok(low), Ok(high)) = (String::from_utf8(low.clone()), String::from_utf8(high.clone())) {
        out.push((Value::Text(low), Value::Text(high)));
    }
    // SQLite orders every text before every blob, so the two ranges never meet.
    out.push((Value::Blob(low), Value::Blob(high)));
    out
}

impl Journal {
    /// Each file under `root` at `dest`, by its newest job.
    fn each_latest(
        &self,
        base_url: &str,
        dest: &Destination,
        root: &Path,
        mut f: impl FnMut(Latest<'_, '_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(LATEST_IN_FOLDER).map_err(db)?;
        for (low, high) in bounds(root) {
            let mut rows = st.query(params![base_url, Text(dest), low, high]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                f(Latest(r)).map_err(db)?;
            }
        }
        Ok(())
    }

    /// The files under `root` at `dest` counted by their newest job, and the `recent` last
    /// synced (newest first).
    pub fn folder_files(&self, base_url: &str, dest: &Destination, root: &Path, recent: usize) -> Result<FolderFiles> {
        let mut out = FolderFiles::default();
        let c = &mut out.counts;
        let mut newest: Vec<RecentFile> = Vec::with_capacity(recent + 1);
        self.each_latest(base_url, dest, root, |file| {
            let ok = match file.state()? {
                JobState::Done if file.doc_ok()? => true,
                JobState::Done | JobState::Failed => {
                    c.failed += 1;
                    false
                }
                JobState::Skipped if file.unchanged()? => {
                    c.in_step += 1;
                    false
                }
                JobState::Skipped | JobState::Cancelled => {
                    c.skipped += 1;
                    false
                }
                JobState::Queued
                | JobState::Hashing
                | JobState::Uploading
                | JobState::Attaching
                | JobState::Verifying
                | JobState::Paused => {
                    c.waiting += 1;
                    false
                }
            };
            if !ok {
                return Ok(());
            }
            c.in_step += 1;
            // Only the `recent` newest are kept (and only their paths and names read).
            let at_ms = file.at_ms()?;
            let at = newest.partition_point(|kept| kept.at_ms >= at_ms);
            if at < recent {
                let path = file.path()?.display().to_string();
                newest.insert(at, RecentFile { path, doc_name: file.doc_name()?, at_ms });
                newest.truncate(recent);
            }
            Ok(())
        })?;
        out.recent = newest;
        Ok(out)
    }

    /// The size and mtime the newest job of each file under `root` at `dest` recorded, whatever
    /// became of it: what a paused folder's files are held against to count its changes.
    pub fn folder_records(
        &self,
        base_url: &str,
        dest: &Destination,
        root: &Path,
    ) -> Result<HashMap<PathBuf, (u64, i64)>> {
        let mut out = HashMap::new();
        self.each_latest(base_url, dest, root, |file| {
            out.insert(file.path()?, file.identity()?);
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{ConflictPolicy, StorageClass};
    use crate::journal::NewJob;

    fn add(j: &Journal, dest: &Destination, path: &Path, size: u64, state: JobState) -> u64 {
        let job = NewJob {
            base_url: "h",
            destination: dest,
            path,
            doc_name: &path.file_name().unwrap().to_string_lossy(),
            size,
            mtime_ns: 7,
            storage_class: StorageClass::AccessOptimized,
            description: None,
            on_conflict: ConflictPolicy::Rename,
            dev: 0,
            ino: 0,
        };
        j.insert(&job, state).unwrap()
    }

    /// Each file counts once, by its newest job; files beside the folder, in a folder whose
    /// name starts the same, or at another destination are not its own; the recent ones are
    /// the newest `ok`, newest first.
    #[test]
    fn a_folder_counts_each_file_by_its_newest_job() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let (dest, other) = (crate::journal::tests::twin(1), crate::journal::tests::twin(2));
        let p = |s: &str| PathBuf::from(format!("/w{s}"));
        // a: failed once, then ok. b: ok, then changed and queued again. c: failed.
        let a1 = add(&j, &dest, &p("/a.txt"), 1, JobState::Queued);
        j.record_failed(a1, &crate::Error::Unauthorized("no".into())).unwrap();
        let a2 = add(&j, &dest, &p("/a.txt"), 1, JobState::Queued);
        let b1 = add(&j, &dest, &p("/sub/b.txt"), 1, JobState::Queued);
        for id in [a2, b1] {
            j.record_done(id, &DocStatus::Ok).unwrap();
        }
        add(&j, &dest, &p("/sub/b.txt"), 2, JobState::Queued);
        let c = add(&j, &dest, &p("/c.txt"), 1, JobState::Queued);
        j.record_failed(c, &crate::Error::Unauthorized("no".into())).unwrap();
        let d = add(&j, &dest, &p("/d.txt"), 1, JobState::Queued);
        j.record_done(d, &DocStatus::HashMismatch).unwrap();
        let e = add(&j, &dest, &p("/e.txt"), 1, JobState::Queued);
        j.record_skipped(e, &format!("{} e.txt is already on the Twin", crate::queue::CONFLICT_SKIP)).unwrap();
        let f = add(&j, &dest, &p("/f.txt"), 1, JobState::Queued);
        j.record_skipped(f, &format!("{UNCHANGED_SKIP} f.txt")).unwrap();
        let g = add(&j, &dest, &p("/g.txt"), 1, JobState::Queued);
        j.record_done(g, &DocStatus::Ok).unwrap();
        // Not the folder's.
        for outside in ["/w", "/wx/a.txt", "/w0", "/v/a.txt"] {
            let id = add(&j, &dest, Path::new(outside), 1, JobState::Queued);
            j.record_done(id, &DocStatus::Ok).unwrap();
        }
        add(&j, &other, &p("/a.txt"), 1, JobState::Queued);
        // A name that is not UTF-8 is the folder's all the same.
        let odd =
            PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(b"/w/\xff.txt".to_vec()));
        let h = add(&j, &dest, &odd, 1, JobState::Queued);
        j.record_done(h, &DocStatus::Ok).unwrap();
        // Their end times, apart: g, then h, then a.
        let conn = j.conn();
        for (id, at) in [(a2, 300.0), (b1, 100.0), (f, 50.0), (g, 500.0), (h, 400.0)] {
            conn.execute("UPDATE jobs SET updated_at = ?2 WHERE id = ?1", params![id as i64, at]).unwrap();
        }
        drop(conn);

        for root in ["/w", "/w/"] {
            let files = j.folder_files("h", &dest, Path::new(root), 3).unwrap();
            assert_eq!(files.counts, FolderCounts { in_step: 4, waiting: 1, failed: 2, skipped: 1 }, "{root}");
            let recent: Vec<(&str, i64)> = files.recent.iter().map(|r| (r.doc_name.as_str(), r.at_ms)).collect();
            assert_eq!(recent, [("g.txt", 500_000), ("\u{fffd}.txt", 400_000), ("a.txt", 300_000)], "{root}");
            assert_eq!(files.recent[0].path, "/w/g.txt");
        }
        assert_eq!(j.folder_files("h", &dest, Path::new("/w/sub"), 5).unwrap().counts.waiting, 1);
        assert_eq!(j.folder_files("other", &dest, Path::new("/w"), 5).unwrap(), FolderFiles::default());

        let records = j.folder_records("h", &dest, Path::new("/w")).unwrap();
        assert_eq!(records.len(), 8);
        assert_eq!(records[&p("/sub/b.txt")], (2, 7), "the newest job's size");
        assert!(records.contains_key(&odd));
    }

    /// 10,000 files of two jobs each: counted in one pass, each file once.
    #[test]
    fn ten_thousand_files_are_counted_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let dest = crate::journal::tests::twin(1);
        let paths: Vec<PathBuf> = (0..10_000).map(|i| PathBuf::from(format!("/w/d{}/f{i}.txt", i % 50))).collect();
        let insert = |state| {
            let jobs: Vec<NewJob<'_>> = paths
                .iter()
                .map(|path| NewJob {
                    base_url: "h",
                    destination: &dest,
                    path,
                    doc_name: "x",
                    size: 1,
                    mtime_ns: 1,
                    storage_class: StorageClass::AccessOptimized,
                    description: None,
                    on_conflict: ConflictPolicy::Rename,
                    dev: 0,
                    ino: 0,
                })
                .collect();
            j.insert_many(&jobs, state).unwrap()
        };
        let first = insert(JobState::Queued);
        j.record_done_many(&first.iter().map(|id| (*id, &DocStatus::Ok)).collect::<Vec<_>>()).unwrap();
        let skips = insert(JobState::Queued);
        for id in skips {
            j.record_skipped(id, &format!("{UNCHANGED_SKIP} x")).unwrap();
        }
        let files = j.folder_files("h", &dest, Path::new("/w"), 5).unwrap();
        assert_eq!(files.counts, FolderCounts { in_step: 10_000, ..FolderCounts::default() });
        assert_eq!(files.recent.len(), 0, "the newest jobs are skips, not syncs");
        assert_eq!(j.folder_records("h", &dest, Path::new("/w")).unwrap().len(), 10_000);
    }
}
