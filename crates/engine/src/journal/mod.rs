//! The journal: one SQLite file (WAL) that is the source of truth for every upload job.
//!
//! Intent is written before each effect, results after it, so that a process killed at any
//! instant can be carried on by the next one:
//! - `uploading` with a recorded URL: the PUT may or may not have finished; PUT again (a PUT
//!   replaces the bytes behind the URL, so repeating it is harmless).
//! - `attaching` with `attach_sent`: the attach may have committed. The Doc is read before
//!   anything else is done, so a Doc is never attached twice.
//! - `verifying`: the Doc exists; only its status is still to be read.
//!
//! WAL with `synchronous=NORMAL`: a commit survives the process being killed (the OS has the
//! pages); only an OS crash or power cut could lose the last commits, which the rules above
//! also cover (an attach that committed server-side is found by reading the Doc).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::destination::Destination;
use crate::doc::DocStatus;
use crate::error::{Error, Result};
use crate::transfer::form::FormTarget;

mod docs;
mod job;
mod resumable;
mod schema;
pub use docs::{Deletion, OwnedDoc};
use job::{row_to_job, Text, COLUMNS, COLUMN_COUNT};
pub use job::{Job, JobName, JobState, NewJob, Target, Transfer};
pub use resumable::ResumableRecord;
pub(crate) use schema::to_latest as migrate_file;

pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
    // Held for the journal's lifetime: one process at a time drives a journal.
    _lock: std::fs::File,
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

pub use crate::source::mtime_ns;

/// A path as the journal keeps it: text when it is UTF-8 (as every row before non-UTF-8 names
/// were kept exactly), its raw bytes otherwise. Always the same value for the same path, so
/// `path = ?` finds it.
pub(crate) fn path_value(path: &Path) -> rusqlite::types::Value {
    match path.to_str() {
        Some(text) => rusqlite::types::Value::Text(text.to_owned()),
        None => rusqlite::types::Value::Blob(path.as_os_str().as_encoded_bytes().to_vec()),
    }
}

pub(crate) fn path_from(value: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    match value {
        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
            Ok(PathBuf::from(std::ffi::OsStr::from_bytes(b)))
        }
        _ => Err(rusqlite::Error::InvalidColumnType(0, "path".into(), value.data_type())),
    }
}

fn db(e: rusqlite::Error) -> Error {
    Error::Journal(e.to_string())
}

impl Journal {
    /// Open (or create) the journal at `path`, taking an exclusive lock next to it.
    pub fn open(path: &Path) -> Result<Self> {
        // Private (0600 files in a 0700 folder): it names every file sent, and where.
        crate::private::create_parent_private(path)?;
        let lock_path = path.with_extension("lock");
        let lock = crate::private::open_private(
            &lock_path,
            std::fs::OpenOptions::new().create(true).truncate(false).write(true),
        )?;
        if lock.try_lock().is_err() {
            return Err(Error::JournalLocked(path.display().to_string()));
        }
        crate::private::touch_private(path)?;
        let mut conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        crate::private::sqlite_companions(path).iter().try_for_each(|p| crate::private::chmod_private(p))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        schema::migrate(&mut conn, path)?;
        Ok(Journal { conn: Mutex::new(conn), path: path.to_owned(), _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().expect("journal lock poisoned")
    }

    pub fn insert(&self, job: &NewJob<'_>, state: JobState) -> Result<u64> {
        Ok(self.insert_many(std::slice::from_ref(job), state)?[0])
    }

    /// Insert several jobs in one transaction (one commit for a whole drop of files).
    pub fn insert_many(&self, jobs: &[NewJob<'_>], state: JobState) -> Result<Vec<u64>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let t = now();
        let mut ids = Vec::with_capacity(jobs.len());
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO jobs (base_url, service, destination, path, doc_name, size, mtime_ns, state, \
                     storage_class, description, on_conflict, created_at, updated_at, dev, ino) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14)",
                )
                .map_err(db)?;
            for job in jobs {
                st.execute(params![
                    job.base_url,
                    Text(job.destination.service()),
                    Text(job.destination),
                    path_value(job.path),
                    job.doc_name,
                    job.size as i64,
                    job.mtime_ns,
                    Text(state),
                    Text(job.storage_class),
                    job.description,
                    Text(job.on_conflict),
                    t,
                    job.dev as i64,
                    job.ino as i64
                ])
                .map_err(db)?;
                ids.push(tx.last_insert_rowid() as u64);
            }
        }
        tx.commit().map_err(db)?;
        Ok(ids)
    }

    pub fn get(&self, id: u64) -> Result<Job> {
        self.conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"))
            .and_then(|mut st| st.query_row([id as i64], row_to_job))
            .map_err(db)
    }

    /// The newest job for this file at this destination, if any.
    pub fn latest_for_path(&self, base_url: &str, dest: &Destination, path: &Path) -> Result<Option<Job>> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE base_url = ?1 AND destination = ?2 AND path = ?3 \
                 ORDER BY id DESC LIMIT 1"
            ))
            .and_then(|mut st| st.query_row(params![base_url, Text(dest), path_value(path)], row_to_job).optional())
            .map_err(db)
    }

    /// Every file of `dest` on `base_url` whose latest job finished `ok`, with the size and
    /// mtime it had then: what a folder scan compares against, in one query.
    pub fn finished_files(
        &self,
        base_url: &str,
        dest: &Destination,
    ) -> Result<std::collections::HashMap<PathBuf, (u64, i64)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT path, size, mtime_ns, state, doc_status FROM jobs WHERE base_url = ?1 AND destination = ?2 \
                 AND state IN ('done', 'skipped', 'failed', 'cancelled') ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![base_url, Text(dest)], |r| {
                let done = r.get::<_, JobState>(3)? == JobState::Done;
                let ok = done && r.get::<_, Option<String>>(4)?.map(|s| DocStatus::parse(&s)) == Some(DocStatus::Ok);
                Ok((path_from(r.get_ref(0)?)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)?, ok))
            })
            .map_err(db)?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (path, size, mtime, ok) = row.map_err(db)?;
            // The latest job decides; a skip means "unchanged", so it keeps what was there.
            if ok {
                out.insert(path, (size, mtime));
            } else if out.get(&path).is_some_and(|&(s, m)| (s, m) != (size, mtime)) {
                out.remove(&path);
            }
        }
        Ok(out)
    }

    /// Jobs of a server, optionally only those in `states`, oldest first.
    pub fn list(&self, base_url: Option<&str>, states: &[JobState]) -> Result<Vec<Job>> {
        let conn = self.conn();
        let mut sql = format!("SELECT {COLUMNS} FROM jobs WHERE (?1 IS NULL OR base_url = ?1)");
        if !states.is_empty() {
            let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
            sql.push_str(&format!(" AND state IN ({})", list.join(",")));
        }
        sql.push_str(" ORDER BY id");
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let rows = stmt.query_map([base_url], row_to_job).map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    /// Take the oldest queued job of `base_url` and mark it `uploading`, in one transaction.
    pub fn claim_next(&self, base_url: &str) -> Result<Option<Job>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let job = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE state = 'queued' AND base_url = ?1 \
                 AND (not_before IS NULL OR not_before <= ?2) ORDER BY id LIMIT 1"
            ))
            .and_then(|mut st| st.query_row(params![base_url, now()], row_to_job).optional())
            .map_err(db)?;
        let Some(mut job) = job else { return Ok(None) };
        tx.prepare_cached(
            "UPDATE jobs SET state = 'uploading', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
        )
        .and_then(|mut st| st.execute(params![job.id as i64, now()]))
        .map_err(db)?;
        tx.commit().map_err(db)?;
        job.state = JobState::Uploading;
        job.attempts += 1;
        Ok(Some(job))
    }

    /// After a crash or kill, jobs caught mid-upload go back to the queue (their URL is kept
    /// for reuse). Attaching and verifying jobs stay where they are: the scheduler resolves them.
    pub fn recover(&self, base_url: &str) -> Result<usize> {
        self.conn()
            .execute(
                "UPDATE jobs SET state = 'queued', updated_at = ?2 WHERE base_url = ?1 AND state IN ('uploading', 'hashing')",
                params![base_url, now()],
            )
            .map_err(db)
    }

    pub fn set_state(&self, id: u64, state: JobState) -> Result<()> {
        self.update(id, "state = ?2", params![id as i64, Text(state)])
    }

    pub fn set_state_if(&self, id: u64, from: &[JobState], to: JobState) -> Result<bool> {
        let list: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let n = self
            .conn()
            .execute(
                &format!("UPDATE jobs SET state = ?2, updated_at = ?3 WHERE id = ?1 AND state IN ({})", list.join(",")),
                params![id as i64, to.as_str(), now()],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    /// Intent: the PUT is about to go to this URL.
    pub fn record_target(&self, id: u64, target: &Target<'_>) -> Result<()> {
        self.record_targets(&[(id, target.clone())])
    }

    /// Upload targets for many jobs in one commit (a service that hands them out in batches).
    pub fn record_targets(&self, targets: &[(u64, Target<'_>)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        {
            let mut st = tx
                .prepare_cached(
                    "UPDATE jobs SET upload_id = ?2, upload_url = ?3, url_valid_until = ?4, transfer = ?5, \
                     form_target = ?6, updated_at = ?7 WHERE id = ?1",
                )
                .map_err(db)?;
            for (id, t) in targets {
                let form = t.form.map(FormTarget::to_journal);
                st.execute(params![*id as i64, t.upload_id, t.url, t.valid_until, t.transfer, form, now()])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// The job's target is of no more use (expired, or its bytes lost): the next upload asks
    /// for a new one.
    pub fn forget_target(&self, id: u64) -> Result<()> {
        self.update(
            id,
            "upload_id = NULL, form_target = NULL, upload_url = NULL, url_valid_until = NULL, transfer = NULL",
            params![id as i64],
        )
    }

    /// The bytes are at the server. `status` is the upload's own verdict where the upload is
    /// final (HBR's `unverified`); it is kept with the rest, so a restart before the job is done
    /// does not lose it.
    pub fn record_uploaded(
        &self,
        id: u64,
        sha256: &str,
        size: u64,
        md5: Option<&str>,
        status: Option<&DocStatus>,
    ) -> Result<()> {
        self.update(
            id,
            "sha256 = ?2, size = ?3, md5 = ?4, state = 'attaching', attach_sent = 0, doc_status = COALESCE(?5, doc_status)",
            params![id as i64, sha256, size as i64, md5, status.map(DocStatus::as_str)],
        )
    }

    pub fn mark_attach_sent(&self, ids: &[u64]) -> Result<()> {
        self.batch("UPDATE jobs SET attach_sent = 1, updated_at = ?2 WHERE id = ?1", ids, |_| None)
    }

    /// The attach is known not to have happened (or the Doc was deleted for `replace`).
    pub fn clear_attach_sent(&self, id: u64) -> Result<()> {
        self.update(id, "attach_sent = 0", params![id as i64])
    }

    /// The job's Doc gets another name; the file keeps it from now on (see `names`).
    pub fn rename(&self, id: u64, doc_name: &str) -> Result<()> {
        // (The decision in `names` follows, so the file keeps its new name next time.)
        self.update(id, "doc_name = ?2, attach_sent = 0, replaces = NULL", params![id as i64, doc_name])?;
        self.conn()
            .execute(
                "UPDATE names SET doc_name = ?2 WHERE (base_url, destination, path) = \
                 (SELECT base_url, destination, path FROM jobs WHERE id = ?1)",
                params![id as i64, doc_name],
            )
            .map(|_| ())
            .map_err(db)
    }

    /// The Doc exists; only its final status is still to be read.
    pub fn record_attached(&self, id: u64) -> Result<()> {
        self.record_attached_many(&[id])
    }

    /// In the same commit, each Doc is recorded as made by Twindrop, with the hash it was sent
    /// with and the file it came from: what later allows (only) this file to replace it.
    pub fn record_attached_many(&self, ids: &[u64]) -> Result<()> {
        self.batches(
            &[
                "UPDATE jobs SET state = 'verifying', attach_sent = 1, replaces = NULL, updated_at = ?2 WHERE id = ?1",
                "INSERT OR REPLACE INTO docs (base_url, destination, doc_name, sha256, path, job_id, updated_at) \
                 SELECT base_url, destination, doc_name, COALESCE(sha256, ''), path, id, ?2 FROM jobs WHERE id = ?1",
            ],
            ids,
            |_| None,
        )
    }

    /// The job's bytes are on the server under its name, in a Doc found there. `ours`: the
    /// job's own attach may have made it (in doubt), so it is recorded as Twindrop's; otherwise
    /// the Doc stays someone else's and is never replaced or deleted by a sync.
    pub fn record_found(&self, id: u64, ours: bool) -> Result<()> {
        if ours {
            return self.record_attached(id);
        }
        self.batch(
            "UPDATE jobs SET state = 'verifying', attach_sent = 1, replaces = NULL, updated_at = ?2 WHERE id = ?1",
            &[id],
            |_| None,
        )
    }

    /// Intent of a replace, before the old Doc (with this hash) is deleted.
    pub fn record_replacing(&self, id: u64, old_sha256: &str) -> Result<()> {
        self.update(id, "replaces = ?2", params![id as i64, old_sha256])
    }

    /// Final statuses for several jobs, in one transaction.
    pub fn record_done_many(&self, done: &[(u64, &DocStatus)]) -> Result<()> {
        let ids: Vec<u64> = done.iter().map(|(id, _)| *id).collect();
        self.batch(
            "UPDATE jobs SET state = 'done', doc_status = ?3, error_code = NULL, error_message = NULL, \
             updated_at = ?2 WHERE id = ?1",
            &ids,
            |i| Some(done[i].1.as_str()),
        )
    }

    fn batch<'a>(&self, sql: &str, ids: &[u64], third: impl Fn(usize) -> Option<&'a str>) -> Result<()> {
        self.batches(&[sql], ids, third)
    }

    /// Each statement for each job, all in one commit.
    fn batches<'a>(&self, sqls: &[&str], ids: &[u64], third: impl Fn(usize) -> Option<&'a str>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let t = now();
        for sql in sqls {
            let mut st = tx.prepare_cached(sql).map_err(db)?;
            for (i, id) in ids.iter().enumerate() {
                let n = match third(i) {
                    Some(v) => st.execute(params![*id as i64, t, v]),
                    None => st.execute(params![*id as i64, t]),
                }
                .map_err(db)?;
                if n != 1 {
                    return Err(Error::Journal(format!("job {id} not found")));
                }
            }
        }
        tx.commit().map_err(db)
    }

    pub fn record_done(&self, id: u64, doc_status: &DocStatus) -> Result<()> {
        self.record_done_many(&[(id, doc_status)])
    }

    pub fn record_skipped(&self, id: u64, reason: &str) -> Result<()> {
        self.update(id, "state = 'skipped', error_message = ?2", params![id as i64, reason])
    }

    pub fn record_failed(&self, id: u64, error: &Error) -> Result<()> {
        self.record_failed_info(id, &error.info())
    }

    pub fn record_failed_info(&self, id: u64, error: &crate::error::ErrorInfo) -> Result<()> {
        self.update(
            id,
            "state = 'failed', error_code = ?2, error_message = ?3",
            params![id as i64, error.code, error.message],
        )
    }

    /// Back to the queue, to be claimed no sooner than `wait` from now (a copy that came out
    /// wrong is sent again after a backoff, not at once).
    pub fn requeue_after(&self, id: u64, wait: std::time::Duration) -> Result<()> {
        self.update(
            id,
            "state = 'queued', attach_sent = 0, not_before = ?2",
            params![id as i64, now() + wait.as_secs_f64()],
        )
    }

    /// A job about to be sent again is for the file as it is now (a person asked to retry it).
    pub fn refresh_identity(&self, id: u64, identity: &crate::source::Identity) -> Result<()> {
        self.update(
            id,
            "size = ?2, mtime_ns = ?3, dev = ?4, ino = ?5",
            params![id as i64, identity.size as i64, identity.mtime_ns, identity.dev as i64, identity.ino as i64],
        )
    }

    /// Failed jobs go back to the queue; one whose attach is in doubt goes back to be resolved.
    pub fn requeue_failed(&self, base_url: &str) -> Result<usize> {
        self.conn()
            .execute(
                "UPDATE jobs SET state = CASE WHEN attach_sent = 1 THEN 'attaching' ELSE 'queued' END, \
                 error_code = NULL, error_message = NULL, updated_at = ?2 WHERE base_url = ?1 AND state = 'failed'",
                params![base_url, now()],
            )
            .map_err(db)
    }

    fn update(&self, id: u64, set: &str, params: &[&dyn rusqlite::ToSql]) -> Result<()> {
        // SQLite stamps the time itself, so each call site's SQL text is constant and its
        // prepared statement is reused from the cache.
        let sql = format!("UPDATE jobs SET {set}, updated_at = unixepoch('subsec') WHERE id = ?1");
        let n = self.conn().prepare_cached(&sql).and_then(|mut st| st.execute(params)).map_err(db)?;
        if n != 1 {
            return Err(Error::Journal(format!("job {id} not found")));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doc::{ConflictPolicy, StorageClass};

    /// A Twin destination for tests (`n` tells two apart).
    pub(crate) fn twin(n: u8) -> Destination {
        Destination::Twin(
            crate::destination::TwinId::parse(&format!("0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c{n:02x}")).unwrap(),
        )
    }

    fn new_job<'a>(dest: &'a Destination, path: &'a Path, name: &'a str) -> NewJob<'a> {
        NewJob {
            base_url: "http://h",
            destination: dest,
            path,
            doc_name: name,
            size: 5,
            mtime_ns: 1,
            storage_class: StorageClass::AccessOptimized,
            description: None,
            on_conflict: ConflictPolicy::Rename,
            dev: 0,
            ino: 0,
        }
    }

    #[test]
    fn the_column_list_and_its_count_agree() {
        assert_eq!(COLUMNS.split(',').count(), COLUMN_COUNT);
    }

    #[test]
    fn jobs_move_through_their_states_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let file = dir.path().join("a.txt");
        let dest = twin(1);
        {
            let j = Journal::open(&path).unwrap();
            assert_eq!(Journal::open(&path).err().map(|e| e.code()), Some("journal.locked"));
            let a = j.insert(&new_job(&dest, &file, "a.txt"), JobState::Queued).unwrap();
            let b = j.insert(&new_job(&dest, &file, "b.txt"), JobState::Queued).unwrap();
            let claimed = j.claim_next("http://h").unwrap().unwrap();
            assert_eq!((claimed.id, claimed.state, claimed.attempts), (a, JobState::Uploading, 1));
            assert!(j.claim_next("http://other").unwrap().is_none());
            let target = Target {
                upload_id: "h1",
                url: "http://h/upload/x",
                valid_until: 99.5,
                transfer: Some(Transfer::Put),
                form: None,
            };
            j.record_target(a, &target).unwrap();
            j.record_uploaded(a, "abc", 5, Some("md5"), None).unwrap();
            j.mark_attach_sent(&[a]).unwrap();
            j.claim_next("http://h").unwrap().unwrap();
            assert_eq!(j.get(b).unwrap().state, JobState::Uploading);
        }
        // "Killed" here: the next process finds the attach in doubt and the upload to redo.
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.recover("http://h").unwrap(), 1);
        let jobs = j.list(Some("http://h"), &[]).unwrap();
        assert_eq!(jobs[0].state, JobState::Attaching);
        assert!(jobs[0].attach_sent);
        assert_eq!(jobs[0].upload_id.as_deref(), Some("h1"));
        assert_eq!((&jobs[0].destination, jobs[0].doc_name.as_str()), (&dest, "a.txt"));
        assert_eq!(
            (jobs[0].storage_class, jobs[0].on_conflict),
            (StorageClass::AccessOptimized, ConflictPolicy::Rename)
        );
        assert_eq!(jobs[0].sha256.as_deref(), Some("abc"));
        assert_eq!((jobs[0].transfer, jobs[0].md5.as_deref()), (Some(Transfer::Put), Some("md5")));
        assert_eq!(jobs[1].state, JobState::Queued);
        assert_eq!(j.latest_for_path("http://h", &dest, &file).unwrap().unwrap().id, jobs[1].id);

        j.record_failed(jobs[1].id, &Error::Unauthorized("no".into())).unwrap();
        let failed = j.list(None, &[JobState::Failed]).unwrap();
        assert_eq!(failed[0].error_code.as_deref(), Some("auth.unauthorized"));
        assert_eq!(j.requeue_failed("http://h").unwrap(), 1);
        assert_eq!(j.get(jobs[1].id).unwrap().state, JobState::Queued);
        j.record_attached(jobs[0].id).unwrap();
        j.record_done(jobs[0].id, &DocStatus::Ok).unwrap();
        let done = j.get(jobs[0].id).unwrap();
        assert_eq!((done.state, done.doc_status.as_ref()), (JobState::Done, Some(&DocStatus::Ok)));
        assert!(done.is_ok());
        assert!(j.set_state_if(jobs[1].id, &[JobState::Queued], JobState::Paused).unwrap());
        assert!(!j.set_state_if(jobs[1].id, &[JobState::Queued], JobState::Cancelled).unwrap());
    }
}
