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

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::error::{Error, Result};

mod docs;
mod resumable;
pub use docs::{Deletion, OwnedDoc};
pub use resumable::ResumableRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Hashing,
    Uploading,
    Attaching,
    Verifying,
    Paused,
    Done,
    Failed,
    Skipped,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        use JobState::*;
        match self {
            Queued => "queued",
            Hashing => "hashing",
            Uploading => "uploading",
            Attaching => "attaching",
            Verifying => "verifying",
            Paused => "paused",
            Done => "done",
            Failed => "failed",
            Skipped => "skipped",
            Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        use JobState::*;
        Ok(match s {
            "queued" => Queued,
            "hashing" => Hashing,
            "uploading" => Uploading,
            "attaching" => Attaching,
            "verifying" => Verifying,
            "paused" => Paused,
            "done" => Done,
            "failed" => Failed,
            "skipped" => Skipped,
            "cancelled" => Cancelled,
            other => return Err(Error::Journal(format!("unknown job state {other:?}"))),
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed | JobState::Skipped | JobState::Cancelled)
    }
}

/// One row of the journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: u64,
    pub base_url: String,
    pub twin: String,
    /// Exact, even when not UTF-8; shown (and serialised) with U+FFFD for the bytes that are not.
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub doc_name: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub state: JobState,
    pub sha256: Option<String>,
    pub handler: Option<String>,
    /// A bearer credential for its lifetime: never printed, never logged.
    #[serde(skip)]
    pub upload_url: Option<String>,
    pub url_valid_until: Option<f64>,
    pub attach_sent: bool,
    pub doc_status: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: u32,
    pub storage_class: String,
    pub description: Option<String>,
    pub on_conflict: String,
    pub updated_at: f64,
    /// How the bytes go when the service offers a choice (`put` or `resumable`).
    pub transfer: Option<String>,
    /// Base64 MD5 of what was uploaded, for services that verify with it.
    pub md5: Option<String>,
    /// The file's device and inode when it was planned (0 for rows from before they were kept):
    /// the bytes sent must come from this very file (see `source`).
    pub dev: u64,
    pub ino: u64,
    /// Intent of a replace: the SHA-256 of the Doc this job deletes before it attaches, written
    /// before the delete (see `queue::attach`).
    pub replaces: Option<String>,
}

impl Job {
    /// The file this job sends, as it was when planned.
    pub fn identity(&self) -> crate::source::Identity {
        crate::source::Identity { dev: self.dev, ino: self.ino, size: self.size, mtime_ns: self.mtime_ns }
    }

    /// Whether the job ended with its Doc `ok` on the server.
    pub fn is_ok(&self) -> bool {
        self.state == JobState::Done && self.doc_status.as_deref() == Some("ok")
    }
}

fn lossy_path<S: serde::Serializer>(path: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// What a new job needs.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub base_url: &'a str,
    pub twin: &'a str,
    pub path: &'a Path,
    pub doc_name: &'a str,
    pub size: u64,
    pub mtime_ns: i64,
    pub dev: u64,
    pub ino: u64,
    pub storage_class: &'a str,
    pub description: Option<&'a str>,
    pub on_conflict: &'a str,
}

/// Where a job's bytes go, as the journal keeps it. The URL is a bearer credential.
#[derive(Clone)]
pub struct Target<'a> {
    pub handler: &'a str,
    pub url: &'a str,
    pub valid_until: f64,
    pub transfer: Option<&'a str>,
}

pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
    // Held for the journal's lifetime: one process at a time drives a journal.
    _lock: std::fs::File,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    base_url TEXT NOT NULL,
    twin TEXT NOT NULL,
    path TEXT NOT NULL,
    doc_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    state TEXT NOT NULL,
    sha256 TEXT,
    handler TEXT,
    upload_url TEXT,
    url_valid_until REAL,
    attach_sent INTEGER NOT NULL DEFAULT 0,
    doc_status TEXT,
    error_code TEXT,
    error_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    storage_class TEXT NOT NULL,
    description TEXT,
    on_conflict TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, id);
CREATE INDEX IF NOT EXISTS jobs_by_path ON jobs(base_url, twin, path, id);
CREATE TABLE IF NOT EXISTS resumable (
    key TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    session_uri TEXT NOT NULL,
    committed INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
";

const COLUMNS: &str = "id, base_url, twin, path, doc_name, size, mtime_ns, state, sha256, handler, upload_url, \
    url_valid_until, attach_sent, doc_status, error_code, error_message, attempts, storage_class, description, \
    on_conflict, updated_at, transfer, md5, dev, ino, replaces";

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

pub use crate::source::mtime_ns;

/// Columns added after the first release, for journals created before them.
fn migrate(conn: &Connection) -> Result<()> {
    let has = |column: &str| -> Result<bool> {
        conn.prepare("SELECT 1 FROM pragma_table_info('jobs') WHERE name = ?1")
            .and_then(|mut st| st.exists([column]))
            .map_err(db)
    };
    for (column, kind) in [
        ("transfer", "TEXT"),
        ("md5", "TEXT"),
        ("dev", "INTEGER NOT NULL DEFAULT 0"),
        ("ino", "INTEGER NOT NULL DEFAULT 0"),
        ("replaces", "TEXT"),
        ("not_before", "REAL"),
    ] {
        if !has(column)? {
            conn.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {column} {kind}")).map_err(db)?;
        }
    }
    let had_docs = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'docs'")
        .and_then(|mut st| st.exists([]))
        .map_err(db)?;
    conn.execute_batch(docs::SCHEMA).map_err(db)?;
    if !had_docs {
        // A journal from before ownership was kept: the Docs its jobs attached and verified are
        // Twindrop's (the latest job of each name wins), so a changed file still replaces its
        // own Doc after the upgrade.
        conn.execute_batch(docs::BACKFILL).map_err(db)?;
    }
    Ok(())
}

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

fn row_to_job(r: &Row<'_>) -> rusqlite::Result<Job> {
    let state: String = r.get(7)?;
    Ok(Job {
        id: r.get::<_, i64>(0)? as u64,
        base_url: r.get(1)?,
        twin: r.get(2)?,
        path: path_from(r.get_ref(3)?)?,
        doc_name: r.get(4)?,
        size: r.get::<_, i64>(5)? as u64,
        mtime_ns: r.get(6)?,
        state: JobState::parse(&state)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e)))?,
        sha256: r.get(8)?,
        handler: r.get(9)?,
        upload_url: r.get(10)?,
        url_valid_until: r.get(11)?,
        attach_sent: r.get::<_, i64>(12)? != 0,
        doc_status: r.get(13)?,
        error_code: r.get(14)?,
        error_message: r.get(15)?,
        attempts: r.get::<_, i64>(16)? as u32,
        storage_class: r.get(17)?,
        description: r.get(18)?,
        on_conflict: r.get(19)?,
        updated_at: r.get(20)?,
        transfer: r.get(21)?,
        md5: r.get(22)?,
        dev: r.get::<_, i64>(23)? as u64,
        ino: r.get::<_, i64>(24)? as u64,
        replaces: r.get(25)?,
    })
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
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        crate::private::sqlite_companions(path).iter().try_for_each(|p| crate::private::chmod_private(p))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        migrate(&conn)?;
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
                    "INSERT INTO jobs (base_url, twin, path, doc_name, size, mtime_ns, state, storage_class, \
                     description, on_conflict, created_at, updated_at, dev, ino) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13)",
                )
                .map_err(db)?;
            for job in jobs {
                st.execute(params![
                    job.base_url,
                    job.twin,
                    path_value(job.path),
                    job.doc_name,
                    job.size as i64,
                    job.mtime_ns,
                    state.as_str(),
                    job.storage_class,
                    job.description,
                    job.on_conflict,
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

    /// The newest job for this file on this Twin, if any.
    pub fn latest_for_path(&self, base_url: &str, twin: &str, path: &Path) -> Result<Option<Job>> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE base_url = ?1 AND twin = ?2 AND path = ?3 ORDER BY id DESC LIMIT 1"
            ))
            .and_then(|mut st| st.query_row(params![base_url, twin, path_value(path)], row_to_job).optional())
            .map_err(db)
    }

    /// Every file of `twin` on `base_url` whose latest job finished `ok`, with the size and
    /// mtime it had then: what a folder scan compares against, in one query.
    pub fn finished_files(&self, base_url: &str, twin: &str) -> Result<std::collections::HashMap<PathBuf, (u64, i64)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT path, size, mtime_ns, state, doc_status FROM jobs WHERE base_url = ?1 AND twin = ?2 \
                 AND state IN ('done', 'skipped', 'failed', 'cancelled') ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![base_url, twin], |r| {
                let ok = r.get::<_, String>(3)? == "done" && r.get::<_, Option<String>>(4)?.as_deref() == Some("ok");
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
        self.update(id, "state = ?2", params![id as i64, state.as_str()])
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
                    "UPDATE jobs SET handler = ?2, upload_url = ?3, url_valid_until = ?4, transfer = ?5, \
                     updated_at = ?6 WHERE id = ?1",
                )
                .map_err(db)?;
            for (id, t) in targets {
                st.execute(params![*id as i64, t.handler, t.url, t.valid_until, t.transfer, now()]).map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// The job's target is of no more use (expired, or its bytes lost): the next upload asks
    /// for a new one.
    pub fn forget_target(&self, id: u64) -> Result<()> {
        self.update(
            id,
            "handler = NULL, upload_url = NULL, url_valid_until = NULL, transfer = NULL",
            params![id as i64],
        )
    }

    pub fn record_uploaded(&self, id: u64, sha256: &str, size: u64, md5: Option<&str>) -> Result<()> {
        self.update(
            id,
            "sha256 = ?2, size = ?3, md5 = ?4, state = 'attaching', attach_sent = 0",
            params![id as i64, sha256, size as i64, md5],
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
                "UPDATE names SET doc_name = ?2 WHERE (base_url, dest, path) = \
                 (SELECT base_url, twin, path FROM jobs WHERE id = ?1)",
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
                "INSERT OR REPLACE INTO docs (base_url, dest, doc_name, sha256, path, job_id, updated_at) \
                 SELECT base_url, twin, doc_name, COALESCE(sha256, ''), path, id, ?2 FROM jobs WHERE id = ?1",
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
    pub fn record_done_many(&self, done: &[(u64, &str)]) -> Result<()> {
        let ids: Vec<u64> = done.iter().map(|(id, _)| *id).collect();
        self.batch(
            "UPDATE jobs SET state = 'done', doc_status = ?3, error_code = NULL, error_message = NULL, \
             updated_at = ?2 WHERE id = ?1",
            &ids,
            |i| Some(done[i].1),
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

    pub fn record_done(&self, id: u64, doc_status: &str) -> Result<()> {
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
mod tests {
    use super::*;

    fn new_job<'a>(path: &'a Path, name: &'a str) -> NewJob<'a> {
        NewJob {
            base_url: "http://h",
            twin: "t",
            path,
            doc_name: name,
            size: 5,
            mtime_ns: 1,
            storage_class: "access_optimized",
            description: None,
            on_conflict: "rename",
            dev: 0,
            ino: 0,
        }
    }

    #[test]
    fn jobs_move_through_their_states_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let file = dir.path().join("a.txt");
        {
            let j = Journal::open(&path).unwrap();
            assert_eq!(Journal::open(&path).err().map(|e| e.code()), Some("journal.locked"));
            let a = j.insert(&new_job(&file, "a.txt"), JobState::Queued).unwrap();
            let b = j.insert(&new_job(&file, "b.txt"), JobState::Queued).unwrap();
            let claimed = j.claim_next("http://h").unwrap().unwrap();
            assert_eq!((claimed.id, claimed.state, claimed.attempts), (a, JobState::Uploading, 1));
            assert!(j.claim_next("http://other").unwrap().is_none());
            let target = Target { handler: "h1", url: "http://h/upload/x", valid_until: 99.5, transfer: Some("put") };
            j.record_target(a, &target).unwrap();
            j.record_uploaded(a, "abc", 5, Some("md5")).unwrap();
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
        assert_eq!(jobs[0].handler.as_deref(), Some("h1"));
        assert_eq!(jobs[0].sha256.as_deref(), Some("abc"));
        assert_eq!((jobs[0].transfer.as_deref(), jobs[0].md5.as_deref()), (Some("put"), Some("md5")));
        assert_eq!(jobs[1].state, JobState::Queued);
        assert_eq!(j.latest_for_path("http://h", "t", &file).unwrap().unwrap().id, jobs[1].id);

        j.record_failed(jobs[1].id, &Error::Unauthorized("no".into())).unwrap();
        let failed = j.list(None, &[JobState::Failed]).unwrap();
        assert_eq!(failed[0].error_code.as_deref(), Some("auth.unauthorized"));
        assert_eq!(j.requeue_failed("http://h").unwrap(), 1);
        assert_eq!(j.get(jobs[1].id).unwrap().state, JobState::Queued);
        j.record_attached(jobs[0].id).unwrap();
        j.record_done(jobs[0].id, "ok").unwrap();
        let done = j.get(jobs[0].id).unwrap();
        assert_eq!((done.state, done.doc_status.as_deref()), (JobState::Done, Some("ok")));
        assert!(j.set_state_if(jobs[1].id, &[JobState::Queued], JobState::Paused).unwrap());
        assert!(!j.set_state_if(jobs[1].id, &[JobState::Queued], JobState::Cancelled).unwrap());
    }
}
