#!/usr/bin/env bash
# The app at scale in its real window (issue 18): FILES files dropped (default 100,000), staged,
# listed and scrolled; WebKit's peak memory; the Docs tab of a Twin of DOCS Docs (default
# 20,000) opened and scrolled. Release build, through tauri-driver/WebDriver under Xvfb.
# Usage: benches/ui.sh [FILES] [DOCS]. Needs what scripts/test installs.
# With TWINDROP_APP_BIN set (benches/report.sh builds it), that binary is measured as it is.
set -euo pipefail
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
   exec python3 "$0" "$1" "$2" "$3"' "$root/benches/ui.py" "$TWINDROP_APP_BIN" "${1:-100000}" "${2:-20000}"
