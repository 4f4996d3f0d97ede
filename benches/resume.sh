#!/usr/bin/env bash
# Bytes sent twice after `kill -9` at a random point of a 1 GiB resumable upload (Redivis,
# against `twindrop emulator`, whose data plane counts every body byte it receives).
# Each run: start an upload, SIGKILL it once the journal's committed offset passes a random
# fraction of the file plus a random part of a chunk, run it again to the end, then read the
# bytes received. Re-sent = received − file size. Goal: ≤ 1 chunk.
# Usage: benches/resume.sh [RUNS] [SIZE_MB] [CHUNK_MB]   (default: 5 1024 16)
set -euo pipefail
runs=${1:-5} size_mb=${2:-1024} chunk_mb=${3:-16}
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
# TWINDROP_BIN (set by benches/report.sh, which builds once for every benchmark) or a fresh build.
if [ -z "${TWINDROP_BIN:-}" ]; then
  cargo build --quiet --release --locked -p twindrop-cli --manifest-path "$root/Cargo.toml"
fi
bin=${TWINDROP_BIN:-$CARGO_TARGET_DIR/release/twindrop}
work=$(mktemp -d); trap 'kill $em 2>/dev/null || true; rm -rf "$work"' EXIT
export TWINDROP_CONFIG_DIR="$work/config" TWINDROP_SECRET=bench TWINDROP_EMULATOR_CONTROL_TOKEN=bench-control
"$bin" emulator --secret bench > "$work/url" 2>/dev/null &
em=$!
while [ ! -s "$work/url" ]; do sleep 0.05; done
url=$(head -1 "$work/url")
received() {
  curl -sf -H "X-Emulator-Control: bench-control" "$url/_emulator/stats" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["redivis_bytes_received"])'
}
committed() {
  python3 - "$1" <<'EOF' 2>/dev/null || echo 0
import sqlite3, sys
try:
    row = sqlite3.connect(sys.argv[1], timeout=0.2).execute("SELECT committed FROM resumable").fetchone()
    print(row[0] if row else 0)
except Exception:
    print(0)
EOF
}
size=$((size_mb * 1024 * 1024)) chunk=$((chunk_mb * 1024 * 1024))
f="$work/big.bin"
head -c "$size" /dev/urandom > "$f"
printf '%4s %16s %14s %8s\n' run committed_at_kill resent_bytes chunks
results=()
for run in $(seq 1 "$runs"); do
  journal="$work/journal-$run.sqlite"
  cp "$f" "$work/run$run.bin"
  upload=("$bin" upload --json --journal "$journal" --service redivis --base-url "$url/api/v1"
    --table demo.sandbox:v1.files --chunk-size "${chunk_mb}M" --resumable-above 1M "$work/run$run.bin")
  before=$(received)
  # Kill past a random committed offset in [10%, 90%) of the file, then a random 0-0.2 s later.
  target=$(python3 -c "import random; print(int($size * random.uniform(0.1, 0.9)))")
  "${upload[@]}" > /dev/null & pid=$!
  while [ "$(committed "$journal")" -lt "$target" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
  sleep "$(python3 -c 'import random; print(round(random.uniform(0, 0.2), 3))')"
  killed_at=$(committed "$journal")
  kill -0 $pid 2>/dev/null || { echo "run $run: the upload ended before the kill; use a larger file" >&2; exit 1; }
  kill -9 $pid; wait $pid 2>/dev/null || true
  "${upload[@]}" > /dev/null
  resent=$(( $(received) - before - size ))
  results+=("$resent")
  awk -v r="$run" -v k="$killed_at" -v s="$resent" -v c="$chunk" 'BEGIN { printf "%4d %16d %14d %8.2f\n", r, k, s, s / c }'
  rm -f "$work/run$run.bin"
done
printf '%s\n' "${results[@]}" | sort -n | awk -v c="$chunk" -v mb="$size_mb" -v cm="$chunk_mb" '
  { v[NR] = $1 } END {
    med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%d runs, %d MiB file, %d MiB chunks: re-sent median %d bytes (%.2f chunks), max %d bytes (%.2f chunks); goal <= 1 chunk\n",
      NR, mb, cm, med, med / c, v[NR], v[NR] / c }'
