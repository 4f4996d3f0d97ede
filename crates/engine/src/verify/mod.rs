//! Proof that files are on the server as they are here (`twindrop verify`, the app's Verify
//! view): each local file hashed (streaming, in parallel) and held against the digest its
//! service recorded, each file in exactly one [`Verdict`]; and receipts of what was found
//! ([`receipt`]), which can be checked again later ([`recheck`]).
//!
//! Files map to Doc names the way the upload or sync that sent them did: the journal's name
//! for a file it sent there, otherwise the naming of an upload ([`Naming::Upload`]) or of a
//! watched folder ([`Naming::Folder`]).
//!
//! Only a service that can read its recorded digests back can be verified
//! ([`crate::service::UploadApi::holdings`]): Trusted Twin (SHA-256) and Redivis (MD5). The
//! others answer `verify.unsupported` saying why.

mod local;
pub mod receipt;
pub mod recheck;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::destination::{Destination, ServiceKind};
use crate::doc::DocStatus;
use crate::error::{Error, ErrorInfo, Result};
use crate::journal::{LastVerification, Verified};
use crate::queue::Queue;
use crate::service::holdings::{Algorithm, Digest, Held};

/// What became of one file (or Doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The server holds these very bytes, and says `ok`.
    Match,
    /// The server holds other bytes under the file's name.
    Differs,
    /// No file of that name on the server.
    NotOnServer,
    /// On the server, and no local file maps to it (only when a folder is verified).
    OnlyOnServer,
    /// On the server, but not `ok` (`copying`, `hash_mismatch`, `error`), or with no digest
    /// recorded: nothing vouches for its bytes.
    NotOk,
    /// The local file could not be read or named: nothing could be compared.
    Unreadable,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::Match,
        Verdict::Differs,
        Verdict::NotOnServer,
        Verdict::OnlyOnServer,
        Verdict::NotOk,
        Verdict::Unreadable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Differs => "differs",
            Verdict::NotOnServer => "not_on_server",
            Verdict::OnlyOnServer => "only_on_server",
            Verdict::NotOk => "not_ok",
            Verdict::Unreadable => "unreadable",
        }
    }

    /// How people say it, plural-free: "differs", "not on the server".
    pub fn said(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Differs => "differs",
            Verdict::NotOnServer => "not on the server",
            Verdict::OnlyOnServer => "only on the server",
            Verdict::NotOk => "on the server but not ok",
            Verdict::Unreadable => "unreadable",
        }
    }
}

/// The local side of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LocalFacts {
    pub size: u64,
    pub sha256: String,
    /// Lowercase hex, when the service records MD5.
    pub md5: Option<String>,
    /// Taken from the journal (`--trust-cache`): the file was not read again.
    pub cached: bool,
}

/// One file or Doc, and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub verdict: Verdict,
    /// The Doc's name (or the name the file's Doc would have); empty when none can be made.
    pub name: String,
    /// The local file, shown (bytes that are not UTF-8 as U+FFFD); `None`: only on the server.
    pub path: Option<String>,
    pub local: Option<LocalFacts>,
    pub server: Option<Held>,
    /// Why a file is unreadable, or what makes a Doc not ok.
    pub problem: Option<ErrorInfo>,
    /// The exact local path, for sending again.
    #[serde(skip)]
    #[specta(skip)]
    pub local_path: Option<PathBuf>,
}

/// How many rows of each verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub r#match: u64,
    pub differs: u64,
    pub not_on_server: u64,
    pub only_on_server: u64,
    pub not_ok: u64,
    pub unreadable: u64,
}

impl Counts {
    pub fn of(rows: &[Row]) -> Counts {
        let mut c = Counts::default();
        for row in rows {
            *c.slot(row.verdict) += 1;
        }
        c
    }

    fn slot(&mut self, v: Verdict) -> &mut u64 {
        match v {
            Verdict::Match => &mut self.r#match,
            Verdict::Differs => &mut self.differs,
            Verdict::NotOnServer => &mut self.not_on_server,
            Verdict::OnlyOnServer => &mut self.only_on_server,
            Verdict::NotOk => &mut self.not_ok,
            Verdict::Unreadable => &mut self.unreadable,
        }
    }

    pub fn get(&self, v: Verdict) -> u64 {
        match v {
            Verdict::Match => self.r#match,
            Verdict::Differs => self.differs,
            Verdict::NotOnServer => self.not_on_server,
            Verdict::OnlyOnServer => self.only_on_server,
            Verdict::NotOk => self.not_ok,
            Verdict::Unreadable => self.unreadable,
        }
    }

    /// Everything matched: no difference of any kind.
    pub fn in_step(&self) -> bool {
        Verdict::ALL.iter().all(|&v| v == Verdict::Match || self.get(v) == 0)
    }

    /// "3 match, 1 differs": the verdicts that occurred.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = Verdict::ALL
            .iter()
            .filter(|&&v| self.get(v) > 0)
            .map(|&v| format!("{} {}", self.get(v), v.said()))
            .collect();
        match parts.is_empty() {
            true => "nothing to verify".into(),
            false => parts.join(", "),
        }
    }
}

/// Which files, and how they are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// Files and folders as an upload takes them: a folder's files named from the folder's
    /// parent (`Reports/a.pdf`), with the upload's template if any.
    Upload { paths: Vec<PathBuf>, template: Option<String> },
    /// A watched folder: its files named from inside it (`a.pdf`), with its template, and
    /// without the files its ignore patterns (gitignore lines, on top of the defaults) leave out.
    Folder { root: PathBuf, template: Option<String>, ignore: Vec<String> },
}

impl Naming {
    /// Whether Docs no local file maps to are reported (`only on the server`): when a whole
    /// folder is verified, not a few files.
    fn whole_folder(&self) -> bool {
        match self {
            Naming::Folder { .. } => true,
            Naming::Upload { paths, .. } => paths.iter().any(|p| p.is_dir()),
        }
    }
}

/// What to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub naming: Naming,
    /// Take the digest the journal has of a file whose size and mtime are unchanged since it
    /// was verified (or sent and found `ok`), instead of reading it again.
    pub trust_cache: bool,
}

/// Progress while files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub files_done: u64,
    pub files: u64,
    pub bytes_done: u64,
    pub bytes: u64,
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// A verification's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub service: ServiceKind,
    pub base_url: String,
    /// The Twin, table or asset, as written.
    pub destination: String,
    pub algorithm: Algorithm,
    /// Seconds since the epoch, when the server was read.
    pub checked_at: f64,
    pub counts: Counts,
    /// Sorted by verdict (differences first), then name.
    pub rows: Vec<Row>,
}

/// The service's recorded digests, or why there are none.
fn holdings(queue: &Queue) -> Result<&dyn crate::service::upload_api::Holdings> {
    queue.service().api().holdings().map_err(|why| Error::VerifyUnsupported {
        service: queue.service().kind().display_name().to_owned(),
        why: why.to_owned(),
    })
}

/// Verify `request` against `dest`: local files hashed while the server is read, each file
/// given one verdict. What matched is kept in the journal (for `--trust-cache`), and a
/// watched folder's verification as its last.
pub async fn verify(
    queue: &Queue,
    dest: &Destination,
    request: &Request,
    progress: ProgressFn,
) -> Result<Verification> {
    let holdings = holdings(queue)?;
    let algorithm = holdings.algorithm();
    let journal = queue.journal().clone();
    let base_url = queue.service().base_url().to_owned();
    let (files, trusted) = {
        let (journal, base_url, dest, request) = (journal.clone(), base_url.clone(), dest.clone(), request.clone());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let files = local::find(&journal, &base_url, &dest, &request.naming)?;
            let trusted = match request.trust_cache {
                true => local::trusted(&journal, &base_url, &dest, &files)?,
                false => Default::default(),
            };
            Ok((files, trusted))
        })
        .await
        .map_err(|e| Error::Internal(format!("listing files failed: {e}")))??
    };

    let counters = Arc::new(local::Counters::default());
    let total = Progress {
        files_done: 0,
        files: files.len() as u64,
        bytes_done: 0,
        bytes: files.iter().filter(|f| f.problem.is_none()).map(|f| f.size).sum(),
    };
    let readable: Vec<usize> = (0..files.len()).filter(|&i| files[i].problem.is_none()).collect();
    // Aborted when dropped, so a verification given up half-way (a closed view) stops ticking.
    struct Ticker(tokio::task::JoinHandle<()>);
    impl Drop for Ticker {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let ticker = {
        let (counters, progress) = (counters.clone(), progress.clone());
        Ticker(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                progress(Progress {
                    files_done: counters.files.load(Ordering::Relaxed),
                    bytes_done: counters.bytes.load(Ordering::Relaxed),
                    ..total
                });
            }
        }))
    };
    let readable_files: Vec<&local::Found> = readable.iter().map(|&i| &files[i]).collect();
    let (digests, held) =
        tokio::join!(local::digest_all(&readable_files, algorithm, &trusted, counters.clone()), holdings.held(dest));
    drop(ticker);
    let held = held?;
    let checked_at = crate::service::upload_api::epoch_now();
    progress(Progress { files_done: total.files, bytes_done: counters.bytes.load(Ordering::Relaxed), ..total });

    let mut digests = readable.into_iter().zip(digests).collect::<BTreeMap<usize, _>>();
    let mut on_server: BTreeMap<&str, &Held> = held.iter().map(|h| (h.name.as_str(), h)).collect();
    let mut rows = Vec::with_capacity(files.len());
    let mut matched = Vec::new();
    let mut seen_names = HashSet::new();
    for (i, file) in files.iter().enumerate() {
        let shown = Some(file.path.to_string_lossy().into_owned());
        let name = file.name.clone().unwrap_or_default();
        let server = file.name.as_deref().and_then(|n| on_server.get(n).copied());
        seen_names.insert(name.clone());
        let base = Row {
            verdict: Verdict::Unreadable,
            name,
            path: shown,
            local: None,
            server: server.cloned(),
            problem: file.problem.clone(),
            local_path: Some(file.path.clone()),
        };
        let local = match digests.remove(&i) {
            None => {
                rows.push(base);
                continue;
            }
            Some(Err(problem)) => {
                rows.push(Row { problem: Some(problem), ..base });
                continue;
            }
            Some(Ok(d)) => d,
        };
        let facts =
            LocalFacts { size: local.size, sha256: local.sha256.clone(), md5: local.md5.clone(), cached: local.cached };
        let (verdict, problem) = judge(&facts, server);
        if verdict == Verdict::Match && !local.cached {
            matched.push((
                file.path.clone(),
                Verified { size: local.size, mtime_ns: file.mtime_ns, sha256: local.sha256, md5: local.md5 },
            ));
        }
        rows.push(Row { verdict, local: Some(facts), problem, ..base });
    }
    if request.naming.whole_folder() {
        on_server.retain(|name, _| !seen_names.contains(*name));
        rows.extend(on_server.into_values().map(|h| Row {
            verdict: Verdict::OnlyOnServer,
            name: h.name.clone(),
            path: None,
            local: None,
            server: Some(h.clone()),
            problem: None,
            local_path: None,
        }));
    }
    rows.sort_by(|a, b| (order(a.verdict), &a.name).cmp(&(order(b.verdict), &b.name)));
    let counts = Counts::of(&rows);

    {
        let (journal, base_url, dest, naming) = (journal, base_url.clone(), dest.clone(), request.naming.clone());
        let last = LastVerification { at: checked_at, in_step: counts.in_step(), summary: counts.summary() };
        tokio::task::spawn_blocking(move || -> Result<()> {
            let refs: Vec<(&std::path::Path, &Verified)> = matched.iter().map(|(p, v)| (p.as_path(), v)).collect();
            journal.record_verified(&base_url, &dest, &refs)?;
            if let Naming::Folder { root, .. } = &naming {
                journal.record_verification(&base_url, &dest, root, &last)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Internal(format!("recording the verification failed: {e}")))??;
    }
    Ok(Verification {
        service: queue.service().kind(),
        base_url,
        destination: dest.to_string(),
        algorithm,
        checked_at,
        counts,
        rows,
    })
}

/// Differences first, in the order a user acts on them; matches last.
fn order(v: Verdict) -> u8 {
    match v {
        Verdict::Differs => 0,
        Verdict::NotOk => 1,
        Verdict::NotOnServer => 2,
        Verdict::Unreadable => 3,
        Verdict::OnlyOnServer => 4,
        Verdict::Match => 5,
    }
}

/// A readable file against what the server holds under its name.
fn judge(local: &LocalFacts, server: Option<&Held>) -> (Verdict, Option<ErrorInfo>) {
    let Some(server) = server else { return (Verdict::NotOnServer, None) };
    let not_ok = |message: String| {
        let code = crate::error::Code::VerifyChecksumMismatch.as_str().to_owned();
        (Verdict::NotOk, Some(ErrorInfo { code, message, retryable: false }))
    };
    if server.status != DocStatus::Ok {
        return not_ok(format!("the server says {}", server.status.as_str()));
    }
    let ours = match &server.digest {
        None => return not_ok("the server recorded no hash for it: its bytes cannot be proven".into()),
        Some(Digest::Sha256(_)) => local.sha256.as_str(),
        Some(Digest::Md5(_)) => local.md5.as_deref().unwrap_or_default(),
    };
    let same_size = server.size.is_none_or(|s| s == local.size);
    match same_size && server.digest.as_ref().is_some_and(|d| d.hex().eq_ignore_ascii_case(ours)) {
        true => (Verdict::Match, None),
        false => (Verdict::Differs, None),
    }
}
