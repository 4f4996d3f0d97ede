//! The `resumable` table: an open resumable session per (initiation URL, file), recorded before
//! its first byte goes out and its committed offset after each chunk the server confirms, so a
//! restart carries on inside the file.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::{db, now, Journal};
use crate::error::Result;

/// An open resumable session for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumableRecord {
    pub size: u64,
    pub mtime_ns: i64,
    pub session_uri: String,
    pub committed: u64,
}

impl Journal {
    pub fn resumable_get(&self, key: &str) -> Result<Option<ResumableRecord>> {
        self.conn()
            .prepare_cached("SELECT size, mtime_ns, session_uri, committed FROM resumable WHERE key = ?1")
            .and_then(|mut st| {
                st.query_row([key], |r| {
                    Ok(ResumableRecord {
                        size: r.get::<_, i64>(0)? as u64,
                        mtime_ns: r.get(1)?,
                        session_uri: r.get(2)?,
                        committed: r.get::<_, i64>(3)? as u64,
                    })
                })
                .optional()
            })
            .map_err(db)
    }

    pub fn resumable_put(&self, key: &str, path: &Path, record: &ResumableRecord) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO resumable (key, path, size, mtime_ns, session_uri, committed, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    key,
                    super::path_value(path),
                    record.size as i64,
                    record.mtime_ns,
                    record.session_uri,
                    record.committed as i64,
                    now()
                ])
            })
            .map(|_| ())
            .map_err(db)
    }

    pub fn resumable_commit(&self, key: &str, committed: u64) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE resumable SET committed = ?2, updated_at = ?3 WHERE key = ?1")
            .and_then(|mut st| st.execute(params![key, committed as i64, now()]))
            .map(|_| ())
            .map_err(db)
    }

    pub fn resumable_forget(&self, key: &str) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM resumable WHERE key = ?1")
            .and_then(|mut st| st.execute([key]))
            .map(|_| ())
            .map_err(db)
    }
}
