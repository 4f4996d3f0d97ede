//! A `Range` header from a server: parsed or refused, never a panic; what parses round-trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(committed) = twindrop_engine::fuzzing::range(&text) {
        let end = text.trim().strip_prefix("bytes=0-").unwrap().trim().parse::<u64>().unwrap();
        // `bytes=0-N` is N + 1 bytes, `bytes=0-0` included (one byte: the protocol's reading).
        assert_eq!(committed, end.checked_add(1).unwrap());
    }
});
