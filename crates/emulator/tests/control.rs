//! The control endpoints (`/_emulator/...`) and the upload size limit.

mod common;

use std::time::Duration;

use common::{Harness, SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use twindrop_emulator::{Config, CONTROL_HEADER};

async fn control(
    h: &Harness,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = h.client.request(method, h.url(path));
    if let Some(token) = token {
        request = request.header(CONTROL_HEADER, token);
    }
    if let Some(body) = body {
        request = request.header("Content-Type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn without_the_token_the_control_endpoints_do_not_exist() {
    let h = Harness::start().await;
    let token = h.emulator.control_token().to_owned();
    assert!(token.len() >= 32, "a random token by default");
    for (method, path) in [(Method::GET, "/_emulator/stats"), (Method::PUT, "/_emulator/faults")] {
        let (status, body) = control(&h, method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["subcode"], 404653);
        let (status, _) = control(&h, method.clone(), path, Some("wrong"), Some(json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // The Trusted Twin secret opens nothing here.
        let response = h.client.request(method, h.url(path)).header("Authorization", SECRET).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let other = Harness::start().await;
    assert_ne!(other.emulator.control_token(), token, "random per start");
}

#[tokio::test]
async fn faults_stats_and_clock_through_the_control_endpoints() {
    let h = Harness::start_with(Config::new(SECRET).with_control_token("let-me-in")).await;
    assert_eq!(h.emulator.control_token(), "let-me-in");
    let token = Some("let-me-in");

    let (status, body) =
        control(&h, Method::PUT, "/_emulator/faults", token, Some(json!({"rules": [{"route": "nope"}]}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("unknown route"), "{body}");

    let plan = json!({"seed": 3, "rules": [{"route": "whoami", "nth": [2], "status": 500}]});
    let (status, body) = control(&h, Method::PUT, "/_emulator/faults", token, Some(plan.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, plan);
    let (_, body) = control(&h, Method::GET, "/_emulator/faults", token, None).await;
    assert_eq!(body, plan);

    assert_eq!(h.get("/whoami").await.0, StatusCode::OK);
    assert_eq!(h.get("/whoami").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    let handler = h.upload(b"counted").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "c.txt", &handler).await;

    let (status, stats) = control(&h, Method::GET, "/_emulator/stats", token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["calls"]["whoami"], 2);
    assert_eq!(stats["calls"]["upload"], 1);
    assert_eq!(stats["calls"]["attach"], 1);
    assert_eq!(stats["fired"], json!([1]));
    assert_eq!(stats["attached"][&twin]["c.txt"], 1);
    assert!(stats["calls"].get("control").is_none(), "control calls are not counted");

    let (status, _) = control(&h, Method::DELETE, "/_emulator/faults", token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.emulator.faults(), Default::default());

    let url = h.upload_url().await["url"].as_str().unwrap().to_owned();
    let (status, now) = control(&h, Method::POST, "/_emulator/clock", token, Some(json!({"seconds": 3601}))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(now["now"].is_f64());
    let response = h.client.put(&url).body("late").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "the URL expired on the moved clock");
    let (status, _) = control(&h, Method::POST, "/_emulator/clock", token, Some(json!({"seconds": -1}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn uploads_over_the_limit_are_entity_too_large() {
    let config = Config::new(SECRET).with_max_upload_bytes(1000).with_copy_delay(Duration::from_millis(50));
    let h = Harness::start_with(config).await;
    let cache = h.upload_url().await;
    let url = cache["url"].as_str().unwrap();
    let response = h.client.put(url).body(vec![7u8; 1001]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(text.contains("<Code>EntityTooLarge</Code>"), "{text}");
    let response = h.client.put(url).body(vec![7u8; 1000]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "exactly the limit is fine");
}
