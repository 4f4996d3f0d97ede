//! # Twindrop engine
//!
//! Everything Twindrop does, with no UI: the desktop shell (`src-tauri/`) and the CLI
//! (`crates/cli`) are thin layers over this crate.
//!
//! # Layout
//! - [`naming`]: `DocName`, valid by construction; the rules by name (`check`), a path sanitizer,
//!   templates and collision resolution.
//! - [`hash`]: streaming SHA-256 (lowercase hex for Trusted Twin), MD5 where a service wants it.
//! - [`http`]: the one HTTP client setup, bounded answers, Retry-After, transport errors.
//! - [`proxy`]: which proxy a request goes through (the environment's, the prefs', or none);
//!   read by every client `http` builds.
//! - `loopback`: whether a URL is this machine (plain HTTP allowed, never proxied).
//! - [`media_type`]: a file's MIME type, from its content first, then its extension.
//! - [`source`]: the local file a job sends, opened without following symlinks and held to the
//!   identity (device, inode, size, mtime) the journal recorded.
//! - [`transfer`]: how bytes move: one streamed PUT, a resumable session, a form POST.
//! - [`destination`]: which service a job speaks and where its files go (Twin, table, asset,
//!   temporary files); [`doc`]: a Doc's status, storage class and the conflict policy. Both low,
//!   so the journal keeps them typed without knowing the services.
//! - [`service`]: one module per upload API (Trusted Twin, Redivis, Inspect, HBR), each a
//!   [`service::UploadApi`] (a core and optional capabilities), and the [`service::Service`]
//!   handle whose [`api`](service::Service::api) the queue drives.
//! - [`journal`]: SQLite (WAL) record of every job; intent before effect, so a kill loses nothing.
//! - [`queue`]: the scheduler over the journal, the same for every service: parallel uploads,
//!   one batch loop for finishing, polling, pause/resume/cancel; reports [`queue::QueueEvent`]s.
//! - [`redact`]: what of a URL may be shown; every message, event and log line that can hold
//!   an upload URL (a bearer credential) goes through it.
//! - [`retry`]: the one retry policy (exponential backoff, full jitter, Retry-After).
//! - [`size`]: sizes and rates as people write them (`1.5 MB`, `16MiB`, `10M/s`): the one parser.
//! - [`bandwidth`]: token-bucket limit with a weekly timetable.
//! - [`progress`]: throughput (EMA) and ETA.
//! - [`folders`]: watched folders: the watcher, the stability gate and the runner that keeps
//!   an account's folders in step (the app and `twindrop sync` alike).
//! - [`prefs`]: the app's preferences (parallelism, bandwidth timetable, conflicts, autostart,
//!   notifications) and how they map onto queue options, live where they can be.
//! - [`activity`]: the persistent, bounded activity log (SQLite) and batch tracking.
//! - [`credentials`]: secrets in the OS keyring, nowhere else; [`secret_source`]: a secret
//!   given instead (the environment, a file, a command's output), and which one wins.
//! - [`logging`]: how much is logged, one scale for the CLI's `-q`/`-v` and the app.
//! - [`account`]: login / connect, shared by the CLI and the app.
//! - [`doctor`]: the connection check (keyring, host, secret, a 1-byte round trip).
//! - [`app`]: the app-level API both shells call: sign-in (every service, and the sandbox),
//!   the open session's queue and watched folders, pause / resume / retry, Docs, preferences
//!   and the activity log, with events routed to their listeners.
//! - [`profile`]: named accounts (base URL, recent Twins), no secrets.
//! - [`twin_names`]: a nickname for each Twin and the name its server description gives it
//!   (`description.name`); the label shown instead of a UUID.
//! - [`error`]: one `Error` with a stable machine `code()`.
//! - [`chosen`]: the paths the user chose (dialogs, drops, watched folders); the app refuses
//!   any other path its web view names.
//! - [`private`]: files created `0600` in `0700` folders, and atomic replacement.
//! - [`relocate`]: moving the user's files once when their place changes (a new app identifier).
//! - [`verify`]: local files held against the digests their service recorded (five verdicts),
//!   and receipts of that which can be checked again later.

pub mod account;
pub mod activity;
pub mod app;
pub mod bandwidth;
pub mod chosen;
pub mod credentials;
pub mod destination;
pub mod doc;
pub mod doctor;
pub mod error;
pub mod folders;
pub mod hash;
pub mod http;
pub mod journal;
pub mod logging;
mod loopback;
pub mod media_type;
pub mod naming;
pub mod prefs;
pub mod private;
pub mod profile;
pub mod progress;
pub mod proxy;
pub mod queue;
pub mod redact;
pub mod relocate;
pub mod retry;
pub mod secret_source;
pub mod service;
pub mod size;
pub mod source;
pub mod transfer;
pub mod twin_names;
pub mod verify;

/// The fuzz targets' bodies (`fuzz/`), which reach parsers private to their modules. Not an API.
#[doc(hidden)]
pub mod fuzzing;

pub use credentials::Secret;
pub use error::{Code, Error, ErrorInfo, Invalid, Result};
pub use naming::DocName;
pub use queue::{Queue, QueueEvent};
pub use service::trusted_twin::{DocStatus, TrustedTwin, TwinId};
