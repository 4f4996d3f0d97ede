"""The app's launch to interactive, through tauri-driver's WebDriver: from asking for a session,
which starts the app, to the first screen saying it is wired (`body[data-ready]`: the session
known, the drop zone and the queue channel listening). Run by benches/launch.sh under Xvfb and a
private keyring; plain WebDriver over HTTP, so the benchmark needs no test crate built.
Usage: launch.py APP_BIN RUNS"""

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

READY = "body[data-ready='true']"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"tauri-driver never opened port {port}")
            time.sleep(0.05)


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)["value"]
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)["value"]


def find(base, session, css):
    """The status of a find-element call. tauri-driver now and then drops a connection while the
    page loads; that poll counts as not found, and the next one asks again."""
    try:
        return call(base, "POST", f"/session/{session}/element", {"using": "css selector", "value": css})[0]
    except (ConnectionError, http.client.HTTPException):
        return 0


def running(app):
    """Whether a process of `app` is still alive."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe") == app:
                return True
        except OSError:
            pass
    return False


def launch(app, env):
    """Milliseconds from the session request to the ready screen. Each launch has a tauri-driver
    (and WebKitWebDriver) of its own, started before the clock and ended whole after it: one
    reused across sessions sometimes drops the connection when its app quits."""
    port, native = free_port(), free_port()
    # Its own process group, which WebKitWebDriver and the app inherit.
    driver = subprocess.Popen(["tauri-driver", "--port", str(port), "--native-port", str(native)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0)
    try:
        wait_for_port(port)
        wait_for_port(native)
        base = f"http://127.0.0.1:{port}"
        caps = {"browserName": "wry", "tauri:options": {"application": app, "args": []}}
        started = time.monotonic()
        status, value = call(base, "POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        if status != 200:
            sys.exit(f"no WebDriver session: {value}")
        session = value["sessionId"]
        # Polled every 10 ms, so the figure is at most that much late.
        while find(base, session, READY) != 200:
            if time.monotonic() > started + 30:
                sys.exit("the UI never became ready")
            time.sleep(0.01)
        return (time.monotonic() - started) * 1000
    finally:
        os.killpg(driver.pid, signal.SIGTERM)
        driver.wait()
        # The app is single-instance: one still quitting would take the next launch over.
        deadline = time.monotonic() + 20
        while running(app):
            if time.monotonic() > deadline:
                os.killpg(driver.pid, signal.SIGKILL)
                sys.exit("the app did not quit")
            time.sleep(0.05)


def main():
    app, runs = os.path.realpath(sys.argv[1]), int(sys.argv[2])
    home = tempfile.mkdtemp(prefix="twindrop-launch.")
    env = dict(os.environ, TWINDROP_CONFIG_DIR=f"{home}/config", TWINDROP_DATA_DIR=f"{home}/data")
    ms = []
    try:
        for run in range(runs):
            # The first run also creates the sandbox's state; the others open it again.
            ms.append(launch(app, env))
            print(f"launch run {run}: {ms[-1]:.0f} ms", flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"LAUNCH first={ms[0]:.0f}ms median={statistics.median(ms):.0f}ms min={min(ms):.0f}ms "
          f"max={max(ms):.0f}ms runs={runs}")


if __name__ == "__main__":
    main()
