//! The connection check (`twindrop doctor`, "Check connection" in the app): four steps in
//! order, each with a plain verdict and, when it fails, what to do next.
//!
//! 1. the keyring works (a throwaway entry written, read back and removed);
//! 2. the API host resolves and answers (any HTTP answer will do), with its latency;
//! 3. the secret is accepted, through the service's harmless check ([`Service::verify`]);
//! 4. an upload target can be had and one byte sent, where the service allows it without
//!    leaving anything behind.
//!
//! A step that cannot run because an earlier one failed is skipped, saying which. Nothing here
//! prints the secret: messages come from errors, which are redacted where they are made.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::credentials::{self, Secret};
use crate::destination::Destination;
use crate::error::{Error, Result};
use crate::service::{Service, ServiceKind};

/// How long the host step waits for the name and for an answer.
const HOST_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    Keyring,
    Host,
    Secret,
    RoundTrip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
#[serde(rename = "StepVerdict")] // the TypeScript name only (verify has a `Verdict` too)
pub enum Verdict {
    Pass,
    /// It works, with a caveat the user should know.
    Warn,
    Fail,
    /// Not tried: an earlier step failed, or trying would leave something behind.
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Step {
    pub name: StepName,
    pub verdict: Verdict,
    /// What was found, in a sentence.
    pub summary: String,
    /// What to do about it, when the verdict is not a pass.
    pub next: Option<String>,
    /// The error's stable code, when an error decided the verdict.
    #[specta(type = Option<crate::error::Code>)]
    pub code: Option<String>,
    pub millis: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub service: ServiceKind,
    pub base_url: String,
    pub steps: Vec<Step>,
}

impl Report {
    /// No step failed (warnings and skips allowed).
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.verdict != Verdict::Fail)
    }
}

/// Where the secret to check comes from.
#[derive(Debug, Clone)]
pub enum SecretFrom {
    /// Typed into a form, or `TWINDROP_SECRET`.
    Given(Secret),
    /// The keyring entry of a saved profile.
    Profile(String),
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: ServiceKind,
    pub base_url: String,
    pub secret: SecretFrom,
    /// The table or asset a Redivis or Inspect token is checked on.
    pub destination: Option<String>,
}

impl Subject {
    /// What `twindrop doctor` checks: a saved profile (or the default one) with what the
    /// command line overrides, as `account::resolve` would use it, but without reading the
    /// keyring yet (that is the first step). A given secret (`TWINDROP_SECRET`) wins over the
    /// keyring; Redivis and Inspect fall back on the profile's last destination.
    pub fn locate(
        settings: &crate::profile::SettingsFile,
        profile: Option<&str>,
        base_url: Option<&str>,
        kind: Option<ServiceKind>,
        secret: Option<Secret>,
        destination: Option<String>,
    ) -> Result<Subject> {
        let place = crate::account::locate(settings, profile, base_url, secret.is_some(), kind)?;
        let destination = match place.kind {
            ServiceKind::Redivis | ServiceKind::Inspect => {
                destination.or_else(|| place.stored.as_ref().and_then(|p| p.recent_twins.first().cloned()))
            }
            _ => None,
        };
        let secret = match secret {
            Some(s) => SecretFrom::Given(s),
            None => SecretFrom::Profile(place.profile),
        };
        Ok(Subject { kind: place.kind, base_url: place.base_url, secret, destination })
    }
}

/// Run the four steps.
pub async fn check(subject: Subject) -> Report {
    let mut steps = Vec::with_capacity(4);
    let (keyring, secret) = keyring_step(&subject.secret).await;
    steps.push(keyring);
    let host = host_step(&subject.base_url).await;
    let host_ok = host.verdict == Verdict::Pass;
    steps.push(host);
    let connected = secret.and_then(|s| subject.kind.connect(&subject.base_url, s));
    let (secret_step, service) = match (host_ok, connected) {
        (false, _) => (skip(StepName::Secret, "the host did not answer"), None),
        (true, Err(e)) => (failed(StepName::Secret, "No secret to check", &e, None), None),
        (true, Ok(service)) => secret_step(&service, subject.destination.as_deref()).await,
    };
    steps.push(secret_step);
    steps.push(match service {
        Some((service, destination)) => round_trip(&service, destination.as_ref()).await,
        None if !host_ok => skip(StepName::RoundTrip, "the host did not answer"),
        None => skip(StepName::RoundTrip, "the secret was not accepted"),
    });
    Report { service: subject.kind, base_url: subject.base_url, steps }
}

async fn keyring_step(from: &SecretFrom) -> (Step, Result<Secret>) {
    let started = Instant::now();
    let probe = credentials::probe().await;
    let millis = Some(started.elapsed().as_millis() as u64);
    let secret = match from {
        SecretFrom::Given(s) => Ok(s.clone()),
        SecretFrom::Profile(name) => credentials::load_secret(name).await,
    };
    let step = match (&probe, &secret, from) {
        (Err(e), _, SecretFrom::Given(_)) => Step {
            next: Some(format!(
                "{} Until then, a secret can only be given each time (the CLI's TWINDROP_SECRET).",
                keyring_help(e)
            )),
            ..failed(StepName::Keyring, "The keyring does not work", e, millis)
        },
        (Err(e), _, SecretFrom::Profile(_)) => Step {
            next: Some(keyring_help(e)),
            ..failed(StepName::Keyring, "The keyring does not work, so the saved secret cannot be read", e, millis)
        },
        (Ok(()), Err(e), SecretFrom::Profile(name)) => Step {
            next: Some(format!("Sign in again to store it (`twindrop login --profile {name}`).")),
            ..failed(StepName::Keyring, &format!("The keyring works, but holds no secret for {name:?}"), e, millis)
        },
        (Ok(()), _, SecretFrom::Profile(name)) => {
            pass(StepName::Keyring, format!("The keyring works and holds the secret of {name:?}"), millis)
        }
        (Ok(()), _, SecretFrom::Given(_)) => pass(StepName::Keyring, "The keyring works".into(), millis),
    };
    (step, secret)
}

fn keyring_help(e: &Error) -> String {
    match e {
        Error::KeyringUnavailable(_) => "No Secret Service answers: start your desktop's keyring (GNOME Keyring, \
                                         KWallet, KeePassXC with Secret Service) and unlock it."
            .into(),
        _ => "Unlock the keyring, or check that Twindrop may use it.".into(),
    }
}

async fn host_step(base_url: &str) -> Step {
    let url = match url::Url::parse(base_url) {
        Ok(url) => url,
        Err(e) => {
            let e = Error::invalid(crate::error::Invalid::Url, format!("{base_url:?}: {e}"));
            return failed(StepName::Host, "The address is not a URL", &e, None);
        }
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let started = Instant::now();
    let resolved = tokio::time::timeout(HOST_LIMIT, tokio::net::lookup_host((host.as_str(), port))).await;
    let address = match resolved {
        Ok(Ok(mut addresses)) => addresses.next(),
        Ok(Err(_)) | Err(_) => None,
    };
    let Some(address) = address else {
        let e = Error::Dns { url: host.clone(), message: "no address found for it".into() };
        return Step {
            next: Some(
                "Look for a typo in the host name; check that this machine is online, and, on a company \
                 network, whether the name resolves only on its VPN."
                    .into(),
            ),
            ..failed(StepName::Host, "The host cannot be found", &e, None)
        };
    };
    let route = crate::proxy::route().describe_for(&url);
    let started_http = Instant::now();
    let answer = match crate::http::http_client() {
        Ok(http) => http
            .get(url.clone())
            .timeout(HOST_LIMIT)
            .send()
            .await
            .map_err(|e| crate::http::network_error(base_url.to_owned(), e)),
        Err(e) => Err(e),
    };
    let millis = started_http.elapsed().as_millis() as u64;
    let shown = match host.trim_matches(['[', ']']) == address.ip().to_string() {
        true => host.clone(),
        false => format!("{host} ({})", address.ip()),
    };
    match answer {
        Ok(response) => pass(
            StepName::Host,
            format!("{shown} answered HTTP {} in {millis} ms ({route})", response.status().as_u16()),
            Some(millis),
        ),
        Err(e @ Error::Tls { .. }) => Step {
            next: Some(
                "The server answered, but its certificate is not trusted: check the address (https, the right \
                 host), this machine's date and time, and, behind a company proxy that inspects TLS, that its \
                 root certificate is installed."
                    .into(),
            ),
            ..failed(StepName::Host, &format!("{shown}: the secure connection failed ({route})"), &e, Some(millis))
        },
        Err(e @ Error::Refused { .. }) if route == "direct" => Step {
            next: Some(
                "Check the port in the base URL, and that the server has started (the local sandbox needs \
                 no URL: choose it instead); a firewall that rejects connections looks the same."
                    .into(),
            ),
            ..failed(StepName::Host, &format!("{shown} refused the connection"), &e, Some(millis))
        },
        Err(e @ Error::Timeout(_)) if route == "direct" => Step {
            next: Some(
                "The server took the connection but did not answer in time: it may be overloaded; try again \
                 later, or check a firewall that holds connections."
                    .into(),
            ),
            ..failed(StepName::Host, &format!("{shown} did not answer in time"), &e, Some(millis))
        },
        Err(e) => Step {
            next: Some(match route.as_str() {
                "direct" => "The name resolves but nothing answers: check the port, a firewall, and that the \
                             service is up."
                    .into(),
                _ => format!(
                    "Nothing answered {route}: check the proxy in Settings (or --proxy, HTTPS_PROXY), its \
                     password, and that it lets this host through."
                ),
            }),
            ..failed(
                StepName::Host,
                &format!("{shown} does not answer ({route})"),
                &e,
                Some(started.elapsed().as_millis() as u64),
            )
        },
    }
}

async fn secret_step(service: &Service, destination: Option<&str>) -> (Step, Option<(Service, Option<Destination>)>) {
    let destination = match destination.map(|d| Destination::parse_for(service, d.trim())).transpose() {
        Ok(d) => d,
        Err(e) => return (failed(StepName::Secret, "The destination is not valid", &e, None), None),
    };
    let started = Instant::now();
    let verified = service.verify(destination.as_ref()).await;
    let millis = Some(started.elapsed().as_millis() as u64);
    match verified {
        Ok(v) => {
            let step = match v.unproven {
                Some(why) => Step {
                    verdict: Verdict::Warn,
                    next: Some(why),
                    ..pass(StepName::Secret, format!("Accepted for {}", v.account), millis)
                },
                None => pass(StepName::Secret, format!("Accepted: {}", v.account), millis),
            };
            (step, Some((service.clone(), destination)))
        }
        Err(e) => {
            let next = match e.code() {
                "auth.unauthorized" => "The server refused the secret: sign in again with a current one.",
                "auth.forbidden" => "The secret is known but may not do this: check its role or scopes.",
                "not_found" => "Check the table or asset reference, and that this secret may see it.",
                "input.invalid" => "Give the table (Redivis) or asset (Inspect) the secret is for.",
                _ => "Try again; if it keeps failing, the message above says what the server answered.",
            };
            let step =
                Step { next: Some(next.into()), ..failed(StepName::Secret, "The secret was not accepted", &e, millis) };
            (step, None)
        }
    }
}

async fn round_trip(service: &Service, destination: Option<&Destination>) -> Step {
    let started = Instant::now();
    let file = match one_byte_file() {
        Ok(f) => f,
        Err(e) => return failed(StepName::RoundTrip, "A test file could not be made", &e, None),
    };
    let none = Arc::new(|_: u64| {});
    let sent = match (service, destination) {
        (Service::TrustedTwin(tt), _) => {
            let sent = async {
                let target = tt.create_upload_url().await?;
                let sent = tt.upload(&target, &file.1, none, None).await;
                // Revoked whatever the PUT did: the URL is a credential, and its bytes are not
                // wanted. Never attached, nothing stays.
                tt.invalidate_upload_url(&target.handler).await?;
                sent
            };
            sent.await.map(|_| "A fresh upload URL took 1 byte; it was revoked, and nothing was attached")
        }
        (Service::Redivis(r), Some(Destination::Table(table))) => {
            let sent = async {
                let item = crate::service::redivis::NewTempUpload {
                    name: "twindrop-doctor".into(),
                    size: 1,
                    resumable: false,
                };
                let target = r.create_temp_uploads(table, &[item]).await?.pop();
                let target = target.ok_or_else(|| Error::BadResponse("tempUploads answered nothing".into()))?;
                let journal = crate::journal::Journal::open(&file.0.path().join("journal.sqlite"))?;
                r.upload(&target, &file.1, &journal, none, None, crate::transfer::resumable::CHUNK_QUANTUM).await
            };
            sent.await.map(|_| "A temp upload took 1 byte; it was never added to the table and expires on its own")
        }
        (Service::Hbr(h), _) => {
            let sent = async {
                let target = h.create_temp_file_upload_url("twindrop-doctor-check").await?;
                h.upload(&target, &file.1, "application/octet-stream", none, None).await
            };
            sent.await.map(|_| "A temporary file took 1 byte and its checksum matched; it expires on its own")
        }
        (Service::Inspect(_), _) => {
            return skip(
                StepName::RoundTrip,
                "Not tried: every Inspect upload leaves a file on the asset, and nothing may be left behind",
            )
        }
        (Service::Redivis(_), _) => return skip(StepName::RoundTrip, "Not tried: no table was given"),
    };
    let millis = Some(started.elapsed().as_millis() as u64);
    match sent {
        Ok(summary) => pass(StepName::RoundTrip, summary.into(), millis),
        Err(e) => Step {
            next: Some(
                "Signing in works but uploads do not: check the account's upload rights, quota and the storage \
                 host (a proxy may block it)."
                    .into(),
            ),
            ..failed(StepName::RoundTrip, "One byte could not be sent", &e, millis)
        },
    }
}

/// A private 1-byte file, removed when dropped.
fn one_byte_file() -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().map_err(|e| Error::Setup(format!("a temporary folder: {e}")))?;
    let path = dir.path().join("twindrop-doctor.txt");
    std::fs::write(&path, b"1").map_err(|e| Error::file(&path, e))?;
    Ok((dir, path))
}

fn pass(name: StepName, summary: String, millis: Option<u64>) -> Step {
    Step { name, verdict: Verdict::Pass, summary, next: None, code: None, millis }
}

fn skip(name: StepName, why: &str) -> Step {
    Step { name, verdict: Verdict::Skip, summary: why.into(), next: None, code: None, millis: None }
}

fn failed(name: StepName, what: &str, e: &Error, millis: Option<u64>) -> Step {
    let info = e.info();
    Step {
        name,
        verdict: Verdict::Fail,
        summary: format!("{what}: {}", info.message),
        next: None,
        code: Some(info.code),
        millis,
    }
}
