//! Screening Eagle Inspect over real HTTP: the presigned URL (201, or 200 once the same asset has
//! a completed file with that hash), the checked PUT (signature over the Content-Type, expiry,
//! length, SHA-256), Complete, auth and field checks, faults, a restart, and s3rver as the
//! delegated data plane (which must refuse a wrong Content-Type itself).

mod common;

use std::time::Duration;

use base64::Engine;
use common::{peer, Harness, SECRET};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use twindrop_emulator::{Config, FaultPlan};

const ASSET: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const API: &str = "/api/inspect/v1";

fn hash_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn request(bytes: &[u8], content_type: &str) -> Value {
    json!({"assetID": ASSET, "contentType": content_type, "hash": hash_b64(bytes), "name": "photo.png", "size": bytes.len()})
}

fn plan(value: Value) -> FaultPlan {
    serde_json::from_value(value).expect("a valid plan")
}

async fn json_of(response: Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// The S3 error code of an XML answer, checking it is XML.
async fn s3_code(response: Response) -> String {
    assert_eq!(response.headers()["content-type"], "application/xml");
    let text = response.text().await.unwrap();
    let code = text.split("<Code>").nth(1).and_then(|rest| rest.split("</Code>").next());
    code.unwrap_or_else(|| panic!("no <Code> in {text}")).to_owned()
}

/// Inspect calls on top of the shared harness.
trait Inspect {
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value);
    async fn presigned(&self, body: Value) -> (StatusCode, Value);
    async fn put(&self, url: &str, content_type: Option<&str>, bytes: &[u8]) -> Response;
    async fn complete(&self, id: &str) -> (StatusCode, Value);
    async fn files(&self, asset: &str) -> Vec<Value>;
}

impl Inspect for Harness {
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(&format!("{API}{path}"))).bearer_auth(SECRET);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.unwrap();
        (response.status(), json_of(response).await)
    }

    async fn presigned(&self, body: Value) -> (StatusCode, Value) {
        self.api(reqwest::Method::POST, "/file/upload/presigned", Some(body)).await
    }

    /// As `curl -X PUT -H "Content-Type: ..." --upload-file f URL` sends it.
    async fn put(&self, url: &str, content_type: Option<&str>, bytes: &[u8]) -> Response {
        let mut request = self.client.put(url).header("Content-Length", bytes.len()).body(bytes.to_vec());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.unwrap()
    }

    async fn complete(&self, id: &str) -> (StatusCode, Value) {
        self.api(reqwest::Method::POST, &format!("/file/{id}/upload/complete"), None).await
    }

    async fn files(&self, asset: &str) -> Vec<Value> {
        let (status, body) = self.api(reqwest::Method::GET, &format!("/assets/{asset}/files"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].as_array().unwrap().clone()
    }
}

/// A 201 answer's URL and id.
fn url_and_id(body: &Value) -> (String, String) {
    let data = &body["data"];
    (data["presignedURL"].as_str().unwrap().to_owned(), data["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn presigned_put_complete_then_the_same_file_is_already_uploaded() {
    let h = Harness::start().await;
    let bytes = b"\x89PNG not really".to_vec();
    let (status, body) = h.presigned(request(&bytes, "image/png")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (url, id) = url_and_id(&body);
    assert_eq!(body["data"].as_object().unwrap().len(), 2, "{body}");
    assert!(url.starts_with(&h.url(&format!("/__presigned/{id}?expires="))), "{url}");
    assert!(uuid::Uuid::parse_str(&id).is_ok());

    // Before Complete the same request is another 201 with a fresh id and URL (D-S4).
    let (status, again) = h.presigned(request(&bytes, "image/png")).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_ne!(url_and_id(&again).1, id);

    let response = h.put(&url, Some("image/png"), &bytes).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], format!("\"{}\"", hex::encode(md5::Md5::digest(&bytes))));
    // A second PUT replaces (with the same bytes: the hash is fixed).
    assert_eq!(h.put(&url, Some("image/png"), &bytes).await.status(), StatusCode::OK);
    assert_eq!(h.emulator.inspect_bytes_received(), 2 * bytes.len() as u64);

    let files = h.files(ASSET).await;
    assert_eq!(files.len(), 2);
    // Looked up by id: the two were asked for within a millisecond or so, and files created in
    // the same millisecond are listed in id order.
    let file = |files: &[Value]| files.iter().find(|file| file["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(
        file(&files),
        json!({"id": id, "name": "photo.png", "size": bytes.len(), "hash": hash_b64(&bytes),
               "contentType": "image/png", "completed": false})
    );

    let (status, done) = h.complete(&id).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done, json!({"data": {"id": id}}));
    let (status, done) = h.complete(&id).await;
    assert_eq!((status, done), (StatusCode::OK, json!({"data": {"id": id}})), "idempotent");
    assert_eq!(file(&h.files(ASSET).await)["completed"], true);

    let (status, dedupe) = h.presigned(request(&bytes, "image/png")).await;
    assert_eq!(status, StatusCode::OK, "{dedupe}");
    assert_eq!(dedupe, json!({"data": {"id": id}}), "no URL: skip the PUT");
    let other_asset = json!({"assetID": "00000000-0000-4000-8000-000000000001", "contentType": "image/png",
                             "hash": hash_b64(&bytes), "name": "photo.png", "size": bytes.len()});
    assert_eq!(h.presigned(other_asset).await.0, StatusCode::CREATED, "another asset");
    let (status, _) = h.presigned(request(b"other bytes", "image/png")).await;
    assert_eq!(status, StatusCode::CREATED, "other bytes");

    let content = h.client.get(h.url(&format!("{API}/file/{id}/content"))).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.headers()["content-type"], "image/png");
    assert_eq!(content.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(h.emulator.call_count("inspect.presigned"), 5);
    assert_eq!(h.emulator.call_count("inspect.put"), 2);
    assert_eq!(h.emulator.call_count("inspect.complete"), 2);
}

#[tokio::test]
async fn the_api_needs_a_bearer_secret_and_checks_every_field() {
    let h = Harness::start_with(Config::new(SECRET).inspect_max_size(100)).await;
    let unauthorized =
        json!({"error": "Unauthorized", "errorDescription": "Authentication is required to access this resource"});
    let url = h.url(&format!("{API}/file/upload/presigned"));
    for auth in [None, Some("Bearer wrong"), Some(SECRET), Some("Basic abc")] {
        let mut call = h.client.post(&url).json(&request(b"x", "text/plain"));
        if let Some(auth) = auth {
            call = call.header("Authorization", auth);
        }
        let response = call.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(json_of(response).await, unauthorized);
    }
    let good = request(b"hello", "text/plain");
    for (field, value, why) in [
        ("assetID", Value::Null, "'assetID' is required"),
        ("assetID", json!("not-a-uuid"), "'assetID' must be a UUID"),
        ("contentType", Value::Null, "'contentType' is required"),
        ("contentType", json!("plain"), "'contentType' must be a MIME type"),
        ("hash", json!(hex::encode(Sha256::digest(b"hello"))), "'hash' must be the base64"),
        ("hash", json!("aGVsbG8="), "'hash' must be the base64"),
        ("name", Value::Null, "'name' is required"),
        ("size", json!(-1), "'size' must be an integer"),
        ("size", json!(101), "more than the maximum of 100 bytes"),
        ("size", Value::Null, "'size' is required"),
    ] {
        let mut body = good.clone();
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        let (status, error) = h.presigned(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {error}");
        assert_eq!(error["error"], "BadRequest");
        assert!(error["errorDescription"].as_str().unwrap().contains(why), "{field}: {error}");
    }
    let response = h.client.post(&url).bearer_auth(SECRET).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "BadRequest");
    let (status, body) = h
        .presigned(json!({"assetID": ASSET, "contentType": "application/octet-stream",
        "hash": hash_b64(b""), "name": "empty", "size": 0}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "0 bytes is a size: {body}");
    let (status, error) = h.api(reqwest::Method::GET, "/nothing/here", None).await;
    assert_eq!((status, &error["error"]), (StatusCode::NOT_FOUND, &json!("NotFound")));
}

#[tokio::test]
async fn the_presigned_put_checks_signature_expiry_length_and_digest() {
    let h = Harness::start().await;
    let bytes = vec![7u8; 1000];
    let (_, body) = h.presigned(request(&bytes, "image/png")).await;
    let (url, id) = url_and_id(&body);

    for content_type in [Some("image/jpeg"), Some("IMAGE/PNG"), None] {
        let response = h.put(&url, content_type, &bytes).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{content_type:?}");
        assert_eq!(s3_code(response).await, "SignatureDoesNotMatch", "{content_type:?}");
    }
    let tampered = url.replace("expires=", "expires=9");
    assert_eq!(s3_code(h.put(&tampered, Some("image/png"), &bytes).await).await, "SignatureDoesNotMatch");
    let unsigned = url.split('?').next().unwrap().to_owned();
    let response = h.put(&unsigned, Some("image/png"), &bytes).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(s3_code(response).await, "AccessDenied");
    let with_auth = h
        .client
        .put(&url)
        .header("Content-Type", "image/png")
        .bearer_auth(SECRET)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(with_auth.status(), StatusCode::FORBIDDEN, "a second auth mechanism");

    let response = h.put(&url, Some("image/png"), &bytes[..999]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s3_code(response).await, "IncompleteBody");
    let mut other = bytes.clone();
    other[500] = 8;
    let response = h.put(&url, Some("image/png"), &other).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s3_code(response).await, "BadDigest");
    let (status, error) = h.complete(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing was kept: {error}");
    assert_eq!(error["error"], "Conflict");
    assert!(h.emulator.inspect_bytes_received() >= 3000, "refused bodies are read and counted");

    // 15 minutes on the emulator's clock.
    h.emulator.advance_clock(Duration::from_secs(14 * 60));
    assert_eq!(h.put(&url, Some("image/png"), &bytes).await.status(), StatusCode::OK);
    h.emulator.advance_clock(Duration::from_secs(2 * 60));
    let response = h.put(&url, Some("image/png"), &bytes).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("<Message>Request has expired</Message>"));
    let (status, _) = h.complete(&id).await;
    assert_eq!(status, StatusCode::OK, "the bytes of the earlier PUT are there");
}

#[tokio::test]
async fn complete_is_404_for_an_unknown_id_and_409_before_the_bytes() {
    let h = Harness::start().await;
    let (status, error) = h.complete("3fa85f64-5717-4562-b3fc-2c963f66afa6").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"], "NotFound");
    let (_, body) = h.presigned(request(b"abc", "text/plain")).await;
    let (url, id) = url_and_id(&body);
    let (status, error) = h.complete(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(error["errorDescription"].as_str().unwrap().contains("not been uploaded"), "{error}");
    assert_eq!(h.put(&url, Some("text/plain"), b"abc").await.status(), StatusCode::OK);
    assert_eq!(h.complete(&id).await.0, StatusCode::OK);
}

#[tokio::test]
async fn faults_expire_urls_and_fail_calls_in_inspect_s_dialects() {
    let h = Harness::start().await;
    h.emulator.set_faults(plan(json!({"rules": [
        {"route": "inspect.presigned", "nth": [1], "expire_now": true},
        {"route": "inspect.presigned", "nth": [2], "status": 503},
        {"route": "inspect.put", "nth": [2], "status": 500},
        {"route": "inspect.complete", "nth": [1], "status": 429, "retry_after": 1},
    ]})));
    let (status, body) = h.presigned(request(b"abc", "text/plain")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (expired, _) = url_and_id(&body);
    let response = h.put(&expired, Some("text/plain"), b"abc").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "minted already expired");
    assert!(response.text().await.unwrap().contains("Request has expired"));

    let (status, error) = h.presigned(request(b"abc", "text/plain")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error, json!({"error": "ServiceUnavailable", "errorDescription": "Injected fault."}));

    let (_, body) = h.presigned(request(b"abc", "text/plain")).await;
    let (url, id) = url_and_id(&body);
    let response = h.put(&url, Some("text/plain"), b"abc").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(s3_code(response).await, "InternalError");
    assert_eq!(h.put(&url, Some("text/plain"), b"abc").await.status(), StatusCode::OK);
    let response =
        h.client.post(h.url(&format!("{API}/file/{id}/upload/complete"))).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(json_of(response).await["error"], "TooManyRequests");
    assert_eq!(h.complete(&id).await.0, StatusCode::OK);
    assert_eq!(h.emulator.inspect_bytes_received(), 9, "the faulted PUT's body was read too");
}

#[tokio::test]
async fn a_corrupt_put_fails_its_own_digest_check_and_keeps_nothing() {
    let h = Harness::start().await;
    let bytes = b"\x89PNG bytes that get damaged".to_vec();
    let (_, body) = h.presigned(request(&bytes, "image/png")).await;
    let (url, id) = url_and_id(&body);
    h.emulator.set_faults(plan(json!({"rules": [{"route": "inspect.put", "nth": [1], "corrupt": true}]})));
    let response = h.put(&url, Some("image/png"), &bytes).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "the SHA-256 of what would be stored differs");
    assert_eq!(s3_code(response).await, "BadDigest");
    let (status, error) = h.complete(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing was kept: {error}");
    assert_eq!(h.files(ASSET).await[0]["completed"], false);

    // The next PUT, without the fault, is stored intact.
    let response = h.put(&url, Some("image/png"), &bytes).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], format!("\"{}\"", hex::encode(md5::Md5::digest(&bytes))));
    assert_eq!(h.complete(&id).await.0, StatusCode::OK);
    let content = h.client.get(h.url(&format!("{API}/file/{id}/content"))).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(content.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(h.emulator.inspect_bytes_received(), 2 * bytes.len() as u64, "the corrupted PUT was read whole");
}

#[tokio::test]
async fn files_and_urls_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::new(SECRET).with_state_dir(dir.path());
    let h = Harness::start_with(config()).await;
    let (_, body) = h.presigned(request(b"kept", "text/plain")).await;
    let (url, id) = url_and_id(&body);
    assert_eq!(h.put(&url, Some("text/plain"), b"kept").await.status(), StatusCode::OK);
    let (_, later) = h.presigned(request(b"later", "text/plain")).await;
    let later_path = url_and_id(&later).0.split_once("/__presigned/").unwrap().1.to_owned();
    h.emulator.shutdown().await;

    let h = Harness::start_with(config()).await;
    assert_eq!(h.complete(&id).await.0, StatusCode::OK, "the bytes are still there");
    let later_url = h.url(&format!("/__presigned/{later_path}"));
    assert_eq!(h.put(&later_url, Some("text/plain"), b"later").await.status(), StatusCode::OK, "the key survived");
    assert_eq!(h.files(ASSET).await.len(), 2);
    h.emulator.shutdown().await;
}

/// s3rver (`TWINDROP_S3RVER`) as the delegated data plane: the URL is a SigV2 URL that s3rver
/// itself checks, and Complete reads the object back from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3rver_takes_the_bytes_and_refuses_a_wrong_content_type_itself() {
    const BUCKET: &str = "inspect-peer";
    let Some(s3rver) = peer::s3rver(BUCKET) else { return };
    let config = Config::new(SECRET).inspect_data_plane(&s3rver.base, BUCKET, "S3RVER", "S3RVER");
    let h = Harness::start_with(config).await;
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let (status, body) = h.presigned(request(&bytes, "image/png")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (url, id) = url_and_id(&body);
    assert!(url.starts_with(&format!("{}/{BUCKET}/inspect/{id}?AWSAccessKeyId=S3RVER&Expires=", s3rver.base)), "{url}");
    assert!(url.contains("&Signature="), "{url}");

    for content_type in [Some("image/jpeg"), None] {
        let response = h.put(&url, content_type, &bytes).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "s3rver checks the signature ({content_type:?})");
        assert!(response.text().await.unwrap().contains("SignatureDoesNotMatch"));
    }
    let (status, error) = h.complete(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing on s3rver yet: {error}");

    // Bytes that are not the declared ones: s3rver stores them, Complete refuses them.
    assert_eq!(h.put(&url, Some("image/png"), &bytes[..10]).await.status(), StatusCode::OK);
    let (status, error) = h.complete(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(error["errorDescription"].as_str().unwrap().contains("10 bytes"), "{error}");

    let response = h.put(&url, Some("image/png"), &bytes).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, done) = h.complete(&id).await;
    assert_eq!((status, done), (StatusCode::OK, json!({"data": {"id": id}})));
    let content = h.client.get(h.url(&format!("{API}/file/{id}/content"))).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(content.bytes().await.unwrap().to_vec(), bytes, "read back through s3rver");
    assert_eq!(h.emulator.inspect_bytes_received(), 0, "no byte went through the emulator");

    // An expired SigV2 URL is refused by s3rver too.
    h.emulator.set_faults(plan(json!({"rules": [{"route": "inspect.presigned", "nth": [1], "expire_now": true}]})));
    let (_, body) = h.presigned(request(b"late", "text/plain")).await;
    let response = h.put(&url_and_id(&body).0, Some("text/plain"), b"late").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
