use std::collections::BTreeMap;
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use super::*;
use crate::app::{Hooks, Places};
use crate::folders::FolderUpdate;
use crate::journal::JobState;
use crate::queue::QueueEvent;
use crate::service::trusted_twin::DocStatus;
use crate::TwinId;

async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Twin's Docs by name, once every one of `names` is there and `ok`.
async fn docs_ok(app: &App, twin: &TwinId, names: &[&str]) -> BTreeMap<String, Option<String>> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut seen = BTreeMap::new();
    until("the Docs to be ok", async || {
        let Ok(details) = app.doc_details(twin, names.clone()).await else { return false };
        seen = details.iter().map(|d| (d.name.clone(), d.sha256.clone())).collect();
        details.len() == names.len() && details.iter().all(|d| d.status == DocStatus::Ok)
    })
    .await;
    seen
}

fn progress_recorder() -> (ProgressFn, Arc<StdMutex<Vec<verify::Progress>>>) {
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let keep = seen.clone();
    (Arc::new(move |p| keep.lock().unwrap().push(p)), seen)
}

fn names_of(rows: &[Row]) -> Vec<(Verdict, &str)> {
    rows.iter().map(|r| (r.verdict, r.name.as_str())).collect()
}

/// A watched folder verified through the app: its groups and counts after a file changed and
/// others appeared, its status line, a receipt that checks out, and "Send again" through the
/// folder's own queue (the changed file replaces the Doc it made; a file its ignore patterns
/// leave out is not verified, as it is not synced).
/// Then a picked folder verified as an upload against the Twin, sent again through the
/// session's queue (heard on the drop's listener), and in step afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_a_watched_folder_and_a_picked_one_send_again_and_export() {
    let home = tempfile::tempdir().unwrap();
    let app = App::new(Places::in_dir(&home.path().join("app")), Hooks::default());
    app.open_sandbox().await.unwrap();
    let twin = app.create_twin().await.unwrap();

    let root = home.path().join("scans");
    std::fs::create_dir_all(&root).unwrap();
    let root = root.canonicalize().unwrap();
    std::fs::write(root.join("a.txt"), "first scan").unwrap();
    std::fs::write(root.join("b.txt"), "second scan").unwrap();
    let watched = app.folders().await.unwrap();
    watched.add(&root, twin.as_str()).unwrap();
    let before = docs_ok(&app, &twin, &["a.txt", "b.txt"]).await;
    watched.update(&root, FolderUpdate { ignore: Some(vec!["*.log".into()]), ..Default::default() }).unwrap();
    // Paused: nothing goes up on its own while the folder is changed under it.
    watched.set_paused(&root, true).unwrap();
    assert!(watched.get(&root).unwrap().last_verified.is_none(), "never verified yet");
    std::fs::write(root.join("a.txt"), "first scan, corrected").unwrap();
    std::fs::write(root.join("c.txt"), "third scan").unwrap();
    std::fs::write(root.join("x.log"), "noise").unwrap();

    let (progress, heard) = progress_recorder();
    let view = app.verify_folder(&root, progress).await.unwrap();
    assert_eq!(view.folder.as_deref(), Some(root.to_str().unwrap()));
    assert_eq!(view.destination, twin.as_str());
    let counts = &view.counts;
    assert_eq!((counts.r#match, counts.differs, counts.not_on_server, counts.only_on_server), (1, 1, 1, 0));
    assert!(!view.in_step);
    assert_eq!(view.to_send, 2, "the changed file and the new one; x.log is ignored by the folder");
    let groups: Vec<(Verdict, u64, u64)> = view.groups.iter().map(|g| (g.verdict, g.start, g.count)).collect();
    assert_eq!(groups, [(Verdict::Differs, 0, 1), (Verdict::NotOnServer, 1, 1), (Verdict::Match, 2, 1)]);
    let last = *heard.lock().unwrap().last().expect("progress was heard");
    assert_eq!((last.files_done, last.files), (3, 3));

    // Paged: the rows in the groups' order, and no more than a window's worth per call.
    let rows = app.verification_rows(view.id, 0, 100).unwrap();
    assert_eq!(
        names_of(&rows),
        [(Verdict::Differs, "a.txt"), (Verdict::NotOnServer, "c.txt"), (Verdict::Match, "b.txt")]
    );
    assert_eq!(names_of(&app.verification_rows(view.id, 1, 2).unwrap()), [(Verdict::NotOnServer, "c.txt")]);
    assert!(app.verification_rows(view.id, 9, 12).unwrap().is_empty());
    let too_many = app.verification_rows(view.id, 0, ROWS_MOST + 1).unwrap_err();
    assert_eq!(too_many.code(), "option.invalid");

    // The folder's status line has it from the folders' journal.
    let status = watched.get(&root).unwrap();
    let last = status.last_verified.expect("the folder's last verification");
    assert!(!last.in_step);
    assert_eq!(last.summary, "1 match, 1 differs, 1 not on the server");
    assert_eq!(last.at, view.checked_at);

    // The receipt is of exactly these rows, and its own hash checks out when read back.
    let path = home.path().join("receipt.json");
    let saved = app.export_receipt(view.id, &path).unwrap();
    let receipt = Receipt::read(&path).unwrap();
    assert_eq!((saved.sha256.as_str(), saved.path.as_str()), (receipt.sha256.as_str(), path.to_str().unwrap()));
    assert_eq!(receipt.entries.len(), 3);
    for v in crate::verify::Verdict::ALL {
        assert_eq!(receipt.counts[v.as_str()], view.counts.get(v), "{v:?}");
    }
    let csv = home.path().join("receipt.csv");
    app.export_receipt(view.id, &csv).unwrap();
    assert_eq!(Receipt::read(&csv).unwrap().sha256, receipt.sha256);

    // Sent again through the folder's queue: its own Doc is replaced by the changed file, the
    // new one goes up.
    let sent = app.send_again(view.id, Arc::new(|_| {})).await.unwrap();
    assert_eq!((sent.ids.len(), sent.ignored), (2, 0));
    let folders_journal = watched.queue().journal().clone();
    until("the folder's jobs to finish", async || {
        sent.ids.iter().all(|id| folders_journal.get(*id).is_ok_and(|j| j.state == JobState::Done))
    })
    .await;
    let after = docs_ok(&app, &twin, &["a.txt", "b.txt", "c.txt"]).await;
    assert_ne!(after["a.txt"], before["a.txt"], "a.txt's Doc holds the corrected scan");
    assert_eq!(after["b.txt"], before["b.txt"]);
    let mut names: Vec<String> = app.docs(&twin).await.unwrap().into_iter().map(|d| d.name).collect();
    names.sort();
    assert_eq!(names, ["a.txt", "b.txt", "c.txt"], "replaced, not renamed beside it; nothing else sent");

    let again = app.verify_folder(&root, Arc::new(|_| {})).await.unwrap();
    let c = &again.counts;
    // In step: x.log is the folder's to ignore, so it counts against nothing.
    assert_eq!((c.r#match, c.differs, c.not_on_server), (3, 0, 0));
    assert!(again.in_step);
    assert_eq!(watched.get(&root).unwrap().last_verified.unwrap().at, again.checked_at);

    // A picked folder, named as an upload names it (from the folder's parent), against the
    // same Twin: the folder's Docs are only on the server.
    let picked = home.path().join("batch");
    std::fs::create_dir_all(&picked).unwrap();
    std::fs::write(picked.join("d.txt"), "fourth scan").unwrap();
    let view = app.verify_against(twin.as_str(), vec![picked.clone()], Arc::new(|_| {})).await.unwrap();
    assert_eq!(view.folder, None);
    assert_eq!((view.counts.not_on_server, view.counts.only_on_server, view.to_send), (1, 3, 1));
    assert_eq!(names_of(&app.verification_rows(view.id, 0, 1).unwrap()), [(Verdict::NotOnServer, "batch/d.txt")]);
    let events: Arc<StdMutex<Vec<QueueEvent>>> = Arc::default();
    let sink: EventSink = {
        let events = events.clone();
        Arc::new(move |e| events.lock().unwrap().push(e))
    };
    let sent = app.send_again(view.id, sink).await.unwrap();
    assert_eq!((sent.ids.len(), sent.ignored), (1, 0));
    until("the upload to be ok", async || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, QueueEvent::Finished { id, status: DocStatus::Ok, .. } if *id == sent.ids[0]))
    })
    .await;
    let view = app.verify_against(twin.as_str(), vec![picked.join("d.txt")], Arc::new(|_| {})).await.unwrap();
    assert!(view.in_step, "a file alone is compared with its Doc only: {:?}", view.counts);
    assert_eq!(view.counts.r#match, 1);
    let nothing = app.send_again(view.id, Arc::new(|_| {})).await.unwrap_err();
    assert_eq!(nothing.code, "upload.nothing");

    // Done with, or pushed out by newer ones: the window is told to verify again.
    app.forget_verification(view.id);
    assert_eq!(app.verification_rows(view.id, 0, 1).unwrap_err().code(), "verify.gone");
    let oldest = app.verify_against(twin.as_str(), vec![picked.clone()], Arc::new(|_| {})).await.unwrap();
    for _ in 0..KEPT {
        app.verify_against(twin.as_str(), vec![picked.clone()], Arc::new(|_| {})).await.unwrap();
    }
    assert_eq!(app.export_receipt(oldest.id, &path).unwrap_err().code(), "verify.gone");
    app.stop_sandbox().await;
}

/// The shells await these on a multi-threaded runtime (a Tauri command's future must be
/// `Send`): checked here, where it fails to compile, rather than only in the app's build.
#[allow(dead_code)]
fn the_futures_can_cross_threads(app: &App, root: &Path, progress: ProgressFn, events: EventSink) {
    fn send<T: Send>(_: T) {}
    send(app.verify_folder(root, progress.clone()));
    send(app.verify_against("twin", vec![root.to_owned()], progress));
    send(app.send_again(1, events));
}
