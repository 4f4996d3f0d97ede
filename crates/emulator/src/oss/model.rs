//! The OSS part of the emulator's state: the objects PostObject stored, and the emulator's own
//! OSS AccessKeyId and secret (random per state, so the policies and links handed out before a
//! restart still verify after it). It lives inside the one `store::State`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::store::Tracked;

/// "HBR periodically deletes files uploaded to OSS" (seed 001); D-O5 assumes a day.
pub(crate) const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Old objects are looked for at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OssState {
    pub(crate) access_key_id: String,
    pub(crate) access_key_secret: String,
    /// Keyed by `{bucket}/{key}`.
    pub(crate) objects: Tracked<String, OssObject>,
    #[serde(skip)]
    next_sweep: Option<Timestamp>,
}

impl Default for OssState {
    fn default() -> Self {
        let id = Uuid::new_v4().simple().to_string().to_uppercase();
        let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        OssState {
            // The shape of a real one: "LTAI" and 20 more letters and digits.
            access_key_id: format!("LTAI{}", &id[..20]),
            access_key_secret: secret[..30].to_owned(),
            objects: Tracked::default(),
            next_sweep: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OssObject {
    pub(crate) bucket: String,
    pub(crate) key: String,
    /// The name of its file under `<blobs>/oss/`.
    pub(crate) blob: String,
    pub(crate) size: u64,
    /// Uppercase hex, as the ETag shows it.
    pub(crate) md5: String,
    /// CRC-64/XZ (ECMA-182), as `x-oss-hash-crc64ecma` shows it.
    pub(crate) crc64: u64,
    pub(crate) content_type: String,
    pub(crate) created_ts: Timestamp,
}

impl OssState {
    pub(crate) fn object(&self, bucket: &str, key: &str) -> Option<&OssObject> {
        self.objects.get(&format!("{bucket}/{key}"))
    }

    /// Stores an object; returns the one it replaced (whose blob must go).
    pub(crate) fn put(&mut self, object: OssObject) -> Option<OssObject> {
        self.objects.insert(format!("{}/{}", object.bucket, object.key), object)
    }

    /// Forgets objects older than [`RETENTION`], at most once a minute; returns them so their
    /// blobs can be deleted.
    pub(crate) fn sweep(&mut self, now: Timestamp) -> Vec<OssObject> {
        if self.next_sweep.is_some_and(|next| now < next) {
            return Vec::new();
        }
        self.next_sweep = Some(now.plus(SWEEP_EVERY));
        let old: Vec<String> = self
            .objects
            .iter()
            .filter(|(_, object)| now > object.created_ts.plus(RETENTION))
            .map(|(name, _)| name.clone())
            .collect();
        old.iter().filter_map(|name| self.objects.remove(name)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn objects_are_kept_a_day() {
        let now = Clock::default().now();
        let mut state = OssState::default();
        assert!(state.access_key_id.starts_with("LTAI") && state.access_key_id.len() == 24);
        let object = OssObject {
            bucket: "b".into(),
            key: "k".into(),
            blob: "x".into(),
            size: 0,
            md5: String::new(),
            crc64: 0,
            content_type: String::new(),
            created_ts: now,
        };
        assert!(state.put(object.clone()).is_none());
        assert!(state.put(object).is_some(), "the same key replaces");
        assert!(state.sweep(now.plus(Duration::from_secs(3600))).is_empty());
        assert_eq!(state.sweep(now.plus(RETENTION + Duration::from_secs(120))).len(), 1);
        assert!(state.object("b", "k").is_none());
    }
}
