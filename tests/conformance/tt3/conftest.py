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


def clean_up(tt, target):
    """Deletes the Docs of every Twin the module created, terminates those Twins (Trusted Twin
    has no delete for a Twin) and invalidates its upload URLs. Touches nothing else. Returns
    what went wrong; the outcome goes to harness.CLEANUP_REPORT."""
    problems, terminated, no_terminate = [], [], []
    for twin in dict.fromkeys(target.created_twins):
        status, text = tt.delete_twin_docs(twin, retries=2)
        if status != 200:
            problems.append(f"Twin {twin}: delete_twin_docs answered {status}: {text[:200]}")
            continue
        status, text = tt.terminate_twin(twin, retries=2)
        if status == 200:
            terminated.append(twin)
        elif status == 405:  # no such endpoint here: twindrop emulator has no terminate_twin
            no_terminate.append(twin)
        else:
            problems.append(f"Twin {twin}: Docs deleted, terminate_twin answered {status}: {text[:200]}")
    handlers, invalidated = list(dict.fromkeys(target.handlers)), 0
    for handler in handlers:
        status, text = tt.invalidate_upload_url(handler, retries=2)
        if status not in (200, 404):  # 404: the case itself invalidated it
            problems.append(f"upload handler {handler}: invalidate_upload_url answered {status}: {text[:200]}")
        invalidated += status == 200
    report = harness.CLEANUP_REPORT
    report.append(f"cleanup: {len(terminated)} Twins emptied and terminated, "
                  f"{invalidated} of {len(handlers)} upload URLs invalidated (the rest already were)")
    if no_terminate:
        report.append(f"left behind: {len(no_terminate)} Twins, emptied (this server has no terminate_twin: 405): "
                      + ", ".join(no_terminate))
    report.extend("left behind: " + p for p in problems)
    return problems


@pytest.fixture(scope="module")
def tt(emulator):
    client = TrackingTT(emulator, tt_auth=SECRET, tt_base=emulator.base_url)
    yield client
    if harness.LIVE:
        problems = clean_up(client, emulator)
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
