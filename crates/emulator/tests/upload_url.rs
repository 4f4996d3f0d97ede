//! The PUT side of the upload URL behaves like an S3 presigned URL.

mod common;

use std::time::Duration;

use common::{sha256_hex, Harness, SECRET};
use reqwest::StatusCode;
use serde_json::json;

async fn xml_error(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/xml");
    let body = response.text().await.unwrap();
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(body.contains("<Error>") && body.contains("</Error>"), "{body}");
    (status, body)
}

#[tokio::test]
async fn put_with_authorization_is_refused() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let response =
        h.client.put(cache["url"].as_str().unwrap()).header("Authorization", SECRET).body("x").send().await.unwrap();
    let (status, body) = xml_error(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
}

#[tokio::test]
async fn chunked_put_is_refused_with_411() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let chunks = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"part one ")),
        Ok(bytes::Bytes::from_static(b"part two")),
    ]);
    let response =
        h.client.put(cache["url"].as_str().unwrap()).body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
    let (status, body) = xml_error(response).await;
    assert_eq!(status, StatusCode::LENGTH_REQUIRED);
    assert!(body.contains("<Code>MissingContentLength</Code>"), "{body}");

    // Nothing was stored: attaching finds no upload.
    let twin = h.create_twin().await;
    let handler = cache["handler"].as_str().unwrap();
    let (_, attached) = h.attach(&twin, json!({"docs": {"c": {"handler": handler}}})).await;
    assert!(attached["docs"]["c"]["error"].as_str().unwrap().starts_with("No Doc uploaded"));
}

#[tokio::test]
async fn empty_put_needs_an_explicit_content_length() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let url = cache["url"].as_str().unwrap();
    // reqwest (hyper) sends no Content-Length for an empty PUT body; S3 wants one.
    let response = h.client.put(url).body(Vec::new()).send().await.unwrap();
    let (status, body) = xml_error(response).await;
    assert_eq!(status, StatusCode::LENGTH_REQUIRED);
    assert!(body.contains("<Code>MissingContentLength</Code>"), "{body}");

    let response = h.client.put(url).header("Content-Length", "0").body(Vec::new()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The ETag of nothing is the MD5 of nothing, as S3 gives it.
    assert_eq!(response.headers()["etag"], "\"d41d8cd98f00b204e9800998ecf8427e\"");
}

#[tokio::test]
async fn expired_url_is_refused() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    h.emulator.advance_clock(Duration::from_secs(3601));
    let response = h.client.put(cache["url"].as_str().unwrap()).body("late").send().await.unwrap();
    let (status, body) = xml_error(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(body.contains("Request has expired"), "{body}");
}

#[tokio::test]
async fn unknown_upload_token_is_404() {
    let h = Harness::start().await;
    let response = h.client.put(h.url("/upload/0123456789abcdef0123456789abcdef")).body("x").send().await.unwrap();
    let (status, body) = xml_error(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("<Code>NoSuchKey</Code>"), "{body}");
}

#[tokio::test]
async fn a_larger_body_streams_through_and_hashes_right() {
    let h = Harness::start().await;
    // Several MB: above axum's 2 MB default body limit, which must not apply here.
    let bytes: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let handler = h.upload(&bytes).await;
    let twin = h.create_twin().await;
    let (status, body) =
        h.attach(&twin, json!({"docs": {"big.bin": {"handler": handler, "hash": sha256_hex(&bytes)}}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["docs"]["big.bin"]["creation_certificate"]["size"], bytes.len());
    assert_eq!(h.settled(&twin, "big.bin").await["status"], "ok");
}

#[tokio::test]
async fn post_cache_accepts_the_official_clients_bodiless_post() {
    let h = Harness::start().await;
    // Content-Length: 0 with Content-Type: application/json, exactly what the client sends.
    let (status, body) = h.post("/cache", None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["handler"].is_string() && body["url"].is_string());
    assert!(body["validity_ts"].is_f64());
}

#[tokio::test]
async fn concurrent_uploads_each_keep_their_own_bytes() {
    let h = Harness::start().await;
    let twin = h.create_twin().await;
    let bodies: Vec<Vec<u8>> = (0..4u8).map(|n| vec![n; 3 * 1024 * 1024 + n as usize]).collect();
    let handlers = futures_util::future::join_all(bodies.iter().map(|bytes| h.upload(bytes))).await;
    for (n, (bytes, handler)) in bodies.iter().zip(&handlers).enumerate() {
        let name = format!("c{n}.bin");
        let (_, attached) =
            h.attach(&twin, json!({"docs": {&name: {"handler": handler, "hash": sha256_hex(bytes)}}})).await;
        assert_eq!(attached["docs"][&name]["creation_certificate"]["size"], bytes.len());
        assert_eq!(h.settled(&twin, &name).await["status"], "ok", "{name}");
    }
}
