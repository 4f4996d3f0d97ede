//! Alibaba Cloud Backup (HBR)'s `CreateTempFileUploadUrl` and `GetTempFileDownloadLink` (spec
//! `other-apis.md` §3, decisions D-H1..D-H3, seed 001), on the same server and port as Trusted
//! Twin: `POST /hbr/?FileName=...`, RPC style, the action in `x-acs-action` (or `Action` with V2
//! query signing), every request's signature verified.
//!
//! `CreateTempFileUploadUrl` answers what an OSS PostObject form needs: the form target, a key, the
//! emulator's OSS AccessKeyId, a policy and its signature (the form itself is `crate::oss`).
//! `GetTempFileDownloadLink` answers a signed GET URL of the object.
//!
//! # Layout
//!
//! - [`Hbr`] (this file): which secrets sign requests, the form target, the routes.
//! - `error`: `{"RequestId", "Code", "Message", "HostId"}`.
//! - `signature`: ACS3-HMAC-SHA256 (V3) and HMAC-SHA1 query (V2) request signatures.
//! - `actions`: the two actions.

mod actions;
mod error;
mod signature;

use std::sync::Arc;

use axum::routing::post;
use axum::Router;
use uuid::Uuid;

use crate::app::App;
use crate::config::{AccessKey, HbrFormTarget};
use crate::Config;

pub(crate) use error::HbrError;

pub(crate) struct Hbr {
    /// The emulator's secrets (those of `--secret` and of `--users`), raw, to verify HMACs with.
    /// Kept in memory only.
    secrets: Vec<String>,
    /// AccessKeyIds pinned to one secret (`Config::hbr_access_key`).
    pinned: Vec<AccessKey>,
    pub(crate) form_target: Option<HbrFormTarget>,
    /// The upper bound of `content-length-range` in the policies.
    pub(crate) max_size: u64,
}

impl Hbr {
    pub(crate) fn new(config: &Config) -> Hbr {
        let secrets = config
            .secrets
            .iter()
            .chain(config.users.iter().map(|user| &user.secret))
            .filter(|secret| !secret.is_empty())
            .cloned()
            .collect();
        Hbr {
            secrets,
            pinned: config.hbr_access_keys.clone(),
            form_target: config.hbr_form_target.clone(),
            max_size: config.oss_max_size,
        }
    }
}

/// An Alibaba Cloud request id: an uppercase UUID.
pub(crate) fn request_id() -> String {
    Uuid::new_v4().hyphenated().to_string().to_uppercase()
}

pub(crate) fn router() -> Router<Arc<App>> {
    Router::new().route("/hbr", post(actions::dispatch)).route("/hbr/", post(actions::dispatch))
}
