//! The bodies of the fuzz targets (`fuzz/fuzz_targets/`): what each asserts about one input.
//! They live here, not in the targets, so that the ordinary test build runs the same checks
//! (`tests/fuzz_targets.rs`: property-generated inputs, the seeds and any local corpus) without
//! a second, nightly, sanitizer build; `cargo +nightly fuzz run` is the long search (README).
//! Each panics when its property fails. Not an API.

use crate::naming::{check, is_valid, sanitize, Reading, Template, TemplateInput};

/// One target's body: panics when its property fails for this input.
pub type Body = fn(&[u8]);

/// The fuzz targets, by the name `cargo fuzz` knows them by, with their bodies.
pub const TARGETS: [(&str, Body); 4] =
    [("sanitize", sanitize_path), ("template", template), ("range", range), ("error_bodies", error_bodies)];

/// Any path sanitizes to a name valid under the strict regex, or to an explicit error; a valid
/// name sanitizes to itself.
pub fn sanitize_path(data: &[u8]) {
    let path = String::from_utf8_lossy(data);
    if let Ok(name) = sanitize(&path) {
        assert!(is_valid(name.as_str(), Reading::Strict), "{path:?} -> {name}");
        assert!(check(name.as_str()).is_ok());
        assert_eq!(sanitize(name.as_str()).unwrap(), name, "sanitizing a valid name changed it");
    }
}

/// Any template (the first line) either fails to parse with a reason or renders a strictly
/// valid name (or an explicit error) for the relative path on the second line.
pub fn template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (template, path) = text.split_once('\n').unwrap_or((&text, "dir/file.txt"));
    let Ok(template) = Template::parse(template) else { return };
    let modified = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap().fixed_offset();
    let sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let input = TemplateInput { relative_path: std::path::Path::new(path), modified, sha256 };
    if let Ok(name) = template.render(&input) {
        assert!(is_valid(name.as_str(), Reading::Strict), "{template} on {path:?} -> {name}");
    }
}

/// A `Range` header from a server: parsed or refused, never a panic; what parses round-trips.
pub fn range(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(committed) = crate::transfer::resumable::parse_range(&text) {
        let end = text.trim().strip_prefix("bytes=0-").unwrap().trim().parse::<u64>().unwrap();
        // `bytes=0-N` is N + 1 bytes, `bytes=0-0` included (one byte: the protocol's reading).
        assert_eq!(committed, end.checked_add(1).unwrap());
    }
}

/// Error bodies from servers (S3/OSS XML, Redivis JSON): summarised into a message and a
/// stable code, never a panic, never an unbounded message.
pub fn error_bodies(data: &[u8]) {
    let body = String::from_utf8_lossy(data);
    let summary = crate::transfer::storage_error_message(&body);
    assert!(summary.len() <= body.len() + 32 || summary.chars().count() <= 200);
    let status = data.first().map_or(400, |b| 400 + u16::from(*b) % 200);
    let status = reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::BAD_REQUEST);
    let error = crate::service::redivis::api_error("POST /x", status, None, &body);
    assert!(!error.code().is_empty());
    let _ = error.to_string();
}
