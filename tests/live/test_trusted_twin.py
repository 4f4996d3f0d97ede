"""Trusted Twin, through the `twindrop` CLI: a Twin of its own, small files with awkward names
(a space, non-ASCII, nested folders), each Doc `ok` with the file's SHA-256 on the server, a
second run that sends nothing; then its Docs deleted and the Twin terminated (with the official
3.18 client: the CLI deletes nothing). It never reads or changes a Twin it did not create.

Variables: TWINDROP_LIVE_TT_SECRET, TWINDROP_LIVE_TT_BASE_URL (default https://rest.trustedtwin.com).
"""
import json
import tempfile
from pathlib import Path

import pytest
from trustedtwin.tt_api import TTRESTService

import live
from live import Twindrop, assert_all_skipped, assert_uploaded, content, sha256, write

BASE_URL = live.env("TWINDROP_LIVE_TT_BASE_URL", "https://rest.trustedtwin.com").rstrip("/")
SECRET = live.env("TWINDROP_LIVE_TT_SECRET")

# File (relative to the work folder) → the Doc name Twindrop gives it.
UPLOADED = {"a file.txt": "a_file.txt", "Grüße çava.txt": "Grusse_cava.txt"}
SYNCED = {"sub dir/ünï/deep file.md": "sub_dir/uni/deep_file.md", "top.txt": "top.txt"}


@pytest.fixture(scope="module")
def cli():
    return Twindrop(SECRET)


@pytest.fixture(scope="module")
def tt():
    return TTRESTService(tt_auth=SECRET, tt_base=BASE_URL)


@pytest.fixture(scope="module")
def files():
    """The work folder: `upload/` for `twindrop upload`, `tree/` for `twindrop sync`."""
    root = Path(tempfile.mkdtemp(prefix="twindrop-live-tt-"))
    made = {}
    for relative in UPLOADED:
        made[write(root / "upload", relative, content(relative))] = UPLOADED[relative]
    for relative in SYNCED:
        made[write(root / "tree", relative, content(relative))] = SYNCED[relative]
    return root, made


@pytest.fixture(scope="module")
def twin(cli, tt):
    """A Twin made by `twindrop twin create`; afterwards its Docs are deleted and it is
    terminated. Only this Twin is ever cleaned up."""
    code, lines, output = cli.json_lines("twin", "create", "--base-url", BASE_URL)
    assert code == 0 and len(lines) == 1 and "twin" in lines[0], output
    uuid = lines[0]["twin"]
    yield uuid
    status, text = tt.delete_twin_docs(uuid, retries=2)
    assert status == 200, f"cleanup: delete_twin_docs {uuid}: {status} {text[:300]}"
    deleted = sorted(json.loads(text)["docs"])
    status, text = tt.terminate_twin(uuid, retries=2)
    if status == 405:  # no such endpoint on this server (twindrop emulator has none)
        live.LEFT_BEHIND.append(
            f"left behind: Twin {uuid}, without Docs: this server has no terminate_twin (405)")
    else:
        assert status == 200, f"cleanup: terminate_twin {uuid}: {status} {text[:300]}; its Docs are deleted"
        assert "termination_certificate" in json.loads(text), text[:300]
        live.LEFT_BEHIND.append(f"cleanup: Twin {uuid}: {len(deleted)} Docs deleted, Twin terminated")
    status, text = tt.get_twin_docs(uuid, retries=2)
    assert status == 200 and json.loads(text)["docs"] == {}, f"cleanup: Docs still on {uuid}: {text[:300]}"


def test_upload_gives_each_file_an_ok_doc_with_its_hash(cli, twin, files):
    root, made = files
    sent = {p: p.read_bytes() for p in made if p.is_relative_to(root / "upload")}
    args = ["upload", "--base-url", BASE_URL, "--twin", twin, *map(str, sent)]
    assert_uploaded(*cli.json_lines(*args), sent, made)


def test_sync_keeps_nested_folders_in_the_names(cli, twin, files):
    root, made = files
    sent = {p: p.read_bytes() for p in made if p.is_relative_to(root / "tree")}
    args = ["sync", str(root / "tree"), "--once", "--gate-ms", "200", "--base-url", BASE_URL, "--twin", twin]
    assert_uploaded(*cli.json_lines(*args), sent, made)


def test_docs_lists_exactly_what_was_sent(cli, twin, files):
    _, made = files
    code, lines, output = cli.json_lines("docs", "--base-url", BASE_URL, "--twin", twin)
    assert code == 0, output
    listed = {line["doc_name"]: line for line in lines}
    assert sorted(listed) == sorted(made.values()), output
    for path, name in made.items():
        data = path.read_bytes()
        assert listed[name]["status"] == "ok", output
        assert listed[name]["sha256"] == sha256(data) and listed[name]["size"] == len(data), output


def test_the_server_recorded_each_hash_for_the_official_client(tt, twin, files):
    _, made = files
    for path, name in made.items():
        status, text = tt.get_twin_doc(twin, name, retries=2)
        assert status == 200, f"{name}: {status} {text[:300]}"
        doc = json.loads(text)
        assert doc["status"] == "ok", doc
        assert doc["creation_certificate"]["hash"] == sha256(path.read_bytes()), doc
        assert doc["creation_certificate"]["size"] == path.stat().st_size, doc


def test_a_second_upload_sends_nothing(cli, tt, twin, files):
    root, made = files
    sent = [p for p in made if p.is_relative_to(root / "upload")]
    args = ["upload", "--base-url", BASE_URL, "--twin", twin, *map(str, sent)]
    assert_all_skipped(*cli.json_lines(*args), sent)
    status, text = tt.get_twin_docs(twin, retries=2)
    assert status == 200 and sorted(json.loads(text)["docs"]) == sorted(made.values()), text[:300]


def test_doctor_passes(cli):
    live.assert_doctor(cli, "trusted-twin", BASE_URL)
