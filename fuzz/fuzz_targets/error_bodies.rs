//! Error bodies from servers (S3/OSS XML, Redivis JSON): summarised into a message and a stable
//! code, never a panic, never an unbounded message.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body is the engine's, so the ordinary tests run it too (crates/engine/tests/fuzz_targets.rs).
fuzz_target!(|data: &[u8]| twindrop_engine::fuzzing::error_bodies(data));
