"""A real `twindrop emulator` process for the conformance suite, and raw-HTTP helpers.

Nothing here imports `trustedtwin`: the same harness serves the 3.18 suite (tt3/) and the 0.4.x
suite (tt04/), which run in two different virtualenvs because both releases are the package
`trustedtwin`.

Live mode (`TWINDROP_CONFORMANCE_LIVE=1`, set by tests/live/run): no emulator is started; the
clients talk to `TWINDROP_LIVE_TT_BASE_URL` (default https://rest.trustedtwin.com) with the
secret `TWINDROP_LIVE_TT_SECRET`, and the cases marked `emulator_only` are skipped. Both suites'
clients note every Twin and upload URL they create (`Target.track`), and `Target.clean_up`
removes them at the end of each module; nothing else is touched.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests

SECRET = "Zm9vYmFy+/conformance/secret=="
READER_SECRET = "cmVhZGVy+/reader/only=="
CONTROL_TOKEN = "conformance-control-token"
CONTROL_HEADER = "X-Emulator-Control"
# Small enough to test EntityTooLarge cheaply, large enough for every other upload here.
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
COPY_DELAY_MS = 150

REPO = Path(__file__).resolve().parents[2]

LIVE = os.environ.get("TWINDROP_CONFORMANCE_LIVE") == "1"
if LIVE:
    SECRET = os.environ.get("TWINDROP_LIVE_TT_SECRET", "")
    if not SECRET:
        raise RuntimeError("live mode needs TWINDROP_LIVE_TT_SECRET")
    LIVE_BASE_URL = os.environ.get("TWINDROP_LIVE_TT_BASE_URL") or "https://rest.trustedtwin.com"

READER_OPERATIONS = ["who_am_i", "get_twin", "get_twin_doc", "get_twin_docs"]


def twindrop_binary():
    """`$CARGO_TARGET_DIR/debug/twindrop`, or the target dir cargo reports; never a fixed path."""
    explicit = os.environ.get("TWINDROP_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR")
    if not target:
        metadata = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=REPO, check=True, capture_output=True, text=True,
        )
        target = json.loads(metadata.stdout)["target_directory"]
    binary = Path(target) / "debug" / "twindrop"
    if not binary.is_file():
        raise RuntimeError(f"{binary} is missing: run `cargo build -p twindrop-cli` first")
    return binary


class Target:
    """What every case may use: the base URL and raw HTTP with the secret. It also notes the
    Twins and upload handlers created through it, which live mode cleans up (`clean_up`)."""

    base_url = ""

    def __init__(self):
        self.created_twins, self.handlers = [], []

    def track(self, method, path, status, text):
        """Notes what a successful `POST /twins` or `POST /cache` created."""
        if method != "POST" or status != 201:
            return
        if path == "/twins":
            self.created_twins.append(json.loads(text)["creation_certificate"]["uuid"])
        elif path == "/cache":
            self.handlers.append(json.loads(text)["handler"])

    def log(self):
        return ""

    def stop(self):
        pass

    def clean_up(self):
        """Deletes the Docs of every Twin created through this target, terminates those Twins
        (Trusted Twin has no delete for a Twin) and invalidates its upload URLs. Touches nothing
        else. Returns what went wrong; the outcome goes to CLEANUP_REPORT."""
        def call(method, path):
            for _ in range(3):
                response = self.api(method, path)
                if response.status_code < 500 and response.status_code != 429:
                    break
                time.sleep(1)
            return response.status_code, response.text
        problems, terminated, no_terminate = [], [], []
        for twin in dict.fromkeys(self.created_twins):
            status, text = call("DELETE", f"/twins/{twin}/docs")
            if status != 200:
                problems.append(f"Twin {twin}: delete_twin_docs answered {status}: {text[:200]}")
                continue
            status, text = call("DELETE", f"/twins/{twin}")
            if status == 200:
                terminated.append(twin)
            elif status == 405:  # a server without terminate_twin
                no_terminate.append(twin)
            else:
                problems.append(f"Twin {twin}: Docs deleted, terminate_twin answered {status}: {text[:200]}")
        handlers, invalidated = list(dict.fromkeys(self.handlers)), 0
        for handler in handlers:
            status, text = call("DELETE", f"/cache/{handler}")
            if status not in (200, 404):  # 404: the case itself invalidated it
                problems.append(f"upload handler {handler}: invalidate_upload_url answered {status}: {text[:200]}")
            invalidated += status == 200
        CLEANUP_REPORT.append(f"cleanup: {len(terminated)} Twins emptied and terminated, "
                              f"{invalidated} of {len(handlers)} upload URLs invalidated (the rest already were)")
        if no_terminate:
            CLEANUP_REPORT.append(f"left behind: {len(no_terminate)} Twins, emptied (this server has no "
                                  "terminate_twin: 405): " + ", ".join(no_terminate))
        CLEANUP_REPORT.extend("left behind: " + p for p in problems)
        return problems

    def tracking_session(self):
        """A requests Session that notes on this target what an official client creates through
        it (the 0.4.x client takes one)."""
        session = requests.Session()

        def note(response, *args, **kwargs):
            path = response.request.path_url.split("?", 1)[0]
            base = requests.utils.urlparse(self.base_url).path.rstrip("/")
            self.track(response.request.method, path[len(base):] if path.startswith(base) else path,
                       response.status_code, response.text)
        session.hooks["response"].append(note)
        return session

    def api(self, method, path, secret=None, **kwargs):
        """Raw HTTP, for what the official clients have no method for. `secret=None` is the
        suite's secret; `secret=False` sends no Authorization header."""
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        secret = SECRET if secret is None else secret
        if secret is not False:
            headers["Authorization"] = secret
        response = requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
        self.track(method, path, response.status_code, response.text)
        return response


class LiveTarget(Target):
    """A real Trusted Twin endpoint: nothing to start, and no emulator controls."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url.rstrip("/")


class Emulator(Target):
    """`twindrop emulator` on port 0 with a state directory of its own."""

    def __init__(self, extra_args=(), control_token=CONTROL_TOKEN):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="twindrop-conformance-"))
        users = self.dir / "users.json"
        users.write_text(json.dumps({"users": [
            {"name": "reader", "secret": READER_SECRET, "allow": READER_OPERATIONS},
        ]}))
        args = [
            str(twindrop_binary()), "emulator",
            "--addr", "127.0.0.1:0",
            "--secret", SECRET,
            "--users", str(users),
            "--state", str(self.dir / "state"),
            "--copy-delay-ms", str(COPY_DELAY_MS),
            "--max-upload-bytes", str(MAX_UPLOAD_BYTES),
            *extra_args,
        ]
        if control_token is not None:
            args += ["--control-token", control_token]
        self.control_token = control_token
        self.log_path = self.dir / "emulator.log"
        self._log = open(self.log_path, "wb")
        env = dict(os.environ, TWINDROP_LOG=os.environ.get("TWINDROP_LOG", "info"), NO_COLOR="1")
        env.pop("TWINDROP_EMULATOR_CONTROL_TOKEN", None)
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL, env=env,
        )
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"emulator did not print its URL (got {line!r}):\n{self.log()}")
        self.base_url = line

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- control endpoints -------------------------------------------------------------------

    def control(self, method, path, body=None, token=None):
        headers = {CONTROL_HEADER: token if token is not None else self.control_token}
        return requests.request(method, self.base_url + path, json=body, headers=headers, timeout=10)

    def set_faults(self, plan):
        response = self.control("PUT", "/_emulator/faults", plan)
        assert response.status_code == 200, response.text
        return response.json()

    def clear_faults(self):
        assert self.control("DELETE", "/_emulator/faults").status_code == 200

    def stats(self):
        response = self.control("GET", "/_emulator/stats")
        assert response.status_code == 200, response.text
        return response.json()

    def advance_clock(self, seconds):
        response = self.control("POST", "/_emulator/clock", {"seconds": seconds})
        assert response.status_code == 200, response.text


def put_bytes(url, data, **kwargs):
    """The upload PUT as a client should make it: raw bytes, Content-Length, no Authorization."""
    return requests.put(url, data=data, timeout=60, **kwargs)


def s3_error_code(response):
    """The <Code> of an S3-style XML error body."""
    assert response.headers.get("Content-Type") == "application/xml", response.headers
    text = response.text
    assert text.startswith("<?xml") and "<Error>" in text, text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def assert_tt_error(status_and_text, status, subcode):
    """A Trusted Twin error body: {subcode: int, trace: str, description: str}."""
    got_status, text = status_and_text
    assert got_status == status, f"expected {status}, got {got_status}: {text}"
    body = json.loads(text)
    assert body["subcode"] == subcode and isinstance(body["subcode"], int), body
    assert isinstance(body["trace"], str) and len(body["trace"]) == 36, body
    assert isinstance(body["description"], str), body
    return body


def wait_settled(get_status, timeout=None):
    """Polls `get_status()` until it is no longer 'copying'; returns the last status. Live, it
    polls ten times slower and waits longer: a real copy is slower, and this is someone's account."""
    timeout = timeout or (60.0 if LIVE else 15.0)
    deadline = time.monotonic() + timeout
    while True:
        status = get_status()
        if status != "copying":
            return status
        assert time.monotonic() < deadline, "still copying"
        time.sleep(0.5 if LIVE else 0.05)


# Doc names and what the published regex (unescaped dot, re.match) says about them.
ACCEPTED_NAMES = [
    "a b",                 # the unescaped '.' takes any one character before the last 1-8 alnums
    "a~b",
    "name txt",
    "a\u00e9b",            # non-ASCII once, in the separator position
    "a/b/c/d/e/f/g",       # the wildcard eats a sixth '/'
    "a" * 41,              # 32 + any + 8
    "f.TXT",
    "Certs/cert_2022.v1",
    "file.txt\n",          # Python's '$' matches before one trailing newline
]
REJECTED_NAMES = [
    "archive.tar.gz",
    "my file.txt",
    ".hidden",
    "a//b",
    "/a",
    "a/",
    "dir.v2/x",
    "a" * 42,
    "a/b/c/d/e/f/g.txt",
    "x.abcdefghi",
    "file.txt\n\n",
]


def redact(text):
    """The text with the live secret (as is, and percent-encoded) masked; unchanged otherwise."""
    if not LIVE or not isinstance(text, str):
        return text
    for form in {SECRET, quote(SECRET, safe=""), quote(SECRET)}:
        text = text.replace(form, "***")
    return text


# Live mode: one line per Twin or handler cleanup, printed at the end of the run.
CLEANUP_REPORT = []
