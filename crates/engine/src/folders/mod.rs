//! Watched folders: a folder kept in step with a destination.
//!
//! - [`watch`]: notify + debouncer turns inotify into per-path changes, or "rescan" when some
//!   may have been lost.
//! - `gate`: the stability gate: a file goes up only once it has stopped changing.
//! - [`syncer`]: one folder: its files through the gate, ignore patterns, journal-aware walks,
//!   renames and deletes.
//! - [`runner`]: the app's folders of an account, each a syncer on one shared queue, with
//!   status (watching / syncing / paused / error), last sync, its files in step / waiting / failed
//!   and the last synced (`journal::folder`), and, paused, its changes waiting.
//! - The app and `twindrop sync --saved` share the folders (settings.json) and their journal
//!   (`profile::folders_journal_path`).
//! - [`run`]: folders kept in step outside the app (`twindrop sync`), until stopped or once.

mod gate;
mod run;
pub mod runner;
pub mod syncer;
pub mod watch;

pub use run::{run, Listeners};
pub use runner::{changes_of, files_of, FolderStatus, FolderUpdate, Status, Watched, RECENT_FILES};
pub use syncer::{ignores, namer, queue_ended, DeletePolicy, Namer, SyncOptions, Syncer, DEFAULT_IGNORES};
