"""The 3.18 client (`TTRESTService(tt_auth=..., tt_base=...)`) pointed at the module's emulator,
or in live mode at the real endpoint, where everything the module created is cleaned up after it."""
import pytest
from trustedtwin.tt_api import TTRESTService

import harness
from client3 import ok
from harness import READER_SECRET, SECRET, put_bytes


class TrackingTT(TTRESTService):
    """The official client, noting on its target each Twin and upload handler it creates."""

    def __init__(self, target, **kwargs):
        super().__init__(**kwargs)
        self._target = target

    def __getattr__(self, name):
        call = super().__getattr__(name)
        route = {"create_twin": "/twins", "create_upload_url": "/cache"}.get(name)
        if route is None:
            return call

        def tracked(*args, **kwargs):
            status, text = call(*args, **kwargs)
            self._target.track("POST", route, status, text)
            return status, text
        return tracked


@pytest.fixture(scope="module")
def tt(emulator):
    client = TrackingTT(emulator, tt_auth=SECRET, tt_base=emulator.base_url)
    yield client
    if harness.LIVE:
        problems = emulator.clean_up()
        assert not problems, "cleanup failed:\n" + "\n".join(problems)


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
