"""The legacy 0.4.x client (`RestService(auth=..., api_host=...)`), which parses every answer
and raises a typed exception chosen by the integer `subcode` of an error body."""
import pytest
from trustedtwin.service import RestService

import harness
from harness import READER_SECRET, SECRET, put_bytes


@pytest.fixture(scope="module")
def rs(emulator):
    """In live mode, what it creates is noted and cleaned up after the module."""
    yield RestService(auth=SECRET, api_host=emulator.base_url, session=emulator.tracking_session())
    if harness.LIVE:
        problems = emulator.clean_up()
        assert not problems, "cleanup failed:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def reader(emulator):
    """A user whose role allows only who_am_i, get_twin, get_twin_doc and get_twin_docs."""
    return RestService(auth=READER_SECRET, api_host=emulator.base_url)


@pytest.fixture
def twin(rs):
    return rs.twins.create()["creation_certificate"]["uuid"]


@pytest.fixture
def upload(rs):
    """`upload(data)` → the handler of an upload URL that received `data`."""
    def upload(data):
        cache = rs.docs.create_upload_url()
        response = put_bytes(cache["url"], data)
        assert response.status_code == 200, response.text
        return cache["handler"]
    return upload
