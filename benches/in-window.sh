#!/usr/bin/env bash
# Runs a benchmark that drives the release app's real window: SCRIPT (python, next to this file)
# gets the app binary and ARGS, under Xvfb and a private D-Bus session with an unlocked keyring.
# With TWINDROP_APP_BIN set (benches/report.sh builds it), that binary is measured as it is;
# otherwise the UI and the app are built first. Shared by launch.sh and ui.sh.
# Usage: benches/in-window.sh SCRIPT [ARGS...]. Needs what scripts/test installs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
script=$1
shift
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
if [ -z "${TWINDROP_APP_BIN:-}" ]; then
  (cd "$root/ui" && npm run --silent build >/dev/null)
  cargo build --quiet --release --locked -p twindrop --features custom-protocol --manifest-path "$root/Cargo.toml"
  TWINDROP_APP_BIN="$CARGO_TARGET_DIR/release/twindrop-app"
fi
export PATH="$HOME/.cargo/bin:$PATH"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c \
  'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null
   exec python3 "$@"' in-window "$root/benches/$script" "$TWINDROP_APP_BIN" "$@"
