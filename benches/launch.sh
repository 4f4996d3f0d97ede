#!/usr/bin/env bash
# The app's launch to interactive: the release build, started through tauri-driver/WebDriver
# RUNS times (the first run also creates the sandbox), timed to the first screen being wired.
# The figure includes WebKitWebDriver starting the app, so it is an upper bound.
# Usage: benches/launch.sh [RUNS]   (default 5). Needs what scripts/test installs.
# With TWINDROP_APP_BIN set (benches/report.sh builds it), that binary is measured as it is.
set -euo pipefail
runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
if [ -z "${TWINDROP_APP_BIN:-}" ]; then
  (cd "$root/ui" && npm run --silent build >/dev/null)
  cargo build --quiet --release --locked -p twindrop --features custom-protocol --manifest-path "$root/Cargo.toml"
  TWINDROP_APP_BIN="$CARGO_TARGET_DIR/release/twindrop-app"
fi
export PATH="$HOME/.cargo/bin:$PATH"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c \
  'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null
   exec python3 "$0" "$1" "$2"' "$root/benches/launch.py" "$TWINDROP_APP_BIN" "$runs"
