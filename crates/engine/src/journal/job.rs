//! A job as the journal keeps it. Its columns are text and numbers; a [`Job`] is typed. Each
//! value is parsed once, when a row is read (`row_to_job`), and formatted once, when it is
//! written, so no caller compares strings such as `"ok"` or `"resumable"`.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Row, ToSql};
use serde::Serialize;

use super::path_from;
use crate::destination::{Destination, ServiceKind};
use crate::doc::{ConflictPolicy, DocStatus, StorageClass};
use crate::error::{Error, Result};
use crate::naming::DocName;
use crate::transfer::form::FormTarget;

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

/// How a job's bytes go, when the service offers a choice or none was needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transfer {
    /// One streamed PUT.
    Put,
    /// A resumable session (its offset in the `resumable` table).
    Resumable,
    /// A form POST (HBR).
    Form,
    /// Nothing was sent: the service had these bytes already (Inspect). Kept as `none`.
    #[serde(rename = "none")]
    AlreadyThere,
}

impl Transfer {
    pub fn as_str(self) -> &'static str {
        match self {
            Transfer::Put => "put",
            Transfer::Resumable => "resumable",
            Transfer::Form => "form",
            Transfer::AlreadyThere => "none",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "put" => Transfer::Put,
            "resumable" => Transfer::Resumable,
            "form" => Transfer::Form,
            "none" => Transfer::AlreadyThere,
            other => return Err(Error::Journal(format!("unknown transfer {other:?}"))),
        })
    }
}

impl ToSql for Transfer {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// A job's Doc name as its row holds it. New rows of files that may be sent hold a valid
/// [`DocName`]; a file refused at planning holds whatever it was proposed (maybe nothing), and a
/// row from an older, more lenient version may hold a name today's rules refuse. Those are kept
/// as text, to be shown: a job that needs to send one fails with `doc_name.invalid` then
/// ([`JobName::doc_name`]) rather than the whole journal failing to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobName {
    Valid(DocName),
    Other(String),
}

impl JobName {
    pub fn parse(s: &str) -> Self {
        DocName::parse(s).map_or_else(|_| JobName::Other(s.to_owned()), JobName::Valid)
    }

    pub fn as_str(&self) -> &str {
        match self {
            JobName::Valid(name) => name.as_str(),
            JobName::Other(text) => text,
        }
    }

    /// The name to send, when it is valid (`doc_name.invalid`, saying why, when not).
    pub fn doc_name(&self) -> Result<DocName> {
        match self {
            JobName::Valid(name) => Ok(name.clone()),
            JobName::Other(text) => DocName::parse(text),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: `twindrop status` lines names up in a column.
        f.pad(self.as_str())
    }
}

impl PartialEq<str> for JobName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for JobName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for JobName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<DocName> for JobName {
    fn eq(&self, other: &DocName) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for JobName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for JobName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl From<DocName> for JobName {
    fn from(name: DocName) -> Self {
        JobName::Valid(name)
    }
}

impl Serialize for JobName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One row of the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: u64,
    pub base_url: String,
    /// Where the Doc goes; its variant says which service (the row's `service` column).
    pub destination: Destination,
    /// Exact, even when not UTF-8; shown (and serialised) with U+FFFD for the bytes that are not.
    pub path: PathBuf,
    pub doc_name: JobName,
    pub size: u64,
    pub mtime_ns: i64,
    pub state: JobState,
    pub sha256: Option<String>,
    /// The server's name for the upload: Trusted Twin's handler, Redivis's temp upload id,
    /// Inspect's file id, HBR's temp file key.
    pub upload_id: Option<String>,
    /// HBR's whole answer, which the form needs. Its policy signature is a credential: never
    /// printed, never logged.
    pub form_target: Option<FormTarget>,
    /// A bearer credential for its lifetime: never printed, never logged.
    pub upload_url: Option<String>,
    pub url_valid_until: Option<f64>,
    pub attach_sent: bool,
    pub doc_status: Option<DocStatus>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: u32,
    pub storage_class: StorageClass,
    pub description: Option<String>,
    pub on_conflict: ConflictPolicy,
    pub updated_at: f64,
    pub transfer: Option<Transfer>,
    /// Base64 MD5 of what was uploaded, for services that verify with it.
    pub md5: Option<String>,
    /// The file's device and inode when it was planned (0 for rows from before they were kept):
    /// the bytes sent must come from this very file (see `source`).
    pub dev: u64,
    pub ino: u64,
    /// Intent of a replace: the SHA-256 of the Doc this job deletes before it attaches, written
    /// before the delete (see `service::trusted_twin::finish`).
    pub replaces: Option<String>,
}

impl Job {
    /// The file this job sends, as it was when planned.
    pub fn identity(&self) -> crate::source::Identity {
        crate::source::Identity { dev: self.dev, ino: self.ino, size: self.size, mtime_ns: self.mtime_ns }
    }

    /// Whether the job ended with its Doc `ok` on the server.
    pub fn is_ok(&self) -> bool {
        self.state == JobState::Done && self.doc_status == Some(DocStatus::Ok)
    }

    pub fn service(&self) -> ServiceKind {
        self.destination.service()
    }
}

/// `twindrop status --json` prints jobs: the keys stay those of before the columns were typed
/// (`twin` is kept beside `destination` for scripts that read it), and credentials stay out.
#[derive(Serialize)]
struct JobJson<'a> {
    id: u64,
    base_url: &'a str,
    service: ServiceKind,
    destination: &'a Destination,
    twin: &'a str,
    path: std::borrow::Cow<'a, str>,
    doc_name: &'a JobName,
    size: u64,
    mtime_ns: i64,
    state: JobState,
    sha256: &'a Option<String>,
    upload_id: &'a Option<String>,
    url_valid_until: Option<f64>,
    attach_sent: bool,
    doc_status: &'a Option<DocStatus>,
    error_code: &'a Option<String>,
    error_message: &'a Option<String>,
    attempts: u32,
    storage_class: StorageClass,
    description: &'a Option<String>,
    on_conflict: ConflictPolicy,
    updated_at: f64,
    transfer: Option<Transfer>,
    md5: &'a Option<String>,
    dev: u64,
    ino: u64,
    replaces: &'a Option<String>,
}

impl Serialize for Job {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        JobJson {
            id: self.id,
            base_url: &self.base_url,
            service: self.service(),
            destination: &self.destination,
            twin: self.destination.as_str(),
            path: self.path.to_string_lossy(),
            doc_name: &self.doc_name,
            size: self.size,
            mtime_ns: self.mtime_ns,
            state: self.state,
            sha256: &self.sha256,
            upload_id: &self.upload_id,
            url_valid_until: self.url_valid_until,
            attach_sent: self.attach_sent,
            doc_status: &self.doc_status,
            error_code: &self.error_code,
            error_message: &self.error_message,
            attempts: self.attempts,
            storage_class: self.storage_class,
            description: &self.description,
            on_conflict: self.on_conflict,
            updated_at: self.updated_at,
            transfer: self.transfer,
            md5: &self.md5,
            dev: self.dev,
            ino: self.ino,
            replaces: &self.replaces,
        }
        .serialize(s)
    }
}

/// What a new job needs.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub base_url: &'a str,
    pub destination: &'a Destination,
    pub path: &'a Path,
    /// Text, since a file refused at planning is recorded with the name it was proposed.
    pub doc_name: &'a str,
    pub size: u64,
    pub mtime_ns: i64,
    pub dev: u64,
    pub ino: u64,
    pub storage_class: StorageClass,
    pub description: Option<&'a str>,
    pub on_conflict: ConflictPolicy,
}

/// Where a job's bytes go, as the journal keeps it. The URL is a bearer credential.
#[derive(Clone)]
pub struct Target<'a> {
    pub upload_id: &'a str,
    pub url: &'a str,
    pub valid_until: f64,
    pub transfer: Option<Transfer>,
    /// HBR's answer, whole.
    pub form: Option<&'a FormTarget>,
}

/// The columns a [`Job`] is read from, as a literal (so queries can be `concat!`-ed constants).
macro_rules! columns {
    () => {
        "id, base_url, service, destination, path, doc_name, size, mtime_ns, state, sha256, \
         upload_id, form_target, upload_url, url_valid_until, attach_sent, doc_status, error_code, error_message, \
         attempts, storage_class, description, on_conflict, updated_at, transfer, md5, dev, ino, replaces"
    };
}
pub(super) use columns;

pub(super) const COLUMNS: &str = columns!();

/// How many columns `COLUMNS` names: a query may select more after them.
pub(super) const COLUMN_COUNT: usize = 28;

/// A column's text parsed by `parse`; a failure names the column.
fn parsed<T>(r: &Row<'_>, i: usize, parse: impl FnOnce(&str) -> Result<T>) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    parse(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

fn parsed_opt<T>(r: &Row<'_>, i: usize, parse: impl FnOnce(&str) -> Result<T>) -> rusqlite::Result<Option<T>> {
    match r.get_ref(i)? {
        ValueRef::Null => Ok(None),
        _ => parsed(r, i, parse).map(Some),
    }
}

pub(super) fn row_to_job(r: &Row<'_>) -> rusqlite::Result<Job> {
    let service = parsed(r, 2, ServiceKind::parse)?;
    let form_target = parsed_opt(r, 11, |s| {
        FormTarget::from_journal(s).ok_or_else(|| Error::Journal("a form target that is not HBR's answer".into()))
    })?;
    Ok(Job {
        id: r.get::<_, i64>(0)? as u64,
        base_url: r.get(1)?,
        destination: parsed(r, 3, |s| Destination::parse(service, s))?,
        path: path_from(r.get_ref(4)?)?,
        doc_name: JobName::parse(&r.get::<_, String>(5)?),
        size: r.get::<_, i64>(6)? as u64,
        mtime_ns: r.get(7)?,
        state: parsed(r, 8, JobState::parse)?,
        sha256: r.get(9)?,
        upload_id: r.get(10)?,
        form_target,
        upload_url: r.get(12)?,
        url_valid_until: r.get(13)?,
        attach_sent: r.get::<_, i64>(14)? != 0,
        doc_status: parsed_opt(r, 15, |s| Ok(DocStatus::parse(s)))?,
        error_code: r.get(16)?,
        error_message: r.get(17)?,
        attempts: r.get::<_, i64>(18)? as u32,
        storage_class: parsed(r, 19, StorageClass::parse)?,
        description: r.get(20)?,
        on_conflict: parsed(r, 21, ConflictPolicy::parse)?,
        updated_at: r.get(22)?,
        transfer: parsed_opt(r, 23, Transfer::parse)?,
        md5: r.get(24)?,
        dev: r.get::<_, i64>(25)? as u64,
        ino: r.get::<_, i64>(26)? as u64,
        replaces: r.get(27)?,
    })
}

/// The journal's text for each typed value, written in one place.
pub(super) struct Text<T>(pub T);

impl ToSql for Text<&Destination> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl ToSql for Text<ServiceKind> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl ToSql for Text<&DocStatus> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl ToSql for Text<StorageClass> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl ToSql for Text<ConflictPolicy> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl ToSql for Text<JobState> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl FromSql for JobState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        JobState::parse(value.as_str()?).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}
