//! The local sandbox: the emulator running inside this process with its data in the app's data
//! folder, so Twins and Docs survive restarts. With no account configured the app opens on it.

use std::net::SocketAddr;
use std::path::Path;

use twindrop_emulator::{Config, Emulator};

use crate::credentials::Secret;
use crate::error::{Error, Result};

pub struct Sandbox {
    pub(super) emulator: Emulator,
    pub(super) secret: Secret,
}

impl Sandbox {
    /// Start the emulator on `state_dir`, on the port it had last time when that is free.
    pub async fn start(state_dir: &Path) -> Result<Sandbox> {
        // A fresh random secret each run: it never needs storing, and nothing else can use it.
        let secret = Secret::new(format!("sandbox-{}", uuid::Uuid::new_v4()));
        let mut config = Config::new(secret.expose());
        config.state_dir = Some(state_dir.to_owned());
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
        .map_err(|e| Error::SandboxFailed(e.to_string()))?;
        if let Some(port) = emulator.base_url().rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()) {
            if let Err(e) = crate::private::write_atomic_private(&port_file, port.to_string().as_bytes()) {
                tracing::warn!("cannot keep the sandbox port: {e}");
            }
        }
        tracing::info!(url = emulator.base_url(), "local sandbox running");
        Ok(Sandbox { emulator, secret })
    }

    pub fn base_url(&self) -> &str {
        self.emulator.base_url()
    }

    /// Stop serving (tests: a second app on the same data folder starts its own).
    pub async fn shutdown(self) {
        self.emulator.shutdown().await;
    }
}
