#!/usr/bin/env bash
# The app's launch to interactive: the release build, started through tauri-driver/WebDriver
# RUNS times (the first run also creates the sandbox), timed to the first screen being wired.
# The figure includes WebKitWebDriver starting the app, so it is an upper bound.
# Usage: benches/launch.sh [RUNS]   (default 5). Needs what scripts/test installs.
exec "$(dirname "$0")/in-window.sh" launch.py "${1:-5}"
