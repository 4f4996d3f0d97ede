use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use super::*;
use crate::activity::Kind;
use crate::service::trusted_twin::DocStatus;

fn places(home: &Path) -> Places {
    Places {
        settings: SettingsFile::new(home.join("config/settings.json")),
        journal: home.join("data/journal.sqlite"),
        folders_journal: home.join("data/watched.sqlite"),
        activity: home.join("data/activity.sqlite"),
        sandbox: home.join("data/sandbox"),
    }
}

/// A listener that keeps every event.
fn recorder() -> (EventSink, Arc<StdMutex<Vec<QueueEvent>>>) {
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let keep = seen.clone();
    (Arc::new(move |e| keep.lock().unwrap().push(e)), seen)
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn finished_ok(events: &[QueueEvent], id: u64) -> bool {
    events.iter().any(|e| matches!(e, QueueEvent::Finished { id: i, status: DocStatus::Ok, .. } if *i == id))
}

/// The start-up rule, without a window: no account configured → the sandbox opens, and its
/// Twins outlive the process because the emulator keeps its state in the data folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_account_opens_the_sandbox_and_its_twins_persist() {
    let home = tempfile::tempdir().unwrap();
    // A remembered account that cannot be reopened (here: no secret in any keyring) is
    // reported once, for the login screen, and then leaves the choice to the user.
    let file = places(home.path()).settings;
    file.update(|s| {
        let ghost = profile::Profile { base_url: "http://127.0.0.1:9".into(), ..Default::default() };
        s.profiles.insert("ghost".into(), ghost);
        s.active = Some("ghost".into());
        Ok(())
    })
    .unwrap();
    let ghost = App::new(places(home.path()), Hooks::default());
    let err = ghost.start_up().await.unwrap_err();
    assert!(err.code().starts_with("keyring."), "{}: {err}", err.code());
    assert_eq!(ghost.start_up().await.unwrap(), None);
    assert_eq!(ghost.queue().await.err().map(|e| e.code()), Some(not_signed_in().code()));
    file.update(|s| {
        s.active = None;
        Ok(())
    })
    .unwrap();

    let first = App::new(places(home.path()), Hooks::default());
    let info = first.start_up().await.unwrap().expect("a session at start-up");
    assert_eq!((info.kind, info.profile.as_deref()), ("sandbox", None));
    let twin = first.create_twin().await.unwrap();
    assert_eq!(first.recent_destinations().await.unwrap(), [twin.to_string()]);
    first.stop_sandbox().await;
    drop(first);

    let second = App::new(places(home.path()), Hooks::default());
    let again = second.start_up().await.unwrap().unwrap();
    assert_eq!(again.account, info.account);
    assert_eq!(again.base_url, info.base_url, "the sandbox comes back on its port, so the journal knows it");
    second.select_twin(&twin).await.unwrap();
    // A second start-up call is a no-op, not a second sandbox.
    assert_eq!(second.start_up().await.unwrap().unwrap().base_url, again.base_url);
    let kinds: Vec<Kind> = second.activity(&Filter::default()).unwrap().iter().map(|e| e.kind).collect();
    assert!(kinds.iter().filter(|k| **k == Kind::SignedIn).count() >= 2, "{kinds:?}");
    second.stop_sandbox().await;
}

/// The calls the window and the CLI make, on the sandbox: a drop is routed to its own listener;
/// pausing says so to the desktop and the log; a Doc whose copy ended `hash_mismatch` is sent
/// again from the file it came from (heard on the window's listener), and one that is `ok` is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_pause_and_resend_through_the_app() {
    let home = tempfile::tempdir().unwrap();
    let paused_seen = Arc::new(StdMutex::new(Vec::new()));
    let hooks = Hooks {
        paused: Some({
            let seen = paused_seen.clone();
            Arc::new(move |p| seen.lock().unwrap().push(p))
        }),
        ..Hooks::default()
    };
    let app = App::new(places(home.path()), hooks);
    app.open_sandbox().await.unwrap();
    let twin = app.create_twin().await.unwrap();
    let file = home.path().join("report.txt");
    std::fs::write(&file, "the bytes meant").unwrap();

    let preview = app.preview(Some(twin.as_str()), vec![file.clone()], None).await.unwrap();
    assert_eq!(preview.len(), 1);
    let items = [Planned { path: file.clone(), name: "report.txt".into() }];
    let (drop_sink, drop_events) = recorder();
    let (window, window_events) = recorder();
    assert!(!app.watch_events(window).await.unwrap());
    let ids =
        app.upload(twin.as_str(), &items, &Batch::new("access_optimized", None).unwrap(), drop_sink).await.unwrap();
    until("the drop's file to be ok", || finished_ok(&drop_events.lock().unwrap(), ids[0])).await;
    assert!(!window_events.lock().unwrap().iter().any(|e| e.job_id() == Some(ids[0])), "the drop's own listener only");
    assert_eq!(app.settled(&ids).await.unwrap().len(), 1);

    app.set_paused(true).await.unwrap();
    assert!(app.watch_events(recorder().0).await.unwrap(), "the window is told the queue is paused");
    app.set_paused(false).await.unwrap();
    assert_eq!(*paused_seen.lock().unwrap(), [false, true, false], "opening, pause, resume");
    let kinds: Vec<Kind> = app.activity(&Filter::default()).unwrap().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&Kind::Paused) && kinds.contains(&Kind::Resumed), "{kinds:?}");

    let name = DocName::parse("report.txt").unwrap();
    let refused = app.resend_doc(&twin, &name).await.unwrap_err();
    assert!(refused.to_string().contains("is ok"), "an ok Doc is not sent again: {refused}");

    // Someone's copy of the Doc went wrong on the server.
    let tt = app.queue().await.unwrap().service().trusted_twin().unwrap().clone();
    tt.delete_doc(&twin, &name).await.unwrap();
    let target = tt.create_upload_url().await.unwrap();
    tt.upload(&target, &file, Arc::new(|_| {}), None).await.unwrap();
    tt.attach(&twin, &name, &target.handler, Some(&"0".repeat(64))).await.unwrap();
    let doc = tt.wait_terminal(&twin, &name, Duration::from_secs(10)).await.unwrap();
    assert_eq!(doc.status, DocStatus::HashMismatch);

    let (window, window_events) = recorder();
    app.watch_events(window).await.unwrap();
    let again = app.resend_doc(&twin, &name).await.unwrap();
    until("the resent Doc to be ok", || finished_ok(&window_events.lock().unwrap(), again[0])).await;
    let doc = tt.get_doc(&twin, &name).await.unwrap();
    let (ours, _) = crate::hash::sha256_file(&file).await.unwrap();
    assert_eq!((&doc.status, doc.sha256()), (&DocStatus::Ok, Some(ours.as_str())));

    // The Docs tab: one listing (sizes, no statuses), then statuses for the rows asked for.
    let rows = app.docs(&twin).await.unwrap();
    assert_eq!(rows.iter().map(|r| (r.name.as_str(), r.size)).collect::<Vec<_>>(), [("report.txt", Some(15))]);
    assert!(rows[0].created_ts.is_some());
    let details = app.doc_details(&twin, vec!["report.txt".into(), "gone.txt".into()]).await.unwrap();
    assert_eq!(details.len(), 1, "a name no longer there is left out");
    assert_eq!((details[0].name.as_str(), &details[0].status), ("report.txt", &DocStatus::Ok));
    let too_many = app.doc_details(&twin, vec!["x".into(); DOC_DETAILS_MOST + 1]).await.unwrap_err();
    assert_eq!(too_many.code(), "option.invalid");

    // A refused sign-in stores nothing and leaves the open session as it was.
    let sandbox = app.session().await.unwrap();
    let wrong = Secret::new("not-the-secret");
    let refused = app.sign_in(ServiceKind::TrustedTwin, &sandbox.base_url, wrong, None).await.unwrap_err();
    assert_eq!(refused.code(), "auth.unauthorized");
    assert_eq!(app.session().await, Some(sandbox));
    assert!(app.profiles().unwrap().is_empty());
    app.stop_sandbox().await;
}

/// The history setting applies to the journals the app has open: they were opened keeping what
/// the settings say, and a shorter setting prunes them at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_history_prunes_the_open_journals() {
    let home = tempfile::tempdir().unwrap();
    let app = App::new(places(home.path()), Hooks::default());
    app.start_up().await.unwrap().expect("the sandbox");
    let journal = app.journal.lock().unwrap().clone().expect("the uploads' journal is open");
    assert_eq!(journal.retention(), crate::journal::Retention::Days(30));
    let dest = crate::journal::tests::twin(1);
    let file = home.path().join("a.txt");
    for size in [1, 2] {
        let new = crate::journal::NewJob {
            base_url: "http://h",
            destination: &dest,
            path: &file,
            doc_name: "a.txt",
            size,
            mtime_ns: size as i64,
            dev: 0,
            ino: 0,
            storage_class: crate::doc::StorageClass::AccessOptimized,
            description: None,
            on_conflict: crate::doc::ConflictPolicy::Rename,
        };
        let id = journal.insert(&new, crate::journal::JobState::Queued).unwrap();
        journal.record_uploaded(id, "abc", size, None, None).unwrap();
        journal.record_attached(id).unwrap();
        journal.record_done(id, &DocStatus::Ok).unwrap();
    }
    journal.backdate(10.0 * 86_400.0);
    app.set_prefs(Prefs { history_days: 60, ..Prefs::default() }).await.unwrap();
    assert_eq!(journal.retention(), crate::journal::Retention::Days(60));
    app.set_prefs(Prefs { history_days: 7, ..Prefs::default() }).await.unwrap();
    until("the superseded job is pruned", || journal.list(None, &[]).unwrap().len() == 1).await;
    assert_eq!(app.prefs().unwrap().history_days, 7);
    app.stop_sandbox().await;
}

/// The Docs tab's "Download…" and "Show the local file", through the app on the sandbox: the
/// Doc's bytes saved where asked and checked; the file a Doc came from while it is there,
/// "no longer there" once it is gone, and nothing for a Doc the journals never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doc_is_downloaded_and_its_local_file_found() {
    let home = tempfile::tempdir().unwrap();
    let app = App::new(places(home.path()), Hooks::default());
    app.open_sandbox().await.unwrap();
    let twin = app.create_twin().await.unwrap();
    let file = home.path().join("Quarterly report.pdf");
    std::fs::write(&file, "%PDF quarterly figures").unwrap();
    let items = [Planned { path: file.clone(), name: "Quarterly_report.pdf".into() }];
    let (sink, events) = recorder();
    let ids = app.upload(twin.as_str(), &items, &Batch::new("access_optimized", None).unwrap(), sink).await.unwrap();
    until("the file to be ok", || finished_ok(&events.lock().unwrap(), ids[0])).await;

    let target = home.path().join("copy.pdf");
    let saved = app.download_doc(&twin, "Quarterly_report.pdf", &target, false).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"%PDF quarterly figures");
    assert!(saved.verified);
    let again = app.download_doc(&twin, "Quarterly_report.pdf", &target, false).await.unwrap_err();
    assert_eq!(again.code(), "file.exists");

    let local = app.doc_local_file(&twin, "Quarterly_report.pdf").await.unwrap();
    assert_eq!(local, Some(LocalFile { path: file.display().to_string(), present: true }));
    std::fs::remove_file(&file).unwrap();
    let local = app.doc_local_file(&twin, "Quarterly_report.pdf").await.unwrap();
    assert_eq!(local.map(|l| l.present), Some(false), "the journal still knows where it was");

    // Someone else's Doc: the server has it, no journal of ours sent it.
    let tt = app.queue().await.unwrap().service().trusted_twin().unwrap().clone();
    let up = tt.create_upload_url().await.unwrap();
    tt.upload(&up, &target, Arc::new(|_| {}), None).await.unwrap();
    tt.attach(&twin, &DocName::parse("theirs.pdf").unwrap(), &up.handler, None).await.unwrap();
    assert_eq!(app.doc_local_file(&twin, "theirs.pdf").await.unwrap(), None);
    app.stop_sandbox().await;
}

/// A Twin created with a name is named on the server (`description.name`); choosing a Twin
/// reads that name back through the emulator; a nickname on this machine wins over it and
/// outlives the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twins_have_names_from_the_server_and_nicknames_of_their_own() {
    let home = tempfile::tempdir().unwrap();
    let app = App::new(places(home.path()), Hooks::default());
    app.open_sandbox().await.unwrap();
    let named = app.create_named_twin("  Lab scans ").await.unwrap();
    let plain = app.create_twin().await.unwrap();
    let names = app.twin_names().unwrap();
    assert_eq!(names.label(named.as_str()), "Lab scans");
    assert_eq!(names.label(plain.as_str()), plain.as_str(), "no name: the UUID");
    assert_eq!(app.create_named_twin(&"x".repeat(81)).await.unwrap_err().code(), "name.invalid");

    // Forget what was noted at creation: choosing the Twin asks the server again.
    app.settings()
        .update(|s| {
            s.twin_names = Default::default();
            Ok(())
        })
        .unwrap();
    assert_eq!(app.twin_names().unwrap().get(named.as_str()), None);
    app.select_twin(&named).await.unwrap();
    let read = app.twin_names().unwrap().get(named.as_str()).cloned().unwrap();
    assert_eq!(read.server_name.as_deref(), Some("Lab scans"), "read from GET /twins/{{twin}}");

    let names = app.name_twin(&named, "Mine").unwrap();
    assert_eq!(names.label(named.as_str()), "Mine");
    app.name_twin(&plain, "Other").unwrap();
    // Choosing the Twin again keeps the nickname; the server's name stays beside it.
    app.select_twin(&named).await.unwrap();
    let kept = app.twin_names().unwrap().get(named.as_str()).cloned().unwrap();
    assert_eq!((kept.nickname.as_deref(), kept.server_name.as_deref()), (Some("Mine"), Some("Lab scans")));
    // Blank clears the nickname: the server's name shows again.
    assert_eq!(app.name_twin(&named, "   ").unwrap().label(named.as_str()), "Lab scans");
    assert_eq!(app.name_twin(&plain, "a\u{7}b").unwrap_err().code(), "name.invalid");

    let known = app.settings().load().unwrap().known_twins();
    let listed: Vec<(&str, &str, &[String])> =
        known.iter().map(|k| (k.twin.as_str(), k.label.as_str(), &k.accounts[..])).collect();
    let sandbox = [profile::SANDBOX_ACCOUNT.to_owned()];
    assert_eq!(listed, [(named.as_str(), "Lab scans", &sandbox[..]), (plain.as_str(), "Other", &sandbox[..])]);
    app.stop_sandbox().await;
}

/// The first-run guide opens by itself until it is closed once; that is remembered in the
/// settings file (another start of the app reads it), and saving the prefs does not undo it.
#[tokio::test]
async fn the_first_run_guide_is_remembered_once_closed() {
    let home = tempfile::tempdir().unwrap();
    let app = App::new(places(home.path()), Hooks::default());
    assert!(!app.guide_seen().unwrap());
    let prefs = app.prefs().unwrap();
    app.set_guide_seen(true).unwrap();
    app.set_prefs(prefs).await.unwrap();
    let again = App::new(places(home.path()), Hooks::default());
    assert!(again.guide_seen().unwrap());
    again.set_guide_seen(false).unwrap();
    assert!(!app.guide_seen().unwrap());
}
