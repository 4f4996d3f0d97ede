#!/usr/bin/env bash
# `twindrop verify` (issue 20), release build, the sandbox's emulator on loopback:
#   1. 10,000 x 4 KiB files uploaded as one folder, then verified against their Docs with every
#      byte read again (no --trust-cache): files/s, median of RUNS
#   2. one 4 GiB file uploaded, then verified, beside `openssl dgst -sha256` of the same file
#      (both from the page cache, after a warm-up read): the ratio of their speeds, median of RUNS
#   3. the 10,000 files again with --trust-cache (nothing changed: nothing read)
# Usage: benches/verify.sh [RUNS] [FILES] [BIG_MIB]   (defaults 3, 10000, 4096)
# TWINDROP_BIN points at a prebuilt binary (benches/report.sh sets it).
set -euo pipefail
runs=${1:-3}; files=${2:-10000}; big_mib=${3:-4096}
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
if [ -z "${TWINDROP_BIN:-}" ]; then
  cargo build --quiet --release --locked -p twindrop-cli --manifest-path "$root/Cargo.toml"
fi
bin=${TWINDROP_BIN:-$CARGO_TARGET_DIR/release/twindrop}
work=$(mktemp -d)
em=
stop() { if [ -n "$em" ]; then kill "$em" 2>/dev/null || true; wait "$em" 2>/dev/null || true; em=; fi; }
trap 'stop; rm -rf "$work"' EXIT
export TWINDROP_CONFIG_DIR="$work/config" TWINDROP_DATA_DIR="$work/data" TWINDROP_SECRET=bench
export TWINDROP_JOURNAL="$work/journal.sqlite"
"$bin" emulator --secret bench --copy-delay-ms 0 --max-upload-bytes $((8 << 30)) --state "$work/state" > "$work/url" 2>/dev/null &
em=$!
while [ ! -s "$work/url" ]; do sleep 0.05; done
url=$(head -1 "$work/url")
export TWINDROP_BASE_URL=$url
# secs CMD...: its wall seconds; its output goes to $work/out
secs() {
  python3 -c 'import subprocess, sys, time
t = time.monotonic()
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out, check=False)
print(f"{time.monotonic() - t:.3f}")' "$work/out" "$@"
}
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"; }

echo "== 1. $files x 4 KiB: upload, then verify (every byte read)"
mkdir -p "$work/small"
python3 - "$work/small" "$files" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(top, f"f{i:05d}.dat"), "wb") as f:
        f.write(os.urandom(4096))
PY
twin=$("$bin" twin create)
"$bin" upload --quiet --parallel 16 --twin "$twin" "$work/small" > /dev/null
rates=()
for _ in $(seq "$runs"); do
  s=$(secs "$bin" verify --twin "$twin" "$work/small")
  grep -q "^$files match " "$work/out" || { echo "not every file matched:"; tail -5 "$work/out"; exit 1; }
  rates+=("$(python3 -c "print($files / $s)")")
done
rate=$(median "${rates[@]}")
tail -1 "$work/out"
echo "verify: $files files, median $rate files/s (runs: ${rates[*]})"

cached=()
for _ in $(seq "$runs"); do
  s=$(secs "$bin" verify --trust-cache --twin "$twin" "$work/small")
  grep -q "^$files match " "$work/out" || { echo "not every file matched:"; tail -5 "$work/out"; exit 1; }
  cached+=("$(python3 -c "print($files / $s)")")
done
cached_rate=$(median "${cached[@]}")
echo "verify --trust-cache (nothing changed): median $cached_rate files/s"

echo "== 2. one $big_mib MiB file: verify vs openssl dgst -sha256"
mkdir -p "$work/big"
head -c "$((big_mib << 20))" /dev/urandom > "$work/big/big.bin"
twin2=$("$bin" twin create)
"$bin" upload --quiet --twin "$twin2" "$work/big/big.bin" > /dev/null
cat "$work/big/big.bin" > /dev/null
ratios=(); ours=(); theirs=()
for _ in $(seq "$runs"); do
  o=$(secs "$bin" verify --twin "$twin2" "$work/big/big.bin")
  grep -q "^1 match " "$work/out" || { echo "the big file did not match:"; cat "$work/out"; exit 1; }
  t=$(secs openssl dgst -sha256 "$work/big/big.bin")
  ours+=("$o"); theirs+=("$t")
  ratios+=("$(python3 -c "print($t / $o)")")
done
tail -1 "$work/out"
echo "VERIFY files=$files rate=$rate cached_rate=$cached_rate big_mib=$big_mib big_s=$(median "${ours[@]}") openssl_s=$(median "${theirs[@]}") ratio=$(median "${ratios[@]}")"
