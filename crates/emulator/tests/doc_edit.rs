//! After attach: PATCH a description, DELETE one Doc or all, withdraw an upload URL; and users
//! who may do only some of it.

mod common;

use std::time::Duration;

use common::{Harness, SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use twindrop_emulator::{Config, UserSpec};

async fn patch(h: &Harness, twin: &str, name: &str, body: Option<Value>) -> (StatusCode, Value) {
    h.call(Method::PATCH, &format!("/twins/{twin}/docs/{}", common::quote(name)), body).await
}

#[tokio::test]
async fn patch_replaces_clears_or_leaves_the_description() {
    let h = Harness::start().await;
    let handler = h.upload(b"described").await;
    let twin = h.create_twin().await;
    h.attach(&twin, json!({"docs": {"dir/d.txt": {"handler": handler, "description": {"a": 1, "b": 2}}}})).await;
    let before = h.settled(&twin, "dir/d.txt").await;

    let (status, doc) = patch(&h, &twin, "dir/d.txt", Some(json!({"description": {"c": [3]}}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["description"], json!({"c": [3]}), "replaced whole, not merged");
    assert_eq!(doc["status"], "ok");
    assert!(doc["updated_ts"].as_f64() >= before["updated_ts"].as_f64());
    assert_eq!(doc["creation_certificate"], before["creation_certificate"]);

    let (_, doc) = patch(&h, &twin, "dir/d.txt", Some(json!({}))).await;
    assert_eq!(doc["description"], json!({"c": [3]}), "absent: unchanged");
    let (_, doc) = patch(&h, &twin, "dir/d.txt", None).await;
    assert_eq!(doc["description"], json!({"c": [3]}), "no body: unchanged");

    let (_, doc) = patch(&h, &twin, "dir/d.txt", Some(json!({"description": {}}))).await;
    assert_eq!(doc["description"], json!({}));
    let (_, doc) = patch(&h, &twin, "dir/d.txt", Some(json!({"description": null}))).await;
    assert!(doc.get("description").is_none(), "{doc}");
    let (_, fetched) = h.get_doc(&twin, "dir/d.txt").await;
    assert!(fetched.get("description").is_none());

    let (status, err) = patch(&h, &twin, "dir/d.txt", Some(json!({"description": {"Bad": 1}}))).await;
    assert_eq!((status, err["subcode"].clone()), (StatusCode::BAD_REQUEST, json!(400589)));
    let (status, err) = patch(&h, &twin, "dir/d.txt", Some(json!({"storage_class": "cost_optimized"}))).await;
    assert_eq!((status, err["subcode"].clone()), (StatusCode::BAD_REQUEST, json!(400589)));
    let (status, err) = patch(&h, &twin, "dir/none.txt", Some(json!({"description": {}}))).await;
    assert_eq!((status, err["subcode"].clone()), (StatusCode::NOT_FOUND, json!(404653)));
}

#[tokio::test]
async fn delete_one_doc_then_the_name_is_free_again() {
    let h = Harness::start().await;
    let handler = h.upload(b"short-lived").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "a/gone.txt", &handler).await;
    let settled = h.settled(&twin, "a/gone.txt").await;

    let (status, deleted) = h.call(Method::DELETE, &format!("/twins/{twin}/docs/a%2Fgone.txt"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, settled, "answers with the deleted Doc");
    let (status, _) = h.get_doc(&twin, "a/gone.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = h.call(Method::DELETE, &format!("/twins/{twin}/docs/a/gone.txt"), None).await;
    assert_eq!((status, err["subcode"].clone()), (StatusCode::NOT_FOUND, json!(404653)));

    h.attach_one(&twin, "a/gone.txt", &handler).await;
    assert_eq!(h.settled(&twin, "a/gone.txt").await["status"], "ok");
}

#[tokio::test]
async fn deleting_during_the_copy_leaves_nothing_behind() {
    let mut config = Config::new(SECRET);
    config.copy_delay = Duration::from_millis(300);
    let h = Harness::start_with(config).await;
    let handler = h.upload(b"racing").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "race.txt", &handler).await;
    let (status, deleted) = h.call(Method::DELETE, &format!("/twins/{twin}/docs/race.txt"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["status"], "copying");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _) = h.get_doc(&twin, "race.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the copy finishing later does not bring it back");
}

#[tokio::test]
async fn delete_all_docs_answers_the_listing_of_what_went() {
    let h = Harness::start().await;
    let handler = h.upload(b"many").await;
    let twin = h.create_twin().await;
    for name in ["one.txt", "dir/two.txt"] {
        h.attach_one(&twin, name, &handler).await;
    }
    let (_, listing) = h.get(&format!("/twins/{twin}/docs")).await;
    let (status, deleted) = h.call(Method::DELETE, &format!("/twins/{twin}/docs"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, listing);
    let (_, after) = h.get(&format!("/twins/{twin}/docs")).await;
    assert_eq!(after, json!({"docs": {}}));
    let (status, deleted) = h.call(Method::DELETE, &format!("/twins/{twin}/docs/"), None).await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({"docs": {}})), "nothing left is fine");
    let missing = "3f359a50-65e2-4252-ba96-6fda5fe7e14c";
    let (status, _) = h.call(Method::DELETE, &format!("/twins/{missing}/docs"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invalidated_upload_url_takes_no_puts_and_feeds_no_attach() {
    let h = Harness::start().await;
    let cache = h.upload_url().await;
    let (url, handler) = (cache["url"].as_str().unwrap(), cache["handler"].as_str().unwrap());
    let put = h.client.put(url).body("bytes").send().await.unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let twin = h.create_twin().await;
    h.attach_one(&twin, "before.txt", handler).await;

    let (status, body) = h.call(Method::DELETE, &format!("/cache/{handler}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"handler": handler}));

    let put = h.client.put(url).body("again").send().await.unwrap();
    assert_eq!(put.status(), StatusCode::NOT_FOUND, "the URL is gone");
    let (_, attached) = h.attach(&twin, json!({"docs": {"after.txt": {"handler": handler}}})).await;
    assert_eq!(
        attached["docs"]["after.txt"]["error"],
        format!("No Doc uploaded through the upload URL - check handler [{handler}].")
    );
    assert_eq!(h.settled(&twin, "before.txt").await["status"], "ok", "an attached Doc keeps its bytes");
    let (status, err) = h.call(Method::DELETE, &format!("/cache/{handler}"), None).await;
    assert_eq!((status, err["subcode"].clone()), (StatusCode::NOT_FOUND, json!(404653)));
}

#[tokio::test]
async fn a_user_without_the_permission_gets_403535() {
    let config = Config::new(SECRET)
        .with_user(UserSpec::allowed("reader-secret", &["who_am_i", "get_twin", "get_twin_doc", "get_twin_docs"]));
    let h = Harness::start_with(config).await;
    let twin = h.create_twin().await;
    let as_reader = |method: Method, path: String| {
        h.client.request(method, h.url(&path)).header("Authorization", "reader-secret").header("Content-Length", "0")
    };
    let response = as_reader(Method::GET, format!("/twins/{twin}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, admin) = h.get("/whoami").await;
    let reader: Value = as_reader(Method::GET, "/whoami".into()).send().await.unwrap().json().await.unwrap();
    assert_eq!(reader["account"], admin["account"]);
    assert_ne!(reader["role"], admin["role"], "a role of its own");

    for (method, path) in [
        (Method::POST, "/cache".to_owned()),
        (Method::POST, "/twins".to_owned()),
        (Method::DELETE, format!("/twins/{twin}/docs")),
    ] {
        let response = as_reader(method.clone(), path.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["subcode"], 403535, "{body}");
    }
}
