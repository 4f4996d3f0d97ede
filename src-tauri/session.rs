//! The app's one piece of state: the open session. The sandbox is the emulator running inside
//! this process with its data in the app's data folder, so Twins and Docs survive restarts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::Serialize;
use tauri::ipc::Channel;
use tokio::sync::Mutex;
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::activity::{Kind, NewEntry};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::prefs::Prefs;
use twindrop_engine::profile::{self, SettingsFile};
use twindrop_engine::queue::{EventSink, QueueEvent};
use twindrop_engine::service::{Destination, Service, ServiceKind};
use twindrop_engine::{account, Queue, Result, Secret, TrustedTwin};

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// `sandbox`, or the service: `trusted_twin`, `redivis`, `inspect`, `hbr`.
    #[specta(type = SessionKind)]
    pub kind: &'static str,
    pub base_url: String,
    /// Who we are, as the service's check said (`Service::verify`).
    pub account: String,
    /// `None` for the sandbox.
    pub profile: Option<String>,
    /// Where files go when the service has one fixed destination per login (a Redivis table,
    /// an Inspect asset, HBR's temporary files); Trusted Twin picks a Twin per drop.
    pub destination: Option<String>,
}

/// What `SessionInfo::kind` holds, for the TypeScript bindings only (the field stays a string).
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

/// Which window channel hears about which job. Each drop brings its own channel for its jobs;
/// the window's own channel (`queue_watch`) hears the queue's `stats` and every job that has no
/// channel of its own (a failed job put back in the queue, a Doc sent again).
#[derive(Clone, Default)]
pub struct Routes {
    jobs: Arc<std::sync::Mutex<HashMap<u64, Channel<QueueEvent>>>>,
    window: Arc<std::sync::Mutex<Option<Channel<QueueEvent>>>>,
    /// Turns the queue's events into the activity log's batches (none in tests).
    batches: Option<Arc<twindrop_engine::activity::Batches>>,
}

impl Routes {
    /// This job's events go to `channel` until its final one.
    pub fn route(&self, id: u64, channel: Channel<QueueEvent>) {
        self.jobs.lock().expect("routes").insert(id, channel);
    }

    /// The window's channel, replacing any earlier one (a reloaded window).
    pub fn watch(&self, channel: Channel<QueueEvent>) {
        *self.window.lock().expect("routes") = Some(channel);
    }

    fn window(&self) -> Option<Channel<QueueEvent>> {
        self.window.lock().expect("routes").clone()
    }
}

pub struct Session {
    pub info: SessionInfo,
    pub queue: Arc<Queue>,
    pub routes: Routes,
    /// Set by "Pause all", cleared by "Resume all" (the queue itself does not say).
    pub paused: AtomicBool,
    runner: tauri::async_runtime::JoinHandle<()>,
    /// This account's watched folders, running (or why they could not start).
    pub watched: std::result::Result<Arc<twindrop_engine::watched::Watched>, twindrop_engine::ErrorInfo>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Jobs caught mid-flight stay in the journal and carry on when this server is opened again.
        self.runner.abort();
        signed(&self.info, false);
    }
}

/// One journal per process, shared by every session (the journal keeps each server's jobs apart).
fn journal() -> Result<Arc<Journal>> {
    static JOURNAL: std::sync::Mutex<Option<Arc<Journal>>> = std::sync::Mutex::new(None);
    let mut slot = JOURNAL.lock().expect("journal slot");
    if let Some(j) = slot.as_ref() {
        return Ok(j.clone());
    }
    let j = Arc::new(Journal::open(&profile::journal_path()?)?);
    *slot = Some(j.clone());
    Ok(j)
}

fn kind_name(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::TrustedTwin => "trusted_twin",
        ServiceKind::Redivis => "redivis",
        ServiceKind::Inspect => "inspect",
        ServiceKind::Hbr => "hbr",
    }
}

impl Session {
    /// Check the secret with the service (see `Service::verify`), then start its queue.
    async fn open(
        service: Service,
        sandbox: bool,
        profile: Option<String>,
        destination: Option<Destination>,
    ) -> Result<Session> {
        let account = service.verify(destination.as_ref()).await?;
        let kind = if sandbox { "sandbox" } else { kind_name(service.kind()) };
        let destination = match (&service, destination) {
            (Service::TrustedTwin(_), _) => None,
            (Service::Hbr(_), _) => Some(Destination::TempFiles.to_string()),
            (_, d) => d.map(|d| d.to_string()),
        };
        let info = SessionInfo { kind, base_url: service.base_url().to_owned(), account, profile, destination };
        let queue = Queue::new(service, journal()?, queue_options());
        let routes = Routes { batches: crate::activity::batches(), ..Routes::default() };
        let sink = route_events(routes.clone());
        let runner = {
            let queue = queue.clone();
            // A queue that stops is started again (queued files never just sit there), and
            // each stop is in the Activity log with its code.
            tauri::async_runtime::spawn(async move {
                queue
                    .run_supervised(sink, |e, wait| {
                        tracing::error!(code = e.code(), "the upload queue stopped: {e}; starting again in {wait:?}");
                        let message = format!("The upload queue stopped and starts again in {} s: {e}", wait.as_secs());
                        let entry = NewEntry::new(Kind::ItemFailed, message);
                        crate::activity::note(NewEntry { code: Some(e.code().into()), ..entry });
                    })
                    .await
            })
        };
        crate::desktop::set_paused(false);
        let watched = start_watched(&queue, info.profile.clone());
        signed(&info, true);
        Ok(Session { info, queue, routes, paused: AtomicBool::new(false), runner, watched })
    }
}

/// Deliver each job's events to the channel of the drop that queued it, and the rest (the
/// queue's `stats`, jobs without a drop of their own) to the window's channel.
pub fn route_events(routes: Routes) -> EventSink {
    Arc::new(move |event: QueueEvent| {
        crate::desktop::observe(&event);
        if let Some(batches) = &routes.batches {
            batches.see(&twindrop_engine::activity::Source::Uploads, &event);
        }
        let channel = match event.job_id() {
            None => routes.window(),
            Some(id) => {
                // A job's final event is its last: its route goes, and when a drop's last job is
                // done its channel is released (the window's catch-up covers anything said
                // afterwards, and a job that moves again is heard on the window's channel).
                let last = matches!(
                    event,
                    QueueEvent::Finished { .. } | QueueEvent::Failed { .. } | QueueEvent::Skipped { .. }
                ) || matches!(event, QueueEvent::State { state: JobState::Cancelled, .. });
                let own = {
                    let mut jobs = routes.jobs.lock().expect("routes");
                    if last {
                        jobs.remove(&id)
                    } else {
                        jobs.get(&id).cloned()
                    }
                };
                own.or_else(|| routes.window())
            }
        };
        if let Some(channel) = channel {
            if let Err(e) = channel.send(event) {
                tracing::warn!("queue event not delivered to the window: {e}");
            }
        }
    })
}

struct Sandbox {
    emulator: Emulator,
    secret: Secret,
}

#[derive(Default)]
pub struct Inner {
    pub session: Option<Session>,
    sandbox: Option<Sandbox>,
    tried_start_up: bool,
}

#[derive(Default)]
pub struct AppState {
    pub inner: Mutex<Inner>,
    /// The paths the user chose (see `chosen`); the only ones commands accept.
    pub chosen: Arc<crate::chosen::Chosen>,
}

pub fn settings() -> Result<SettingsFile> {
    SettingsFile::default_location()
}

impl Inner {
    /// On the first call: reopen the last profile, or the sandbox when no account is configured.
    /// A stored profile that fails to open (keyring locked, server down) leaves the login screen.
    pub async fn start_up(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.tried_start_up, true) || self.session.is_some() {
            return Ok(());
        }
        match settings()?.load()?.active {
            // The login screen shows why (e.g. keyring.unavailable), once; the user picks again.
            Some(name) => self.open_profile(&name).await.inspect_err(|e| {
                tracing::warn!(code = e.code(), "could not reopen profile {name}: {e}");
            }),
            None => self.open_sandbox().await,
        }
    }

    /// Open a saved profile with the secret the keyring holds for it. Redivis and Inspect
    /// profiles reopen on their last destination.
    pub async fn open_profile(&mut self, name: &str) -> Result<()> {
        let stored = settings()?.load()?.profile(name)?.clone();
        let service = account::connect_service(&settings()?, Some(name), None, None, None).await?;
        let destination = match stored.recent_twins.first() {
            Some(d) => Some(Destination::parse_for(&service, d)?),
            None => None,
        };
        self.session = Some(Session::open(service, false, Some(name.to_owned()), destination).await?);
        settings()?.update(|s| {
            s.active = Some(name.to_owned());
            Ok(())
        })
    }

    /// Sign in to a service: check the secret first (`Service::verify`), and only then keep it
    /// in the keyring, so a mistyped secret is never stored.
    pub async fn open_service(
        &mut self,
        kind: ServiceKind,
        base_url: &str,
        secret: Secret,
        destination: Option<&str>,
    ) -> Result<()> {
        let base_url = match base_url.trim() {
            "" => kind.default_base_url(),
            url => url,
        };
        let service = kind.connect(base_url, secret.clone())?;
        let destination = destination
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| Destination::parse_for(&service, d))
            .transpose()?;
        let name = match kind {
            ServiceKind::TrustedTwin => account::profile_name_for(base_url)?,
            other => format!("{}-{}", kind_name(other).replace('_', "-"), account::profile_name_for(base_url)?),
        };
        let session = Session::open(service, false, Some(name.clone()), destination.clone()).await?;
        account::login_service(&settings()?, &name, kind, base_url, secret, false).await?;
        if let Some(d) = &destination {
            settings()?.update(|s| s.remember_twin(Some(&name), d.as_str()))?;
        }
        self.session = Some(session);
        Ok(())
    }

    pub async fn open_sandbox(&mut self) -> Result<()> {
        if self.sandbox.is_none() {
            let state_dir = profile::data_dir()?.join("sandbox");
            // A fresh random secret each run: it never needs storing, and nothing else can use it.
            let secret = Secret::new(format!("sandbox-{}", uuid::Uuid::new_v4()));
            let mut config = Config::new(secret.expose());
            config.state_dir = Some(state_dir.clone());
            // A test seam: with this set, tests reach the sandbox's fault injection
            // (`/_emulator/faults`); otherwise its control token is random and never shown.
            if let Ok(token) = std::env::var("TWINDROP_SANDBOX_CONTROL_TOKEN") {
                config.control_token = Some(token);
            }
            // The same port as last time when it is free: the journal knows jobs by server URL,
            // so a sandbox on a new port would look like a new server and re-send every file
            // its watched folders had already sent.
            let port_file = state_dir.join("port");
            let last: u16 = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse().ok()).unwrap_or(0);
            let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
            let emulator = match Emulator::start(at(last), config.clone()).await {
                Ok(e) => Ok(e),
                Err(e) if last != 0 => {
                    tracing::info!("sandbox port {last} is taken ({e}); using another");
                    Emulator::start(at(0), config).await
                }
                Err(e) => Err(e),
            }
            .map_err(|e| twindrop_engine::Error::Input(format!("cannot start the local sandbox: {e}")))?;
            if let Some(port) = emulator.base_url().rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()) {
                if let Err(e) = twindrop_engine::private::write_atomic_private(&port_file, port.to_string().as_bytes())
                {
                    tracing::warn!("cannot keep the sandbox port: {e}");
                }
            }
            tracing::info!(url = emulator.base_url(), "local sandbox running");
            self.sandbox = Some(Sandbox { emulator, secret });
        }
        let sandbox = self.sandbox.as_ref().expect("just started");
        let tt = TrustedTwin::new(sandbox.emulator.base_url(), sandbox.secret.clone())?;
        self.session = Some(Session::open(Service::TrustedTwin(Arc::new(tt)), true, None, None).await?);
        settings()?.update(|s| {
            s.active = None;
            Ok(())
        })
    }
}

/// A session opened (`true`) or closed.
fn signed(info: &SessionInfo, opened: bool) {
    let whom = match info.kind {
        "sandbox" => "the local sandbox".to_owned(),
        kind => format!("{} ({kind})", info.base_url),
    };
    let (kind, message) = match opened {
        true => (Kind::SignedIn, format!("Signed in to {whom} as {}", info.account)),
        false => (Kind::SignedOut, format!("Signed out of {whom}")),
    };
    crate::activity::note(NewEntry::new(kind, message).source(info.base_url.clone()));
}

/// The upload queue's options from the saved preferences (the defaults if they cannot be used).
fn queue_options() -> twindrop_engine::queue::Options {
    let saved = settings().and_then(|s| s.load()).map(|s| s.prefs).unwrap_or_default();
    saved.queue_options().unwrap_or_else(|e| {
        tracing::warn!(code = e.code(), "saved preferences not used: {e}");
        Prefs::default().queue_options().expect("default prefs are valid")
    })
}

/// The watched folders of a session just opened, started. A failure to start them leaves the
/// session usable; the Watched screen shows the error.
fn start_watched(
    uploads: &Queue,
    profile: Option<String>,
) -> std::result::Result<Arc<twindrop_engine::watched::Watched>, twindrop_engine::ErrorInfo> {
    let log = crate::activity::log()?;
    twindrop_engine::watched::Watched::open(uploads, profile, log).map(Arc::new).map_err(|e| {
        tracing::error!(code = e.code(), "watched folders not started: {e}");
        e.info()
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

    /// A channel that keeps what it is sent (the `type` and `id` of each event).
    fn recorder() -> (Channel<QueueEvent>, Arc<std::sync::Mutex<Vec<String>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = seen.clone();
        let channel = Channel::new(move |body| {
            let tauri::ipc::InvokeResponseBody::Json(json) = body else { panic!("not JSON") };
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            keep.lock().unwrap().push(format!("{} {}", v["type"].as_str().unwrap(), v["id"]));
            Ok(())
        });
        (channel, seen)
    }

    /// A drop's jobs go to the drop's channel until their final event; the queue's stats, and a
    /// job after its final event (put back in the queue), go to the window's channel.
    #[test]
    fn events_go_to_their_drop_and_the_rest_to_the_window() {
        let routes = Routes::default();
        let sink = route_events(routes.clone());
        let stats =
            || QueueEvent::Stats { bytes_per_sec: 1.0, eta_secs: None, bytes_done: 0, bytes_total: 0, active: 1 };
        sink(stats()); // nobody listens yet: dropped quietly
        let (window, window_seen) = recorder();
        let (drop, drop_seen) = recorder();
        routes.watch(window);
        routes.route(7, drop);
        sink(QueueEvent::State { id: 7, state: JobState::Paused });
        sink(stats());
        sink(QueueEvent::Failed {
            id: 7,
            error: twindrop_engine::ErrorInfo { code: "x.y".into(), message: "m".into(), retryable: false },
        });
        sink(QueueEvent::State { id: 7, state: JobState::Queued });
        sink(QueueEvent::State { id: 8, state: JobState::Queued });
        assert_eq!(*drop_seen.lock().unwrap(), ["state 7", "failed 7"]);
        assert_eq!(*window_seen.lock().unwrap(), ["stats null", "state 7", "state 8"]);
    }

    /// The start-up rule, without a window: no account configured → the sandbox opens, and its
    /// Twins outlive the process because the emulator keeps its state in the data dir.
    #[tokio::test]
    async fn no_account_opens_the_sandbox_and_its_twins_persist() {
        let home = tempfile::tempdir().unwrap();
        // This is the only test in the crate that touches the environment.
        std::env::set_var("TWINDROP_CONFIG_DIR", home.path().join("config"));
        std::env::set_var("TWINDROP_DATA_DIR", home.path().join("data"));

        // A remembered account that cannot be reopened (here: no secret in any keyring) is
        // reported once, for the login screen, and then leaves the choice to the user.
        let file = settings().unwrap();
        file.update(|s| {
            let ghost = profile::Profile { base_url: "http://127.0.0.1:9".into(), ..Default::default() };
            s.profiles.insert("ghost".into(), ghost);
            s.active = Some("ghost".into());
            Ok(())
        })
        .unwrap();
        let mut ghost = Inner::default();
        let err = ghost.start_up().await.unwrap_err();
        assert!(err.code().starts_with("keyring."), "{}: {err}", err.code());
        ghost.start_up().await.unwrap();
        assert!(ghost.session.is_none());
        file.update(|s| {
            s.active = None;
            Ok(())
        })
        .unwrap();

        let mut first = Inner::default();
        first.start_up().await.unwrap();
        let session = first.session.as_ref().expect("a session at start-up");
        assert_eq!((session.info.kind, session.info.profile.as_deref()), ("sandbox", None));
        let twin = session.queue.service().trusted_twin().unwrap().create_twin().await.unwrap();
        let (account, first_url) = (session.info.account.clone(), session.info.base_url.clone());
        first.sandbox.take().unwrap().emulator.shutdown().await;

        let mut second = Inner::default();
        second.start_up().await.unwrap();
        let session = second.session.as_ref().unwrap();
        assert_eq!(session.info.account, account);
        assert_eq!(session.info.base_url, first_url, "the sandbox comes back on its port, so the journal knows it");
        session.queue.service().trusted_twin().unwrap().get_twin(&twin).await.unwrap();
        // A second start-up call is a no-op, not a second sandbox.
        let url = session.info.base_url.clone();
        second.start_up().await.unwrap();
        assert_eq!(second.session.as_ref().unwrap().info.base_url, url);
    }
}
