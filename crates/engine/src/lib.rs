//! # Twindrop engine
//!
//! Everything Twindrop does, with no UI: the desktop shell (`src-tauri/`) and the CLI
//! (`crates/cli`) are thin layers over this crate.
//!
//! # Layout
//! - [`naming`]: `DocName`, valid by construction; names derived from file names.
//! - [`hash`]: streaming SHA-256 (lowercase hex for Trusted Twin).
//! - [`transfer`]: how bytes move (a single streamed PUT for now).
//! - [`service`]: one module per upload API; [`service::trusted_twin`] first.
//! - [`queue`]: runs uploads a few at a time and reports [`queue::QueueEvent`]s.
//! - [`credentials`]: secrets in the OS keyring, nowhere else.
//! - [`account`]: login / connect, shared by the CLI and the app.
//! - [`profile`]: named accounts (base URL, recent Twins), no secrets.
//! - [`error`]: one `Error` with a stable machine `code()`.

pub mod account;
pub mod credentials;
pub mod error;
pub mod hash;
pub mod naming;
pub mod profile;
pub mod queue;
pub mod service;
pub mod transfer;

pub use credentials::Secret;
pub use error::{Error, ErrorInfo, Result};
pub use naming::DocName;
pub use queue::{Queue, QueueEvent};
pub use service::trusted_twin::{DocStatus, TrustedTwin, TwinId};
