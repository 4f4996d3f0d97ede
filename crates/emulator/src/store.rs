//! The emulator's model (Twins with their Docs, upload handlers) and how it survives restarts.
//!
//! Everything lives in one [`State`] behind a mutex that is never held across an `.await`. With a
//! state directory, every change is followed by writing the whole state as JSON to
//! `<state_dir>/state.json` (temp file, fsync, rename), and the handler answers only after that
//! write, so whatever a client was told has happened is on disk. Snapshots carry a generation
//! number and an older one never overwrites a newer one, even when two writers race.
//!
//! This is deliberately simple: the state of an emulator is small; the bytes live in `blobs`.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
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

const STATE_FILE: &str = "state.json";
const BLOBS_DIR: &str = "blobs";
const FORMAT: u32 = 1;

/// How long an expired upload is remembered, so a late PUT still gets S3's "Request has expired"
/// rather than "no such key". Its bytes are deleted as soon as it expires.
const EXPIRED_UPLOAD_MEMORY: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    format: u32,
    pub(crate) account: Uuid,
    pub(crate) role: Uuid,
    pub(crate) twins: BTreeMap<Uuid, Twin>,
    /// Keyed by handler.
    uploads: BTreeMap<String, Upload>,
    /// How many times a Doc of each name was created on each Twin, deletes notwithstanding, so
    /// tests can prove that nothing was attached twice (`Emulator::attach_count`).
    #[serde(default)]
    pub(crate) attached: BTreeMap<Uuid, BTreeMap<String, u64>>,
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Twin {
    pub(crate) uuid: Uuid,
    pub(crate) owner: Uuid,
    pub(crate) creator: Uuid,
    pub(crate) created_ts: Timestamp,
    pub(crate) updated_ts: Timestamp,
    pub(crate) description: Option<Map<String, Value>>,
    /// Keyed by doc_name, case-sensitive.
    pub(crate) docs: BTreeMap<String, Doc>,
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
            format: FORMAT,
            account: Uuid::new_v4(),
            role: Uuid::new_v4(),
            twins: BTreeMap::new(),
            uploads: BTreeMap::new(),
            attached: BTreeMap::new(),
            redivis: RedivisState::default(),
            inspect: InspectState::default(),
            oss: OssState::default(),
            tokens: HashMap::new(),
            next_sweep: None,
        }
    }

    /// Records that a Doc named `name` was created on `twin`.
    pub(crate) fn count_attach(&mut self, twin: Uuid, name: &str) {
        *self.attached.entry(twin).or_default().entry(name.to_owned()).or_default() += 1;
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
        let mut forgotten = Vec::new();
        for upload in self.uploads.values_mut() {
            if !upload.is_expired(now) {
                continue;
            }
            if upload.content.take().is_some() {
                blobs.remove_upload(&upload.token);
            }
            if now > upload.validity_ts.plus(EXPIRED_UPLOAD_MEMORY) {
                forgotten.push(upload.handler.clone());
            }
        }
        for handler in forgotten {
            if let Some(upload) = self.uploads.remove(&handler) {
                self.tokens.remove(&upload.token);
            }
        }
    }

    fn reindex(&mut self) {
        self.tokens = self.uploads.values().map(|upload| (upload.token.clone(), upload.handler.clone())).collect();
        self.redivis.reindex();
    }
}

const SWEEP_EVERY: Duration = Duration::from_secs(60);

struct Snapshot {
    state: State,
    generation: u64,
}

pub(crate) struct Store {
    inner: Mutex<Snapshot>,
    pub(crate) blobs: Blobs,
    file: Option<StateFile>,
    closed: AtomicBool,
}

/// The state file and the generation last written to it.
struct StateFile {
    path: PathBuf,
    written: tokio::sync::Mutex<Option<u64>>,
}

impl Store {
    /// Loads `<dir>/state.json` if there is one, or starts empty (a new account). `None` keeps
    /// everything in memory and the bytes in a private temp directory.
    pub(crate) fn open(dir: Option<&Path>) -> io::Result<Store> {
        let (state, blobs, file) = match dir {
            None => (State::fresh(), Blobs::temporary()?, None),
            Some(dir) => {
                crate::blobs::create_dir_private(dir)?;
                let path = dir.join(STATE_FILE);
                let state = match std::fs::read(&path) {
                    Ok(bytes) => load(&bytes, &path)?,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => State::fresh(),
                    Err(err) => return Err(err),
                };
                let blobs = Blobs::persistent(dir.join(BLOBS_DIR))?;
                let file = StateFile { path, written: tokio::sync::Mutex::new(None) };
                (state, blobs, Some(file))
            }
        };
        Ok(Store { inner: Mutex::new(Snapshot { state, generation: 0 }), blobs, file, closed: AtomicBool::new(false) })
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        // A panic in some handler must not take the whole emulator down with it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock().state)
    }

    /// Applies a change, then writes the state file (when there is one) before returning.
    pub(crate) async fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> io::Result<R> {
        let (result, snapshot) = {
            let mut inner = self.lock();
            let result = f(&mut inner.state);
            inner.generation += 1;
            let snapshot = self.serialize(&inner)?;
            (result, snapshot)
        };
        if let Some((generation, bytes)) = snapshot {
            self.save(generation, bytes).await?;
        }
        Ok(result)
    }

    /// Writes the state one last time; later changes (there should be none) stay in memory.
    pub(crate) async fn close(&self) {
        let snapshot = {
            let inner = self.lock();
            self.serialize(&inner)
        };
        self.closed.store(true, Ordering::SeqCst);
        let result = match snapshot {
            Ok(Some((generation, bytes))) => self.save(generation, bytes).await,
            Ok(None) => Ok(()),
            Err(err) => Err(err),
        };
        if let Err(err) = result {
            tracing::error!(%err, "could not write the emulator state at shutdown");
        }
    }

    fn serialize(&self, inner: &Snapshot) -> io::Result<Option<(u64, Vec<u8>)>> {
        if self.file.is_none() || self.closed.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let bytes = serde_json::to_vec_pretty(&inner.state).map_err(io::Error::other)?;
        Ok(Some((inner.generation, bytes)))
    }

    async fn save(&self, generation: u64, bytes: Vec<u8>) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut written = file.written.lock().await;
        if written.is_some_and(|done| done >= generation) {
            return Ok(());
        }
        let path = file.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes)).await.map_err(io::Error::other)??;
        *written = Some(generation);
        Ok(())
    }
}

fn load(bytes: &[u8], path: &Path) -> io::Result<State> {
    let mut state: State = serde_json::from_slice(bytes).map_err(|err| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a valid emulator state: {err}", path.display()))
    })?;
    if state.format != FORMAT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} has format {}, this emulator reads format {FORMAT}", path.display(), state.format),
        ));
    }
    state.reindex();
    Ok(state)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
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
}
