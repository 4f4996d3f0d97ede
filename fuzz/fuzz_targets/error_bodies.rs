//! Error bodies from servers (S3/OSS XML, Redivis JSON): summarised into a message and a stable
//! code, never a panic, never an unbounded message.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let summary = twindrop_engine::fuzzing::storage_error(&body);
    assert!(summary.len() <= body.len() + 32 || summary.chars().count() <= 200);
    let status = data.first().map_or(400, |b| 400 + u16::from(*b) % 200);
    let error = twindrop_engine::fuzzing::redivis_error(status, &body);
    assert!(!error.code().is_empty());
    let _ = error.to_string();
});
