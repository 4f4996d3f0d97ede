//! What the journal knows about names and Docs, beyond single jobs:
//! - `names`: the Doc name decided for each local file of a destination, and the name it was
//!   proposed (from its path or template). Collisions are resolved once and kept, so the same
//!   tree gets the same names on every run, and a new file never takes another file's name.
//! - `docs`: the Docs Twindrop made (destination, name, the SHA-256 it sent, from which file).
//!   Only such a Doc, still holding that hash, may be replaced or deleted by a sync.
//! - `deletions`: a mirror's intent to delete a file's Doc, written before the delete.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};

use super::{db, now, path_from, path_value, Job, Journal, Text};
use crate::destination::Destination;
use crate::error::Result;

/// A Doc Twindrop made: the hash it sent and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedDoc {
    pub sha256: String,
    pub path: PathBuf,
    pub job_id: u64,
}

/// A mirror's pending delete: the job whose Doc is to go, and since when (epoch seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub job: Job,
    pub since: f64,
}

// Per file of a plan, and per conflict: each by a key or an index (`journal::tests::hot_queries_use_an_index`).
pub(super) const DECIDED_NAME: &str =
    "SELECT doc_name FROM names WHERE base_url = ?1 AND destination = ?2 AND path = ?3 AND proposed = ?4";
pub(super) const PROPOSED_NAME: &str =
    "SELECT proposed FROM names WHERE base_url = ?1 AND destination = ?2 AND path = ?3 AND doc_name = ?4";
pub(super) const NAME_HELD_BY_OTHER: &str =
    "SELECT 1 FROM names WHERE base_url = ?1 AND destination = ?2 AND doc_name = ?3 AND path != ?4 \
     UNION ALL SELECT 1 FROM docs WHERE base_url = ?1 AND destination = ?2 AND doc_name = ?3 AND path != ?4";
pub(super) const OWNED_DOC: &str =
    "SELECT sha256, path, job_id FROM docs WHERE base_url = ?1 AND destination = ?2 AND doc_name = ?3";

/// A destination's pending deletes with their jobs (per sync start): from `deletions`, which
/// holds only pending intents, each job by its key (`CROSS JOIN` keeps that order: by the
/// destination, SQLite would walk every job of it and look each up in `deletions`).
pub(super) fn deletions_sql() -> String {
    format!(
        "SELECT {}, d.since FROM deletions d CROSS JOIN jobs j ON j.id = d.job_id \
         WHERE j.base_url = ?1 AND j.destination = ?2 ORDER BY d.since",
        super::COLUMNS.split(", ").map(|c| format!("j.{}", c.trim())).collect::<Vec<_>>().join(", ")
    )
}

impl Journal {
    /// The name decided for `path` at `dest` when it was proposed `proposed`, if any.
    pub fn decided_name(
        &self,
        base_url: &str,
        dest: &Destination,
        path: &Path,
        proposed: &str,
    ) -> Result<Option<String>> {
        self.conn()
            .prepare_cached(DECIDED_NAME)
            .and_then(|mut st| {
                st.query_row(params![base_url, Text(dest), path_value(path), proposed], |r| r.get(0)).optional()
            })
            .map_err(db)
    }

    /// The name `path` was proposed, when `doc_name` is what was decided for it.
    pub fn proposed_name(
        &self,
        base_url: &str,
        dest: &Destination,
        path: &Path,
        doc_name: &str,
    ) -> Result<Option<String>> {
        self.conn()
            .prepare_cached(PROPOSED_NAME)
            .and_then(|mut st| {
                st.query_row(params![base_url, Text(dest), path_value(path), doc_name], |r| r.get(0)).optional()
            })
            .map_err(db)
    }

    /// Another file that holds `doc_name` at `dest`: by decision, or as the file of a Doc
    /// Twindrop made there.
    pub fn name_held_by_other(&self, base_url: &str, dest: &Destination, doc_name: &str, path: &Path) -> Result<bool> {
        self.conn()
            .prepare_cached(NAME_HELD_BY_OTHER)
            .and_then(|mut st| st.exists(params![base_url, Text(dest), doc_name, path_value(path)]))
            .map_err(db)
    }

    /// Keep the names decided for files at `dest`: (path, proposed, decided), in one commit.
    pub fn decide_names(&self, base_url: &str, dest: &Destination, decisions: &[(&Path, &str, &str)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO names (base_url, destination, path, proposed, doc_name) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            for (path, proposed, doc_name) in decisions {
                st.execute(params![base_url, Text(dest), path_value(path), proposed, doc_name]).map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// The Doc named `doc_name` at `dest`, if Twindrop made it.
    pub fn owned_doc(&self, base_url: &str, dest: &Destination, doc_name: &str) -> Result<Option<OwnedDoc>> {
        self.conn()
            .prepare_cached(OWNED_DOC)
            .and_then(|mut st| {
                st.query_row(params![base_url, Text(dest), doc_name], |r| {
                    Ok(OwnedDoc {
                        sha256: r.get(0)?,
                        path: path_from(r.get_ref(1)?)?,
                        job_id: r.get::<_, i64>(2)? as u64,
                    })
                })
                .optional()
            })
            .map_err(db)
    }

    /// The Doc is gone (deleted by us): it is no longer ours, and its file's name is free.
    pub fn forget_doc(&self, job: &Job) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            "DELETE FROM docs WHERE base_url = ?1 AND destination = ?2 AND doc_name = ?3 AND job_id = ?4",
            params![job.base_url, Text(&job.destination), job.doc_name.as_str(), job.id as i64],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM names WHERE base_url = ?1 AND destination = ?2 AND path = ?3 AND doc_name = ?4",
            params![job.base_url, Text(&job.destination), path_value(&job.path), job.doc_name.as_str()],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM deletions WHERE job_id = ?1", [job.id as i64]).map_err(db)?;
        tx.execute(
            "UPDATE jobs SET doc_status = 'deleted', updated_at = ?2 WHERE id = ?1",
            params![job.id as i64, now()],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Intent: the Doc of `job` is to be deleted (its file is gone from a mirrored folder).
    pub fn intend_delete(&self, job_id: u64) -> Result<()> {
        self.conn()
            .execute("INSERT OR IGNORE INTO deletions (job_id, since) VALUES (?1, ?2)", params![job_id as i64, now()])
            .map(|_| ())
            .map_err(db)
    }

    /// The delete is not to happen after all (the file is back, or the Doc is not ours).
    pub fn drop_deletion(&self, job_id: u64) -> Result<()> {
        self.conn().execute("DELETE FROM deletions WHERE job_id = ?1", [job_id as i64]).map(|_| ()).map_err(db)
    }

    /// Pending deletes at `dest`, oldest first.
    pub fn deletions(&self, base_url: &str, dest: &Destination) -> Result<Vec<Deletion>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&deletions_sql()).map_err(db)?;
        let rows = st
            .query_map(params![base_url, Text(dest)], |r| {
                Ok(Deletion { job: super::row_to_job(r)?, since: r.get(super::COLUMN_COUNT)? })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{ConflictPolicy, DocStatus, StorageClass};
    use crate::journal::tests::twin;
    use crate::journal::{JobState, NewJob};

    #[test]
    fn names_and_docs_are_held_by_their_file_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("j.sqlite");
        // A name that is not UTF-8 is a different file from its lossy look-alike.
        use std::os::unix::ffi::OsStrExt;
        let raw = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
        let lossy = dir.path().join("caf\u{fffd}.txt");
        let (t, other) = (twin(1), twin(2));
        {
            let j = Journal::open(&db).unwrap();
            j.decide_names("h", &t, &[(&raw, "caf_.txt", "caf_.txt")]).unwrap();
            assert!(j.name_held_by_other("h", &t, "caf_.txt", &lossy).unwrap());
            assert!(!j.name_held_by_other("h", &t, "caf_.txt", &raw).unwrap());
            assert!(!j.name_held_by_other("h", &other, "caf_.txt", &lossy).unwrap());
            let new = NewJob {
                base_url: "h",
                destination: &t,
                path: &raw,
                doc_name: "caf_.txt",
                size: 1,
                mtime_ns: 1,
                dev: 7,
                ino: 9,
                storage_class: StorageClass::AccessOptimized,
                description: None,
                on_conflict: ConflictPolicy::Rename,
            };
            let id = j.insert(&new, JobState::Queued).unwrap();
            j.record_uploaded(id, "abc", 1, None, None).unwrap();
            j.record_attached(id).unwrap();
            j.intend_delete(id).unwrap();
        }
        let j = Journal::open(&db).unwrap();
        assert_eq!(j.decided_name("h", &t, &raw, "caf_.txt").unwrap().as_deref(), Some("caf_.txt"));
        assert_eq!(j.decided_name("h", &t, &lossy, "caf_.txt").unwrap(), None);
        let owned = j.owned_doc("h", &t, "caf_.txt").unwrap().unwrap();
        assert_eq!((owned.sha256.as_str(), owned.path.as_path()), ("abc", raw.as_path()));
        let pending = j.deletions("h", &t).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].job.path.as_path(), pending[0].job.dev, pending[0].job.ino), (raw.as_path(), 7, 9));
        j.forget_doc(&pending[0].job).unwrap();
        assert!(j.owned_doc("h", &t, "caf_.txt").unwrap().is_none());
        assert!(j.deletions("h", &t).unwrap().is_empty());
        assert!(!j.name_held_by_other("h", &t, "caf_.txt", &lossy).unwrap());
        assert_eq!(j.get(owned.job_id).unwrap().doc_status, Some(DocStatus::Other("deleted".into())));
    }
}
