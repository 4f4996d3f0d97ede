//! What the queue asks of an upload API, as rclone asks of a backend: a tiny mandatory core
//! ([`UploadApi::target`] and [`UploadApi::send`]) and optional capabilities, each a method
//! that answers `None` unless the service has it:
//!
//! - [`Finishing`]: what turns uploaded bytes into a file of the destination, in batches
//!   (Trusted Twin's attach, Redivis's rawFiles, Inspect's complete call). HBR has none: its
//!   upload is final once the storage has answered with our MD5.
//! - [`Copies`] (of a [`Finishing`]): a server that copies the bytes after finishing, whose
//!   status is polled until it ends (Trusted Twin).
//! - [`Prefetch`]: targets asked for a whole drop at enqueue, before any job exists (Redivis).
//! - [`Listing`]: what the destination holds, so a file already there is skipped (Trusted Twin;
//!   for the others the journal's word is taken).
//! - [`Holdings`]: each file the destination holds with the digest the service recorded, for
//!   `verify` (Trusted Twin's SHA-256, Redivis's MD5); a service without it says why.
//!
//! [`UploadApi::names`] says which names the service takes ([`NameRules`]).
//!
//! Dedupe-before-send is an answer of the core: a service whose ask for a target names the
//! content (Inspect) may answer [`Prepared::AlreadyThere`], and nothing is sent.
//!
//! # Adding a service
//!
//! One module in `service/` whose client implements [`UploadApi`] (and the capabilities it
//! has), its arm in [`super::Service`], and its line in the conformance suite
//! (`crates/engine/tests/conformance.rs` and `tests/support/`), which runs the same cases
//! through the same queue against every service. The queue's generic stages
//! (`queue::upload`, `queue::finish`, `queue::poll`) need no change.
//!
//! The service modules never import the queue: what they need from it comes in a [`SendCx`] or
//! a [`FinishCx`], and what becomes of each job goes back as an [`Outcome`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;

pub use super::holdings::Holdings;
use crate::bandwidth::Limiter;
use crate::destination::Destination;
use crate::doc::DocStatus;
use crate::error::{Error, Invalid, Result};
use crate::journal::{Job, Journal, Target, Transfer};
use crate::naming::DocName;
use crate::retry::RetryPolicy;
use crate::transfer::form::FormTarget;
use crate::transfer::{ProgressFn, Sent};

/// How the reason of a file skipped for a conflict starts (the activity log picks these out).
pub const CONFLICT_SKIP: &str = "a different Doc named";

/// Names tried for a conflict under `rename` before giving up.
pub const RENAME_TRIES: u32 = 200;

/// A URL this close to its expiry is not worth starting a transfer on.
pub const URL_MARGIN: Duration = Duration::from_secs(300);

/// Seconds since the epoch, as the journal keeps expiry times.
pub fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Whether a target valid until `until` may still be sent to.
pub fn live(until: Option<f64>) -> bool {
    until.is_some_and(|t| t > epoch_now() + URL_MARGIN.as_secs_f64())
}

/// What the core's calls get from the queue.
pub struct SendCx<'a> {
    pub journal: &'a Journal,
    /// Told the bytes confirmed so far (it may step back when a session resumes lower).
    pub progress: ProgressFn,
    pub bwlimit: Option<Arc<Limiter>>,
    /// Files larger than this go by a resumable session where the service offers one.
    pub resumable_above: u64,
    /// Chunk size of resumable sessions.
    pub chunk_size: u64,
}

/// What [`UploadApi::target`] decided.
#[derive(Debug)]
pub enum Prepared {
    /// Send to the target on record in the job (reused, or asked for and journaled now).
    Send {
        /// The SHA-256 the target was signed for in this attempt (Inspect): what is sent must
        /// hash to it, or the file changed in between.
        signed_for: Option<String>,
    },
    /// The service holds these bytes already (dedupe-before-send): nothing is sent.
    AlreadyThere(Sent),
}

/// The mandatory core of an upload API, and its optional capabilities.
pub trait UploadApi: Send + Sync {
    /// Make sure `job` has a live target: the one on record while it is live, or a new one,
    /// journaled (with [`remember`]) before any byte goes to it. Intent before effect.
    fn target<'a>(&'a self, job: &'a mut Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Prepared>>;

    /// Send the file's bytes to the target on record in `job`, hashing them on the way.
    fn send<'a>(&'a self, job: &'a Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Sent>>;

    /// How uploaded files become files of the destination; `None`: an upload is final.
    fn finishing(&self) -> Option<&dyn Finishing> {
        None
    }

    /// Targets asked for at enqueue, a whole drop at once.
    fn prefetch(&self) -> Option<&dyn Prefetch> {
        None
    }

    /// The names the service takes.
    fn names(&self) -> NameRules {
        NameRules::Any
    }

    /// A listing of what the destination holds, to tell a file already there.
    fn listing(&self) -> Option<&dyn Listing> {
        None
    }

    /// What the destination holds with each file's recorded digest, or why that cannot be read
    /// back (said to the user as it is).
    fn holdings(&self) -> std::result::Result<&dyn Holdings, &'static str> {
        Err("this service has no call that reads a file's hash back")
    }
}

/// Which names a service takes, and how one is made and numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRules {
    /// Trusted Twin's `doc_name` rules ([`DocName`]).
    DocName,
    /// Any name that is not empty: the file's own name by default.
    Any,
}

impl NameRules {
    /// The name a file gets on the server by default.
    pub fn name_for(self, path: &Path) -> Result<String> {
        match self {
            NameRules::DocName => DocName::from_file_name(path).map(|n| n.to_string()),
            NameRules::Any => {
                path.file_name().and_then(|n| n.to_str()).filter(|n| !n.is_empty()).map(str::to_owned).ok_or_else(
                    || Error::invalid(Invalid::Name, format!("{}: the file name is not valid UTF-8", path.display())),
                )
            }
        }
    }

    /// A name given by the caller must be one the service takes.
    pub fn check(self, name: &str) -> Result<()> {
        match self {
            NameRules::DocName => DocName::parse(name).map(|_| ()),
            NameRules::Any if name.is_empty() => Err(Error::invalid(Invalid::Name, "an empty name")),
            NameRules::Any => Ok(()),
        }
    }

    /// `name` with the suffix `-n`, as the service takes it.
    pub fn suffixed(self, name: &str, n: u32) -> Result<String> {
        match self {
            NameRules::DocName => Ok(DocName::parse(name)?.with_suffix(n).to_string()),
            NameRules::Any => Ok(with_suffix(name, n)),
        }
    }
}

/// `dir/a.tar.gz` → `dir/a-2.tar.gz`: how the services that take any name number a renamed one.
pub fn with_suffix(name: &str, n: u32) -> String {
    let (stem, ext) = split_ext(name);
    format!("{stem}-{n}{ext}")
}

/// The stem and the extension (with its dot) of the last path component; a leading dot is not
/// an extension.
pub fn split_ext(name: &str) -> (&str, &str) {
    let last_start = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_start..].find('.') {
        Some(0) | None => (name, ""),
        Some(i) => name.split_at(last_start + i),
    }
}

/// What a destination holds, by name.
pub trait Listing: Send + Sync {
    /// Each file's size, by name.
    fn sizes<'a>(&'a self, dest: &'a Destination) -> BoxFuture<'a, Result<BTreeMap<String, u64>>>;
}

/// Intent before effect: the target is on record (and in the job) before a byte goes to it.
pub fn remember(
    journal: &Journal,
    job: &mut Job,
    upload_id: &str,
    url: &str,
    valid_until: f64,
    transfer: Option<Transfer>,
    form: Option<&FormTarget>,
) -> Result<()> {
    journal.record_target(job.id, &Target { upload_id, url, valid_until, transfer, form })?;
    job.upload_id = Some(upload_id.to_owned());
    job.form_target = form.cloned();
    job.upload_url = Some(url.to_owned());
    job.url_valid_until = Some(valid_until);
    job.transfer = transfer;
    Ok(())
}

/// What the finishing calls get from the queue.
pub struct FinishCx<'a> {
    pub journal: &'a Journal,
    /// The server's base URL, as the journal keys its rows.
    pub base_url: &'a str,
    pub retry: &'a RetryPolicy,
    /// Most files in one request, as configured (a service may have its own limit).
    pub batch: usize,
    /// Says that a job's name changed (after it is on record).
    pub renamed: &'a (dyn Fn(u64, &str) + Send + Sync),
}

/// What became of one job in a finishing round. The journal already holds what the service
/// did; the queue records the end states (`Done`, `Skipped`, `Failed`) and reports them.
#[derive(Debug)]
pub enum Outcome {
    /// Finished, with this status.
    Done(DocStatus),
    /// Left alone, for this reason (a conflict under `skip`).
    Skipped(String),
    Failed(Arc<Error>),
    /// Send it as a fresh job in a later request (renamed, or found not to be there).
    Again,
    /// Its request may have landed and the answer was lost: it is sent or read back again,
    /// after the in-doubt wait for the round's [`Round::doubt`].
    InDoubt,
    /// Its bytes must go again: the service has put it back in the queue.
    Requeued,
    /// The server is copying it: watch its [`Copies`] status.
    Copying,
}

impl Outcome {
    pub fn failed(error: Error) -> Outcome {
        Outcome::Failed(Arc::new(error))
    }
}

/// The outcomes of one request (or a few, when a batch was split), in no particular order.
#[derive(Debug, Default)]
pub struct Round {
    pub outcomes: Vec<(Job, Outcome)>,
    /// The last error that left jobs in doubt, for the retry policy.
    pub doubt: Option<Error>,
}

impl Round {
    pub fn push(&mut self, job: Job, outcome: Outcome) {
        self.outcomes.push((job, outcome));
    }

    pub fn extend(&mut self, other: Round) {
        self.outcomes.extend(other.outcomes);
        if other.doubt.is_some() {
            self.doubt = other.doubt;
        }
    }

    /// Every job of `jobs` in doubt for `error`.
    pub fn in_doubt(jobs: Vec<Job>, error: Error) -> Round {
        Round { outcomes: jobs.into_iter().map(|j| (j, Outcome::InDoubt)).collect(), doubt: Some(error) }
    }

    /// Every job of `jobs` failed with `error`.
    pub fn failed(jobs: Vec<Job>, error: Error) -> Round {
        let error = Arc::new(error);
        Round { outcomes: jobs.into_iter().map(|j| (j, Outcome::Failed(error.clone()))).collect(), doubt: None }
    }
}

/// Finishing, in batches: the queue's generic loop (`queue::finish`) gathers uploaded jobs,
/// groups them (one destination, distinct names, at most [`max_batch`](Finishing::max_batch)),
/// calls [`send`](Finishing::send), records the outcomes, and retries the jobs left in doubt
/// with the in-doubt budget, through [`in_doubt`](Finishing::in_doubt).
pub trait Finishing: Send + Sync {
    /// Most jobs in one request.
    fn max_batch(&self, cx: &FinishCx<'_>) -> usize;

    /// Finish fresh jobs (one destination, distinct names) in one request, journaling the
    /// intent (`attach_sent`) before it goes.
    fn send<'a>(&'a self, batch: Vec<Job>, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round>;

    /// A job whose request may have landed (`attach_sent`): read it back, or send it again in
    /// a way that cannot make the file twice.
    fn in_doubt<'a>(&'a self, job: Job, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round>;

    /// The server copies the bytes after finishing: their status, polled.
    fn copies(&self) -> Option<&dyn Copies> {
        None
    }
}

/// A server-side copy's status, polled by the queue until it is terminal.
pub trait Copies: Send + Sync {
    /// The job's copy as the server sees it now.
    fn status<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<DocStatus>>;

    /// A copy that ended badly: put the job back in the queue, to go after `wait` (journaled
    /// first), then remove the bad copy.
    fn discard<'a>(&'a self, job: &'a Job, wait: Duration, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Result<()>>;
}

/// Targets for a whole drop, asked for before any job exists.
pub trait Prefetch: Send + Sync {
    /// One target per `(name, size)` of a drop to `dest`, in order, each to be journaled with
    /// its job; `resumable_above` as in [`SendCx`]. A refusal stops the drop.
    fn targets<'a>(
        &'a self,
        dest: &'a Destination,
        files: Vec<(String, u64)>,
        resumable_above: u64,
        retry: &'a RetryPolicy,
    ) -> BoxFuture<'a, Result<Vec<PrefetchedTarget>>>;
}

/// A target asked for at enqueue, as the journal keeps it.
#[derive(Debug, Clone)]
pub struct PrefetchedTarget {
    pub upload_id: String,
    pub url: String,
    pub valid_until: f64,
    pub transfer: Option<Transfer>,
}

impl PrefetchedTarget {
    pub fn journal_target(&self) -> Target<'_> {
        Target {
            upload_id: &self.upload_id,
            url: &self.url,
            valid_until: self.valid_until,
            transfer: self.transfer,
            form: None,
        }
    }
}
