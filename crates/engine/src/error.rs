//! One error type for the whole engine. Every variant has a stable machine `code()` that the
//! UI and the CLI's `--json` output branch on; the message is for humans and may change.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: std::io::Error },
    #[error("{}: is a folder or special file; only regular files become Docs", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: the file changed while it was being read ({expected} bytes expected, {actual} read)", path.display())]
    FileChanged { path: PathBuf, expected: u64, actual: u64 },
    #[error("invalid Doc name {name:?}: {reason}")]
    DocName { name: String, reason: String },
    #[error("{0}")]
    Input(String),
    #[error("the server refused the secret: {0}")]
    Unauthorized(String),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("Twin {0} not found")]
    TwinNotFound(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the server rejected the request ({status}): {message}")]
    Rejected { status: u16, subcode: Option<u64>, message: String },
    #[error("the server is rate limiting requests{}: {message}", asked_wait(.retry_after))]
    RateLimited { message: String, retry_after: Option<Duration> },
    #[error("server error {status}{}: {message}", asked_wait(.retry_after))]
    Server { status: u16, message: String, retry_after: Option<Duration> },
    #[error("unexpected answer from the server: {0}")]
    BadResponse(String),
    #[error("{0}: plain HTTP is refused except to this machine; use https")]
    Insecure(String),
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("the request timed out: {0}")]
    Timeout(String),
    #[error("the upload URL refused the bytes ({status}): {message}")]
    UploadRejected { status: u16, message: String },
    #[error("a Doc named {0:?} already exists on this Twin")]
    DocExists(String),
    #[error("the server did not receive the file for {0:?} (upload handler unknown or expired)")]
    NotUploaded(String),
    #[error("attach of {name:?} failed: {message}")]
    AttachRejected { name: String, message: String },
    #[error("{what}: the server holds other bytes than were sent (MD5 {theirs}, ours {ours})")]
    ChecksumMismatch { what: String, ours: String, theirs: String },
    #[error("{name:?} is still being copied after {seconds} s")]
    VerifyTimeout { name: String, seconds: u64 },
    #[error("the OS keyring is not available: {0}")]
    KeyringUnavailable(String),
    #[error("no secret stored in the OS keyring for profile {0:?}")]
    NoSecret(String),
    #[error("the OS keyring failed: {0}")]
    Keyring(String),
    #[error("no profile named {0:?}; run `twindrop login --profile {0}` first")]
    ProfileNotFound(String),
    #[error("the journal failed: {0}")]
    Journal(String),
    #[error("another Twindrop is using the journal {0}")]
    JournalLocked(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    QueueStopped(String),
    /// A bug in Twindrop met while handling one item (a panic, caught): that item fails.
    #[error("{0}")]
    Internal(String),
    #[error("cannot change start at login: {0}")]
    Autostart(String),
    #[error("{}: not a file or folder you chose; pick it or drop it on the window first", path.display())]
    PathNotChosen { path: PathBuf },
    #[error("more than {limit} files: drop fewer files or folders at a time (or watch the folder instead)")]
    TooManyFiles { limit: usize },
}

impl Error {
    /// The stable machine code. Never change an existing code: the UI and scripts match on it.
    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => "file.not_found",
            File { .. } => "file.unreadable",
            NotAFile { .. } => "file.not_a_file",
            FileChanged { .. } => "file.changed",
            DocName { .. } => "doc_name.invalid",
            Input(_) => "input.invalid",
            Unauthorized(_) => "auth.unauthorized",
            Forbidden(_) => "auth.forbidden",
            TwinNotFound(_) => "twin.not_found",
            NotFound(_) => "not_found",
            Rejected { .. } => "request.rejected",
            RateLimited { .. } => "server.rate_limited",
            Server { .. } => "server.error",
            BadResponse(_) => "server.bad_response",
            Insecure(_) => "network.insecure",
            Unreachable { .. } => "network.unreachable",
            Timeout(_) => "network.timeout",
            UploadRejected { .. } => "upload.rejected",
            DocExists(_) => "attach.doc_exists",
            NotUploaded(_) => "attach.not_uploaded",
            AttachRejected { .. } => "attach.rejected",
            ChecksumMismatch { .. } => "verify.checksum_mismatch",
            VerifyTimeout { .. } => "verify.timeout",
            KeyringUnavailable(_) => "keyring.unavailable",
            NoSecret(_) => "keyring.no_secret",
            Keyring(_) => "keyring.failed",
            ProfileNotFound(_) => "profile.not_found",
            Journal(_) => "journal.failed",
            JournalLocked(_) => "journal.locked",
            Cancelled => "job.cancelled",
            QueueStopped(_) => "queue.stopped",
            Internal(_) => "internal.error",
            Autostart(_) => "autostart.failed",
            PathNotChosen { .. } => "path.not_chosen",
            TooManyFiles { .. } => "preview.too_many",
        }
    }

    /// Whether trying the same thing again later may succeed.
    pub fn retryable(&self) -> bool {
        use Error::*;
        matches!(
            self,
            RateLimited { .. }
                | Server { .. }
                | Unreachable { .. }
                | Timeout(_)
                | VerifyTimeout { .. }
                | ChecksumMismatch { .. }
        ) || matches!(self, UploadRejected { status, .. } if *status >= 500)
    }

    /// After a request whose effect cannot be seen otherwise (an attach, a rawFiles call):
    /// whether the server may have acted on it. Then it is retried and its files read back,
    /// not failed: an answer we could not read says nothing about what the server did.
    pub fn in_doubt(&self) -> bool {
        self.retryable() || matches!(self, Error::BadResponse(_))
    }

    /// What the server asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// What crosses to the UI, the journal and `--json`. The message is redacted once more
    /// (`redact_text`): the constructors of messages that can hold a URL redact it already,
    /// and this is the last line should one have been missed.
    pub fn info(&self) -> ErrorInfo {
        ErrorInfo {
            code: self.code().to_owned(),
            message: crate::redact::redact_text(&self.to_string()),
            retryable: self.retryable(),
        }
    }

    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::File { path: path.into(), source }
    }
}

/// The wait a server asked for, as a message shows it: a job that fails because the wait was
/// too long says how long (whole seconds as given, however absurd; milliseconds if any).
fn asked_wait(retry_after: &Option<Duration>) -> String {
    match retry_after {
        None => String::new(),
        Some(d) if d.subsec_millis() == 0 => format!(" (it asked to wait {} s)", d.as_secs()),
        Some(d) => format!(" (it asked to wait {}.{:03} s)", d.as_secs(), d.subsec_millis()),
    }
}

/// The shape an error takes across the IPC boundary and in `--json` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

impl From<Error> for ErrorInfo {
    fn from(e: Error) -> Self {
        e.info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_split_on_kind() {
        let missing = Error::file("/x", std::io::Error::from(std::io::ErrorKind::NotFound));
        let denied = Error::file("/x", std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(missing.code(), "file.not_found");
        assert_eq!(denied.code(), "file.unreadable");
        assert!(missing.to_string().starts_with("/x: "));
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        assert!(Error::Server { status: 503, message: String::new(), retry_after: None }.retryable());
        assert!(!Error::Unauthorized(String::new()).retryable());
        assert!(!Error::DocExists("a".into()).retryable());
        let limited = Error::RateLimited { message: "slow down".into(), retry_after: Some(Duration::from_secs(2)) };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        let info = limited.info();
        assert_eq!((info.code.as_str(), info.retryable), ("server.rate_limited", true));
        assert_eq!(info.message, "the server is rate limiting requests (it asked to wait 2 s): slow down");
    }

    #[test]
    fn an_absurd_wait_is_shown_as_asked() {
        let huge = Error::RateLimited { message: "x".into(), retry_after: Some(Duration::from_secs(u64::MAX)) };
        assert!(huge.to_string().contains("wait 18446744073709551615 s"), "{huge}");
        let odd = Error::Server { status: 503, message: "x".into(), retry_after: Some(Duration::from_millis(1500)) };
        assert!(odd.to_string().contains("wait 1.500 s"), "{odd}");
    }

    #[test]
    fn messages_that_leave_the_engine_hold_no_upload_url() {
        let leaky = Error::BadResponse("answer for https://h/__presigned/f1?expires=1&sig=c0ffee".into());
        let info = leaky.info();
        assert!(!info.message.contains("c0ffee"), "{info:?}");
        assert_eq!(info.message, "unexpected answer from the server: answer for https://h/__presigned/f1?…");
    }
}
