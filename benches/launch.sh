#!/usr/bin/env bash
# The app's launch to interactive: the release build, started through tauri-driver/WebDriver
# RUNS times (the first run also creates the sandbox), timed to the first screen being wired.
# The figure includes WebKitWebDriver starting the app, so it is an upper bound.
# Usage: benches/launch.sh [RUNS]   (default 5). Needs what scripts/test installs.
set -euo pipefail
runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
(cd ui && npm run --silent build >/dev/null)
cargo build --quiet --release --locked -p twindrop --features custom-protocol
cargo test --quiet --locked -p twindrop-e2e --test launch --no-run 2>/dev/null
export TWINDROP_APP_BIN="$CARGO_TARGET_DIR/release/twindrop-app" LAUNCH_RUNS=$runs E2E_REQUIRED=1
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c \
  'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null
   cargo test --quiet --locked -p twindrop-e2e --test launch -- --ignored --nocapture 2>/dev/null' | grep -E "^(launch run|LAUNCH)"
