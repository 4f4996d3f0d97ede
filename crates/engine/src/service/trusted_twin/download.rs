//! A Doc's bytes: `GET /twins/{twin}/docs/{doc_name}?download=true` hands out a temporary link
//! (spec §3.5), which [`transfer::download`](crate::transfer::download) reads into a file and
//! checks against the SHA-256 the Doc recorded at attach.
//!
//! What the link serves is left open by the docs (".zip format", spec §9 question 13); the
//! emulator serves the Doc's bytes as they were uploaded, and so the bytes are saved as served:
//! the hash check is what tells a wrapper from the Doc (`docs/fidelity.md`).

use std::fmt;
use std::path::Path;

use reqwest::Method;
use serde_json::Value;

use super::{snippet, Doc, DocStatus, TrustedTwin, TwinId};
use crate::error::{Error, Result};
use crate::transfer::download::{save_url, Expect, Saved};

/// A temporary link to a Doc's bytes. The URL is the authorisation: never log it.
#[derive(Clone)]
pub struct DownloadLink {
    pub url: String,
    pub validity_ts: Option<f64>,
}

impl fmt::Debug for DownloadLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadLink").field("validity_ts", &self.validity_ts).finish_non_exhaustive()
    }
}

impl TrustedTwin {
    /// The Doc as read now, and a link to its bytes; `download.unavailable` when the server
    /// gives none (the copy is not `ok`). `name` is the name as listed.
    pub async fn download_link(&self, twin: &TwinId, name: &str) -> Result<(Doc, DownloadLink)> {
        let mut url = self.url(&["twins", twin.as_str(), "docs", name]);
        url.query_pairs_mut().append_pair("download", "true");
        let (_, mut v) = self.call_at(Method::GET, url, None).await?;
        let link = v.as_object_mut().and_then(|o| o.remove("download"));
        let doc: Doc = serde_json::from_value(v).map_err(|e| Error::BadResponse(format!("GET doc {name:?}: {e}")))?;
        let Some(link) = link else {
            let why = match &doc.status {
                DocStatus::Copying => "the server is still copying it; try again once it is ok".to_owned(),
                DocStatus::Ok => "the server gave no download link".to_owned(),
                other => format!("its copy ended {}, so the server holds no bytes to give", other.as_str()),
            };
            return Err(Error::DownloadUnavailable { name: name.to_owned(), why });
        };
        let url = link.get("url").and_then(Value::as_str).ok_or_else(|| {
            Error::BadResponse(format!(
                "GET doc {name:?}?download: a download without a url: {}",
                snippet(&link.to_string())
            ))
        })?;
        Ok((doc, DownloadLink { url: url.to_owned(), validity_ts: link.get("validity_ts").and_then(Value::as_f64) }))
    }

    /// Save Doc `name`'s bytes at `target` through its download link, checked against the
    /// SHA-256 the Doc recorded (when it recorded one). `replace`: an existing file there may
    /// be replaced (else `file.exists`).
    pub async fn download_doc(&self, twin: &TwinId, name: &str, target: &Path, replace: bool) -> Result<Saved> {
        if !replace && std::fs::symlink_metadata(target).is_ok() {
            // Before asking for a link: nothing is fetched that could not be saved.
            return Err(Error::FileExists { path: target.to_owned() });
        }
        let (doc, link) = self.download_link(twin, name).await?;
        let expect = Expect { name, sha256: doc.sha256() };
        save_url(&self.http, &link.url, target, expect, replace).await
    }
}
