//! The Inspect part of the emulator's state: the files presigned URLs were asked for, and the key
//! that signs those URLs. It lives inside the one `store::State`, so it is logged with everything
//! else and survives restarts with a state directory.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::store::Tracked;

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct InspectState {
    /// The HMAC-SHA256 key of the emulator's presigned URLs (hex), random per state: URLs handed
    /// out before a restart stay valid after it.
    pub(crate) signing_key: String,
    /// Keyed by file id. Add with [`InspectState::insert_file`] and complete with
    /// [`InspectState::complete`], which keep the indexes below.
    pub(crate) files: Tracked<String, InspectFile>,
    /// Asset id → its files' ids; rebuilt on load.
    #[serde(skip)]
    by_asset: HashMap<String, BTreeSet<String>>,
    /// (asset id, hash) → the completed files with that content; rebuilt on load.
    #[serde(skip)]
    completed: HashMap<(String, String), BTreeSet<String>>,
}

impl Default for InspectState {
    fn default() -> Self {
        let key = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        InspectState {
            signing_key: key,
            files: Tracked::default(),
            by_asset: HashMap::new(),
            completed: HashMap::new(),
        }
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
    /// Of several, the one with the smallest id. Looked up, not searched for.
    pub(crate) fn completed_with(&self, asset_id: &str, hash: &str) -> Option<&InspectFile> {
        let ids = self.completed.get(&(asset_id.to_owned(), hash.to_owned()))?;
        ids.iter().find_map(|id| self.files.get(id))
    }

    pub(crate) fn insert_file(&mut self, file: InspectFile) {
        self.by_asset.entry(file.asset_id.clone()).or_default().insert(file.id.clone());
        if file.completed {
            self.completed.entry((file.asset_id.clone(), file.hash.clone())).or_default().insert(file.id.clone());
        }
        self.files.insert(file.id.clone(), file);
    }

    /// Marks a file fully uploaded (Complete).
    pub(crate) fn complete(&mut self, id: &str) {
        if let Some(file) = self.files.get_mut(id) {
            file.completed = true;
            self.completed.entry((file.asset_id.clone(), file.hash.clone())).or_default().insert(file.id.clone());
        }
    }

    /// Rebuilds the indexes after a load.
    pub(crate) fn reindex(&mut self) {
        self.by_asset.clear();
        self.completed.clear();
        for file in self.files.values() {
            self.by_asset.entry(file.asset_id.clone()).or_default().insert(file.id.clone());
            if file.completed {
                self.completed.entry((file.asset_id.clone(), file.hash.clone())).or_default().insert(file.id.clone());
            }
        }
    }

    /// The files of an asset, oldest first.
    pub(crate) fn of_asset(&self, asset_id: &str) -> Vec<&InspectFile> {
        let ids = self.by_asset.get(asset_id).into_iter().flatten();
        let mut files: Vec<&InspectFile> = ids.filter_map(|id| self.files.get(id)).collect();
        files.sort_by(|a, b| a.created_ts.cmp(&b.created_ts).then_with(|| a.id.cmp(&b.id)));
        files
    }
}
