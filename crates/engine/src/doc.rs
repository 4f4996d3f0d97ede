//! What a Doc is to the journal and the queue: its status on the server, its storage class,
//! and what to do when its name is taken. Low, like `destination`: the journal keeps these
//! typed; `service::trusted_twin` and `queue` re-export them where they were first defined.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    Copying,
    Ok,
    HashMismatch,
    Error,
    /// Delivered, but the storage answered with no checksum to hold ours against (an OSS form
    /// answered without `x-oss-hash-crc64ecma` or an MD5 ETag): nobody vouches for the bytes.
    Unverified,
    #[serde(untagged)]
    Other(String),
}

impl DocStatus {
    pub fn is_terminal(&self) -> bool {
        !matches!(self, DocStatus::Copying)
    }

    pub fn as_str(&self) -> &str {
        match self {
            DocStatus::Copying => "copying",
            DocStatus::Ok => "ok",
            DocStatus::HashMismatch => "hash_mismatch",
            DocStatus::Error => "error",
            DocStatus::Unverified => "unverified",
            DocStatus::Other(s) => s,
        }
    }

    /// Read back from text this code wrote (or the server sent); never fails, since a status
    /// this version does not know is kept as it is.
    pub fn parse(s: &str) -> Self {
        match s {
            "copying" => DocStatus::Copying,
            "ok" => DocStatus::Ok,
            "hash_mismatch" => DocStatus::HashMismatch,
            "error" => DocStatus::Error,
            "unverified" => DocStatus::Unverified,
            other => DocStatus::Other(other.to_owned()),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageClass {
    #[default]
    AccessOptimized,
    CostOptimized,
}

impl StorageClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::AccessOptimized => "access_optimized",
            StorageClass::CostOptimized => "cost_optimized",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "access_optimized" => Ok(StorageClass::AccessOptimized),
            "cost_optimized" => Ok(StorageClass::CostOptimized),
            _ => Err(Error::invalid(
                Invalid::StorageClass,
                format!("storage class {s:?}: use access_optimized or cost_optimized"),
            )),
        }
    }
}

/// What to do when a Doc of the same name but other content is already on the Twin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    Skip,
    /// Attach under the first free `name-N` (the default: nothing is lost or overwritten).
    #[default]
    Rename,
    /// Delete the existing Doc, then attach.
    Replace,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::Skip => "skip",
            ConflictPolicy::Rename => "rename",
            ConflictPolicy::Replace => "replace",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "skip" => Ok(ConflictPolicy::Skip),
            "rename" => Ok(ConflictPolicy::Rename),
            "replace" => Ok(ConflictPolicy::Replace),
            _ => Err(Error::invalid(
                Invalid::ConflictPolicy,
                format!("conflict policy {s:?}: use skip, rename or replace"),
            )),
        }
    }
}
