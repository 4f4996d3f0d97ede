"""Helpers for the 0.4.x client."""
import pytest

from harness import wait_settled


def settle(rs, twin, name):
    """Polls get_twin_doc until the copy is over; returns the Doc."""
    last = {}

    def status():
        last["doc"] = rs.docs.get_twin_doc(twin, name)
        return last["doc"]["status"]

    wait_settled(status)
    return last["doc"]


def fails(exception, subcode, http_code, call, *args, **kwargs):
    """Runs `call` and checks the typed exception the client chose by the integer subcode."""
    with pytest.raises(exception) as info:
        call(*args, **kwargs)
    error = info.value
    assert type(error) is exception, f"{type(error).__name__}: {error}"
    assert error.subcode == subcode and isinstance(error.subcode, int), error.response
    assert error.http_code == http_code, error.response
    assert isinstance(error.trace, str) and len(error.trace) == 36, error.response
    return error
