//! One module per upload API. Each says how to get an upload target, which transfer moves the
//! bytes, and how to finish and read back status, by implementing [`UploadApi`] (a tiny core
//! and optional capabilities: see [`upload_api`], which also says how to add a service).
//! [`Service`] is the handle the rest of the engine and the app hold, and [`Service::api`] the
//! trait object the queue drives; [`Destination`] is where in it the files go.
//!
//! Where each service's upload lives: `trusted_twin/finish.rs` (upload URL, PUT, attach,
//! copy polling), `redivis/finish.rs` (temp uploads, PUT or resumable session, rawFiles),
//! `inspect.rs` (presign with the hash, PUT, complete), `hbr.rs` (signed form target, POST).

pub mod hbr;
pub mod holdings;
pub mod inspect;
pub mod redivis;
pub mod trusted_twin;
pub mod upload_api;

use std::sync::Arc;

pub use crate::destination::{Destination, ServiceKind};
use crate::error::{Error, Invalid, Result};
use hbr::Hbr;
use inspect::Inspect;
use redivis::Redivis;
use trusted_twin::TrustedTwin;
pub use upload_api::UploadApi;

/// Parse and normalise a service base URL: http(s), no query, no trailing slash, and plain HTTP
/// only to this machine.
pub fn parse_base_url(s: &str) -> Result<url::Url> {
    let url =
        url::Url::parse(s.trim()).map_err(|e| Error::invalid(Invalid::Url, format!("{s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid(Invalid::Url, format!("{s:?} must be an http(s) URL with a host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(Invalid::Url, format!("{s:?} must not carry a query or fragment")));
    }
    require_tls_off_loopback(&url)?;
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// A base URL (from [`parse_base_url`]) as the services show it: no trailing slash.
fn base_str(base: &url::Url) -> &str {
    base.as_str().trim_end_matches('/')
}

/// `base` with `segments` appended, each one segment: `push` percent-encodes a '/' inside a
/// segment as %2F, as the official clients do.
fn url_at(base: &url::Url, segments: &[&str]) -> url::Url {
    let mut url = base.clone();
    url.path_segments_mut().expect("http base").pop_if_empty().extend(segments);
    url
}

pub(crate) use crate::http::{
    bearer_clients, http_builder, read_body, require_tls_off_loopback, retry_after, status_error, ANSWER_LIMIT,
};
pub use crate::http::{http_client, API_TIMEOUT};

impl ServiceKind {
    pub fn default_base_url(self) -> &'static str {
        match self {
            ServiceKind::TrustedTwin => trusted_twin::DEFAULT_BASE_URL,
            ServiceKind::Redivis => redivis::DEFAULT_BASE_URL,
            // Inspect's hosts are regional and not published: no default.
            ServiceKind::Inspect => "",
            ServiceKind::Hbr => hbr::DEFAULT_BASE_URL,
        }
    }

    /// A client for this service.
    pub fn connect(self, base_url: &str, secret: crate::credentials::Secret) -> Result<Service> {
        Ok(match self {
            ServiceKind::TrustedTwin => Service::TrustedTwin(Arc::new(TrustedTwin::new(base_url, secret)?)),
            ServiceKind::Redivis => Service::Redivis(Arc::new(Redivis::new(base_url, secret)?)),
            ServiceKind::Inspect => Service::Inspect(Arc::new(Inspect::new(base_url, secret)?)),
            ServiceKind::Hbr => Service::Hbr(Arc::new(Hbr::new(base_url, secret)?)),
        })
    }
}

/// What a secret's check showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who we are, to show.
    pub account: String,
    /// Why the check could not prove the secret, when it could not: said to the user.
    pub unproven: Option<String>,
}

impl Verified {
    fn proven(account: String) -> Self {
        Verified { account, unproven: None }
    }
}

#[derive(Debug, Clone)]
pub enum Service {
    TrustedTwin(Arc<TrustedTwin>),
    Redivis(Arc<Redivis>),
    Inspect(Arc<Inspect>),
    Hbr(Arc<Hbr>),
}

impl Service {
    pub fn base_url(&self) -> &str {
        match self {
            Service::TrustedTwin(tt) => tt.base_url(),
            Service::Redivis(r) => r.base_url(),
            Service::Inspect(i) => i.base_url(),
            Service::Hbr(h) => h.base_url(),
        }
    }

    pub fn kind(&self) -> ServiceKind {
        match self {
            Service::TrustedTwin(_) => ServiceKind::TrustedTwin,
            Service::Redivis(_) => ServiceKind::Redivis,
            Service::Inspect(_) => ServiceKind::Inspect,
            Service::Hbr(_) => ServiceKind::Hbr,
        }
    }

    /// Prove the secret works with the nearest each service has to "who am I", and say who we
    /// are. Trusted Twin has `whoami`; a Redivis token may be scoped to what it can see, so it
    /// is checked by reading the table; HBR by signing a harmless CreateTempFileUploadUrl.
    /// Inspect publishes no read call: its check can only say "accepted" ([`Verified::unproven`]).
    pub async fn verify(&self, destination: Option<&Destination>) -> Result<Verified> {
        match (self, destination) {
            (Service::TrustedTwin(tt), _) => tt.whoami().await.map(Verified::proven),
            (Service::Redivis(r), Some(Destination::Table(t))) => {
                r.get_table(t).await?;
                Ok(Verified::proven(format!("table {t}")))
            }
            (Service::Inspect(i), Some(Destination::Asset(a))) => {
                i.check_token(a).await?;
                Ok(Verified {
                    account: format!("asset {a}"),
                    unproven: Some(
                        "Inspect has no published call that proves a token without uploading: it was \
                         accepted, and the first upload confirms it."
                            .into(),
                    ),
                })
            }
            (Service::Hbr(h), _) => {
                h.create_temp_file_upload_url("twindrop-login-check").await?;
                Ok(Verified::proven(format!("AccessKey {}", h.access_key_id())))
            }
            (Service::Redivis(_), _) => {
                Err(Error::invalid(Invalid::Destination, "a Redivis login needs the table reference to check it"))
            }
            (Service::Inspect(_), _) => {
                Err(Error::invalid(Invalid::Destination, "an Inspect login needs the asset ID to check it"))
            }
        }
    }

    /// The upload API the queue drives: its mandatory core and its capabilities.
    pub fn api(&self) -> &dyn UploadApi {
        match self {
            Service::TrustedTwin(tt) => tt.as_ref(),
            Service::Redivis(r) => r.as_ref(),
            Service::Inspect(i) => i.as_ref(),
            Service::Hbr(h) => h.as_ref(),
        }
    }

    pub fn trusted_twin(&self) -> Result<&Arc<TrustedTwin>> {
        match self {
            Service::TrustedTwin(tt) => Ok(tt),
            _ => Err(Error::Unsupported("this is not a Trusted Twin account".into())),
        }
    }

    /// Save a Doc's bytes at `target`, checked against the SHA-256 it recorded: the app's
    /// "Download…" and `twindrop docs download`. Only Trusted Twin hands out download links;
    /// the other services say so (`service.unsupported`).
    pub async fn download_doc(
        &self,
        twin: &crate::destination::TwinId,
        name: &str,
        target: &std::path::Path,
        replace: bool,
    ) -> Result<crate::transfer::download::Saved> {
        match self {
            Service::TrustedTwin(tt) => tt.download_doc(twin, name, target, replace).await,
            other => Err(Error::Unsupported(format!(
                "downloading a Doc needs a Trusted Twin account; {} has no Docs to download",
                other.kind().display_name()
            ))),
        }
    }
}

impl From<Arc<TrustedTwin>> for Service {
    fn from(tt: Arc<TrustedTwin>) -> Self {
        Service::TrustedTwin(tt)
    }
}

impl From<Arc<Redivis>> for Service {
    fn from(r: Arc<Redivis>) -> Self {
        Service::Redivis(r)
    }
}

impl From<Arc<Inspect>> for Service {
    fn from(i: Arc<Inspect>) -> Self {
        Service::Inspect(i)
    }
}

impl From<Arc<Hbr>> for Service {
    fn from(h: Arc<Hbr>) -> Self {
        Service::Hbr(h)
    }
}

impl Destination {
    /// Read back from text, for the kind of `service`.
    pub fn parse_for(service: &Service, s: &str) -> Result<Self> {
        Destination::parse(service.kind(), s)
    }
}
