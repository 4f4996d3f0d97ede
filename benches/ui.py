"""The app at scale, in its real window through tauri-driver's WebDriver (issue 18): 100,000 files
dropped with a true XDND drop, staged and listed; the Uploads list scrolled top to bottom, timed
per frame; WebKit's memory; then the Docs tab of a Twin holding 20,000 Docs, opened and scrolled.
Run by benches/ui.sh under Xvfb and a private keyring. Prints one UI line of figures at the end.
Usage: ui.py APP_BIN FILES DOCS

Frames are timed with WebKit's compositing off (WEBKIT_DISABLE_COMPOSITING_MODE): Xvfb has no
GPU, so compositing runs on llvmpipe at 40-100 ms for any repainted frame whatever the page does;
without it the frames measure the page, which is what the app controls."""

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from launch import call, free_port, running, wait_for_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Window:
    """One app session through WebDriver."""

    def __init__(self, app, env):
        port, native = free_port(), free_port()
        self.driver = subprocess.Popen(["tauri-driver", "--port", str(port), "--native-port", str(native)], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0)
        wait_for_port(port)
        wait_for_port(native)
        self.base = f"http://127.0.0.1:{port}"
        caps = {"browserName": "wry", "tauri:options": {"application": app, "args": []}}
        status, value = call(self.base, "POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        if status != 200:
            sys.exit(f"no WebDriver session: {value}")
        self.session = value["sessionId"]
        self.app = app

    def call(self, method, path, body=None):
        """tauri-driver now and then drops a connection while the page is busy; ask again (every
        script sent here can run twice without harm)."""
        for attempt in range(5):
            try:
                return call(self.base, method, path, body)
            except (ConnectionError, http.client.HTTPException) as e:
                print(f"WebDriver dropped a call ({e}); asking again", file=sys.stderr)
                time.sleep(0.5)
        sys.exit("WebDriver kept dropping the connection")

    def js(self, script, *args):
        status, value = self.call("POST", f"/session/{self.session}/execute/sync", {"script": script, "args": list(args)})
        if status != 200:
            sys.exit(f"script failed: {value}\n{script}")
        return value

    def js_async(self, script):
        """`script` calls done(value) when it has its answer."""
        body = {"script": f"const done = arguments[arguments.length - 1]; {script}", "args": []}
        status, value = self.call("POST", f"/session/{self.session}/execute/async", body)
        if status != 200:
            sys.exit(f"script failed: {value}\n{script}")
        return value

    def wait(self, what, script, seconds, every=0.02, explain="return document.body.innerText.slice(0, 2000);"):
        """Poll `script` until it returns something truthy; that value. On a timeout, what
        `explain` returns is shown."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.js(script)
            if value:
                return value
            if time.monotonic() > deadline:
                sys.exit(f"timed out after {seconds} s waiting for {what}: {self.js(explain)}")
            time.sleep(every)

    def click(self, css):
        self.wait(f"{css} to be enabled", f"const e = document.querySelector({css!r}); return !!e && !e.disabled;", 30)
        self.js(f"document.querySelector({css!r}).click();")

    def rect(self, css):
        status, value = call(self.base, "GET", f"/session/{self.session}/window/rect")
        r = self.js(f"const r = document.querySelector({css!r}).getBoundingClientRect(); "
                    "return [r.x, r.y, r.width, r.height];")
        return value["x"] + r[0] + r[2] / 2, value["y"] + r[1] + r[3] / 2

    def close(self):
        os.killpg(self.driver.pid, signal.SIGTERM)
        self.driver.wait()
        deadline = time.monotonic() + 20
        while running(self.app):
            if time.monotonic() > deadline:
                os.killpg(self.driver.pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def xdotool(*args):
    subprocess.run(["xdotool", *map(str, args)], check=True)


def drop(window, css, paths):
    """A true XDND drop of `paths` onto `css`, from a GTK drag source (tests/e2e/drag_source.py,
    as the e2e tests do); the time the button was released."""
    sx, sy = 1110, 560
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
        listing.write("\n".join(paths))
        listing.flush()
        source = subprocess.Popen(["/usr/bin/python3", f"{ROOT}/tests/e2e/drag_source.py", str(sx), str(sy),
                                   f"@{listing.name}"], stdout=subprocess.PIPE, text=True)
        try:
            if source.stdout.readline().strip() != "ready":
                sys.exit("the drag source did not start")
            time.sleep(0.4)
            tx, ty = (int(v) for v in window.rect(css))
            xdotool("mousemove", sx + 60, sy + 40)
            time.sleep(0.3)
            xdotool("mousedown", 1)
            # GTK starts a drag only after the pointer moved past its threshold while pressed.
            for x, y in [(sx + 50, sy + 45), (sx + 30, sy + 50), (sx - 100, sy), (tx + 40, ty + 10), (tx + 5, ty),
                         (tx, ty)]:
                time.sleep(0.25)
                xdotool("mousemove", x, y)
            time.sleep(0.4)
            released = time.monotonic()
            xdotool("mouseup", 1)
            return released
        finally:
            time.sleep(0.3)
            source.kill()
            source.wait()


SCROLL = """const grid = document.querySelector(%r);
const gaps = [], costs = []; let most = 0, step = 0, began = null, last = performance.now();
// A frame's cost: from its scroll event (the list redraws its window of rows from it) to the end
// of its rendering, which a message posted from its animation-frame callback waits for.
const onScroll = () => { if (began === null) began = performance.now(); };
grid.addEventListener('scroll', onScroll, { capture: true });
const channel = new MessageChannel();
channel.port1.onmessage = () => { if (began !== null) { costs.push(performance.now() - began); began = null; } };
function frame(t) {
  gaps.push(t - last); last = t;
  channel.port2.postMessage(0);
  most = Math.max(most, grid.querySelectorAll('[role=row], [role=option]').length);
  if (step++ === steps) {
    grid.removeEventListener('scroll', onScroll, { capture: true });
    setTimeout(() => done({ gaps: gaps.slice(1), costs, most }), 50);
    return;
  }
  grid.scrollTop = (grid.scrollHeight - grid.clientHeight) * step / steps;
  requestAnimationFrame(frame);
}
const steps = %d;
requestAnimationFrame(frame);"""


def percentiles(xs):
    xs = sorted(xs)
    pct = lambda p: xs[round((len(xs) - 1) * p)]  # noqa: E731
    return pct(0.5), pct(0.95), xs[-1]


def scroll(window, css, steps=300):
    """Top to bottom, one step per frame, `steps` frames: the frames' cost (scroll event to
    rendered) and the gaps between them, each as (median, p95, max) ms; most rows in the DOM."""
    measured = window.js_async(SCROLL % (css, steps))
    return percentiles(measured["costs"]), percentiles(measured["gaps"]), measured["most"]


def descendants(pid):
    children = {}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(p))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def memory(app, field="VmHWM"):
    """Peak RSS (MiB) of the app's own process and of its WebKit web process (`field` VmRSS:
    their RSS now)."""
    status = lambda pid: open(f"/proc/{pid}/status").read()  # noqa: E731
    hwm = lambda s: int(next(line.split()[1] for line in s.splitlines() if line.startswith(field))) / 1024  # noqa: E731
    ours = webkit = 0.0
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{p}/exe") == app:
                ours = hwm(status(p))
                for c in descendants(int(p)):
                    s = status(c)
                    if "WebKitWebProces" in s.splitlines()[0]:
                        webkit = max(webkit, hwm(s))
        except OSError:
            pass
    return ours, webkit


def say(app, what):
    """A step's figures, with the memory the processes hold now (where a peak comes from)."""
    ours, webkit = memory(app, "VmRSS")
    print(f"{what} [RSS now: WebKit {webkit:.0f} MiB, app {ours:.0f} MiB]", flush=True)


def count(window, css):
    return window.js(f"const e = document.querySelector({css!r}); "
                     "return e ? Number(e.textContent.replace(/[^0-9]/g, '')) : 0;")


def main():
    app, files, docs = os.path.realpath(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    home = tempfile.mkdtemp(prefix="twindrop-ui.")
    env = dict(os.environ, TWINDROP_CONFIG_DIR=f"{home}/config", TWINDROP_DATA_DIR=f"{home}/data",
               WEBKIT_DISABLE_COMPOSITING_MODE="1")
    window = None
    try:
        os.mkdir(f"{home}/files")
        paths = []
        for i in range(files):
            p = f"{home}/files/f{i:06}.txt"
            with open(p, "w") as f:
                f.write(f"{i}\n")
            paths.append(p)
        window = Window(app, env)
        window.wait("the app to be ready", "return document.body.dataset.ready === 'true';", 60)
        say(app, "ready")
        before = window.js("return document.getElementById('twin-current')?.textContent.trim() ?? '';")
        window.click("#twin-create")
        window.wait("a new Twin", f"const t = document.getElementById('twin-current')?.textContent.trim() ?? ''; "
                    f"return t.length === 36 && t !== {before!r};", 30)
        # Paused, so the files wait in the queue while the list is measured.
        window.click("#queue-pause-all")
        window.wait("the queue to pause", "return !!document.getElementById('queue-resume-all');", 10)

        released = drop(window, "#drop-zone", paths)
        window.wait("the files to be staged",
                    f"return document.getElementById('upload-count')?.dataset.count === '{files}';", 120)
        staged = time.monotonic() - released
        say(app, f"staged {files} files {staged:.2f} s after the drop")
        window.wait("the batch to be ready", "const b = document.getElementById('upload-start'); return b && !b.disabled;",
                    120)
        asked = time.monotonic()
        window.js("document.getElementById('upload-start').click();")
        window.wait("the queue to list them", f"return document.getElementById('queue')?.dataset.count === '{files}';",
                    120)
        listed = time.monotonic() - asked
        # Where the time went, as the window measured it (performance.measure in the UI).
        spent = window.js("const t = {}; for (const m of performance.getEntriesByType('measure')) "
                          "{ const k = m.name; t[k] = t[k] || [0, 0]; t[k][0] += m.duration; t[k][1]++; } return t;")
        print("window's own timings: " + "; ".join(f"{k} {v[0] / 1000:.2f} s ({v[1]}x)" for k, v in sorted(spent.items())),
              flush=True)
        say(app, f"listed {files} files {listed:.2f} s after Upload")
        time.sleep(1)
        q_cost, q_gap, q_rows = scroll(window, "#queue")
        print(f"queue scroll: frame cost median {q_cost[0]:.1f} ms, p95 {q_cost[1]:.1f} ms, max {q_cost[2]:.1f} ms; "
              f"frame gaps median {q_gap[0]:.1f} ms, p95 {q_gap[1]:.1f} ms; {q_rows} rows", flush=True)

        # Send `docs` of them, then pause: the Docs tab then shows a Twin of that many Docs.
        window.click("#queue-resume-all")
        sending = time.monotonic()
        deadline = sending + 600
        while (done := count(window, "#filter-done .count")) < docs:
            if time.monotonic() > deadline:
                sys.exit(f"only {done} of {docs} sent after 600 s")
            time.sleep(0.5)
        window.click("#queue-pause-all")
        rate = done / (time.monotonic() - sending)
        time.sleep(3)
        on_twin = count(window, "#filter-done .count")
        say(app, f"sent {on_twin} Docs ({rate:.0f} files/s from the app)")

        opened = time.monotonic()
        window.js("document.getElementById('tab-docs').click();")
        window.wait("the Docs listing", f"return Number(document.getElementById('docs')?.dataset.count ?? 0) >= {docs};",
                    60, every=0.01)
        d_listed = time.monotonic() - opened
        window.wait("the statuses in view", "const rows = [...document.querySelectorAll('#docs [role=option]')]; "
                    "return rows.length > 0 && rows.every(r => r.dataset.status !== 'unread');", 60, every=0.01,
                    explain="return [...document.querySelectorAll('#docs [role=option]')].map(r => r.dataset.name + ' ' + "
                            "r.dataset.status).join(', ') + ' | ' + document.getElementById('screen-docs').innerText;")
        d_read = time.monotonic() - opened
        print(f"Docs tab: {on_twin} Docs listed {d_listed:.2f} s after opening, statuses in view {d_read:.2f} s",
              flush=True)
        d_cost, d_gap, d_rows = scroll(window, "#docs")
        print(f"Docs scroll: frame cost median {d_cost[0]:.1f} ms, p95 {d_cost[1]:.1f} ms, max {d_cost[2]:.1f} ms; "
              f"frame gaps median {d_gap[0]:.1f} ms, p95 {d_gap[1]:.1f} ms; {d_rows} rows", flush=True)
        ours, webkit = memory(app)
        print(f"UI files={files} staged={staged:.2f}s listed={listed:.2f}s cost_p95={q_cost[1]:.1f}ms "
              f"gap_p95={q_gap[1]:.1f}ms rows={q_rows} webkit_mib={webkit:.0f} app_mib={ours:.0f} "
              f"docs={on_twin} docs_listed={d_listed:.2f}s docs_read={d_read:.2f}s docs_cost_p95={d_cost[1]:.1f}ms "
              f"docs_gap_p95={d_gap[1]:.1f}ms docs_rows={d_rows}")
    finally:
        if window:
            window.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
