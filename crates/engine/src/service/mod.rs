//! One module per upload API. Each says how to get an upload target, which transfer moves the
//! bytes, and how to finalize and read back status. [`Service`] is the one the queue drives;
//! [`Destination`] is where in it the files go.

pub mod hbr;
pub mod inspect;
pub mod redivis;
pub mod trusted_twin;

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use hbr::Hbr;
use inspect::{AssetId, Inspect};
use redivis::{Redivis, TableRef};
use trusted_twin::{TrustedTwin, TwinId};

/// Parse and normalise a service base URL: http(s), no query, no trailing slash, and plain HTTP
/// only to this machine.
pub fn parse_base_url(s: &str) -> Result<url::Url> {
    let url = url::Url::parse(s.trim()).map_err(|e| Error::Input(format!("{s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Input(format!("{s:?} must be an http(s) URL with a host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Input(format!("{s:?} must not carry a query or fragment")));
    }
    require_tls_off_loopback(&url)?;
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

pub(crate) use crate::http::{
    bearer_clients, http_builder, read_body, require_tls_off_loopback, retry_after, status_error, ANSWER_LIMIT,
};
pub use crate::http::{http_client, API_TIMEOUT};

/// Which API a profile speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    #[default]
    TrustedTwin,
    Redivis,
    Inspect,
    Hbr,
}

impl ServiceKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s.replace('-', "_").as_str() {
            "trusted_twin" | "tt" => Ok(ServiceKind::TrustedTwin),
            "redivis" => Ok(ServiceKind::Redivis),
            "inspect" => Ok(ServiceKind::Inspect),
            "hbr" => Ok(ServiceKind::Hbr),
            _ => Err(Error::Input(format!("service {s:?}: use trusted-twin, redivis, inspect or hbr"))),
        }
    }

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

    /// Prove the secret works with the nearest each service has to "who am I", and return
    /// who we are to show. Trusted Twin has `whoami`; Redivis and Inspect tokens may be scoped
    /// to what they can see, so they are checked by reading the destination (which they need
    /// for that); HBR is checked by signing a harmless CreateTempFileUploadUrl.
    pub async fn verify(&self, destination: Option<&Destination>) -> Result<String> {
        match (self, destination) {
            (Service::TrustedTwin(tt), _) => tt.whoami().await,
            (Service::Redivis(r), Some(Destination::Table(t))) => {
                r.get_table(t).await?;
                Ok(format!("table {t}"))
            }
            (Service::Inspect(i), Some(Destination::Asset(a))) => {
                i.asset_files(a).await?;
                Ok(format!("asset {a}"))
            }
            (Service::Hbr(h), _) => {
                h.create_temp_file_upload_url("twindrop-login-check").await?;
                Ok(format!("AccessKey {}", h.access_key_id()))
            }
            (Service::Redivis(_), _) => {
                Err(Error::Input("a Redivis login needs the table reference to check it".into()))
            }
            (Service::Inspect(_), _) => Err(Error::Input("an Inspect login needs the asset ID to check it".into())),
        }
    }

    pub fn trusted_twin(&self) -> Result<&Arc<TrustedTwin>> {
        match self {
            Service::TrustedTwin(tt) => Ok(tt),
            _ => Err(Error::Input("this is not a Trusted Twin account".into())),
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

/// Where files go: a Twin (Trusted Twin), a file-index table (Redivis), an asset (Inspect), or
/// HBR's temporary files (which have no container: the server names each key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Twin(TwinId),
    Table(TableRef),
    Asset(AssetId),
    TempFiles,
}

impl Destination {
    /// As the journal's `twin` column keeps it.
    pub fn as_str(&self) -> &str {
        match self {
            Destination::Twin(t) => t.as_str(),
            Destination::Table(t) => t.as_str(),
            Destination::Asset(a) => a.as_str(),
            Destination::TempFiles => "hbr-temp",
        }
    }

    /// Read back from the journal, for the kind of `service`.
    pub fn parse_for(service: &Service, s: &str) -> Result<Self> {
        Ok(match service {
            Service::TrustedTwin(_) => Destination::Twin(TwinId::parse(s)?),
            Service::Redivis(_) => Destination::Table(TableRef::parse(s)?),
            Service::Inspect(_) => Destination::Asset(AssetId::parse(s)?),
            Service::Hbr(_) => Destination::TempFiles,
        })
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&TwinId> for Destination {
    fn from(t: &TwinId) -> Self {
        Destination::Twin(t.clone())
    }
}

impl From<TwinId> for Destination {
    fn from(t: TwinId) -> Self {
        Destination::Twin(t)
    }
}

impl From<&TableRef> for Destination {
    fn from(t: &TableRef) -> Self {
        Destination::Table(t.clone())
    }
}

impl From<&AssetId> for Destination {
    fn from(a: &AssetId) -> Self {
        Destination::Asset(a.clone())
    }
}
