//! What the state directory holds, line by line: the records of the log and of the snapshot,
//! collecting them from a changed [`State`], replaying them into one, and reading the two files.
//!
//! ```text
//! state.json  the snapshot, JSON lines:  {"twindrop_emulator_state":2,"generation":G}
//!                                        one record per line (every Twin, Doc, upload, ...)
//!                                        {"end":N}   (N records: a cut-off snapshot is refused)
//! state.log   the log, JSON lines:       {"twindrop_emulator_log":2,"generation":G}
//!                                        one JSON array of records per change, in order
//! ```
//!
//! A record is an entity's whole value after the change (`"v": {...}`) or its removal
//! (`"v": null`), so replaying is idempotent and order within the log is all that matters. The
//! log applies to the snapshot of the same generation; a log of an older generation is what a
//! crash during compaction left behind (the snapshot already holds all of it) and is ignored.
//! A change's records are one line, so a change is replayed whole or not at all.
//!
//! A state file of format 1 (one JSON object, the whole state, written by earlier versions) is
//! read as it is and replaced by a snapshot at the first start (see `Store::open`).

use std::borrow::Cow;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tracked::Change;
use super::{Doc, State, Twin, Upload};
use crate::inspect::InspectFile;
use crate::oss::OssObject;
use crate::redivis::{RawFile, Session, Table as RedivisTable, TempUpload};

pub(super) const SNAPSHOT_FORMAT: u32 = 2;

/// The values of the state that are not in any table: drawn once, at the state's creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Header {
    pub(super) account: Uuid,
    pub(super) role: Uuid,
    pub(super) inspect_signing_key: String,
    pub(super) oss_access_key_id: String,
    pub(super) oss_access_key_secret: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Record<'a> {
    Header(Cow<'a, Header>),
    /// The Twin without its Docs. `fresh`: the Twin is new (or was replaced), so Docs logged
    /// under its UUID before are void; otherwise they stay.
    Twin {
        twin: Uuid,
        #[serde(default, skip_serializing_if = "is_false")]
        fresh: bool,
        v: Option<Cow<'a, Twin>>,
    },
    Doc {
        twin: Uuid,
        name: Cow<'a, str>,
        v: Option<Cow<'a, Doc>>,
    },
    Attached {
        twin: Uuid,
        name: Cow<'a, str>,
        n: u64,
    },
    Upload {
        handler: Cow<'a, str>,
        v: Option<Cow<'a, Upload>>,
    },
    /// The table without its raw files; `fresh` as for a Twin.
    RedivisTable {
        table: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "is_false")]
        fresh: bool,
        v: Option<Cow<'a, RedivisTable>>,
    },
    RawFile {
        table: Cow<'a, str>,
        name: Cow<'a, str>,
        v: Option<Cow<'a, RawFile>>,
    },
    TempUpload {
        id: Cow<'a, str>,
        v: Option<Cow<'a, TempUpload>>,
    },
    Session {
        id: Cow<'a, str>,
        v: Option<Cow<'a, Session>>,
    },
    InspectFile {
        id: Cow<'a, str>,
        v: Option<Cow<'a, InspectFile>>,
    },
    OssObject {
        name: Cow<'a, str>,
        v: Option<Cow<'a, OssObject>>,
    },
}

fn is_false(value: &bool) -> bool {
    !value
}

#[derive(Debug, Serialize, Deserialize)]
struct SnapshotHead {
    twindrop_emulator_state: u32,
    generation: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotEnd {
    end: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct LogHead {
    twindrop_emulator_log: u32,
    generation: u64,
}

/// Where collected records go.
pub(super) enum Sink<'o> {
    /// One change: a JSON array on one line of the log.
    Change { out: &'o mut Vec<u8>, count: usize },
    /// A snapshot: one record per line.
    Lines { out: &'o mut Vec<u8>, count: u64 },
    /// Nowhere (in-memory mode): only the marks are cleared.
    Discard,
}

impl Sink<'_> {
    fn wants_values(&self) -> bool {
        !matches!(self, Sink::Discard)
    }

    fn push(&mut self, record: &Record<'_>) {
        // Plain data with string keys: serializing it to memory cannot fail.
        const INFALLIBLE: &str = "the emulator state serializes to JSON";
        match self {
            Sink::Change { out, count } => {
                out.push(if *count == 0 { b'[' } else { b',' });
                serde_json::to_writer(&mut **out, record).expect(INFALLIBLE);
                *count += 1;
            }
            Sink::Lines { out, count } => {
                serde_json::to_writer(&mut **out, record).expect(INFALLIBLE);
                out.push(b'\n');
                *count += 1;
            }
            Sink::Discard => {}
        }
    }

    /// Closes a change's line; whether there was anything to log.
    pub(super) fn finish(self) -> bool {
        match self {
            Sink::Change { out, count } if count > 0 => {
                out.extend_from_slice(b"]\n");
                true
            }
            _ => false,
        }
    }
}

/// The value a record carries, when the sink wants values.
fn value<T: Clone>(wanted: bool, value: Option<&T>) -> Option<Cow<'_, T>> {
    value.filter(|_| wanted).map(Cow::Borrowed)
}

impl State {
    pub(super) fn header(&self) -> Header {
        Header {
            account: self.account,
            role: self.role,
            inspect_signing_key: self.inspect.signing_key.clone(),
            oss_access_key_id: self.oss.access_key_id.clone(),
            oss_access_key_secret: self.oss.access_key_secret.clone(),
        }
    }

    fn header_changed(&self) -> bool {
        let Some(logged) = &self.logged_header else {
            return true;
        };
        logged.account != self.account
            || logged.role != self.role
            || logged.inspect_signing_key != self.inspect.signing_key
            || logged.oss_access_key_id != self.oss.access_key_id
            || logged.oss_access_key_secret != self.oss.access_key_secret
    }

    /// Sends a record for every entity changed since the last call to `sink`, and clears the
    /// marks. The work is proportional to what changed, not to the size of the state.
    pub(super) fn collect_changes(&mut self, sink: &mut Sink<'_>) {
        let wanted = sink.wants_values();
        for (id, change) in self.twins.take_changes() {
            let Some(twin) = self.twins.untracked_mut(&id) else {
                sink.push(&Record::Twin { twin: id, fresh: true, v: None });
                continue;
            };
            let fresh = change == Change::Replaced;
            sink.push(&Record::Twin { twin: id, fresh, v: value(wanted, Some(&*twin)) });
            let docs = twin.docs.take_changes();
            if fresh && wanted {
                for (name, doc) in twin.docs.iter() {
                    sink.push(&Record::Doc { twin: id, name: name.into(), v: Some(Cow::Borrowed(doc)) });
                }
            } else {
                for name in docs.into_keys() {
                    sink.push(&Record::Doc { twin: id, v: value(wanted, twin.docs.get(&name)), name: name.into() });
                }
            }
        }
        for twin in self.attached.take_changes().into_keys() {
            let Some(counts) = self.attached.untracked_mut(&twin) else { continue };
            for name in counts.take_changes().into_keys() {
                let n = counts.get(&name).copied().unwrap_or(0);
                sink.push(&Record::Attached { twin, name: name.into(), n });
            }
        }
        for handler in self.uploads.take_changes().into_keys() {
            sink.push(&Record::Upload { v: value(wanted, self.uploads.get(&handler)), handler: handler.into() });
        }
        let redivis = &mut self.redivis;
        for (reference, change) in redivis.tables.take_changes() {
            let Some(table) = redivis.tables.untracked_mut(&reference) else {
                sink.push(&Record::RedivisTable { table: reference.into(), fresh: true, v: None });
                continue;
            };
            let fresh = change == Change::Replaced;
            sink.push(&Record::RedivisTable { table: (&reference).into(), fresh, v: value(wanted, Some(&*table)) });
            let files = table.files.take_changes();
            if fresh && wanted {
                for (name, file) in table.files.iter() {
                    let (table, name) = ((&reference).into(), name.into());
                    sink.push(&Record::RawFile { table, name, v: Some(Cow::Borrowed(file)) });
                }
            } else {
                for name in files.into_keys() {
                    let v = value(wanted, table.files.get(&name));
                    sink.push(&Record::RawFile { table: (&reference).into(), name: name.into(), v });
                }
            }
        }
        for id in redivis.temp_uploads.take_changes().into_keys() {
            sink.push(&Record::TempUpload { v: value(wanted, redivis.temp_uploads.get(&id)), id: id.into() });
        }
        for id in redivis.sessions.take_changes().into_keys() {
            sink.push(&Record::Session { v: value(wanted, redivis.sessions.get(&id)), id: id.into() });
        }
        for id in self.inspect.files.take_changes().into_keys() {
            sink.push(&Record::InspectFile { v: value(wanted, self.inspect.files.get(&id)), id: id.into() });
        }
        for name in self.oss.objects.take_changes().into_keys() {
            sink.push(&Record::OssObject { v: value(wanted, self.oss.objects.get(&name)), name: name.into() });
        }
        if wanted && self.header_changed() {
            let header = self.header();
            sink.push(&Record::Header(Cow::Borrowed(&header)));
            self.logged_header = Some(header);
        }
    }

    /// The whole state as a snapshot of `generation`.
    pub(super) fn snapshot(&mut self, generation: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 << 16);
        let head = SnapshotHead { twindrop_emulator_state: SNAPSHOT_FORMAT, generation };
        serde_json::to_writer(&mut out, &head).expect("a snapshot head serializes");
        out.push(b'\n');
        let header = self.header();
        let mut sink = Sink::Lines { out: &mut out, count: 0 };
        sink.push(&Record::Header(Cow::Borrowed(&header)));
        for (&twin, value) in self.twins.iter() {
            sink.push(&Record::Twin { twin, fresh: true, v: Some(Cow::Borrowed(value)) });
            for (name, doc) in value.docs.iter() {
                sink.push(&Record::Doc { twin, name: name.into(), v: Some(Cow::Borrowed(doc)) });
            }
        }
        for (&twin, counts) in self.attached.iter() {
            for (name, &n) in counts.iter() {
                sink.push(&Record::Attached { twin, name: name.into(), n });
            }
        }
        for (handler, upload) in self.uploads.iter() {
            sink.push(&Record::Upload { handler: handler.into(), v: Some(Cow::Borrowed(upload)) });
        }
        for (reference, table) in self.redivis.tables.iter() {
            sink.push(&Record::RedivisTable { table: reference.into(), fresh: true, v: Some(Cow::Borrowed(table)) });
            for (name, file) in table.files.iter() {
                let (table, name) = (reference.into(), name.into());
                sink.push(&Record::RawFile { table, name, v: Some(Cow::Borrowed(file)) });
            }
        }
        for (id, upload) in self.redivis.temp_uploads.iter() {
            sink.push(&Record::TempUpload { id: id.into(), v: Some(Cow::Borrowed(upload)) });
        }
        for (id, session) in self.redivis.sessions.iter() {
            sink.push(&Record::Session { id: id.into(), v: Some(Cow::Borrowed(session)) });
        }
        for (id, file) in self.inspect.files.iter() {
            sink.push(&Record::InspectFile { id: id.into(), v: Some(Cow::Borrowed(file)) });
        }
        for (name, object) in self.oss.objects.iter() {
            sink.push(&Record::OssObject { name: name.into(), v: Some(Cow::Borrowed(object)) });
        }
        let Sink::Lines { count, .. } = sink else { unreachable!() };
        serde_json::to_writer(&mut out, &SnapshotEnd { end: count }).expect("a snapshot end serializes");
        out.push(b'\n');
        self.logged_header = Some(header);
        out
    }

    /// Replays one record. Marks nothing: what is replayed is already on disk.
    fn apply(&mut self, record: Record<'_>) {
        match record {
            Record::Header(header) => {
                let header = header.into_owned();
                self.account = header.account;
                self.role = header.role;
                self.inspect.signing_key = header.inspect_signing_key.clone();
                self.oss.access_key_id = header.oss_access_key_id.clone();
                self.oss.access_key_secret = header.oss_access_key_secret.clone();
                self.logged_header = Some(header);
            }
            Record::Twin { twin, fresh, v } => {
                let twins = self.twins.untracked_map();
                let old = twins.remove(&twin);
                if let Some(value) = v {
                    let mut value = value.into_owned();
                    if let Some(old) = old.filter(|_| !fresh) {
                        value.docs = old.docs;
                    }
                    twins.insert(twin, value);
                }
            }
            Record::Doc { twin, name, v } => match self.twins.untracked_mut(&twin) {
                Some(owner) => {
                    let docs = owner.docs.untracked_map();
                    match v {
                        Some(doc) => docs.insert(name.into_owned(), doc.into_owned()),
                        None => docs.remove(&*name),
                    };
                }
                None => tracing::warn!(%twin, doc = %name, "the state log has a Doc of an unknown Twin; ignored"),
            },
            Record::Attached { twin, name, n } => {
                let counts = self.attached.untracked_map().entry(twin).or_default();
                counts.untracked_map().insert(name.into_owned(), n);
            }
            Record::Upload { handler, v } => replace(self.uploads.untracked_map(), handler, v),
            Record::RedivisTable { table, fresh, v } => {
                let tables = self.redivis.tables.untracked_map();
                let old = tables.remove(&*table);
                if let Some(value) = v {
                    let mut value = value.into_owned();
                    if let Some(old) = old.filter(|_| !fresh) {
                        value.files = old.files;
                    }
                    tables.insert(table.into_owned(), value);
                }
            }
            Record::RawFile { table, name, v } => match self.redivis.tables.untracked_mut(&*table) {
                Some(owner) => replace(owner.files.untracked_map(), name, v),
                None => {
                    tracing::warn!(%table, file = %name, "the state log has a raw file of an unknown table; ignored")
                }
            },
            Record::TempUpload { id, v } => replace(self.redivis.temp_uploads.untracked_map(), id, v),
            Record::Session { id, v } => replace(self.redivis.sessions.untracked_map(), id, v),
            Record::InspectFile { id, v } => replace(self.inspect.files.untracked_map(), id, v),
            Record::OssObject { name, v } => replace(self.oss.objects.untracked_map(), name, v),
        }
    }
}

fn replace<T: Clone>(map: &mut std::collections::BTreeMap<String, T>, key: Cow<'_, str>, value: Option<Cow<'_, T>>) {
    match value {
        Some(value) => map.insert(key.into_owned(), value.into_owned()),
        None => map.remove(&*key),
    };
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a valid emulator state: {why}", path.display()))
}

/// What `state.json` held.
pub(super) enum Loaded {
    /// A snapshot of this generation (format 2).
    Snapshot(State, u64),
    /// A whole state of format 1, from an earlier version.
    Legacy(State),
}

/// Reads `state.json`, of either format.
pub(super) fn read_snapshot(bytes: &[u8], path: &Path) -> io::Result<Loaded> {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(head) = serde_json::from_slice::<SnapshotHead>(first) else {
        return read_legacy(bytes, path).map(Loaded::Legacy);
    };
    if head.twindrop_emulator_state != SNAPSHOT_FORMAT {
        return Err(invalid(
            path,
            format!(
                "it has format {}, this emulator reads formats 1 and {SNAPSHOT_FORMAT}",
                head.twindrop_emulator_state
            ),
        ));
    }
    let mut state = State::empty();
    let mut records = 0u64;
    let mut end = None;
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate().skip(1) {
        if line.is_empty() {
            continue;
        }
        if end.is_some() {
            return Err(invalid(path, format!("line {} follows the end", number + 1)));
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => {
                state.apply(record);
                records += 1;
            }
            Err(err) => match serde_json::from_slice::<SnapshotEnd>(line) {
                Ok(last) => end = Some(last.end),
                Err(_) => return Err(invalid(path, format!("line {}: {err}", number + 1))),
            },
        }
    }
    if state.logged_header.is_none() {
        // Without it the account would silently be a new one.
        return Err(invalid(path, "it has no header record"));
    }
    match end {
        Some(end) if end == records => Ok(Loaded::Snapshot(state, head.generation)),
        Some(end) => Err(invalid(path, format!("it ends after {end} records but holds {records}"))),
        None => Err(invalid(path, "it is cut off (no end line)")),
    }
}

fn read_legacy(bytes: &[u8], path: &Path) -> io::Result<State> {
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    let format: Format = serde_json::from_slice(bytes).map_err(|err| invalid(path, err))?;
    if format.format != 1 {
        return Err(invalid(
            path,
            format!("it has format {}, this emulator reads formats 1 and {SNAPSHOT_FORMAT}", format.format),
        ));
    }
    serde_json::from_slice(bytes).map_err(|err| invalid(path, err))
}

/// How replaying a log went.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Replayed {
    /// Changes (lines) applied.
    pub(super) changes: u64,
    /// Bytes at the end that were not a whole change (a write cut off by a crash): ignored.
    pub(super) torn_bytes: u64,
    /// The log was of an older generation than the snapshot, so it was ignored entirely.
    pub(super) stale: bool,
}

/// Replays `state.log` (its bytes) onto the snapshot of `generation`.
///
/// A last line without its newline, or lines at the end that do not parse, are a write that a
/// crash cut off: no client was told it had happened, so they are dropped. A line that does not
/// parse followed by one that does is damage, not a crash, and fails the load.
pub(super) fn replay_log(state: &mut State, generation: u64, bytes: &[u8], path: &Path) -> io::Result<Replayed> {
    let Some(head_end) = bytes.iter().position(|&b| b == b'\n') else {
        // Written with its head line in one go (temp file and rename), so never this short,
        // unless emptied by hand.
        return Err(invalid(path, "no head line"));
    };
    let head: LogHead = serde_json::from_slice(&bytes[..head_end]).map_err(|err| invalid(path, err))?;
    if head.twindrop_emulator_log != SNAPSHOT_FORMAT {
        return Err(invalid(path, format!("it has format {}", head.twindrop_emulator_log)));
    }
    if head.generation < generation {
        return Ok(Replayed { stale: true, ..Replayed::default() });
    }
    if head.generation > generation {
        return Err(invalid(
            path,
            format!("it continues snapshot {} but state.json is snapshot {generation}", head.generation),
        ));
    }
    let mut replayed = Replayed::default();
    let mut at = head_end + 1;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let Some(len) = rest.iter().position(|&b| b == b'\n') else {
            replayed.torn_bytes = rest.len() as u64;
            break;
        };
        match serde_json::from_slice::<Vec<Record>>(&rest[..len]) {
            Ok(records) => {
                records.into_iter().for_each(|record| state.apply(record));
                replayed.changes += 1;
                at += len + 1;
            }
            Err(err) => {
                let later = rest[len + 1..]
                    .split(|&b| b == b'\n')
                    .any(|line| serde_json::from_slice::<Vec<Record>>(line).is_ok());
                if later {
                    return Err(invalid(path, format!("damaged at byte {at}: {err}")));
                }
                replayed.torn_bytes = rest.len() as u64;
                break;
            }
        }
    }
    Ok(replayed)
}

/// The first line of a log that continues snapshot `generation`.
pub(super) fn log_head(generation: u64) -> Vec<u8> {
    let mut out = serde_json::to_vec(&LogHead { twindrop_emulator_log: SNAPSHOT_FORMAT, generation })
        .expect("a log head serializes");
    out.push(b'\n');
    out
}
