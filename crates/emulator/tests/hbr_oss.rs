//! Alibaba HBR and OSS PostObject over real HTTP: a signed `CreateTempFileUploadUrl`, the form POST
//! it prepares (policy, signature, conditions, size range, the answers and their CRC-64), the
//! download link, every refusal the issue names, faults, a restart, and moto and s3rver as the
//! delegated form target.

mod common;

use std::time::Duration;

use base64::Engine;
use common::alibaba::*;
use common::{peer, Harness, SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;
use twindrop_emulator::Config;
#[tokio::test]
async fn create_url_then_post_the_form_then_read_it_back() {
    let h = Harness::start().await;
    let answer = create_url(&h, "file-list.txt").await;
    let fields: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = [
        "BucketName",
        "Code",
        "Endpoint",
        "ExpireTime",
        "Message",
        "OssAccessKeyId",
        "Policy",
        "RequestId",
        "Signature",
        "Success",
        "TempFileKey",
    ];
    expected.sort();
    assert_eq!(fields, expected, "{answer}");
    assert_eq!(
        (&answer["Success"], &answer["Code"], &answer["Message"]),
        (&json!(true), &json!("200"), &json!("successful"))
    );
    assert_eq!(answer["Endpoint"], h.url(&format!("/__oss/{BUCKET}")), "the emulator convention: a full URL");
    assert_eq!(answer["BucketName"], BUCKET);
    assert_eq!(answer["OssAccessKeyId"], h.emulator.oss_access_key_id());
    let request_id = answer["RequestId"].as_str().unwrap();
    assert_eq!(request_id, request_id.to_uppercase());
    assert!(uuid::Uuid::parse_str(request_id).is_ok());

    let key = answer["TempFileKey"].as_str().unwrap();
    let parts: Vec<&str> = key.split('/').collect();
    assert_eq!((parts.len(), parts[0], parts[2], parts[5]), (6, "temp", "upload", "file-list.txt"), "{key}");
    assert_eq!(parts[1].len(), 16, "an account number: {key}");
    assert_eq!(&utc(now_secs())[..10], parts[3], "{key}");
    assert!(uuid::Uuid::parse_str(parts[4]).is_ok(), "{key}");

    let expire_time = answer["ExpireTime"].as_u64().unwrap();
    assert!((now_secs() + 3590..=now_secs() + 3610).contains(&expire_time), "{expire_time}");
    let policy: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD.decode(answer["Policy"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let expiration = format!("{}.000Z", utc(expire_time).trim_end_matches('Z'));
    assert_eq!(
        policy,
        json!({"expiration": expiration, "conditions": [{"bucket": BUCKET}, ["eq", "$key", key],
               ["content-length-range", 0, 104857600]]})
    );

    let bytes = data(300_000);
    let target = answer["Endpoint"].as_str().unwrap();
    let response =
        Form::from_hbr(&answer).field("success_action_status", "201").file("file", &bytes).post(&h, target).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let md5_upper = hex::encode_upper(md5::Md5::digest(&bytes));
    let headers = response.headers().clone();
    assert_eq!(headers["etag"], format!("\"{md5_upper}\""));
    assert_eq!(headers["x-oss-hash-crc64ecma"], crc64_xz(&bytes).to_string());
    assert_eq!(headers["server"], "AliyunOSS");
    assert!(headers.contains_key("x-oss-request-id"));
    assert_eq!(headers["content-type"], "application/xml");
    let xml = response.text().await.unwrap();
    let location = format!("{target}/{key}");
    assert!(
        xml.contains(&format!(
            "<PostResponse>\n  <Bucket>{BUCKET}</Bucket>\n  <Location>{location}</Location>\n  <Key>{key}</Key>\n  \
             <ETag>&quot;{md5_upper}&quot;</ETag>\n</PostResponse>"
        )),
        "{xml}"
    );
    assert!(h.emulator.oss_bytes_received() > bytes.len() as u64);

    let url = download_link(&h, key).await;
    assert!(url.starts_with(&format!("{location}?OSSAccessKeyId=")), "{url}");
    let response = h.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-oss-hash-crc64ecma"], crc64_xz(&bytes).to_string());
    assert_eq!(response.headers()["etag"], format!("\"{md5_upper}\""));
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    // Without success_action_status: 204; with 200: 200; both empty. The same key is replaced.
    let response = Form::from_hbr(&answer).file("file", b"second").post(&h, target).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["x-oss-hash-crc64ecma"], crc64_xz(b"second").to_string());
    let response =
        Form::from_hbr(&answer).field("success_action_status", "200").file("file", b"").post(&h, target).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-oss-hash-crc64ecma"], "0");
    assert!(response.bytes().await.unwrap().is_empty());
    let response = h.client.get(&url).send().await.unwrap();
    assert!(response.bytes().await.unwrap().is_empty(), "replaced by the last POST");
    assert_eq!(h.emulator.call_count("hbr.create_url"), 1);
    assert_eq!(h.emulator.call_count("hbr.download_link"), 1);
    assert_eq!(h.emulator.call_count("oss.post"), 3);
    assert_eq!(h.emulator.call_count("oss.get"), 2);
}

#[tokio::test]
async fn hbr_verifies_signatures_timestamps_and_parameters() {
    let h = Harness::start_with(Config::new(SECRET).hbr_access_key("LTAIpinned", "pinned-secret")).await;
    let error_keys = |body: &Value| {
        let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };

    let mut call = Call::new("CreateTempFileUploadUrl", &[("FileName", "a b+c.txt")]);
    let (status, body) = call.send(&h).await;
    assert_eq!(status, StatusCode::OK, "spaces and plus signs are encoded as Alibaba does: {body}");
    assert!(body["TempFileKey"].as_str().unwrap().ends_with("/a b+c.txt"), "{body}");

    call.secret = "not-the-secret";
    let (status, body) = call.send(&h).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "pinned ids exist, this one is not one of them: {body}");
    assert_eq!(body["Code"], "InvalidAccessKeyId.NotFound");

    call.access_key_id = "LTAIpinned";
    let (status, body) = call.send(&h).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_keys(&body), ["Code", "HostId", "Message", "RequestId"]);
    assert_eq!(body["Code"], "SignatureDoesNotMatch");
    assert_eq!(body["Message"], "Specified signature is not matched with our calculation.");
    call.secret = "pinned-secret";
    assert_eq!(call.send(&h).await.0, StatusCode::OK, "a pinned id with its own secret");
    call.secret = SECRET;
    assert_eq!(call.send(&h).await.1["Code"], "SignatureDoesNotMatch", "a pinned id must use its own secret");

    let mut stale = Call::new("CreateTempFileUploadUrl", &[("FileName", "f")]);
    stale.date = utc(now_secs() - 16 * 60);
    let (status, body) = stale.send(&h).await;
    assert_eq!((status, body["Code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidTimeStamp.Expired")));
    stale.date = utc(now_secs() - 10 * 60);
    assert_eq!(stale.send(&h).await.0, StatusCode::OK, "10 minutes off is fine");
    // A day no calendar has is not a time at all (the hand-written calendar read it as March 3).
    stale.date = "2030-02-31T00:00:00Z".to_owned();
    let (status, body) = stale.send(&h).await;
    assert_eq!((status, body["Code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidTimeStamp.Format")), "{body}");
    h.emulator.advance_clock(Duration::from_secs(16 * 60));
    let (_, body) = Call::new("CreateTempFileUploadUrl", &[("FileName", "f")]).send(&h).await;
    assert_eq!(body["Code"], "InvalidTimeStamp.Expired", "by the emulator's clock");
}

#[tokio::test]
async fn hbr_refuses_a_missing_file_name_another_action_and_an_unsigned_call() {
    let h = Harness::start().await;
    let (status, body) = Call::new("CreateTempFileUploadUrl", &[]).send(&h).await;
    assert_eq!((status, body["Code"].as_str()), (StatusCode::BAD_REQUEST, Some("MissingFileName")), "{body}");
    let (status, body) = Call::new("CreateTempFileUploadUrl", &[("FileName", "")]).send(&h).await;
    assert_eq!((status, body["Code"].as_str()), (StatusCode::BAD_REQUEST, Some("MissingFileName")));
    let (status, body) = Call::new("DescribeVaults", &[]).send(&h).await;
    assert_eq!((status, body["Code"].as_str()), (StatusCode::BAD_REQUEST, Some("UnsupportedAction")));
    let (status, body) = Call::new("GetTempFileDownloadLink", &[]).send(&h).await;
    assert_eq!((status, body["Code"].as_str()), (StatusCode::BAD_REQUEST, Some("MissingTempFileKey")));

    let response = h
        .client
        .post(h.url("/hbr/?FileName=f"))
        .header("x-acs-action", "CreateTempFileUploadUrl")
        .header("x-acs-version", "2017-09-08")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["Code"], "IncompleteSignature");
    assert_eq!(h.emulator.call_count("hbr.create_url"), 3, "counted by action");
}

#[tokio::test]
async fn hbr_also_takes_the_legacy_v2_query_signature() {
    let h = Harness::start().await;
    let mut params = vec![
        ("AccessKeyId", "LTAI5tAny".to_owned()),
        ("Action", "CreateTempFileUploadUrl".to_owned()),
        ("FileName", "legacy file.txt".to_owned()),
        ("Format", "json".to_owned()),
        ("SignatureMethod", "HMAC-SHA1".to_owned()),
        ("SignatureNonce", uuid::Uuid::new_v4().to_string()),
        ("SignatureVersion", "1.0".to_owned()),
        ("Timestamp", utc(now_secs())),
        ("Version", "2017-09-08".to_owned()),
    ];
    let canonical = params.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
    let string_to_sign = format!("POST&%2F&{}", enc(&canonical));
    params.push(("Signature", hmac_sha1_b64(&format!("{SECRET}&"), &string_to_sign)));
    let query = params.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&");
    let response = h.client.post(h.url(&format!("/hbr/?{query}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["TempFileKey"].as_str().unwrap().ends_with("/legacy file.txt"), "{body}");
    let tampered = query.replace("legacy%20file", "other");
    let response = h.client.post(h.url(&format!("/hbr/?{tampered}"))).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["Code"], "SignatureDoesNotMatch");
}

/// A policy of our own, signed with the configured OSS secret.
fn policy(conditions: Value, expiration: &str) -> (String, String) {
    let policy = b64(json!({"expiration": expiration, "conditions": conditions}).to_string());
    let signature = hmac_sha1_b64(OSS_SECRET, &policy);
    (policy, signature)
}

fn signed_form(key: &str, conditions: Value) -> Form {
    let (policy, signature) = policy(conditions, "2100-01-01T00:00:00.000Z");
    Form::default()
        .field("key", key)
        .field("OSSAccessKeyId", OSS_ID)
        .field("policy", &policy)
        .field("Signature", &signature)
}

#[tokio::test]
async fn post_object_refuses_expired_policies_bad_signatures_and_sizes_out_of_range() {
    let config = Config::new(SECRET).oss_access_key(OSS_ID, OSS_SECRET).oss_max_size(1000);
    let h = Harness::start_with(config).await;
    let answer = create_url(&h, "a.bin").await;
    assert_eq!(answer["OssAccessKeyId"], OSS_ID);
    let target = answer["Endpoint"].as_str().unwrap().to_owned();
    let key = answer["TempFileKey"].as_str().unwrap().to_owned();
    let post = |form: Form| form.post(&h, &target);

    // Size out of the policy's range (oss_max_size 1000): EntityTooLarge; and EntityTooSmall.
    let (status, code, _) = oss_error(post(Form::from_hbr(&answer).file("file", &data(1001))).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "EntityTooLarge"));
    assert_eq!(post(Form::from_hbr(&answer).file("file", &data(1000))).await.status(), StatusCode::NO_CONTENT);
    let form = signed_form("k", json!([["content-length-range", 10, 20]]));
    let (status, code, _) = oss_error(post(form.file("file", b"short")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "EntityTooSmall"));

    // A bad signature, another access key, one of the three missing.
    let bad = Form::default()
        .field("key", &key)
        .field("OSSAccessKeyId", OSS_ID)
        .field("policy", answer["Policy"].as_str().unwrap())
        .field("Signature", &hmac_sha1_b64("wrong", answer["Policy"].as_str().unwrap()));
    let (status, code, _) = oss_error(post(bad.file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"));
    let other = Form::default()
        .field("key", &key)
        .field("OSSAccessKeyId", "LTAIsomeoneelse")
        .field("policy", answer["Policy"].as_str().unwrap())
        .field("Signature", answer["Signature"].as_str().unwrap());
    let (status, code, _) = oss_error(post(other.file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "InvalidAccessKeyId"));
    let two = Form::default()
        .field("key", &key)
        .field("policy", answer["Policy"].as_str().unwrap())
        .field("Signature", answer["Signature"].as_str().unwrap());
    let (status, code, _) = oss_error(post(two.file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "InvalidArgument"));
    let anonymous = Form::default().field("key", &key).file("file", b"x");
    let (status, code, _) = oss_error(post(anonymous).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "AccessDenied"), "the bucket is private");

    // A key the policy does not allow, and a policy whose own form is wrong.
    let wrong_key = Form::from_hbr(&answer);
    let wrong_key = Form { body: String::from_utf8(wrong_key.body).unwrap().replace(&key, "temp/other").into_bytes() };
    let (status, code, message) = oss_error(post(wrong_key.file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    assert!(message.starts_with("Invalid according to Policy: Policy Condition failed: "), "{message}");
    assert!(message.contains("$key"), "{message}");
    let form = signed_form("k", json!([{"bucket": BUCKET, "key": "k"}]));
    let (status, code, message) = oss_error(post(form.file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "InvalidPolicyDocument"));
    assert!(message.contains("Simple-Conditions must have exactly one property specified."), "{message}");
    let form = signed_form("k", json!([["not-in", "$cache-control", "no-cache"]]));
    let (_, code, _) = oss_error(post(form.file("file", b"x")).await).await;
    assert_eq!(code, "InvalidPolicyDocument");
    let form = signed_form("k", json!([["starts-with", "$key", "temp/"], {"bucket": "another"}]));
    let (status, code, _) = oss_error(post(form.file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    let form = signed_form("temp/x", json!([["in", "$content-type", ["image/png"]], {"success_action_status": 201}]))
        .field("Content-Type", "image/png")
        .field("success_action_status", "201");
    assert_eq!(post(form.file("file", b"x")).await.status(), StatusCode::CREATED, "in and exact conditions hold");

    // An expired policy: one the emulator handed out an hour ago, and one of our own.
    h.emulator.advance_clock(Duration::from_secs(3601));
    let (status, code, message) = oss_error(post(Form::from_hbr(&answer).file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    assert_eq!(message, "Invalid according to Policy: Policy expired.");
    let (policy, signature) = policy(json!([]), "2020-01-01T00:00:00Z");
    let old = Form::default()
        .field("key", "k")
        .field("OSSAccessKeyId", OSS_ID)
        .field("policy", &policy)
        .field("Signature", &signature);
    let (_, _, message) = oss_error(post(old.file("file", b"x")).await).await;
    assert_eq!(message, "Invalid according to Policy: Policy expired.");
}

#[tokio::test]
async fn post_object_reads_the_form_as_oss_does() {
    let config = Config::new(SECRET).oss_access_key(OSS_ID, OSS_SECRET);
    let h = Harness::start_with(config).await;
    let target = h.url(&format!("/__oss/{BUCKET}"));
    let post = |form: Form| form.post(&h, &target);

    // Field names are case-insensitive; a field after `file` is ignored; a trailing slash works.
    let form = signed_form("temp/a.txt", json!([["eq", "$key", "temp/a.txt"]]));
    let form = Form {
        body: String::from_utf8(form.body).unwrap().replace("\"OSSAccessKeyId\"", "\"ossaccesskeyid\"").into_bytes(),
    };
    let response = form.file("file", b"hello").field("key", "temp/ignored.txt").post(&h, &format!("{target}/")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let url = download_link(&h, "temp/a.txt").await;
    assert_eq!(h.client.get(&url).send().await.unwrap().bytes().await.unwrap().as_ref(), b"hello");
    let ignored = download_link(&h, "temp/ignored.txt").await;
    let (status, code, _) = oss_error(h.client.get(&ignored).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "NoSuchKey"), "the key after file was ignored");

    let (status, code, _) = oss_error(post(signed_form("temp/b", json!([]))).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "InvalidArgument"), "no file");
    let (status, code, _) = oss_error(post(signed_form("/abs", json!([])).file("file", b"x")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "InvalidObjectName"));
    let long = "k".repeat(1024);
    let (_, code, _) = oss_error(post(signed_form(&long, json!([])).file("file", b"x")).await).await;
    assert_eq!(code, "InvalidObjectName");
    let (_, code, _) = oss_error(post(signed_form("\\x", json!([])).file("file", b"x")).await).await;
    assert_eq!(code, "InvalidObjectName");
    let no_key = Form::default().field("OSSAccessKeyId", OSS_ID).file("file", b"x");
    let (_, code, _) = oss_error(post(no_key).await).await;
    assert_eq!(code, "InvalidArgument");

    let response = h.client.post(&target).header("Content-Type", "application/json").body("{}").send().await.unwrap();
    let (status, code, _) = oss_error(response).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "RequestIsNotMultiPartContent"));
    let response = h
        .client
        .post(&target)
        .header("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body("this is not a multipart body")
        .send()
        .await
        .unwrap();
    let (status, code, _) = oss_error(response).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "MalformedPOSTRequest"));
    let response = signed_form("k", json!([])).file("file", b"x").post(&h, &h.url("/__oss/another-bucket")).await;
    assert_eq!(oss_error(response).await.1, "NoSuchBucket");

    // x-oss-forbid-overwrite, and success_action_redirect (D-O4).
    let form = signed_form("temp/a.txt", json!([])).field("x-oss-forbid-overwrite", "true");
    let (status, code, _) = oss_error(post(form.file("file", b"again")).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "FileAlreadyExists"));
    let form = signed_form("temp/r.txt", json!([])).field("success_action_redirect", "http://127.0.0.1:9/done?x=1");
    let mut body = form.file("file", b"r").body;
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = no_redirects
        .post(&target)
        .header("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let md5_upper = hex::encode_upper(md5::Md5::digest(b"r"));
    assert_eq!(
        response.headers()["location"],
        format!("http://127.0.0.1:9/done?x=1&bucket={BUCKET}&key=temp%2Fr.txt&etag=%22{md5_upper}%22")
    );
}

#[tokio::test]
async fn download_links_are_signed_and_expire() {
    let h = Harness::start().await;
    let answer = create_url(&h, "d.txt").await;
    let key = answer["TempFileKey"].as_str().unwrap();
    let response =
        Form::from_hbr(&answer).file("file", b"payload").post(&h, answer["Endpoint"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let url = download_link(&h, key).await;
    let tampered = url.replace("Signature=", "Signature=x");
    let (status, code, _) = oss_error(h.client.get(&tampered).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"));
    let unsigned = url.split('?').next().unwrap();
    let (status, code, _) = oss_error(h.client.get(unsigned).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    let missing = download_link(&h, "temp/none").await;
    let (status, code, _) = oss_error(h.client.get(&missing).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "NoSuchKey"));
    h.emulator.advance_clock(Duration::from_secs(3601));
    let (status, code, message) = oss_error(h.client.get(&url).send().await.unwrap()).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired.")
    );
}

#[tokio::test]
async fn faults_on_hbr_and_oss_routes() {
    let h = Harness::start().await;
    h.emulator.set_faults(plan(json!({"rules": [
        {"route": "hbr.create_url", "nth": [1], "status": 503},
        {"route": "hbr.create_url", "nth": [2], "expire_now": true},
        {"route": "oss.post", "nth": [1], "status": 503},
        {"route": "hbr.download_link", "nth": [1], "status": 429, "retry_after": 2},
        {"route": "oss.get", "nth": [1], "status": 500},
    ]})));
    let (status, body) = Call::new("CreateTempFileUploadUrl", &[("FileName", "f")]).send(&h).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["Code"], "ServiceUnavailable");
    assert!(body["RequestId"].is_string() && body["HostId"].is_string(), "{body}");

    let expired = create_url(&h, "f").await;
    assert!(expired["ExpireTime"].as_u64().unwrap() < now_secs() + 1, "{expired}");
    let target = expired["Endpoint"].as_str().unwrap();
    let (status, code, _) = oss_error(Form::from_hbr(&expired).file("file", b"12345").post(&h, target).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"), "oss.post nth 1");
    let (status, code, message) =
        oss_error(Form::from_hbr(&expired).file("file", b"12345").post(&h, target).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    assert_eq!(message, "Invalid according to Policy: Policy expired.");
    assert!(h.emulator.oss_bytes_received() > 10, "both forms were read");

    let answer = create_url(&h, "g").await;
    let key = answer["TempFileKey"].as_str().unwrap();
    assert_eq!(Form::from_hbr(&answer).file("file", b"g").post(&h, target).await.status(), StatusCode::NO_CONTENT);
    let (status, body) = Call::new("GetTempFileDownloadLink", &[("TempFileKey", key)]).send(&h).await;
    assert_eq!((status, body["Code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("Throttling.User")));
    let url = download_link(&h, key).await;
    let (status, code, _) = oss_error(h.client.get(&url).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"));
    assert_eq!(h.client.get(&url).send().await.unwrap().bytes().await.unwrap().as_ref(), b"g");
}

#[tokio::test]
async fn a_corrupt_post_stores_a_flipped_object_that_its_etag_and_crc_describe() {
    let h = Harness::start().await;
    let answer = create_url(&h, "damaged.bin").await;
    let (key, target) = (answer["TempFileKey"].as_str().unwrap(), answer["Endpoint"].as_str().unwrap());
    let bytes = data(100_000);
    let mut flipped = bytes.clone();
    flipped[0] ^= 0xFF;
    let etag = |bytes: &[u8]| format!("\"{}\"", hex::encode_upper(md5::Md5::digest(bytes)));
    h.emulator.set_faults(plan(json!({"rules": [{"route": "oss.post", "nth": [1], "corrupt": true}]})));

    let response =
        Form::from_hbr(&answer).field("success_action_status", "201").file("file", &bytes).post(&h, target).await;
    assert_eq!(response.status(), StatusCode::CREATED, "answered as usual");
    assert_eq!(response.headers()["etag"], etag(&flipped), "the ETag of the stored bytes");
    assert_ne!(response.headers()["etag"], etag(&bytes), "so the client's MD5 differs");
    assert_eq!(response.headers()["x-oss-hash-crc64ecma"], crc64_xz(&flipped).to_string());
    let xml = response.text().await.unwrap();
    assert!(xml.contains(&format!("<ETag>{}</ETag>", etag(&flipped).replace('"', "&quot;"))), "{xml}");
    let url = download_link(&h, key).await;
    let response = h.client.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["etag"], etag(&flipped));
    assert_eq!(response.bytes().await.unwrap().to_vec(), flipped, "the object is stored corrupted");

    // The next POST, without the fault, stores the bytes intact.
    let response = Form::from_hbr(&answer).file("file", &bytes).post(&h, target).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["etag"], etag(&bytes));
    assert_eq!(response.headers()["x-oss-hash-crc64ecma"], crc64_xz(&bytes).to_string());
    assert_eq!(h.client.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn objects_and_the_oss_key_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::new(SECRET).with_state_dir(dir.path());
    let h = Harness::start_with(config()).await;
    let answer = create_url(&h, "kept.txt").await;
    let id = h.emulator.oss_access_key_id().to_owned();
    let target = answer["Endpoint"].as_str().unwrap().to_owned();
    h.emulator.shutdown().await;

    let h = Harness::start_with(config()).await;
    assert_eq!(h.emulator.oss_access_key_id(), id);
    let target = target.replace(&target[..target.find("/__oss").unwrap()], h.emulator.base_url());
    let response = Form::from_hbr(&answer).file("file", b"kept").post(&h, &target).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "a policy from before the restart still verifies");
    let url = download_link(&h, answer["TempFileKey"].as_str().unwrap()).await;
    h.emulator.shutdown().await;
    let h = Harness::start_with(config()).await;
    let url = url.replace(&url[..url.find("/__oss").unwrap()], h.emulator.base_url());
    assert_eq!(h.client.get(&url).send().await.unwrap().bytes().await.unwrap().as_ref(), b"kept");
    h.emulator.shutdown().await;
}

/// The HBR side of a delegated form target: the answer points at `{base}/{bucket}`, the form
/// goes there, and the download link (a SigV2 presigned GET URL) reads the object back.
async fn delegated_round_trip(base: &str, bucket: &str) {
    let h = Harness::start_with(Config::new(SECRET).hbr_form_target(base, bucket)).await;
    let answer = create_url(&h, "report.txt").await;
    assert_eq!(answer["Endpoint"], format!("{base}/{bucket}"));
    assert_eq!(answer["BucketName"], bucket);
    let key = answer["TempFileKey"].as_str().unwrap();
    assert!(key.starts_with("temp/") && key.ends_with("/report.txt"), "{key}");

    let bytes = data(70_000);
    let response = Form::from_hbr(&answer).file("file", &bytes).post(&h, answer["Endpoint"].as_str().unwrap()).await;
    assert!(response.status().is_success(), "the peer stored it: {}", response.status());
    let url = download_link(&h, key).await;
    assert!(url.starts_with(&format!("{base}/{bucket}/{key}?AWSAccessKeyId=S3RVER&Expires=")), "{url}");
    let response = h.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(h.emulator.oss_bytes_received(), 0, "no byte went through the emulator");
}

/// moto (`TWINDROP_MOTO`) as the delegated form target. It checks neither policy nor signature,
/// and refuses an anonymous GET (hence a signed download link).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_takes_the_form_and_serves_the_download_link() {
    const PEER_BUCKET: &str = "hbr-peer";
    let Some(moto) = peer::moto() else { return };
    let created = reqwest::Client::new().put(format!("{}/{PEER_BUCKET}", moto.base)).send().await.unwrap();
    assert!(created.status().is_success(), "moto created the bucket: {}", created.status());
    delegated_round_trip(&moto.base, PEER_BUCKET).await;
}

/// s3rver (`TWINDROP_S3RVER`) as the delegated form target; it checks the download link's SigV2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3rver_takes_the_form_and_checks_the_download_link() {
    const PEER_BUCKET: &str = "hbr-peer";
    let Some(s3rver) = peer::s3rver(PEER_BUCKET) else { return };
    delegated_round_trip(&s3rver.base, PEER_BUCKET).await;
    let forged = format!("{}/{PEER_BUCKET}/x?AWSAccessKeyId=S3RVER&Expires=9999999999&Signature=AAAA", s3rver.base);
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), StatusCode::FORBIDDEN);
}
