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
# shellcheck source=../scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"
if ! command -v rclone >/dev/null; then
  say "apt: installing rclone (Debian's package)"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rclone
fi
cargo build --quiet --release --locked -p twindrop-cli --manifest-path "$root/Cargo.toml"
export TWINDROP_BIN="$CARGO_TARGET_DIR/release/twindrop"
# rclone (Go's AWS SDK) refuses a CA bundle variable with a plain-HTTP endpoint.
unset AWS_CA_BUNDLE
exec python3 "$root/benches/report.py" --runs "$runs" --root "$root"
