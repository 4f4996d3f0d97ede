"""The 3.18 client (`TTRESTService(tt_auth=..., tt_base=...)`) pointed at the module's emulator."""
import pytest
from trustedtwin.tt_api import TTRESTService

from client3 import ok
from harness import READER_SECRET, SECRET, put_bytes


@pytest.fixture(scope="module")
def tt(emulator):
    return TTRESTService(tt_auth=SECRET, tt_base=emulator.base_url)


@pytest.fixture(scope="module")
def reader(emulator):
    """A user whose role allows only who_am_i, get_twin, get_twin_doc and get_twin_docs."""
    return TTRESTService(tt_auth=READER_SECRET, tt_base=emulator.base_url)


@pytest.fixture
def twin(tt):
    return ok(tt.create_twin(), 201)["creation_certificate"]["uuid"]


@pytest.fixture
def upload(tt):
    """`upload(data)` → the handler of an upload URL that received `data`."""
    def upload(data):
        cache = ok(tt.create_upload_url(), 201)
        response = put_bytes(cache["url"], data)
        assert response.status_code == 200, response.text
        return cache["handler"]
    return upload
