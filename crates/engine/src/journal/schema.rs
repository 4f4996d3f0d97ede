//! The journal's schema, versioned by SQLite's `user_version` (`rusqlite_migration`). Each
//! version runs once, in one transaction with the version bump, so a kill mid-migration leaves
//! the file as it was.
//!
//! - 1, the baseline: the schema as it stood before versions were kept. A file made then has
//!   `user_version` 0 with its tables present, possibly without the columns added later, and
//!   possibly without the ownership tables: so every statement is `IF NOT EXISTS`, missing
//!   columns are added, and the Docs a journal without `docs` verified become Twindrop's. The
//!   same version makes an empty file.
//! - 2, typed jobs: `twin` becomes `destination` (it also held tables, assets and `hbr-temp`),
//!   with a `service` column saying how to read it (the rule is [`service_of`]); `handler`
//!   becomes `upload_id`, and HBR's whole answer moves out of it into `form_target` (its
//!   `upload_id` is then the temp file key); `names.dest` and `docs.dest` become `destination`.
//! - 3, bounded history: an index of `docs` by job, so pruning finished jobs (`journal::retention`)
//!   finds in one step whether a job's Doc is still owned, and the `housekeeping` table that
//!   remembers when the journal was last pruned.
//! - 4, no spent credentials: finished jobs drop their upload URL and form target (a presigned
//!   URL, an OSS policy and signature are credentials until they expire); from then on a job
//!   drops them as it finishes ([`super::Journal::record_done_many`]).
//!
//! A file of a version above the last one here was written by a newer Twindrop: it is refused
//! (`journal.too_new`) and left untouched.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, Transaction};
use rusqlite_migration::{HookError, HookResult, MigrationDefinitionError, Migrations, M};

use crate::destination::{ServiceKind, TableRef, TwinId};
use crate::error::{Error, Result};

/// The tables as they were when versions started being kept (version 1).
const BASELINE: &str = "
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

/// The ownership tables of version 1 (made by the baseline's hook, which must know whether
/// `docs` was there before).
const OWNERSHIP: &str = "
CREATE INDEX IF NOT EXISTS jobs_by_name ON jobs(base_url, twin, doc_name);
CREATE TABLE IF NOT EXISTS names (
    base_url TEXT NOT NULL,
    dest TEXT NOT NULL,
    path NOT NULL,
    proposed TEXT NOT NULL,
    doc_name TEXT NOT NULL,
    PRIMARY KEY (base_url, dest, path)
);
CREATE INDEX IF NOT EXISTS names_by_doc ON names(base_url, dest, doc_name);
CREATE TABLE IF NOT EXISTS docs (
    base_url TEXT NOT NULL,
    dest TEXT NOT NULL,
    doc_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    path NOT NULL,
    job_id INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (base_url, dest, doc_name)
);
CREATE TABLE IF NOT EXISTS deletions (
    job_id INTEGER PRIMARY KEY,
    since REAL NOT NULL
);
";

/// Ownership of what a journal made before the `docs` table existed: the Docs its jobs
/// attached and verified are Twindrop's (the latest job of each name wins), so a changed file
/// still replaces its own Doc after the upgrade.
const BACKFILL: &str = "
INSERT OR REPLACE INTO docs (base_url, dest, doc_name, sha256, path, job_id, updated_at)
    SELECT base_url, twin, doc_name, sha256, path, id, updated_at FROM jobs
    WHERE state = 'done' AND doc_status = 'ok' AND sha256 IS NOT NULL ORDER BY id;
";

const TYPED_JOBS: &str = "
ALTER TABLE jobs RENAME COLUMN twin TO destination;
ALTER TABLE jobs ADD COLUMN service TEXT NOT NULL DEFAULT 'trusted_twin';
ALTER TABLE jobs RENAME COLUMN handler TO upload_id;
ALTER TABLE jobs ADD COLUMN form_target TEXT;
ALTER TABLE names RENAME COLUMN dest TO destination;
ALTER TABLE docs RENAME COLUMN dest TO destination;
";

const BOUNDED_HISTORY: &str = "
CREATE INDEX docs_by_job ON docs(job_id);
CREATE TABLE housekeeping (
    key TEXT PRIMARY KEY,
    value
) WITHOUT ROWID;
";

const NO_SPENT_CREDENTIALS: &str = "
UPDATE jobs SET upload_url = NULL, form_target = NULL
    WHERE state = 'done' AND (upload_url IS NOT NULL OR form_target IS NOT NULL);
";

/// What `verify` keeps (`journal::verified`).
const VERIFIED: &str = "
CREATE TABLE verified (
    base_url TEXT NOT NULL,
    destination TEXT NOT NULL,
    path NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    md5 TEXT,
    PRIMARY KEY (base_url, destination, path)
) WITHOUT ROWID;
CREATE TABLE verifications (
    base_url TEXT NOT NULL,
    destination TEXT NOT NULL,
    root NOT NULL,
    at REAL NOT NULL,
    in_step INTEGER NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (base_url, destination, root)
) WITHOUT ROWID;
";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up_with_hook(BASELINE, baseline),
        M::up_with_hook(TYPED_JOBS, typed_jobs),
        M::up(BOUNDED_HISTORY),
        M::up(NO_SPENT_CREDENTIALS),
        M::up(VERIFIED),
    ])
}

/// Bring the file at `path` (opened as `conn`) to the latest version, or refuse it.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    to_latest(&migrations(), conn, path, "journal")
}

/// `what` names the file in errors ("journal", "activity log").
pub(crate) fn to_latest(migrations: &Migrations<'_>, conn: &mut Connection, path: &Path, what: &str) -> Result<()> {
    migrations.to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::MigrationDefinition(MigrationDefinitionError::DatabaseTooFarAhead) => {
            Error::JournalTooNew {
                path: path.display().to_string(),
                found: conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap_or(-1),
                known: migrations.pending_migrations(&Connection::open_in_memory().expect("in memory")).unwrap_or(0)
                    as usize,
            }
        }
        other => Error::Journal(format!("{what} {}: schema migration failed: {other}", path.display())),
    })
}

fn baseline(tx: &Transaction<'_>) -> HookResult {
    let has_column = |column: &str| {
        tx.prepare("SELECT 1 FROM pragma_table_info('jobs') WHERE name = ?1").and_then(|mut st| st.exists([column]))
    };
    for (column, kind) in [
        ("transfer", "TEXT"),
        ("md5", "TEXT"),
        ("dev", "INTEGER NOT NULL DEFAULT 0"),
        ("ino", "INTEGER NOT NULL DEFAULT 0"),
        ("replaces", "TEXT"),
        ("not_before", "REAL"),
    ] {
        if !has_column(column)? {
            tx.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {column} {kind}"))?;
        }
    }
    let had_docs = tx
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'docs'")
        .and_then(|mut st| st.exists([]))?;
    tx.execute_batch(OWNERSHIP)?;
    if !had_docs {
        tx.execute_batch(BACKFILL)?;
    }
    Ok(())
}

/// The service of a row from before the `service` column, from what its destination looks
/// like and what it recorded:
/// 1. `hbr-temp`, or a `form` transfer: HBR.
/// 2. A table reference (it has a dot; a UUID never does): Redivis.
/// 3. A UUID with a `put` or `none` transfer: Inspect (Trusted Twin never recorded a transfer).
/// 4. Any other UUID: Inspect if rule 3 found Inspect at the same base URL (a base URL serves
///    one API), else Trusted Twin, the first-class service.
pub(super) fn service_of(destination: &str, transfer: Option<&str>, inspect_here: bool) -> ServiceKind {
    if destination == "hbr-temp" || transfer == Some("form") {
        ServiceKind::Hbr
    } else if TwinId::parse(destination).is_err() && TableRef::parse(destination).is_ok() {
        ServiceKind::Redivis
    } else if matches!(transfer, Some("put" | "none")) || inspect_here {
        ServiceKind::Inspect
    } else {
        ServiceKind::TrustedTwin
    }
}

fn typed_jobs(tx: &Transaction<'_>) -> HookResult {
    let rows: Vec<(i64, String, String, Option<String>)> = tx
        .prepare("SELECT id, base_url, destination, transfer FROM jobs")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut inspect_at: HashMap<&str, bool> = HashMap::new();
    for (_, base_url, destination, transfer) in &rows {
        if service_of(destination, transfer.as_deref(), false) == ServiceKind::Inspect {
            inspect_at.insert(base_url, true);
        }
    }
    let mut set = tx.prepare("UPDATE jobs SET service = ?2 WHERE id = ?1")?;
    for (id, base_url, destination, transfer) in &rows {
        let here = inspect_at.contains_key(base_url.as_str());
        let kind = service_of(destination, transfer.as_deref(), here);
        if kind != ServiceKind::TrustedTwin {
            set.execute(rusqlite::params![id, kind.as_str()])?;
        }
    }
    // HBR's answer was the handler; its own name for the upload is the temp file key.
    tx.execute_batch(
        "UPDATE jobs SET form_target = upload_id, \
         upload_id = CASE WHEN json_valid(upload_id) THEN json_extract(upload_id, '$.TempFileKey') END \
         WHERE service = 'hbr' AND upload_id IS NOT NULL",
    )
    .map_err(HookError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_are_well_formed() {
        migrations().validate().unwrap();
        assert_eq!(migrations().pending_migrations(&Connection::open_in_memory().unwrap()).unwrap(), 5);
    }

    #[test]
    fn a_row_s_service_follows_the_written_rule() {
        let uuid = "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
        assert_eq!(service_of("hbr-temp", None, false), ServiceKind::Hbr);
        assert_eq!(service_of("hbr-temp", Some("form"), true), ServiceKind::Hbr);
        assert_eq!(service_of("user.dataset:v1.files", Some("put"), false), ServiceKind::Redivis);
        assert_eq!(service_of("user.dataset:v1.files", None, true), ServiceKind::Redivis);
        assert_eq!(service_of(uuid, Some("none"), false), ServiceKind::Inspect);
        assert_eq!(service_of(uuid, Some("put"), false), ServiceKind::Inspect);
        assert_eq!(service_of(uuid, None, true), ServiceKind::Inspect);
        assert_eq!(service_of(uuid, None, false), ServiceKind::TrustedTwin);
    }

    /// A journal of the first release: no columns added since, no ownership tables, version 0.
    /// Opening it adds what is missing, and the Docs it verified become Twindrop's (the latest
    /// job of each name).
    #[test]
    fn a_first_release_journal_is_brought_up_and_owns_what_it_verified() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("j.sqlite");
        let twin = "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
        {
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch(BASELINE).unwrap();
            for (sha, status) in [("old", "ok"), ("new", "ok"), ("bad", "hash_mismatch")] {
                conn.execute(
                    "INSERT INTO jobs (base_url, twin, path, doc_name, size, mtime_ns, state, sha256, doc_status, \
                     storage_class, on_conflict, created_at, updated_at) \
                     VALUES ('h', ?1, '/a.txt', 'a.txt', 1, 1, 'done', ?2, ?3, 'access_optimized', 'rename', 1, 1)",
                    rusqlite::params![twin, sha, status],
                )
                .unwrap();
            }
        }
        let j = super::super::Journal::open(&db).unwrap();
        let dest = crate::destination::Destination::Twin(TwinId::parse(twin).unwrap());
        let owned = j.owned_doc("h", &dest, "a.txt").unwrap().unwrap();
        assert_eq!((owned.sha256.as_str(), owned.path.as_path()), ("new", Path::new("/a.txt")));
        let jobs = j.list(None, &[]).unwrap();
        assert_eq!(jobs.len(), 3);
        assert!(jobs.iter().all(|job| job.destination == dest && job.dev == 0 && job.transfer.is_none()));
        assert!(jobs[1].is_ok() && !jobs[2].is_ok());
    }
}
