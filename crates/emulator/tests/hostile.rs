//! The `hostile` faults over real HTTP: each answer as a client receives it, and what the
//! emulator keeps (nothing: the request is not run).

mod common;

use std::time::{Duration, Instant};

use common::{Harness, SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use twindrop_emulator::{FaultPlan, HUGE_BODY_BYTES};

const Q: u64 = 256 * 1024;

fn plan(value: Value) -> FaultPlan {
    serde_json::from_value(value).expect("a valid plan")
}

fn request(h: &Harness, method: Method, path: &str) -> reqwest::RequestBuilder {
    h.client.request(method, h.url(path)).header("Authorization", SECRET).header("Content-Length", "0")
}

#[tokio::test]
async fn malformed_json_is_a_200_whose_body_breaks_off_and_nothing_is_run() {
    let h = Harness::start().await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "cache", "nth": [1], "hostile": "malformed_json"}]})));
    let response = request(&h, Method::POST, "/cache").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(text.starts_with('{') && serde_json::from_str::<Value>(&text).is_err(), "{text}");
    // Only the first call: the next is a normal upload URL, and it is the only one.
    let body = h.upload_url().await;
    assert!(body["handler"].is_string(), "{body}");
    assert_eq!(h.emulator.call_count("cache"), 2);
    assert_eq!(h.emulator.fired_total(), 1);
}

#[tokio::test]
async fn huge_body_claims_a_gigabyte_and_streams_junk_until_the_client_hangs_up() {
    let h = Harness::start().await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "whoami", "times": 1, "hostile": "huge_body"}]})));
    let mut response = request(&h, Method::GET, "/whoami").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(HUGE_BODY_BYTES));
    let mut read = 0usize;
    while read < 8 << 20 {
        let chunk = response.chunk().await.unwrap().expect("more junk");
        assert!(chunk.iter().all(|&b| b == b'x'));
        read += chunk.len();
    }
    drop(response);
    // Hanging up ends it; the emulator carries on.
    let (status, body) = h.get("/whoami").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["account"].is_string());
}

#[tokio::test]
async fn redirect_points_at_another_origin_that_counts_visits() {
    let h = Harness::start().await;
    let twin = h.create_twin().await;
    let handler = h.upload(b"bytes").await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "attach", "nth": [1], "hostile": "redirect"}]})));
    let path = format!("/twins/{twin}/docs");
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = no_redirects
        .post(h.url(&path))
        .header("Authorization", SECRET)
        .json(&json!({"docs": {"a.txt": {"handler": handler}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let target = h.emulator.redirect_target_url().to_owned();
    assert!(target.starts_with("http://127.0.0.1:") && target != h.emulator.base_url(), "{target}");
    assert_eq!(location, format!("{target}{path}"));
    assert_eq!(h.emulator.attach_count(&twin, "a.txt"), 0, "the request was not run");
    assert_eq!(h.emulator.redirect_visits(), 0);

    // A client that follows it is seen there, and in the stats.
    let followed = reqwest::get(&location).await.unwrap();
    assert_eq!(followed.status(), StatusCode::OK);
    assert_eq!(h.emulator.redirect_visits(), 1);
    let stats: Value = h
        .client
        .get(h.url("/_emulator/stats"))
        .header(twindrop_emulator::CONTROL_HEADER, h.emulator.control_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["redirect_visits"], 1, "{stats}");
}

#[tokio::test]
async fn slowloris_sends_headers_then_drips_the_body_forever() {
    let h = Harness::start().await;
    let twin = h.create_twin().await;
    h.emulator.set_faults(plan(json!({"rules": [
        {"route": "get_twin", "nth": [1], "hostile": "slowloris", "slowloris_ms": 100}
    ]})));
    let started = Instant::now();
    let mut response = request(&h, Method::GET, &format!("/twins/{twin}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(500), "headers come at once");
    let mut body = Vec::new();
    let watch = Instant::now();
    let ended = tokio::time::timeout(Duration::from_millis(1200), async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            body.extend_from_slice(&chunk);
        }
    })
    .await;
    assert!(ended.is_err(), "the body ended after {:?}: {body:?}", watch.elapsed());
    assert_eq!(body.first(), Some(&b'{'));
    assert!(body[1..].iter().all(|&b| b == b' '));
    assert!((6..=16).contains(&body.len()), "about one byte per 100 ms in 1.2 s, got {}", body.len());
    // Only that call.
    let (status, twin_again) = h.get(&format!("/twins/{twin}")).await;
    assert_eq!(status, StatusCode::OK, "{twin_again}");
}

#[tokio::test]
async fn wrong_range_claims_more_than_was_sent_and_keeps_nothing_of_the_chunk() {
    let h = Harness::start().await;
    let size = 4 * Q;
    let api = h.url("/api/v1/tables/demo.sandbox%3Av1.files/tempUploads");
    let list: Value = h
        .client
        .post(api)
        .bearer_auth(SECRET)
        .json(&json!({"tempUploads": [{"name": "big.bin", "size": size, "resumable": true}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = list["results"][0]["url"].as_str().unwrap().to_owned();
    let initiated = h
        .client
        .post(&url)
        .header("x-goog-resumable", "start")
        .header("x-upload-content-length", size)
        .header("Content-Length", 0)
        .send()
        .await
        .unwrap();
    let session = initiated.headers()["location"].to_str().unwrap().to_owned();
    h.emulator.set_faults(plan(json!({"rules": [{"route": "redivis.chunk", "nth": [2], "hostile": "wrong_range"}]})));
    let bytes = vec![7u8; Q as usize];
    let put = |start: u64, range: String| {
        h.client
            .put(&session)
            .header("Content-Range", range)
            .header("Content-Length", if start == u64::MAX { 0 } else { Q })
            .body(if start == u64::MAX { Vec::new() } else { bytes.clone() })
            .send()
    };
    let first = put(0, format!("bytes 0-{}/{size}", Q - 1)).await.unwrap();
    assert_eq!(first.status().as_u16(), 308);
    assert_eq!(first.headers()["range"], format!("bytes=0-{}", Q - 1));
    let second = put(Q, format!("bytes {Q}-{}/{size}", 2 * Q - 1)).await.unwrap();
    assert_eq!(second.status().as_u16(), 308);
    assert_eq!(second.headers()["range"], format!("bytes=0-{}", 3 * Q - 1), "a quantum past the last byte sent");
    let status = put(u64::MAX, format!("bytes */{size}")).await.unwrap();
    assert_eq!(status.status().as_u16(), 308);
    assert_eq!(status.headers()["range"], format!("bytes=0-{}", Q - 1), "nothing of the faulted chunk was kept");
    assert_eq!(h.emulator.redivis_bytes_received(), 2 * Q, "the faulted chunk was still received in full");
}
