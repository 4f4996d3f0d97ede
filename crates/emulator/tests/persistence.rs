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
