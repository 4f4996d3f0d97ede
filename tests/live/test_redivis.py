"""Redivis, through `twindrop upload --service redivis`: three small files into the file-index
table you name for testing (a space and non-ASCII in the names; one of 300 KiB forced through a
resumable session in two 256 KiB chunks), each `ok` with its SHA-256, and a second run that
sends nothing. Redivis has no call to remove a raw file that Twindrop uses, so **the files stay
in that table**: the run prints their names. Nothing else in the table is read or changed.

Variables: TWINDROP_LIVE_REDIVIS_TOKEN, TWINDROP_LIVE_REDIVIS_TABLE (a file-index table the token
can edit), TWINDROP_LIVE_REDIVIS_BASE_URL (default https://redivis.com/api/v1).
"""
import tempfile
from pathlib import Path

import pytest

import live
from live import RUN_ID, Twindrop, assert_all_skipped, assert_uploaded, content, write

BASE_URL = live.env("TWINDROP_LIVE_REDIVIS_BASE_URL", "https://redivis.com/api/v1").rstrip("/")
TABLE = live.env("TWINDROP_LIVE_REDIVIS_TABLE")
# A file's name in the table is its file name: the run id keeps them apart from any other file.
NAMES = [f"twindrop live {RUN_ID} a b.txt", f"twindrop live {RUN_ID} Grüße.txt", f"twindrop live {RUN_ID} resumable.bin"]
SIZES = [None, None, 300 * 1024]


@pytest.fixture(scope="module")
def cli():
    return Twindrop(live.env("TWINDROP_LIVE_REDIVIS_TOKEN"))


@pytest.fixture(scope="module")
def files():
    root = Path(tempfile.mkdtemp(prefix="twindrop-live-redivis-"))
    return {write(root, name, content(name, size)): name for name, size in zip(NAMES, SIZES)}


def upload(cli, files):
    args = ["upload", "--service", "redivis", "--base-url", BASE_URL, "--table", TABLE,
            "--resumable-above", "100K", "--chunk-size", "256K", *map(str, files)]
    return cli.json_lines(*args)


def test_upload_adds_each_file_to_the_table_with_its_hash(cli, files):
    code, lines, output = upload(cli, files)
    ok = [line["doc_name"] for line in lines if line.get("status") == "ok"]
    if ok:
        live.LEFT_BEHIND.append(f"left behind: table {TABLE} keeps the {len(ok)} files this run added: {ok}")
    assert_uploaded(code, lines, output, {p: p.read_bytes() for p in files}, files)


def test_a_second_upload_sends_nothing(cli, files):
    assert_all_skipped(*upload(cli, files), files)


def test_a_wrong_token_is_refused_and_sends_nothing(files):
    wrong = Twindrop(f"not-a-token-{RUN_ID}")
    code, lines, output = upload(wrong, list(files)[:1])
    assert code == 3, output
    assert [line["error"]["code"] for line in lines if "error" in line] == ["auth.unauthorized"], output


def test_doctor_passes(cli):
    live.assert_doctor(cli, "redivis", BASE_URL, "--table", TABLE)
