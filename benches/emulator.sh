#!/usr/bin/env bash
# The emulator's own figures, with a state directory as the app's sandbox runs it (issue 18),
# release builds on loopback:
#   1. its request ceiling: POST /cache from a load generator (crates/emulator/examples/load.rs,
#      64 keep-alive connections, 10 s after 1 s of warm-up), with --state and in memory
#   2. 10,000 x 2 KiB files by `twindrop upload --parallel 16` to an emulator with --state
#      (files/s), to read beside 1: how close the client gets to the server's limit
#   3. attach latency (one Doc per request, one request at a time) on a Twin with 100 and with
#      100,000 Docs, with --state: the size of the state must not slow a request down
# Usage: benches/emulator.sh [RUNS]   (default 3; 1 and 2 print the median of RUNS, 3 runs once)
# TWINDROP_BIN / TWINDROP_LOAD_BIN point at prebuilt binaries (benches/report.sh sets the
# first); TWINDROP_BENCH_DOCS (default 100,100000) and TWINDROP_BENCH_SAMPLES (default 200) set 3.
set -euo pipefail
runs=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
if [ -z "${TWINDROP_BIN:-}" ]; then
  cargo build --quiet --release --locked -p twindrop-cli --manifest-path "$root/Cargo.toml"
fi
if [ -z "${TWINDROP_LOAD_BIN:-}" ]; then
  cargo build --quiet --release --locked -p twindrop-emulator --example load --manifest-path "$root/Cargo.toml"
fi
bin=${TWINDROP_BIN:-$CARGO_TARGET_DIR/release/twindrop}
load=${TWINDROP_LOAD_BIN:-$CARGO_TARGET_DIR/release/examples/load}
work=$(mktemp -d)
em=
stop() { if [ -n "$em" ]; then kill "$em" 2>/dev/null || true; wait "$em" 2>/dev/null || true; em=; fi; }
trap 'stop; rm -rf "$work"' EXIT
export TWINDROP_CONFIG_DIR="$work/config" TWINDROP_DATA_DIR="$work/data" TWINDROP_SECRET=bench
# start_emulator ARGS...: sets $url and $em
start_emulator() {
  rm -f "$work/url"
  "$bin" emulator --secret bench "$@" > "$work/url" 2>/dev/null &
  em=$!
  while [ ! -s "$work/url" ]; do sleep 0.05; done
  url=$(head -1 "$work/url")
}
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.0f}")' "$@"; }

echo "== 1. POST /cache ceiling (64 connections, 10 s)"
for mode in state memory; do
  rates=()
  for i in $(seq "$runs"); do
    if [ "$mode" = state ]; then start_emulator --copy-delay-ms 0 --state "$work/cache-state-$i"; else start_emulator --copy-delay-ms 0; fi
    line=$("$load" "$url" bench cache 64 10)
    stop
    rm -rf "$work/cache-state-$i"
    echo "   $mode run $i: $line"
    rates+=("$(sed -E 's/^POST \/cache: ([0-9]+) req\/s.*/\1/' <<< "$line")")
  done
  echo "POST /cache ceiling, $mode: median $(median "${rates[@]}") req/s (runs: ${rates[*]})"
done

echo "== 2. 10,000 x 2 KiB files, twindrop upload --parallel 16, emulator with --state"
python3 - "$work/small" <<'PY'
import os, sys
d = sys.argv[1]
os.makedirs(d)
for i in range(10000):
    with open(os.path.join(d, f"f{i:05d}.dat"), "wb") as f:
        f.write(os.urandom(2048))
PY
rates=()
for i in $(seq "$runs"); do
  start_emulator --copy-delay-ms 0 --state "$work/files-state-$i" --control-token bench-control
  twin=$("$bin" twin create --base-url "$url")
  s=$(date +%s.%N)
  "$bin" upload --parallel 16 --base-url "$url" --twin "$twin" --journal "$work/files-$i.sqlite" "$work"/small/*.dat > /dev/null
  e=$(date +%s.%N)
  # What the client asked of the server per file (the Twin's creation aside).
  per_file=$(curl -s -H "X-Emulator-Control: bench-control" "$url/_emulator/stats" |
    python3 -c 'import json, sys; print("%.2f" % ((sum(json.load(sys.stdin)["calls"].values()) - 1) / 10000))')
  stop
  rm -rf "$work/files-state-$i"
  rate=$(python3 -c "print(f'{10000 / ($e - $s):.0f}')")
  echo "   run $i: $rate files/s, $per_file requests per file"
  rates+=("$rate")
done
echo "10,000 x 2 KiB with --state, --parallel 16: median $(median "${rates[@]}") files/s, $per_file requests per file (runs: ${rates[*]})"

echo "== 3. attach latency by Docs on the Twin (--state, copies held back)"
start_emulator --copy-delay-ms 3600000 --state "$work/attach-state"
"$load" "$url" bench attach "${TWINDROP_BENCH_DOCS:-100,100000}" "${TWINDROP_BENCH_SAMPLES:-200}"
stop
du -sh "$work/attach-state" | sed 's/^/   state dir after: /'
