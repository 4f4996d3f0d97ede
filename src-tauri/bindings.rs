//! The TypeScript bindings of the IPC, generated from Rust (tauri-specta): the commands of
//! `ipc_commands!` with their argument and result types, and every type they reach, serde's
//! renames and tags applied. The UI imports them from `ui/src/lib/generated/bindings.ts`, which
//! is committed; this test fails when Rust and that file differ. To write the file anew:
//!
//! ```sh
//! TWINDROP_BLESS=1 cargo test -p twindrop --lib bindings
//! ```
//!
//! The app never writes it: only this test does, and only when asked to.

use std::path::PathBuf;

use specta_typescript::Typescript;
use tauri_specta::ErrorHandlingMode;

const FILE: &str = "ui/src/lib/generated/bindings.ts";

const HEADER: &str = "// Generated from the Rust commands (src-tauri/ipc.rs) by tauri-specta - DO NOT EDIT.\n\
                      // Regenerate: TWINDROP_BLESS=1 cargo test -p twindrop --lib bindings";

/// The bindings as tauri-specta writes them.
fn render() -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bindings.ts");
    crate::specta_builder()
        // Commands reject with `ErrorInfo`; api.ts catches and normalises it.
        .error_handling(ErrorHandlingMode::Throw)
        // Ids, sizes and byte counts are u64/usize in Rust and plain JSON numbers on the wire
        // (serde_json writes them so, and JavaScript reads them as `number`).
        .dangerously_cast_bigints_to_number()
        .disable_serde_phases()
        .export(Typescript::default().header(HEADER), &out)
        .expect("render the TypeScript bindings");
    std::fs::read_to_string(out).unwrap()
}

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(FILE)
}

#[test]
fn bindings_are_up_to_date() {
    let fresh = render();
    let path = committed();
    if std::env::var_os("TWINDROP_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old != fresh {
        let line = old
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or(format!("lengths differ ({} vs {} lines)", old.lines().count(), fresh.lines().count()), |n| {
                format!("first difference at line {}", n + 1)
            });
        panic!(
            "{FILE} is stale ({line}): the IPC types or commands changed in Rust.\n\
             Regenerate it with: TWINDROP_BLESS=1 cargo test -p twindrop --lib bindings\n\
             then fix the UI where `npm run check` complains."
        );
    }
}

#[test]
fn the_bindings_cover_every_command() {
    let text = render();
    let listed: &[&str] = ipc_commands!(command_names);
    for name in listed {
        assert!(text.contains(&format!("\"{name}\"")), "{name} is not invoked in the bindings");
    }
}
