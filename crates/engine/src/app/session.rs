//! One open session: a service checked with its secret, its upload queue running (restarted if
//! it stops), and the account's watched folders.

use std::sync::Arc;

use serde::Serialize;

use crate::activity::{ActivityLog, Kind, NewEntry};
use crate::error::{ErrorInfo, Result};
use crate::folders::Watched;
use crate::journal::Journal;
use crate::profile::SettingsFile;
use crate::queue::{EventSink, Options, Queue};
use crate::service::{Destination, Service, ServiceKind, Verified};

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// `sandbox`, or the service: `trusted_twin`, `redivis`, `inspect`, `hbr`.
    #[specta(type = SessionKind)]
    pub kind: &'static str,
    pub base_url: String,
    /// Who we are, as the service's check said (`Service::verify`).
    pub account: String,
    /// Set when the check could not prove the secret (Inspect): why, to show beside the account.
    pub unproven: Option<String>,
    /// `None` for the sandbox.
    pub profile: Option<String>,
    /// Where files go when the service has one fixed destination per login (a Redivis table,
    /// an Inspect asset, HBR's temporary files); Trusted Twin picks a Twin per drop.
    pub destination: Option<String>,
}

/// What `SessionInfo::kind` holds, for the app's TypeScript bindings only (the field stays a
/// string).
#[derive(serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SessionKind {
    Sandbox,
    TrustedTwin,
    Redivis,
    Inspect,
    Hbr,
}

pub(super) fn kind_name(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::TrustedTwin => "trusted_twin",
        ServiceKind::Redivis => "redivis",
        ServiceKind::Inspect => "inspect",
        ServiceKind::Hbr => "hbr",
    }
}

/// What a session is opened with, beside its service.
pub(super) struct Opening<'a> {
    pub sandbox: bool,
    pub profile: Option<String>,
    pub destination: Option<Destination>,
    pub settings: &'a SettingsFile,
    pub journal: Arc<Journal>,
    pub folders_journal: Result<Arc<Journal>>,
    pub log: Option<Arc<ActivityLog>>,
    /// Where the upload queue's events go (routing, the tray, the activity log's batches).
    pub sink: EventSink,
}

pub(super) struct Session {
    pub info: SessionInfo,
    pub queue: Arc<Queue>,
    /// This account's watched folders, running (or why they could not start).
    pub watched: std::result::Result<Arc<Watched>, ErrorInfo>,
    /// Where the queue's events go; controls (pause, retry…) say theirs through it too.
    pub sink: EventSink,
    runner: tokio::task::JoinHandle<()>,
    log: Option<Arc<ActivityLog>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Jobs caught mid-flight stay in the journal and carry on when this server is opened again.
        self.runner.abort();
        signed(self.log.as_deref(), &self.info, false);
    }
}

impl Session {
    /// Start the queue and the watched folders of a service already checked (`account` is
    /// what its `Service::verify` said). Call inside a Tokio runtime.
    pub fn open(service: Service, verified: Verified, with: Opening<'_>) -> Result<Session> {
        let kind = if with.sandbox { "sandbox" } else { kind_name(service.kind()) };
        let destination = match (&service, with.destination) {
            (Service::TrustedTwin(_), _) => None,
            (Service::Hbr(_), _) => Some(Destination::TempFiles.to_string()),
            (_, d) => d.map(|d| d.to_string()),
        };
        let base_url = service.base_url().to_owned();
        let Verified { account, unproven } = verified;
        let info = SessionInfo { kind, base_url, account, unproven, profile: with.profile, destination };
        let queue = Queue::new(service, with.journal, queue_options(with.settings));
        let runner = {
            let (queue, log, sink) = (queue.clone(), with.log.clone(), with.sink.clone());
            // A queue that stops is started again (queued files never just sit there), and
            // each stop is in the Activity log with its code.
            tokio::spawn(async move {
                queue
                    .run_supervised(sink, |e, wait| {
                        tracing::error!(code = e.code(), "the upload queue stopped: {e}; starting again in {wait:?}");
                        let message = format!("The upload queue stopped and starts again in {} s: {e}", wait.as_secs());
                        if let Some(log) = &log {
                            log.note(NewEntry {
                                code: Some(e.code().into()),
                                ..NewEntry::new(Kind::ItemFailed, message)
                            });
                        }
                    })
                    .await
            })
        };
        let watched = match (with.folders_journal, &with.log) {
            (Ok(journal), Some(log)) => {
                Watched::open(&queue, (*with.settings).clone(), journal, info.profile.clone(), log.clone())
            }
            (Err(e), _) => Err(e),
            (_, None) => Err(crate::Error::Setup("the activity log is not available".into())),
        }
        .map(Arc::new)
        .map_err(|e| {
            tracing::error!(code = e.code(), "watched folders not started: {e}");
            e.info()
        });
        signed(with.log.as_deref(), &info, true);
        Ok(Session { info, queue, watched, sink: with.sink, runner, log: with.log })
    }
}

/// A session opened (`true`) or closed, in the activity log.
fn signed(log: Option<&ActivityLog>, info: &SessionInfo, opened: bool) {
    let Some(log) = log else { return };
    let whom = match info.kind {
        "sandbox" => "the local sandbox".to_owned(),
        kind => format!("{} ({kind})", info.base_url),
    };
    let (kind, message) = match opened {
        true => (Kind::SignedIn, format!("Signed in to {whom} as {}", info.account)),
        false => (Kind::SignedOut, format!("Signed out of {whom}")),
    };
    log.note(NewEntry::new(kind, message).source(info.base_url.clone()));
}

/// The upload queue's options from the saved preferences (the defaults if they cannot be used).
fn queue_options(settings: &SettingsFile) -> Options {
    let saved = settings.load().map(|s| s.prefs).unwrap_or_default();
    saved.queue_options().unwrap_or_else(|e| {
        tracing::warn!(code = e.code(), "saved preferences not used: {e}");
        crate::prefs::Prefs::default().queue_options().expect("default prefs are valid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_session_kind_is_in_the_bindings_type() {
        let kinds = [ServiceKind::TrustedTwin, ServiceKind::Redivis, ServiceKind::Inspect, ServiceKind::Hbr];
        for kind in kinds.into_iter().map(kind_name).chain(["sandbox"]) {
            assert!(serde_json::from_value::<SessionKind>(kind.into()).is_ok(), "{kind} is not a SessionKind");
        }
    }
}
