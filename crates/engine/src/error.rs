//! One error type for the whole engine. Every variant has a stable machine `code()` that the
//! UI and the CLI's `--json` output branch on; the message is for humans and may change.
//! Every code is listed once, with its meaning, in [`Code`] (the `codes!` table below): the UI's
//! `ErrorCode` type is generated from it (docs/errors.md).

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
    #[error("{}: not a folder", path.display())]
    NotAFolder { path: PathBuf },
    /// A value that was refused, and which one it was (each kind has its own code).
    #[error("{message}")]
    Invalid { what: Invalid, message: String },
    /// Bad input that fits none of [`Invalid`]'s kinds. Rare: prefer a precise kind.
    #[error("{0}")]
    Input(String),
    #[error("not logged in")]
    NoSession,
    #[error("cannot start the local sandbox: {0}")]
    SandboxFailed(String),
    /// The service (or this kind of account) cannot do what was asked.
    #[error("{0}")]
    Unsupported(String),
    /// A profile or option of one service was used for another.
    #[error("{0}")]
    ServiceMismatch(String),
    #[error("{0}")]
    NothingToUpload(String),
    #[error("{0}")]
    AlreadyWatched(String),
    #[error("{0}")]
    WatchFailed(String),
    #[error("{0}")]
    RetryRefused(String),
    /// The machine could not give what Twindrop needs to start (an HTTP client, a home folder).
    #[error("{0}")]
    Setup(String),
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
    /// The connection failed for a reason of no more precise kind (no route, the network down).
    #[error("cannot reach {url}: check this machine's network connection, and any proxy or firewall ({message})")]
    Unreachable { url: String, message: String },
    /// The host name did not resolve: a typo in the URL, or no DNS (offline). Retryable: a
    /// machine that comes back online resolves it.
    #[error("{url}: the host name could not be found: check the base URL's spelling and your DNS/network ({message})")]
    Dns { url: String, message: String },
    /// The address answered that nothing listens there (connection refused). Retryable: a
    /// server restarting refuses for a moment.
    #[error("{url}: nothing is listening at that address: is the server (or the sandbox) running, is the port right? ({message})")]
    Refused { url: String, message: String },
    #[error("{0}: the server did not answer in time: it may be overloaded, or a proxy or firewall holds the connection; try again later")]
    Timeout(String),
    /// The secure connection failed: most often a certificate this machine does not trust.
    /// Retrying the same way cannot help, so it is not retryable.
    #[error("{url}: the server's certificate is not trusted, or the secure connection failed ({message})")]
    Tls { url: String, message: String },
    #[error("the upload URL refused the bytes ({status}): {message}")]
    UploadRejected { status: u16, message: String },
    #[error("a Doc named {0:?} already exists on this Twin")]
    DocExists(String),
    #[error("the server did not receive the file for {0:?} (upload handler unknown or expired)")]
    NotUploaded(String),
    /// "No Doc uploaded" kept coming back although the bytes were sent each time.
    #[error("{name:?}: the server says no file arrived through the upload URL, after {tries} uploads each to a fresh URL{hint}", hint = never_arrived_hint(*.size))]
    NeverArrived { name: String, tries: u32, size: u64 },
    #[error("attach of {name:?} failed: {message}")]
    AttachRejected { name: String, message: String },
    #[error("{what}: the server holds other bytes than were sent (theirs: {theirs}; ours: {ours})")]
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
    /// A file whose schema is newer than this code knows: refused, never migrated down or
    /// written, so the newer Twindrop can still read it.
    #[error("{path} was written by a newer Twindrop (schema version {found}; this one knows up to {known}): update Twindrop")]
    JournalTooNew { path: String, found: i64, known: usize },
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    QueueStopped(String),
    /// A bug in Twindrop met while handling one item (a panic caught, a task that failed, a value
    /// Twindrop made itself that is wrong): that item fails.
    #[error("{0}")]
    Internal(String),
    #[error("cannot change start at login: {0}")]
    Autostart(String),
    #[error("{}: not a file or folder you chose; pick it or drop it on the window first", path.display())]
    PathNotChosen { path: PathBuf },
    #[error("more than {limit} files: drop fewer files or folders at a time (or watch the folder instead)")]
    TooManyFiles { limit: usize },
    /// `verify` on a service that cannot read a file's hash back; `why` says so plainly.
    #[error("{service} uploads cannot be verified afterwards: {why}")]
    VerifyUnsupported { service: String, why: String },
    /// A receipt whose content no longer hashes to the SHA-256 it carries.
    #[error("{path}: the receipt was changed after it was written (its content hashes to {found}, it says {says})")]
    ReceiptTampered { path: String, found: String, says: String },
    #[error("{path}: not a Twindrop receipt: {message}")]
    ReceiptInvalid { path: String, message: String },
    /// The window named a verification the app no longer keeps, or one of another account.
    #[error("{0}; verify again")]
    VerificationGone(String),
    /// A file is where one was to be written, and replacing it was not asked for.
    #[error("{}: a file is already there; choose another place, or say to replace it", path.display())]
    FileExists { path: PathBuf },
    /// The server gave no download link for a Doc (its copy is not `ok`, or it holds no bytes).
    #[error("{name:?} cannot be downloaded: {why}")]
    DownloadUnavailable { name: String, why: String },
    /// The download link refused to give the bytes (expired, gone, or refused).
    #[error("the download link refused the Doc's bytes ({status}): {message}")]
    DownloadRejected { status: u16, message: String },
    /// The bytes downloaded do not hash to the SHA-256 the Doc recorded at attach; nothing was
    /// saved.
    #[error("{name:?}: the downloaded bytes hash to {theirs}, not to the Doc's recorded SHA-256 {recorded}; nothing was saved{hint}")]
    DownloadChecksumMismatch { name: String, recorded: String, theirs: String, hint: String },
}

/// Defines [`Code`], its string, its meaning and [`Code::ALL`] from one table, so that a code
/// cannot be added without being listed.
macro_rules! codes {
    ($($(#[$attr:meta])* $variant:ident => $code:literal, $meaning:literal, $input:literal;)*) => {
        /// Every machine code an [`Error`] can have: the one list. The UI's `ErrorCode` type
        /// (`ui/src/lib/generated/codes.ts`) is generated from it (`crates/engine/tests/ts_codes.rs`).
        ///
        /// In the app's TypeScript bindings it is `ErrorCode`, the type of `ErrorInfo::code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, specta::Type)]
        #[serde(rename = "ErrorCode")] // the TypeScript name only: JSON carries no type names
        pub enum Code {
            $($(#[$attr])* #[doc = $meaning] #[serde(rename = $code)] $variant,)*
        }

        impl Code {
            /// Every code, in the order listed.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable string: `file.not_found`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// What it means, in one line.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }

            /// Whether the input was wrong (the CLI exits with its usage code).
            pub fn is_bad_input(self) -> bool {
                match self {
                    $(Code::$variant => $input,)*
                }
            }
        }
    };
}

codes! {
    FileNotFound => "file.not_found", "A file to upload does not exist (any more).", false;
    FileUnreadable => "file.unreadable", "A file could not be read (permissions, I/O error).", false;
    FileNotAFile => "file.not_a_file", "A path is a folder or special file where a regular file is needed.", false;
    FileNotAFolder => "file.not_a_folder", "A path to watch or sync is not a folder.", true;
    FileChanged => "file.changed", "A file changed while it was being read; it is sent again once stable.", false;
    DocNameInvalid => "doc_name.invalid", "A Doc name breaks Trusted Twin's naming rules.", true;
    NameInvalid => "name.invalid", "No usable name: the path names no file, a name is empty or has characters an upload cannot carry.", true;
    TemplateInvalid => "template.invalid", "A name template cannot be parsed, or gives no name for a file.", true;
    DescriptionInvalid => "description.invalid", "A Doc description is not a JSON object of valid keys.", true;
    DestinationInvalid => "destination.invalid", "A destination (Twin UUID, Redivis table, Inspect asset) is malformed or missing.", true;
    StorageClassInvalid => "storage_class.invalid", "An unknown storage class.", true;
    ConflictPolicyInvalid => "conflict_policy.invalid", "An unknown conflict policy, or one this place does not allow.", true;
    DeletePolicyInvalid => "delete_policy.invalid", "An unknown delete policy for a synced folder.", true;
    IgnorePatternInvalid => "ignore_pattern.invalid", "An ignore pattern is not a valid gitignore line.", true;
    BandwidthInvalid => "bandwidth.invalid", "A bandwidth limit or timetable cannot be parsed.", true;
    ChunkSizeInvalid => "chunk_size.invalid", "A chunk size is not a positive multiple of 256 KiB.", true;
    PrefsInvalid => "prefs.invalid", "A preference is out of range.", true;
    ProxyInvalid => "proxy.invalid", "A proxy setting is wrong: its URL, user, \"no proxy for\" list, or a user with no password stored.", true;
    SecretInvalid => "secret.invalid", "A secret is empty or malformed (before any server saw it).", true;
    UrlInvalid => "url.invalid", "A base URL is not an http(s) URL with a host and no query.", true;
    ServiceInvalid => "service.invalid", "An unknown service name.", true;
    ProfileNameInvalid => "profile_name.invalid", "A profile name has characters or a length not allowed.", true;
    SettingsInvalid => "settings.invalid", "The settings file cannot be read as settings.", false;
    PathInvalid => "path.invalid", "A path is empty or cannot be used.", true;
    OptionInvalid => "option.invalid", "A command-line option or argument is wrong, missing, or not for this service.", true;
    InputInvalid => "input.invalid", "Bad input of no more precise kind.", true;
    SessionNone => "session.none", "Not logged in: no session is open.", false;
    SandboxFailed => "sandbox.failed", "The local sandbox could not be started.", false;
    ServiceUnsupported => "service.unsupported", "The service or this account cannot do what was asked.", true;
    ServiceMismatch => "service.mismatch", "A profile of one service was used for another.", true;
    UploadNothing => "upload.nothing", "Nothing to upload: an empty batch, or a folder with no files to upload.", true;
    WatchedOverlap => "watched.overlap", "The folder is already watched, alone or inside another watched folder.", true;
    WatchFailed => "watch.failed", "The OS refused to watch a folder for changes.", false;
    RetryRefused => "retry.refused", "This job or Doc cannot be sent again (now).", false;
    SetupFailed => "setup.failed", "The machine could not give what Twindrop needs (an HTTP client, a home folder).", false;
    AuthUnauthorized => "auth.unauthorized", "The server refused the secret.", false;
    AuthForbidden => "auth.forbidden", "The secret works but may not do this.", false;
    TwinNotFound => "twin.not_found", "No such Twin visible to this account.", false;
    NotFound => "not_found", "The server has no such thing.", false;
    RequestRejected => "request.rejected", "The server rejected the request (a 4xx not covered by another code).", false;
    ServerRateLimited => "server.rate_limited", "The server is rate limiting requests.", false;
    ServerError => "server.error", "The server failed (5xx).", false;
    ServerBadResponse => "server.bad_response", "The server's answer could not be understood.", false;
    NetworkInsecure => "network.insecure", "Plain HTTP to a host other than this machine is refused.", false;
    NetworkUnreachable => "network.unreachable", "The server cannot be reached: check this machine's network connection, and any proxy or firewall.", false;
    NetworkDns => "network.dns", "The host name could not be found: check the base URL's spelling and your DNS/network.", false;
    NetworkRefused => "network.refused", "Nothing is listening at that address: is the server (or the sandbox) running, is the port right?", false;
    NetworkTimeout => "network.timeout", "The server did not answer in time: it may be overloaded, or a proxy or firewall holds the connection; try again later.", false;
    NetworkTls => "network.tls", "The secure connection failed: the server's certificate is not trusted (self-signed, expired, for another name, or replaced by a proxy that inspects TLS), or TLS itself failed.", false;
    UploadRejected => "upload.rejected", "The upload URL refused the bytes.", false;
    AttachDocExists => "attach.doc_exists", "A Doc of that name already exists.", false;
    AttachNotUploaded => "attach.not_uploaded", "The server did not receive the file (upload handler unknown or expired, or an empty file it does not take).", false;
    AttachRejected => "attach.rejected", "The attach (or rawFiles) request was refused, or no free name was left.", false;
    VerifyChecksumMismatch => "verify.checksum_mismatch", "The server holds other bytes than were sent.", false;
    VerifyTimeout => "verify.timeout", "A Doc was still being copied when verification gave up.", false;
    KeyringUnavailable => "keyring.unavailable", "The OS keyring cannot be reached.", false;
    KeyringNoSecret => "keyring.no_secret", "No secret is stored in the keyring for this profile.", false;
    KeyringFailed => "keyring.failed", "The OS keyring failed.", false;
    ProfileNotFound => "profile.not_found", "No profile of that name (log in first).", false;
    JournalFailed => "journal.failed", "The journal (SQLite) failed.", false;
    JournalLocked => "journal.locked", "Another Twindrop is using the journal.", false;
    JournalTooNew => "journal.too_new", "The journal or log was written by a newer Twindrop: update Twindrop.", false;
    JobCancelled => "job.cancelled", "The job was cancelled.", false;
    JobFailed => "job.failed", "A failed job whose journal row holds no code (no error makes it).", false;
    QueueStopped => "queue.stopped", "The queue stopped.", false;
    InternalError => "internal.error", "A bug in Twindrop (a panic or a failed task): that item fails.", false;
    AutostartFailed => "autostart.failed", "Start at login could not be changed.", false;
    PathNotChosen => "path.not_chosen", "A path the user did not pick or drop.", false;
    PreviewTooMany => "preview.too_many", "A drop holds more files than a preview walks.", false;
    VerifyUnsupported => "verify.unsupported", "This service has no call that reads a file's hash back, so its uploads cannot be verified afterwards.", true;
    ReceiptTampered => "receipt.tampered", "A receipt's content does not hash to the SHA-256 it carries: it was changed after it was written.", false;
    ReceiptInvalid => "receipt.invalid", "A file given as a receipt is not one Twindrop wrote (or is damaged).", true;
    FileExists => "file.exists", "A file is already at the path to write, and replacing it was not asked for.", true;
    DownloadUnavailable => "download.unavailable", "The server gives no download link for the Doc: it is still being copied, or its copy failed.", false;
    DownloadRejected => "download.rejected", "The download link refused to give the Doc's bytes (expired, gone or refused).", false;
    DownloadChecksumMismatch => "download.checksum_mismatch", "The downloaded bytes do not hash to the SHA-256 the Doc recorded; nothing was saved.", false;
    VerifyGone => "verify.gone", "A verification shown in the window is no longer kept (newer ones replaced it, or another account is open): verify again.", false;
}

/// What kind of value was refused, for [`Error::Invalid`]: each kind has its own code, so the UI
/// can say which field is wrong without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalid {
    /// A name template (`template.invalid`).
    Template,
    /// A Doc description (`description.invalid`).
    Description,
    /// A Twin, table or asset (`destination.invalid`).
    Destination,
    StorageClass,
    ConflictPolicy,
    DeletePolicy,
    IgnorePattern,
    Bandwidth,
    ChunkSize,
    Prefs,
    /// A proxy setting (`proxy.invalid`).
    Proxy,
    Secret,
    Url,
    /// A service's name (`service.invalid`).
    Service,
    ProfileName,
    Settings,
    /// A name that cannot be made or used, other than a Trusted Twin Doc name (`name.invalid`).
    Name,
    Path,
    /// A command-line option or argument (`option.invalid`).
    Option,
}

impl Invalid {
    /// Every kind, for tests.
    pub const ALL: &'static [Invalid] = &[
        Invalid::Template,
        Invalid::Description,
        Invalid::Destination,
        Invalid::StorageClass,
        Invalid::ConflictPolicy,
        Invalid::DeletePolicy,
        Invalid::IgnorePattern,
        Invalid::Bandwidth,
        Invalid::ChunkSize,
        Invalid::Prefs,
        Invalid::Proxy,
        Invalid::Secret,
        Invalid::Url,
        Invalid::Service,
        Invalid::ProfileName,
        Invalid::Settings,
        Invalid::Name,
        Invalid::Path,
        Invalid::Option,
    ];

    pub fn code(self) -> Code {
        match self {
            Invalid::Template => Code::TemplateInvalid,
            Invalid::Description => Code::DescriptionInvalid,
            Invalid::Destination => Code::DestinationInvalid,
            Invalid::StorageClass => Code::StorageClassInvalid,
            Invalid::ConflictPolicy => Code::ConflictPolicyInvalid,
            Invalid::DeletePolicy => Code::DeletePolicyInvalid,
            Invalid::IgnorePattern => Code::IgnorePatternInvalid,
            Invalid::Bandwidth => Code::BandwidthInvalid,
            Invalid::ChunkSize => Code::ChunkSizeInvalid,
            Invalid::Prefs => Code::PrefsInvalid,
            Invalid::Proxy => Code::ProxyInvalid,
            Invalid::Secret => Code::SecretInvalid,
            Invalid::Url => Code::UrlInvalid,
            Invalid::Service => Code::ServiceInvalid,
            Invalid::ProfileName => Code::ProfileNameInvalid,
            Invalid::Settings => Code::SettingsInvalid,
            Invalid::Name => Code::NameInvalid,
            Invalid::Path => Code::PathInvalid,
            Invalid::Option => Code::OptionInvalid,
        }
    }
}

impl Error {
    /// The stable machine code. Never change an existing code: the UI and scripts match on it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The machine code as a [`Code`], one of [`Code::ALL`].
    pub fn error_code(&self) -> Code {
        use Error::*;
        match self {
            File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Code::FileNotFound,
            File { .. } => Code::FileUnreadable,
            NotAFile { .. } => Code::FileNotAFile,
            NotAFolder { .. } => Code::FileNotAFolder,
            FileChanged { .. } => Code::FileChanged,
            DocName { .. } => Code::DocNameInvalid,
            Error::Invalid { what, .. } => what.code(),
            Input(_) => Code::InputInvalid,
            NoSession => Code::SessionNone,
            SandboxFailed(_) => Code::SandboxFailed,
            Unsupported(_) => Code::ServiceUnsupported,
            ServiceMismatch(_) => Code::ServiceMismatch,
            NothingToUpload(_) => Code::UploadNothing,
            AlreadyWatched(_) => Code::WatchedOverlap,
            WatchFailed(_) => Code::WatchFailed,
            RetryRefused(_) => Code::RetryRefused,
            Setup(_) => Code::SetupFailed,
            Unauthorized(_) => Code::AuthUnauthorized,
            Forbidden(_) => Code::AuthForbidden,
            TwinNotFound(_) => Code::TwinNotFound,
            NotFound(_) => Code::NotFound,
            Rejected { .. } => Code::RequestRejected,
            RateLimited { .. } => Code::ServerRateLimited,
            Server { .. } => Code::ServerError,
            BadResponse(_) => Code::ServerBadResponse,
            Insecure(_) => Code::NetworkInsecure,
            Unreachable { .. } => Code::NetworkUnreachable,
            Dns { .. } => Code::NetworkDns,
            Refused { .. } => Code::NetworkRefused,
            Timeout(_) => Code::NetworkTimeout,
            Tls { .. } => Code::NetworkTls,
            UploadRejected { .. } => Code::UploadRejected,
            DocExists(_) => Code::AttachDocExists,
            NotUploaded(_) | NeverArrived { .. } => Code::AttachNotUploaded,
            AttachRejected { .. } => Code::AttachRejected,
            ChecksumMismatch { .. } => Code::VerifyChecksumMismatch,
            VerifyTimeout { .. } => Code::VerifyTimeout,
            KeyringUnavailable(_) => Code::KeyringUnavailable,
            NoSecret(_) => Code::KeyringNoSecret,
            Keyring(_) => Code::KeyringFailed,
            ProfileNotFound(_) => Code::ProfileNotFound,
            Journal(_) => Code::JournalFailed,
            JournalLocked(_) => Code::JournalLocked,
            JournalTooNew { .. } => Code::JournalTooNew,
            Cancelled => Code::JobCancelled,
            QueueStopped(_) => Code::QueueStopped,
            Internal(_) => Code::InternalError,
            Autostart(_) => Code::AutostartFailed,
            PathNotChosen { .. } => Code::PathNotChosen,
            TooManyFiles { .. } => Code::PreviewTooMany,
            VerifyUnsupported { .. } => Code::VerifyUnsupported,
            ReceiptTampered { .. } => Code::ReceiptTampered,
            ReceiptInvalid { .. } => Code::ReceiptInvalid,
            VerificationGone(_) => Code::VerifyGone,
            FileExists { .. } => Code::FileExists,
            DownloadUnavailable { .. } => Code::DownloadUnavailable,
            DownloadRejected { .. } => Code::DownloadRejected,
            DownloadChecksumMismatch { .. } => Code::DownloadChecksumMismatch,
        }
    }

    /// A refused value of this kind (`Error::Invalid`), with the message that says why.
    pub fn invalid(what: Invalid, message: impl Into<String>) -> Self {
        Error::Invalid { what, message: message.into() }
    }

    /// Whether the input was wrong: the command line, a value typed or saved, a login that
    /// misses a part. The CLI exits with its usage code for these; trying again without changing
    /// the input gives the same error.
    pub fn is_bad_input(&self) -> bool {
        self.error_code().is_bad_input()
    }

    /// Whether trying the same thing again later may succeed.
    pub fn retryable(&self) -> bool {
        use Error::*;
        matches!(
            self,
            RateLimited { .. }
                | Server { .. }
                | Unreachable { .. }
                | Dns { .. }
                | Refused { .. }
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

/// Why a file may never arrive: an empty file is the likely cause, as the service may read a
/// 0-byte PUT as "no file" (`docs/fidelity.md`, Trusted Twin).
fn never_arrived_hint(size: u64) -> &'static str {
    if size == 0 {
        "; the file is empty (0 bytes), and this service does not take an empty file as a Doc"
    } else {
        ""
    }
}

/// The shape an error takes across the IPC boundary and in `--json` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
pub struct ErrorInfo {
    /// One of [`Code`]'s strings (typed so in the app's TypeScript bindings).
    #[specta(type = Code)]
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
mod tests;
