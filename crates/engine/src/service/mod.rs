//! One module per upload API. Each says how to get an upload target, which transfer moves the
//! bytes, and how to finalize and read back status.

pub mod trusted_twin;
