//! Any path sanitizes to a name valid under the strict regex, or to an explicit error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twindrop_engine::naming::{check, is_valid, sanitize, Reading};

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    if let Ok(name) = sanitize(&path) {
        assert!(is_valid(name.as_str(), Reading::Strict), "{path:?} -> {name}");
        assert!(check(name.as_str()).is_ok());
        assert_eq!(sanitize(name.as_str()).unwrap(), name, "sanitizing a valid name changed it");
    }
});
