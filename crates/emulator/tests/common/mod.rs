//! A real emulator on port 0 and a reqwest client speaking to it the way the official client does.
#![allow(dead_code)] // each test binary uses a different part of this

pub mod alibaba;
pub mod peer;

use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use twindrop_emulator::{Config, Emulator};

pub const SECRET: &str = "emulator+secret/with+base64/chars==";

pub struct Harness {
    pub emulator: Emulator,
    pub client: Client,
}

impl Harness {
    pub async fn start() -> Harness {
        let mut config = Config::new(SECRET);
        config.copy_delay = Duration::from_millis(150);
        Harness::start_with(config).await
    }

    pub async fn start_with(config: Config) -> Harness {
        let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.expect("emulator starts");
        Harness { emulator, client: Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emulator.base_url(), path)
    }

    /// An API call as the official client makes it: raw secret, `Content-Type: application/json`
    /// on every request, JSON body only when given.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Authorization", SECRET)
            .header("Content-Type", "application/json");
        request = match body {
            Some(body) => request.body(body.to_string()),
            None => request.header("Content-Length", "0"),
        };
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(Method::POST, path, body).await
    }

    /// `POST /cache`; returns the whole answer.
    pub async fn upload_url(&self) -> Value {
        let (status, body) = self.post("/cache", None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// `POST /cache` then a plain PUT of `bytes`; returns the handler.
    pub async fn upload(&self, bytes: &[u8]) -> String {
        let cache = self.upload_url().await;
        // Explicit, because reqwest leaves Content-Length out of a PUT with an empty body, and
        // the upload URL (like S3) then answers 411.
        let response = self
            .client
            .put(cache["url"].as_str().unwrap())
            .header("Content-Length", bytes.len())
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        cache["handler"].as_str().unwrap().to_owned()
    }

    pub async fn create_twin(&self) -> String {
        let (status, body) = self.post("/twins", Some(json!({}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["creation_certificate"]["uuid"].as_str().unwrap().to_owned()
    }

    pub async fn attach(&self, twin: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/twins/{twin}/docs"), Some(body)).await
    }

    /// Attaches one Doc (Shape A) and asserts it was accepted.
    pub async fn attach_one(&self, twin: &str, name: &str, handler: &str) -> Value {
        let (status, body) = self.attach(twin, json!({"docs": {name: {"handler": handler}}})).await;
        assert_eq!(status, StatusCode::CREATED);
        let doc = body["docs"][name].clone();
        assert_eq!(doc["status"], "copying", "{body}");
        doc
    }

    pub async fn get_doc(&self, twin: &str, name: &str) -> (StatusCode, Value) {
        self.get(&format!("/twins/{twin}/docs/{}", quote(name))).await
    }

    /// Polls until the Doc is no longer `copying`.
    pub async fn settled(&self, twin: &str, name: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, doc) = self.get_doc(twin, name).await;
            assert_eq!(status, StatusCode::OK, "{doc}");
            if doc["status"] != "copying" {
                return doc;
            }
            assert!(Instant::now() < deadline, "{name} still copying");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Python's `urllib.parse.quote(s, safe="")`, which the official client applies to path
/// arguments: everything but `A-Za-z0-9_.-~` is percent-encoded, `/` included.
pub fn quote(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
