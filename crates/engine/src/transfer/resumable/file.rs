//! A file through a resumable session: any byte can be read again, so the upload follows the
//! server wherever it says it stands, and [`push`] carries a session on across restarts.

use std::io::SeekFrom;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::reply::{self, Failures, Round, ZeroZero};
use super::{content_range, initiate, query, Outcome, Session, Status};
use crate::error::{Error, Result};
use crate::hash::Sha256Stream;
use crate::transfer::{ProgressFn, Sent};

/// Send `path` through `session`, starting at byte `from` (what the server has committed, e.g.
/// from [`query`] after a restart), in chunks of `chunk` bytes. `on_commit` hears each newly
/// committed offset, so the caller can journal it. `md5`: also compute the MD5 and check it
/// against the `md5Hash` of the server's final answer.
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    http: &reqwest::Client,
    session: &Session,
    path: &Path,
    from: u64,
    chunk: u64,
    progress: ProgressFn,
    on_commit: &(dyn Fn(u64) + Send + Sync),
    md5: bool,
) -> Result<Outcome> {
    let chunk = super::chunk_size(chunk)?;
    let total = session.total;
    let slot = total.to_string();
    let uri = session.uri.as_str();
    let (mut file, meta) = crate::source::open_async(path)?;
    let size = meta.len();
    if size != total {
        return Err(Error::FileChanged { path: path.to_owned(), expected: total, actual: size });
    }
    // The committed prefix is hashed from disk, not sent again.
    let fresh = || Sha256Stream::with_md5(md5);
    let mut hasher = fresh();
    let mut offset = from.min(total);
    hash_prefix(&mut file, path, offset, &mut hasher).await?;
    let mut wire = 0u64;
    let mut failures = Failures::default();
    let mut zero_zero = ZeroZero::starting_at(offset);
    // The furthest byte sent (or committed before): a server cannot hold the whole file before it.
    let mut furthest = offset;
    loop {
        let end = (offset + chunk).min(total);
        furthest = furthest.max(end);
        // One chunk in memory at a time; `Bytes` lets the request and the hasher share it.
        let mut buffer = Vec::with_capacity((end - offset) as usize);
        file.seek(SeekFrom::Start(offset)).await.map_err(|e| Error::file(path, e))?;
        (&mut file).take(end - offset).read_to_end(&mut buffer).await.map_err(|e| Error::file(path, e))?;
        if (buffer.len() as u64) != end - offset {
            return Err(Error::FileChanged {
                path: path.to_owned(),
                expected: total,
                actual: offset + buffer.len() as u64,
            });
        }
        let buffer = bytes::Bytes::from(buffer);
        // With every byte committed but the upload not finished (its last answer lost, say), the
        // empty chunk is `bytes */N`, which finalizes it.
        let range = content_range(offset, end, &slot);
        let sent = reply::send(http, uri, range, buffer.clone(), end == total).await?;
        wire += buffer.len() as u64;
        zero_zero.sent(offset, &sent);
        // The new committed offset: from the answer, or from a status query where it says none.
        let Some(Round { heard, failed, answer }) = reply::hear(http, uri, &slot, offset, sent, &mut failures).await?
        else {
            continue;
        };
        match zero_zero.read(heard) {
            Status::Complete if furthest < total => {
                return Err(Error::BadResponse(format!(
                    "the server says the upload is complete, but only {furthest} of {total} bytes were sent"
                )));
            }
            Status::Complete => {
                // Everything is in: hash what the server took beyond the last confirmed offset.
                hasher.update(&buffer[..(end - offset) as usize]);
                hash_rest(&mut file, path, end, total, &mut hasher).await?;
                progress(total);
                on_commit(total);
                let sent = Sent::from_hasher(hasher);
                sent.verify_md5(&path.display().to_string(), &answer)?;
                return Ok(Outcome { sent, bytes_on_wire: wire });
            }
            Status::Gone => return Err(Error::NotUploaded(format!("resumable session at byte {offset}"))),
            Status::Committed(now) if now > end => {
                // More than was ever sent: the server is confused or lying, and nothing it says
                // about this session can be trusted.
                return Err(Error::BadResponse(format!(
                    "the server says {now} bytes are committed, but only {end} were sent"
                )));
            }
            Status::Committed(now) => {
                if now < offset {
                    // The server forgot bytes it had confirmed: re-hash from its word.
                    hasher = fresh();
                    hash_prefix(&mut file, path, now.min(total), &mut hasher).await?;
                } else {
                    hasher.update(&buffer[..(now - offset) as usize]);
                }
                if now > offset {
                    failures.progress();
                } else if !failed {
                    // Answered, yet nothing taken: counted like a failure (that one is counted
                    // already), so a server that never moves ends the upload.
                    failures.stalled(offset)?;
                }
                offset = now.min(total);
                progress(offset);
                on_commit(offset);
            }
        }
    }
}

async fn hash_prefix(file: &mut tokio::fs::File, path: &Path, upto: u64, hasher: &mut Sha256Stream) -> Result<()> {
    hash_rest(file, path, 0, upto, hasher).await
}

async fn hash_rest(
    file: &mut tokio::fs::File,
    path: &Path,
    from: u64,
    to: u64,
    hasher: &mut Sha256Stream,
) -> Result<()> {
    file.seek(SeekFrom::Start(from)).await.map_err(|e| Error::file(path, e))?;
    let mut left = to.saturating_sub(from);
    let mut buf = vec![0u8; crate::hash::CHUNK];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = file.read(&mut buf[..want]).await.map_err(|e| Error::file(path, e))?;
        if n == 0 {
            return Err(Error::FileChanged { path: path.to_owned(), expected: to, actual: to - left });
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// Push a file through a resumable initiation URL, carrying on a session the journal knows for
/// this URL and file (unchanged since) instead of starting again. Returns the outcome and the
/// offset it started from.
pub async fn push(
    http: &reqwest::Client,
    journal: &crate::journal::Journal,
    initiate_url: &str,
    path: &Path,
    chunk: u64,
    progress: ProgressFn,
    md5: bool,
) -> Result<(Outcome, u64)> {
    use crate::journal::ResumableRecord;
    let meta = std::fs::metadata(path).map_err(|e| Error::file(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_owned() });
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    // The key names the pair without storing the initiation URL (it may carry a signature).
    let key = {
        let mut h = Sha256Stream::default();
        h.update(initiate_url.as_bytes());
        h.update(b"\0");
        h.update(path.as_os_str().as_encoded_bytes());
        h.finish_hex()
    };
    let on_commit = |offset: u64| {
        if let Err(e) = journal.resumable_commit(&key, offset) {
            tracing::error!("journal: {e}");
        }
    };
    let mut known = journal.resumable_get(&key)?.filter(|r| r.size == meta.len() && r.mtime_ns == mtime_ns);
    // A session that expires under us is replaced by a new one, a few times at most.
    for _ in 0..3 {
        let mut resumed = None;
        if let Some(record) = known.take() {
            let session = Session { uri: record.session_uri.clone(), total: record.size };
            match query(http, &session).await? {
                Status::Committed(n) => resumed = Some((session, n)),
                // Done before the restart, or gone: either way this session is over.
                Status::Complete | Status::Gone => journal.resumable_forget(&key)?,
            }
        }
        let (session, from) = match resumed {
            Some(s) => s,
            None => {
                let session = initiate(http, initiate_url, meta.len()).await?;
                // Intent before effect: the session is on record before its first byte.
                let record =
                    ResumableRecord { size: meta.len(), mtime_ns, session_uri: session.uri.clone(), committed: 0 };
                journal.resumable_put(&key, path, &record)?;
                (session, 0)
            }
        };
        match upload(http, &session, path, from, chunk, progress.clone(), &on_commit, md5).await {
            Err(Error::NotUploaded(_)) => {
                tracing::warn!("resumable session for {} is gone; starting a new one", path.display());
                journal.resumable_forget(&key)?;
            }
            other => {
                // Finished, or failed for good: a verified mismatch must not be resumed either.
                if other.is_ok() || matches!(other, Err(Error::ChecksumMismatch { .. })) {
                    journal.resumable_forget(&key)?;
                }
                return other.map(|outcome| (outcome, from));
            }
        }
    }
    Err(Error::NotUploaded(format!("{}: the server kept losing the resumable session", path.display())))
}
