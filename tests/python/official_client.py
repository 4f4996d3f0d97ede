#!/usr/bin/env python3
"""Runs the whole Trusted Twin upload flow with the official Python client against BASE_URL.

Usage: official_client.py BASE_URL SECRET

The client is used exactly as spec §7 shows (TTRESTService with tt_auth/tt_base, `body=`,
path arguments percent-encoded by the client itself); the upload PUT is a plain `requests.put`
because the client has no helper for it. Every status code is asserted; any failure exits non-zero.
"""
import hashlib
import json
import sys
import time

import requests
from trustedtwin.tt_api import TTRESTService


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def expect(result, status, what):
    got_status, text = result
    check(got_status == status, f"{what}: expected HTTP {status}, got {got_status}: {text}")
    return json.loads(text) if text else None


def main(base_url, secret):
    codes = {}
    tt = TTRESTService(tt_auth=secret, tt_base=base_url, codes=codes)

    me = expect(tt.who_am_i(), 200, "who_am_i")
    for key in ("user", "account", "role"):
        check(isinstance(me.get(key), str), f"who_am_i lacks {key}: {me}")

    bad = TTRESTService(tt_auth="not-the-secret", tt_base=base_url)
    err = expect(bad.who_am_i(retries=1), 401, "who_am_i with a bad secret")
    check(err["subcode"] == 401000 and isinstance(err["subcode"], int), f"subcode: {err}")
    check(isinstance(err["trace"], str), f"trace: {err}")

    twin_body = expect(tt.create_twin(body={"description": {"k": 1}}), 201, "create_twin")
    check(twin_body["status"] == "alive", f"twin: {twin_body}")
    twin = twin_body["creation_certificate"]["uuid"]
    check(twin_body["owner"] == me["account"], f"owner: {twin_body}")
    got_twin = expect(tt.get_twin(twin), 200, "get_twin")
    check(got_twin["creation_certificate"]["uuid"] == twin, f"get_twin: {got_twin}")

    up = expect(tt.create_upload_url(), 201, "create_upload_url")
    check(set(up) >= {"url", "handler", "validity_ts"}, f"upload url: {up}")
    check(secret not in up["url"], "the upload URL must not carry the secret")

    payload = b"hello from the official client\n"
    put = requests.put(up["url"], data=payload)
    check(put.status_code == 200, f"PUT: {put.status_code} {put.text}")
    check("ETag" in put.headers, f"PUT without ETag: {put.headers}")

    digest = hashlib.sha256(payload).hexdigest()
    names = ["dir/a.txt", "plain.txt"]
    attached = expect(
        tt.attach_twin_doc(
            twin,
            body={
                "docs": {
                    names[0]: {
                        "handler": up["handler"],
                        "storage_class": "access_optimized",
                        "hash": digest,
                        "description": {"origin": "official_client"},
                    },
                    names[1]: {"handler": up["handler"], "storage_class": "cost_optimized"},
                }
            },
        ),
        201,
        "attach_twin_doc",
    )
    for name in names:
        doc = attached["docs"][name]
        check(doc.get("status") == "copying", f"attach {name}: {doc}")
        check(doc["creation_certificate"]["size"] == len(payload), f"size {name}: {doc}")

    again = expect(
        tt.attach_twin_doc(twin, body={"docs": {names[1]: {"handler": up["handler"]}}}),
        201,
        "attach_twin_doc (duplicate)",
    )
    check(again["docs"][names[1]] == {"error": "Doc already exists."}, f"duplicate: {again}")

    # "dir/a.txt" goes out as dir%2Fa.txt: the client quotes path arguments with safe="".
    deadline = time.monotonic() + 20
    while True:
        doc = expect(tt.get_twin_doc(twin, names[0]), 200, "get_twin_doc")
        if doc["status"] != "copying":
            break
        check(time.monotonic() < deadline, f"still copying: {doc}")
        time.sleep(0.1)
    check(doc["status"] == "ok", f"final status: {doc}")
    check(doc["creation_certificate"]["hash"] == digest, f"hash echo: {doc}")
    check(doc["description"] == {"origin": "official_client"}, f"description: {doc}")

    # download=True (a Python bool, sent as "True").
    with_link = expect(tt.get_twin_doc(twin, names[0], params={"download": True}), 200, "download")
    link = with_link.get("download", {}).get("url")
    check(isinstance(link, str), f"no download link: {with_link}")
    fetched = requests.get(link)
    check(fetched.status_code == 200 and fetched.content == payload, "downloaded bytes differ")

    listing = expect(tt.get_twin_docs(twin, params={"view": "list"}), 200, "get_twin_docs")
    check(sorted(listing["docs"]) == sorted(names), f"listing: {listing}")
    created, updated, size = listing["docs"][names[0]]
    check(size == len(payload) and created <= updated, f"listing entry: {listing}")
    masked = expect(
        tt.get_twin_docs(twin, params={"view": "list", "mask": "^dir/.*"}), 200, "get_twin_docs mask"
    )
    check(list(masked["docs"]) == [names[0]], f"masked listing: {masked}")

    missing = expect(tt.get_twin_doc(twin, "no/such.txt", retries=1), 404, "get_twin_doc (missing)")
    check(missing["subcode"] == 404653, f"missing doc: {missing}")

    check(all(code < 500 for code in codes), f"server errors seen: {codes}")
    print(f"official client flow OK against {base_url}: {codes}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1], sys.argv[2])
    except Exception as exc:  # any failure, assertion or not, must fail the run
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
