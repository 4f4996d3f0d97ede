//! Any template either fails to parse with a reason or renders a strictly valid name (or an
//! explicit error), for any relative path.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twindrop_engine::naming::{is_valid, Reading, Template, TemplateInput};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (template, path) = text.split_once('\n').unwrap_or((&text, "dir/file.txt"));
    let Ok(template) = Template::parse(template) else { return };
    let modified = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap().fixed_offset();
    let sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let input = TemplateInput { relative_path: std::path::Path::new(path), modified, sha256 };
    if let Ok(name) = template.render(&input) {
        assert!(is_valid(name.as_str(), Reading::Strict), "{template} on {path:?} -> {name}");
    }
});
