//! A `Range` header from a server: parsed or refused, never a panic; what parses round-trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the engine's, so the ordinary tests run it too (crates/engine/tests/fuzz_targets.rs).
fuzz_target!(|data: &[u8]| twindrop_engine::fuzzing::range(data));
