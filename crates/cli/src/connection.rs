//! Which account a command speaks to: the `--service`, `--base-url`, `--profile` flags and the
//! secret's sources, resolved by the engine (`account`, `secret_source`).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use twindrop_engine::profile::SettingsFile;
use twindrop_engine::secret_source::SecretSource;
use twindrop_engine::service::{Service, ServiceKind};
use twindrop_engine::{account, Error, Secret};

use crate::choice;

/// Where the secret comes from, first that is there: `--secret-file` or `--secret-command` on the
/// command line; then the environment: TWINDROP_SECRET (the secret itself), TWINDROP_SECRET_FILE,
/// TWINDROP_SECRET_COMMAND; then the OS keyring of the profile (`twindrop login`). A file or
/// command that fails stops the command: it never falls through to another secret.
pub const SECRET_SOURCES: &str = "Secret: --secret-file or --secret-command, else TWINDROP_SECRET, \
TWINDROP_SECRET_FILE, TWINDROP_SECRET_COMMAND (in that order), else the profile's secret in the OS \
keyring (twindrop login). A trailing newline is not part of the secret.";

#[derive(clap::Args, Clone)]
#[command(after_help = SECRET_SOURCES)]
pub struct Connection {
    /// Service base URL (default: the profile's).
    #[arg(long, env = "TWINDROP_BASE_URL")]
    pub base_url: Option<String>,
    /// The service (default: the profile's).
    #[arg(long, env = "TWINDROP_SERVICE", value_parser = choice::parser::<choice::Service>())]
    pub service: Option<choice::Service>,
    /// Inspect: the path of the "complete" call, with `{id}` for the file id.
    #[arg(long, env = "TWINDROP_COMPLETE_PATH")]
    pub complete_path: Option<String>,
    /// Stored profile whose secret is in the OS keyring.
    #[arg(long, env = "TWINDROP_PROFILE")]
    pub profile: Option<String>,
    /// Read the secret from this file instead of the keyring (see below for which source wins).
    #[arg(long, value_name = "PATH", env = "TWINDROP_SECRET_FILE", hide_env_values = true)]
    pub secret_file: Option<PathBuf>,
    /// Run this shell command and take what it prints as the secret, e.g. `pass show twindrop`.
    #[arg(long, value_name = "CMD", env = "TWINDROP_SECRET_COMMAND", hide_env_values = true)]
    pub secret_command: Option<String>,
}

/// Which of `--secret-file` and `--secret-command` came from the command line (not from their
/// environment variables), as `main` read it from clap's matches.
#[derive(Debug, Clone, Copy, Default)]
pub struct GivenOnCommandLine {
    pub secret_file: bool,
    pub secret_command: bool,
}

static GIVEN: OnceLock<GivenOnCommandLine> = OnceLock::new();

/// Recorded once, before any command runs.
pub fn record_command_line(given: GivenOnCommandLine) {
    let _ = GIVEN.set(given);
}

impl Connection {
    pub fn kind(&self) -> Option<ServiceKind> {
        self.service.map(ServiceKind::from)
    }

    /// The secret from the first of its sources other than the keyring; `None`: the keyring's.
    pub fn secret(&self) -> Result<Option<Secret>, Error> {
        let given = GIVEN.get().copied().unwrap_or_default();
        let file = self.secret_file.clone().map(SecretSource::File);
        let command = self.secret_command.clone().map(SecretSource::Command);
        let (mut command_line, mut environment) = (Vec::new(), Vec::new());
        if let Some(secret) = std::env::var("TWINDROP_SECRET").ok().filter(|s| !s.is_empty()) {
            environment.push(SecretSource::Given(Secret::new(secret)));
        }
        for (source, on_command_line) in [(file, given.secret_file), (command, given.secret_command)] {
            match (source, on_command_line) {
                (Some(source), true) => command_line.push(source),
                (Some(source), false) => environment.push(source),
                (None, _) => {}
            }
        }
        SecretSource::pick(&command_line, &environment)
    }
}

pub async fn connect(settings: &SettingsFile, conn: &Connection) -> Result<twindrop_engine::TrustedTwin, Error> {
    if conn.kind().is_some_and(|k| k != ServiceKind::TrustedTwin) {
        return Err(Error::Unsupported("this command is for Trusted Twin only".into()));
    }
    account::connect(settings, conn.profile.as_deref(), conn.base_url.as_deref(), conn.secret()?).await
}

pub async fn connect_service(settings: &SettingsFile, conn: &Connection) -> Result<Service, Error> {
    let (kind, base_url, secret) =
        account::resolve(settings, conn.profile.as_deref(), conn.base_url.as_deref(), conn.secret()?, conn.kind())
            .await?;
    match (kind, &conn.complete_path) {
        (ServiceKind::Inspect, Some(path)) => {
            let inspect =
                twindrop_engine::service::inspect::Inspect::new(&base_url, secret)?.with_complete_path(path)?;
            Ok(Service::Inspect(Arc::new(inspect)))
        }
        (_, Some(_)) => Err(Error::invalid(twindrop_engine::Invalid::Option, "--complete-path is for Inspect only")),
        (kind, None) => kind.connect(&base_url, secret),
    }
}
