//! The Redivis part of the emulator's state: tables (with the raw files of file-index tables),
//! temp uploads, and resumable sessions. It lives inside the one `store::State`, so it is logged
//! with everything else and survives restarts with a state directory.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::RedivisError;
use crate::clock::Timestamp;
use crate::store::Tracked;

/// The file-index table every emulator has from the start.
pub(crate) const DEFAULT_TABLE: &str = "demo.sandbox:v1.files";

/// "Resumable uploads expire after 24 hours" (seed 002), counted from the initiation.
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Expired sessions are looked for at most this often (expiry itself is checked on every use).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RedivisState {
    /// Keyed by qualified reference (`dataset.table`), compared exactly.
    pub(crate) tables: Tracked<String, Table>,
    pub(crate) temp_uploads: Tracked<String, TempUpload>,
    /// Keyed by session id; only current (not replaced, cancelled or swept) sessions.
    pub(crate) sessions: Tracked<String, Session>,
    /// Raw file id → its table and name; rebuilt on load.
    #[serde(skip)]
    raw_file_tables: HashMap<String, (String, String)>,
    #[serde(skip)]
    next_sweep: Option<Timestamp>,
}

impl Default for RedivisState {
    fn default() -> Self {
        let mut state = RedivisState {
            tables: Tracked::default(),
            temp_uploads: Tracked::default(),
            sessions: Tracked::default(),
            raw_file_tables: HashMap::new(),
            next_sweep: None,
        };
        state.reindex();
        state
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Table {
    pub(crate) reference: String,
    pub(crate) name: String,
    pub(crate) is_file_index: bool,
    /// Keyed by file name (unique per table). Logged as records of their own, never with the
    /// table (read with it from a state file of format 1).
    #[serde(default, skip_serializing)]
    pub(crate) files: Tracked<String, RawFile>,
}

impl Table {
    pub(crate) fn new(dataset: &str, name: &str, is_file_index: bool) -> Table {
        Table {
            reference: format!("{dataset}.{name}"),
            name: name.to_owned(),
            is_file_index,
            files: Tracked::default(),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "kind": "table",
            "name": self.name,
            "qualifiedReference": self.reference,
            "uri": format!("/tables/{}", self.reference),
            "isFileIndex": self.is_file_index,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RawFile {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) size: u64,
    /// Base64 of the raw MD5 digest, as GCS and Redivis show it.
    pub(crate) md5: String,
    pub(crate) temp_upload: String,
    /// Whether the emulator holds the bytes (`false`: they are on the delegated data plane).
    pub(crate) local: bool,
}

impl RawFile {
    pub(crate) fn to_json(&self, base_url: &str) -> Value {
        json!({
            "kind": "rawFile",
            "id": self.id,
            "uri": format!("/rawFiles/{}", self.id),
            "url": format!("{base_url}/api/v1/rawFiles/{}?alt=media", self.id),
            "name": self.name,
            "md5Hash": self.md5,
            "size": self.size,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TempUpload {
    pub(crate) id: String,
    /// The table it was created on (rawFiles may use it on any table).
    pub(crate) table: String,
    pub(crate) name: String,
    /// The declared size; the bytes must match it exactly.
    pub(crate) size: u64,
    pub(crate) resumable: bool,
    /// The bytes go to the external data plane, not to the emulator.
    pub(crate) delegated: bool,
    pub(crate) created_ts: Timestamp,
    /// The current resumable session, if one was initiated.
    pub(crate) session: Option<String>,
    /// Set once all the bytes arrived (locally).
    pub(crate) content: Option<Content>,
    /// Consumed by a rawFiles call; a second use is refused.
    pub(crate) used: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Content {
    pub(crate) size: u64,
    /// Base64 of the raw MD5 digest.
    pub(crate) md5: String,
}

impl TempUpload {
    /// What a completed upload answers: `{"kind", "id", "size": "N", "md5Hash"}`.
    pub(crate) fn completion_json(&self) -> Value {
        let content = self.content.as_ref();
        json!({
            "kind": "tempUpload",
            "id": self.id,
            "size": content.map_or(self.size, |c| c.size).to_string(),
            "md5Hash": content.map(|c| c.md5.clone()),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) temp_upload: String,
    pub(crate) created_ts: Timestamp,
    /// Bytes kept so far: a multiple of 256 KiB, or the whole object once complete.
    pub(crate) committed: u64,
    pub(crate) complete: bool,
}

impl Session {
    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        now > self.created_ts.plus(SESSION_LIFETIME)
    }
}

/// A session as a request sees it, copied out of the state.
#[derive(Debug, Clone)]
pub(crate) struct LiveSession {
    pub(crate) declared: u64,
    pub(crate) committed: u64,
    pub(crate) complete: bool,
    /// The completion JSON, when complete.
    pub(crate) completion: Value,
}

impl RedivisState {
    /// Rebuilds the indexes after a load and makes sure the default table exists.
    pub(crate) fn reindex(&mut self) {
        if !self.tables.contains_key(DEFAULT_TABLE) {
            self.tables.insert(DEFAULT_TABLE.to_owned(), Table::new("demo.sandbox:v1", "files", true));
        }
        self.raw_file_tables = self
            .tables
            .values()
            .flat_map(|table| {
                table.files.values().map(|file| (file.id.clone(), (table.reference.clone(), file.name.clone())))
            })
            .collect();
    }

    pub(crate) fn table(&self, reference: &str) -> Result<&Table, RedivisError> {
        self.tables.get(reference).ok_or_else(|| RedivisError::not_found(format!("Table '{reference}' not found.")))
    }

    pub(crate) fn add_raw_file(&mut self, table: &str, file: RawFile) {
        if let Some(table) = self.tables.get_mut(table) {
            self.raw_file_tables.insert(file.id.clone(), (table.reference.clone(), file.name.clone()));
            table.files.insert(file.name.clone(), file);
        }
    }

    pub(crate) fn raw_file(&self, id: &str) -> Option<&RawFile> {
        let (table, name) = self.raw_file_tables.get(id)?;
        self.tables.get(table)?.files.get(name).filter(|file| file.id == id)
    }

    pub(crate) fn temp_upload(&self, id: &str) -> Result<&TempUpload, RedivisError> {
        self.temp_uploads.get(id).ok_or_else(|| RedivisError::not_found(format!("Temp upload '{id}' not found.")))
    }

    /// The session `session` of temp upload `id`, if it is still the current one and not
    /// expired. Anything else is 404, as GCS answers for a session it no longer knows.
    pub(crate) fn live_session(&self, id: &str, session: &str, now: Timestamp) -> Result<LiveSession, RedivisError> {
        let gone = || RedivisError::not_found("The resumable upload session does not exist or has expired.");
        let upload = self.temp_uploads.get(id).ok_or_else(gone)?;
        let current = self.sessions.get(session).filter(|s| s.temp_upload == id && !s.is_expired(now));
        let current = current.filter(|_| upload.session.as_deref() == Some(session)).ok_or_else(gone)?;
        Ok(LiveSession {
            declared: upload.size,
            committed: current.committed,
            complete: current.complete,
            completion: upload.completion_json(),
        })
    }

    /// Forgets a session (replaced, cancelled, expired); returns it so its bytes can be deleted.
    pub(crate) fn remove_session(&mut self, session: &str) -> Option<Session> {
        let removed = self.sessions.remove(session)?;
        if let Some(upload) = self.temp_uploads.get_mut(&removed.temp_upload) {
            if upload.session.as_deref() == Some(session) {
                upload.session = None;
            }
        }
        Some(removed)
    }

    /// Forgets expired sessions, at most once a minute; returns them so their bytes can go.
    pub(crate) fn sweep(&mut self, now: Timestamp) -> Vec<Session> {
        if self.next_sweep.is_some_and(|next| now < next) {
            return Vec::new();
        }
        self.next_sweep = Some(now.plus(SWEEP_EVERY));
        let expired: Vec<String> = self
            .sessions
            .values()
            .filter(|session| session.is_expired(now))
            .map(|session| session.id.clone())
            .collect();
        expired.iter().filter_map(|id| self.remove_session(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    fn state_with_session(now: Timestamp) -> RedivisState {
        let mut state = RedivisState::default();
        state.temp_uploads.insert(
            "u".into(),
            TempUpload {
                id: "u".into(),
                table: DEFAULT_TABLE.into(),
                name: "a".into(),
                size: 10,
                resumable: true,
                delegated: false,
                created_ts: now,
                session: Some("s".into()),
                content: None,
                used: false,
            },
        );
        state.sessions.insert(
            "s".into(),
            Session { id: "s".into(), temp_upload: "u".into(), created_ts: now, committed: 0, complete: false },
        );
        state
    }

    #[test]
    fn the_default_table_is_there_and_survives_a_round_trip() {
        let state = RedivisState::default();
        assert!(state.table(DEFAULT_TABLE).unwrap().is_file_index);
        let mut again: RedivisState = serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
        again.reindex();
        assert!(again.table(DEFAULT_TABLE).is_ok());
        let old: RedivisState = serde_json::from_str("{}").unwrap();
        assert!(old.table(DEFAULT_TABLE).is_ok(), "an older state file gets the default table too");
    }

    #[test]
    fn sessions_expire_after_a_day_and_are_swept() {
        let now = Clock::default().now();
        let mut state = state_with_session(now);
        assert!(state.live_session("u", "s", now.plus(Duration::from_secs(3600))).is_ok());
        assert!(state.live_session("u", "other", now).is_err());
        let late = now.plus(SESSION_LIFETIME + Duration::from_secs(1));
        assert_eq!(state.live_session("u", "s", late).unwrap_err().status().as_u16(), 404);
        let swept = state.sweep(late);
        assert_eq!(swept.len(), 1);
        assert!(state.temp_uploads["u"].session.is_none());
    }
}
