"""Every endpoint of spec §3 through the legacy 0.4.x client.

This client is the strict check of the error bodies: it json-parses every answer and raises the
exception class mapped from the integer `subcode` (TTRequestError for 400xxx, TTUnauthorizedError
401000, TTForbiddenError 403535, TTResourceNotFound 404653, TTInternalError 500000); a subcode it
does not know is a KeyError inside the client, and a body without one a TTClientException.
"""
import hashlib
import time

import pytest
import requests
from trustedtwin.exceptions import (
    TTClientException,
    TTForbiddenError,
    TTInternalError,
    TTRequestError,
    TTResourceNotFound,
    TTUnauthorizedError,
)
from trustedtwin.service import RestService

from client04 import fails, settle
from harness import ACCEPTED_NAMES, REJECTED_NAMES, SECRET, put_bytes, s3_error_code

NO_DOC = "No Doc uploaded through the upload URL - check handler [{}]."
UNKNOWN_TWIN = "3f359a50-65e2-4252-ba96-6fda5fe7e14c"


# --- 401 / 403 ------------------------------------------------------------------------------------

def test_who_am_i(rs):
    me = rs.who_am_i()
    assert set(me) == {"user", "account", "role"}


def test_bad_secret_raises_unauthorized_401000(emulator):
    for auth in ("not-the-secret", None):
        client = RestService(auth=auth, api_host=emulator.base_url)
        fails(TTUnauthorizedError, 401000, 401, client.who_am_i)
        fails(TTUnauthorizedError, 401000, 401, client.docs.create_upload_url)


@pytest.mark.emulator_only
def test_missing_permission_raises_forbidden_403535(rs, reader, twin):
    assert reader.twins.get(twin)["creation_certificate"]["uuid"] == twin
    assert reader.docs.get_twin_docs(twin) == {"docs": {}}
    fails(TTForbiddenError, 403535, 403, reader.docs.create_upload_url)
    fails(TTForbiddenError, 403535, 403, reader.twins.create, description={"a": 1})
    fails(TTForbiddenError, 403535, 403, reader.docs.attach_twin_doc, twin, docs={})
    fails(TTForbiddenError, 403535, 403, reader.docs.delete_twin_docs, twin)
    fails(TTForbiddenError, 403535, 403, reader.docs.update_twin_doc, twin, "x.txt", description={})


# --- twins, 404 -----------------------------------------------------------------------------------

def test_create_and_get_twin(rs):
    created = rs.twins.create(description={"k": "v"})
    assert created["status"] == "alive" and created["description"] == {"k": "v"}
    twin = created["creation_certificate"]["uuid"]
    assert rs.twins.get(twin) == created
    assert rs.twins.get(twin, show_terminated=True) == created
    assert "description" not in rs.twins.create()


def test_unknown_twin_and_doc_raise_not_found_404653(rs, twin):
    fails(TTResourceNotFound, 404653, 404, rs.twins.get, UNKNOWN_TWIN)
    fails(TTResourceNotFound, 404653, 404, rs.docs.get_twin_docs, UNKNOWN_TWIN)
    fails(TTResourceNotFound, 404653, 404, rs.docs.get_twin_doc, twin, "dir/missing.txt")
    fails(TTResourceNotFound, 404653, 404, rs.docs.delete_twin_doc, twin, "missing.txt")
    fails(TTResourceNotFound, 404653, 404, rs.docs.invalidate_upload_url, "no-such-handler")


# --- 400 ------------------------------------------------------------------------------------------

def test_malformed_requests_raise_request_error_400589(rs, twin, upload):
    handler = upload(b"x")
    fails(TTRequestError, 400589, 400, rs.twins.create, description={"Bad": 1})
    fails(TTRequestError, 400589, 400, rs.docs.attach_twin_doc, twin, docs={"a.tar.gz": {"handler": handler}})
    fails(TTRequestError, 400589, 400, rs.docs.attach_twin_doc, twin,
          docs={"a.txt": {"handler": handler, "storage_class": "glacier"}})
    fails(TTRequestError, 400589, 400, rs.docs.attach_twin_doc, twin,
          docs={"a.txt": {"handler": handler, "description": {"9": 1}}})
    fails(TTRequestError, 400589, 400, rs.docs.get_twin_docs, twin, view="tree")
    fails(TTRequestError, 400589, 400, rs.docs.get_twin_doc, twin, "my file.txt")


def test_regex_quirks_through_the_legacy_client(rs, twin, upload):
    handler = upload(b"names")
    attached = rs.docs.attach_twin_doc(twin, docs={name: {"handler": handler} for name in ACCEPTED_NAMES})
    assert all(doc["status"] == "copying" for doc in attached["docs"].values()), attached
    for name in ACCEPTED_NAMES:
        assert settle(rs, twin, name)["status"] == "ok", repr(name)
    for name in REJECTED_NAMES:
        fails(TTRequestError, 400589, 400, rs.docs.attach_twin_doc, twin, docs={name: {"handler": handler}})


# --- upload URL -----------------------------------------------------------------------------------

def test_upload_url_put_rules(rs, emulator):
    cache = rs.docs.create_upload_url()
    assert set(cache) == {"handler", "url", "validity_ts"}
    refused = put_bytes(cache["url"], b"x", headers={"Authorization": SECRET})
    assert refused.status_code == 403 and s3_error_code(refused) == "AccessDenied"
    assert put_bytes(cache["url"], b"").status_code == 200, "0 bytes is a valid upload"
    assert rs.docs.invalidate_upload_url(cache["handler"]) == {"handler": cache["handler"]}
    gone = put_bytes(cache["url"], b"x")
    assert gone.status_code == 404 and s3_error_code(gone) == "NoSuchKey"


# --- attach, get, list, update, delete ------------------------------------------------------------

def test_the_whole_doc_lifecycle(rs, twin, upload):
    payload = b"legacy client payload"
    digest = hashlib.sha256(payload).hexdigest()
    handler = upload(payload)
    attached = rs.docs.attach_twin_doc(twin, docs={
        "Certs/cert_2022_v1.txt": {"handler": handler, "storage_class": "access_optimized", "hash": digest,
                                   "description": {"source": "tt04"}},
        "cold.bin": {"handler": handler, "storage_class": "cost_optimized"},
    })["docs"]
    assert attached["Certs/cert_2022_v1.txt"]["status"] == "copying"
    assert attached["cold.bin"]["storage_class"] == "cost_optimized"

    doc = settle(rs, twin, "Certs/cert_2022_v1.txt")  # goes out as Certs%2Fcert_2022_v1.txt
    assert doc["status"] == "ok" and doc["creation_certificate"]["hash"] == digest
    linked = rs.docs.get_twin_doc(twin, "Certs/cert_2022_v1.txt", download=True)
    assert requests.get(linked["download"]["url"], timeout=10).content == payload

    listing = rs.docs.get_twin_docs(twin, view="list")
    assert sorted(listing["docs"]) == ["Certs/cert_2022_v1.txt", "cold.bin"]
    assert listing["docs"]["cold.bin"][2] == len(payload)

    updated = rs.docs.update_twin_doc(twin, "Certs/cert_2022_v1.txt", description={"source": "patched"})
    assert updated["description"] == {"source": "patched"}
    # Without `description` this client sends no body at all: nothing changes.
    assert rs.docs.update_twin_doc(twin, "Certs/cert_2022_v1.txt")["description"] == {"source": "patched"}
    assert rs.docs.update_twin_doc(twin, "Certs/cert_2022_v1.txt", description={})["description"] == {}
    assert "description" not in rs.docs.update_twin_doc(twin, "Certs/cert_2022_v1.txt", description=None)

    deleted = rs.docs.delete_twin_doc(twin, "cold.bin")
    assert deleted["storage_class"] == "cost_optimized"
    remaining = rs.docs.get_twin_docs(twin)
    assert rs.docs.delete_twin_docs(twin) == remaining
    assert rs.docs.get_twin_docs(twin) == {"docs": {}}


def test_shape_b_and_the_two_per_doc_errors(rs, twin, upload):
    handler = upload(b"b")
    never_put = rs.docs.create_upload_url()["handler"]
    first = rs.docs.attach_twin_doc(twin, docs=[{"doc_name": "b.txt", "handler": handler}])["docs"]
    assert first[0]["doc_name"] == "b.txt" and first[0]["status"] == "copying"
    again = rs.docs.attach_twin_doc(twin, docs=[
        {"doc_name": "b.txt", "handler": handler},
        {"doc_name": "c.txt", "handler": never_put},
    ])["docs"]
    assert again == [
        {"doc_name": "b.txt", "error": "Doc already exists."},
        {"doc_name": "c.txt", "error": NO_DOC.format(never_put)},
    ]


def test_hash_mismatch(rs, twin, upload):
    handler = upload(b"actual")
    rs.docs.attach_twin_doc(twin, docs={"h.txt": {"handler": handler, "hash": hashlib.sha256(b"x").hexdigest()}})
    assert settle(rs, twin, "h.txt")["status"] == "hash_mismatch"


# --- injected faults as this client sees them -----------------------------------------------------

@pytest.mark.emulator_only
def test_injected_500_raises_internal_error(rs, faults):
    faults({"rules": [{"route": "whoami", "nth": [1], "status": 500}]})
    fails(TTInternalError, 500000, 500, rs.who_am_i)
    assert rs.who_am_i()["account"]


@pytest.mark.emulator_only
def test_injected_429_has_no_subcode_and_is_a_client_exception(rs, faults):
    faults({"rules": [{"route": "cache", "nth": [1], "status": 429, "retry_after": 1}]})
    started = time.monotonic()
    try:
        rs.docs.create_upload_url()
    except TTClientException:
        pass
    else:
        raise AssertionError("a 429 must not look like success")
    assert time.monotonic() - started < 2, "no retry"
    assert rs.docs.create_upload_url()["handler"]
