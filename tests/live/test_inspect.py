"""Screening Eagle Inspect, through `twindrop upload --service inspect`: a small PNG and a text
file with a space and non-ASCII in its name, into the asset you name for testing, each `ok` with
its SHA-256, and a second run that sends nothing. Twindrop has no delete for Inspect files, so
**the files stay on that asset**: the run prints their names. Nothing else on the asset is read
or changed.

Variables: TWINDROP_LIVE_INSPECT_BASE_URL (no public default), TWINDROP_LIVE_INSPECT_TOKEN,
TWINDROP_LIVE_INSPECT_ASSET (an asset UUID), TWINDROP_LIVE_INSPECT_COMPLETE_PATH (optional: the
"complete" call's path with `{id}`, if it is not Twindrop's default).
"""
import tempfile
from pathlib import Path

import pytest

import live
from live import RUN_ID, Twindrop, assert_all_skipped, assert_uploaded, content, write

BASE_URL = (live.env("TWINDROP_LIVE_INSPECT_BASE_URL") or "").rstrip("/")
ASSET = live.env("TWINDROP_LIVE_INSPECT_ASSET")
COMPLETE_PATH = live.env("TWINDROP_LIVE_INSPECT_COMPLETE_PATH")
PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + content("png")  # sniffed as image/png
FILES = {f"twindrop live {RUN_ID} photo.png": PNG, f"twindrop live {RUN_ID} Grüße.txt": content("text")}


@pytest.fixture(scope="module")
def cli():
    return Twindrop(live.env("TWINDROP_LIVE_INSPECT_TOKEN"))


@pytest.fixture(scope="module")
def files():
    root = Path(tempfile.mkdtemp(prefix="twindrop-live-inspect-"))
    return {write(root, name, data): name for name, data in FILES.items()}


def upload(cli, files):
    args = ["upload", "--service", "inspect", "--base-url", BASE_URL, "--asset", ASSET]
    if COMPLETE_PATH:
        args += ["--complete-path", COMPLETE_PATH]
    return cli.json_lines(*args, *map(str, files))


def test_upload_puts_each_file_on_the_asset_with_its_hash(cli, files):
    code, lines, output = upload(cli, files)
    ok = [line["doc_name"] for line in lines if line.get("status") == "ok"]
    if ok:
        live.LEFT_BEHIND.append(f"left behind: asset {ASSET} keeps the {len(ok)} files this run added: {ok}")
    assert_uploaded(code, lines, output, {p: p.read_bytes() for p in files}, files)


def test_a_second_upload_sends_nothing(cli, files):
    assert_all_skipped(*upload(cli, files), files)


def test_a_wrong_token_is_refused_and_sends_nothing(files):
    wrong = Twindrop(f"not-a-token-{RUN_ID}")
    code, lines, output = upload(wrong, list(files)[:1])
    assert code == 3, output
    assert [line["error"]["code"] for line in lines if "error" in line] == ["auth.unauthorized"], output


def test_doctor_accepts_the_token_and_sends_nothing(cli):
    # No published call proves an Inspect token, and every upload stays on the asset.
    live.assert_doctor(cli, "inspect", BASE_URL, "--asset", ASSET, secret_verdict="warn", trip_verdict="skip")
