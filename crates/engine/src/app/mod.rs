//! The app-level API: what a person does with Twindrop, as one call each. The desktop shell's
//! commands and the CLI's subcommands parse their input, call one of these, and present the
//! result; nothing they do is decided anywhere else.
//!
//! - [`App`]: the open session (one service at a time, or the local sandbox), its upload queue,
//!   its watched folders, the activity log and event routing.
//! - [`session`]: opening a session: the service's check, the queue and its supervisor.
//! - [`routes`]: which listener hears which job's events.
//! - [`sandbox`]: the emulator inside the process.
//! - [`verifying`]: verify a watched folder or a chosen one; send again; receipts.
//! - [`docs`]: one Doc: its bytes downloaded, the local file it came from.
//! - `twins`: create and choose Twins, their names, and the first-run guide's flag.
//! - `gone`: a failed job whose file is gone: Remove, or Locate… its new place.

mod docs;
mod gone;
mod routes;
mod sandbox;
mod session;
mod twins;
mod verifying;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use docs::LocalFile;
pub use routes::Routes;
pub use sandbox::Sandbox;
pub use session::SessionInfo;
use session::{kind_name, Opening, Session};
pub use verifying::{ReceiptSaved, SentAgain, VerdictGroup, VerifyView};

use crate::activity::{ActivityLog, Batches, Entry, Filter, Kind, NewEntry, OnBatchEnd, Source};
use crate::credentials::Secret;
use crate::doctor::{self, SecretFrom};
use crate::error::{Error, Result};
use crate::folders::Watched;
use crate::journal::{Journal, Retention};
use crate::naming::{self, DocName, NamedFile};
use crate::prefs::Prefs;
use crate::profile::{self, SettingsFile};
use crate::queue::{Batch, EventSink, Planned, Queue, QueueEvent};
use crate::service::trusted_twin::{DocEntry, DocRow};

/// The most Docs one `doc_details` call reads: a window's worth of rows, not a whole Twin.
pub const DOC_DETAILS_MOST: usize = 200;
use crate::service::{Destination, Service, ServiceKind};
use crate::{account, TrustedTwin, TwinId};

/// Where the app keeps its files.
#[derive(Debug, Clone)]
pub struct Places {
    pub settings: SettingsFile,
    pub journal: PathBuf,
    pub folders_journal: PathBuf,
    pub activity: PathBuf,
    pub sandbox: PathBuf,
}

impl Places {
    /// The user's config and data folders (or `TWINDROP_CONFIG_DIR` / `TWINDROP_DATA_DIR`).
    pub fn for_user() -> Result<Places> {
        Ok(Places {
            settings: SettingsFile::default_location()?,
            journal: profile::journal_path()?,
            folders_journal: profile::folders_journal_path()?,
            activity: profile::activity_log_path()?,
            sandbox: profile::data_dir()?.join("sandbox"),
        })
    }

    /// Everything in one folder (tests, and `twindrop doctor --sandbox`'s throwaway sandbox).
    pub fn in_dir(dir: &Path) -> Places {
        Places {
            settings: SettingsFile::new(dir.join("settings.json")),
            journal: dir.join("journal.sqlite"),
            folders_journal: dir.join("watched.sqlite"),
            activity: dir.join("activity.sqlite"),
            sandbox: dir.join("sandbox"),
        }
    }
}

/// What the desktop around the app wants to hear (the tray, notifications). All optional: the
/// CLI and tests leave them out.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Sees every upload-queue event before it is routed.
    pub observe: Option<EventSink>,
    /// A batch of dropped files has settled.
    pub batch_ended: Option<OnBatchEnd>,
    /// The queue was paused (`true`) or resumed as a whole.
    pub paused: Option<Arc<dyn Fn(bool) + Send + Sync>>,
}

/// A sign-in form's fields, for "Check connection" before signing in.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionForm {
    pub kind: ServiceKind,
    pub base_url: String,
    pub secret: String,
    pub destination: Option<String>,
}

/// A saved account, for a "switch to" list. Never the secret.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileEntry {
    pub name: String,
    pub service: ServiceKind,
    pub base_url: String,
    pub destination: Option<String>,
    pub active: bool,
}

#[derive(Default)]
struct Opened {
    session: Option<Session>,
    sandbox: Option<Sandbox>,
    tried_start_up: bool,
}

pub struct App {
    places: Places,
    hooks: Hooks,
    routes: Routes,
    opened: tokio::sync::Mutex<Opened>,
    /// Set by "Pause all", cleared by "Resume all" (the queue itself does not say).
    paused: AtomicBool,
    /// The uploads' and the folders' journals, opened on first use, one each per process (a
    /// journal takes a lock).
    journal: Mutex<Option<Arc<Journal>>>,
    folders_journal: Mutex<Option<Arc<Journal>>>,
    log: Mutex<Option<Arc<ActivityLog>>>,
    /// Whether the saved proxy setting is the process's route yet ([`App::apply_proxy`]).
    proxy_applied: AtomicBool,
    /// What was verified lately, for the window to page, send again and export.
    verifications: verifying::Verifications,
}

/// The journal in `slot`, opened on `path` on first use, keeping finished history for
/// `retention`. It is pruned by the queue that runs on it (at its start, then every
/// [`PRUNE_EVERY`](crate::journal::PRUNE_EVERY)), not here: opening a session never waits on it.
fn journal_in(slot: &Mutex<Option<Arc<Journal>>>, path: &Path, retention: Retention) -> Result<Arc<Journal>> {
    let mut slot = slot.lock().expect("journal slot");
    if let Some(j) = slot.as_ref() {
        return Ok(j.clone());
    }
    let j = Arc::new(Journal::open(path)?);
    j.set_retention(retention);
    *slot = Some(j.clone());
    Ok(j)
}

impl App {
    pub fn new(places: Places, hooks: Hooks) -> App {
        App {
            places,
            hooks,
            routes: Routes::default(),
            opened: Default::default(),
            paused: AtomicBool::new(false),
            journal: Mutex::default(),
            folders_journal: Mutex::default(),
            log: Mutex::default(),
            proxy_applied: AtomicBool::new(false),
            verifications: Default::default(),
        }
    }

    /// Make the saved proxy setting the process's route (password from the keyring), for every
    /// client built before or after: they ask the route on each request.
    pub async fn apply_proxy(&self) -> Result<()> {
        crate::proxy::configure(&self.prefs()?.proxy, None).await?;
        self.proxy_applied.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// [`App::apply_proxy`] before the first request of this App, once.
    async fn proxy_ready(&self) -> Result<()> {
        if self.proxy_applied.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.apply_proxy().await
    }

    /// Store the proxy's password in the keyring (`None` or blank: remove it) and use it now.
    /// It is never read back to the window.
    pub async fn set_proxy_password(&self, password: Option<String>) -> Result<()> {
        crate::proxy::save_password(password.as_deref()).await?;
        self.apply_proxy().await
    }

    pub fn settings(&self) -> &SettingsFile {
        &self.places.settings
    }

    /// The activity log, opened on first use.
    pub fn log(&self) -> Result<Arc<ActivityLog>> {
        let mut slot = self.log.lock().expect("activity slot");
        if let Some(log) = slot.as_ref() {
            return Ok(log.clone());
        }
        let log = Arc::new(ActivityLog::open(&self.places.activity)?);
        *slot = Some(log.clone());
        Ok(log)
    }

    /// Write to the activity log; an entry that cannot be written is logged and dropped (the
    /// log never fails what it records).
    pub fn note(&self, entry: NewEntry) {
        match self.log() {
            Ok(log) => log.note(entry),
            Err(e) => tracing::warn!(code = e.code(), "activity log unavailable: {e}"),
        }
    }

    pub fn activity(&self, filter: &Filter) -> Result<Vec<Entry>> {
        self.log()?.list(filter)
    }

    /// A session's upload-queue events all go through here: the desktop's hook, the activity
    /// log's batches (one tracker per session), then the listener of the job.
    fn event_sink(&self) -> EventSink {
        let batches = self
            .log()
            .inspect_err(|e| tracing::warn!(code = e.code(), "activity log unavailable: {e}"))
            .ok()
            .map(|log| Batches::new(log, self.hooks.batch_ended.clone()));
        let (observe, routes) = (self.hooks.observe.clone(), self.routes.clone());
        Arc::new(move |event: QueueEvent| {
            if let Some(observe) = &observe {
                observe(event.clone());
            }
            if let Some(batches) = &batches {
                batches.see(&Source::Uploads, &event);
            }
            routes.deliver(event);
        })
    }

    async fn open_session(
        &self,
        opened: &mut Opened,
        service: Service,
        sandbox: bool,
        profile: Option<String>,
        destination: Option<Destination>,
    ) -> Result<SessionInfo> {
        self.proxy_ready().await?;
        // Checked first: a refused secret leaves the session that was open as it was.
        let verified = service.verify(destination.as_ref()).await?;
        let retention = self.places.settings.retention();
        let journal = journal_in(&self.journal, &self.places.journal, retention)?;
        let folders_journal = journal_in(&self.folders_journal, &self.places.folders_journal, retention);
        let opening = Opening {
            sandbox,
            profile,
            destination,
            settings: &self.places.settings,
            journal,
            folders_journal,
            log: self.log().ok(),
            sink: self.event_sink(),
        };
        // The old session (its queue and folders) stops before the new one starts: two would
        // run the same watched folders on one journal.
        opened.session = None;
        let session = Session::open(service, verified, opening)?;
        self.set_paused_flag(false);
        let info = session.info.clone();
        opened.session = Some(session);
        Ok(info)
    }

    fn set_paused_flag(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        if let Some(hook) = &self.hooks.paused {
            hook(paused);
        }
    }

    /// On the first call: reopen the last profile, or the sandbox when no account is configured.
    /// A stored profile that fails to open (keyring locked, server down) says why once and
    /// leaves the choice to the user.
    pub async fn start_up(&self) -> Result<Option<SessionInfo>> {
        let mut opened = self.opened.lock().await;
        if std::mem::replace(&mut opened.tried_start_up, true) || opened.session.is_some() {
            return Ok(opened.session.as_ref().map(|s| s.info.clone()));
        }
        match self.places.settings.load()?.active {
            Some(name) => self.open_profile_in(&mut opened, &name).await.inspect_err(|e| {
                tracing::warn!(code = e.code(), "could not reopen profile {name}: {e}");
            }),
            None => self.open_sandbox_in(&mut opened).await,
        }
        .map(Some)
    }

    pub async fn session(&self) -> Option<SessionInfo> {
        self.opened.lock().await.session.as_ref().map(|s| s.info.clone())
    }

    /// Open a saved profile with the secret the keyring holds for it. Redivis and Inspect
    /// profiles reopen on their last destination.
    pub async fn open_profile(&self, name: &str) -> Result<SessionInfo> {
        let mut opened = self.opened.lock().await;
        self.open_profile_in(&mut opened, name).await
    }

    async fn open_profile_in(&self, opened: &mut Opened, name: &str) -> Result<SessionInfo> {
        let settings = &self.places.settings;
        let stored = settings.load()?.profile(name)?.clone();
        let service = account::connect_service(settings, Some(name), None, None, None).await?;
        let destination = stored.recent_twins.first().map(|d| Destination::parse_for(&service, d)).transpose()?;
        let info = self.open_session(opened, service, false, Some(name.to_owned()), destination).await?;
        settings.update(|s| {
            s.active = Some(name.to_owned());
            Ok(())
        })?;
        Ok(info)
    }

    /// Sign in to a service: the secret is checked first (`Service::verify`, on the destination
    /// for services whose tokens are scoped to it) and kept in the keyring only once it passes,
    /// so a mistyped secret is never stored. The profile is named after the server.
    pub async fn sign_in(
        &self,
        kind: ServiceKind,
        base_url: &str,
        secret: Secret,
        destination: Option<&str>,
    ) -> Result<SessionInfo> {
        let base_url = match base_url.trim() {
            "" => kind.default_base_url(),
            url => url,
        };
        let name = match kind {
            ServiceKind::TrustedTwin => account::profile_name_for(base_url)?,
            other => format!("{}-{}", kind_name(other).replace('_', "-"), account::profile_name_for(base_url)?),
        };
        let service = kind.connect(base_url, secret.clone())?;
        let destination = destination
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| Destination::parse_for(&service, d))
            .transpose()?;
        let mut opened = self.opened.lock().await;
        let info = self.open_session(&mut opened, service, false, Some(name.clone()), destination.clone()).await?;
        // Checked as the session opened: stored without a second check.
        let destination = destination.as_ref().map(Destination::as_str);
        account::login_service(&self.places.settings, &name, kind, base_url, secret, destination, false).await?;
        Ok(info)
    }

    pub async fn open_sandbox(&self) -> Result<SessionInfo> {
        let mut opened = self.opened.lock().await;
        self.open_sandbox_in(&mut opened).await
    }

    async fn open_sandbox_in(&self, opened: &mut Opened) -> Result<SessionInfo> {
        if opened.sandbox.is_none() {
            opened.sandbox = Some(Sandbox::start(&self.places.sandbox).await?);
        }
        let sandbox = opened.sandbox.as_ref().expect("just started");
        let tt = TrustedTwin::new(sandbox.base_url(), sandbox.secret.clone())?;
        let info = self.open_session(opened, Service::TrustedTwin(Arc::new(tt)), true, None, None).await?;
        self.places.settings.update(|s| {
            s.active = None;
            Ok(())
        })?;
        Ok(info)
    }

    /// The connection check: of a sign-in form not yet submitted (its secret as typed), or of
    /// the open session (the sandbox, or a profile's secret in the keyring).
    pub async fn check_connection(&self, form: Option<ConnectionForm>) -> Result<doctor::Report> {
        let subject = match form {
            Some(f) => doctor::Subject {
                base_url: match f.base_url.trim() {
                    "" => f.kind.default_base_url().to_owned(),
                    url => url.to_owned(),
                },
                kind: f.kind,
                secret: SecretFrom::Given(Secret::from_input(&f.secret)?),
                destination: f.destination.filter(|d| !d.trim().is_empty()),
            },
            None => {
                let opened = self.opened.lock().await;
                let session = opened.session.as_ref().ok_or(Error::NoSession)?;
                let info = &session.info;
                let secret = match (&info.profile, &opened.sandbox) {
                    (Some(profile), _) => SecretFrom::Profile(profile.clone()),
                    (None, Some(sandbox)) => SecretFrom::Given(sandbox.secret.clone()),
                    (None, None) => return Err(Error::NoSession),
                };
                let kind = session.queue.service().kind();
                let destination = info.destination.clone().filter(|_| kind != ServiceKind::Hbr);
                doctor::Subject { kind, base_url: info.base_url.clone(), secret, destination }
            }
        };
        self.proxy_ready().await?;
        Ok(doctor::check(subject).await)
    }

    /// Stop the running sandbox, if any (tests: a second app on the same data folder).
    pub async fn stop_sandbox(&self) {
        let mut opened = self.opened.lock().await;
        if opened.session.as_ref().is_some_and(|s| s.info.kind == "sandbox") {
            opened.session = None;
        }
        if let Some(sandbox) = opened.sandbox.take() {
            sandbox.shutdown().await;
        }
    }

    /// Close the session, keeping the profile and its secret (to switch to another account).
    pub async fn close(&self) {
        self.opened.lock().await.session = None;
    }

    /// Close the session and sign out: a profile's secret leaves the keyring.
    pub async fn sign_out(&self) -> Result<()> {
        let session = self.opened.lock().await.session.take();
        if let Some(profile) = session.as_ref().and_then(|s| s.info.profile.clone()) {
            account::logout(&self.places.settings, &profile).await?;
        }
        Ok(())
    }

    pub fn profiles(&self) -> Result<Vec<ProfileEntry>> {
        let s = self.places.settings.load()?;
        Ok(s.profiles
            .iter()
            .map(|(name, p)| ProfileEntry {
                name: name.clone(),
                service: p.service,
                base_url: p.base_url.clone(),
                destination: p.recent_twins.first().cloned().filter(|_| p.service != ServiceKind::TrustedTwin),
                active: s.active.as_deref() == Some(name),
            })
            .collect())
    }

    /// The open session's queue and profile, taken out of the lock so that network calls
    /// never hold it.
    async fn current(&self) -> Result<(Arc<Queue>, Option<String>)> {
        let opened = self.opened.lock().await;
        let session = opened.session.as_ref().ok_or_else(not_signed_in)?;
        Ok((session.queue.clone(), session.info.profile.clone()))
    }

    pub async fn queue(&self) -> Result<Arc<Queue>> {
        Ok(self.current().await?.0)
    }

    /// The open session's queue and the sink its events go through.
    async fn queue_and_sink(&self) -> Result<(Arc<Queue>, EventSink)> {
        let opened = self.opened.lock().await;
        let session = opened.session.as_ref().ok_or_else(not_signed_in)?;
        Ok((session.queue.clone(), session.sink.clone()))
    }

    /// The open session's watched folders (or why they could not start).
    pub async fn folders(&self) -> std::result::Result<Arc<Watched>, crate::ErrorInfo> {
        let opened = self.opened.lock().await;
        let session = opened.session.as_ref().ok_or_else(|| not_signed_in().info())?;
        session.watched.clone()
    }

    pub async fn recent_destinations(&self) -> Result<Vec<String>> {
        let (_, profile) = self.current().await?;
        Ok(self.places.settings.load()?.recent_twins(profile.as_deref())?.to_vec())
    }

    /// The window's own listener: the queue's `stats` and the events of jobs no drop listens
    /// to. Returns whether the queue is paused as a whole.
    /// The window first hears the jobs the journal holds that have not ended well (waiting,
    /// moving, paused, failed), so failures stay in view across a switch of account or a
    /// restart until they are dealt with.
    pub async fn watch_events(&self, sink: EventSink) -> Result<bool> {
        let queue = self.queue().await?;
        let standing = queue.standing()?;
        self.routes.watch(sink.clone());
        for event in standing {
            sink(event);
        }
        Ok(self.paused.load(Ordering::SeqCst))
    }

    /// "Clear finished": the ended jobs leave the queue's figures (the window drops their rows).
    pub async fn clear_finished(&self) -> Result<()> {
        self.queue().await?.clear_finished();
        Ok(())
    }

    /// Where these jobs stand in the journal: the final event of each settled one, so a window
    /// that missed an event converges on the journal.
    pub async fn settled(&self, ids: &[u64]) -> Result<Vec<QueueEvent>> {
        let queue = self.queue().await?;
        Ok(ids.iter().filter_map(|id| queue.journal().get(*id).ok().and_then(|job| job.settled_event())).collect())
    }

    pub async fn pause(&self, id: u64) -> Result<bool> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.pause(id, &sink)
    }

    pub async fn resume(&self, id: u64) -> Result<bool> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.resume(id, &sink)
    }

    pub async fn cancel(&self, id: u64) -> Result<bool> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.cancel(id, &sink)
    }

    pub async fn retry(&self, id: u64) -> Result<bool> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.retry(id, &sink)
    }

    /// Put every failed job of this server back in the queue; returns how many. Listeners hear
    /// each one go back to `queued`.
    pub async fn retry_failed(&self) -> Result<usize> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.retry_failed(&sink)
    }

    /// Pause or resume the whole queue (the window's buttons and the tray both come here).
    pub async fn set_paused(&self, paused: bool) -> Result<()> {
        let (queue, sink) = self.queue_and_sink().await?;
        self.set_paused_flag(paused);
        let (kind, message) = match paused {
            true => (Kind::Paused, "Paused all uploads"),
            false => (Kind::Resumed, "Resumed all uploads"),
        };
        self.note(NewEntry::new(kind, message));
        match paused {
            true => queue.pause_all(&sink)?,
            false => queue.resume_all(),
        }
        Ok(())
    }

    /// Every Doc of the Twin with its server status and details.
    /// The Twin's Docs from one listing (no statuses): a Twin of 20,000 Docs is one request.
    pub async fn docs(&self, twin: &TwinId) -> Result<Vec<DocRow>> {
        self.queue().await?.service().trusted_twin()?.list_doc_rows(twin).await
    }

    /// The named Docs read back with their statuses (the rows a window shows): at most
    /// [`DOC_DETAILS_MOST`] per call, a few reads in flight.
    pub async fn doc_details(&self, twin: &TwinId, names: Vec<String>) -> Result<Vec<DocEntry>> {
        if names.len() > DOC_DETAILS_MOST {
            let message = format!("{} Docs asked for at once; at most {DOC_DETAILS_MOST}", names.len());
            return Err(Error::invalid(crate::error::Invalid::Option, message));
        }
        self.queue().await?.service().trusted_twin()?.doc_details(twin, names).await
    }

    pub async fn delete_doc(&self, twin: &TwinId, name: &DocName) -> Result<()> {
        self.queue().await?.service().trusted_twin()?.delete_doc(twin, name).await
    }

    /// Send a Doc whose copy ended badly again (see [`Queue::resend_doc`]); its job is heard
    /// on the window's listener.
    pub async fn resend_doc(&self, twin: &TwinId, name: &DocName) -> Result<Vec<u64>> {
        let (queue, sink) = self.queue_and_sink().await?;
        queue.resend_doc(twin, name, &sink).await
    }

    /// Each file of the dropped or picked `paths` (folders expanded) with the name it would
    /// get, from `template` if given; with a destination, names another file already has there
    /// carry a notice. A drop past the preview's limit is refused whole.
    pub async fn preview(
        &self,
        destination: Option<&str>,
        paths: Vec<PathBuf>,
        template: Option<&str>,
    ) -> Result<Vec<NamedFile>> {
        let queue = self.queue().await?;
        let dest =
            destination.filter(|d| !d.is_empty()).map(|d| Destination::parse_for(queue.service(), d)).transpose()?;
        let files = queue.names_preview(dest.as_ref(), paths, template).await?;
        naming::cut_short(&files)?;
        Ok(files)
    }

    /// Queue a batch under its settled names. Returns once the jobs are in the journal; their
    /// events go to `events`.
    pub async fn upload(
        &self,
        destination: &str,
        items: &[Planned],
        batch: &Batch,
        events: EventSink,
    ) -> Result<Vec<u64>> {
        let (queue, sink) = self.queue_and_sink().await?;
        let dest = Destination::parse_for(queue.service(), destination)?;
        // Routed before anything can run: a job's first event registers its listener.
        let sink = self.routes.for_drop(events, sink);
        queue.enqueue_planned(dest, items, batch, &sink).await
    }

    pub fn prefs(&self) -> Result<Prefs> {
        Ok(self.places.settings.load()?.prefs)
    }

    /// Check, save, and apply to the running queues (parallelism and the bandwidth limit at
    /// once; the conflict policy to the next session). Returns the prefs as saved.
    pub async fn set_prefs(&self, prefs: Prefs) -> Result<Prefs> {
        let prefs = prefs.validated()?;
        // The proxy applies at once, to the open session's clients too; first, so a user with
        // no password stored is refused before anything is saved.
        crate::proxy::configure(&prefs.proxy, None).await?;
        self.proxy_applied.store(true, Ordering::SeqCst);
        self.places.settings.update(|s| {
            s.prefs = prefs.clone();
            Ok(())
        })?;
        // A new retention applies to the open journals now; a shorter one prunes at once.
        for slot in [&self.journal, &self.folders_journal] {
            let Some(journal) = slot.lock().expect("journal slot").clone() else { continue };
            if journal.retention() != prefs.retention() {
                journal.set_retention(prefs.retention());
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = journal.prune() {
                        tracing::warn!(code = e.code(), "journal: history not pruned: {e}");
                    }
                });
            }
        }
        let opened = self.opened.lock().await;
        if let Some(session) = opened.session.as_ref() {
            match &session.watched {
                Ok(watched) => prefs.apply(&[&session.queue, watched.queue()])?,
                Err(_) => prefs.apply(&[&session.queue])?,
            }
        }
        Ok(prefs)
    }
}

fn not_signed_in() -> Error {
    Error::NoSession
}

#[cfg(test)]
mod tests;
