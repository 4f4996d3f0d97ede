//! What a destination holds and the digest the service recorded for each file, read back for
//! `verify`. A capability like [`super::upload_api::Listing`], apart because only `verify` needs
//! it: a service that cannot be read back says why instead ([`super::UploadApi::holdings`]).

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

use crate::destination::Destination;
use crate::doc::DocStatus;
use crate::error::Result;

/// A digest as the service recorded it, normalised to lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "algorithm", content = "hex", rename_all = "snake_case")]
pub enum Digest {
    /// Trusted Twin's `creation_certificate.hash`.
    Sha256(String),
    /// Redivis's `md5Hash` (base64 on the wire).
    Md5(String),
}

impl Digest {
    pub fn hex(&self) -> &str {
        match self {
            Digest::Sha256(h) | Digest::Md5(h) => h,
        }
    }
}

/// One file a destination holds.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    pub name: String,
    pub size: Option<u64>,
    /// `None`: the service recorded none (a Doc attached without a hash).
    pub digest: Option<Digest>,
    pub status: DocStatus,
    pub created_ts: Option<f64>,
    pub updated_ts: Option<f64>,
    /// What the service certifies of the file's creation, as it answered it (Trusted Twin's
    /// `creation_certificate`: `created_ts`, `creator`, `size`, `hash`).
    pub certificate: Option<Value>,
}

/// A destination's files with their recorded digests.
pub trait Holdings: Send + Sync {
    /// Which digest this service records (and so which one a local file is hashed for).
    fn algorithm(&self) -> Algorithm;
    /// Every file at `dest`, sorted by name.
    fn held<'a>(&'a self, dest: &'a Destination) -> BoxFuture<'a, Result<Vec<Held>>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    Sha256,
    Md5,
}
