//! Any path sanitizes to a name valid under the strict regex, or to an explicit error.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the engine's, so the ordinary tests run it too (crates/engine/tests/fuzz_targets.rs).
fuzz_target!(|data: &[u8]| twindrop_engine::fuzzing::sanitize_path(data));
