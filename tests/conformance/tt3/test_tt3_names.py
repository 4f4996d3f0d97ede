"""The published doc_name regex, applied as published: the dot unescaped, Python re.match
semantics (`$` also matches before one trailing newline). Names go through the 3.18 client both
ways: as keys of the attach body, and percent-encoded (quote(safe="")) in GET paths.
"""
import pytest

from client3 import ok, settle
from harness import ACCEPTED_NAMES, REJECTED_NAMES, assert_tt_error, put_bytes


@pytest.fixture(scope="module")
def named_twin(tt):
    return ok(tt.create_twin(), 201)["creation_certificate"]["uuid"]


@pytest.fixture(scope="module")
def handler(tt):
    cache = ok(tt.create_upload_url(), 201)
    assert put_bytes(cache["url"], b"quirky").status_code == 200
    return cache["handler"]


@pytest.mark.parametrize("name", ACCEPTED_NAMES, ids=repr)
def test_accepted_by_the_published_regex(tt, named_twin, handler, name):
    docs = ok(tt.attach_twin_doc(named_twin, body={"docs": {name: {"handler": handler}}}), 201)["docs"]
    assert docs[name]["status"] == "copying", docs
    assert settle(tt, named_twin, name)["status"] == "ok"
    assert name in ok(tt.get_twin_docs(named_twin))["docs"]


@pytest.mark.parametrize("name", REJECTED_NAMES, ids=repr)
def test_rejected_by_the_published_regex(tt, named_twin, handler, name):
    assert_tt_error(tt.attach_twin_doc(named_twin, body={"docs": {name: {"handler": handler}}}, retries=1), 400, 400589)
    assert_tt_error(tt.get_twin_doc(named_twin, name, retries=1), 400, 400589)


def test_shape_b_applies_the_same_regex(tt, named_twin, handler):
    body = {"docs": [{"doc_name": "b one", "handler": handler}]}
    assert ok(tt.attach_twin_doc(named_twin, body=body), 201)["docs"][0]["status"] == "copying"
    body = {"docs": [{"doc_name": "b.tar.gz", "handler": handler}]}
    assert_tt_error(tt.attach_twin_doc(named_twin, body=body, retries=1), 400, 400589)


@pytest.mark.parametrize("key,valid", [
    ("k", True), ("_private", True), ("a9_z", True), ("x" * 64, True), ("k\n", True),
    ("9lives", False), ("Upper", False), ("with-dash", False), ("", False), ("x" * 65, False),
], ids=repr)
def test_description_keys(tt, named_twin, handler, key, valid):
    name = f"desc_{abs(hash(key)) % 10**8}"
    result = tt.attach_twin_doc(named_twin, body={"docs": {name: {"handler": handler, "description": {key: 1}}}}, retries=1)
    if valid:
        assert ok(result, 201)["docs"][name]["description"] == {key: 1}
    else:
        assert_tt_error(result, 400, 400589)
