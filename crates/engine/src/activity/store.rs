//! The activity log's SQLite file: its own (never contending with the journal), private, with
//! a versioned schema, bounded to the newest `cap` entries.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use super::{Entry, Filter, Kind, NewEntry, DEFAULT_CAP};
use crate::error::{Error, Result};

/// Version 1 is the table as it was before versions were kept: a file of then (version 0, the
/// table present) and an empty one both end up here.
const MIGRATIONS: &[M<'static>] = &[M::up(
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
)];

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
        let mut conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        crate::private::sqlite_companions(path).iter().try_for_each(|p| crate::private::chmod_private(p))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        crate::journal::migrate_file(&Migrations::from_slice(MIGRATIONS), &mut conn, path, "activity log")?;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

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
}
