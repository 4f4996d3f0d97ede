//! The Inspect part of the emulator's state: the files presigned URLs were asked for, and the key
//! that signs those URLs. It lives inside the one `store::State`, so it is written to
//! `state.json` with everything else and survives restarts with a state directory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::Timestamp;

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct InspectState {
    /// The HMAC-SHA256 key of the emulator's presigned URLs (hex), random per state: URLs handed
    /// out before a restart stay valid after it.
    pub(crate) signing_key: String,
    /// Keyed by file id.
    pub(crate) files: BTreeMap<String, InspectFile>,
}

impl Default for InspectState {
    fn default() -> Self {
        let key = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        InspectState { signing_key: key, files: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InspectFile {
    pub(crate) id: String,
    /// Hyphenated, lowercase.
    pub(crate) asset_id: String,
    pub(crate) name: String,
    pub(crate) content_type: String,
    pub(crate) size: u64,
    /// Base64 of the raw SHA-256, as the client declared it (strictly decoded, so canonical).
    pub(crate) hash: String,
    pub(crate) created_ts: Timestamp,
    /// The bytes went to the external data plane (`Config::inspect_data_plane`), not here.
    pub(crate) delegated: bool,
    /// Set when a PUT to the emulator's presigned URL delivered the declared bytes.
    pub(crate) uploaded: Option<Uploaded>,
    /// Marked fully uploaded by Complete.
    pub(crate) completed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Uploaded {
    /// Lowercase hex, the ETag of the PUT.
    pub(crate) md5: String,
    pub(crate) uploaded_ts: Timestamp,
}

impl InspectFile {
    /// One item of the (emulator-only) listing of an asset's files.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "hash": self.hash,
            "contentType": self.content_type,
            "completed": self.completed,
        })
    }
}

impl InspectState {
    /// A completed file of `asset_id` with this content: the "already uploaded" answer (D-S4).
    pub(crate) fn completed_with(&self, asset_id: &str, hash: &str) -> Option<&InspectFile> {
        self.files.values().find(|file| file.completed && file.asset_id == asset_id && file.hash == hash)
    }

    /// The files of an asset, oldest first.
    pub(crate) fn of_asset(&self, asset_id: &str) -> Vec<&InspectFile> {
        let mut files: Vec<&InspectFile> = self.files.values().filter(|file| file.asset_id == asset_id).collect();
        files.sort_by(|a, b| a.created_ts.cmp(&b.created_ts).then_with(|| a.id.cmp(&b.id)));
        files
    }
}
