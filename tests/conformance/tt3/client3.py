"""Helpers for driving the 3.18 client, which returns (status, text) and never raises."""
import json

from harness import wait_settled


def ok(result, status=200):
    """The JSON of a (status, text) pair from the client, after checking the status."""
    got, text = result
    assert got == status, f"expected {status}, got {got}: {text}"
    return json.loads(text)


def settle(tt, twin, name):
    """Polls get_twin_doc until the copy is over; returns the Doc."""
    last = {}

    def status():
        last["doc"] = ok(tt.get_twin_doc(twin, name))
        return last["doc"]["status"]

    wait_settled(status)
    return last["doc"]
