//! How a file reaches a Redivis table, as the queue drives it ([`UploadApi`]): a temp upload
//! (asked for a whole drop at enqueue, [`Prefetch`]; a new one when it has expired), one PUT or
//! a resumable session, then `POST /tables/{ref}/rawFiles`, many files per request
//! ([`Finishing`]). The server takes a request whole or not at all and answers at once (no
//! copy to poll), with each file's MD5, which is checked against ours.
//!
//! A refused request is split to find the refused file. A job whose request may have landed
//! (`attach_sent`: the answer was lost, or we were killed) is sent again on its own. If the
//! earlier request did land, the server refuses the reused temp upload (`temp_upload_used`),
//! which settles it as done: a file is never made twice. A name taken by another file follows
//! the conflict policy (Redivis cannot replace, so `replace` fails with a clear error).

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{codes, is_code, NewTempUpload, RawFile, Redivis, TempUpload, BATCH_LIMIT, TARGET_LIFETIME};
use crate::destination::Destination;
use crate::doc::{ConflictPolicy, DocStatus};
use crate::error::{Error, Invalid, Result};
use crate::journal::{Job, JobName};
use crate::retry::RetryPolicy;
use crate::service::holdings::{Algorithm, Digest, Held};
use crate::service::upload_api::split_ext;
pub use crate::service::upload_api::with_suffix;
use crate::service::upload_api::{
    epoch_now, live, remember, FinishCx, Finishing, Holdings, Outcome, Prefetch, PrefetchedTarget, Prepared, Round,
    SendCx, UploadApi, RENAME_TRIES,
};
use crate::transfer::Sent;

impl UploadApi for Redivis {
    fn target<'a>(&'a self, job: &'a mut Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Prepared>> {
        async move {
            if TempUpload::from_job(job).is_none() || !live(job.url_valid_until) {
                let table = job.destination.table()?;
                let wanted = NewTempUpload {
                    name: job.doc_name.to_string(),
                    size: job.size,
                    resumable: job.size > cx.resumable_above,
                };
                let target = self.create_temp_uploads(table, &[wanted]).await?.remove(0);
                let valid_until = epoch_now() + TARGET_LIFETIME.as_secs_f64();
                let transfer = target.journal_target(valid_until).transfer;
                remember(cx.journal, job, &target.id, &target.url, valid_until, transfer, None)?;
            }
            Ok(Prepared::Send { signed_for: None })
        }
        .boxed()
    }

    fn send<'a>(&'a self, job: &'a Job, cx: &'a SendCx<'a>) -> BoxFuture<'a, Result<Sent>> {
        async move {
            let target = TempUpload::from_job(job)
                .ok_or_else(|| Error::Journal(format!("job {} has no temp upload on record", job.id)))?;
            self.upload(&target, &job.path, cx.journal, cx.progress.clone(), cx.bwlimit.clone(), cx.chunk_size).await
        }
        .boxed()
    }

    fn finishing(&self) -> Option<&dyn Finishing> {
        Some(self)
    }

    fn prefetch(&self) -> Option<&dyn Prefetch> {
        Some(self)
    }

    fn holdings(&self) -> std::result::Result<&dyn Holdings, &'static str> {
        Ok(self)
    }
}

/// A file-index table's files with the MD5 Redivis keeps of each. A file in the listing is
/// complete (rawFiles takes only finished temp uploads), so its status is `ok`.
impl Holdings for Redivis {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Md5
    }

    fn held<'a>(&'a self, dest: &'a Destination) -> BoxFuture<'a, Result<Vec<Held>>> {
        async move {
            let mut files: Vec<Held> = self
                .list_raw_files(dest.table()?)
                .await?
                .into_iter()
                .map(|f| Held {
                    digest: f.md5_hash.as_deref().map(|m| Digest::Md5(crate::hash::md5_hex(m).to_ascii_lowercase())),
                    size: f.size,
                    name: f.name,
                    status: DocStatus::Ok,
                    created_ts: None,
                    updated_ts: None,
                    certificate: None,
                })
                .collect();
            files.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(files)
        }
        .boxed()
    }
}

impl Prefetch for Redivis {
    fn targets<'a>(
        &'a self,
        dest: &'a Destination,
        files: Vec<(String, u64)>,
        resumable_above: u64,
        retry: &'a RetryPolicy,
    ) -> BoxFuture<'a, Result<Vec<PrefetchedTarget>>> {
        async move {
            let Destination::Table(table) = dest else { return Ok(vec![]) };
            let wanted: Vec<NewTempUpload> = files
                .into_iter()
                .map(|(name, size)| NewTempUpload { name, size, resumable: size > resumable_above })
                .collect();
            if wanted.is_empty() {
                return Ok(vec![]);
            }
            let got = crate::retry::retry(retry, || self.create_temp_uploads(table, &wanted), |_, _| {}).await?;
            let valid_until = epoch_now() + TARGET_LIFETIME.as_secs_f64();
            Ok(got
                .iter()
                .map(|t| {
                    let journal = t.journal_target(valid_until);
                    PrefetchedTarget {
                        upload_id: t.id.clone(),
                        url: t.url.clone(),
                        valid_until,
                        transfer: journal.transfer,
                    }
                })
                .collect())
        }
        .boxed()
    }
}

impl Finishing for Redivis {
    fn max_batch(&self, _: &FinishCx<'_>) -> usize {
        BATCH_LIMIT
    }

    fn send<'a>(&'a self, batch: Vec<Job>, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        self.finalize_batch(batch, cx).boxed()
    }

    fn in_doubt<'a>(&'a self, job: Job, cx: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        self.finalize_single(job, true, cx).boxed()
    }
}

impl Redivis {
    /// Send fresh jobs in one request.
    async fn finalize_batch(&self, batch: Vec<Job>, cx: &FinishCx<'_>) -> Round {
        let sent = async {
            let table = batch[0].destination.table()?;
            let pairs =
                batch.iter().map(|j| Ok((j.doc_name.to_string(), temp_upload_id(j)?))).collect::<Result<Vec<_>>>()?;
            let ids: Vec<u64> = batch.iter().map(|j| j.id).collect();
            cx.journal.mark_attach_sent(&ids)?;
            Ok(self.raw_files(table, &pairs).await)
        }
        .await;
        let batch: Vec<Job> = batch.into_iter().map(|j| Job { attach_sent: true, ..j }).collect();
        let result = match sent {
            Ok(result) => result,
            Err(e) => return Round::failed(batch, e),
        };
        match result {
            Ok(files) => settle(batch, &files),
            Err(e @ Error::Rejected { .. }) if batch.len() == 1 => {
                let job = batch.into_iter().next().expect("one job");
                self.outcome(job, Err(e), false, cx)
            }
            Err(e @ Error::Rejected { .. }) => {
                // All or nothing: nothing was made. Each goes alone to find the one refused.
                tracing::info!(files = batch.len(), "rawFiles refused a batch ({e}); sending its files one by one");
                let mut round = Round::default();
                for job in batch {
                    round.extend(self.finalize_single(job, false, cx).await);
                }
                round
            }
            Err(e) if e.in_doubt() => Round::in_doubt(batch, e),
            Err(e) => Round::failed(batch, e),
        }
    }

    /// Send one job alone. `maybe_landed`: an earlier request for it may have been taken.
    async fn finalize_single(&self, mut job: Job, maybe_landed: bool, cx: &FinishCx<'_>) -> Round {
        let result = async {
            let table = job.destination.table()?.clone();
            let pair = (job.doc_name.to_string(), temp_upload_id(&job)?);
            cx.journal.mark_attach_sent(&[job.id])?;
            job.attach_sent = true;
            self.raw_files(&table, &[pair]).await
        }
        .await;
        self.outcome(job, result, maybe_landed, cx)
    }

    /// Act on the answer to a request for `job` alone.
    fn outcome(&self, job: Job, result: Result<Vec<RawFile>>, maybe_landed: bool, cx: &FinishCx<'_>) -> Round {
        match result {
            Ok(files) => settle(vec![job], &files),
            Err(e) if maybe_landed && is_code(&e, codes::TEMP_UPLOAD_USED) => {
                // The earlier request made the file; its bytes were checked at upload.
                let mut round = Round::default();
                round.push(job, Outcome::Done(DocStatus::Ok));
                round
            }
            Err(e) if is_code(&e, codes::NAME_CONFLICT) => {
                let mut job = job;
                let outcome = name_taken(&mut job, cx).unwrap_or_else(Outcome::failed);
                let mut round = Round::default();
                round.push(job, outcome);
                round
            }
            Err(e) if e.in_doubt() => Round::in_doubt(vec![job], e),
            Err(e) => Round::failed(vec![job], e),
        }
    }
}

/// The table has a file of this name already (from someone else: ours would be
/// `temp_upload_used`). Follow the conflict policy.
fn name_taken(job: &mut Job, cx: &FinishCx<'_>) -> Result<Outcome> {
    match job.on_conflict {
        ConflictPolicy::Skip => Ok(Outcome::Skipped(format!("a file named {} is already in the table", job.doc_name))),
        ConflictPolicy::Replace => Err(Error::Unsupported(format!(
            "{}: a file of that name is already in the table, and Redivis cannot replace files; \
             use --on-conflict rename or skip",
            job.doc_name
        ))),
        ConflictPolicy::Rename => {
            // Numbered from the file's own name: `a.csv` → `a-1.csv` → `a-2.csv`.
            let base = own_name(&job.path)?;
            let n = if job.doc_name == base.as_str() {
                1
            } else {
                number_after(&base, job.doc_name.as_str()).map_or(1, |n| n + 1)
            };
            if n > RENAME_TRIES {
                return Err(Error::AttachRejected {
                    name: base,
                    message: format!("no free name after {RENAME_TRIES} tries"),
                });
            }
            let name = with_suffix(&base, n);
            cx.journal.rename(job.id, &name)?;
            // Nothing was made for this job: it may be sent as fresh.
            cx.journal.clear_attach_sent(job.id)?;
            job.attach_sent = false;
            job.doc_name = JobName::parse(&name);
            (cx.renamed)(job.id, &name);
            Ok(Outcome::Again)
        }
    }
}

/// What rawFiles made of `jobs` (in request order), each file's MD5 checked.
fn settle(jobs: Vec<Job>, files: &[RawFile]) -> Round {
    let mut round = Round::default();
    for (job, file) in jobs.into_iter().zip(files) {
        let ours = job.md5.as_deref();
        let status = match (ours, file.md5_hash.as_deref()) {
            (Some(ours), Some(theirs)) if !crate::hash::same_md5(ours, theirs) => DocStatus::HashMismatch,
            _ if file.size.is_some_and(|s| s != job.size) => DocStatus::HashMismatch,
            _ => DocStatus::Ok,
        };
        if status != DocStatus::Ok {
            tracing::warn!(job = job.id, file = %file.name, "Redivis holds other bytes than were sent");
        }
        round.push(job, Outcome::Done(status));
    }
    round
}

/// The file's own name, which Redivis takes as it is.
fn own_name(path: &std::path::Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid(Invalid::Name, format!("{}: the file name is not valid UTF-8", path.display())))
}

fn temp_upload_id(job: &Job) -> Result<String> {
    job.upload_id
        .clone()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::Journal(format!("job {} is marked uploaded but has no temp upload on record", job.id)))
}

/// `a.csv`, `a-3.csv` → 3: the number a renamed name carries.
fn number_after(base: &str, name: &str) -> Option<u32> {
    let (stem, ext) = split_ext(base);
    name.strip_prefix(stem)?.strip_suffix(ext)?.strip_prefix('-')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_files_count_up_before_the_extension() {
        assert_eq!(with_suffix("a.tar.gz", 2), "a-2.tar.gz");
        assert_eq!(with_suffix("dir.v1/.env", 1), "dir.v1/.env-1");
        assert_eq!(with_suffix("noext", 3), "noext-3");
        assert_eq!(number_after("2024-01.csv", "2024-01-3.csv"), Some(3));
        assert_eq!(number_after("2024-01.csv", "2024-01.csv"), None);
        assert_eq!(number_after("a.csv", "b-1.csv"), None);
    }
}
