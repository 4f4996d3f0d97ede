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
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::profile::{self, SettingsFile};
use twindrop_engine::queue::{EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::{account, Queue, Result, Secret, TrustedTwin};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub kind: &'static str,
    pub base_url: String,
    pub account: String,
    /// `None` for the sandbox.
    pub profile: Option<String>,
}

/// Which window channel hears about which job. Each drop brings its own channel for its jobs;
/// the window's own channel (`queue_watch`) hears the queue's `stats` and every job that has no
/// channel of its own (a failed job put back in the queue, a Doc sent again).
#[derive(Clone, Default)]
pub struct Routes {
    jobs: Arc<std::sync::Mutex<HashMap<u64, Channel<QueueEvent>>>>,
    window: Arc<std::sync::Mutex<Option<Channel<QueueEvent>>>>,
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
}

impl Drop for Session {
    fn drop(&mut self) {
        // Jobs caught mid-flight stay in the journal and carry on when this server is opened again.
        self.runner.abort();
    }
}

/// One journal per process, shared by every session (the journal keeps each server's jobs apart).
fn journal() -> Result<Arc<Journal>> {
    static JOURNAL: std::sync::Mutex<Option<Arc<Journal>>> = std::sync::Mutex::new(None);
    let mut slot = JOURNAL.lock().expect("journal slot");
    if let Some(j) = slot.as_ref() {
        return Ok(j.clone());
    }
    let j = Arc::new(Journal::open(&Journal::default_path()?)?);
    *slot = Some(j.clone());
    Ok(j)
}

impl Session {
    async fn open(tt: TrustedTwin, kind: &'static str, profile: Option<String>) -> Result<Session> {
        let account = tt.whoami().await?;
        let info = SessionInfo { kind, base_url: tt.base_url().to_owned(), account, profile };
        let queue = Queue::new(Arc::new(tt), journal()?, Options::default());
        let routes = Routes::default();
        let sink = route_events(routes.clone());
        let runner = {
            let queue = queue.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = queue.run(sink, RunMode::Forever).await {
                    tracing::error!(code = e.code(), "the upload queue stopped: {e}");
                }
            })
        };
        Ok(Session { info, queue, routes, paused: AtomicBool::new(false), runner })
    }
}

/// Deliver each job's events to the channel of the drop that queued it, and the rest (the
/// queue's `stats`, jobs without a drop of their own) to the window's channel.
pub fn route_events(routes: Routes) -> EventSink {
    Arc::new(move |event: QueueEvent| {
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
            Some(name) => match account::connect(&settings()?, Some(&name), None, None).await {
                Ok(tt) => self.session = Some(Session::open(tt, "trusted_twin", Some(name)).await?),
                // The login screen shows why (e.g. keyring.unavailable), once; the user picks again.
                Err(e) => {
                    tracing::warn!(code = e.code(), "could not reopen profile {name}: {e}");
                    return Err(e);
                }
            },
            None => self.open_sandbox().await?,
        }
        Ok(())
    }

    pub async fn open_sandbox(&mut self) -> Result<()> {
        if self.sandbox.is_none() {
            let state_dir = profile::data_dir()?.join("sandbox");
            // A fresh random secret each run: it never needs storing, and nothing else can use it.
            let secret = Secret::new(format!("sandbox-{}", uuid::Uuid::new_v4()));
            let mut config = Config::new(secret.expose());
            config.state_dir = Some(state_dir);
            // A test seam: with this set, tests reach the sandbox's fault injection
            // (`/_emulator/faults`); otherwise its control token is random and never shown.
            if let Ok(token) = std::env::var("TWINDROP_SANDBOX_CONTROL_TOKEN") {
                config.control_token = Some(token);
            }
            let emulator = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                .await
                .map_err(|e| twindrop_engine::Error::Input(format!("cannot start the local sandbox: {e}")))?;
            tracing::info!(url = emulator.base_url(), "local sandbox running");
            self.sandbox = Some(Sandbox { emulator, secret });
        }
        let sandbox = self.sandbox.as_ref().expect("just started");
        let tt = TrustedTwin::new(sandbox.emulator.base_url(), sandbox.secret.clone())?;
        self.session = Some(Session::open(tt, "sandbox", None).await?);
        settings()?.update(|s| {
            s.active = None;
            Ok(())
        })
    }

    pub async fn open_trusted_twin(&mut self, base_url: &str, secret: Secret) -> Result<()> {
        let name = account::profile_name_for(base_url)?;
        account::login(&settings()?, &name, base_url, secret.clone(), true).await?;
        let tt = TrustedTwin::new(base_url, secret)?;
        self.session = Some(Session::open(tt, "trusted_twin", Some(name)).await?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let account = session.info.account.clone();
        first.sandbox.take().unwrap().emulator.shutdown().await;

        let mut second = Inner::default();
        second.start_up().await.unwrap();
        let session = second.session.as_ref().unwrap();
        assert_eq!(session.info.account, account);
        session.queue.service().trusted_twin().unwrap().get_twin(&twin).await.unwrap();
        // A second start-up call is a no-op, not a second sandbox.
        let url = session.info.base_url.clone();
        second.start_up().await.unwrap();
        assert_eq!(second.session.as_ref().unwrap().info.base_url, url);
    }
}
