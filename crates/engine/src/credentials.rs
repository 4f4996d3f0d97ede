//! Secrets live in the OS keyring (Secret Service on Linux) and nowhere else: not on disk, not in
//! logs, not in the journal. When no keyring is reachable we say so; we never fall back to a file.

use std::fmt;
use std::sync::{Arc, Mutex};

use keyring_core::Entry;

use crate::error::{Error, Invalid, Result};

const SERVICE: &str = "twindrop";

/// A secret whose `Debug` never shows it. `expose()` is called only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(Arc::from(s.into()))
    }

    /// Secrets are pasted from password managers; the trailing newline of stdin is not part of it.
    pub fn from_input(s: &str) -> Result<Self> {
        let s = s.trim_end_matches(['\r', '\n']);
        if s.is_empty() {
            return Err(Error::invalid(Invalid::Secret, "the secret is empty"));
        }
        Ok(Secret::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// What a person without a keyring reads: what is missing and what to install, since a desktop
/// without one (a bare window manager, a server) is the usual cause.
pub const NO_KEYRING: &str = "no Secret Service keyring is running: install gnome-keyring (or KWallet) \
                              and sign in again; Twindrop keeps secrets only in the keyring, never in a file";

static STORE_READY: Mutex<bool> = Mutex::new(false);

/// Connect the Secret Service store on first use. A failure is not remembered, so a keyring
/// daemon that starts later is picked up on the next try.
fn ensure_store() -> Result<()> {
    let mut ready = STORE_READY.lock().expect("keyring init lock");
    if !*ready {
        let store = zbus_secret_service_keyring_store::Store::new()
            .map_err(|e| Error::KeyringUnavailable(format!("{NO_KEYRING} ({e})")))?;
        keyring_core::set_default_store(store);
        *ready = true;
    }
    Ok(())
}

fn entry(profile: &str) -> Result<Entry> {
    ensure_store()?;
    Entry::new(SERVICE, profile).map_err(|e| map_err(profile, e))
}

fn map_err(profile: &str, e: keyring_core::Error) -> Error {
    use keyring_core::Error as K;
    match e {
        K::NoEntry => Error::NoSecret(profile.to_owned()),
        // No daemon owns the Secret Service name (or no session bus at all).
        K::PlatformFailure(e) => Error::KeyringUnavailable(format!("{NO_KEYRING} ({e})")),
        // A keyring is there but stays locked (its unlock prompt dismissed): nothing to install.
        K::NoStorageAccess(e) => {
            Error::KeyringUnavailable(format!("the keyring is locked: unlock it and try again ({e})"))
        }
        other => Error::Keyring(other.to_string()),
    }
}

/// The keyring speaks D-Bus synchronously, so every call runs on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Keyring(format!("keyring task failed: {e}")))?
}

pub async fn save_secret(profile: &str, secret: &Secret) -> Result<()> {
    let (profile, secret) = (profile.to_owned(), secret.clone());
    blocking(move || entry(&profile)?.set_password(secret.expose()).map_err(|e| map_err(&profile, e))).await
}

pub async fn load_secret(profile: &str) -> Result<Secret> {
    let profile = profile.to_owned();
    blocking(move || entry(&profile)?.get_password().map(Secret::new).map_err(|e| map_err(&profile, e))).await
}

pub async fn delete_secret(profile: &str) -> Result<()> {
    let profile = profile.to_owned();
    blocking(move || match entry(&profile)?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(&profile, e)),
    })
    .await
}

/// Write, read back and remove a throwaway entry: the keyring works, whatever it holds.
pub async fn probe() -> Result<()> {
    // An entry of its own: two checks at once must not read each other's.
    let probe = format!("twindrop-keyring-probe-{:016x}", fastrand::u64(..));
    let written = Secret::new(format!("probe-{}", fastrand::u64(..)));
    save_secret(&probe, &written).await?;
    let read = load_secret(&probe).await;
    delete_secret(&probe).await?;
    if read?.expose() != written.expose() {
        return Err(Error::Keyring("the keyring gave back another value than was stored".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::from_input("hunter2\n").unwrap();
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{s:?}"), "Secret(…)");
        assert_eq!(Secret::from_input("\n").unwrap_err().code(), "secret.invalid");
    }
}
