//! Named accounts. A profile is a base URL plus the Twins used with it; its secret is in the
//! keyring under the profile's name. This file holds nothing secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Result};
use crate::twin_names::{KnownTwin, TwinNames};

pub const DEFAULT_PROFILE: &str = "default";
const RECENT_LIMIT: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub base_url: String,
    /// Profiles from before other services existed are Trusted Twin ones.
    #[serde(default)]
    pub service: crate::service::ServiceKind,
    #[serde(default)]
    pub recent_twins: Vec<String>,
}

/// A folder kept in step with a destination, with its own naming, filters and Doc settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedFolder {
    pub path: PathBuf,
    /// The profile it uploads with (`None`: the default profile).
    #[serde(default)]
    pub profile: Option<String>,
    /// The Twin (or table, or asset) it goes to.
    pub destination: String,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub storage_class: Option<String>,
    #[serde(default)]
    pub description: Option<serde_json::Value>,
    #[serde(default)]
    pub delete: crate::folders::DeletePolicy,
    /// When a Doc this folder did not make holds a file's name: rename (the default) or skip.
    /// Never replace: a folder only replaces the Docs it made itself.
    #[serde(default)]
    pub on_conflict: crate::queue::FolderConflicts,
    #[serde(default)]
    pub paused: bool,
}

impl WatchedFolder {
    /// A folder with no template, no ignores of its own, the queue's batch, deleted files'
    /// Docs kept, and the default conflict policy.
    pub fn new(path: PathBuf, profile: Option<String>, destination: String) -> Self {
        WatchedFolder {
            path,
            profile,
            destination,
            template: None,
            ignore: vec![],
            storage_class: None,
            description: None,
            delete: crate::folders::DeletePolicy::Ignore,
            on_conflict: Default::default(),
            paused: false,
        }
    }

    /// The storage class and description its files get, or `None` for the queue's own (a
    /// folder that sets neither). Folders on one queue may set different ones.
    pub fn batch(&self) -> Result<Option<crate::queue::Batch>> {
        let on_conflict = Some(self.on_conflict.policy());
        if self.storage_class.is_none() && self.description.is_none() {
            return Ok(Some(crate::queue::Batch { on_conflict, ..Default::default() }));
        }
        let class =
            self.storage_class.as_deref().unwrap_or(crate::service::trusted_twin::StorageClass::default().as_str());
        crate::queue::Batch::new(class, self.description.clone())
            .map(|b| Some(crate::queue::Batch { on_conflict, ..b }))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// The profile the app opens with; `None` means the local sandbox.
    #[serde(default)]
    pub active: Option<String>,
    #[serde(default)]
    pub sandbox_twins: Vec<String>,
    #[serde(default)]
    pub watched: Vec<WatchedFolder>,
    /// The app's preferences (parallelism, bandwidth, conflicts, autostart, notifications).
    #[serde(default)]
    pub prefs: crate::prefs::Prefs,
    /// What each Twin is called: nicknames and server names, by UUID ([`crate::twin_names`]).
    #[serde(default)]
    pub twin_names: TwinNames,
    /// The first-run guide was closed: it no longer opens by itself (Help reopens it). Beside
    /// the prefs, not in them: the Settings page saves the prefs whole, and must not undo it.
    #[serde(default)]
    pub guide_seen: bool,
}

impl Settings {
    /// Add a watched folder, or replace the one at the same path.
    pub fn watch(&mut self, folder: WatchedFolder) {
        self.watched.retain(|w| w.path != folder.path);
        self.watched.push(folder);
    }

    /// The watched folder at `path`.
    pub fn watched_mut(&mut self, path: &Path) -> Result<&mut WatchedFolder> {
        self.watched
            .iter_mut()
            .find(|w| w.path == path)
            .ok_or_else(|| Error::NotFound(format!("no watched folder {}", path.display())))
    }

    pub fn profile(&self, name: &str) -> Result<&Profile> {
        self.profiles.get(name).ok_or_else(|| Error::ProfileNotFound(name.to_owned()))
    }

    /// Recent Twins of a profile, or of the sandbox when `profile` is `None`.
    pub fn recent_twins(&self, profile: Option<&str>) -> Result<&[String]> {
        Ok(match profile {
            Some(name) => &self.profile(name)?.recent_twins,
            None => &self.sandbox_twins,
        })
    }

    pub fn remember_twin(&mut self, profile: Option<&str>, twin: &str) -> Result<()> {
        let list = match profile {
            Some(name) => {
                &mut self.profiles.get_mut(name).ok_or_else(|| Error::ProfileNotFound(name.to_owned()))?.recent_twins
            }
            None => &mut self.sandbox_twins,
        };
        remember(list, twin);
        Ok(())
    }
}

impl Settings {
    /// Every Twin this machine knows: each account's recent ones (the sandbox's as `sandbox`),
    /// then the named ones no list holds, with their names.
    pub fn known_twins(&self) -> Vec<KnownTwin> {
        let recent = self
            .profiles
            .iter()
            .filter(|(_, p)| p.service == crate::service::ServiceKind::TrustedTwin)
            .map(|(name, p)| (name.clone(), &p.recent_twins[..]))
            .chain(std::iter::once((SANDBOX_ACCOUNT.to_owned(), &self.sandbox_twins[..])));
        crate::twin_names::known(recent, &self.twin_names)
    }
}

/// How lists name the local sandbox among accounts.
pub const SANDBOX_ACCOUNT: &str = "sandbox";

/// Put `twin` first in a most-recent-first list.
fn remember(list: &mut Vec<String>, twin: &str) {
    list.retain(|t| t != twin);
    list.insert(0, twin.to_owned());
    list.truncate(RECENT_LIMIT);
}

pub fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            Invalid::ProfileName,
            format!("profile name {name:?}: use 1-64 letters, digits, '-', '_' or '.'"),
        ))
    }
}

/// Where Twindrop keeps its files. `TWINDROP_CONFIG_DIR` / `TWINDROP_DATA_DIR` override the
/// platform defaults (tests use them to stay out of the user's home).
pub fn config_dir() -> Result<PathBuf> {
    dir("TWINDROP_CONFIG_DIR", |d| d.config_dir().to_owned())
}

pub fn data_dir() -> Result<PathBuf> {
    dir("TWINDROP_DATA_DIR", |d| d.data_dir().to_owned())
}

/// Where the journal is kept by default (the journal itself is opened on any path).
pub fn journal_path() -> Result<PathBuf> {
    Ok(data_dir()?.join("journal.sqlite"))
}

/// The watched folders' journal, shared by the app and `twindrop sync`: `watched.sqlite` next
/// to the upload journal. Its own file, so the upload queue and the folders' queue never claim
/// each other's jobs.
pub fn folders_journal_path() -> Result<PathBuf> {
    Ok(data_dir()?.join("watched.sqlite"))
}

/// Where the activity log is kept by default.
pub fn activity_log_path() -> Result<PathBuf> {
    Ok(data_dir()?.join("activity.sqlite"))
}

fn dir(var: &str, pick: impl Fn(&directories::ProjectDirs) -> PathBuf) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Ok(PathBuf::from(p));
    }
    directories::ProjectDirs::from("dev", "twindrop", "twindrop")
        .map(|d| pick(&d))
        .ok_or_else(|| Error::Setup("no home directory to keep settings in".into()))
}

#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SettingsFile { path: path.into() }
    }

    /// How long the journals keep finished history, as saved (`Prefs::history_days`; the app
    /// and `twindrop` alike). A file that cannot be read prunes nothing: what the person asked
    /// for is not known.
    pub fn retention(&self) -> crate::journal::Retention {
        match self.load() {
            Ok(saved) => saved.prefs.retention(),
            Err(e) => {
                tracing::warn!(code = e.code(), "settings unreadable, so the journal's history is kept: {e}");
                crate::journal::Retention::Forever
            }
        }
    }

    pub fn default_location() -> Result<Self> {
        Ok(Self::new(config_dir()?.join("settings.json")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Settings> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::invalid(Invalid::Settings, format!("{}: not valid settings: {e}", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(Error::file(&self.path, e)),
        }
    }

    /// Set a Twin's nickname as typed (blank: clear it); returns every Twin's names as saved.
    pub fn name_twin(&self, twin: &crate::TwinId, nickname: &str) -> Result<TwinNames> {
        let nickname = crate::twin_names::parse_name(nickname)?;
        self.update(|s| {
            s.twin_names.set_nickname(twin.as_str(), nickname);
            Ok(s.twin_names.clone())
        })
    }

    /// Remember what the server calls a Twin (its body from `POST` or `GET /twins`).
    pub fn remember_server_name(&self, twin: &crate::TwinId, body: &serde_json::Value) -> Result<()> {
        let name = crate::twin_names::server_name(body);
        if self.load()?.twin_names.get(twin.as_str()).and_then(|n| n.server_name.as_ref()) == name.as_ref() {
            return Ok(());
        }
        self.update(|s| {
            s.twin_names.set_server_name(twin.as_str(), name);
            Ok(())
        })
    }

    /// The lock every change takes, beside the file (`settings.lock`): the app and the CLI
    /// share it, so neither loses what the other changed meanwhile.
    pub fn lock_path(&self) -> PathBuf {
        self.path.with_extension("lock")
    }

    /// Load, change and save in one step, holding the settings lock throughout (an exclusive
    /// `flock`, so another process or thread doing the same waits). The file is replaced
    /// atomically and durably ([`crate::private::write_atomic_private`]): a crash never leaves
    /// half a settings file. Every change to settings.json goes through here. Nothing is
    /// written when `change` fails.
    pub fn update<T>(&self, change: impl FnOnce(&mut Settings) -> Result<T>) -> Result<T> {
        let lock_path = self.lock_path();
        crate::private::create_parent_private(&self.path)?;
        let lock = crate::private::open_private(
            &lock_path,
            std::fs::OpenOptions::new().create(true).truncate(false).write(true),
        )?;
        lock.lock().map_err(|e| Error::file(&lock_path, e))?;
        let mut settings = self.load()?;
        let out = change(&mut settings)?;
        let body = serde_json::to_vec_pretty(&settings).expect("settings serialise");
        crate::private::write_atomic_private(&self.path, &body)?;
        // The lock goes with the file handle.
        drop(lock);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_recent_twins_stay_unique() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(dir.path().join("sub/settings.json"));
        assert_eq!(file.load().unwrap(), Settings::default());
        file.update(|s| {
            s.profiles.insert("work".into(), Profile { base_url: "https://x".into(), ..Profile::default() });
            s.active = Some("work".into());
            Ok(())
        })
        .unwrap();
        file.update(|s| {
            for twin in ["a", "b", "a"] {
                s.remember_twin(Some("work"), twin)?;
            }
            s.remember_twin(None, "c")
        })
        .unwrap();
        let s = file.load().unwrap();
        assert_eq!(s.recent_twins(Some("work")).unwrap(), ["a", "b"]);
        assert_eq!(s.recent_twins(None).unwrap(), ["c"]);
        assert_eq!(s.profile("nope").unwrap_err().code(), "profile.not_found");
        std::fs::write(file.path(), "{oops").unwrap();
        assert_eq!(file.load().unwrap_err().code(), "settings.invalid");
    }

    #[cfg(unix)]
    #[test]
    fn settings_are_private() {
        let home = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(home.path().join("config/settings.json"));
        file.update(|s| {
            s.active = Some("work".into());
            Ok(())
        })
        .unwrap();
        let mode = crate::private::mode;
        assert_eq!(mode(file.path()), 0o600);
        assert_eq!(mode(&file.lock_path()), 0o600);
        assert_eq!(mode(&home.path().join("config")), 0o700);
        let mut names: Vec<_> =
            std::fs::read_dir(home.path().join("config")).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["settings.json", "settings.lock"], "no temporary file left");
        // A failed change writes nothing.
        let err = file.update(|_| -> Result<()> { Err(Error::Input("no".into())) }).unwrap_err();
        assert_eq!(err.code(), "input.invalid");
        assert_eq!(file.load().unwrap().active.as_deref(), Some("work"));
    }

    /// Two writers changing different keys at the same time lose nothing: each holds the lock
    /// across its read-modify-write. (The CLI and the app take the same lock.)
    #[test]
    fn concurrent_updates_of_different_keys_lose_nothing() {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("settings.json");
        let writers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|who| {
                let file = SettingsFile::new(&path);
                std::thread::spawn(move || {
                    for i in 0..50 {
                        file.update(|s| {
                            let profile = s.profiles.entry(who.to_owned()).or_default();
                            profile.recent_twins.push(format!("{who}{i}"));
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let s = SettingsFile::new(&path).load().unwrap();
        for who in ["a", "b"] {
            let want: Vec<String> = (0..50).map(|i| format!("{who}{i}")).collect();
            assert_eq!(s.profiles[who].recent_twins, want, "{who}'s changes");
        }
    }

    #[test]
    fn profile_names_are_checked() {
        assert!(validate_name("work-2").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("a/b").is_err());
    }
}
