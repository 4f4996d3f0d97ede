//! Plans and enqueueing against the emulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::journal::Journal;
use crate::naming::DocName;
use crate::queue::{Options, RunMode};
use crate::service::trusted_twin::TrustedTwin;

struct World {
    em: twindrop_emulator::Emulator,
    tt: Arc<TrustedTwin>,
    queue: Arc<Queue>,
    journal: Arc<Journal>,
    dir: tempfile::TempDir,
    sink: EventSink,
}

async fn world() -> World {
    let em = twindrop_emulator::Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        twindrop_emulator::Config::new("plan-secret").with_copy_delay(Duration::from_millis(10)),
    )
    .await
    .unwrap();
    let tt = Arc::new(TrustedTwin::new(em.base_url(), crate::Secret::new("plan-secret")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
    let opts = Options { poll_interval: Duration::from_millis(20), ..Options::default() };
    let queue = Queue::new(tt.clone(), journal.clone(), opts);
    let events = Arc::new(Mutex::new(Vec::<QueueEvent>::new()));
    let sink: EventSink = Arc::new(move |e| events.lock().unwrap().push(e));
    World { em, tt, queue, journal, dir, sink }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_batch_takes_the_storage_classes_and_description_keys_the_server_takes() {
    let batch = Batch::new("cost_optimized", Some(json!({"origin": "scanner", "_n2": 2}))).unwrap();
    assert_eq!(batch.storage_class, StorageClass::CostOptimized);
    assert_eq!(batch.description, Some(json!({"origin": "scanner", "_n2": 2})));
    assert_eq!(Batch::new("access_optimized", Some(json!({}))).unwrap().description, None);
    assert_eq!(Batch::new("access_optimized", None).unwrap(), Batch::default());
    for (class, description) in [
        ("fast", None),
        ("access_optimized", Some(json!({"Origin": 1}))),
        ("access_optimized", Some(json!({"2nd": 1}))),
        ("access_optimized", Some(json!({"a-b": 1}))),
        ("access_optimized", Some(json!({"k".repeat(65): 1}))),
        ("access_optimized", Some(json!(["origin"]))),
        ("access_optimized", Some(json!("origin: x"))),
    ] {
        let err = Batch::new(class, description.clone()).unwrap_err();
        let code = if class == "fast" { "storage_class.invalid" } else { "description.invalid" };
        assert_eq!(err.code(), code, "{class} {description:?}");
    }
    assert!(description_key_ok(&"k".repeat(64)));
    let entries = |e: &[&str]| e.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let parsed = description_from_entries(&entries(&["a=1", "b=x y", "c={\"k\":2}"])).unwrap();
    assert_eq!(parsed, Some(serde_json::json!({"a": 1, "b": "x y", "c": {"k": 2}})));
    assert_eq!(description_from_entries(&[]).unwrap(), None);
    for bad in [&["novalue"][..], &["Bad=1"], &["9a=1"]] {
        assert!(description_from_entries(&entries(bad)).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn the_preview_flags_names_sent_from_other_files() {
    let w = world().await;
    let twin = w.tt.create_twin().await.unwrap();
    let dest = Destination::Twin(twin.clone());
    let old = write(w.dir.path(), "old/report.pdf", "old");
    w.queue.enqueue(&twin, std::slice::from_ref(&old), &w.sink).await.unwrap();
    let new = write(w.dir.path(), "new/report.pdf", "new");
    let alone = w.queue.names_preview(Some(&dest), vec![new.clone()], None).await.unwrap();
    assert_eq!(alone[0].name.as_deref(), Some("report.pdf"));
    assert_eq!(alone[0].notice.as_ref().map(|n| n.code.as_str()), Some(naming::TAKEN));
    // Both in one drop: the file the name came from keeps it, the other is numbered.
    let out = w.queue.names_preview(Some(&dest), vec![new.clone(), old.clone()], None).await.unwrap();
    assert_eq!(out[0].name.as_deref(), Some("report-1.pdf"));
    assert_eq!(out[0].notice.as_ref().map(|n| n.code.as_str()), Some(naming::RENAMED));
    assert_eq!((out[1].name.as_deref(), &out[1].notice), (Some("report.pdf"), &None));
    // Once it is up, the same file under the same name is said to be skipped.
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    let again = w.queue.names_preview(Some(&dest), vec![old.clone()], None).await.unwrap();
    assert_eq!(again[0].notice.as_ref().map(|n| n.code.as_str()), Some(naming::UNCHANGED), "{again:?}");
    let renamed = w.queue.names_preview(Some(&dest), vec![old.clone()], Some("other/{name}")).await.unwrap();
    assert_eq!(renamed[0].notice, None);
    std::fs::write(&old, "old, changed").unwrap();
    assert_eq!(w.queue.names_preview(Some(&dest), vec![old.clone()], None).await.unwrap()[0].notice, None);
    // Another Twin has no such Doc.
    let other = Destination::Twin(w.tt.create_twin().await.unwrap());
    assert_eq!(w.queue.names_preview(Some(&other), vec![new.clone()], None).await.unwrap()[0].notice, None);
    let with = w.queue.names_preview(Some(&dest), vec![new.clone()], Some("sent/{name}")).await.unwrap();
    assert_eq!((with[0].name.as_deref(), &with[0].notice), (Some("sent/report.pdf"), &None));
    let without = w.queue.names_preview(None, vec![new.clone()], None).await.unwrap();
    assert_eq!((without[0].name.as_deref(), &without[0].notice), (Some("report.pdf"), &None));
    let err = w.queue.names_preview(Some(&dest), vec![new], Some("{nope}")).await.unwrap_err();
    assert_eq!(err.code(), "template.invalid");
    w.em.shutdown().await;
}

#[tokio::test]
async fn planned_names_are_checked_then_sent_with_the_batch_settings() {
    let w = world().await;
    let twin = w.tt.create_twin().await.unwrap();
    let a = write(w.dir.path(), "a.txt", "alpha");
    let b = write(w.dir.path(), "b.txt", "beta");
    let planned = |an: &str, bn: &str| {
        vec![Planned { path: a.clone(), name: an.into() }, Planned { path: b.clone(), name: bn.into() }]
    };
    let batch = Batch::new("cost_optimized", Some(json!({"origin": "scanner"}))).unwrap();
    for (an, bn, why) in
        [("my file.txt", "b.txt", "' '"), ("same.txt", "same.txt", "2 files"), ("x/", "y//z", "and 1 more")]
    {
        let files = planned(an, bn);
        let err = w.queue.enqueue_planned(Destination::Twin(twin.clone()), &files, &batch, &w.sink).await.unwrap_err();
        assert_eq!(err.code(), "doc_name.invalid");
        assert!(err.to_string().contains(why), "{err}");
    }
    assert!(w.journal.list(None, &[]).unwrap().is_empty(), "a refused batch queues nothing");
    let empty = w.queue.enqueue_planned(Destination::Twin(twin.clone()), &[], &batch, &w.sink).await;
    assert_eq!(empty.unwrap_err().code(), "upload.nothing");

    let ids = w
        .queue
        .enqueue_planned(Destination::Twin(twin.clone()), &planned("scans/first.txt", "second"), &batch, &w.sink)
        .await
        .unwrap();
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    for ((id, name), own) in ids.iter().zip(["scans/first.txt", "second"]).zip(["a.txt", "b.txt"]) {
        let job = w.journal.get(*id).unwrap();
        assert_eq!((job.doc_name.as_str(), job.doc_status.as_ref().map(|s| s.as_str())), (name, Some("ok")));
        let doc = w.tt.get_doc(&twin, &DocName::parse(name).unwrap()).await.unwrap();
        assert_eq!(doc.storage_class.as_deref(), Some("cost_optimized"), "{name}");
        // The batch's description, and the file's own name it was renamed from.
        assert_eq!(doc.description, Some(json!({"origin": "scanner", "original_name": own})), "{name}");
    }
    // The same unchanged file again: under its name it is skipped, under another it is a new Doc.
    let again = [Planned { path: a.clone(), name: "scans/first.txt".into() }];
    let id = w.queue.enqueue_planned(Destination::Twin(twin.clone()), &again, &batch, &w.sink).await.unwrap()[0];
    assert_eq!(w.journal.get(id).unwrap().state, JobState::Skipped);
    let renamed = [Planned { path: a.clone(), name: "scans/first-copy.txt".into() }];
    let id = w.queue.enqueue_planned(Destination::Twin(twin.clone()), &renamed, &batch, &w.sink).await.unwrap()[0];
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    assert_eq!(w.journal.get(id).unwrap().doc_status.as_ref().map(|s| s.as_str()), Some("ok"));
    // Without a batch, the queue's own options still apply.
    let c = write(w.dir.path(), "c.txt", "gamma");
    w.queue.enqueue(&twin, &[c], &w.sink).await.unwrap();
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    let doc = w.tt.get_doc(&twin, &DocName::parse("c.txt").unwrap()).await.unwrap();
    assert_eq!(
        (doc.storage_class.as_deref(), doc.description),
        (Some("access_optimized"), Some(json!({"original_name": "c.txt"})))
    );
    // Turned off (the Settings switch, live): nothing is added to a description.
    w.queue.set_original_name(false);
    let d = write(w.dir.path(), "d.txt", "delta");
    w.queue.enqueue(&twin, &[d], &w.sink).await.unwrap();
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    assert_eq!(w.tt.get_doc(&twin, &DocName::parse("d.txt").unwrap()).await.unwrap().description, None);
    w.em.shutdown().await;
}

/// After a prune of old history, an unchanged file is still skipped, and a Doc Twindrop made is
/// still proved its own at a conflict: the changed file replaces it instead of being renamed.
#[tokio::test]
async fn a_pruned_journal_still_skips_unchanged_files_and_knows_its_docs() {
    let w = world().await;
    let twin = w.tt.create_twin().await.unwrap();
    let dest = Destination::Twin(twin.clone());
    let a = write(w.dir.path(), "a.txt", "first");
    let send = |name: &str| {
        let (queue, dest, a, sink) = (w.queue.clone(), dest.clone(), a.clone(), w.sink.clone());
        let names = [Ok(name.to_owned())];
        async move { queue.enqueue_named(dest, &[a], Some(&names), None, &sink).await.unwrap()[0] }
    };
    // Sent as a.txt; dropped again unchanged (skipped); sent again as b.txt (another template).
    let first = send("a.txt").await;
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    let skipped = w.queue.enqueue(&twin, std::slice::from_ref(&a), &w.sink).await.unwrap()[0];
    assert_eq!(w.journal.get(skipped).unwrap().state, JobState::Skipped);
    let second = send("b.txt").await;
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    assert!(w.journal.get(second).unwrap().is_ok());

    w.journal.backdate(60.0 * 86_400.0);
    w.journal.set_retention(crate::journal::Retention::days(30));
    assert_eq!(w.journal.prune().unwrap().jobs, 1, "only the skip is history nobody needs");
    assert!(w.journal.get(skipped).is_err());
    assert!(w.journal.get(first).is_ok(), "kept: it made a Doc Twindrop still owns");
    // a.txt's Doc is still Twindrop's, made from this file by the first job.
    let owned = w.journal.owned_doc(w.queue.base_url(), &dest, "a.txt").unwrap().unwrap();
    assert_eq!((owned.job_id, owned.path.as_path()), (first, a.as_path()));

    // Unchanged: skipped, with or without its name.
    let plan = w.queue.plan(&dest, std::slice::from_ref(&a)).await.unwrap();
    assert!(matches!(&plan[0].action, PlanAction::Skip { .. }), "{plan:?}");
    assert_eq!(w.journal.finished_files(w.queue.base_url(), &dest).unwrap().len(), 1);

    // Changed, and sent as a.txt again: the Doc there is this file's, as sent, so it is replaced.
    std::fs::write(&a, "second, longer").unwrap();
    let third = send("a.txt").await;
    w.queue.run(w.sink.clone(), RunMode::UntilIdle).await.unwrap();
    let job = w.journal.get(third).unwrap();
    assert!(job.is_ok() && job.doc_name == "a.txt", "{job:?}");
    let doc = w.tt.get_doc(&twin, &DocName::parse("a.txt").unwrap()).await.unwrap();
    assert_eq!(doc.sha256(), job.sha256.as_deref());
    assert!(w.tt.get_doc(&twin, &DocName::parse("a-1.txt").unwrap()).await.is_err(), "not renamed");
    w.em.shutdown().await;
}
