//! Error bodies and validation: auth, malformed requests, the published doc_name regex.

mod common;

use common::{quote, Harness, SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn assert_error(body: &Value, subcode: u64) {
    assert!(body["subcode"].is_u64(), "subcode must be a JSON integer: {body}");
    assert_eq!(body["subcode"].as_u64(), Some(subcode), "{body}");
    let trace = body["trace"].as_str().expect("a trace");
    assert_eq!(trace.len(), 36, "trace is a UUID: {trace}");
    assert!(body["description"].is_string(), "{body}");
}

#[tokio::test]
async fn bad_or_missing_secret_is_401000() {
    let h = Harness::start().await;
    for auth in [Some("wrong"), Some(&format!("Bearer {SECRET}")[..]), None] {
        let mut request = h.client.get(h.url("/whoami"));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_error(&body, 401000);
    }
    // The raw JSON text, not only the parsed value: `"subcode": 401000`, not `"401000"`.
    let text = h.client.post(h.url("/cache")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("\"subcode\":401000"), "{text}");
}

#[tokio::test]
async fn every_secret_is_a_user_of_one_account() {
    let mut config = twindrop_emulator::Config::new("first");
    config.secrets.push("second".into());
    let h = Harness::start_with(config).await;
    let whoami = |secret: &'static str| h.client.get(h.url("/whoami")).header("Authorization", secret).send();
    let one: Value = whoami("first").await.unwrap().json().await.unwrap();
    let two: Value = whoami("second").await.unwrap().json().await.unwrap();
    assert_eq!(one["account"], two["account"]);
    assert_ne!(one["user"], two["user"]);
}

#[tokio::test]
async fn unknown_twin_and_doc_are_404653() {
    let h = Harness::start().await;
    let missing = "3f359a50-65e2-4252-ba96-6fda5fe7e14c";
    let (status, body) = h.get(&format!("/twins/{missing}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404653);
    let (status, body) = h.get("/twins/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404653);

    let (status, body) = h.attach(missing, json!({"docs": {"a": {"handler": "h"}}})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404653);

    let twin = h.create_twin().await;
    let (status, body) = h.get_doc(&twin, "nothing.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404653);
    let (status, body) = h.get(&format!("/twins/{missing}/docs")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404653);
}

#[tokio::test]
async fn malformed_json_is_400415_and_wrong_shape_400589() {
    let h = Harness::start().await;
    let response = h
        .client
        .post(h.url("/twins"))
        .header("Authorization", SECRET)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_error(&response.json().await.unwrap(), 400415);

    let (status, body) = h.post("/twins", Some(json!({"description": {"Bad-Key": 1}}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400589);

    let twin = h.create_twin().await;
    for bad in [
        json!({"docs": "nope"}),
        json!({"docs": {"a": {"handler": "h", "storage_class": "hot"}}}),
        json!({"docs": {"a": {"handler": "h", "description": {"9x": 1}}}}),
    ] {
        let (status, body) = h.attach(&twin, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_error(&body, 400589);
    }
}

#[tokio::test]
async fn create_twin_tolerates_no_body_at_all() {
    let h = Harness::start().await;
    let (status, body) = h.post("/twins", None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["status"], "alive");
    assert!(body.get("description").is_none());
    let (status, body) = h.post("/twins", Some(json!({"description": null}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body.get("description").is_none());
    let (status, body) = h.post("/twins", Some(json!({"description": {}}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["description"], json!({}));
}

#[tokio::test]
async fn invalid_doc_name_fails_the_whole_request_with_400589() {
    let h = Harness::start().await;
    let handler = h.upload(b"x").await;
    let twin = h.create_twin().await;
    let (status, body) = h
        .attach(&twin, json!({"docs": {"good.txt": {"handler": handler}, "archive.tar.gz": {"handler": handler}}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400589);
    let (status, _) = h.get_doc(&twin, "good.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing attached from a refused request");
}

#[tokio::test]
async fn published_regex_quirks_over_http() {
    let h = Harness::start().await;
    let handler = h.upload(b"quirky").await;
    let twin = h.create_twin().await;
    // The unescaped dot lets any one character stand before the last alphanumerics, and Python's
    // `$` forgives one trailing newline.
    for name in ["a b", "file.txt\n", "a/b/c/d/e/f/g", "f.TXT"] {
        let (status, body) = h.attach(&twin, json!({"docs": {name: {"handler": handler}}})).await;
        assert_eq!(status, StatusCode::CREATED, "{name:?}: {body}");
        assert_eq!(body["docs"][name]["status"], "copying", "{name:?}: {body}");
        let (status, doc) = h.get_doc(&twin, name).await;
        assert_eq!(status, StatusCode::OK, "{name:?} readable back as {}", quote(name));
        assert!(doc["status"].is_string());
    }
    for name in ["archive.tar.gz", "my file.txt", ".hidden", "a//b", "x.abcdefghi"] {
        let (status, body) = h.attach(&twin, json!({"docs": {name: {"handler": handler}}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}");
        assert_error(&body, 400589);
    }
    let (status, body) = h.get_doc(&twin, "archive.tar.gz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400589);
}

#[tokio::test]
async fn get_tolerates_json_content_type_and_python_booleans() {
    let h = Harness::start().await;
    // Harness::get always sends Content-Type: application/json with no body, like the client.
    let (status, _) = h.get("/whoami").await;
    assert_eq!(status, StatusCode::OK);
    let twin = h.create_twin().await;
    let (status, _) = h.get(&format!("/twins/{twin}/docs?view=list")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = h.get(&format!("/twins/{twin}/docs/x?download=maybe")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400589);
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let h = Harness::start().await;
    let (status, body) = h.get("/no/such/thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404653);
}

#[tokio::test]
async fn a_secret_in_a_url_is_refused_and_counted() {
    let emulator = twindrop_emulator::Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        twindrop_emulator::Config::new("url-secret"),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    for url in [
        format!("{}/twins/url-secret", emulator.base_url()),
        format!("{}/whoami?token=url-secret", emulator.base_url()),
        format!("{}/hbr/?AccessKey=id%3Aurl-secret", emulator.base_url()),
    ] {
        let response = http.get(&url).header("Authorization", "url-secret").send().await.unwrap();
        assert_eq!(response.status(), 400, "{url}");
    }
    assert_eq!(emulator.secrets_on_urls(), 3);
    let fine =
        http.get(format!("{}/whoami", emulator.base_url())).header("Authorization", "url-secret").send().await.unwrap();
    assert!(fine.status().is_success());
    assert_eq!(emulator.secrets_on_urls(), 3);
}
