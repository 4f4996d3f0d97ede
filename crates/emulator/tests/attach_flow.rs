//! The happy path and the per-Doc outcomes of attach_twin_doc, over real HTTP.

mod common;

use common::{quote, sha256_hex, Harness, SECRET};
use reqwest::StatusCode;
use serde_json::json;
use twindrop_emulator::{Config, EmptyUploads};

#[tokio::test]
async fn full_flow_cache_put_twin_attach_copying_then_ok() {
    let h = Harness::start().await;

    let (status, me) = h.get("/whoami").await;
    assert_eq!(status, StatusCode::OK);
    let account = me["account"].as_str().unwrap().to_owned();
    for key in ["user", "account", "role"] {
        uuid_v4(me[key].as_str().unwrap());
    }

    let cache = h.upload_url().await;
    let handler = cache["handler"].as_str().unwrap();
    uuid_v4(handler);
    let url = cache["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/upload/", h.emulator.base_url())), "{url}");
    assert!(!url.contains(common::SECRET));
    assert!(!url.contains(handler), "the URL token is not the handler");
    let validity = cache["validity_ts"].as_f64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((validity - (now + 3600.0)).abs() < 5.0, "{validity} vs {now}");
    assert_eq!((validity * 1000.0).round() / 1000.0, validity, "3 decimals");

    let bytes = b"hello twindrop".to_vec();
    let put = h.client.put(url).body(bytes.clone()).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let etag = put.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34, "{etag}");

    let (status, twin_body) = h.post("/twins", Some(json!({"description": {"k": 1}}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(twin_body["status"], "alive");
    assert_eq!(twin_body["owner"], account.as_str());
    assert_eq!(twin_body["creation_certificate"]["creator"], account.as_str());
    assert_eq!(twin_body["description"], json!({"k": 1}));
    let twin = twin_body["creation_certificate"]["uuid"].as_str().unwrap().to_owned();
    let (status, fetched) = h.get(&format!("/twins/{twin}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, twin_body);

    let hash = sha256_hex(&bytes);
    let (status, attached) = h
        .attach(
            &twin,
            json!({"docs": {"dir/a.txt": {
                "handler": handler,
                "storage_class": "cost_optimized",
                "hash": hash,
                "description": {"note": "x"},
            }}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let doc = &attached["docs"]["dir/a.txt"];
    assert_eq!(doc["status"], "copying");
    assert_eq!(doc["storage_class"], "cost_optimized");
    assert_eq!(doc["description"], json!({"note": "x"}));
    assert_eq!(doc["creation_certificate"]["size"], bytes.len());
    assert_eq!(doc["creation_certificate"]["hash"], hash.as_str());
    assert_eq!(doc["creation_certificate"]["creator"], account.as_str());
    assert!(doc.get("download").is_none());

    let (status, early) = h.get_doc(&twin, "dir/a.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(early["status"], "copying");

    let done = h.settled(&twin, "dir/a.txt").await;
    assert_eq!(done["status"], "ok");
    assert_eq!(done["creation_certificate"], doc["creation_certificate"]);
    assert!(done["updated_ts"].as_f64() >= doc["updated_ts"].as_f64());
}

#[tokio::test]
async fn hash_mismatch_shows_up_only_after_attach() {
    let h = Harness::start().await;
    let handler = h.upload(b"real bytes").await;
    let twin = h.create_twin().await;
    let wrong = sha256_hex(b"other bytes");
    let (status, body) = h.attach(&twin, json!({"docs": {"bad.bin": {"handler": handler, "hash": wrong}}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["docs"]["bad.bin"]["status"], "copying");
    assert_eq!(h.settled(&twin, "bad.bin").await["status"], "hash_mismatch");
}

#[tokio::test]
async fn upper_case_hex_hash_matches() {
    let h = Harness::start().await;
    let handler = h.upload(b"case").await;
    let twin = h.create_twin().await;
    let upper = sha256_hex(b"case").to_uppercase();
    let (status, body) = h.attach(&twin, json!({"docs": {"c": {"handler": handler, "hash": upper}}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["docs"]["c"]["creation_certificate"]["hash"], upper.as_str());
    assert_eq!(h.settled(&twin, "c").await["status"], "ok");
}

#[tokio::test]
async fn duplicate_name_is_a_per_doc_error_in_a_201() {
    let h = Harness::start().await;
    let handler = h.upload(b"one upload, several docs").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "Certs/a.txt", &handler).await;

    let (status, body) = h
        .attach(
            &twin,
            json!({"docs": {
                "Certs/a.txt": {"handler": handler},
                "Certs/A.txt": {"handler": handler},
            }}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["docs"]["Certs/a.txt"], json!({"error": "Doc already exists."}));
    assert_eq!(body["docs"]["Certs/A.txt"]["status"], "copying", "names are case-sensitive");
    assert_eq!(h.settled(&twin, "Certs/A.txt").await["status"], "ok");
}

#[tokio::test]
async fn handler_without_put_gets_no_doc_uploaded() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let handler = cache["handler"].as_str().unwrap();
    let twin = h.create_twin().await;
    let (status, body) =
        h.attach(&twin, json!({"docs": {"x.txt": {"handler": handler}, "y.txt": {"handler": "nope"}}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["docs"]["x.txt"],
        json!({"error": format!("No Doc uploaded through the upload URL - check handler [{handler}].")})
    );
    assert_eq!(body["docs"]["y.txt"]["error"], "No Doc uploaded through the upload URL - check handler [nope].");
    let (status, _) = h.get_doc(&twin, "x.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a failed Doc is not created");
}

#[tokio::test]
async fn expired_handler_gets_no_doc_uploaded() {
    let h = Harness::start().await;
    let handler = h.upload(b"too late").await;
    let twin = h.create_twin().await;
    h.emulator.advance_clock(std::time::Duration::from_secs(3601));
    let (status, body) = h.attach(&twin, json!({"docs": {"late": {"handler": handler}}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["docs"]["late"]["error"],
        format!("No Doc uploaded through the upload URL - check handler [{handler}].")
    );
}

#[tokio::test]
async fn zero_byte_upload_is_a_valid_empty_doc() {
    let h = Harness::start().await;
    let handler = h.upload(b"").await;
    let twin = h.create_twin().await;
    let doc = h.attach_one(&twin, "empty.txt", &handler).await;
    assert_eq!(doc["creation_certificate"]["size"], 0);
    assert_eq!(h.settled(&twin, "empty.txt").await["status"], "ok");
}

/// The other reading of seed 004 (`EmptyUploads::NoDoc`): a PUT without a file, which on the
/// wire is a PUT of 0 bytes, leaves the handler with no Doc to attach. A handler with bytes is
/// unaffected.
#[tokio::test]
async fn zero_byte_upload_is_no_doc_when_asked_to_read_the_seed_so() {
    let mut config = Config::new(SECRET).with_empty_uploads(EmptyUploads::NoDoc);
    config.copy_delay = std::time::Duration::from_millis(50);
    let h = Harness::start_with(config).await;
    let empty = h.upload(b"").await;
    let full = h.upload(b"x").await;
    let twin = h.create_twin().await;
    let (status, body) =
        h.attach(&twin, json!({"docs": {"empty.txt": {"handler": empty}, "full.txt": {"handler": full}}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["docs"]["empty.txt"]["error"],
        format!("No Doc uploaded through the upload URL - check handler [{empty}].")
    );
    assert_eq!(h.settled(&twin, "full.txt").await["status"], "ok");
    let (status, _) = h.get_doc(&twin, "empty.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shape_b_is_answered_as_a_list() {
    let h = Harness::start().await;
    let handler = h.upload(b"b").await;
    let twin = h.create_twin().await;
    let (status, body) = h
        .attach(
            &twin,
            json!({"docs": [
                {"doc_name": "one.txt", "handler": handler, "storage_class": "access_optimized"},
                {"doc_name": "one.txt", "handler": handler},
                {"doc_name": "two", "handler": "missing"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let docs = body["docs"].as_array().expect("a list for a list");
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0]["doc_name"], "one.txt");
    assert_eq!(docs[0]["status"], "copying");
    assert_eq!(docs[1]["doc_name"], "one.txt");
    assert_eq!(docs[1]["error"], "Doc already exists.");
    assert_eq!(docs[2]["doc_name"], "two");
    assert!(docs[2]["error"].as_str().unwrap().starts_with("No Doc uploaded"));
}

#[tokio::test]
async fn slash_in_doc_name_works_encoded_and_literal() {
    let h = Harness::start().await;
    let handler = h.upload(b"nested").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "a/b/c.txt", &handler).await;

    let encoded = format!("/twins/{twin}/docs/{}", quote("a/b/c.txt"));
    assert!(encoded.ends_with("a%2Fb%2Fc.txt"));
    let literal = format!("/twins/{twin}/docs/a/b/c.txt");
    let (s1, by_encoded) = h.get(&encoded).await;
    let (s2, by_literal) = h.get(&literal).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(by_encoded, by_literal);
}

#[tokio::test]
async fn one_upload_feeds_several_twins() {
    let h = Harness::start().await;
    let handler = h.upload(b"shared").await;
    let first = h.create_twin().await;
    let second = h.create_twin().await;
    h.attach_one(&first, "same.txt", &handler).await;
    h.attach_one(&second, "same.txt", &handler).await;
    assert_eq!(h.settled(&first, "same.txt").await["status"], "ok");
    assert_eq!(h.settled(&second, "same.txt").await["status"], "ok");
}

#[tokio::test]
async fn download_serves_the_attached_bytes_even_after_a_new_put() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let url = cache["url"].as_str().unwrap();
    let handler = cache["handler"].as_str().unwrap();
    let put = |body: &'static [u8]| h.client.put(url).body(body).send();
    assert_eq!(put(b"version one").await.unwrap().status(), StatusCode::OK);
    let twin = h.create_twin().await;
    h.attach_one(&twin, "v1.txt", handler).await;
    assert_eq!(put(b"version two!").await.unwrap().status(), StatusCode::OK);
    let doc = h.attach_one(&twin, "v2.txt", handler).await;
    assert_eq!(doc["creation_certificate"]["size"], 12, "a later PUT replaces the bytes");
    h.settled(&twin, "v1.txt").await;

    let (status, copying) = h.get(&format!("/twins/{twin}/docs/v2.txt?download=True")).await;
    assert_eq!(status, StatusCode::OK);
    if copying["status"] == "copying" {
        assert!(copying.get("download").is_none(), "nothing to download yet");
    }

    let (status, doc) = h.get(&format!("/twins/{twin}/docs/v1.txt?download=True")).await;
    assert_eq!(status, StatusCode::OK);
    let link = doc["download"]["url"].as_str().expect("a download link");
    assert!(doc["download"]["validity_ts"].as_f64().is_some());
    let bytes = h.client.get(link).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], b"version one");

    let (status, plain) = h.get(&format!("/twins/{twin}/docs/v1.txt?download=False")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(plain.get("download").is_none());
}

#[tokio::test]
async fn listing_with_mask_and_view_list() {
    let h = Harness::start().await;
    let handler = h.upload(b"12345").await;
    let twin = h.create_twin().await;
    for name in ["Certs/a.txt", "Certs/b.txt", "other.txt"] {
        h.attach_one(&twin, name, &handler).await;
    }

    let (status, all) = h.get(&format!("/twins/{twin}/docs")).await;
    assert_eq!(status, StatusCode::OK);
    let docs = all["docs"].as_object().unwrap();
    assert_eq!(docs.len(), 3);
    let entry = docs["other.txt"].as_array().unwrap();
    assert_eq!(entry.len(), 3, "[created_ts, updated_ts, size]");
    assert!(entry[0].as_f64().unwrap() <= entry[1].as_f64().unwrap());
    assert_eq!(entry[2], 5);

    let (status, masked) = h.get(&format!("/twins/{twin}/docs?view=list&mask=%5ECerts%2F.%2A")).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&String> = masked["docs"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["Certs/a.txt", "Certs/b.txt"]);

    let (status, searched) = h.get(&format!("/twins/{twin}/docs/?mask=b%5C.txt")).await;
    assert_eq!(status, StatusCode::OK, "trailing slash, search semantics");
    assert_eq!(searched["docs"].as_object().unwrap().len(), 1);

    let (status, err) = h.get(&format!("/twins/{twin}/docs?mask=%28")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["subcode"], 400589);
}

fn uuid_v4(text: &str) {
    let parts: Vec<&str> = text.split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{text} is not a UUID");
    assert!(parts[2].starts_with('4'), "{text} is not a UUID4");
}

/// terminate_twin marks the Twin (status, termination certificate), keeps its Docs, still
/// takes attaches (spec §3.11), and refuses a second termination with 400358.
#[tokio::test]
async fn a_terminated_twin_keeps_its_docs_and_says_so() {
    let h = Harness::start().await;
    let twin = h.create_twin().await;
    let before = h.upload(b"kept").await;
    h.attach_one(&twin, "kept.txt", &before).await;
    let (status, body) = h.call(reqwest::Method::DELETE, &format!("/twins/{twin}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "terminated");
    assert!(body["termination_certificate"]["terminated_ts"].as_f64().is_some(), "{body}");
    let (_, shown) = h.get(&format!("/twins/{twin}")).await;
    assert_eq!(shown["status"], "terminated");
    assert_eq!(h.settled(&twin, "kept.txt").await["status"], "ok");
    let after = h.upload(b"later").await;
    h.attach_one(&twin, "later.txt", &after).await;
    let (status, again) = h.call(reqwest::Method::DELETE, &format!("/twins/{twin}"), None).await;
    assert_eq!((status, again["subcode"].as_u64()), (StatusCode::BAD_REQUEST, Some(400358)), "{again}");
}
