//! What `verify` found, kept: each file whose bytes matched the server's digest (so
//! `--trust-cache` need not read it again while its size and mtime stay), and each folder's
//! last verification (a watched folder's status line says when, and whether it was in step).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{db, path_from, path_value, Journal, Text};
use crate::destination::Destination;
use crate::error::Result;

/// A file's bytes as a verification found them on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: String,
    /// Lowercase hex, for the services that record MD5.
    pub md5: Option<String>,
}

/// A folder's last verification.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LastVerification {
    /// Seconds since the epoch.
    pub at: f64,
    /// Every file matched and nothing was only on the server.
    pub in_step: bool,
    /// `"3 match, 1 differs"`: the counts, as said.
    pub summary: String,
}

impl Journal {
    /// Keep what was verified: (path, facts), in one commit.
    pub fn record_verified(&self, base_url: &str, dest: &Destination, files: &[(&Path, &Verified)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO verified (base_url, destination, path, size, mtime_ns, sha256, md5) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db)?;
            for (path, v) in files {
                st.execute(params![base_url, Text(dest), path_value(path), v.size as i64, v.mtime_ns, v.sha256, v.md5])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// Every file verified at `dest`, in one query.
    pub fn verified_files(&self, base_url: &str, dest: &Destination) -> Result<HashMap<PathBuf, Verified>> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT path, size, mtime_ns, sha256, md5 FROM verified WHERE base_url = ?1 AND destination = ?2",
            )
            .map_err(db)?;
        let rows = st
            .query_map(params![base_url, Text(dest)], |r| {
                Ok((
                    path_from(r.get_ref(0)?)?,
                    Verified {
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        sha256: r.get(3)?,
                        md5: r.get(4)?,
                    },
                ))
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Keep `root`'s latest verification at `dest`.
    pub fn record_verification(
        &self,
        base_url: &str,
        dest: &Destination,
        root: &Path,
        last: &LastVerification,
    ) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO verifications (base_url, destination, root, at, in_step, summary) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![base_url, Text(dest), path_value(root), last.at, last.in_step, last.summary],
            )
            .map(|_| ())
            .map_err(db)
    }

    /// `root`'s latest verification at `dest`, if it was ever verified.
    pub fn last_verification(
        &self,
        base_url: &str,
        dest: &Destination,
        root: &Path,
    ) -> Result<Option<LastVerification>> {
        self.conn()
            .prepare_cached(
                "SELECT at, in_step, summary FROM verifications WHERE base_url = ?1 AND destination = ?2 AND root = ?3",
            )
            .and_then(|mut st| {
                st.query_row(params![base_url, Text(dest), path_value(root)], |r| {
                    Ok(LastVerification { at: r.get(0)?, in_step: r.get(1)?, summary: r.get(2)? })
                })
                .optional()
            })
            .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_files_and_a_folder_s_last_verification_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let dest = super::super::tests::twin(1);
        let facts = Verified { size: 3, mtime_ns: 7, sha256: "ab".into(), md5: None };
        let odd =
            PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(b"/f/\xff.txt".to_vec()));
        j.record_verified("h", &dest, &[(Path::new("/f/a.txt"), &facts), (&odd, &facts)]).unwrap();
        let again = Verified { sha256: "cd".into(), ..facts.clone() };
        j.record_verified("h", &dest, &[(Path::new("/f/a.txt"), &again)]).unwrap();
        let files = j.verified_files("h", &dest).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[Path::new("/f/a.txt")].sha256, "cd");
        assert_eq!(files[&odd], facts);
        assert!(j.verified_files("other", &dest).unwrap().is_empty());

        assert_eq!(j.last_verification("h", &dest, Path::new("/f")).unwrap(), None);
        let last = LastVerification { at: 5.0, in_step: false, summary: "1 differs".into() };
        j.record_verification("h", &dest, Path::new("/f"), &last).unwrap();
        assert_eq!(j.last_verification("h", &dest, Path::new("/f")).unwrap(), Some(last));
    }
}
