#!/usr/bin/env bash
# The journal at N jobs (default 100,000; issue 18): its size on disk per 100,000 jobs, and the
# time of its hot operations at that size (claim next, record uploaded, the sync's skip-unchanged
# lookup, the naming preview of a 50,000-file drop, the queue's idle check, pruning), each beside
# the query it replaced where there was one. Written as a sync writes it, through the engine's
# own calls (crates/engine/benches/journal.rs, a release build); needs ~1 GB in $TMPDIR.
# Usage: benches/journal.sh [N_JOBS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
cargo bench --quiet --locked -p twindrop-engine --bench journal --manifest-path "$root/Cargo.toml" -- "${1:-100000}"
