//! "What Twindrop never does" (README), through the real CLI against the emulator, with real
//! inotify where a folder is watched:
//! - two files whose names sanitize alike never end as one Doc, and keep their names run after run;
//! - a Doc someone else made is never replaced or deleted by a sync; a changed file still
//!   replaces the Doc it made itself;
//! - a mirror never deletes on an editor's save, nor a Doc that changed on the server, and a
//!   refused delete holds up nothing else;
//! - a symlink swapped in for a file never sends the file it points to;
//! - a name that is not UTF-8 uploads once, from the exact path;
//! - a server asking for an absurd wait fails the file, names the wait, and panics nothing;
//! - the journal and settings.json are private;
//! - exit codes tell ok, files failed, usage and fatal apart.

use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::service::trusted_twin::DocEntry;
use twindrop_engine::{DocName, Secret, TrustedTwin, TwinId};

const SECRET: &str = "never-secret";

struct World {
    em: Emulator,
    tt: TrustedTwin,
    twin: TwinId,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let config = Config::new(SECRET).with_copy_delay(Duration::from_millis(10));
        let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
        let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();
        let twin = tt.create_twin().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("folder")).unwrap();
        World { em, tt, twin, dir }
    }

    fn folder(&self) -> PathBuf {
        self.dir.path().join("folder")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twindrop"));
        let journal = self.dir.path().join("journal.sqlite");
        cmd.arg("--journal").arg(journal).args(args);
        cmd.env("TWINDROP_SECRET", SECRET).env("TWINDROP_CONFIG_DIR", self.dir.path().join("config"));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `sync FOLDER --once` with `extra` options.
    fn sync_once(&self, extra: &[&str]) -> Output {
        let folder = self.folder();
        let mut args = vec!["sync", "--once", "--json", "--gate-ms", "100", "--base-url", self.em.base_url()];
        args.extend(["--twin", self.twin.as_str()]);
        args.extend(extra);
        args.push(folder.to_str().unwrap());
        self.run(&args)
    }

    /// `sync FOLDER` watching, until the test drops it.
    fn watch(&self, extra: &[&str]) -> Watching {
        let folder = self.folder();
        let mut args = vec!["sync", "--gate-ms", "300", "--base-url", self.em.base_url()];
        args.extend(["--twin", self.twin.as_str()]);
        args.extend(extra);
        args.push(folder.to_str().unwrap());
        let mut child = self.command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        // It says so once its watch is in place.
        let mut line = String::new();
        BufReader::new(child.stderr.as_mut().unwrap()).read_line(&mut line).unwrap();
        Watching(child)
    }

    async fn docs(&self) -> Vec<DocEntry> {
        self.tt.list_docs_detailed(&self.twin).await.unwrap()
    }

    /// The SHA-256 the Doc was attached with, if the Doc is there.
    async fn doc_hash(&self, name: &str) -> Option<String> {
        let name = DocName::parse(name).unwrap();
        self.tt.get_doc(&self.twin, &name).await.ok().and_then(|d| d.sha256().map(str::to_owned))
    }

    /// A Doc made by someone else (another tool, a colleague), with `content`.
    async fn foreign_doc(&self, name: &str, content: &[u8]) -> String {
        let file = self.dir.path().join("foreign.bin");
        std::fs::write(&file, content).unwrap();
        let target = self.tt.create_upload_url().await.unwrap();
        let sent = self.tt.upload(&target, &file, std::sync::Arc::new(|_| {}), None).await.unwrap();
        let name = DocName::parse(name).unwrap();
        self.tt.attach(&self.twin, &name, &target.handler, Some(&sent.sha256)).await.unwrap();
        self.tt.wait_terminal(&self.twin, &name, Duration::from_secs(10)).await.unwrap();
        sent.sha256
    }

    /// Wait (up to 20 s) for `check` to hold.
    async fn until<F: std::future::Future<Output = bool>>(&self, what: &str, check: impl Fn() -> F) {
        let start = Instant::now();
        while !check().await {
            assert!(start.elapsed() < Duration::from_secs(20), "never happened: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

struct Watching(Child);

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sha256(content: &[u8]) -> String {
    let mut h = twindrop_engine::hash::Sha256Stream::default();
    h.update(content);
    h.finish_hex()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn says(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_named_alike_become_distinct_docs_with_stable_names() {
    let w = World::new().await;
    let (spaced, plain) = (w.folder().join("same name.txt"), w.folder().join("same_name.txt"));
    std::fs::write(&spaced, "the spaced one").unwrap();
    std::fs::write(&plain, "the plain one").unwrap();

    let named = w.run(&["name", "--json", spaced.to_str().unwrap(), plain.to_str().unwrap()]);
    let names: Vec<String> = lines(&named).iter().map(|l| l["doc_name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["same_name-1.txt", "same_name.txt"], "{}", says(&named));

    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert!(
        lines(&out).iter().any(|l| l["event"] == "renamed" && l["doc_name"] == "same_name-1.txt"),
        "{}",
        says(&out)
    );
    assert_eq!(w.doc_hash("same_name.txt").await, Some(sha256(b"the plain one")));
    assert_eq!(w.doc_hash("same_name-1.txt").await, Some(sha256(b"the spaced one")));

    // Changed, both keep their own names and replace their own Docs; nothing new appears.
    std::fs::write(&spaced, "the spaced one, edited").unwrap();
    std::fs::write(&plain, "the plain one, edited").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.docs().await.len(), 2);
    assert_eq!(w.doc_hash("same_name.txt").await, Some(sha256(b"the plain one, edited")));
    assert_eq!(w.doc_hash("same_name-1.txt").await, Some(sha256(b"the spaced one, edited")));

    // A third file named alike, later, never takes either name.
    std::fs::write(w.folder().join("same?name.txt"), "third").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.doc_hash("same_name.txt").await, Some(sha256(b"the plain one, edited")));
    assert_eq!(w.doc_hash("same_name-1.txt").await, Some(sha256(b"the spaced one, edited")));
    assert_eq!(w.doc_hash("same_name-2.txt").await, Some(sha256(b"third")));
    assert_eq!(w.docs().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_never_replaces_a_doc_it_did_not_make() {
    let w = World::new().await;
    let theirs = w.foreign_doc("report.txt", b"a colleague's report").await;
    std::fs::write(w.folder().join("report.txt"), "my report").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.doc_hash("report.txt").await, Some(theirs.clone()), "the colleague's Doc was replaced");
    assert_eq!(w.doc_hash("report-1.txt").await, Some(sha256(b"my report")));

    // My file changes: it replaces my Doc, never theirs.
    std::fs::write(w.folder().join("report.txt"), "my report, v2").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.doc_hash("report.txt").await, Some(theirs.clone()));
    assert_eq!(w.doc_hash("report-1.txt").await, Some(sha256(b"my report, v2")));
    assert_eq!(w.docs().await.len(), 2);

    // Someone changes my Doc on the server: it is theirs now, and my next change steps round it.
    let edited = {
        w.tt.delete_doc(&w.twin, &DocName::parse("report-1.txt").unwrap()).await.unwrap();
        w.foreign_doc("report-1.txt", b"edited on the server").await
    };
    std::fs::write(w.folder().join("report.txt"), "my report, v3").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.doc_hash("report-1.txt").await, Some(edited));
    assert_eq!(w.doc_hash("report-2.txt").await, Some(sha256(b"my report, v3")));

    // With skip, a foreign Doc's name is simply not used.
    w.foreign_doc("notes.txt", b"their notes").await;
    std::fs::write(w.folder().join("notes.txt"), "my notes").unwrap();
    let out = w.sync_once(&["--on-conflict", "skip"]);
    assert!(out.status.success(), "{}", says(&out));
    assert!(lines(&out).iter().any(|l| l["doc_name"] == "notes.txt" && l["status"] == "skipped"), "{}", says(&out));
    assert_eq!(w.doc_hash("notes.txt").await, Some(sha256(b"their notes")));
    assert_eq!(w.doc_hash("notes-1.txt").await, None);
    // And a folder cannot be told to replace.
    let out = w.sync_once(&["--on-conflict", "replace"]);
    assert_eq!(out.status.code(), Some(2), "{}", says(&out));
    assert!(says(&out).contains("conflict_policy.invalid"), "{}", says(&out));

    // An explicit upload --on-conflict replace still does.
    let file = w.folder().join("notes.txt");
    let twin = w.twin.as_str();
    let args = ["upload", "--base-url", w.em.base_url(), "--twin", twin, "--on-conflict", "replace"];
    let out = w.run(&[&args[..], &[file.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.doc_hash("notes.txt").await, Some(sha256(b"my notes")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_deletes_only_gone_files_own_unchanged_docs() {
    let w = World::new().await;
    for name in ["saved.txt", "atomic.txt", "gone.txt", "edited.txt", "refused.txt"] {
        std::fs::write(w.folder().join(name), format!("{name} v1")).unwrap();
    }
    let watching = w.watch(&["--delete", "mirror"]);
    w.until("five Docs", || async { w.docs().await.len() == 5 }).await;

    // vim's save: the file renamed away, a new one written under its name.
    std::fs::rename(w.folder().join("saved.txt"), w.folder().join("saved.txt~")).unwrap();
    std::fs::write(w.folder().join("saved.txt"), "saved.txt v2").unwrap();
    std::fs::remove_file(w.folder().join("saved.txt~")).unwrap();
    // An atomic save: a temporary file renamed over the original.
    std::fs::write(w.folder().join(".atomic.txt.swp"), "atomic.txt v2").unwrap();
    std::fs::rename(w.folder().join(".atomic.txt.swp"), w.folder().join("atomic.txt")).unwrap();
    // Really deleted.
    std::fs::remove_file(w.folder().join("gone.txt")).unwrap();
    w.until("saved.txt and atomic.txt replaced", || async {
        w.doc_hash("saved.txt").await == Some(sha256(b"saved.txt v2"))
            && w.doc_hash("atomic.txt").await == Some(sha256(b"atomic.txt v2"))
    })
    .await;
    w.until("gone.txt's Doc deleted", || async { w.doc_hash("gone.txt").await.is_none() }).await;

    // A Doc changed on the server since it was sent is not this folder's to delete.
    w.tt.delete_doc(&w.twin, &DocName::parse("edited.txt").unwrap()).await.unwrap();
    let edited = w.foreign_doc("edited.txt", b"edited on the server").await;
    std::fs::remove_file(w.folder().join("edited.txt")).unwrap();
    // A delete the server refuses (403) for a while is tried again, and holds up nothing.
    w.em.set_faults(
        serde_json::from_value(json!({"rules": [{"route": "delete_doc", "times": 2, "status": 403}]})).unwrap(),
    );
    std::fs::remove_file(w.folder().join("refused.txt")).unwrap();
    std::fs::write(w.folder().join("new.txt"), "new").unwrap();
    w.until("new.txt sent while a delete is refused", || async { w.doc_hash("new.txt").await.is_some() }).await;
    w.until("refused.txt's Doc deleted in the end", || async { w.doc_hash("refused.txt").await.is_none() }).await;
    drop(watching);
    assert_eq!(w.doc_hash("edited.txt").await, Some(edited), "a Doc changed on the server was deleted");
    assert_eq!(w.doc_hash("saved.txt").await, Some(sha256(b"saved.txt v2")));
    assert_eq!(w.doc_hash("atomic.txt").await, Some(sha256(b"atomic.txt v2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_swapped_in_never_sends_what_it_points_to() {
    let w = World::new().await;
    let outside = w.dir.path().join("outside-secret.txt");
    std::fs::write(&outside, "not for the Twin").unwrap();
    let a = w.folder().join("a.txt");
    std::fs::write(&a, "a").unwrap();
    let link = w.folder().join(".a.link");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    // `mv -T link a.txt`
    std::fs::rename(&link, &a).unwrap();
    std::fs::write(w.folder().join("b.txt"), "b").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    let docs: Vec<String> = w.docs().await.into_iter().map(|d| d.name).collect();
    assert_eq!(docs, ["b.txt"], "{}", says(&out));

    // Named on the command line, a symlink is refused, not followed.
    let args = ["upload", "--json", "--base-url", w.em.base_url(), "--twin", w.twin.as_str()];
    let out = w.run(&[&args[..], &[a.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    assert_eq!(lines(&out)[0]["error"]["code"], "file.not_a_file", "{}", says(&out));
    assert!(w.doc_hash("a.txt").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_is_not_utf8_uploads_once_from_its_exact_path() {
    let w = World::new().await;
    let raw = w.folder().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&raw, "latin-1 name").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    let docs = w.docs().await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(w.doc_hash(&docs[0].name).await, Some(sha256(b"latin-1 name")));
    // Again: nothing new to do, no new job.
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    let status = w.run(&["status", "--json"]);
    assert_eq!(lines(&status).len(), 1, "{}", says(&status));
    assert_eq!(lines(&status)[0]["doc_status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_ok_files_failed_usage_and_fatal_apart() {
    let w = World::new().await;
    let good = w.folder().join("good.txt");
    std::fs::write(&good, "good").unwrap();
    let (base, twin) = (w.em.base_url(), w.twin.as_str());
    let upload = |files: &[&str]| w.run(&[&["upload", "--base-url", base, "--twin", twin][..], files].concat());
    assert_eq!(upload(&[good.to_str().unwrap()]).status.code(), Some(0));
    let missing = w.folder().join("missing.txt");
    assert_eq!(upload(&[good.to_str().unwrap(), missing.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(w.run(&["upload", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(upload(&["--on-conflict", "merge", good.to_str().unwrap()]).status.code(), Some(2));
    let wrong = w
        .command(&["upload", "--base-url", base, "--twin", twin, good.to_str().unwrap()])
        .env("TWINDROP_SECRET", "wrong")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(3), "{}", says(&wrong));

    // A sync --once with a file that fails exits 1; `retry` of it too while it still fails.
    std::fs::write(w.folder().join("refused.txt"), "refused").unwrap();
    w.em.set_faults(serde_json::from_value(json!({"rules": [{"route": "attach", "status": 403}]})).unwrap());
    let out = w.sync_once(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    let out = w.run(&["retry", "--base-url", base]);
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    w.em.set_faults(serde_json::from_value(json!({"rules": []})).unwrap());
    // The refused file goes up now; missing.txt (from the upload above) still fails.
    let out = w.run(&["retry", "--base-url", base]);
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    assert_eq!(w.doc_hash("refused.txt").await, Some(sha256(b"refused")));
    std::fs::write(&missing, "here now").unwrap();
    let out = w.run(&["retry", "--base-url", base]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_fails_the_file_and_panics_nothing() {
    let w = World::new().await;
    let (a, b) = (w.folder().join("a.txt"), w.folder().join("b.txt"));
    std::fs::write(&a, "a").unwrap();
    std::fs::write(&b, "b").unwrap();
    // The first upload URL asked for is answered 429 with a wait no clock can hold.
    let rule = json!({"rules": [{"route": "cache", "nth": [1], "status": 429, "retry_after": u64::MAX}]});
    w.em.set_faults(serde_json::from_value(rule).unwrap());
    let args = ["upload", "--json", "--parallel", "1", "--base-url", w.em.base_url(), "--twin", w.twin.as_str()];
    let out = w.run(&[&args[..], &[a.to_str().unwrap(), b.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    assert!(!says(&out).contains("panicked"), "{}", says(&out));
    let all = lines(&out);
    let failed: Vec<&Value> = all.iter().filter(|l| l["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{}", says(&out));
    assert_eq!(failed[0]["error"]["code"], "server.rate_limited");
    assert!(failed[0]["error"]["message"].as_str().unwrap().contains("18446744073709551615"), "{}", says(&out));
    assert_eq!(w.docs().await.len(), 1, "the other file went up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_and_settings_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new().await;
    std::fs::write(w.folder().join("a.txt"), "a").unwrap();
    let out = w.sync_once(&["--save"]);
    assert!(out.status.success(), "{}", says(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for file in ["journal.sqlite", "config/settings.json"] {
        assert_eq!(mode(&w.dir.path().join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&w.dir.path().join("config")), 0o700);
}

/// A colleague's Doc that happens to hold the very bytes of a local file is still theirs: the
/// file is counted as sent, but when it changes it goes to another name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_doc_with_the_same_bytes_stays_theirs() {
    let w = World::new().await;
    let theirs = w.foreign_doc("same.txt", b"identical").await;
    std::fs::write(w.folder().join("same.txt"), "identical").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.docs().await.len(), 1, "nothing new for bytes already there");
    std::fs::write(w.folder().join("same.txt"), "changed").unwrap();
    let out = w.sync_once(&[]);
    assert!(out.status.success(), "{}", says(&out));
    assert_eq!(w.doc_hash("same.txt").await, Some(theirs), "a Doc Twindrop did not make was replaced");
    assert_eq!(w.doc_hash("same-1.txt").await, Some(sha256(b"changed")));
}
