#!/usr/bin/env bash
# The engine's four benchmark figures, each beside its anchor from the same run, against the
# emulator on loopback (release builds):
#   1. SHA-256 of 1 GiB: `twindrop hash` vs `openssl dgst -sha256`        goal >= 0.9x openssl's speed
#   2. 1 GiB upload + hash + attach: `twindrop upload` vs `curl -T`         goal <= 1.15x curl's time
#   3. 10,000 x 4 KiB files end to end                                      goal >= 2,000 files/s
#   4. peak RSS, 4 parallel x 2 GiB; and 1 GiB vs 8 GiB single files        goal <= 64 MiB, within 8 MiB
# Usage: benches/engine.sh [WORK_DIR]   (needs ~30 GB free there; default: a temp dir)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
cargo build --quiet --release --locked -p twindrop-cli --manifest-path "$root/Cargo.toml"
bin="$CARGO_TARGET_DIR/release/twindrop"
work=$(mktemp -d "${1:-${TMPDIR:-/tmp}}/twindrop-bench.XXXX")
trap 'kill $em 2>/dev/null || true; rm -rf "$work"' EXIT
export TWINDROP_CONFIG_DIR="$work/config" TWINDROP_DATA_DIR="$work/data" TWINDROP_SECRET=bench
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
best() { local b=""; for _ in 1 2 3; do t=$(secs "$@"); if [ -z "$b" ] || (( $(echo "$t < $b" | bc -l) )); then b=$t; fi; done; echo "$b"; }

# In memory, as issue 4 measured it; benches/emulator.sh measures the emulator with a state dir.
"$bin" emulator --secret bench --copy-delay-ms 0 --max-upload-bytes $((16 << 30)) > "$work/url" 2>/dev/null &
em=$!
while [ ! -s "$work/url" ]; do sleep 0.05; done
url=$(head -1 "$work/url")
twin() { "$bin" twin create --base-url "$url"; }

head -c $((1 << 30)) /dev/urandom > "$work/1g.bin"
cat "$work/1g.bin" > /dev/null   # warm the page cache for both sides

echo "== 1. SHA-256 of 1 GiB"
t_ours=$(best "$bin" hash "$work/1g.bin")
t_ossl=$(best openssl dgst -sha256 "$work/1g.bin")
printf '   twindrop hash %6.3f s (%5.0f MiB/s)   openssl %6.3f s (%5.0f MiB/s)   ratio %.2fx of openssl speed\n' \
  "$t_ours" "$(echo "1024 / $t_ours" | bc -l)" "$t_ossl" "$(echo "1024 / $t_ossl" | bc -l)" "$(echo "$t_ossl / $t_ours" | bc -l)"

echo "== 2. 1 GiB upload + hash + attach vs curl -T"
n=0
up() { n=$((n + 1)); "$bin" upload --base-url "$url" --twin "$(twin)" --journal "$work/j$n.sqlite" "$work/1g.bin"; }
curl_put() {
  local target; target=$(curl -s -X POST -H "Authorization: bench" "$url/cache" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
  curl -s -f -T "$work/1g.bin" "$target" -o /dev/null
}
t_up=$(best up)
t_curl=$(best curl_put)
printf '   twindrop upload %6.3f s (%5.0f MiB/s)   curl -T %6.3f s (%5.0f MiB/s)   ratio %.2fx of curl time\n' \
  "$t_up" "$(echo "1024 / $t_up" | bc -l)" "$t_curl" "$(echo "1024 / $t_curl" | bc -l)" "$(echo "$t_up / $t_curl" | bc -l)"

echo "== 3. 10,000 x 4 KiB files end to end"
mkdir -p "$work/small"
python3 - "$work/small" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(10000):
    with open(os.path.join(d, f"f{i:05d}.dat"), "wb") as f:
        f.write(os.urandom(4096))
PY
for p in 4 16; do
  t_small=$(secs "$bin" upload --parallel $p --base-url "$url" --twin "$(twin)" --journal "$work/small$p.sqlite" "$work"/small/*.dat)
  printf '   --parallel %-3s %6.2f s   %6.0f files/s\n' "$p" "$t_small" "$(echo "10000 / $t_small" | bc -l)"
done

echo "== 4. peak client memory (max RSS)"
for i in 1 2 3 4; do truncate -s 2G "$work/2g-$i.bin"; done
truncate -s 8G "$work/8g.bin"
rss() {
  /usr/bin/time -f '%M' -o "$work/rss" "$@" > "$work/rss.out" || { echo "upload failed: $(cat "$work/rss.out")" >&2; exit 1; }
  echo $(( $(tail -1 "$work/rss") / 1024 ))
}
r4=$(rss "$bin" upload --parallel 4 --base-url "$url" --twin "$(twin)" --journal "$work/r4.sqlite" "$work"/2g-*.bin)
r1=$(rss "$bin" upload --base-url "$url" --twin "$(twin)" --journal "$work/r1.sqlite" "$work/1g.bin")
r8=$(rss "$bin" upload --base-url "$url" --twin "$(twin)" --journal "$work/r8.sqlite" "$work/8g.bin")
printf '   4 parallel x 2 GiB: %s MiB   1 GiB file: %s MiB   8 GiB file: %s MiB   (8 GiB - 1 GiB: %s MiB)\n' "$r4" "$r1" "$r8" "$((r8 - r1))"
