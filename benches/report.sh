#!/usr/bin/env bash
# Every benchmark in one go, each beside what a user would pick instead, on this machine in the
# same run; writes bench/REPORT.md (medians of several runs and the A/B ratio of each pair, and
# which goal from the issues each figure meets or misses).
# Usage: benches/report.sh [RUNS]   (default 3; needs ~25 GB free in $TMPDIR or /tmp)
# Installs what it needs if missing: the project's peers (scripts/bootstrap.sh) and Debian's
# rclone. Not part of the test command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
export TWINDROP_REPORT_STARTED=$(date +%s)
# shellcheck source=../scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"
if ! command -v rclone >/dev/null; then
  say "apt: installing rclone (Debian's package)"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rclone
fi
# One release build of both binaries for every benchmark: built together, the crates they share
# compile once (apart, their features differ and the whole engine stack compiles twice).
built=$(date +%s)
(cd "$root/ui" && npm run --silent build >/dev/null)
cargo build --quiet --release --locked --manifest-path "$root/Cargo.toml" \
  -p twindrop-cli -p twindrop --features twindrop/custom-protocol
export TWINDROP_BUILD_SECONDS=$(( $(date +%s) - built ))
export TWINDROP_BIN="$CARGO_TARGET_DIR/release/twindrop" TWINDROP_APP_BIN="$CARGO_TARGET_DIR/release/twindrop-app"
# rclone (Go's AWS SDK) refuses a CA bundle variable with a plain-HTTP endpoint.
unset AWS_CA_BUNDLE
exec python3 "$root/benches/report.py" --runs "$runs" --root "$root"
