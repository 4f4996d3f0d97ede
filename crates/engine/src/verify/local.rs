//! The local side of a verification: which files, the name each has on the server, and their
//! digests, read in parallel in constant memory (or taken from the journal with
//! `--trust-cache`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};

use super::Naming;
use crate::destination::Destination;
use crate::error::{Error, ErrorInfo, Result};
use crate::hash::{Sha256Stream, CHUNK};
use crate::journal::{JobState, Journal, Verified};
use crate::naming::Template;
use crate::service::holdings::Algorithm;

/// A local file to verify, before it is read.
pub(super) struct Found {
    pub path: PathBuf,
    /// The name its Doc has (the journal's word) or would have (the naming of the upload or
    /// sync); `None` when no name can be made.
    pub name: Option<String>,
    pub size: u64,
    pub mtime_ns: i64,
    /// Why it cannot be verified (unreadable, no name, not a file).
    pub problem: Option<ErrorInfo>,
    /// What its newest job recorded when that job ended `ok` (the server compared its SHA-256
    /// then): what `--trust-cache` may take while size and mtime stay.
    pub sent_ok: Option<Verified>,
}

impl Found {
    /// The file at `path` as it is now, unnamed, never followed if it is a link: what a receipt
    /// named, to read again.
    pub fn at(path: PathBuf) -> Found {
        let (size, mtime_ns, problem) = match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => (meta.len(), crate::journal::mtime_ns(&meta), None),
            Ok(_) => (0, 0, Some(Error::NotAFile { path: path.clone() }.info())),
            Err(e) => (0, 0, Some(Error::file(&path, e).info())),
        };
        Found { path, name: None, size, mtime_ns, problem, sent_ok: None }
    }
}

/// A local file's digests.
#[derive(Debug, Clone)]
pub(super) struct Digests {
    pub size: u64,
    pub sha256: String,
    /// Lowercase hex, when the service records MD5.
    pub md5: Option<String>,
    /// Taken from the journal (`--trust-cache`), not read now.
    pub cached: bool,
}

/// Every file of `paths` with the name its Doc has or would have. A file the journal sent to
/// `dest` (its newest finished job) keeps that job's name, whatever naming it came through:
/// the journal is what sent it. Any other file is named as `naming` says.
pub(super) fn find(journal: &Journal, base_url: &str, dest: &Destination, naming: &Naming) -> Result<Vec<Found>> {
    let (paths, template, root, ignore) = match naming {
        Naming::Upload { paths, template } => (paths.clone(), template, None, None),
        Naming::Folder { root, template, ignore } => {
            (vec![root.clone()], template, Some(root.clone()), Some(crate::folders::ignores(root, ignore)?))
        }
    };
    let template = template.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(Template::parse).transpose()?;
    let dropped = crate::naming::expand_drop(&paths);
    if dropped.last().is_some_and(|f| f.meta.as_ref().is_err_and(|e| e.code == crate::naming::TOO_MANY)) {
        return Err(Error::TooManyFiles { limit: crate::naming::PREVIEW_LIMIT });
    }
    let mut out = Vec::with_capacity(dropped.len());
    // A watched folder's own patterns leave out what its sync leaves out.
    let dropped = dropped
        .into_iter()
        .filter(|f| ignore.as_ref().is_none_or(|i| !i.matched_path_or_any_parents(&f.path, false).is_ignore()));
    for file in dropped {
        let meta = match file.meta {
            Ok(meta) => meta,
            Err(problem) => {
                out.push(Found {
                    path: file.path,
                    name: None,
                    size: 0,
                    mtime_ns: 0,
                    problem: Some(problem),
                    sent_ok: None,
                });
                continue;
            }
        };
        let (size, mtime_ns) = (meta.len(), crate::journal::mtime_ns(&meta));
        let job = journal.latest_for_path(base_url, dest, &file.path)?.filter(|job| job.state == JobState::Done);
        let sent_ok = job.as_ref().filter(|job| job.is_ok()).and_then(|job| {
            let md5 = job.md5.as_deref().map(|m| crate::hash::md5_hex(m).to_ascii_lowercase());
            Some(Verified { size: job.size, mtime_ns: job.mtime_ns, sha256: job.sha256.clone()?, md5 })
        });
        let named = match job.map(|job| job.doc_name.to_string()) {
            Some(name) => Ok(name),
            None => {
                // A watched folder names from inside it; an upload from the dropped path's parent.
                let (root, relative) = match &root {
                    Some(root) => (root.clone(), file.path.strip_prefix(root).unwrap_or(&file.relative).to_owned()),
                    None => (file.root.clone(), file.relative.clone()),
                };
                crate::folders::namer(template.clone(), root)(&relative, &meta)
            }
        };
        let (name, problem) = match named {
            Ok(name) => (Some(name), None),
            Err(e) => (None, Some(e.info())),
        };
        out.push(Found { path: file.path, name, size, mtime_ns, problem, sent_ok });
    }
    Ok(out)
}

/// What the journal vouches for, by path: files a verification matched, and files whose last
/// job ended `ok` ([`Found::sent_ok`], read while the files were found). Only used while size
/// and mtime are the same as then.
pub(super) fn trusted(
    journal: &Journal,
    base_url: &str,
    dest: &Destination,
    files: &[Found],
) -> Result<HashMap<PathBuf, Verified>> {
    let mut out = journal.verified_files(base_url, dest)?;
    for file in files {
        let Some(sent) = &file.sent_ok else { continue };
        if !out.get(&file.path).is_some_and(|v| v.size == file.size && v.mtime_ns == file.mtime_ns) {
            out.insert(file.path.clone(), sent.clone());
        }
    }
    Ok(out)
}

/// Bytes read so far by [`digest_all`], for progress.
#[derive(Default)]
pub(super) struct Counters {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
}

/// The digests of `files`, in their order, one file per core read at once (2 to 8: a file's
/// read is CPU-bound once it is in the page cache, and small files are latency-bound on open);
/// a file the journal vouches for (`trusted`, same size and mtime) is not read.
pub(super) async fn digest_all(
    files: &[&Found],
    algorithm: Algorithm,
    trusted: &HashMap<PathBuf, Verified>,
    counters: Arc<Counters>,
) -> Vec<std::result::Result<Digests, ErrorInfo>> {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    let md5 = algorithm == Algorithm::Md5;
    // Owned items: a closure over borrowed ones leaves the future not provably `Send` (rustc's
    // "FnOnce is not general enough"), and the app awaits it on a multi-threaded runtime.
    let items: Vec<(PathBuf, u64, i64)> = files.iter().map(|f| (f.path.clone(), f.size, f.mtime_ns)).collect();
    // Unordered, then put back in order: a big file being read must not hold the files after
    // it to one reader.
    let mut done: Vec<(usize, std::result::Result<Digests, ErrorInfo>)> = stream::iter(items.into_iter().enumerate())
        .map(|(index, (path, size, mtime_ns))| {
            let counters = counters.clone();
            let cached =
                trusted.get(&path).filter(|v| v.size == size && v.mtime_ns == mtime_ns && (!md5 || v.md5.is_some()));
            let cached =
                cached.map(|v| Digests { size: v.size, sha256: v.sha256.clone(), md5: v.md5.clone(), cached: true });
            async move {
                let result = match cached {
                    Some(digests) => {
                        counters.bytes.fetch_add(digests.size, Ordering::Relaxed);
                        Ok(digests)
                    }
                    None => {
                        let counters2 = counters.clone();
                        tokio::task::spawn_blocking(move || digest(&path, md5, &counters2.bytes))
                            .await
                            .unwrap_or_else(|e| Err(Error::Internal(format!("hashing task failed: {e}"))))
                            .map_err(|e| e.info())
                    }
                };
                counters.files.fetch_add(1, Ordering::Relaxed);
                (index, result)
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

/// One file's SHA-256 (and MD5), read once without following a symlink, in constant memory.
fn digest(path: &Path, md5: bool, bytes: &AtomicU64) -> Result<Digests> {
    use std::io::Read;
    let (mut file, _) = crate::source::open_checked(path, None)?;
    let mut buf = vec![0u8; 4 * CHUNK];
    let mut hasher = Sha256Stream::with_md5(md5);
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::file(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
    let size = hasher.len();
    let (sha256, md5) = hasher.finish();
    Ok(Digests { size, sha256, md5: md5.map(|m| crate::hash::md5_hex(&m)), cached: false })
}
