//! Where the emulator holds HBR and OSS to the published APIs more closely than a lenient server
//! would (issue 17): the V3 signature covers the query exactly as it arrived, so a form-encoded
//! `+` is refused; a host `Endpoint` is served virtual-hosted, `{bucket}.{endpoint}`; and the
//! `oss_checksums` fault answers PostObject without some of its checksums, for the clients'
//! fallbacks.

mod common;

use std::net::SocketAddr;

use common::alibaba::*;
use common::{Harness, SECRET};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Digest;
use twindrop_emulator::Config;

/// The host name the emulator's OSS gets in these tests, and the bucket's under it.
const ENDPOINT: &str = "oss-cn-emulator.localhost";
const BUCKET_HOST: &str = "hbr-temp-bucket.oss-cn-emulator.localhost";

#[tokio::test]
async fn the_v3_signature_covers_the_query_as_it_arrived() {
    let h = Harness::start().await;
    let name = "a b+c~d*é%.txt";
    // Encoded as the signers encode it: accepted, and the name is read back whole.
    let answer = create_url(&h, name).await;
    let key = answer["TempFileKey"].as_str().unwrap();
    assert!(key.ends_with(&format!("/{name}")), "{key}");

    // The same query form-encoded (a space as `+`, as reqwest's `query()` and HTML forms write
    // it), the signature over `%20`: what Alibaba refuses.
    let form_encoded: String = url_form(&[("FileName", name)]);
    assert!(form_encoded.contains('+'), "{form_encoded}");
    let mut call = Call::new("CreateTempFileUploadUrl", &[("FileName", name)]);
    call.wire_query = Some(form_encoded.clone());
    let (status, body) = call.send(&h).await;
    assert_eq!((status, &body["Code"]), (StatusCode::BAD_REQUEST, &json!("SignatureDoesNotMatch")), "{body}");

    // Nor does signing the `+` itself help: `+` is not how RFC 3986 writes a space.
    let (status, body) = Call::new("CreateTempFileUploadUrl", &[("FileName", "a b.txt")])
        .signing_wire("FileName=a+b.txt")
        .send(&h)
        .await;
    assert_eq!((status, &body["Code"]), (StatusCode::BAD_REQUEST, &json!("SignatureDoesNotMatch")), "{body}");
    // Lowercase hex neither, though it decodes to the same name.
    let (status, body) =
        Call::new("CreateTempFileUploadUrl", &[("FileName", "é")]).signing_wire("FileName=%c3%a9").send(&h).await;
    assert_eq!((status, &body["Code"]), (StatusCode::BAD_REQUEST, &json!("SignatureDoesNotMatch")), "{body}");
    assert_eq!(h.emulator.call_count("hbr.create_url"), 4);
}

/// A query as HTML forms write it (`application/x-www-form-urlencoded`).
fn url_form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        let encode = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b' ' => "+".to_owned(),
                    b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => (b as char).to_string(),
                    b => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&format!("{}={}", encode(k), encode(v)));
    }
    out
}

/// A client that takes `{bucket}.{ENDPOINT}` to the emulator, as DNS would take the real one to
/// OSS.
fn pinned_client(h: &Harness) -> reqwest::Client {
    let addr: SocketAddr = h.emulator.base_url().trim_start_matches("http://").parse().unwrap();
    reqwest::Client::builder()
        .resolve(BUCKET_HOST, addr)
        .resolve("other-bucket.oss-cn-emulator.localhost", addr)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_host_endpoint_is_served_virtual_hosted() {
    let h = Harness::start_with(Config::new(SECRET).oss_endpoint(ENDPOINT)).await;
    let answer = create_url(&h, "file-list.txt").await;
    assert_eq!(answer["Endpoint"], ENDPOINT, "a bare host, as Alibaba answers");
    assert_eq!(answer["BucketName"], BUCKET);
    let client = pinned_client(&h);
    let target = format!("http://{BUCKET_HOST}/");

    let bytes = data(70_000);
    let response = Form::from_hbr(&answer)
        .field("success_action_status", "201")
        .file("file", &bytes)
        .post_with(&client, &target)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["x-oss-hash-crc64ecma"], crc64_xz(&bytes).to_string());
    let key = answer["TempFileKey"].as_str().unwrap();
    let port = h.emulator.base_url().rsplit(':').next().unwrap().to_owned();
    let location = format!("http://{BUCKET_HOST}:{port}/{key}");
    assert!(response.text().await.unwrap().contains(&format!("<Location>{location}</Location>")));
    assert_eq!(h.emulator.call_count("oss.post"), 1, "counted as OSS's");

    // The download link is virtual-hosted too, on the emulator's port.
    let link = download_link(&h, key).await;
    assert!(link.starts_with(&format!("{location}?OSSAccessKeyId=")), "{link}");
    let response = client.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    // Another bucket under the endpoint is OSS's, and unknown.
    let other = Form::from_hbr(&answer).file("file", b"x");
    let (status, code, _) =
        oss_error(other.post_with(&client, "http://other-bucket.oss-cn-emulator.localhost/").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "NoSuchBucket"));
    // The path-style form target still works beside it.
    let response = Form::from_hbr(&answer).file("file", b"y").post(&h, &h.url(&format!("/__oss/{BUCKET}"))).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_endpoint_that_is_no_host_name_is_refused_at_start() {
    for bad in ["oss.localhost:9000", "oss/x.localhost", ""] {
        let config = Config::new(SECRET).oss_endpoint(bad);
        assert!(twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.is_err(), "{bad}");
    }
    let both = Config::new(SECRET).oss_endpoint(ENDPOINT).hbr_form_target("http://127.0.0.1:9", "b");
    assert!(twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), both).await.is_err());
}

#[tokio::test]
async fn oss_checksum_faults_change_the_answer_not_the_object() {
    let h = Harness::start().await;
    h.emulator.set_faults(plan(json!({"rules": [
        {"route": "oss.post", "nth": [1], "oss_checksums": "etag_not_md5"},
        {"route": "oss.post", "nth": [2], "oss_checksums": "no_crc"},
        {"route": "oss.post", "nth": [3], "oss_checksums": "no_checksum"}
    ]})));
    let md5 = |bytes: &[u8]| format!("\"{}\"", hex::encode_upper(md5::Md5::digest(bytes)));
    for (n, bytes) in [b"first".as_slice(), b"second", b"third", b"fourth"].into_iter().enumerate() {
        let answer = create_url(&h, "f.bin").await;
        let target = answer["Endpoint"].as_str().unwrap().to_owned();
        let response =
            Form::from_hbr(&answer).field("success_action_status", "201").file("file", bytes).post(&h, &target).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let headers = response.headers().clone();
        let (etag, crc) = (headers.get("etag"), headers.get("x-oss-hash-crc64ecma"));
        let xml = response.text().await.unwrap();
        match n {
            0 => {
                let etag = etag.unwrap().to_str().unwrap();
                assert_ne!(etag, md5(bytes));
                assert!(uuid::Uuid::parse_str(etag.trim_matches('"')).is_ok(), "{etag}");
                assert_eq!(crc.unwrap(), &crc64_xz(bytes).to_string());
            }
            1 => assert_eq!((etag.unwrap().to_str().unwrap(), crc), (md5(bytes).as_str(), None)),
            2 => {
                assert_eq!((etag, crc), (None, None));
                assert!(!xml.contains("<ETag>"), "{xml}");
            }
            _ => {
                assert_eq!(etag.unwrap().to_str().unwrap(), md5(bytes), "the fault is over");
                assert_eq!(crc.unwrap(), &crc64_xz(bytes).to_string());
            }
        }
        let link = download_link(&h, answer["TempFileKey"].as_str().unwrap()).await;
        let held = h.client.get(&link).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(held.as_ref(), bytes, "the object is stored intact");
    }
}
