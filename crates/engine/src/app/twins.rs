//! Twins: create one (named on the server or not), choose one, name one on this machine; and
//! whether the first-run guide (which begins with creating a Twin) was closed.

use super::App;
use crate::error::Result;
use crate::twin_names::TwinNames;
use crate::TwinId;

impl App {
    /// Put `twin` first among the recent Twins of `profile` (the sandbox's when `None`).
    fn remember_twin(&self, profile: Option<&str>, twin: &TwinId) -> Result<()> {
        self.places.settings.update(|s| s.remember_twin(profile, twin.as_str()))
    }

    pub async fn create_twin(&self) -> Result<TwinId> {
        self.create_named_twin("").await
    }

    /// Create a Twin, named on the server (`description.name`) unless `name` is blank; it
    /// becomes the most recent one.
    pub async fn create_named_twin(&self, name: &str) -> Result<TwinId> {
        let name = crate::twin_names::parse_name(name)?;
        let (queue, profile) = self.current().await?;
        let (twin, body) = queue.service().trusted_twin()?.create_named_twin(name.as_deref()).await?;
        self.places.settings.remember_server_name(&twin, &body)?;
        self.remember_twin(profile.as_deref(), &twin)?;
        Ok(twin)
    }

    /// Check that the Twin exists, note what its description calls it, and put it first among
    /// the recent ones.
    pub async fn select_twin(&self, twin: &TwinId) -> Result<()> {
        let (queue, profile) = self.current().await?;
        let body = queue.service().trusted_twin()?.get_twin(twin).await?;
        self.places.settings.remember_server_name(twin, &body)?;
        self.remember_twin(profile.as_deref(), twin)
    }

    /// Whether the first-run guide was closed once (then it no longer opens by itself).
    pub fn guide_seen(&self) -> Result<bool> {
        Ok(self.places.settings.load()?.guide_seen)
    }

    pub fn set_guide_seen(&self, seen: bool) -> Result<()> {
        self.places.settings.update(|s| {
            s.guide_seen = seen;
            Ok(())
        })
    }

    /// What every known Twin is called (nicknames, server names), by UUID. Needs no session:
    /// watched folders and the activity log name Twins of any account.
    pub fn twin_names(&self) -> Result<TwinNames> {
        Ok(self.places.settings.load()?.twin_names)
    }

    /// Give a Twin a nickname on this machine (blank: remove it). Returns every Twin's names.
    pub fn name_twin(&self, twin: &TwinId, nickname: &str) -> Result<TwinNames> {
        self.places.settings.name_twin(twin, nickname)
    }
}
