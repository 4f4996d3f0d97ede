#!/usr/bin/env bash
# Installs whatever is missing on a fresh Debian 12 machine, and nothing that is already there.
# Sourced by scripts/run-app and scripts/test; safe to run on its own.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/twindrop-target}
export TWINDROP_CACHE=${TWINDROP_CACHE:-$HOME/.cache/twindrop}
mkdir -p "$CARGO_TARGET_DIR" "$TWINDROP_CACHE"

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=(
  # build the app
  libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev curl file
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  # headless window, WebDriver, screenshots
  xvfb xauth webkit2gtk-driver imagemagick
  # keyring in tests: private session bus + gnome-keyring
  dbus-x11 gnome-keyring keyutils
  # real XDND drag-and-drop in tests
  xdotool python3-gi gir1.2-gtk-3.0
  # a real HTTP proxy for crates/engine/tests/proxy.rs (started by the test on its own port;
  # RUNLEVEL=1 below keeps the package's system service from starting)
  tinyproxy
  # a TLS server with a self-signed certificate (crates/engine/tests/network_bounds.rs), and
  # the hashing benchmarks' anchor (openssl dgst)
  openssl
)
command -v node >/dev/null || apt_packages+=(nodejs npm)
command -v python3 >/dev/null || apt_packages+=(python3 python3-venv python3-pip)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt: installing ${missing[*]}"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages: one workspace (package.json at the root: the Tauri CLI; ui/: the window's code),
# `npm ci` only when the lockfile changed since the last install
if [ -f "$root/package-lock.json" ]; then
  stamp="$root/node_modules/.twindrop-lock"
  if ! cmp -s "$root/package-lock.json" "$stamp" 2>/dev/null; then
    say "npm: installing the workspace's packages"
    (cd "$root" && npm ci --no-audit --no-fund)
    cp "$root/package-lock.json" "$stamp"
  fi
fi

# tauri-driver: pinned to 2.x (the registry's newest is a 3.0 alpha)
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  say "cargo: installing tauri-driver 2.x"
  cargo install tauri-driver --version '^2' --locked
fi
export PATH="$HOME/.cargo/bin:$PATH"

# No cargo-fuzz here: the test command runs the fuzz targets' bodies as ordinary tests, and
# real fuzzing (nightly, cargo-fuzz) is a long run one installs for it (README, "Fuzzing").

# Python: the two official trustedtwin clients, used to check the emulator (tests/conformance).
# Two project-local venvs, because both releases are the package `trustedtwin`; each is
# (re)made only when it cannot import what it needs at the right version.
python3 -c 'import ensurepip' 2>/dev/null || {
  say "apt: installing python3-venv"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
}
peer_venv() { # DIR CHECK PIP_ARGS...
  local dir=$1 check=$2; shift 2
  "$dir/bin/python" -c "$check" 2>/dev/null && return 0
  say "pip: making $dir ($*)"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$@"
  "$dir/bin/python" -c "$check"
}
version_is() { echo "from importlib.metadata import version as v; assert v('trustedtwin')$1"; }
peer_venv "$root/.peers/venv-tt3" \
  "import requests, pytest, trustedtwin.tt_api; $(version_is "=='3.18.20241001204517'")" \
  'trustedtwin==3.18.20241001204517' requests pytest
peer_venv "$root/.peers/venv-tt04" \
  "import requests, pytest, trustedtwin.service; $(version_is ".startswith('0.4.')")" \
  'trustedtwin>=0.4,<0.5' pytest
export TWINDROP_PYTHON="$root/.peers/venv-tt3/bin/python"
# A third-party GCS-style resumable server, so the resumable transfer is not only checked
# against our own emulator (../shared/spec/peers.md).
peer_venv "$root/.peers/venv-gcs" "import gcp_storage_emulator" 'gcp-storage-emulator==2026.7.19'
export TWINDROP_GCS_EMULATOR="$root/.peers/venv-gcs/bin/gcp-storage-emulator"
# S3-compatible peers: moto (form POSTs to a bucket) and s3rver (checks SigV2 presigned URLs).
peer_venv "$root/.peers/venv-moto" "import moto, flask" 'moto[server]==5.2.5'
export TWINDROP_MOTO="$root/.peers/venv-moto/bin/moto_server"
if [ ! -x "$root/.peers/npm/node_modules/.bin/s3rver" ]; then
  say "npm: installing s3rver 3.7.1"
  npm install --prefix "$root/.peers/npm" --no-audit --no-fund --silent 's3rver@3.7.1'
fi
export TWINDROP_S3RVER="node $root/.peers/npm/node_modules/s3rver/bin/s3rver.js"
