//! What the journal does for a failed job whose file is gone: forget it (the person removed
//! it), or point it at the file's new place (the person located it).

use std::path::Path;

use rusqlite::params;

use super::{db, path_value, Journal};
use crate::error::Result;
use crate::source::Identity;

impl Journal {
    /// A failed job leaves the failed set for good: it becomes `cancelled`, which no retry takes,
    /// no name is held by, and no list of failures shows; its last error stays, as history.
    /// Not one whose attach may have reached the server (`false`): its Doc is read back first.
    pub fn forget_failed(&self, id: u64) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE jobs SET state = 'cancelled', updated_at = unixepoch('subsec') \
                 WHERE id = ?1 AND state = 'failed' AND attach_sent = 0",
            )
            .and_then(|mut st| st.execute(params![id as i64]))
            .map_err(db)?;
        Ok(n == 1)
    }

    /// A failed job now sends the file at `path`, as it is now (`identity`), under the same Doc
    /// name, and goes back to the queue. What it knew of the old file's bytes (their digests, an
    /// upload target or resumable session for them) is dropped. `false` when the job is not
    /// failed, or its attach may have reached the server.
    pub fn repoint(&self, id: u64, path: &Path, identity: &Identity) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE jobs SET path = ?2, size = ?3, mtime_ns = ?4, dev = ?5, ino = ?6, sha256 = NULL, md5 = NULL, \
                 upload_id = NULL, form_target = NULL, upload_url = NULL, url_valid_until = NULL, transfer = NULL, \
                 state = 'queued', error_code = NULL, error_message = NULL, not_before = NULL, \
                 updated_at = unixepoch('subsec') \
                 WHERE id = ?1 AND state = 'failed' AND attach_sent = 0",
            )
            .and_then(|mut st| {
                st.execute(params![
                    id as i64,
                    path_value(path),
                    identity.size as i64,
                    identity.mtime_ns,
                    identity.dev as i64,
                    identity.ino as i64
                ])
            })
            .map_err(db)?;
        Ok(n == 1)
    }
}
