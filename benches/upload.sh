#!/usr/bin/env bash
# Upload throughput and peak memory of `twindrop upload` against `twindrop emulator` on loopback.
# Prints one line per file size: MB/s and the client's max RSS. Memory must not grow with size.
# Usage: benches/upload.sh [SIZE_MB...]   (default: 16 256 1024)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
cargo build --quiet --release --locked -p twindrop-cli --manifest-path "$root/Cargo.toml"
bin="$CARGO_TARGET_DIR/release/twindrop"
work=$(mktemp -d); trap 'kill $em 2>/dev/null || true; rm -rf "$work"' EXIT
export TWINDROP_CONFIG_DIR="$work/config" TWINDROP_SECRET=bench
"$bin" emulator --secret bench --copy-delay-ms 10 --state "$work/state" > "$work/url" &
em=$!
while [ ! -s "$work/url" ]; do sleep 0.05; done
url=$(head -1 "$work/url")
twin=$("$bin" twin create --base-url "$url")
printf '%8s %10s %10s %12s\n' size_MB seconds MB/s client_RSS_MB
for mb in "${@:-16 256 1024}"; do
  for size in $mb; do
    f="$work/f$size.bin"
    head -c $((size * 1024 * 1024)) /dev/urandom > "$f"
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin" upload --base-url "$url" --twin "$twin" "$f" > /dev/null
    read -r secs rss < "$work/time"
    awk -v s="$size" -v t="$secs" -v r="$rss" 'BEGIN { printf "%8d %10.2f %10.1f %12.1f\n", s, t, s / (t > 0 ? t : 0.01), r / 1024 }'
    rm -f "$f"
  done
done
