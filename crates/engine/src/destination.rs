//! Which service a job speaks and where in it the files go: the words the journal, the queue
//! and every service share. Low on purpose: the journal reads and writes these without knowing
//! the services (`service` re-exports them, with the methods that need a client).

use std::fmt;

use crate::error::{Error, Invalid, Result};

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
            _ => Err(Error::invalid(
                Invalid::Service,
                format!("service {s:?}: use trusted-twin, redivis, inspect or hbr"),
            )),
        }
    }

    /// As the journal's `service` column keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::TrustedTwin => "trusted_twin",
            ServiceKind::Redivis => "redivis",
            ServiceKind::Inspect => "inspect",
            ServiceKind::Hbr => "hbr",
        }
    }

    /// As people name the service.
    pub fn display_name(self) -> &'static str {
        match self {
            ServiceKind::TrustedTwin => "Trusted Twin",
            ServiceKind::Redivis => "Redivis",
            ServiceKind::Inspect => "Screening Eagle Inspect",
            ServiceKind::Hbr => "Alibaba HBR",
        }
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
    /// As the journal's `destination` column keeps it.
    pub fn as_str(&self) -> &str {
        match self {
            Destination::Twin(t) => t.as_str(),
            Destination::Table(t) => t.as_str(),
            Destination::Asset(a) => a.as_str(),
            Destination::TempFiles => "hbr-temp",
        }
    }

    /// Read back from text (the journal, a command line, settings) for a service of `kind`.
    pub fn parse(kind: ServiceKind, s: &str) -> Result<Self> {
        Ok(match kind {
            ServiceKind::TrustedTwin => Destination::Twin(TwinId::parse(s)?),
            ServiceKind::Redivis => Destination::Table(TableRef::parse(s)?),
            ServiceKind::Inspect => Destination::Asset(AssetId::parse(s)?),
            ServiceKind::Hbr => Destination::TempFiles,
        })
    }

    /// The Twin, for what only Trusted Twin does (attach, poll).
    pub fn twin(&self) -> Result<&TwinId> {
        match self {
            Destination::Twin(t) => Ok(t),
            other => Err(Error::invalid(Invalid::Destination, format!("{other} is not a Twin"))),
        }
    }

    /// The table, for what only Redivis does (rawFiles).
    pub fn table(&self) -> Result<&TableRef> {
        match self {
            Destination::Table(t) => Ok(t),
            other => Err(Error::invalid(Invalid::Destination, format!("{other} is not a Redivis table"))),
        }
    }

    /// The asset, for what only Inspect does.
    pub fn asset(&self) -> Result<&AssetId> {
        match self {
            Destination::Asset(a) => Ok(a),
            other => Err(Error::invalid(Invalid::Destination, format!("{other} is not an Inspect asset"))),
        }
    }

    /// The service a destination of this kind belongs to.
    pub fn service(&self) -> ServiceKind {
        match self {
            Destination::Twin(_) => ServiceKind::TrustedTwin,
            Destination::Table(_) => ServiceKind::Redivis,
            Destination::Asset(_) => ServiceKind::Inspect,
            Destination::TempFiles => ServiceKind::Hbr,
        }
    }
}

impl serde::Serialize for Destination {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
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

/// A Twin's UUID. Parsed, so it can go into a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TwinId(String);

impl TwinId {
    pub fn parse(s: &str) -> Result<Self> {
        let id = uuid_like(s.trim())
            .ok_or_else(|| Error::invalid(Invalid::Destination, format!("{:?} is not a Twin UUID", snippet(s))))?;
        Ok(TwinId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TwinId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn uuid_like(s: &str) -> Option<String> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups.iter().zip(lens).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then(|| s.to_ascii_lowercase())
}

/// A qualified table reference such as `user.dataset:v1.table`. It goes into a URL path as one
/// segment (percent-encoded, `:` included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableRef(String);

impl TableRef {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= 512
            && s.contains('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/');
        if !ok {
            return Err(Error::invalid(
                Invalid::Destination,
                format!("{s:?} is not a Redivis table reference like user.dataset:v1.table"),
            ));
        }
        Ok(TableRef(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An asset's UUID: where the files go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssetId(String);

impl AssetId {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        uuid::Uuid::parse_str(s)
            .map_err(|_| Error::invalid(Invalid::Destination, format!("{s:?} is not an asset UUID")))?;
        Ok(AssetId(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The start of what was given, redacted: enough to recognise it in an error.
fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(160).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    crate::redact::redact_text(&out)
}
