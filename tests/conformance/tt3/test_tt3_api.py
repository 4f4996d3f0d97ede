"""Every endpoint of spec §3, driven by the official 3.18 client (`TTRESTService`).

The client returns (status, text) and never raises; it percent-encodes path arguments with
quote(safe=""), so `/` inside a doc name goes out as %2F, sends `Content-Type: application/json`
on every request (GET and DELETE included) and Python booleans as `True`.
"""
import hashlib
import json
import time
import uuid

import pytest
import requests
from trustedtwin.tt_api import TTRESTService

from client3 import ok, settle
from harness import LIVE, MAX_UPLOAD_BYTES, SECRET, assert_tt_error, put_bytes, s3_error_code

NO_DOC = "No Doc uploaded through the upload URL - check handler [{}]."
# A fresh UUID per run, so that even live no case can reach a Twin it did not create.
UNKNOWN_TWIN = str(uuid.uuid4())


# --- whoami, auth, permissions ---------------------------------------------------------------

def test_who_am_i(tt):
    me = ok(tt.who_am_i())
    assert set(me) == {"user", "account", "role"}
    assert all(isinstance(v, str) and len(v) == 36 for v in me.values()), me


def test_bad_or_missing_secret_is_401000(emulator):
    for auth in ("not-the-secret", None, "Bearer " + SECRET):
        client = TTRESTService(tt_auth=auth, tt_base=emulator.base_url)
        assert_tt_error(client.who_am_i(retries=1), 401, 401000)
        assert_tt_error(client.create_upload_url(retries=1), 401, 401000)


@pytest.mark.emulator_only
def test_a_role_without_the_permission_is_403535(tt, reader, twin):
    me, them = ok(tt.who_am_i()), ok(reader.who_am_i())
    assert me["account"] == them["account"] and me["user"] != them["user"] and me["role"] != them["role"]
    assert ok(reader.get_twin(twin))["creation_certificate"]["uuid"] == twin
    ok(reader.get_twin_docs(twin))
    assert_tt_error(reader.create_upload_url(retries=1), 403, 403535)
    assert_tt_error(reader.create_twin(body={"description": {"x": 1}}, retries=1), 403, 403535)
    assert_tt_error(reader.attach_twin_doc(twin, body={"docs": {}}, retries=1), 403, 403535)
    assert_tt_error(reader.delete_twin_docs(twin, retries=1), 403, 403535)


# --- twins ----------------------------------------------------------------------------------------

def test_create_and_get_twin(tt):
    me = ok(tt.who_am_i())
    created = ok(tt.create_twin(body={"description": {"serial": "A-1", "n": [1, 2]}}), 201)
    assert created["status"] == "alive" and created["owner"] == me["account"]
    cert = created["creation_certificate"]
    assert cert["creator"] == me["account"] and isinstance(cert["created_ts"], float)
    assert created["description"] == {"serial": "A-1", "n": [1, 2]}
    assert ok(tt.get_twin(cert["uuid"])) == created

    bare = ok(tt.create_twin(), 201)  # no body at all
    assert "description" not in bare


def test_unknown_twin_is_404653(tt):
    assert_tt_error(tt.get_twin(UNKNOWN_TWIN, retries=1), 404, 404653)
    assert_tt_error(tt.get_twin_docs("not-a-uuid", retries=1), 404, 404653)


def test_invalid_twin_description_key_is_400589(tt):
    assert_tt_error(tt.create_twin(body={"description": {"Bad-Key": 1}}, retries=1), 400, 400589)


# --- upload URL: POST /cache, the PUT, DELETE /cache/{handler} ------------------------------------

def test_create_upload_url(tt):
    before = time.time()
    cache = ok(tt.create_upload_url(), 201)
    assert set(cache) == {"handler", "url", "validity_ts"}
    assert abs(cache["validity_ts"] - (before + 3600)) < 5, cache
    assert SECRET not in cache["url"] and cache["handler"] not in cache["url"]


def test_put_carrying_authorization_is_refused(tt):
    cache = ok(tt.create_upload_url(), 201)
    # Live, a stand-in: a real secret is never sent to the storage host of the upload URL.
    auth = "not-the-secret" if LIVE else SECRET
    response = put_bytes(cache["url"], b"x", headers={"Authorization": auth})
    assert response.status_code == 403 and s3_error_code(response) == "AccessDenied"


@pytest.mark.emulator_only
def test_upload_url_expires_after_60_minutes(tt, emulator, twin):
    cache = ok(tt.create_upload_url(), 201)
    assert put_bytes(cache["url"], b"in time").status_code == 200
    emulator.advance_clock(3600 + 1)  # the injectable clock, through the control endpoint
    response = put_bytes(cache["url"], b"too late")
    assert response.status_code == 403 and s3_error_code(response) == "AccessDenied"
    assert "Request has expired" in response.text
    attached = ok(tt.attach_twin_doc(twin, body={"docs": {"late.txt": {"handler": cache["handler"]}}}), 201)
    assert attached["docs"]["late.txt"] == {"error": NO_DOC.format(cache["handler"])}


def test_zero_byte_upload_is_a_valid_doc_or_no_doc(tt, twin):
    """Seed 004 leaves open whether a PUT of 0 bytes is "a PUT without a file" (docs/fidelity.md).
    The emulator's default attaches an empty Doc; a live run says which reading the service
    follows, and either is accepted, as the client handles both."""
    cache = ok(tt.create_upload_url(), 201)
    response = put_bytes(cache["url"], b"")
    assert response.status_code == 200 and response.headers["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    empty = hashlib.sha256(b"").hexdigest()
    body = {"docs": {"empty.txt": {"handler": cache["handler"], "hash": empty}}}
    answer = ok(tt.attach_twin_doc(twin, body=body), 201)["docs"]["empty.txt"]
    if answer.get("error"):
        assert LIVE, "the emulator's default takes an empty upload"
        assert answer == {"error": NO_DOC.format(cache["handler"])}
        print("live: this service reads a 0-byte PUT as no upload (--empty-uploads no-doc)")
        return
    assert answer["status"] == "copying"
    doc = settle(tt, twin, "empty.txt")
    assert doc["status"] == "ok" and doc["creation_certificate"]["size"] == 0


@pytest.mark.emulator_only
def test_upload_over_the_size_limit_is_entity_too_large(tt):
    cache = ok(tt.create_upload_url(), 201)
    response = put_bytes(cache["url"], b"\0" * (MAX_UPLOAD_BYTES + 1))
    assert response.status_code == 400 and s3_error_code(response) == "EntityTooLarge"


def test_invalidate_upload_url(tt, twin, upload):
    handler = upload(b"withdrawn")
    cache = ok(tt.create_upload_url(), 201)
    assert ok(tt.invalidate_upload_url(cache["handler"])) == {"handler": cache["handler"]}
    response = put_bytes(cache["url"], b"after")
    assert response.status_code == 404 and s3_error_code(response) == "NoSuchKey"
    assert ok(tt.invalidate_upload_url(handler)) == {"handler": handler}
    attached = ok(tt.attach_twin_doc(twin, body={"docs": {"w.txt": {"handler": handler}}}), 201)
    assert attached["docs"]["w.txt"] == {"error": NO_DOC.format(handler)}
    assert_tt_error(tt.invalidate_upload_url(handler, retries=1), 404, 404653)


# --- attach -------------------------------------------------------------------------------------

def test_attach_shape_a_copying_then_ok_with_hash(tt, twin, upload):
    payload = b"shape A payload\n"
    digest = hashlib.sha256(payload).hexdigest()
    handler = upload(payload)
    body = {"docs": {
        "Certs/cert.txt": {"handler": handler, "storage_class": "cost_optimized", "hash": digest,
                           "description": {"origin": "tt3"}},
        "plain": {"handler": handler},
        "empty_desc.txt": {"handler": handler, "description": {}},
        "null_desc.txt": {"handler": handler, "description": None, "storage_class": None},
    }}
    docs = ok(tt.attach_twin_doc(twin, body=body), 201)["docs"]
    assert set(docs) == set(body["docs"])
    cert = docs["Certs/cert.txt"]
    assert cert["status"] == "copying" and cert["storage_class"] == "cost_optimized"
    assert cert["creation_certificate"]["hash"] == digest
    assert cert["creation_certificate"]["size"] == len(payload)
    assert cert["description"] == {"origin": "tt3"} and "download" not in cert
    assert docs["plain"]["storage_class"] == "access_optimized" and "hash" not in docs["plain"]["creation_certificate"]
    assert docs["empty_desc.txt"]["description"] == {}
    assert "description" not in docs["null_desc.txt"]
    done = settle(tt, twin, "Certs/cert.txt")
    assert done["status"] == "ok" and done["creation_certificate"] == cert["creation_certificate"]


def test_attach_shape_b_is_answered_as_a_list(tt, twin, upload):
    handler = upload(b"shape B")
    body = {"docs": [
        {"doc_name": "b1.txt", "handler": handler, "storage_class": "access_optimized"},
        {"doc_name": "b2.txt", "handler": "no-such-handler"},
    ]}
    docs = ok(tt.attach_twin_doc(twin, body=body), 201)["docs"]
    assert isinstance(docs, list) and [d["doc_name"] for d in docs] == ["b1.txt", "b2.txt"]
    assert docs[0]["status"] == "copying"
    assert docs[1] == {"doc_name": "b2.txt", "error": NO_DOC.format("no-such-handler")}


def test_attach_per_doc_errors_in_a_201(tt, twin, upload):
    handler = upload(b"once")
    never_put = ok(tt.create_upload_url(), 201)["handler"]
    ok(tt.attach_twin_doc(twin, body={"docs": {"dup.txt": {"handler": handler}}}), 201)
    docs = ok(tt.attach_twin_doc(twin, body={"docs": {
        "dup.txt": {"handler": handler},
        "nothing.txt": {"handler": never_put},
        "fresh.txt": {"handler": handler},
    }}), 201)["docs"]
    assert docs["dup.txt"] == {"error": "Doc already exists."}
    assert docs["nothing.txt"] == {"error": NO_DOC.format(never_put)}
    assert docs["fresh.txt"]["status"] == "copying"


def test_names_are_unique_per_twin_not_per_account(tt, upload):
    handler = upload(b"shared")
    for _ in range(2):
        other = ok(tt.create_twin(), 201)["creation_certificate"]["uuid"]
        assert ok(tt.attach_twin_doc(other, body={"docs": {"same.txt": {"handler": handler}}}), 201)["docs"]["same.txt"]["status"] == "copying"
    twin = ok(tt.create_twin(), 201)["creation_certificate"]["uuid"]
    docs = ok(tt.attach_twin_doc(twin, body={"docs": {"Case.txt": {"handler": handler}, "case.txt": {"handler": handler}}}), 201)["docs"]
    assert all(d["status"] == "copying" for d in docs.values()), "names are case-sensitive"


def test_hash_mismatch_shows_up_only_after_the_copy(tt, twin, upload):
    handler = upload(b"the real bytes")
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    doc = ok(tt.attach_twin_doc(twin, body={"docs": {"bad.txt": {"handler": handler, "hash": wrong}}}), 201)["docs"]["bad.txt"]
    assert doc["status"] == "copying"
    assert settle(tt, twin, "bad.txt")["status"] == "hash_mismatch"
    upper = hashlib.sha256(b"the real bytes").hexdigest().upper()
    ok(tt.attach_twin_doc(twin, body={"docs": {"upper.txt": {"handler": handler, "hash": upper}}}), 201)
    assert settle(tt, twin, "upper.txt")["status"] == "ok", "hex in either case"


def test_malformed_attach_is_400589_and_attaches_nothing(tt, twin, upload):
    handler = upload(b"x")
    for bad in (
        {"docs": {"ok.txt": {"handler": handler}, "a.tar.gz": {"handler": handler}}},
        {"docs": {"ok.txt": {"handler": handler, "storage_class": "hot"}}},
        {"docs": {"ok.txt": {"handler": handler, "description": {"9lives": 1}}}},
        {"docs": {"ok.txt": {"handler": handler, "description": {"UPPER": 1}}}},
        {"docs": {"ok.txt": {}}},
        {"docs": "nope"},
    ):
        assert_tt_error(tt.attach_twin_doc(twin, body=bad, retries=1), 400, 400589)
    assert_tt_error(tt.get_twin_doc(twin, "ok.txt", retries=1), 404, 404653)


def test_attach_to_an_unknown_twin_is_404653(tt, upload):
    handler = upload(b"x")
    body = {"docs": {"a.txt": {"handler": handler}}}
    assert_tt_error(tt.attach_twin_doc(UNKNOWN_TWIN, body=body, retries=1), 404, 404653)


# --- get, list, download --------------------------------------------------------------------------

def test_get_with_download_true_and_list_with_mask(tt, emulator, twin, upload):
    payload = b"download me"
    handler = upload(payload)
    names = ["Certs/a.txt", "Certs/b.txt", "other.txt"]
    ok(tt.attach_twin_doc(twin, body={"docs": {n: {"handler": handler} for n in names}}), 201)
    for name in names:
        settle(tt, twin, name)
    # download=True goes out as the Python bool's text, "True"; the name as Certs%2Fa.txt.
    doc = ok(tt.get_twin_doc(twin, "Certs/a.txt", params={"download": True}))
    link = doc["download"]
    assert link["validity_ts"] > time.time()
    fetched = requests.get(link["url"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == payload

    listing = ok(tt.get_twin_docs(twin, params={"view": "list"}))["docs"]
    assert sorted(listing) == sorted(names)
    created, updated, size = listing["other.txt"]
    assert size == len(payload) and created <= updated
    masked = ok(tt.get_twin_docs(twin, params={"view": "list", "mask": "^Certs/.*"}))["docs"]
    assert sorted(masked) == names[:2]
    assert sorted(ok(tt.get_twin_docs(twin, params={"mask": "b\\.txt$"}))["docs"]) == ["Certs/b.txt"]
    # The docs write the path with a trailing slash; the client sends none. Both work.
    assert emulator.api("GET", f"/twins/{twin}/docs/").json()["docs"] == listing


def test_unknown_and_invalid_doc_names_on_get(tt, twin):
    assert_tt_error(tt.get_twin_doc(twin, "no/such.txt", retries=1), 404, 404653)
    assert_tt_error(tt.get_twin_doc(twin, "archive.tar.gz", retries=1), 400, 400589)
    assert_tt_error(tt.get_twin_docs(twin, params={"view": "sideways"}, retries=1), 400, 400589)


# --- update, delete -------------------------------------------------------------------------------

def test_update_twin_doc_replace_empty_null_absent(tt, twin, upload):
    handler = upload(b"patched")
    body = {"docs": {"dir/p.txt": {"handler": handler, "description": {"a": 1, "b": 2}}}}
    ok(tt.attach_twin_doc(twin, body=body), 201)
    settle(tt, twin, "dir/p.txt")
    doc = ok(tt.update_twin_doc(twin, "dir/p.txt", body={"description": {"c": 3}}))
    assert doc["description"] == {"c": 3} and doc["status"] == "ok", "replaced whole, no merge"
    # body={} is falsy, so the client sends no body at all: nothing changes.
    assert ok(tt.update_twin_doc(twin, "dir/p.txt", body={}))["description"] == {"c": 3}
    assert ok(tt.update_twin_doc(twin, "dir/p.txt", body={"description": {}}))["description"] == {}
    cleared = ok(tt.update_twin_doc(twin, "dir/p.txt", body={"description": None}))
    assert "description" not in cleared
    assert "description" not in ok(tt.get_twin_doc(twin, "dir/p.txt"))
    assert_tt_error(tt.update_twin_doc(twin, "dir/p.txt", body={"description": {"Nope": 1}}, retries=1), 400, 400589)
    assert_tt_error(tt.update_twin_doc(twin, "dir/none.txt", body={"description": {}}, retries=1), 404, 404653)


def test_delete_twin_doc_and_delete_twin_docs(tt, twin, upload):
    handler = upload(b"doomed")
    names = ["d/one.txt", "two.txt", "three.txt"]
    ok(tt.attach_twin_doc(twin, body={"docs": {n: {"handler": handler} for n in names}}), 201)
    settled = settle(tt, twin, "d/one.txt")
    assert ok(tt.delete_twin_doc(twin, "d/one.txt")) == settled
    assert_tt_error(tt.get_twin_doc(twin, "d/one.txt", retries=1), 404, 404653)
    assert_tt_error(tt.delete_twin_doc(twin, "d/one.txt", retries=1), 404, 404653)

    listing = ok(tt.get_twin_docs(twin))
    assert sorted(listing["docs"]) == ["three.txt", "two.txt"]
    assert ok(tt.delete_twin_docs(twin)) == listing
    assert ok(tt.get_twin_docs(twin)) == {"docs": {}}
    # The name is free again.
    ok(tt.attach_twin_doc(twin, body={"docs": {"two.txt": {"handler": handler}}}), 201)
    assert settle(tt, twin, "two.txt")["status"] == "ok"


# --- error bodies on the wire ---------------------------------------------------------------------

def test_error_bodies_carry_integer_subcodes(emulator):
    raw = emulator.api("POST", "/cache", secret="wrong").text
    assert '"subcode":401000' in raw.replace(" ", ""), raw
    not_json = emulator.api("POST", "/twins", data=b"{not json")
    assert not_json.status_code == 400 and json.loads(not_json.text)["subcode"] == 400415
    too_big = emulator.api("POST", "/twins", data=json.dumps({"description": {"k": "x" * 70000}}))
    assert too_big.status_code == 400 and too_big.json()["subcode"] == 400141
