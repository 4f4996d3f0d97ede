//! With a state directory, everything survives a restart.

mod common;

use std::time::Duration;

use common::{Harness, SECRET};
use reqwest::StatusCode;
use serde_json::json;
use twindrop_emulator::Config;

fn config(dir: &std::path::Path, copy_delay: Duration) -> Config {
    let mut config = Config::new(SECRET);
    config.state_dir = Some(dir.to_owned());
    config.copy_delay = copy_delay;
    config
}

#[tokio::test]
async fn twins_docs_handlers_and_bytes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start_with(config(dir.path(), Duration::from_millis(100))).await;
    let (_, me) = h.get("/whoami").await;
    let handler = h.upload(b"persistent bytes").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "keep/me.txt", &handler).await;
    let before = h.settled(&twin, "keep/me.txt").await;
    assert_eq!(before["status"], "ok");
    h.emulator.shutdown().await;

    let h = Harness::start_with(config(dir.path(), Duration::from_millis(100))).await;
    let (status, me_again) = h.get("/whoami").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_again, me, "same account, user and role");
    let (status, _) = h.get(&format!("/twins/{twin}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, after) = h.get_doc(&twin, "keep/me.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after, before);

    // The handler and its uploaded bytes are still there: a second Doc from the same upload.
    let doc = h.attach_one(&twin, "keep/again.txt", &handler).await;
    assert_eq!(doc["creation_certificate"]["size"], 16);
    assert_eq!(h.settled(&twin, "keep/again.txt").await["status"], "ok");

    let (_, listing) = h.get(&format!("/twins/{twin}/docs")).await;
    assert_eq!(listing["docs"].as_object().unwrap().len(), 2);

    let (_, linked) = h.get(&format!("/twins/{twin}/docs/keep%2Fme.txt?download=True")).await;
    let link = linked["download"]["url"].as_str().unwrap();
    let bytes = h.client.get(link).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], b"persistent bytes");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_copy_pending_at_shutdown_finishes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start_with(config(dir.path(), Duration::from_secs(3600))).await;
    let handler = h.upload(b"slow copy").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "slow.txt", &handler).await;
    h.emulator.shutdown().await;

    let h = Harness::start_with(config(dir.path(), Duration::from_millis(50))).await;
    assert_eq!(h.settled(&twin, "slow.txt").await["status"], "ok");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn in_memory_mode_forgets_everything() {
    let h = Harness::start().await;
    let twin = h.create_twin().await;
    h.emulator.shutdown().await;
    let h = Harness::start().await;
    let (status, body) = h.get(&format!("/twins/{twin}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["subcode"], json!(404653));
}

#[tokio::test]
async fn attach_counts_and_deletes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start_with(config(dir.path(), Duration::from_millis(50))).await;
    let handler = h.upload(b"counted").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "n.txt", &handler).await;
    h.attach_one(&twin, "gone.txt", &handler).await;
    let (status, _) = h.call(reqwest::Method::DELETE, &format!("/twins/{twin}/docs/gone.txt"), None).await;
    assert_eq!(status, StatusCode::OK);
    h.emulator.shutdown().await;

    let h = Harness::start_with(config(dir.path(), Duration::from_millis(50))).await;
    assert_eq!(h.emulator.attach_count(&twin, "n.txt"), 1);
    assert_eq!(h.emulator.attach_count(&twin, "gone.txt"), 1, "counted although deleted");
    let (status, _) = h.get_doc(&twin, "gone.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the delete was persisted");
    h.emulator.shutdown().await;
}

/// The state and the bytes are the account's: every file under the state folder is `0600` and
/// every folder `0700` (the state folder itself included, when the emulator creates it).
#[cfg(unix)]
#[tokio::test]
async fn the_state_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("sandbox");
    let h = Harness::start_with(config(&dir, Duration::from_millis(50))).await;
    let handler = h.upload(b"private bytes").await;
    let twin = h.create_twin().await;
    h.attach_one(&twin, "secret.txt", &handler).await;
    assert_eq!(h.settled(&twin, "secret.txt").await["status"], "ok");
    h.emulator.shutdown().await;

    let (mut files, mut folders) = (0, 0);
    let mut todo = vec![dir.clone()];
    while let Some(at) = todo.pop() {
        let mode = std::fs::metadata(&at).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", at.display());
        folders += 1;
        for entry in std::fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                todo.push(entry.path());
            } else {
                let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is {mode:o}", entry.path().display());
                files += 1;
            }
        }
    }
    // state.json, the upload's bytes and the Doc's (a hard link counts once per name).
    assert!(files >= 3 && folders >= 4, "{files} files, {folders} folders");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A state dir written by the emulator before the state log (`tests/fixtures/state-v1`, one
/// `state.json` of format 1) loads with everything in it, is rewritten as a snapshot and a log
/// at the first start, and loads again from those.
#[tokio::test]
async fn a_state_dir_of_format_1_loads_and_is_migrated() {
    const TWIN: &str = "f47472f5-4b26-4049-8c47-d07a091bbb46";
    const ASSET: &str = "6d1d3f43-3c4f-4f1a-9a55-7c2b0d3e8f11";
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("sandbox");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1"), &dir);
    std::fs::remove_file(dir.join("README.md")).unwrap();
    for start in ["format 1", "migrated"] {
        let h = Harness::start_with(config(&dir, Duration::from_millis(50))).await;
        let (_, me) = h.get("/whoami").await;
        assert_eq!(me["account"], "a4b08596-07e5-40ad-9563-40774a036890", "{start}");
        assert_eq!(me["role"], "dc4a4711-b5e5-4766-9592-3661ea0930b6", "{start}");

        let (status, doc) = h.get_doc(TWIN, "keep.txt").await;
        assert_eq!(status, StatusCode::OK, "{start}: {doc}");
        assert_eq!(doc["status"], "ok");
        assert_eq!(doc["creation_certificate"]["size"], 11);
        let (_, linked) = h.get(&format!("/twins/{TWIN}/docs/keep.txt?download=True")).await;
        let link = linked["download"]["url"].as_str().unwrap();
        let bytes = h.client.get(link).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], b"kept bytes\n", "{start}");
        assert_eq!(h.get_doc(TWIN, "gone.txt").await.0, StatusCode::NOT_FOUND, "{start}");
        assert_eq!(h.emulator.attach_count(TWIN, "gone.txt"), 1, "{start}");
        assert_eq!(h.emulator.attach_count(TWIN, "keep.txt"), 1, "{start}");

        let raw = h
            .client
            .get(h.url("/api/v1/tables/demo.sandbox:v1.files/rawFiles"))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        let raw: serde_json::Value = raw.json().await.unwrap();
        assert_eq!(raw["results"][0]["name"], "r.csv", "{start}: {raw}");
        assert_eq!(raw["results"][0]["size"], 14);

        let files = h
            .client
            .get(h.url(&format!("/api/inspect/v1/assets/{ASSET}/files")))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        let files: serde_json::Value = files.json().await.unwrap();
        assert_eq!(files["data"][0]["name"], "i.bin", "{start}: {files}");
        assert_eq!(files["data"][0]["completed"], true);

        assert_eq!(h.emulator.oss_access_key_id(), "LTAIDB355303BAC64B5A8181", "{start}");

        // Still a working account: a new Doc on the old Twin.
        let handler = h.upload(start.as_bytes()).await;
        let name = format!("new/{}.txt", start.replace(' ', "-"));
        h.attach_one(TWIN, &name, &handler).await;
        assert_eq!(h.settled(TWIN, &name).await["status"], "ok");
        h.emulator.shutdown().await;

        let head = std::fs::read(dir.join("state.json")).unwrap();
        assert!(head.starts_with(br#"{"twindrop_emulator_state":2,"#), "rewritten as a snapshot");
        assert!(dir.join("state.log").exists());
    }
    let h = Harness::start_with(config(&dir, Duration::from_millis(50))).await;
    let (_, listing) = h.get(&format!("/twins/{TWIN}/docs")).await;
    let names: Vec<&String> = listing["docs"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["keep.txt", "new/format-1.txt", "new/migrated.txt"]);
    h.emulator.shutdown().await;
}

/// Many Docs, enough for the log to be compacted into a snapshot on the way (at 4 MiB), then a
/// restart: nothing is missing.
#[tokio::test]
async fn a_restart_after_many_changes_keeps_every_doc() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start_with(config(dir.path(), Duration::from_millis(0))).await;
    let twin = h.create_twin().await;
    let handler = h.upload(b"shared bytes").await;
    // 4,000 Docs in requests of 100 (bodies are limited to 64 kB), each with a description, then
    // every copy's change: about 6 MB of log.
    let description = "x".repeat(400);
    for batch in 0..40 {
        let docs: serde_json::Map<String, serde_json::Value> = (0..100)
            .map(|i| {
                let name = format!("many/{batch:02}/{i:03}.bin");
                (name, json!({"handler": handler, "description": {"note": description}}))
            })
            .collect();
        let (status, body) = h.post(&format!("/twins/{twin}/docs"), Some(json!({ "docs": docs }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(h.settled(&twin, "many/39/099.bin").await["status"], "ok");
    let (_, before) = h.get(&format!("/twins/{twin}/docs")).await;
    assert_eq!(before["docs"].as_object().unwrap().len(), 4000);
    h.emulator.shutdown().await;
    let snapshot = std::fs::metadata(dir.path().join("state.json")).unwrap().len();
    assert!(snapshot > 1 << 20, "a snapshot was written on the way ({snapshot} bytes)");

    let h = Harness::start_with(config(dir.path(), Duration::from_millis(0))).await;
    let (_, after) = h.get(&format!("/twins/{twin}/docs")).await;
    let (before, after) = (before["docs"].as_object().unwrap(), after["docs"].as_object().unwrap());
    assert_eq!(after.len(), before.len());
    for (name, entry) in before {
        // [created_ts, updated_ts, size]; a copy pending at shutdown settles after the restart.
        assert_eq!((after[name][0].clone(), after[name][2].clone()), (entry[0].clone(), entry[2].clone()), "{name}");
    }
    for name in ["many/00/000.bin", "many/13/041.bin", "many/39/099.bin"] {
        let doc = h.settled(&twin, name).await;
        assert_eq!(doc["description"]["note"], description.as_str());
        assert_eq!(doc["status"], "ok");
    }
    h.emulator.shutdown().await;
}
