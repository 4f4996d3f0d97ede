#!/usr/bin/env bash
# The app at scale in its real window (issue 18): FILES files dropped (default 100,000), staged,
# listed and scrolled; WebKit's peak memory; the Docs tab of a Twin of DOCS Docs (default
# 20,000) opened and scrolled. Release build, through tauri-driver/WebDriver under Xvfb.
# Usage: benches/ui.sh [FILES] [DOCS]. Needs what scripts/test installs.
exec "$(dirname "$0")/in-window.sh" ui.py "${1:-100000}" "${2:-20000}"
