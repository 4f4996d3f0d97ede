//! A Doc of the open session's Twin, one at a time: its bytes saved where the user chose, and
//! the local file it came from, by the journal's word.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::App;
use crate::error::Result;
use crate::service::Destination;
use crate::transfer::download::Saved;
use crate::TwinId;

/// The file a Doc was sent from, as the journal recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LocalFile {
    pub path: String,
    /// Whether a file is still at `path` (it may have been moved or deleted since).
    pub present: bool,
}

impl App {
    /// Save Doc `name`'s bytes at `target` (a place the user chose), checked against the
    /// SHA-256 the Doc recorded; `replace`: the user agreed to replace a file already there.
    pub async fn download_doc(&self, twin: &TwinId, name: &str, target: &Path, replace: bool) -> Result<Saved> {
        let queue = self.queue().await?;
        queue.service().download_doc(twin, name, target, replace).await
    }

    /// The file Doc `name` of `twin` was sent from, when a journal of this session knows it:
    /// the uploads' journal first, then the watched folders'. `None`: neither does.
    pub async fn doc_local_file(&self, twin: &TwinId, name: &str) -> Result<Option<LocalFile>> {
        let queue = self.queue().await?;
        let dest = Destination::Twin(twin.clone());
        let mut journals = vec![queue.journal().clone()];
        if let Ok(watched) = self.folders().await {
            journals.push(watched.queue().journal().clone());
        }
        let base_url = queue.service().base_url().to_owned();
        let name = name.to_owned();
        let found: Option<PathBuf> = tokio::task::spawn_blocking(move || -> Result<Option<PathBuf>> {
            for journal in journals {
                if let Some(doc) = journal.owned_doc(&base_url, &dest, &name)? {
                    return Ok(Some(doc.path));
                }
            }
            Ok(None)
        })
        .await
        .map_err(|e| crate::Error::Internal(format!("journal task failed: {e}")))??;
        Ok(found.map(|path| LocalFile {
            present: std::fs::metadata(&path).is_ok_and(|m| m.is_file()),
            path: path.display().to_string(),
        }))
    }
}
