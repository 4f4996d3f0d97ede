//! Fault injection over real HTTP: each kind of fault, the counters, and determinism.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};
use twindrop_emulator::{Config, FaultPlan};

/// Whether an io::Error of kind ConnectionReset (an RST, not a FIN) is behind `err`.
fn is_connection_reset(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset) {
            return true;
        }
        cause = err.source();
    }
    false
}

fn plan(value: Value) -> FaultPlan {
    serde_json::from_value(value).expect("a valid plan")
}

#[tokio::test]
async fn nth_call_of_a_route_gets_the_status_and_is_counted() {
    let h = Harness::start().await;
    let handler = h.upload(b"x").await;
    let twin = h.create_twin().await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "attach", "nth": [1], "status": 503}]})));

    let (status, body) = h.attach(&twin, json!({"docs": {"a.txt": {"handler": handler}}})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["subcode"], 503159, "the official subcode of a 503: {body}");
    assert_eq!(h.emulator.attach_count(&twin, "a.txt"), 0, "a 503 is not run");

    let (status, body) = h.attach(&twin, json!({"docs": {"a.txt": {"handler": handler}}})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(h.emulator.call_count("attach"), 2);
    assert_eq!(h.emulator.call_count("cache"), 1);
    assert_eq!(h.emulator.attach_count(&twin, "a.txt"), 1);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_deterministic_for_a_seed() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let h = Harness::start().await;
        h.emulator.set_faults(plan(json!({"seed": seed, "rules": [
            {"route": "cache", "probability": 0.5, "status": 429, "retry_after": 3}
        ]})));
        let mut statuses = Vec::new();
        for _ in 0..24 {
            let response = h.client.post(h.url("/cache")).header("Authorization", SECRET).send().await.unwrap();
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(response.headers()["retry-after"], "3");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body, json!({"message": "Too Many Requests"}), "no TT subcode exists for 429");
                statuses.push(429);
            } else {
                assert_eq!(response.status(), StatusCode::CREATED);
                statuses.push(201);
            }
        }
        statuses
    }
    let first = pattern(11).await;
    assert_eq!(first, pattern(11).await, "same seed, same faults");
    assert!(first.contains(&429) && first.contains(&201), "{first:?}");
    assert_ne!(first, pattern(12).await, "another seed, other faults");
}

#[tokio::test]
async fn a_reset_upload_keeps_nothing_and_the_retry_works() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let url = cache["url"].as_str().unwrap();
    h.emulator.set_faults(plan(json!({"rules": [{"route": "upload", "times": 1, "reset_after_bytes": 64 * 1024}]})));
    let bytes: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 253) as u8).collect();

    let cut = h.client.put(url).body(bytes.clone()).send().await;
    let err = cut.expect_err("the connection is reset, there is no answer");
    assert!(is_connection_reset(&err), "{err:?}");

    let twin = h.create_twin().await;
    let handler = cache["handler"].as_str().unwrap();
    let (_, attached) = h.attach(&twin, json!({"docs": {"cut.bin": {"handler": handler}}})).await;
    assert!(attached["docs"]["cut.bin"]["error"].as_str().unwrap().starts_with("No Doc uploaded"), "{attached}");

    let retry = h.client.put(url).body(bytes.clone()).send().await.unwrap();
    assert_eq!(retry.status(), StatusCode::OK);
    let (_, attached) = h.attach(&twin, json!({"docs": {"whole.bin": {"handler": handler}}})).await;
    assert_eq!(attached["docs"]["whole.bin"]["creation_certificate"]["size"], bytes.len());
    assert_eq!(h.emulator.call_count("upload"), 2);
}

#[tokio::test]
async fn commit_then_500_attaches_once_and_a_retry_sees_the_doc() {
    let h = Harness::start().await;
    let handler = h.upload(b"ambiguous").await;
    let twin = h.create_twin().await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "attach", "times": 1, "commit_then_status": 500}]})));

    let (status, body) = h.attach(&twin, json!({"docs": {"amb.txt": {"handler": handler}}})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["subcode"], 500000);
    let (status, doc) = h.get_doc(&twin, "amb.txt").await;
    assert_eq!(status, StatusCode::OK, "the attach was committed: {doc}");

    let (status, again) = h.attach(&twin, json!({"docs": {"amb.txt": {"handler": handler}}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["docs"]["amb.txt"], json!({"error": "Doc already exists."}));
    assert_eq!(h.emulator.attach_count(&twin, "amb.txt"), 1);

    // Deleting and attaching again is a second creation, and the count says so.
    let (status, _) = h.call(reqwest::Method::DELETE, &format!("/twins/{twin}/docs/amb.txt"), None).await;
    assert_eq!(status, StatusCode::OK);
    h.attach_one(&twin, "amb.txt", &handler).await;
    assert_eq!(h.emulator.attach_count(&twin, "amb.txt"), 2);
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let h = Harness::start().await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "whoami", "latency_ms": 300}]})));
    let started = Instant::now();
    let (status, _) = h.get("/whoami").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[tokio::test]
async fn expire_now_on_cache_and_on_upload() {
    let h = Harness::start().await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "cache", "times": 1, "expire_now": true}]})));
    let expired = h.upload_url().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(expired["validity_ts"].as_f64().unwrap() <= now + 0.001, "{expired}");
    let response = h.client.put(expired["url"].as_str().unwrap()).body("late").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("Request has expired"));

    let fresh = h.upload_url().await;
    let url = fresh["url"].as_str().unwrap();
    h.emulator.set_faults(plan(json!({"rules": [{"route": "upload", "nth": [1], "expire_now": true}]})));
    let response = h.client.put(url).body("x").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = h.client.put(url).body("x").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "once expired, the URL stays expired");
}

#[tokio::test]
async fn copy_time_and_outcome() {
    let h = Harness::start().await;
    let handler = h.upload(b"copy me").await;
    let twin = h.create_twin().await;
    h.emulator.set_faults(plan(json!({"rules": [
        {"route": "attach", "nth": [1], "copy_ms": 1500},
        {"route": "attach", "nth": [2], "copy_outcome": "error"}
    ]})));
    h.attach_one(&twin, "slow.txt", &handler).await;
    h.attach_one(&twin, "broken.txt", &handler).await;
    assert_eq!(h.settled(&twin, "broken.txt").await["status"], "error");
    let (_, slow) = h.get_doc(&twin, "slow.txt").await;
    assert_eq!(slow["status"], "copying", "the default 150 ms are long gone");
    assert_eq!(h.settled(&twin, "slow.txt").await["status"], "ok");
    let (_, linked) = h.get(&format!("/twins/{twin}/docs/broken.txt?download=True")).await;
    assert!(linked.get("download").is_none(), "a failed copy has no bytes to hand out");
}

#[tokio::test]
async fn a_slow_body_arrives_whole_and_late() {
    let h = Harness::start().await;
    let twin = h.create_twin().await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "get_twin", "slow_body_bytes_per_sec": 1000}]})));
    let started = Instant::now();
    let response = h.client.get(h.url(&format!("/twins/{twin}"))).header("Authorization", SECRET).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["creation_certificate"]["uuid"], twin.as_str());
    let expected = Duration::from_secs_f64(text.len() as f64 / 1000.0 * 0.8);
    assert!(started.elapsed() >= expected, "{} bytes in {:?}", text.len(), started.elapsed());
}

#[tokio::test]
async fn star_rules_and_faults_from_the_config() {
    let config = Config::new(SECRET)
        .with_copy_delay(Duration::from_millis(50))
        .with_faults(plan(json!({"rules": [{"route": "*", "nth": [2], "status": 500}]})));
    let h = Harness::start_with(config).await;
    assert_eq!(h.get("/whoami").await.0, StatusCode::OK);
    assert_eq!(h.post("/twins", None).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(h.get("/whoami").await.0, StatusCode::OK);
    assert_eq!(h.emulator.call_count("*"), 3);
}

#[tokio::test]
async fn invalid_plans_are_refused() {
    let h = Harness::start().await;
    let bad = FaultPlan {
        rules: vec![twindrop_emulator::FaultRule { status: Some(200), ..Default::default() }],
        ..Default::default()
    };
    let err = h.emulator.try_set_faults(bad).unwrap_err();
    assert!(err.to_string().contains("400-599"), "{err}");
    assert_eq!(h.emulator.faults(), FaultPlan::default(), "the old plan stays");
}

#[tokio::test]
#[should_panic(expected = "unknown route")]
async fn call_count_refuses_a_typo() {
    let h = Harness::start().await;
    h.emulator.call_count("atach");
}

#[tokio::test]
async fn corrupt_upload_stores_a_flipped_byte_and_the_attach_ends_hash_mismatch() {
    use md5::Digest;
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let (url, handler) = (cache["url"].as_str().unwrap(), cache["handler"].as_str().unwrap());
    h.emulator.set_faults(plan(json!({"rules": [{"route": "upload", "nth": [1], "corrupt": true}]})));
    let bytes = b"bytes on their way to storage".to_vec();
    let mut flipped = bytes.clone();
    flipped[0] ^= 0xFF;
    let put = || h.client.put(url).body(bytes.clone()).send();

    let response = put().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "read and answered as usual");
    assert_eq!(response.headers()["etag"], format!("\"{}\"", hex::encode(md5::Md5::digest(&flipped))));
    let twin = h.create_twin().await;
    let hash = common::sha256_hex(&bytes);
    let (_, body) = h.attach(&twin, json!({"docs": {"checked.bin": {"handler": handler, "hash": hash}}})).await;
    assert_eq!(body["docs"]["checked.bin"]["status"], "copying", "{body}");
    assert_eq!(h.settled(&twin, "checked.bin").await["status"], "hash_mismatch", "the client's SHA-256 catches it");
    h.attach_one(&twin, "unchecked.bin", handler).await;
    assert_eq!(h.settled(&twin, "unchecked.bin").await["status"], "ok", "without a hash nothing notices");
    let download = |name: &'static str| {
        let (h, twin) = (&h, &twin);
        async move {
            let (_, doc) = h.get(&format!("/twins/{twin}/docs/{name}?download=True")).await;
            let link = doc["download"]["url"].as_str().expect("a download link").to_owned();
            h.client.get(link).send().await.unwrap().bytes().await.unwrap().to_vec()
        }
    };
    assert_eq!(download("unchecked.bin").await, flipped, "the stored bytes are the corrupted ones");

    // The next PUT, without the fault, stores the bytes intact.
    let response = put().await.unwrap();
    assert_eq!(response.headers()["etag"], format!("\"{}\"", hex::encode(md5::Md5::digest(&bytes))));
    let (_, body) = h.attach(&twin, json!({"docs": {"intact.bin": {"handler": handler, "hash": hash}}})).await;
    assert_eq!(body["docs"]["intact.bin"]["status"], "copying", "{body}");
    assert_eq!(h.settled(&twin, "intact.bin").await["status"], "ok");
    assert_eq!(download("intact.bin").await, bytes);
    assert_eq!(h.emulator.call_count("upload"), 2);
}
