//! The official Python client (`pip install trustedtwin`) runs its whole flow against the
//! emulator: the check that the emulator matches the real wire format, not just our own client.
//!
//! Needs `TWINDROP_PYTHON` (set by `scripts/bootstrap.sh`) pointing at a Python with `trustedtwin`
//! and `requests`. Without it the test is skipped, unless `TWINDROP_REQUIRE_PEERS=1`.

use std::path::PathBuf;
use std::process::Stdio;

use twindrop_emulator::{Config, Emulator};

const SECRET: &str = "Zm9vYmFy+/official/client/secret==";

#[tokio::test]
async fn official_python_client_runs_the_whole_flow() {
    let Some(python) = std::env::var_os("TWINDROP_PYTHON") else {
        if std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("TWINDROP_PYTHON is not set but TWINDROP_REQUIRE_PEERS=1");
        }
        eprintln!("skipped: set TWINDROP_PYTHON to a Python with the trustedtwin client");
        return;
    };
    let script =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()))
            .join("../../tests/python/official_client.py");
    assert!(script.is_file(), "missing {}", script.display());

    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.expect("emulator starts");
    let mut command = std::process::Command::new(&python);
    command.arg(&script).arg(emulator.base_url()).arg(SECRET).stdin(Stdio::null());
    // On a blocking thread, so the emulator keeps serving on this test's runtime meanwhile.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("cannot run {python:?}: {err}"));
    emulator.shutdown().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "official client failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(stdout.contains("official client flow OK"), "{stdout}");
}
