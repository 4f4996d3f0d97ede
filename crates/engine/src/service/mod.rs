//! One module per upload API. Each says how to get an upload target, which transfer moves the
//! bytes, and how to finalize and read back status. [`Service`] is the one the queue drives;
//! [`Destination`] is where in it the files go.

pub mod redivis;
pub mod trusted_twin;

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use redivis::{Redivis, TableRef};
use trusted_twin::{TrustedTwin, TwinId};

/// Which API a profile speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    #[default]
    TrustedTwin,
    Redivis,
}

impl ServiceKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s.replace('-', "_").as_str() {
            "trusted_twin" | "tt" => Ok(ServiceKind::TrustedTwin),
            "redivis" => Ok(ServiceKind::Redivis),
            _ => Err(Error::Input(format!("service {s:?}: use trusted-twin or redivis"))),
        }
    }

    pub fn default_base_url(self) -> &'static str {
        match self {
            ServiceKind::TrustedTwin => trusted_twin::DEFAULT_BASE_URL,
            ServiceKind::Redivis => redivis::DEFAULT_BASE_URL,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Service {
    TrustedTwin(Arc<TrustedTwin>),
    Redivis(Arc<Redivis>),
}

impl Service {
    pub fn base_url(&self) -> &str {
        match self {
            Service::TrustedTwin(tt) => tt.base_url(),
            Service::Redivis(r) => r.base_url(),
        }
    }

    pub fn kind(&self) -> ServiceKind {
        match self {
            Service::TrustedTwin(_) => ServiceKind::TrustedTwin,
            Service::Redivis(_) => ServiceKind::Redivis,
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

/// Where files go: a Twin (Trusted Twin) or a file-index table (Redivis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Twin(TwinId),
    Table(TableRef),
}

impl Destination {
    /// As the journal's `twin` column keeps it.
    pub fn as_str(&self) -> &str {
        match self {
            Destination::Twin(t) => t.as_str(),
            Destination::Table(t) => t.as_str(),
        }
    }

    /// Read back from the journal, for the kind of `service`.
    pub fn parse_for(service: &Service, s: &str) -> Result<Self> {
        Ok(match service {
            Service::TrustedTwin(_) => Destination::Twin(TwinId::parse(s)?),
            Service::Redivis(_) => Destination::Table(TableRef::parse(s)?),
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
