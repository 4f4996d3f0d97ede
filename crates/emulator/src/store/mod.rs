//! The emulator's model (Twins with their Docs, upload handlers, and the models of Redivis,
//! Inspect and OSS) and how it survives restarts.
//!
//! Everything lives in one [`State`] behind a mutex that is never held across an `.await`. The
//! tables of the state are [`Tracked`] maps, which remember the keys a change touched. With a
//! state directory, each change appends the records of what it touched (one line) to
//! `<state_dir>/state.log`, and the handler answers only after that line is fsynced, so whatever
//! a client was told has happened is on disk. Changes that arrive while an fsync is under way
//! are written and fsynced together by the next one (group commit). When the log outgrows the
//! snapshot (`state.json`), the whole state is written as a new snapshot and the log starts
//! again; that costs O(state) but happens once per O(state) bytes of log, so the work per
//! request stays O(what it changed). The formats and the crash rules are in [`journal`].

mod journal;
mod tracked;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::blobs::Blobs;
use crate::clock::Timestamp;
use crate::inspect::InspectState;
use crate::naming::StorageClass;
use crate::oss::OssState;
use crate::redivis::RedivisState;
use journal::{Header, Loaded, Sink};
pub(crate) use tracked::Tracked;

const STATE_FILE: &str = "state.json";
const LOG_FILE: &str = "state.log";
const BLOBS_DIR: &str = "blobs";

/// How long an expired upload is remembered, so a late PUT still gets S3's "Request has expired"
/// rather than "no such key". Its bytes are deleted as soon as it expires.
const EXPIRED_UPLOAD_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// Deserializable from a whole state file of format 1 (earlier versions); written only as records
/// (`journal`).
#[derive(Debug, Deserialize)]
pub(crate) struct State {
    pub(crate) account: Uuid,
    pub(crate) role: Uuid,
    pub(crate) twins: Tracked<Uuid, Twin>,
    /// Keyed by handler.
    uploads: Tracked<String, Upload>,
    /// How many times a Doc of each name was created on each Twin, deletes notwithstanding, so
    /// tests can prove that nothing was attached twice (`Emulator::attach_count`).
    #[serde(default)]
    pub(crate) attached: Tracked<Uuid, Tracked<String, u64>>,
    /// The Redivis tables, temp uploads, sessions and raw files (absent from older state files).
    #[serde(default)]
    pub(crate) redivis: RedivisState,
    /// Inspect's files and URL key (absent from older state files).
    #[serde(default)]
    pub(crate) inspect: InspectState,
    /// OSS's objects and the emulator's OSS access key (absent from older state files).
    #[serde(default)]
    pub(crate) oss: OssState,
    /// Upload token → handler; rebuilt on load.
    #[serde(skip)]
    tokens: HashMap<String, String>,
    /// Sweeping walks every upload, so it runs at most once a minute of emulator time, not on
    /// every `POST /cache` (which made many small uploads quadratic). Expiry itself is checked
    /// on each use, so a late sweep changes nothing a client can see.
    #[serde(skip)]
    next_sweep: Option<Timestamp>,
    /// The header as last logged, to see when it changes (it does not, after creation).
    #[serde(skip)]
    logged_header: Option<Header>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Twin {
    pub(crate) uuid: Uuid,
    pub(crate) owner: Uuid,
    pub(crate) creator: Uuid,
    pub(crate) created_ts: Timestamp,
    pub(crate) updated_ts: Timestamp,
    pub(crate) description: Option<Map<String, Value>>,
    /// Keyed by doc_name, case-sensitive. Logged as records of their own, never with the Twin
    /// (read with it from a state file of format 1).
    #[serde(default, skip_serializing)]
    pub(crate) docs: Tracked<String, Doc>,
    /// Set by terminate_twin: who, and when. Docs can still be attached (spec §3.11).
    #[serde(default)]
    pub(crate) terminated: Option<(Uuid, Timestamp)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DocStatus {
    Copying,
    Ok,
    HashMismatch,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Doc {
    /// Internal: names the Doc's blob and tells a pending copy whether the Doc it was started for
    /// is still the one under that name.
    pub(crate) id: Uuid,
    pub(crate) created_ts: Timestamp,
    pub(crate) updated_ts: Timestamp,
    pub(crate) creator: Uuid,
    pub(crate) size: u64,
    /// The hash as the client sent it, echoed in the creation certificate.
    pub(crate) hash: Option<String>,
    /// Lowercase hex SHA-256 of the bytes that were attached.
    pub(crate) sha256: String,
    pub(crate) storage_class: StorageClass,
    pub(crate) status: DocStatus,
    pub(crate) description: Option<Map<String, Value>>,
    /// Whether `blobs/docs/<id>` holds the Doc's bytes.
    pub(crate) has_blob: bool,
    /// A fault rule said this copy ends in `error`; kept so a restart does not forget it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fail_copy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Upload {
    pub(crate) handler: String,
    /// The opaque last segment of the upload URL; distinct from the handler so that knowing a
    /// handler (which appears in attach bodies and logs) does not let anyone overwrite the bytes.
    pub(crate) token: String,
    pub(crate) created_ts: Timestamp,
    pub(crate) validity_ts: Timestamp,
    /// `None` until a PUT completed.
    pub(crate) content: Option<UploadContent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadContent {
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) md5: String,
    pub(crate) uploaded_ts: Timestamp,
}

impl Upload {
    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        now > self.validity_ts
    }
}

impl State {
    fn fresh() -> State {
        State {
            account: Uuid::new_v4(),
            role: Uuid::new_v4(),
            twins: Tracked::default(),
            uploads: Tracked::default(),
            attached: Tracked::default(),
            redivis: RedivisState::default(),
            inspect: InspectState::default(),
            oss: OssState::default(),
            tokens: HashMap::new(),
            next_sweep: None,
            logged_header: None,
        }
    }

    /// What a snapshot is read into; its header record replaces the random values.
    fn empty() -> State {
        State::fresh()
    }

    /// Records that a Doc named `name` was created on `twin`.
    pub(crate) fn count_attach(&mut self, twin: Uuid, name: &str) {
        *self.attached.get_or_insert_with(twin, Tracked::default).get_or_insert_with(name.to_owned(), || 0) += 1;
    }

    /// Forgets an upload and deletes its bytes (`DELETE /cache/{handler}`). Docs attached from it
    /// keep theirs: they are separate links.
    pub(crate) fn remove_upload(&mut self, handler: &str, blobs: &Blobs) -> Option<Upload> {
        let upload = self.uploads.remove(handler)?;
        self.tokens.remove(&upload.token);
        if upload.content.is_some() {
            blobs.remove_upload(&upload.token);
        }
        Some(upload)
    }

    pub(crate) fn upload(&self, handler: &str) -> Option<&Upload> {
        self.uploads.get(handler)
    }

    pub(crate) fn upload_by_token(&self, token: &str) -> Option<&Upload> {
        self.tokens.get(token).and_then(|handler| self.uploads.get(handler))
    }

    pub(crate) fn upload_by_token_mut(&mut self, token: &str) -> Option<&mut Upload> {
        self.tokens.get(token).and_then(|handler| self.uploads.get_mut(handler))
    }

    pub(crate) fn insert_upload(&mut self, upload: Upload) {
        self.tokens.insert(upload.token.clone(), upload.handler.clone());
        self.uploads.insert(upload.handler.clone(), upload);
    }

    /// Deletes the bytes of expired uploads ("cached files are removed automatically", spec §2)
    /// and, a day later, their records.
    pub(crate) fn sweep_uploads(&mut self, now: Timestamp, blobs: &Blobs) {
        if self.next_sweep.is_some_and(|next| now < next) {
            return;
        }
        self.next_sweep = Some(now.plus(SWEEP_EVERY));
        // Read first, then change only the expired ones: a change marks its upload for the log.
        let expired: Vec<(String, bool)> = self
            .uploads
            .values()
            .filter(|upload| upload.is_expired(now))
            .filter(|upload| upload.content.is_some() || now > upload.validity_ts.plus(EXPIRED_UPLOAD_MEMORY))
            .map(|upload| (upload.handler.clone(), now > upload.validity_ts.plus(EXPIRED_UPLOAD_MEMORY)))
            .collect();
        let mut forgotten = Vec::new();
        for (handler, forget) in expired {
            if forget {
                forgotten.push(handler);
            } else if let Some(upload) = self.uploads.get_mut(&handler) {
                if upload.content.take().is_some() {
                    blobs.remove_upload(&upload.token);
                }
            }
        }
        for handler in forgotten {
            if let Some(upload) = self.uploads.remove(&handler) {
                if upload.content.is_some() {
                    blobs.remove_upload(&upload.token);
                }
                self.tokens.remove(&upload.token);
            }
        }
    }

    /// Rebuilds the indexes after a load.
    fn reindex(&mut self) {
        self.tokens = self.uploads.values().map(|upload| (upload.token.clone(), upload.handler.clone())).collect();
        self.redivis.reindex();
        self.inspect.reindex();
    }

    /// Clears the marks of changes that need no record (in-memory mode, after a load).
    fn forget_changes(&mut self) {
        self.collect_changes(&mut Sink::Discard);
    }
}

const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// When the log is rewritten as a snapshot: once it is larger than both `min_log` bytes and
/// `per_snapshot` times the last snapshot. A compaction writes O(state) bytes after at least
/// twice as many bytes of log, so its cost per request is amortised O(1), and a load reads at
/// most about three times the size of the state.
#[derive(Debug, Clone, Copy)]
struct Compaction {
    min_log: u64,
    per_snapshot: u64,
}

const COMPACTION: Compaction = Compaction { min_log: 4 << 20, per_snapshot: 2 };

/// The state, and the changes made to it that are not in the log yet.
struct Inner {
    state: State,
    /// Lines of changes not yet written to the log, in the order they were made.
    pending: Vec<u8>,
    /// How many changes were made (each change's sequence number).
    seq: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Changes up to this sequence number are durable.
    durable: AtomicU64,
    /// After [`Store::close`]: changes stay in memory.
    closed: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in some handler must not take the whole emulator down with it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct Store {
    shared: Arc<Shared>,
    pub(crate) blobs: Blobs,
    /// `None` in memory. Whoever holds the lock writes the log for everyone (group commit).
    journal: Option<Arc<tokio::sync::Mutex<Journal>>>,
}

/// The files of a state directory, as this process writes them.
struct Journal {
    dir: PathBuf,
    /// Open for appending; `None` until the first snapshot of this run.
    log: Option<std::fs::File>,
    log_len: u64,
    generation: u64,
    /// The log misses changes the state has (an append or a compaction failed): the next flush
    /// writes a snapshot instead of appending.
    stale: bool,
    /// The log size at which to compact next.
    compact_at: u64,
    compaction: Compaction,
}

impl Store {
    /// Loads `<dir>/state.json` and `<dir>/state.log` if they are there (a `state.json` written
    /// by an earlier version too), or starts empty (a new account), then writes a fresh snapshot.
    /// `None` keeps everything in memory and the bytes in a private temp directory.
    pub(crate) fn open(dir: Option<&Path>) -> io::Result<Store> {
        Store::open_with(dir, COMPACTION)
    }

    fn open_with(dir: Option<&Path>, compaction: Compaction) -> io::Result<Store> {
        let Some(dir) = dir else {
            let mut state = State::fresh();
            state.forget_changes();
            return Ok(Store { shared: Shared::new(state), blobs: Blobs::temporary()?, journal: None });
        };
        crate::blobs::create_dir_private(dir)?;
        remove_leftovers(dir);
        let (state, generation) = load(dir)?;
        let blobs = Blobs::persistent(dir.join(BLOBS_DIR))?;
        let shared = Shared::new(state);
        let mut journal =
            Journal { dir: dir.to_owned(), log: None, log_len: 0, generation, stale: true, compact_at: 0, compaction };
        // Every start begins with a snapshot and an empty log: it migrates a state file of
        // format 1, drops a torn end of the log, and keeps a new account's UUIDs even if the
        // process is killed before anything else happens. O(state), like the load before it.
        journal.compact(&shared)?;
        Ok(Store { shared, blobs, journal: Some(Arc::new(tokio::sync::Mutex::new(journal))) })
    }

    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.shared.lock().state)
    }

    /// Applies a change, then (with a state directory) returns only once the change is durable.
    pub(crate) async fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> io::Result<R> {
        let (result, wait) = {
            let mut inner = self.shared.lock();
            let result = f(&mut inner.state);
            (result, self.record(&mut inner))
        };
        if let Some(seq) = wait {
            self.sync(seq).await?;
        }
        Ok(result)
    }

    /// Moves the records of a change into `pending`; the change's sequence number, when there
    /// is something to wait for.
    fn record(&self, inner: &mut Inner) -> Option<u64> {
        if self.journal.is_none() || self.shared.closed.load(Ordering::SeqCst) {
            inner.state.forget_changes();
            return None;
        }
        let Inner { state, pending, seq } = inner;
        let mut sink = Sink::Change { out: pending, count: 0 };
        state.collect_changes(&mut sink);
        if !sink.finish() {
            return None;
        }
        *seq += 1;
        Some(*seq)
    }

    /// Waits until change `seq` is durable, writing the log if nobody else is.
    async fn sync(&self, seq: u64) -> io::Result<()> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        if self.shared.durable.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let mut journal = journal.clone().lock_owned().await;
        if self.shared.durable.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        // Everything pending goes in one write and one fsync, this change and any made since.
        // Owned by the blocking task: a handler dropped meanwhile does not cut a write short.
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || journal.flush(&shared)).await.map_err(io::Error::other)?
    }

    /// Makes every change so far durable; later changes (there should be none) stay in memory.
    pub(crate) async fn close(&self) {
        let seq = {
            let inner = self.shared.lock();
            self.shared.closed.store(true, Ordering::SeqCst);
            inner.seq
        };
        if let Err(err) = self.sync(seq).await {
            tracing::error!(%err, "could not write the emulator state at shutdown");
        }
    }
}

impl Shared {
    fn new(state: State) -> Arc<Shared> {
        Arc::new(Shared {
            inner: Mutex::new(Inner { state, pending: Vec::new(), seq: 0 }),
            durable: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        })
    }
}

impl Journal {
    /// Appends and fsyncs whatever is pending (or writes a snapshot, when the log is stale or
    /// large enough), then marks it durable.
    fn flush(&mut self, shared: &Shared) -> io::Result<()> {
        if self.stale {
            return self.compact(shared);
        }
        let (bytes, upto) = {
            let mut inner = shared.lock();
            (std::mem::take(&mut inner.pending), inner.seq)
        };
        if let Err(err) = self.append(&bytes) {
            self.stale = true;
            tracing::error!(%err, "could not append to the state log; the next change writes a snapshot");
            return Err(err);
        }
        shared.durable.fetch_max(upto, Ordering::AcqRel);
        if self.log_len >= self.compact_at {
            if let Err(err) = self.compact(shared) {
                // Not this change's failure: it is in the log. Changes made since are not, and
                // `stale` makes the next flush try again.
                tracing::warn!(%err, "could not compact the state log");
            }
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let log = self.log.as_mut().ok_or_else(|| io::Error::other("the state log is not open"))?;
        match log.write_all(bytes).and_then(|()| log.sync_data()) {
            Ok(()) => {
                self.log_len += bytes.len() as u64;
                Ok(())
            }
            Err(err) => {
                // Not needed for correctness (a stale log is replaced, never appended to), but
                // it keeps a half-written line from lying around until then.
                let _ = log.set_len(self.log_len);
                Err(err)
            }
        }
    }

    /// Writes the whole state as the snapshot of the next generation and starts an empty log for
    /// it. A crash between the two leaves the new snapshot with the old log, which a load
    /// recognises by its generation and ignores: the snapshot holds all of it.
    fn compact(&mut self, shared: &Shared) -> io::Result<()> {
        self.stale = true;
        let generation = self.generation + 1;
        let started = std::time::Instant::now();
        let (snapshot, upto) = {
            let mut inner = shared.lock();
            // The snapshot holds these changes; their waiters are released below.
            inner.pending.clear();
            (inner.state.snapshot(generation), inner.seq)
        };
        let serialized = started.elapsed();
        write_atomically(&self.dir.join(STATE_FILE), &snapshot)?;
        self.generation = generation;
        let head = journal::log_head(generation);
        write_atomically(&self.dir.join(LOG_FILE), &head)?;
        self.log = Some(crate::blobs::private_options().append(true).open(self.dir.join(LOG_FILE))?);
        self.log_len = head.len() as u64;
        self.compact_at = self.compaction.min_log.max(snapshot.len() as u64 * self.compaction.per_snapshot);
        self.stale = false;
        shared.durable.fetch_max(upto, Ordering::AcqRel);
        tracing::debug!(
            generation,
            bytes = snapshot.len(),
            serialized_ms = serialized.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "state snapshot written"
        );
        Ok(())
    }
}

/// Deletes the temp files of a snapshot or log that a crash interrupted before its rename.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Reads a state directory: the snapshot (or a state file of format 1) and the log after it.
fn load(dir: &Path) -> io::Result<(State, u64)> {
    let path = dir.join(STATE_FILE);
    let log_path = dir.join(LOG_FILE);
    let (mut state, generation) = match std::fs::read(&path) {
        Ok(bytes) => match journal::read_snapshot(&bytes, &path)? {
            Loaded::Snapshot(state, generation) => (state, generation),
            Loaded::Legacy(state) => {
                tracing::info!(path = %path.display(), "state file of format 1: rewriting it as a snapshot and a log");
                (state, 0)
            }
        },
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if log_path.exists() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is there but {} is missing", log_path.display(), path.display()),
                ));
            }
            (State::fresh(), 0)
        }
        Err(err) => return Err(err),
    };
    if generation > 0 {
        match std::fs::read(&log_path) {
            Ok(bytes) => {
                let replayed = journal::replay_log(&mut state, generation, &bytes, &log_path)?;
                if replayed.torn_bytes > 0 {
                    tracing::warn!(
                        bytes = replayed.torn_bytes,
                        "the state log ends in a change cut off by a crash; it was never acknowledged and is dropped"
                    );
                }
                tracing::debug!(changes = replayed.changes, stale = replayed.stale, "state log replayed");
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    state.reindex();
    state.forget_changes();
    Ok((state, generation))
}

/// The prefix of the temp files [`write_atomically`] renames into place; one left by a crash is
/// deleted at the next start.
const TEMP_PREFIX: &str = ".state-";

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    // Make the rename itself durable; not every platform lets a directory be opened.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(handler: &str, token: &str, validity_ts: Timestamp) -> Upload {
        Upload { handler: handler.into(), token: token.into(), created_ts: validity_ts, validity_ts, content: None }
    }

    #[tokio::test]
    async fn state_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path())).unwrap();
        let now = crate::clock::Clock::default().now();
        let account = store
            .write(|state| {
                state.insert_upload(upload("h", "t", now));
                state.account
            })
            .await
            .unwrap();
        store.close().await;

        let again = Store::open(Some(dir.path())).unwrap();
        again.read(|state| {
            assert_eq!(state.account, account);
            assert_eq!(state.upload_by_token("t").unwrap().handler, "h");
        });
    }

    #[tokio::test]
    async fn a_corrupt_state_file_is_an_error_not_a_new_account() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        let err = Store::open(Some(dir.path())).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn sweeping_drops_bytes_first_and_records_a_day_later() {
        let store = Store::open(None).unwrap();
        let now = crate::clock::Clock::default().now();
        let mut state = State::fresh();
        let mut expired = upload("h", "t", now);
        expired.content = Some(UploadContent { size: 0, sha256: String::new(), md5: String::new(), uploaded_ts: now });
        state.insert_upload(expired);
        state.sweep_uploads(now.plus(Duration::from_secs(1)), &store.blobs);
        assert!(state.upload("h").unwrap().content.is_none());
        // Within a minute of a sweep, another sweep is skipped.
        let mut late = upload("h2", "t2", now);
        late.content = Some(UploadContent { size: 0, sha256: String::new(), md5: String::new(), uploaded_ts: now });
        state.insert_upload(late);
        state.sweep_uploads(now.plus(Duration::from_secs(2)), &store.blobs);
        assert!(state.upload("h2").unwrap().content.is_some());
        state.sweep_uploads(now.plus(EXPIRED_UPLOAD_MEMORY * 2), &store.blobs);
        assert!(state.upload("h").is_none());
        assert!(state.upload_by_token("t").is_none());
    }
    use crate::inspect::InspectFile;
    use crate::oss::OssObject;
    use crate::redivis::{RawFile, Session, TempUpload};

    fn content(size: u64, now: Timestamp) -> UploadContent {
        UploadContent { size, sha256: format!("{size:064x}"), md5: format!("{size:032x}"), uploaded_ts: now }
    }

    const TWIN: Uuid = Uuid::from_u128(0x1234);

    /// One change touching every kind of record the log has: Twin, Docs (added, changed,
    /// removed), attach counts, uploads (added, changed, removed), a Redivis raw file, temp
    /// upload and session, an Inspect file (added, completed) and an OSS object.
    fn change_everything(state: &mut State, i: usize, now: Timestamp, blobs: &Blobs) {
        if i == 0 {
            let twin = Twin {
                uuid: TWIN,
                owner: state.account,
                creator: state.account,
                created_ts: now,
                updated_ts: now,
                description: None,
                docs: Tracked::default(),
                terminated: None,
            };
            state.twins.insert(TWIN, twin);
        }
        let twin = state.twins.get_mut(&TWIN).unwrap();
        twin.updated_ts = now.plus(Duration::from_millis(i as u64));
        let doc = Doc {
            id: Uuid::from_u128(i as u128),
            created_ts: now,
            updated_ts: now,
            creator: state.account,
            size: i as u64,
            hash: i.is_multiple_of(2).then(|| format!("{i:x}")),
            sha256: format!("{i:064x}"),
            storage_class: StorageClass::default(),
            status: DocStatus::Copying,
            description: None,
            has_blob: true,
            fail_copy: false,
        };
        twin.docs.insert(format!("dir/d{i}"), doc);
        if i % 3 == 2 {
            twin.docs.remove(format!("dir/d{}", i - 1).as_str());
        }
        if let Some(first) = twin.docs.get_mut("dir/d0") {
            first.status = DocStatus::Ok;
            first.updated_ts = now.plus(Duration::from_millis(i as u64));
        }
        state.count_attach(TWIN, &format!("dir/d{i}"));
        state.count_attach(TWIN, "dir/d0");
        state.insert_upload(upload(&format!("h{i}"), &format!("t{i}"), now));
        if let Some(previous) = i.checked_sub(1) {
            state.upload_by_token_mut(&format!("t{previous}")).unwrap().content = Some(content(i as u64, now));
        }
        if i % 4 == 3 {
            state.remove_upload(&format!("h{}", i - 3), blobs);
        }
        let raw = RawFile {
            id: format!("raw{i}"),
            name: format!("file{i}"),
            size: i as u64,
            md5: String::new(),
            temp_upload: format!("tu{i}"),
            local: true,
        };
        state.redivis.add_raw_file("demo.sandbox:v1.files", raw);
        let temp = TempUpload {
            id: format!("tu{i}"),
            table: "demo.sandbox:v1.files".into(),
            name: format!("file{i}"),
            size: i as u64,
            resumable: true,
            delegated: false,
            created_ts: now,
            session: Some(format!("s{i}")),
            content: None,
            used: i % 2 == 1,
        };
        state.redivis.temp_uploads.insert(temp.id.clone(), temp);
        let session = Session {
            id: format!("s{i}"),
            temp_upload: format!("tu{i}"),
            created_ts: now,
            committed: 0,
            complete: false,
        };
        state.redivis.sessions.insert(session.id.clone(), session);
        if let Some(previous) = i.checked_sub(1) {
            state.redivis.remove_session(&format!("s{previous}"));
        }
        let file = InspectFile {
            id: format!("if{i}"),
            asset_id: "00000000-0000-0000-0000-000000000001".into(),
            name: format!("n{i}"),
            content_type: "text/plain".into(),
            size: i as u64,
            hash: format!("hash{}", i % 2),
            created_ts: now,
            delegated: false,
            uploaded: None,
            completed: false,
        };
        state.inspect.insert_file(file);
        if i % 2 == 1 {
            state.inspect.complete(&format!("if{i}"));
        }
        state.oss.put(OssObject {
            bucket: "b".into(),
            key: format!("k{}", i % 3),
            blob: format!("blob{i}"),
            size: i as u64,
            md5: String::new(),
            crc64: i as u64,
            content_type: String::new(),
            created_ts: now,
        });
    }

    /// Everything the state holds, in a canonical form.
    fn dump(store: &Store) -> String {
        String::from_utf8(store.shared.lock().state.snapshot(0)).unwrap()
    }

    fn quick_compaction() -> Compaction {
        Compaction { min_log: 1024, per_snapshot: 1 }
    }

    #[tokio::test]
    async fn each_change_appends_one_line_and_a_kill_loses_nothing_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path())).unwrap();
        let now = crate::clock::Clock::default().now();
        for i in 0..5 {
            store.write(|state| change_everything(state, i, now, &store.blobs)).await.unwrap();
        }
        let nothing = store.write(|state| state.twins.get(&TWIN).is_some()).await.unwrap();
        assert!(nothing, "a read in a write logs nothing");
        let log = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
        assert_eq!(log.iter().filter(|&&b| b == b'\n').count(), 1 + 5, "the head and one line per change");
        let before = dump(&store);
        // No close: as after a kill -9, only what the log holds.
        drop(store);
        let again = Store::open(Some(dir.path())).unwrap();
        assert_eq!(dump(&again), before);
        again.read(|state| {
            assert_eq!(state.attached[&TWIN]["dir/d0"], 6);
            assert!(state.twins[&TWIN].docs.get("dir/d1").is_none(), "removed at i = 2");
            assert_eq!(state.twins[&TWIN].docs["dir/d0"].status, DocStatus::Ok);
            assert!(state.upload("h0").is_none() && state.upload_by_token("t4").is_some());
            assert_eq!(state.redivis.raw_file("raw3").unwrap().name, "file3");
            assert_eq!(
                state.inspect.completed_with("00000000-0000-0000-0000-000000000001", "hash1").unwrap().id,
                "if1"
            );
        });
    }

    #[tokio::test]
    async fn compaction_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(Some(dir.path()), quick_compaction()).unwrap();
        let now = crate::clock::Clock::default().now();
        for i in 0..40 {
            store.write(|state| change_everything(state, i, now, &store.blobs)).await.unwrap();
        }
        let generation = store.journal.as_ref().unwrap().lock().await.generation;
        assert!(generation > 3, "compacted several times (generation {generation})");
        let log = std::fs::metadata(dir.path().join(LOG_FILE)).unwrap().len();
        let snapshot = std::fs::metadata(dir.path().join(STATE_FILE)).unwrap().len();
        assert!(log <= 1024.max(snapshot) + 4096, "the log was cut back ({log} bytes, snapshot {snapshot})");
        let before = dump(&store);
        drop(store);
        let again = Store::open_with(Some(dir.path()), quick_compaction()).unwrap();
        assert_eq!(dump(&again), before);
    }

    #[tokio::test]
    async fn a_kill_at_any_byte_of_the_log_leaves_a_loadable_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path())).unwrap();
        let now = crate::clock::Clock::default().now();
        let mut dumps = vec![dump(&store)];
        for i in 0..4 {
            store.write(|state| change_everything(state, i, now, &store.blobs)).await.unwrap();
            dumps.push(dump(&store));
        }
        drop(store);
        let snapshot = std::fs::read(dir.path().join(STATE_FILE)).unwrap();
        let log = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
        let head = log.iter().position(|&b| b == b'\n').unwrap() + 1;
        let path = dir.path().join(LOG_FILE);
        for cut in head..=log.len() {
            let Loaded::Snapshot(mut state, generation) = journal::read_snapshot(&snapshot, &path).unwrap() else {
                panic!("a snapshot")
            };
            let replayed = journal::replay_log(&mut state, generation, &log[..cut], &path)
                .unwrap_or_else(|err| panic!("cut at {cut}: {err}"));
            let whole_lines = log[..cut].iter().filter(|&&b| b == b'\n').count() - 1;
            assert_eq!(replayed.changes as usize, whole_lines, "cut at {cut}");
            assert_eq!(
                replayed.torn_bytes as usize,
                cut - head - log[head..cut].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)
            );
            state.reindex();
            assert_eq!(String::from_utf8(state.snapshot(0)).unwrap(), dumps[whole_lines], "cut at {cut}");
        }

        // And through the front door: a torn last line is dropped, the load succeeds, and the
        // next start has a clean log.
        let torn = log.len() - 7;
        std::fs::write(&path, &log[..torn]).unwrap();
        let again = Store::open(Some(dir.path())).unwrap();
        assert_eq!(dump(&again), dumps[3]);
        let clean = std::fs::read(&path).unwrap();
        assert_eq!(clean.iter().filter(|&&b| b == b'\n').count(), 1, "a fresh log after the start");
    }

    #[tokio::test]
    async fn a_temp_file_left_by_a_crash_is_deleted_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(Some(dir.path())).unwrap());
        let leftover = dir.path().join(format!("{TEMP_PREFIX}cut-off"));
        std::fs::write(&leftover, b"{\"twindrop_emulator_state\":2,").unwrap();
        drop(Store::open(Some(dir.path())).unwrap());
        assert!(!leftover.exists());
    }

    #[tokio::test]
    async fn a_damaged_line_before_good_ones_fails_the_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path())).unwrap();
        let now = crate::clock::Clock::default().now();
        for i in 0..3 {
            store.write(|state| change_everything(state, i, now, &store.blobs)).await.unwrap();
        }
        drop(store);
        let path = dir.path().join(LOG_FILE);
        let mut log = std::fs::read(&path).unwrap();
        let second = log.iter().position(|&b| b == b'\n').unwrap() + 1;
        log[second + 1] = b'#';
        std::fs::write(&path, &log).unwrap();
        let err = Store::open(Some(dir.path())).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[tokio::test]
    async fn a_log_older_than_the_snapshot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let now = crate::clock::Clock::default().now();
        let store = Store::open(Some(dir.path())).unwrap();
        store.write(|state| change_everything(state, 0, now, &store.blobs)).await.unwrap();
        drop(store);
        let path = dir.path().join(LOG_FILE);
        let mut old_log = std::fs::read(&path).unwrap();
        // A line the newer snapshot does not have: replaying the old log would bring it back.
        old_log.extend_from_slice(br#"[{"upload":{"handler":"ghost","v":null}},{"attached":{"twin":"00000000-0000-0000-0000-000000001234","name":"ghost","n":9}}]"#);
        old_log.push(b'\n');
        let store = Store::open(Some(dir.path())).unwrap();
        store.write(|state| change_everything(state, 1, now, &store.blobs)).await.unwrap();
        drop(store);
        // A crash after the snapshot of the next start was renamed into place, before its log.
        let store = Store::open(Some(dir.path())).unwrap();
        let expected = dump(&store);
        drop(store);
        std::fs::write(&path, &old_log).unwrap();
        let again = Store::open(Some(dir.path())).unwrap();
        assert_eq!(dump(&again), expected);
        again.read(|state| assert!(!state.attached[&TWIN].contains_key("ghost")));
    }

    #[tokio::test]
    async fn a_failed_append_is_made_good_by_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let now = crate::clock::Clock::default().now();
        let store = Store::open(Some(dir.path())).unwrap();
        store.write(|state| change_everything(state, 0, now, &store.blobs)).await.unwrap();
        // The log handle can no longer be written to (as on a full disk).
        store.journal.as_ref().unwrap().lock().await.log =
            Some(std::fs::File::open(dir.path().join(LOG_FILE)).unwrap());
        let err = store.write(|state| change_everything(state, 1, now, &store.blobs)).await;
        assert!(err.is_err(), "the change is not acknowledged");
        store.write(|state| change_everything(state, 2, now, &store.blobs)).await.unwrap();
        let before = dump(&store);
        drop(store);
        let again = Store::open(Some(dir.path())).unwrap();
        assert_eq!(dump(&again), before, "the snapshot after the failure holds change 1 too");
    }

    #[tokio::test]
    async fn concurrent_changes_share_fsyncs_and_all_survive() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(Some(dir.path())).unwrap());
        let now = crate::clock::Clock::default().now();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store.write(|state| state.insert_upload(upload(&format!("h{i}"), &format!("t{i}"), now))).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(store.shared.durable.load(Ordering::SeqCst), 200);
        drop(store);
        let again = Store::open(Some(dir.path())).unwrap();
        again.read(|state| assert_eq!(state.uploads.len(), 200));
    }

    #[tokio::test]
    async fn a_state_file_of_format_1_is_migrated() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1/state.json");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&fixture, dir.path().join(STATE_FILE)).unwrap();
        let store = Store::open(Some(dir.path())).unwrap();
        let migrated = dump(&store);
        assert!(store.read(|state| !state.twins.is_empty() && !state.uploads.is_empty()));
        drop(store);
        let head = std::fs::read(dir.path().join(STATE_FILE)).unwrap();
        assert!(head.starts_with(br#"{"twindrop_emulator_state":2,"#), "rewritten as a snapshot");
        let again = Store::open(Some(dir.path())).unwrap();
        assert_eq!(dump(&again), migrated);
    }
}
