//! Saving what a pre-authorised URL serves (a Doc's download link) to a file: streamed chunk by
//! chunk into a temporary file beside the target and hashed on the way, so memory stays constant
//! whatever the size; the temporary file becomes the target (one `rename`) only once every byte
//! arrived and, when a SHA-256 is expected, matched it. A failure leaves no half-written target
//! and no temporary file behind. An existing target is replaced only when the caller says so
//! (the app's save dialog asked the user; the CLI's `--force`).

use std::path::{Path, PathBuf};

use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::hash::Sha256Stream;
use crate::redact::redact_url;

/// A file saved from a download link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub path: String,
    pub size: u64,
    /// The SHA-256 of the bytes saved (lowercase hex).
    pub sha256: String,
    /// The bytes matched a SHA-256 the server recorded; `false` when it recorded none.
    pub verified: bool,
}

/// What the downloaded bytes must hash to, and what to call them in an error.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub name: &'a str,
    /// Lowercase or uppercase hex; `None` when the server recorded no hash.
    pub sha256: Option<&'a str>,
}

/// The local file header every .zip starts with: the Trusted Twin docs say a download link may
/// serve a Doc wrapped in a .zip (`docs/fidelity.md`); if such a wrapper fails the check, the
/// error says so.
const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// GET `url` (no Authorization: the URL is the authorisation) and save the body at `target`.
/// `replace`: an existing file at `target` may be replaced; else it is `file.exists`, checked
/// before anything is fetched and again, atomically, when the file takes its place.
pub async fn save_url(
    http: &reqwest::Client,
    url: &str,
    target: &Path,
    expect: Expect<'_>,
    replace: bool,
) -> Result<Saved> {
    super::check_url(url)?;
    if !replace && std::fs::symlink_metadata(target).is_ok() {
        return Err(Error::FileExists { path: target.to_owned() });
    }
    let (dir, file_name) = match (target.parent(), target.file_name()) {
        (Some(dir), Some(name)) => (if dir.as_os_str().is_empty() { Path::new(".") } else { dir }, name),
        _ => {
            return Err(Error::invalid(crate::error::Invalid::Path, format!("{}: not a file's path", target.display())))
        }
    };
    if !dir.is_dir() {
        let e = std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder");
        return Err(Error::file(dir, e));
    }

    let response = http.get(url).send().await.map_err(|e| super::network_error(redact_url(url), e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(refused(response, url).await);
    }

    // Beside the target, so the rename that puts it in place never crosses a file system. A
    // dot file: a file manager does not show it while it grows. Removed on drop (any error).
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".part")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| Error::file(dir, e))?;
    let shown = temp.path().to_owned();
    let mut out = tokio::fs::File::from_std(temp.as_file().try_clone().map_err(|e| Error::file(&shown, e))?);
    let mut hasher = Sha256Stream::default();
    let mut head = Vec::with_capacity(ZIP_MAGIC.len());
    let mut response = response;
    while let Some(chunk) = response.chunk().await.map_err(|e| super::network_error(redact_url(url), e))? {
        if head.len() < ZIP_MAGIC.len() {
            let want = (ZIP_MAGIC.len() - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..want]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(|e| Error::file(&shown, e))?;
    }
    out.flush().await.map_err(|e| Error::file(&shown, e))?;
    // On disk before it takes the target's name: a crash never leaves a target of fewer bytes.
    out.sync_all().await.map_err(|e| Error::file(&shown, e))?;
    drop(out);
    let size = hasher.len();
    let sha256 = hasher.finish_hex();

    let verified = match expect.sha256 {
        Some(recorded) if !recorded.eq_ignore_ascii_case(&sha256) => {
            let hint = match head.as_slice() == ZIP_MAGIC {
                true => " (the server sent a .zip: a wrapper around the Doc, not its bytes)".to_owned(),
                false => String::new(),
            };
            return Err(Error::DownloadChecksumMismatch {
                name: expect.name.to_owned(),
                recorded: recorded.to_ascii_lowercase(),
                theirs: sha256,
                hint,
            });
        }
        Some(_) => true,
        None => false,
    };

    let target_owned: PathBuf = target.to_owned();
    tokio::task::spawn_blocking(move || match replace {
        true => temp.persist(&target_owned).map(|_| ()),
        false => temp.persist_noclobber(&target_owned).map(|_| ()),
    })
    .await
    .map_err(|e| Error::Internal(format!("saving task failed: {e}")))?
    .map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => Error::FileExists { path: target.to_owned() },
        _ => Error::file(target, e.error),
    })?;
    Ok(Saved { path: target.display().to_string(), size, sha256, verified })
}

/// The error for a link that did not serve the bytes. Storage answers in S3-style XML.
async fn refused(response: reqwest::Response, url: &str) -> Error {
    let status = response.status();
    let retry_after = crate::http::retry_after(response.headers());
    let body = crate::http::read_body(response, 64 << 10, &redact_url(url)).await.unwrap_or_default();
    let message = super::storage_error_message(&body);
    match status.as_u16() {
        429 => Error::RateLimited { message, retry_after },
        s if s >= 500 => Error::Server { status: s, message, retry_after },
        s if (300..400).contains(&s) => {
            Error::BadResponse(format!("{} answered {status}: a redirect, not followed", redact_url(url)))
        }
        s => Error::DownloadRejected { status: s, message },
    }
}
