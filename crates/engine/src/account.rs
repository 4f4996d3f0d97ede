//! Logging in and connecting: the one place that turns a profile (or `TWINDROP_SECRET`) into a
//! ready [`TrustedTwin`] client. The CLI and the app both come through here.

use crate::credentials::{self, Secret};
use crate::error::{Error, Invalid, Result};
use crate::profile::{self, Profile, SettingsFile, DEFAULT_PROFILE};
use crate::service::trusted_twin::{parse_base_url, TrustedTwin};
use crate::service::{Destination, Service, ServiceKind, Verified};

/// Verify the secret against the server (unless `verify` is off), then store it in the keyring
/// and remember the profile as the active one. Returns what the check showed, when it ran.
pub async fn login(
    settings: &SettingsFile,
    profile: &str,
    base_url: &str,
    secret: Secret,
    verify: bool,
) -> Result<Option<Verified>> {
    login_service(settings, profile, ServiceKind::TrustedTwin, base_url, secret, None, verify).await
}

/// [`login`] for any service. Redivis and Inspect tokens may be scoped to what they can see,
/// so their check reads the `destination` (a table, an asset), which they then need; it is
/// remembered as the profile's first destination. With `verify` off the secret is stored as
/// given (the app checks it as the session opens).
pub async fn login_service(
    settings: &SettingsFile,
    profile: &str,
    kind: ServiceKind,
    base_url: &str,
    secret: Secret,
    destination: Option<&str>,
    verify: bool,
) -> Result<Option<Verified>> {
    profile::validate_name(profile)?;
    let service = kind.connect(base_url, secret.clone())?;
    let destination = destination.map(|d| Destination::parse_for(&service, d.trim())).transpose()?;
    let account = match (kind, &destination) {
        _ if !verify => None,
        (ServiceKind::Redivis | ServiceKind::Inspect, None) => {
            let what = if kind == ServiceKind::Redivis { "--table" } else { "--asset" };
            return Err(Error::invalid(
                Invalid::Destination,
                format!(
                    "a {kind:?} token is checked on what it may reach: give its destination ({what}), or --no-verify"
                ),
            ));
        }
        (_, destination) => Some(service.verify(destination.as_ref()).await?),
    };
    let base_url = service.base_url().to_owned();
    credentials::save_secret(profile, &secret).await?;
    settings.update(|s| {
        let entry = s.profiles.entry(profile.to_owned()).or_default();
        if entry.base_url != base_url || entry.service != kind {
            *entry = Profile { base_url, service: kind, recent_twins: vec![] };
        }
        // The app opens on the last profile logged into.
        s.active = Some(profile.to_owned());
        match destination.as_ref().filter(|d| **d != Destination::TempFiles) {
            Some(d) => s.remember_twin(Some(profile), d.as_str()),
            None => Ok(()),
        }
    })?;
    Ok(account)
}

/// Forget a profile's secret; the profile itself stays, so logging in again is one step.
pub async fn logout(settings: &SettingsFile, profile: &str) -> Result<()> {
    credentials::delete_secret(profile).await?;
    settings.update(|s| {
        if s.active.as_deref() == Some(profile) {
            s.active = None;
        }
        Ok(())
    })
}

/// Build a Trusted Twin client. A secret given directly (e.g. from `TWINDROP_SECRET`) wins
/// over the keyring; an explicit base URL wins over the profile's.
pub async fn connect(
    settings: &SettingsFile,
    profile: Option<&str>,
    base_url: Option<&str>,
    secret: Option<Secret>,
) -> Result<TrustedTwin> {
    let (_, base_url, secret) = resolve(settings, profile, base_url, secret, Some(ServiceKind::TrustedTwin)).await?;
    TrustedTwin::new(&base_url, secret)
}

/// Build a client for the profile's service, or for `kind` when there is no profile.
pub async fn connect_service(
    settings: &SettingsFile,
    profile: Option<&str>,
    base_url: Option<&str>,
    secret: Option<Secret>,
    kind: Option<ServiceKind>,
) -> Result<Service> {
    let (kind, base_url, secret) = resolve(settings, profile, base_url, secret, kind).await?;
    kind.connect(&base_url, secret)
}

/// Which service, where, and with what secret. Asking for one service with another's profile
/// is an error that says so.
pub async fn resolve(
    settings: &SettingsFile,
    profile: Option<&str>,
    base_url: Option<&str>,
    secret: Option<Secret>,
    kind: Option<ServiceKind>,
) -> Result<(ServiceKind, String, Secret)> {
    let place = locate(settings, profile, base_url, secret.is_some(), kind)?;
    let secret = match secret {
        Some(s) => s,
        None => credentials::load_secret(&place.profile).await?,
    };
    Ok((place.kind, place.base_url, secret))
}

/// Where [`resolve`] points, before any secret is read.
pub struct Place {
    pub profile: String,
    pub kind: ServiceKind,
    pub base_url: String,
    /// The saved profile, when it is the one used.
    pub stored: Option<Profile>,
}

/// [`resolve`] without the keyring: the profile (or the default one), its service and base URL,
/// each overridden by what was asked. `secret_given`: a secret comes from elsewhere, so a
/// profile is not needed when the base URL is given.
pub fn locate(
    settings: &SettingsFile,
    profile: Option<&str>,
    base_url: Option<&str>,
    secret_given: bool,
    kind: Option<ServiceKind>,
) -> Result<Place> {
    let name = profile.unwrap_or(DEFAULT_PROFILE);
    let stored = settings.load()?.profiles.get(name).cloned();
    // Another service's profile lends neither its URL nor its secret: the secret must only
    // ever go to the host it was made for.
    let stored = match (kind, stored) {
        (Some(asked), Some(p)) if p.service != asked => {
            if base_url.is_none() || !secret_given {
                return Err(Error::ServiceMismatch(format!(
                    "profile {name:?} is a {:?} account, not {asked:?}; pick another with --profile",
                    p.service
                )));
            }
            None
        }
        (_, stored) => stored,
    };
    let kind = match (kind, &stored) {
        (Some(asked), _) => asked,
        (None, Some(p)) => p.service,
        (None, None) => ServiceKind::TrustedTwin,
    };
    let base_url = match (base_url, &stored) {
        (Some(url), _) => url.to_owned(),
        (None, Some(p)) => p.base_url.clone(),
        (None, None) if secret_given => {
            return Err(Error::invalid(Invalid::Option, "--base-url is needed (or a profile that has one)"))
        }
        (None, None) => return Err(Error::ProfileNotFound(name.to_owned())),
    };
    Ok(Place { profile: name.to_owned(), kind, base_url, stored })
}

/// A profile name for a base URL, for the app where nobody types one: `host` or `host-port`.
pub fn profile_name_for(base_url: &str) -> Result<String> {
    let url = parse_base_url(base_url)?;
    let host =
        url.host_str().unwrap_or("server").replace(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'), "_");
    Ok(match url.port() {
        Some(port) => format!("{host}-{port}"),
        None => host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_come_from_hosts() {
        assert_eq!(profile_name_for("https://rest.trustedtwin.com").unwrap(), "rest.trustedtwin.com");
        assert_eq!(profile_name_for("http://127.0.0.1:8080/").unwrap(), "127.0.0.1-8080");
        assert_eq!(profile_name_for("http://[::1]:9/").unwrap(), "___1_-9");
    }

    #[tokio::test]
    async fn connect_explains_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let settings = SettingsFile::new(dir.path().join("s.json"));
        let err = connect(&settings, None, None, None).await.unwrap_err();
        assert_eq!(err.code(), "profile.not_found");
        let err = connect(&settings, None, None, Some(Secret::new("s"))).await.unwrap_err();
        assert_eq!(err.code(), "option.invalid");
        let tt = connect(&settings, None, Some("http://127.0.0.1:1/"), Some(Secret::new("s"))).await.unwrap();
        assert_eq!(tt.base_url(), "http://127.0.0.1:1");
        settings
            .update(|s| {
                let p = Profile { base_url: "http://127.0.0.1:2".into(), ..Profile::default() };
                s.profiles.insert(DEFAULT_PROFILE.into(), p);
                Ok(())
            })
            .unwrap();
        // A Trusted Twin profile's secret is never lent to Redivis.
        let err = connect_service(&settings, None, None, None, Some(ServiceKind::Redivis)).await.unwrap_err();
        assert_eq!(err.code(), "service.mismatch");
        let r = connect_service(
            &settings,
            None,
            Some("http://127.0.0.1:3/api/v1"),
            Some(Secret::new("t")),
            Some(ServiceKind::Redivis),
        )
        .await
        .unwrap();
        assert_eq!((r.kind(), r.base_url()), (ServiceKind::Redivis, "http://127.0.0.1:3/api/v1"));
    }
}
