//! Any template either fails to parse with a reason or renders a strictly valid name (or an
//! explicit error), for any relative path.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the engine's, so the ordinary tests run it too (crates/engine/tests/fuzz_targets.rs).
fuzz_target!(|data: &[u8]| twindrop_engine::fuzzing::template(data));
