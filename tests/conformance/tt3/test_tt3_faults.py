"""Fault injection seen through the 3.18 client, whose only policy is: retry a status >= 500
(5 tries, 2 s apart, `retries=N` per call), never a 4xx or a 429. Each fault kind once, the
counters of the control endpoint, and the control endpoint's own guard.
"""
import hashlib
import json
import time

import pytest
import requests

from client3 import ok, settle
from harness import CONTROL_TOKEN, SECRET, Emulator, put_bytes, s3_error_code

pytestmark = pytest.mark.emulator_only  # fault injection and the control endpoint


def test_the_client_retries_an_injected_503_and_succeeds(tt, emulator, faults):
    before = emulator.stats()["calls"]["whoami"]
    faults({"rules": [{"route": "whoami", "nth": [1], "status": 503}]})
    started = time.monotonic()
    assert ok(tt.who_am_i(retries=2))["account"]
    assert time.monotonic() - started >= 2, "the client slept once between its two tries"
    stats = emulator.stats()
    assert stats["calls"]["whoami"] - before == 2 and stats["fired"] == [1]


def test_injected_5xx_bodies_carry_official_subcodes(tt, faults):
    faults({"rules": [{"route": "get_twin", "nth": [1], "status": 500},
                      {"route": "get_twin", "nth": [2], "status": 503}]})
    twin = ok(tt.create_twin(), 201)["creation_certificate"]["uuid"]
    status, text = tt.get_twin(twin, retries=1)
    assert status == 500 and '"subcode":500000' in text.replace(" ", "")
    status, text = tt.get_twin(twin, retries=1)
    assert status == 503 and '"subcode":503159' in text.replace(" ", "")
    assert ok(tt.get_twin(twin, retries=1))["creation_certificate"]["uuid"] == twin


def test_429_with_retry_after_is_not_retried_by_the_client(tt, emulator, faults):
    faults({"seed": 7, "rules": [{"route": "cache", "nth": [1], "status": 429, "retry_after": 2}]})
    status, text = tt.create_upload_url()
    assert status == 429 and "Too Many Requests" in text
    raw = emulator.api("POST", "/cache")
    assert raw.status_code == 201, "nth=[1] fired once"
    faults({"rules": [{"route": "cache", "status": 429, "retry_after": 2}]})
    assert emulator.api("POST", "/cache").headers["Retry-After"] == "2"


def test_probability_follows_the_seed(emulator, faults):
    def run(seed):
        faults({"seed": seed, "rules": [{"route": "whoami", "probability": 0.5, "status": 500}]})
        return [emulator.api("GET", "/whoami").status_code for _ in range(20)]
    first = run(42)
    assert first == run(42) and {200, 500} <= set(first)


def test_commit_then_500_is_the_ambiguous_attach(tt, emulator, faults, twin, upload):
    handler = upload(b"ambiguous")
    faults({"rules": [{"route": "attach", "times": 1, "commit_then_status": 500}]})
    status, _ = tt.attach_twin_doc(twin, body={"docs": {"amb.txt": {"handler": handler}}}, retries=1)
    assert status == 500
    again = ok(tt.attach_twin_doc(twin, body={"docs": {"amb.txt": {"handler": handler}}}), 201)
    assert again["docs"]["amb.txt"] == {"error": "Doc already exists."}
    assert emulator.stats()["attached"][twin]["amb.txt"] == 1, "attached once, not twice"


def test_a_reset_connection_during_the_upload(tt, faults, twin):
    cache = ok(tt.create_upload_url(), 201)
    faults({"rules": [{"route": "upload", "times": 1, "reset_after_bytes": 65536}]})
    payload = bytes(range(256)) * 4096  # 1 MiB
    with pytest.raises(requests.exceptions.ConnectionError) as cut:
        put_bytes(cache["url"], payload)
    assert "ConnectionResetError" in repr(cut.value), "an RST, not a polite close"
    assert put_bytes(cache["url"], payload).status_code == 200
    body = {"docs": {"r.bin": {"handler": cache["handler"], "hash": hashlib.sha256(payload).hexdigest()}}}
    ok(tt.attach_twin_doc(twin, body=body), 201)
    assert settle(tt, twin, "r.bin")["status"] == "ok"


def test_an_upload_url_that_expires_now(tt, faults):
    faults({"rules": [{"route": "cache", "times": 1, "expire_now": True}]})
    cache = ok(tt.create_upload_url(), 201)
    assert cache["validity_ts"] <= time.time() + 0.01
    response = put_bytes(cache["url"], b"late")
    assert response.status_code == 403 and "Request has expired" in response.text
    assert s3_error_code(response) == "AccessDenied"


def test_injected_upload_errors_are_s3_xml(tt, faults):
    cache = ok(tt.create_upload_url(), 201)
    faults({"rules": [{"route": "upload", "nth": [1], "status": 503}]})
    response = put_bytes(cache["url"], b"x")
    assert response.status_code == 503 and s3_error_code(response) == "SlowDown"
    assert put_bytes(cache["url"], b"x").status_code == 200


def test_copy_time_and_copy_error(tt, faults, twin, upload):
    handler = upload(b"copy")
    faults({"rules": [{"route": "attach", "nth": [1], "copy_ms": 1200},
                      {"route": "attach", "nth": [2], "copy_outcome": "error"}]})
    ok(tt.attach_twin_doc(twin, body={"docs": {"slow.txt": {"handler": handler}}}), 201)
    ok(tt.attach_twin_doc(twin, body={"docs": {"broken.txt": {"handler": handler}}}), 201)
    assert settle(tt, twin, "broken.txt")["status"] == "error"
    assert ok(tt.get_twin_doc(twin, "slow.txt"))["status"] == "copying"
    assert settle(tt, twin, "slow.txt")["status"] == "ok"


def test_latency_and_a_slow_body(tt, faults, twin):
    faults({"rules": [{"route": "get_twin", "latency_ms": 400},
                      {"route": "list_docs", "slow_body_bytes_per_sec": 100}]})
    started = time.monotonic()
    ok(tt.get_twin(twin))
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    listing = ok(tt.get_twin_docs(twin))
    assert listing == {"docs": {}}
    assert time.monotonic() - started >= 0.08, "12 bytes at 100 B/s"


def test_the_control_endpoint_needs_its_token(emulator):
    for token in ("", "wrong", SECRET):
        response = emulator.control("GET", "/_emulator/stats", token=token)
        assert response.status_code == 404 and response.json()["subcode"] == 404653
    response = emulator.api("PUT", "/_emulator/faults", json={"rules": []})
    assert response.status_code == 404, "the Trusted Twin secret alone opens nothing"
    bad = emulator.control("PUT", "/_emulator/faults", {"rules": [{"route": "attach", "status": 200}]})
    assert bad.status_code == 400 and "400-599" in bad.json()["error"]


def test_faults_file_seed_flag_and_the_random_token_on_stderr(tmp_path):
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"seed": 1, "rules": [{"route": "whoami", "nth": [1], "status": 503}]}))
    em = Emulator(extra_args=["--faults", str(plan), "--seed", "99"], control_token=None)
    try:
        deadline = time.monotonic() + 5
        while "X-Emulator-Control: " not in em.log():
            assert time.monotonic() < deadline, em.log()
            time.sleep(0.02)
        em.control_token = em.log().split("X-Emulator-Control: ", 1)[1].split()[0]
        assert em.control("GET", "/_emulator/faults").json()["seed"] == 99, "--seed overrides the file"
        assert em.api("GET", "/whoami").status_code == 503
        assert em.api("GET", "/whoami").status_code == 200
        assert em.control("GET", "/_emulator/stats", token=CONTROL_TOKEN).status_code == 404
    finally:
        em.stop()
