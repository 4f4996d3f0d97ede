//! The Redivis API and its GCS-style data plane over real HTTP: tables, temp uploads, the plain
//! PUT, resumable sessions (chunks, status queries, faults), raw files, auth, the rate limit, and a
//! delegated data plane on gcp-storage-emulator.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{Harness, SECRET};
use futures_util::StreamExt;
use md5::{Digest, Md5};
use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use twindrop_emulator::{Config, FaultPlan};

const Q: u64 = 256 * 1024;
/// The default file-index table, as the client puts it in a path.
const TABLE: &str = "demo.sandbox%3Av1.files";

fn data(len: u64) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn md5_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes))
}

fn plan(value: Value) -> FaultPlan {
    serde_json::from_value(value).expect("a valid plan")
}

/// The committed byte count a 308's `Range: bytes=0-N` states (0 without a Range).
fn committed(response: &Response) -> u64 {
    assert_eq!(response.status().as_u16(), 308, "expected 308 Resume Incomplete");
    assert!(response.headers().get("location").is_none(), "a 308 never carries Location");
    match response.headers().get("range") {
        None => 0,
        Some(range) => {
            let end = range.to_str().unwrap().strip_prefix("bytes=0-").expect("bytes=0-N");
            end.parse::<u64>().unwrap() + 1
        }
    }
}

async fn json_of(response: Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

async fn start() -> Harness {
    Harness::start().await
}

/// Redivis calls on top of the shared harness.
trait Redivis {
    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, HeaderMap, Value);
    async fn temp_uploads(&self, items: Value) -> Vec<Value>;
    async fn initiate(&self, url: &str, size: u64) -> String;
    async fn chunk(&self, session: &str, bytes: &[u8], start: u64, total: &str) -> Response;
    async fn query(&self, session: &str, total: &str) -> Response;
    async fn raw_files(&self, files: Value) -> (StatusCode, Value);
}

impl Redivis for Harness {
    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, HeaderMap, Value) {
        let mut request = self.client.request(method, self.url(&format!("/api/v1{path}"))).bearer_auth(SECRET);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, json_of(response).await)
    }

    async fn temp_uploads(&self, items: Value) -> Vec<Value> {
        let (status, _, body) =
            self.api(Method::POST, &format!("/tables/{TABLE}/tempUploads"), Some(json!({"tempUploads": items}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["kind"], "tempUploadList");
        body["results"].as_array().unwrap().clone()
    }

    async fn initiate(&self, url: &str, size: u64) -> String {
        let response = self
            .client
            .post(url)
            .header("x-goog-resumable", "start")
            .header("x-upload-content-length", size)
            .header("Content-Length", 0)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    async fn chunk(&self, session: &str, bytes: &[u8], start: u64, total: &str) -> Response {
        let end = start + bytes.len() as u64 - 1;
        self.client
            .put(session)
            .header("Content-Range", format!("bytes {start}-{end}/{total}"))
            .header("Content-Length", bytes.len())
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn query(&self, session: &str, total: &str) -> Response {
        self.client
            .put(session)
            .header("Content-Range", format!("bytes */{total}"))
            .header("Content-Length", 0)
            .send()
            .await
            .unwrap()
    }

    async fn raw_files(&self, files: Value) -> (StatusCode, Value) {
        let (status, _, body) =
            self.api(Method::POST, &format!("/tables/{TABLE}/rawFiles"), Some(json!({"files": files}))).await;
        (status, body)
    }
}

/// A resumable temp upload of `size` bytes and its session URI.
async fn new_session(h: &Harness, size: u64) -> (String, String) {
    let upload = &h.temp_uploads(json!([{"size": size, "name": "big.bin", "resumable": true}])).await[0];
    assert_eq!(upload["resumable"], true);
    let id = upload["id"].as_str().unwrap().to_owned();
    let session = h.initiate(upload["url"].as_str().unwrap(), size).await;
    (id, session)
}

#[tokio::test]
async fn temp_uploads_then_a_plain_put_then_raw_files() {
    let h = start().await;
    let (status, headers, table) = h.api(Method::GET, &format!("/tables/{TABLE}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(table["qualifiedReference"], "demo.sandbox:v1.files");
    assert_eq!(table["isFileIndex"], true);
    assert_eq!(headers["x-ratelimit-limit"], "100");
    assert!(headers.contains_key("x-ratelimit-remaining"));

    let (a, b) = (data(1000), b"second file".to_vec());
    let uploads = h.temp_uploads(json!([{"size": 1000, "name": "a.bin"}, {"size": b.len(), "name": "b.txt"}])).await;
    assert_eq!(uploads[0]["name"], "a.bin", "request order");
    assert_eq!(uploads[1]["size"], json!(b.len().to_string()), "size as a string");
    assert_eq!(uploads[0]["resumable"], false);
    let url = uploads[0]["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/__tempUploads/{}", h.emulator.base_url(), uploads[0]["id"].as_str().unwrap()));

    let response = h.client.put(url).body(a[..999].to_vec()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "length differs from the declared size");
    let done = json_of(h.client.put(url).bearer_auth(SECRET).body(a.clone()).send().await.unwrap()).await;
    assert_eq!(done, json!({"kind": "tempUpload", "id": uploads[0]["id"], "size": "1000", "md5Hash": md5_b64(&a)}));
    let response = h.client.put(uploads[1]["url"].as_str().unwrap()).body(b.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(h.emulator.redivis_bytes_received(), 999 + 1000 + b.len() as u64);

    let (status, body) = h
        .raw_files(json!([
            {"name": "dir/a.bin", "tempUploadId": uploads[0]["id"]},
            {"name": "b.txt", "resumableUploadId": uploads[1]["id"]}
        ]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "rawFileList");
    let file = &body["results"][0];
    assert_eq!(
        (file["kind"].as_str(), file["name"].as_str(), file["size"].as_u64()),
        (Some("rawFile"), Some("dir/a.bin"), Some(1000))
    );
    assert_eq!(file["md5Hash"], md5_b64(&a));
    assert_eq!(file["uri"], format!("/rawFiles/{}", file["id"].as_str().unwrap()));

    let (status, _, list) = h.api(Method::GET, &format!("/tables/{TABLE}/rawFiles"), None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["results"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["b.txt", "dir/a.bin"]);
    let bytes = h.client.get(file["url"].as_str().unwrap()).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(bytes.bytes().await.unwrap(), a, "alt=media serves the bytes");
}

#[tokio::test]
async fn tables_are_created_found_and_refused() {
    let h = start().await;
    let (status, _, table) = h
        .api(Method::POST, "/datasets/demo.sandbox%3Av1/tables", Some(json!({"name": "pdfs", "isFileIndex": true})))
        .await;
    assert_eq!(status, StatusCode::OK, "{table}");
    assert_eq!(
        table,
        json!({"kind": "table", "name": "pdfs", "qualifiedReference": "demo.sandbox:v1.pdfs",
               "uri": "/tables/demo.sandbox:v1.pdfs", "isFileIndex": true})
    );
    let (status, _, again) = h.api(Method::GET, "/tables/demo.sandbox%3Av1.pdfs", None).await;
    assert_eq!((status, again), (StatusCode::OK, table));
    let (status, _, error) = h.api(Method::GET, "/tables/demo.sandbox%3Av1.nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["status"], 404);
    assert_eq!(error["error"], "not_found");
    assert!(error["error_description"].is_string());
    let (status, _, _) = h.api(Method::POST, "/datasets/demo.sandbox%3Av1/tables", Some(json!({"name": "pdfs"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "exists already");
    let (status, _, error) = h
        .api(Method::POST, "/tables/demo.sandbox%3Av1.nope/tempUploads", Some(json!({"tempUploads": [{"size": 1}]})))
        .await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    for count in [0, 1001] {
        let items: Vec<Value> = (0..count).map(|i| json!({"size": 1, "name": format!("f{i}")})).collect();
        let (status, _, error) =
            h.api(Method::POST, &format!("/tables/{TABLE}/tempUploads"), Some(json!({"tempUploads": items}))).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{count}");
    }
}

#[tokio::test]
async fn a_resumable_upload_in_eight_chunks_with_status_queries() {
    let h = start().await;
    let size = 7 * 2 * Q + 12345; // seven 512 KiB chunks and a short last one
    let bytes = data(size);
    let (id, session) = new_session(&h, size).await;
    assert!(session.starts_with(&format!("{}/__tempUploads/{id}/session/", h.emulator.base_url())));
    let response = h.query(&session, &size.to_string()).await;
    assert_eq!(committed(&response), 0);
    assert!(response.headers().get("range").is_none(), "nothing committed: no Range, never bytes=0-0");

    let mut offset = 0;
    for piece in bytes.chunks(2 * Q as usize) {
        let response = h.chunk(&session, piece, offset, &size.to_string()).await;
        offset += piece.len() as u64;
        if offset < size {
            assert_eq!(committed(&response), offset);
            assert_eq!(committed(&h.query(&session, &size.to_string()).await), offset);
        } else {
            assert_eq!(response.status(), StatusCode::CREATED);
            let done = json_of(response).await;
            assert_eq!(
                done,
                json!({"kind": "tempUpload", "id": id, "size": size.to_string(), "md5Hash": md5_b64(&bytes)})
            );
        }
    }
    let response = h.query(&session, "*").await;
    assert_eq!(response.status(), StatusCode::OK, "complete");
    assert_eq!(json_of(response).await["md5Hash"], md5_b64(&bytes));
    assert_eq!(h.emulator.redivis_bytes_received(), size, "nothing sent twice");
    assert_eq!(h.emulator.call_count("redivis.chunk"), 8);
    assert_eq!(h.emulator.call_count("redivis.status"), 9);

    let (status, body) = h.raw_files(json!([{"name": "big.bin", "tempUploadId": id}])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["results"][0]["md5Hash"], md5_b64(&bytes));
}

#[tokio::test]
async fn star_totals_and_a_zero_byte_upload_end_with_a_status_query() {
    let h = start().await;
    let size = 2 * Q + 10;
    let bytes = data(size);
    let (id, session) = new_session(&h, size).await;
    assert_eq!(committed(&h.chunk(&session, &bytes[..2 * Q as usize], 0, "*").await), 2 * Q);
    assert_eq!(committed(&h.chunk(&session, &bytes[2 * Q as usize..], 2 * Q, "*").await), size);
    let response = h.query(&session, &size.to_string()).await;
    assert_eq!(response.status(), StatusCode::CREATED, "bytes */N with N committed finalizes");
    assert_eq!(json_of(response).await["md5Hash"], md5_b64(&bytes));
    assert_eq!(h.query(&session, &size.to_string()).await.status(), StatusCode::OK);
    let (status, _) = h.raw_files(json!([{"name": "star.bin", "tempUploadId": id}])).await;
    assert_eq!(status, StatusCode::CREATED);

    let (id, session) = new_session(&h, 0).await;
    let response = h.query(&session, "0").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json_of(response).await, json!({"kind": "tempUpload", "id": id, "size": "0", "md5Hash": md5_b64(b"")}));
}

#[tokio::test]
async fn chunks_that_break_the_rules_are_refused_with_400() {
    let h = start().await;
    let size = 4 * Q;
    let bytes = data(size);
    let (_, session) = new_session(&h, size).await;
    let response = h.chunk(&session, &bytes[..1000], 0, &size.to_string()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error = json_of(response).await;
    assert!(error["error_description"].as_str().unwrap().contains("multiple of 262144"), "{error}");
    assert_eq!(
        h.chunk(&session, &bytes[..Q as usize], Q, &size.to_string()).await.status(),
        StatusCode::BAD_REQUEST,
        "not the committed offset"
    );
    assert_eq!(
        h.chunk(&session, &bytes[..Q as usize], 0, "999").await.status(),
        StatusCode::BAD_REQUEST,
        "wrong total"
    );
    assert_eq!(h.query(&session, "999").await.status(), StatusCode::BAD_REQUEST, "wrong total");
    let short_body = h
        .client
        .put(&session)
        .header("Content-Range", format!("bytes 0-{}/{size}", Q - 1))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(vec![0u8; 100])])))
        .send()
        .await
        .unwrap();
    assert_eq!(short_body.status(), StatusCode::BAD_REQUEST, "body shorter than the range");
    assert_eq!(committed(&h.query(&session, &size.to_string()).await), 0, "nothing kept from refused chunks");
    assert_eq!(h.emulator.redivis_bytes_received(), 1000 + 2 * Q + 100, "refused bytes are counted too");
}

#[tokio::test]
async fn no_range_and_short_commit_faults_make_the_client_follow_the_server() {
    let h = start().await;
    let size = 8 * Q;
    let bytes = data(size);
    let (_, session) = new_session(&h, size).await;
    let total = size.to_string();
    h.emulator.set_faults(plan(json!({"rules": [
        {"route": "redivis.chunk", "nth": [2], "no_range": true},
        {"route": "redivis.chunk", "nth": [3], "short_commit": true}
    ]})));
    let at = |from: u64, len: u64| &bytes[from as usize..(from + len) as usize];
    assert_eq!(committed(&h.chunk(&session, at(0, 2 * Q), 0, &total).await), 2 * Q);
    let response = h.chunk(&session, at(2 * Q, 2 * Q), 2 * Q, &total).await;
    assert_eq!(committed(&response), 0);
    assert!(response.headers().get("range").is_none(), "no_range: 308 without Range");
    assert_eq!(committed(&h.query(&session, &total).await), 2 * Q, "the chunk was dropped, the earlier ones kept");
    let response = h.chunk(&session, at(2 * Q, 3 * Q), 2 * Q, &total).await;
    assert_eq!(committed(&response), 3 * Q, "short_commit: half of 3 Q, rounded down to Q");
    assert_eq!(committed(&h.chunk(&session, at(3 * Q, 4 * Q), 3 * Q, &total).await), 7 * Q, "resumed where told");
    let response = h.chunk(&session, at(7 * Q, Q), 7 * Q, &total).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json_of(response).await["md5Hash"], md5_b64(&bytes), "the MD5 covers exactly the committed bytes");
    assert_eq!(
        h.emulator.redivis_bytes_received(),
        size + 2 * Q + 2 * Q,
        "the dropped chunk and half of the short one were sent twice"
    );

    // A short commit of a chunk smaller than 2 Q keeps nothing of it: no Range at all.
    let (_, session) = new_session(&h, Q + 1).await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "redivis.chunk", "nth": [1], "short_commit": true}]})));
    let response = h.chunk(&session, &data(Q + 1), 0, &(Q + 1).to_string()).await;
    assert_eq!(committed(&response), 0);
    assert!(response.headers().get("range").is_none());
}

#[tokio::test]
async fn a_corrupt_chunk_is_committed_flipped_and_the_md5_says_so() {
    let h = start().await;
    let flip = |bytes: &[u8]| {
        let mut flipped = bytes.to_vec();
        flipped[0] ^= 0xFF;
        flipped
    };
    // A session: the first chunk is corrupted, the second (no fault) arrives intact.
    let size = Q + 100;
    let bytes = data(size);
    let total = size.to_string();
    let (session_upload, session) = new_session(&h, size).await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "redivis.chunk", "nth": [1], "corrupt": true}]})));
    assert_eq!(committed(&h.chunk(&session, &bytes[..Q as usize], 0, &total).await), Q, "answered as usual");
    let response = h.chunk(&session, &bytes[Q as usize..], Q, &total).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let done = json_of(response).await;
    assert_eq!(done["md5Hash"], md5_b64(&flip(&bytes)), "the MD5 of the stored object: {done}");
    assert_ne!(done["md5Hash"], md5_b64(&bytes), "so the client's MD5 differs");

    // A non-resumable PUT: the first is stored flipped, the next one (no fault) intact.
    let plain = &h.temp_uploads(json!([{"size": 1000, "name": "plain.bin"}])).await[0];
    let url = plain["url"].as_str().unwrap();
    let whole = data(1000);
    h.emulator.set_faults(plan(json!({"rules": [{"route": "redivis.chunk", "nth": [1], "corrupt": true}]})));
    let done = json_of(h.client.put(url).body(whole.clone()).send().await.unwrap()).await;
    assert_eq!(done["md5Hash"], md5_b64(&flip(&whole)), "{done}");
    let done = json_of(h.client.put(url).body(whole.clone()).send().await.unwrap()).await;
    assert_eq!(done["md5Hash"], md5_b64(&whole), "replaced by intact bytes: {done}");

    let (status, body) = h
        .raw_files(json!([
            {"name": "session.bin", "resumableUploadId": session_upload},
            {"name": "plain.bin", "tempUploadId": plain["id"]}
        ]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (corrupted, intact) = (&body["results"][0], &body["results"][1]);
    assert_eq!(corrupted["md5Hash"], md5_b64(&flip(&bytes)), "rawFiles reports the stored object's MD5");
    assert_eq!(intact["md5Hash"], md5_b64(&whole));
    for (file, expected) in [(corrupted, flip(&bytes)), (intact, whole)] {
        let response = h.client.get(file["url"].as_str().unwrap()).bearer_auth(SECRET).send().await.unwrap();
        assert_eq!(response.bytes().await.unwrap(), expected, "{file}");
    }
}

#[tokio::test]
async fn an_expired_session_is_404_and_a_new_one_starts_at_zero() {
    let h = start().await;
    let size = 2 * Q;
    let bytes = data(size);
    let total = size.to_string();
    let upload = &h.temp_uploads(json!([{"size": size, "name": "x", "resumable": true}])).await[0];
    let url = upload["url"].as_str().unwrap();
    let session = h.initiate(url, size).await;
    h.emulator.set_faults(plan(json!({"rules": [{"route": "redivis.chunk", "nth": [2], "expire_session": true}]})));
    assert_eq!(committed(&h.chunk(&session, &bytes[..Q as usize], 0, &total).await), Q);
    let response = h.chunk(&session, &bytes[Q as usize..], Q, &total).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "expire_session");
    assert_eq!(h.query(&session, &total).await.status(), StatusCode::NOT_FOUND, "gone for good");

    let session = h.initiate(url, size).await;
    assert_eq!(committed(&h.query(&session, &total).await), 0, "a new session starts empty");
    assert_eq!(committed(&h.chunk(&session, &bytes[..Q as usize], 0, &total).await), Q);
    h.emulator.advance_clock(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(h.query(&session, &total).await.status(), StatusCode::NOT_FOUND, "24 h after initiation");
    assert_eq!(h.chunk(&session, &bytes[Q as usize..], Q, &total).await.status(), StatusCode::NOT_FOUND);

    // Replaced and cancelled sessions are gone too.
    let first = h.initiate(url, size).await;
    let second = h.initiate(url, size).await;
    assert_eq!(h.query(&first, &total).await.status(), StatusCode::NOT_FOUND, "replaced by a new initiation");
    let response = h.client.delete(&second).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 499);
    assert_eq!(h.query(&second, &total).await.status(), StatusCode::NOT_FOUND, "cancelled");
}

#[tokio::test]
async fn a_503_or_a_reset_mid_chunk_tells_the_client_where_to_resume() {
    let h = start().await;
    let size = 4 * Q;
    let bytes = data(size);
    let total = size.to_string();
    let (_, session) = new_session(&h, size).await;
    h.emulator.set_faults(plan(json!({"rules": [
        {"route": "redivis.chunk", "nth": [1], "status": 503},
        {"route": "redivis.chunk", "nth": [2], "reset_after_bytes": 600_000}
    ]})));
    let response = h.chunk(&session, &bytes, 0, &total).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json_of(response).await["error"], "service_unavailable");
    assert_eq!(committed(&h.query(&session, &total).await), 0, "a 503 keeps nothing");

    let request =
        h.client.put(&session).header("Content-Range", format!("bytes 0-{}/{size}", size - 1)).body(bytes.clone());
    let err = request.send().await.expect_err("the connection is reset mid-chunk");
    assert!(!err.is_status(), "{err}");
    let resume = committed(&h.query(&session, &total).await);
    assert_eq!(resume, 2 * Q, "600000 bytes arrived: two whole 256 KiB blocks are kept");

    let response = h.chunk(&session, &bytes[resume as usize..], resume, &total).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json_of(response).await["md5Hash"], md5_b64(&bytes));
    // What was sent, thrown away or not: the 503's whole body, the bytes read before the reset
    // (at least 600000: they arrive in frames of up to a few hundred KiB), the rest.
    let received = h.emulator.redivis_bytes_received();
    let expected = size + 600_000 + (size - resume);
    assert!((expected..expected + 512 * 1024).contains(&received), "{received} bytes received, {expected} expected");
    let stats = h
        .client
        .get(h.url("/_emulator/stats"))
        .header(twindrop_emulator::CONTROL_HEADER, h.emulator.control_token())
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(stats).await["redivis_bytes_received"], h.emulator.redivis_bytes_received());
}

#[tokio::test]
async fn a_client_that_dies_mid_chunk_leaves_whole_blocks_committed() {
    let h = start().await;
    let size = 4 * Q;
    let bytes = data(size);
    let (_, session) = new_session(&h, size).await;
    // 600000 bytes of a 1 MiB chunk, then nothing: the client hangs, then dies.
    let sent = bytes[..600_000].to_vec();
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(sent)]).chain(futures_util::stream::pending());
    let request = h
        .client
        .put(&session)
        .header("Content-Range", format!("bytes 0-{}/{size}", size - 1))
        .header("Content-Length", size)
        .body(reqwest::Body::wrap_stream(body));
    let client = tokio::spawn(request.send());
    while h.emulator.redivis_bytes_received() < 600_000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.abort();
    let resume = committed(&h.query(&session, &size.to_string()).await);
    assert_eq!(resume, 2 * Q, "the status query sees what the dying chunk left committed");
    let response = h.chunk(&session, &bytes[resume as usize..], resume, &size.to_string()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json_of(response).await["md5Hash"], md5_b64(&bytes));
}

#[tokio::test]
async fn raw_files_refuses_incomplete_used_conflicting_and_too_many() {
    let h = start().await;
    let uploads = h.temp_uploads(json!([{"size": 3, "name": "a"}, {"size": 3, "name": "b"}, {"size": 4 * Q, "name": "c", "resumable": true}])).await;
    let ids: Vec<&str> = uploads.iter().map(|u| u["id"].as_str().unwrap()).collect();
    let session = h.initiate(uploads[2]["url"].as_str().unwrap(), 4 * Q).await;
    assert_eq!(committed(&h.chunk(&session, &data(Q), 0, &(4 * Q).to_string()).await), Q);
    for url in [&uploads[0]["url"], &uploads[1]["url"]] {
        assert_eq!(h.client.put(url.as_str().unwrap()).body("abc").send().await.unwrap().status(), StatusCode::OK);
    }

    let (status, error) =
        h.raw_files(json!([{"name": "a", "tempUploadId": ids[0]}, {"name": "c", "tempUploadId": ids[2]}])).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let text = error["error_description"].as_str().unwrap();
    assert!(text.contains(ids[2]) && text.contains(&format!("{Q} of {} bytes", 4 * Q)), "{text}");
    let (status, _) = h.raw_files(json!([{"name": "a", "tempUploadId": ids[0]}])).await;
    assert_eq!(status, StatusCode::CREATED, "the failed request attached nothing: all or nothing");

    let (status, error) = h.raw_files(json!([{"name": "again", "tempUploadId": ids[0]}])).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("temp_upload_used")));
    let (status, error) = h.raw_files(json!([{"name": "a", "tempUploadId": ids[1]}])).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("name_conflict")));
    let (status, error) =
        h.raw_files(json!([{"name": "x", "tempUploadId": ids[1]}, {"name": "x", "tempUploadId": ids[1]}])).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("temp_upload_used")),
        "twice in one call"
    );
    let (status, _) = h.raw_files(json!([{"name": "u", "tempUploadId": "no-such-upload"}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"name": format!("f{i}"), "tempUploadId": ids[1]})).collect();
    let (status, _) = h.raw_files(json!(too_many)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = h.raw_files(json!([])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    h.api(Method::POST, "/datasets/d/tables", Some(json!({"name": "rows", "isFileIndex": false}))).await;
    let (status, _, error) = h
        .api(Method::POST, "/tables/d.rows/rawFiles", Some(json!({"files": [{"name": "b", "tempUploadId": ids[1]}]})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not a file index table: {error}");
    let (status, _) = h.raw_files(json!([{"name": "b", "tempUploadId": ids[1]}])).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_api_needs_a_bearer_secret_and_the_data_plane_does_not() {
    let h = start().await;
    let path = h.url(&format!("/api/v1/tables/{TABLE}"));
    for auth in [None, Some("Bearer wrong"), Some(SECRET)] {
        let mut request = h.client.get(&path);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(response.headers().contains_key("x-ratelimit-limit"));
        let error = json_of(response).await;
        assert_eq!((error["status"].as_u64(), error["error"].as_str()), (Some(401), Some("invalid_token")));
    }
    let head = h.client.head(h.url("/api/v1/tables/nope")).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert!(head.headers()["x-redivis-error-payload"].to_str().unwrap().contains("not_found"));

    let upload = &h.temp_uploads(json!([{"size": 2, "name": "n"}])).await[0];
    let response = h.client.put(upload["url"].as_str().unwrap()).body("hi").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "no Authorization needed on the data plane");
}

#[tokio::test]
async fn a_rate_limit_answers_429_with_retry_after() {
    let h = Harness::start_with(Config::new(SECRET).redivis_rate_limit(3)).await;
    let path = format!("/tables/{TABLE}");
    for remaining in ["2", "1", "0"] {
        let (status, headers, _) = h.api(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (headers["x-ratelimit-limit"].to_str().unwrap(), headers["x-ratelimit-remaining"].to_str().unwrap()),
            ("3", remaining)
        );
    }
    let (status, headers, error) = h.api(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error["error"], "rate_limit_exceeded");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=100).contains(&wait), "{wait}");
    h.emulator.advance_clock(Duration::from_secs(wait));
    assert_eq!(h.api(Method::GET, &path, None).await.0, StatusCode::OK, "after Retry-After");
    // An injected 429 on the API looks the same.
    h.emulator.set_faults(plan(
        json!({"rules": [{"route": "redivis.temp_uploads", "nth": [1], "status": 429, "retry_after": 7}]}),
    ));
    h.emulator.advance_clock(Duration::from_secs(200));
    let (status, headers, error) =
        h.api(Method::POST, &format!("/tables/{TABLE}/tempUploads"), Some(json!({"tempUploads": [{"size": 1}]}))).await;
    assert_eq!((status, headers["retry-after"].to_str().unwrap()), (StatusCode::TOO_MANY_REQUESTS, "7"));
    assert_eq!(error["error"], "rate_limit_exceeded");
    assert!(headers.contains_key("x-ratelimit-remaining"));
}

#[tokio::test]
async fn a_session_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::new(SECRET).with_state_dir(dir.path());
    let size = 3 * Q + 7;
    let bytes = data(size);
    let total = size.to_string();
    let h = Harness::start_with(config()).await;
    let (id, session) = new_session(&h, size).await;
    assert_eq!(committed(&h.chunk(&session, &bytes[..2 * Q as usize], 0, &total).await), 2 * Q);
    let old_base = h.emulator.base_url().to_owned();
    h.emulator.shutdown().await;

    let h = Harness::start_with(config()).await;
    let session = session.replace(&old_base, h.emulator.base_url());
    assert_eq!(committed(&h.query(&session, &total).await), 2 * Q);
    let response = h.chunk(&session, &bytes[2 * Q as usize..], 2 * Q, &total).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json_of(response).await["md5Hash"], md5_b64(&bytes), "MD5 completed from the file");
    let (status, body) = h.raw_files(json!([{"name": "kept.bin", "tempUploadId": id}])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// gcp-storage-emulator (`TWINDROP_GCS_EMULATOR`, installed by scripts/bootstrap.sh) as the
/// delegated data plane: the bytes go there, rawFiles reads the object's metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_data_plane_takes_the_bytes_and_raw_files_checks_them() {
    let Some(peer) = gcs::start() else { return };
    let base = format!("http://127.0.0.1:{}", peer.port);
    let h = Harness::start_with(Config::new(SECRET).redivis_data_plane(&base, gcs::BUCKET)).await;
    let size = Q + 100;
    let bytes = data(size);
    let uploads = h.temp_uploads(json!([{"size": size, "name": "ext.bin"}, {"size": 5, "name": "never.bin"}])).await;
    let (id, url) = (uploads[0]["id"].as_str().unwrap(), uploads[0]["url"].as_str().unwrap());
    assert_eq!(uploads[0]["resumable"], true, "resumable whatever was asked");
    assert_eq!(url, format!("{base}/upload/storage/v1/b/{}/o?uploadType=resumable&name=redivis/{id}", gcs::BUCKET));

    let session = h.initiate(url, size).await;
    assert!(session.starts_with(&base), "{session}");
    let total = size.to_string();
    assert_eq!(committed(&h.chunk(&session, &bytes[..Q as usize], 0, &total).await), Q);
    let (status, error) = h.raw_files(json!([{"name": "ext.bin", "tempUploadId": id}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not finalized on the data plane yet: {error}");
    let response = h.chunk(&session, &bytes[Q as usize..], Q, &total).await;
    assert!(response.status().is_success(), "{}", response.status());

    let (status, error) = h.raw_files(json!([{"name": "never.bin", "tempUploadId": uploads[1]["id"]}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error_description"].as_str().unwrap().contains("0 of 5 bytes"), "{error}");
    let (status, body) = h.raw_files(json!([{"name": "ext.bin", "tempUploadId": id}])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["results"][0]["md5Hash"], md5_b64(&bytes), "taken from the object's metadata");
    assert_eq!(body["results"][0]["size"], size);
    assert_eq!(h.emulator.redivis_bytes_received(), 0, "no byte went through the emulator");
    let (status, _) = h.raw_files(json!([{"name": "again.bin", "tempUploadId": id}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

mod gcs {
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub const BUCKET: &str = "redivis-peer";

    pub struct Peer {
        child: Child,
        pub port: u16,
    }

    impl Drop for Peer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub fn start() -> Option<Peer> {
        let Some(bin) = std::env::var_os("TWINDROP_GCS_EMULATOR") else {
            assert!(std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"), "TWINDROP_GCS_EMULATOR is not set");
            eprintln!("skipping: TWINDROP_GCS_EMULATOR is not set (scripts/test sets it)");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let args =
            ["start", "--host", "127.0.0.1", "--port", &port.to_string(), "--default-bucket", BUCKET, "--in-memory"];
        let child = Command::new(bin).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let peer = Peer { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "gcp-storage-emulator did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(peer)
    }
}
