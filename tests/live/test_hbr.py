"""Alibaba Cloud Backup (HBR), through `twindrop upload --service hbr`: CreateTempFileUploadUrl,
then the OSS form post, for two small files whose FileName has a space and non-ASCII, each `ok`
with its SHA-256. The temp files are HBR's own: HBR deletes them on its own schedule, and there
is no call to delete them sooner, so the run leaves them and says so. No other resource is used.

Variables: TWINDROP_LIVE_HBR_ACCESS_KEY_ID, TWINDROP_LIVE_HBR_ACCESS_KEY_SECRET,
TWINDROP_LIVE_HBR_REGION (default cn-hangzhou) or TWINDROP_LIVE_HBR_BASE_URL (the whole endpoint,
e.g. https://hbr.cn-shanghai.aliyuncs.com; it wins over the region).
"""
import tempfile
from pathlib import Path

import pytest

import live
from live import RUN_ID, Twindrop, assert_uploaded, content, write

REGION = live.env("TWINDROP_LIVE_HBR_REGION", "cn-hangzhou")
BASE_URL = live.env("TWINDROP_LIVE_HBR_BASE_URL", f"https://hbr.{REGION}.aliyuncs.com").rstrip("/")
NAMES = [f"twindrop live {RUN_ID} a b.txt", f"twindrop live {RUN_ID} Grüße çava.txt"]


@pytest.fixture(scope="module")
def cli():
    key_id = live.env("TWINDROP_LIVE_HBR_ACCESS_KEY_ID")
    return Twindrop(f"{key_id}:{live.env('TWINDROP_LIVE_HBR_ACCESS_KEY_SECRET')}")


def test_upload_sends_each_file_as_a_temp_file_with_its_hash(cli):
    root = Path(tempfile.mkdtemp(prefix="twindrop-live-hbr-"))
    files = {write(root, name, content(name)): name for name in NAMES}
    code, lines, output = cli.json_lines("upload", "--service", "hbr", "--base-url", BASE_URL, *map(str, files))
    ok = [line["doc_name"] for line in lines if line.get("status") == "ok"]
    if ok:
        live.LEFT_BEHIND.append(f"left behind: {len(ok)} HBR temp files {ok} (HBR deletes them on its own)")
    assert_uploaded(code, lines, output, {p: p.read_bytes() for p in files}, files)


def test_a_wrong_secret_fails_the_signature():
    wrong = Twindrop(f"{live.env('TWINDROP_LIVE_HBR_ACCESS_KEY_ID')}:not-the-secret-{RUN_ID}")
    path = write(tempfile.mkdtemp(prefix="twindrop-live-hbr-"), "never sent.txt", content("never sent"))
    code, lines, output = wrong.json_lines("upload", "--service", "hbr", "--base-url", BASE_URL, str(path))
    assert code != 0, output
    errors = [line["error"] for line in lines if line.get("status") == "failed"]
    assert len(errors) == 1 and "SignatureDoesNotMatch" in errors[0]["message"], output


def test_doctor_passes(cli):
    live.assert_doctor(cli, "hbr", BASE_URL)
