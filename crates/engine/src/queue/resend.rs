//! Sending a Doc again: the app's "Send again" on a Doc whose copy ended badly, and
//! `twindrop docs resend`. The Doc is replaced only by the file it came from, and only once
//! that file is known to be there to take its place.

use super::{EventSink, Queue};
use crate::error::{Error, Result};
use crate::naming::DocName;
use crate::service::trusted_twin::DocStatus;
use crate::service::Destination;
use crate::TwinId;

impl Queue {
    /// Send Doc `name` of `twin` again when its copy ended `hash_mismatch` or `error`: find the
    /// file it came from in the journal, check that the file is still there, delete the Doc,
    /// and queue the file under the same name. Returns the new job's id; its events go to `sink`.
    pub async fn resend_doc(&self, twin: &TwinId, name: &DocName, sink: &EventSink) -> Result<Vec<u64>> {
        let tt = self.service().trusted_twin()?.clone();
        let doc = tt.get_doc(twin, name).await?;
        if !matches!(doc.status, DocStatus::HashMismatch | DocStatus::Error) {
            let status = doc.status.as_str();
            return Err(Error::RetryRefused(format!(
                "Doc {:?} is {status}: only a hash_mismatch or error Doc is sent again",
                name.as_str()
            )));
        }
        let source = self
            .journal()
            .latest_finished_named(self.base_url(), &Destination::Twin(twin.clone()), name.as_str())?
            .ok_or_else(|| {
                Error::RetryRefused(format!(
                    "Twindrop has no record of the file behind Doc {:?}, so it cannot send it again",
                    name.as_str()
                ))
            })?;
        // The file first: a Doc is only deleted when its file can take its place.
        match std::fs::metadata(&source.path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(Error::NotAFile { path: source.path }),
            Err(e) => return Err(Error::file(&source.path, e)),
        }
        match tt.delete_doc(twin, name).await {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let names = [Ok(name.as_str().to_owned())];
        self.enqueue_named(Destination::Twin(twin.clone()), &[source.path], Some(&names), None, sink).await
    }
}
