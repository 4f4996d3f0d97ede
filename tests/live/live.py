"""Helpers of the live suite: the variables of each service, the `twindrop` CLI run in a throwaway
home (its own journal, config and data folders; the secret only in TWINDROP_SECRET), small files
with awkward names, and the masking of every secret in what gets printed.
"""
import hashlib
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from harness import twindrop_binary

# The secrets of every service: masked in any output of this suite (conftest.py).
SECRET_VARS = [
    "TWINDROP_LIVE_TT_SECRET",
    "TWINDROP_LIVE_REDIVIS_TOKEN",
    "TWINDROP_LIVE_INSPECT_TOKEN",
    "TWINDROP_LIVE_HBR_ACCESS_KEY_SECRET",
]

# What each case leaves on the service, printed at the end of the run (conftest.py).
LEFT_BEHIND = []

# One id per run, in file names and contents: a rerun never meets the files of an earlier one.
RUN_ID = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def env(name, default=None):
    value = os.environ.get(name, "").strip()
    return value or default


def redact(text):
    """`text` with every live secret masked (as is and percent-encoded)."""
    if not isinstance(text, str):
        return text
    for var in SECRET_VARS:
        secret = env(var)
        if secret and len(secret) >= 4:  # shorter is no real secret, and masking it garbles all
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "***")
    return text


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def write(root, relative, data):
    """Writes a small file under `root`; returns its path."""
    path = Path(root) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def content(label, size=None):
    """Bytes unique to this run (so no service sees them as already uploaded), `size` long."""
    data = f"twindrop live check {RUN_ID}: {label}\n".encode()
    if size is not None:
        data = (data * (size // len(data) + 1))[:size]
    return data


class Twindrop:
    """The `twindrop` CLI with a home of its own: it never reads or writes the user's journal,
    profiles or keyring, and the secret goes only in its environment."""

    def __init__(self, secret):
        self.home = Path(tempfile.mkdtemp(prefix="twindrop-live-"))
        self.binary = str(twindrop_binary())
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TWINDROP_")}
        self.env.update(
            TWINDROP_SECRET=secret,
            TWINDROP_CONFIG_DIR=str(self.home / "config"),
            TWINDROP_DATA_DIR=str(self.home / "data"),
            TWINDROP_JOURNAL=str(self.home / "journal.sqlite"),
            NO_COLOR="1",
        )

    def run(self, *args, cwd=None, timeout=120):
        """Runs `twindrop ARGS`; returns (exit code, stdout, stderr), secrets masked."""
        done = subprocess.run(
            [self.binary, *args], cwd=cwd, env=self.env, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )
        return done.returncode, redact(done.stdout), redact(done.stderr)

    def json_lines(self, *args, cwd=None):
        """Runs `twindrop --json ARGS`; returns (exit code, the JSON lines, all the output)."""
        code, out, err = self.run("--json", *args, cwd=cwd)
        lines = []
        for line in out.splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
        return code, lines, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"


def by_path(lines):
    """The outcome lines of an upload (one per file), keyed by the file's path."""
    outcomes = {}
    for line in lines:
        if "status" in line and "path" in line:
            assert line["path"] not in outcomes, f"two outcomes for one file: {line}"
            outcomes[line["path"]] = line
    return outcomes


def assert_uploaded(code, lines, output, files, names):
    """Every file ended `ok` under its expected name, with the SHA-256 of its bytes, and the
    exit code says so. `files` maps path → bytes, `names` path → the expected name."""
    outcomes = by_path(lines)
    assert code == 0, output
    assert set(outcomes) == {str(p) for p in files}, output
    for path, data in files.items():
        line = outcomes[str(path)]
        assert line["status"] == "ok", output
        assert line["doc_name"] == names[path], output
        assert line["sha256"] == sha256(data), output
    return outcomes


def assert_all_skipped(code, lines, output, files):
    """A second run of the same files sends nothing: each is `skipped`, unchanged."""
    outcomes = by_path(lines)
    assert code == 0, output
    assert set(outcomes) == {str(p) for p in files}, output
    assert all(o["status"] == "skipped" for o in outcomes.values()), output


def assert_doctor(cli, service, base_url, *extra, secret_verdict="pass", trip_verdict="pass"):
    """`twindrop doctor` against the service: the host answers, the secret is accepted, and the
    1-byte round trip (which leaves nothing) works where the service allows one. The keyring
    step is the machine's, not the service's: a live run gives its secret in the environment."""
    code, lines, output = cli.json_lines("doctor", "--service", service, "--base-url", base_url, *extra)
    assert len(lines) == 1, output
    steps = {s["name"]: s for s in lines[0]["report"]["steps"]}
    assert steps["host"]["verdict"] == "pass", output
    assert steps["secret"]["verdict"] == secret_verdict, output
    assert steps["round_trip"]["verdict"] == trip_verdict, output
    keyring_ok = steps["keyring"]["verdict"] == "pass"
    assert code == (0 if keyring_ok else 1), output
