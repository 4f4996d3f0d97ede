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
mod folder;
mod gone;
mod job;
mod resumable;
mod retention;
mod schema;
mod verified;
pub use docs::{Deletion, OwnedDoc};
pub use folder::{FolderCounts, FolderFiles, RecentFile, UNCHANGED_SKIP};
use job::{columns, row_to_job, Text, COLUMNS, COLUMN_COUNT};
pub use job::{Job, JobName, JobState, NewJob, Target, Transfer};
pub use resumable::ResumableRecord;
pub use retention::{Pruned, Retention, DEFAULT_HISTORY_DAYS, PRUNE_EVERY};
pub(crate) use schema::to_latest as migrate_file;
pub use verified::{LastVerification, Verified};

/// A file's newest job, as far as telling an unchanged file goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub size: u64,
    pub mtime_ns: i64,
    /// Finished, its Doc `ok`.
    pub ok: bool,
    /// Its Doc's name, as the row holds it.
    pub doc_name: String,
}

pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// How long finished history is kept, in days (0: for ever); see `retention`.
    history_days: std::sync::atomic::AtomicU32,
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

/// The finished states, as SQL.
macro_rules! finished {
    () => {
        "('done', 'skipped', 'failed', 'cancelled')"
    };
}
use finished;

/// The queries run per drop, per file, per tick, per sync or per restart. Each goes through an
/// index and reads only the rows it needs (`tests::hot_queries_use_an_index` checks every one
/// with `EXPLAIN QUERY PLAN`); none reads the whole history.
pub(crate) mod hot {
    use super::columns;

    pub const GET: &str = concat!("SELECT ", columns!(), " FROM jobs WHERE id = ?1");
    /// The newest job of a file at a destination (`jobs_by_path`, newest first, one row).
    pub const LATEST_FOR_PATH: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM jobs WHERE base_url = ?1 AND destination = ?2 AND path = ?3 ORDER BY id DESC LIMIT 1"
    );
    /// `LATEST_FOR_PATH`, only what a preview compares.
    pub const LATEST_RECORD: &str = "SELECT size, mtime_ns, state, doc_status, doc_name FROM jobs \
         WHERE base_url = ?1 AND destination = ?2 AND path = ?3 ORDER BY id DESC LIMIT 1";
    /// A destination's finished jobs file by file, each file's oldest first, in `jobs_by_path`'s
    /// own order (no sort), read as a stream: a sync keeps one entry per file, not per job.
    pub const FINISHED_FILES: &str = concat!(
        "SELECT path, size, mtime_ns, state, doc_status FROM jobs WHERE base_url = ?1 AND destination = ?2 \
         AND state IN ",
        finished!(),
        " ORDER BY path, id"
    );
    /// The oldest claimable job (`jobs_by_state`, one row).
    pub const CLAIM_NEXT: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM jobs WHERE state = 'queued' AND base_url = ?1 AND (not_before IS NULL OR not_before <= ?2) \
         ORDER BY id LIMIT 1"
    );
    pub const CLAIM: &str =
        "UPDATE jobs SET state = 'uploading', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1";
    /// Whether a server has a job in this state (one index probe, not the list of them).
    pub const ANY_IN_STATE: &str = "SELECT 1 FROM jobs WHERE state = ?2 AND base_url = ?1 LIMIT 1";
    /// The bytes a server has queued, summed by SQLite (no job is read into memory).
    pub const QUEUED_BYTES: &str =
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM jobs WHERE state = 'queued' AND base_url = ?1";
    /// The file whose newest live job at a destination has this name (`jobs_by_name`).
    pub const NAME_HOLDER: &str = "SELECT path FROM jobs WHERE base_url = ?1 AND destination = ?2 \
         AND doc_name = ?3 AND state NOT IN ('failed', 'cancelled') ORDER BY id DESC LIMIT 1";
    /// The newest finished job of a Doc name at a destination (`jobs_by_name`).
    pub const LATEST_FINISHED_NAMED: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM jobs WHERE base_url = ?1 AND destination = ?2 AND doc_name = ?3 AND state IN ",
        finished!(),
        " ORDER BY id DESC LIMIT 1"
    );
    /// `+base_url`: by `jobs_by_state` (the few jobs in flight), not by `jobs_by_name`'s
    /// `base_url` prefix, which SQLite would otherwise pick and walk every job of the server.
    pub const RECOVER: &str = "UPDATE jobs SET state = 'queued', updated_at = ?2 \
         WHERE +base_url = ?1 AND state IN ('uploading', 'hashing')";
    /// At each attach: the Doc is recorded as Twindrop's, from its job's row.
    pub const OWN_DOC: &str = "INSERT OR REPLACE INTO docs (base_url, destination, doc_name, sha256, path, job_id, \
         updated_at) SELECT base_url, destination, doc_name, COALESCE(sha256, ''), path, id, ?2 FROM jobs WHERE id = ?1";
    /// At a renamed attach: the file's decided name follows (`names`' key, from the job's row).
    pub const RENAME_DECIDED: &str = "UPDATE names SET doc_name = ?2 WHERE (base_url, destination, path) = \
         (SELECT base_url, destination, path FROM jobs WHERE id = ?1)";
    pub const REQUEUE_FAILED: &str =
        "UPDATE jobs SET state = CASE WHEN attach_sent = 1 THEN 'attaching' ELSE 'queued' END, \
         error_code = NULL, error_message = NULL, updated_at = ?2 WHERE base_url = ?1 AND state = 'failed'";
}

/// `list`'s query for `states` states (none: every state).
fn list_sql(states: &[JobState]) -> String {
    let mut sql = format!("SELECT {COLUMNS} FROM jobs WHERE (?1 IS NULL OR base_url = ?1)");
    if !states.is_empty() {
        let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push_str(&format!(" AND state IN ({})", list.join(",")));
    }
    sql.push_str(" ORDER BY id");
    sql
}

impl Journal {
    /// Open (or create) the journal at `path`, taking an exclusive lock next to it. It keeps
    /// its finished history until told otherwise ([`set_retention`](Self::set_retention), or
    /// [`open_with`](Self::open_with), which also prunes what is due).
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
        // Room for every statement the pipeline runs per file (about twenty, with the plan's and
        // the finisher's): with rusqlite's 16, the least recent is prepared again each time.
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn, path)?;
        Ok(Journal {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            history_days: std::sync::atomic::AtomicU32::new(0),
            _lock: lock,
        })
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
        self.conn().prepare_cached(hot::GET).and_then(|mut st| st.query_row([id as i64], row_to_job)).map_err(db)
    }

    /// The newest job for this file at this destination, if any.
    pub fn latest_for_path(&self, base_url: &str, dest: &Destination, path: &Path) -> Result<Option<Job>> {
        self.conn()
            .prepare_cached(hot::LATEST_FOR_PATH)
            .and_then(|mut st| st.query_row(params![base_url, Text(dest), path_value(path)], row_to_job).optional())
            .map_err(db)
    }

    /// What the newest job of this file at this destination says of it, without reading the
    /// rest of the job (a preview asks it of every file of a drop).
    pub fn latest_record(&self, base_url: &str, dest: &Destination, path: &Path) -> Result<Option<FileRecord>> {
        self.conn()
            .prepare_cached(hot::LATEST_RECORD)
            .and_then(|mut st| {
                st.query_row(params![base_url, Text(dest), path_value(path)], |r| {
                    let ok = r.get::<_, JobState>(2)? == JobState::Done
                        && r.get::<_, Option<String>>(3)?.map(|s| DocStatus::parse(&s)) == Some(DocStatus::Ok);
                    Ok(FileRecord { size: r.get::<_, i64>(0)? as u64, mtime_ns: r.get(1)?, ok, doc_name: r.get(4)? })
                })
                .optional()
            })
            .map_err(db)
    }

    /// Every file of `dest` on `base_url` whose latest job finished `ok`, with the size and
    /// mtime it had then: what a folder scan compares against, in one query. The rows come file
    /// by file (`jobs_by_path`'s order), so what is kept is one entry per file, never the jobs.
    pub fn finished_files(
        &self,
        base_url: &str,
        dest: &Destination,
    ) -> Result<std::collections::HashMap<PathBuf, (u64, i64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(hot::FINISHED_FILES).map_err(db)?;
        let mut rows = stmt.query(params![base_url, Text(dest)]).map_err(db)?;
        let mut out = std::collections::HashMap::new();
        // The file being read, and what its jobs so far say (its jobs come oldest first).
        let mut current: Option<(PathBuf, Option<(u64, i64)>)> = None;
        while let Some(r) = rows.next().map_err(db)? {
            let path = path_from(r.get_ref(0).map_err(db)?).map_err(db)?;
            let (size, mtime) = (r.get::<_, i64>(1).map_err(db)? as u64, r.get::<_, i64>(2).map_err(db)?);
            let done = r.get::<_, JobState>(3).map_err(db)? == JobState::Done;
            let ok =
                done && r.get::<_, Option<String>>(4).map_err(db)?.map(|s| DocStatus::parse(&s)) == Some(DocStatus::Ok);
            if current.as_ref().is_none_or(|(p, _)| *p != path) {
                if let Some((p, Some(sent))) = current.take() {
                    out.insert(p, sent);
                }
                current = Some((path, None));
            }
            let (_, sent) = current.as_mut().expect("set above");
            // The latest job decides; a skip means "unchanged", so it keeps what was there.
            if ok {
                *sent = Some((size, mtime));
            } else if sent.is_some_and(|s| s != (size, mtime)) {
                *sent = None;
            }
        }
        if let Some((p, Some(sent))) = current {
            out.insert(p, sent);
        }
        Ok(out)
    }

    /// The path of the file whose newest job at `dest` that did not fail or was not cancelled
    /// has `doc_name`: the file that holds the name, by the journal's word.
    pub fn name_holder(&self, base_url: &str, dest: &Destination, doc_name: &str) -> Result<Option<PathBuf>> {
        self.conn()
            .prepare_cached(hot::NAME_HOLDER)
            .and_then(|mut st| {
                st.query_row(params![base_url, Text(dest), doc_name], |r| path_from(r.get_ref(0)?)).optional()
            })
            .map_err(db)
    }

    /// The newest finished job at `dest` whose Doc is named `doc_name`.
    pub fn latest_finished_named(&self, base_url: &str, dest: &Destination, doc_name: &str) -> Result<Option<Job>> {
        self.conn()
            .prepare_cached(hot::LATEST_FINISHED_NAMED)
            .and_then(|mut st| st.query_row(params![base_url, Text(dest), doc_name], row_to_job).optional())
            .map_err(db)
    }

    /// Whether `base_url` has a job in any of `states` (an index probe per state; no job is read).
    pub fn has_jobs(&self, base_url: &str, states: &[JobState]) -> Result<bool> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(hot::ANY_IN_STATE).map_err(db)?;
        for state in states {
            if st.exists(params![base_url, Text(*state)]).map_err(db)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// How many of `base_url`'s jobs are queued, and their bytes.
    pub fn queued(&self, base_url: &str) -> Result<(u64, u64)> {
        self.conn()
            .prepare_cached(hot::QUEUED_BYTES)
            .and_then(|mut st| st.query_row([base_url], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))))
            .map(|(files, bytes)| (files.max(0) as u64, bytes.max(0) as u64))
            .map_err(db)
    }

    /// Jobs of a server, optionally only those in `states`, oldest first.
    /// Every row of them: for `twindrop status` and a person's retries, not for a hot path
    /// (with `states` of jobs in flight, it reads only those, through `jobs_by_state`).
    pub fn list(&self, base_url: Option<&str>, states: &[JobState]) -> Result<Vec<Job>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&list_sql(states)).map_err(db)?;
        let rows = stmt.query_map([base_url], row_to_job).map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    /// Take the oldest queued job of `base_url` and mark it `uploading`, in one transaction.
    pub fn claim_next(&self, base_url: &str) -> Result<Option<Job>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let job = tx
            .prepare_cached(hot::CLAIM_NEXT)
            .and_then(|mut st| st.query_row(params![base_url, now()], row_to_job).optional())
            .map_err(db)?;
        let Some(mut job) = job else { return Ok(None) };
        tx.prepare_cached(hot::CLAIM).and_then(|mut st| st.execute(params![job.id as i64, now()])).map_err(db)?;
        tx.commit().map_err(db)?;
        job.state = JobState::Uploading;
        job.attempts += 1;
        Ok(Some(job))
    }

    /// After a crash or kill, jobs caught mid-upload go back to the queue (their URL is kept
    /// for reuse). Attaching and verifying jobs stay where they are: the scheduler resolves them.
    pub fn recover(&self, base_url: &str) -> Result<usize> {
        self.conn().execute(hot::RECOVER, params![base_url, now()]).map_err(db)
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
        self.conn().execute(hot::RENAME_DECIDED, params![id as i64, doc_name]).map(|_| ()).map_err(db)
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
                hot::OWN_DOC,
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

    /// Final statuses for several jobs, in one transaction. A finished job keeps no upload URL
    /// or form target: they are credentials until they expire, and nothing reads them again.
    pub fn record_done_many(&self, done: &[(u64, &DocStatus)]) -> Result<()> {
        let ids: Vec<u64> = done.iter().map(|(id, _)| *id).collect();
        self.batch(
            "UPDATE jobs SET state = 'done', doc_status = ?3, error_code = NULL, error_message = NULL, \
             upload_url = NULL, form_target = NULL, updated_at = ?2 WHERE id = ?1",
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
        self.conn().execute(hot::REQUEUE_FAILED, params![base_url, now()]).map_err(db)
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

    /// Every query of a hot path (per drop, per file, per tick, per sync, per restart), and
    /// what `EXPLAIN QUERY PLAN` may say of each besides index searches: none scans `jobs` (not
    /// even a whole index of it), and none sorts it.
    fn hot_queries() -> Vec<(&'static str, String)> {
        let update = |set: &str| format!("UPDATE jobs SET {set}, updated_at = unixepoch('subsec') WHERE id = ?1");
        vec![
            ("get", hot::GET.into()),
            ("latest_for_path", hot::LATEST_FOR_PATH.into()),
            ("latest_record", hot::LATEST_RECORD.into()),
            ("finished_files", hot::FINISHED_FILES.into()),
            ("claim_next", hot::CLAIM_NEXT.into()),
            ("claim", hot::CLAIM.into()),
            ("has_jobs", hot::ANY_IN_STATE.into()),
            ("queued_bytes", hot::QUEUED_BYTES.into()),
            ("name_holder", hot::NAME_HOLDER.into()),
            ("latest_finished_named", hot::LATEST_FINISHED_NAMED.into()),
            ("recover", hot::RECOVER.into()),
            ("requeue_failed", hot::REQUEUE_FAILED.into()),
            ("list in flight", list_sql(&[JobState::Attaching, JobState::Verifying])),
            ("list queued", list_sql(&[JobState::Queued])),
            ("record_uploaded", update("sha256 = ?2, state = 'attaching'")),
            ("own_doc", hot::OWN_DOC.into()),
            ("rename_decided", hot::RENAME_DECIDED.into()),
            ("decided_name", docs::DECIDED_NAME.into()),
            ("proposed_name", docs::PROPOSED_NAME.into()),
            ("name_held_by_other", docs::NAME_HELD_BY_OTHER.into()),
            ("owned_doc", docs::OWNED_DOC.into()),
            ("deletions", docs::deletions_sql()),
            ("latest_in_folder", folder::LATEST_IN_FOLDER.into()),
            ("prune batch", retention::PRUNE_BATCH.into()),
            ("prune batch end", retention::BATCH_END.into()),
            ("prune next created", retention::NEXT_CREATED.into()),
        ]
    }

    /// Lines of `EXPLAIN QUERY PLAN` for `sql`, on a journal of the latest schema.
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Value::Null; st.parameter_count()];
        let rows = st.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// Each hot query goes through the index it was written for, with the constraints that
    /// make it read only its rows: no `SCAN` of `jobs` (nor of any table but the pending
    /// deletes), no sort but of the jobs in flight or the pending deletes.
    #[test]
    fn hot_queries_use_an_index() {
        let expected: &[(&str, &[&str])] = &[
            ("get", &["SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"]),
            ("latest_for_path", &["SEARCH jobs USING INDEX jobs_by_path (base_url=? AND destination=? AND path=?)"]),
            ("latest_record", &["SEARCH jobs USING INDEX jobs_by_path (base_url=? AND destination=? AND path=?)"]),
            ("finished_files", &["SEARCH jobs USING INDEX jobs_by_path (base_url=? AND destination=?)"]),
            ("claim_next", &["SEARCH jobs USING INDEX jobs_by_state (state=?)"]),
            ("claim", &["SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"]),
            ("has_jobs", &["SEARCH jobs USING INDEX jobs_by_state (state=?)"]),
            ("queued_bytes", &["SEARCH jobs USING INDEX jobs_by_state (state=?)"]),
            ("name_holder", &["SEARCH jobs USING INDEX jobs_by_name (base_url=? AND destination=? AND doc_name=?)"]),
            (
                "latest_finished_named",
                &["SEARCH jobs USING INDEX jobs_by_name (base_url=? AND destination=? AND doc_name=?)"],
            ),
            ("recover", &["SEARCH jobs USING INDEX jobs_by_state (state=?)"]),
            ("requeue_failed", &["SEARCH jobs USING INDEX jobs_by_state (state=?)"]),
            ("list in flight", &["SEARCH jobs USING INDEX jobs_by_state (state=?)", "USE TEMP B-TREE FOR ORDER BY"]),
            ("list queued", &["SEARCH jobs USING INDEX jobs_by_state (state=?)"]),
            ("record_uploaded", &["SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"]),
            ("own_doc", &["SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"]),
            (
                "rename_decided",
                &[
                    "SEARCH names USING INDEX sqlite_autoindex_names_1 (base_url=? AND destination=? AND path=?)",
                    "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)",
                ],
            ),
            (
                "decided_name",
                &["SEARCH names USING INDEX sqlite_autoindex_names_1 (base_url=? AND destination=? AND path=?)"],
            ),
            (
                "proposed_name",
                &["SEARCH names USING INDEX sqlite_autoindex_names_1 (base_url=? AND destination=? AND path=?)"],
            ),
            (
                "name_held_by_other",
                &[
                    "SEARCH names USING INDEX names_by_doc (base_url=? AND destination=? AND doc_name=?)",
                    "SEARCH docs USING INDEX sqlite_autoindex_docs_1 (base_url=? AND destination=? AND doc_name=?)",
                ],
            ),
            (
                "owned_doc",
                &["SEARCH docs USING INDEX sqlite_autoindex_docs_1 (base_url=? AND destination=? AND doc_name=?)"],
            ),
            // Pending deletes drive it (a handful), each job by its key.
            ("deletions", &["SCAN d", "SEARCH j USING INTEGER PRIMARY KEY (rowid=?)", "USE TEMP B-TREE FOR ORDER BY"]),
            // A folder's files, grouped in the index's own order (no sort).
            (
                "latest_in_folder",
                &["SEARCH jobs USING INDEX jobs_by_path (base_url=? AND destination=? AND path>? AND path<?)"],
            ),
            (
                "prune batch",
                &[
                    "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)",
                    "SEARCH j USING INDEX jobs_by_state (state=? AND id>? AND id<?)",
                    "SEARCH k USING INDEX jobs_by_path (base_url=? AND destination=? AND path=? AND id>?)",
                    "SEARCH d USING COVERING INDEX docs_by_job (job_id=?)",
                    "SEARCH x USING INTEGER PRIMARY KEY (rowid=?)",
                ],
            ),
            ("prune batch end", &["SEARCH jobs USING INTEGER PRIMARY KEY (rowid>?)"]),
            ("prune next created", &["SEARCH jobs USING INTEGER PRIMARY KEY (rowid>?)"]),
        ];
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let conn = j.conn();
        let queries = hot_queries();
        assert_eq!(queries.len(), expected.len());
        for ((name, sql), (named, wanted)) in queries.iter().zip(expected) {
            assert_eq!(name, named);
            let lines = plan(&conn, sql);
            for want in *wanted {
                assert!(lines.iter().any(|l| l == want), "{name}: no {want:?} in {lines:?}");
            }
            for line in &lines {
                let structure = ["COMPOUND QUERY", "LEFT-MOST SUBQUERY", "UNION ALL", "CREATE BLOOM FILTER"]
                    .contains(&line.as_str())
                    || line.starts_with("LIST SUBQUERY")
                    || line.starts_with("SCALAR SUBQUERY")
                    || line.starts_with("CORRELATED SCALAR SUBQUERY");
                assert!(wanted.contains(&line.as_str()) || structure, "{name}: {line:?} is not its plan: {lines:?}");
            }
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
        // Its upload URL was a credential: a finished job keeps none (its upload id stays).
        assert_eq!((done.upload_url, done.form_target, done.upload_id.as_deref()), (None, None, Some("h1")));
        let raw: i64 = j
            .conn()
            .query_row("SELECT count(*) FROM jobs WHERE upload_url LIKE '%upload/x%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(raw, 0);
        assert!(j.set_state_if(jobs[1].id, &[JobState::Queued], JobState::Paused).unwrap());
        assert!(!j.set_state_if(jobs[1].id, &[JobState::Queued], JobState::Cancelled).unwrap());
    }
}
