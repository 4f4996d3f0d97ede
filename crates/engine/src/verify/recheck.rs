//! A receipt checked again: what changed since it was written, on the server, in the local
//! folder, or both.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::local::{self, Found};
use super::receipt::Receipt;
use crate::destination::{Destination, ServiceKind};
use crate::error::{Error, Invalid, Result};
use crate::queue::Queue;
use crate::service::holdings::{Algorithm, Held};

/// What to check a receipt against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Against {
    Server,
    Local,
    #[default]
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The local file's bytes are not the ones the receipt holds.
    ChangedLocally,
    /// The local file is gone (or cannot be read).
    GoneLocally,
    /// The server holds other bytes (another digest or size) under the name.
    ChangedOnServer,
    /// The Doc is gone from the server.
    GoneFromServer,
    /// The Doc's status is not the one the receipt holds.
    StatusChanged,
    /// A Doc the receipt did not have: added since.
    NewOnServer,
}

impl ChangeKind {
    pub fn said(self) -> &'static str {
        match self {
            ChangeKind::ChangedLocally => "changed locally",
            ChangeKind::GoneLocally => "gone locally",
            ChangeKind::ChangedOnServer => "changed on the server",
            ChangeKind::GoneFromServer => "gone from the server",
            ChangeKind::StatusChanged => "status changed",
            ChangeKind::NewOnServer => "new on the server",
        }
    }
}

/// One change since the receipt.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub kind: ChangeKind,
    pub name: String,
    pub path: Option<String>,
    /// What the receipt says, and what was found now (digest, size or status).
    pub was: Option<String>,
    pub now: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Recheck {
    pub receipt_sha256: String,
    pub receipt_checked_at: String,
    pub checked_at: String,
    /// Entries found as the receipt says.
    pub unchanged: u64,
    pub changes: Vec<Change>,
}

/// Check `receipt` again against the server and/or the local files. The queue must be of the
/// receipt's service and base URL.
pub async fn recheck(queue: &Queue, receipt: &Receipt, against: Against) -> Result<Recheck> {
    let service = queue.service();
    if ServiceKind::parse(&receipt.service)? != service.kind() || receipt.base_url != service.base_url() {
        return Err(Error::invalid(
            Invalid::Option,
            format!(
                "the receipt is of {} at {}; this account is {} at {}",
                receipt.service,
                receipt.base_url,
                service.kind().as_str(),
                service.base_url()
            ),
        ));
    }
    let dest = Destination::parse_for(service, &receipt.destination)?;
    let mut changes = Vec::new();
    let mut changed = std::collections::HashSet::new();

    if against != Against::Local {
        let held = super::holdings(queue)?.held(&dest).await?;
        let now: BTreeMap<&str, &Held> = held.iter().map(|h| (h.name.as_str(), h)).collect();
        for (i, e) in receipt.entries.iter().enumerate() {
            let change = |kind, was: Option<String>, now: Option<String>| Change {
                kind,
                name: e.name.clone(),
                path: e.path.clone(),
                was,
                now,
            };
            match (&e.status, now.get(e.name.as_str())) {
                (None, None) => continue,
                (None, Some(h)) => {
                    changes.push(change(ChangeKind::NewOnServer, None, h.digest.as_ref().map(|d| d.hex().to_owned())))
                }
                (Some(_), None) => changes.push(change(ChangeKind::GoneFromServer, e.server_digest.clone(), None)),
                (Some(status), Some(h)) => {
                    let digest = h.digest.as_ref().map(|d| d.hex().to_owned());
                    if digest != e.server_digest || h.size != e.server_size {
                        changes.push(change(ChangeKind::ChangedOnServer, e.server_digest.clone(), digest));
                    } else if h.status.as_str() != status {
                        changes.push(change(
                            ChangeKind::StatusChanged,
                            Some(status.clone()),
                            Some(h.status.as_str().to_owned()),
                        ));
                    } else {
                        continue;
                    }
                }
            }
            changed.insert(i);
        }
        let known: std::collections::HashSet<&str> = receipt.entries.iter().map(|e| e.name.as_str()).collect();
        for h in held.iter().filter(|h| !known.contains(h.name.as_str())) {
            changes.push(Change {
                kind: ChangeKind::NewOnServer,
                name: h.name.clone(),
                path: None,
                was: None,
                now: h.digest.as_ref().map(|d| d.hex().to_owned()),
            });
        }
    }

    if against != Against::Server {
        // Every file the receipt read, read again (never the journal's word: this is the proof).
        let read: Vec<(usize, Found)> = receipt
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i, e.path.as_ref()?, e.sha256.as_ref()?)))
            .map(|(i, path, _)| (i, Found::at(PathBuf::from(path))))
            .collect();
        let readable: Vec<&Found> = read.iter().map(|(_, f)| f).filter(|f| f.problem.is_none()).collect();
        let digests = local::digest_all(&readable, Algorithm::Sha256, &HashMap::new(), Arc::default()).await;
        let mut digests = readable.iter().map(|f| f.path.clone()).zip(digests).collect::<HashMap<_, _>>();
        for (i, found) in &read {
            let e = &receipt.entries[*i];
            let (kind, now) = match digests.remove(&found.path) {
                Some(Ok(d)) if Some(&d.sha256) == e.sha256.as_ref() => continue,
                Some(Ok(d)) => (ChangeKind::ChangedLocally, Some(d.sha256)),
                Some(Err(_)) | None => (ChangeKind::GoneLocally, None),
            };
            changes.push(Change { kind, name: e.name.clone(), path: e.path.clone(), was: e.sha256.clone(), now });
            changed.insert(*i);
        }
    }

    Ok(Recheck {
        receipt_sha256: receipt.sha256.clone(),
        receipt_checked_at: receipt.checked_at.clone(),
        checked_at: super::receipt::rfc3339(crate::service::upload_api::epoch_now()),
        unchanged: (receipt.entries.len() - changed.len()) as u64,
        changes,
    })
}
