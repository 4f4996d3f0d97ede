//! Verify in the app: a watched folder against its destination (on the folders' own queue and
//! journal, named as the folder names its files), or a folder the user picks against a Twin
//! (named as an upload names it); then "Send again" for what differs or is missing, and a
//! receipt of what was found.
//!
//! The outcome stays here, by id, rather than going whole to the window: "Send again" needs
//! the exact local paths (`Row::local_path`, which never crosses IPC), a receipt must be of the
//! very rows the user looked at rather than of a second run, and a folder of 100,000 files is
//! paged to the window a screenful at a time ([`App::verification_rows`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::App;
use crate::destination::{Destination, ServiceKind};
use crate::error::{Error, ErrorInfo, Invalid, Result};
use crate::queue::{Batch, EventSink, Planned};
use crate::service::holdings::Algorithm;
use crate::verify::receipt::Receipt;
use crate::verify::{self, Counts, Naming, ProgressFn, Request, Row, Verdict, Verification};

/// How many verifications are kept for the window. One is shown at a time; a few more let a
/// second window (or a verification started while another is open) find theirs, while a
/// folder of 100,000 rows (~100 MB) is not held many times over.
pub const KEPT: usize = 3;

/// The most rows one [`App::verification_rows`] call returns: a window's worth, not a folder.
pub const ROWS_MOST: usize = 500;

/// A run of rows of one verdict, in the order the rows are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VerdictGroup {
    pub verdict: Verdict,
    /// The index of its first row.
    pub start: u64,
    pub count: u64,
}

/// A verification as the window shows it: its counts and groups; the rows themselves are
/// asked for as they scroll into view.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VerifyView {
    /// What later calls name it by.
    pub id: u64,
    pub service: ServiceKind,
    /// The Twin, table or asset.
    pub destination: String,
    /// The watched folder verified; `None` for a folder verified as an upload.
    pub folder: Option<String>,
    pub algorithm: Algorithm,
    /// Seconds since the epoch, when the server was read.
    pub checked_at: f64,
    pub counts: Counts,
    /// Every file matched and nothing was only on the server.
    pub in_step: bool,
    /// The rows in order (differences first), as runs of one verdict.
    pub groups: Vec<VerdictGroup>,
    /// How many files "Send again" would send: those that differ or are not on the server.
    pub to_send: u64,
}

/// What "Send again" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SentAgain {
    /// The jobs, as the queue made them (a file unchanged since it went up is skipped there).
    pub ids: Vec<u64>,
    /// Files a watched folder's ignore patterns leave out: never sent.
    pub ignored: u64,
}

/// A receipt written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptSaved {
    pub path: String,
    /// The receipt's own SHA-256, as it carries it.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    /// Named as an upload: "Send again" goes through the session's upload queue.
    Upload,
    /// A watched folder (its saved path): "Send again" goes through the folder's queue.
    Folder(PathBuf),
}

#[derive(Clone)]
struct Kept {
    id: u64,
    subject: Subject,
    dest: Destination,
    verification: Arc<Verification>,
}

/// The verifications the window may still ask about, newest last.
#[derive(Default)]
pub(super) struct Verifications {
    last_id: AtomicU64,
    kept: Mutex<VecDeque<Kept>>,
}

impl Verifications {
    fn keep(&self, subject: Subject, dest: Destination, verification: Verification) -> VerifyView {
        let id = self.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        let view = view_of(id, &subject, &verification);
        let mut kept = self.kept.lock().expect("verifications");
        kept.push_back(Kept { id, subject, dest, verification: Arc::new(verification) });
        while kept.len() > KEPT {
            kept.pop_front();
        }
        view
    }

    fn get(&self, id: u64) -> Result<Kept> {
        let kept = self.kept.lock().expect("verifications");
        kept.iter().find(|k| k.id == id).cloned().ok_or_else(|| {
            Error::VerificationGone(format!("verification {id} is no longer kept (newer ones replaced it)"))
        })
    }

    fn forget(&self, id: u64) {
        self.kept.lock().expect("verifications").retain(|k| k.id != id);
    }
}

fn view_of(id: u64, subject: &Subject, v: &Verification) -> VerifyView {
    let mut groups: Vec<VerdictGroup> = Vec::new();
    for (i, row) in v.rows.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if g.verdict == row.verdict => g.count += 1,
            _ => groups.push(VerdictGroup { verdict: row.verdict, start: i as u64, count: 1 }),
        }
    }
    VerifyView {
        id,
        service: v.service,
        destination: v.destination.clone(),
        folder: match subject {
            Subject::Folder(root) => Some(root.display().to_string()),
            Subject::Upload => None,
        },
        algorithm: v.algorithm,
        checked_at: v.checked_at,
        counts: v.counts.clone(),
        in_step: v.counts.in_step(),
        groups,
        to_send: v.rows.iter().filter(|r| to_send(r)).count() as u64,
    }
}

/// A file "Send again" sends: it differs from its Doc or has none, and it is here to send.
fn to_send(row: &Row) -> bool {
    matches!(row.verdict, Verdict::Differs | Verdict::NotOnServer) && row.local_path.is_some() && !row.name.is_empty()
}

impl App {
    /// Verify the watched folder `root` (one of the open account's) against its destination:
    /// through the folders' own queue and journal, each file named as the folder names it
    /// (its journal's name, else its template), and kept as the folder's last verification.
    /// `progress` hears how far the reading is, every 100 ms.
    pub async fn verify_folder(&self, root: &Path, progress: ProgressFn) -> std::result::Result<VerifyView, ErrorInfo> {
        let watched = self.folders().await?;
        let folder = watched.folder(root)?;
        let queue = watched.queue().clone();
        let dest = Destination::parse_for(queue.service(), &folder.destination)?;
        let naming = Naming::Folder {
            root: folder.path.clone(),
            template: folder.template.clone(),
            ignore: folder.ignore.clone(),
        };
        let request = Request { naming, trust_cache: false };
        let verification = verify::verify(&queue, &dest, &request, progress).await?;
        Ok(self.verifications.keep(Subject::Folder(folder.path), dest, verification))
    }

    /// Verify files and folders the user chose against `destination`, each file named as an
    /// upload of them would name it (the uploads' journal's name for a file it sent there).
    pub async fn verify_against(
        &self,
        destination: &str,
        paths: Vec<PathBuf>,
        progress: ProgressFn,
    ) -> Result<VerifyView> {
        let queue = self.queue().await?;
        let dest = Destination::parse_for(queue.service(), destination.trim())?;
        let request = Request { naming: Naming::Upload { paths, template: None }, trust_cache: false };
        let verification = verify::verify(&queue, &dest, &request, progress).await?;
        Ok(self.verifications.keep(Subject::Upload, dest, verification))
    }

    /// Rows `start..end` of verification `id`, in its order (at most [`ROWS_MOST`]).
    pub fn verification_rows(&self, id: u64, start: usize, end: usize) -> Result<Vec<Row>> {
        if end.saturating_sub(start) > ROWS_MOST {
            let message = format!("{} rows asked for at once; at most {ROWS_MOST}", end - start);
            return Err(Error::invalid(Invalid::Option, message));
        }
        let kept = self.verifications.get(id)?;
        let rows = &kept.verification.rows;
        let (start, end) = (start.min(rows.len()), end.min(rows.len()));
        Ok(rows[start..end.max(start)].to_vec())
    }

    /// The window is done with verification `id`.
    pub fn forget_verification(&self, id: u64) {
        self.verifications.forget(id);
    }

    /// Send again what verification `id` found different or missing, under the names its
    /// rows carry, the way those files were (or would be) sent: a watched folder's through its
    /// own queue (its conflict policy, its journal's word on which Docs its files made, its
    /// ignore patterns), anything else as an upload through the session's queue, its jobs
    /// heard on `events`. Whether a Doc is replaced is decided there, as for any upload: this
    /// never deletes or replaces one itself.
    pub async fn send_again(&self, id: u64, events: EventSink) -> std::result::Result<SentAgain, ErrorInfo> {
        let kept = self.verifications.get(id)?;
        let items: Vec<Planned> = kept
            .verification
            .rows
            .iter()
            .filter(|row| to_send(row))
            .filter_map(|row| Some(Planned { path: row.local_path.clone()?, name: row.name.clone() }))
            .collect();
        if items.is_empty() {
            return Err(Error::NothingToUpload("nothing differs or is missing: there is nothing to send".into()).into());
        }
        let same_server = |base_url: &str| match base_url == kept.verification.base_url {
            true => Ok(()),
            false => Err(Error::VerificationGone(format!(
                "it was made on {}, and {base_url} is open now",
                kept.verification.base_url
            ))),
        };
        match &kept.subject {
            Subject::Upload => {
                same_server(self.queue().await?.service().base_url())?;
                let ids = self.upload(kept.dest.as_str(), &items, &Batch::default(), events).await?;
                Ok(SentAgain { ids, ignored: 0 })
            }
            Subject::Folder(root) => {
                let watched = self.folders().await?;
                same_server(watched.queue().service().base_url())?;
                let (ids, ignored) = watched.send_again(root, &items).await?;
                Ok(SentAgain { ids, ignored: ignored as u64 })
            }
        }
    }

    /// Write the receipt of verification `id` to `path` (`.csv`: CSV, else JSON).
    pub fn export_receipt(&self, id: u64, path: &Path) -> Result<ReceiptSaved> {
        let kept = self.verifications.get(id)?;
        let receipt = Receipt::of(&kept.verification);
        receipt.write(path)?;
        Ok(ReceiptSaved { path: path.display().to_string(), sha256: receipt.sha256 })
    }
}

#[cfg(test)]
mod tests;
