//! The journal at 100,000 jobs (issue 18): its size on disk, and the time of its hot
//! operations, each beside the query it replaced where there was one ("before").
//!
//! The journal is written as a watched folder's sync writes it, through the same calls: drops
//! of 1,000 files queued with their decided names, each job claimed, given its upload target and
//! recorded uploaded, then attached and done in batches of 100 (so every file also has its
//! `names` and owned-`docs` rows). Rows hold what Trusted Twin's rows hold: a path under a
//! watched folder, a Doc name, a SHA-256, a handler, and a signed upload URL (600 bytes, as an
//! S3 presigned URL is), kept after the job is done as the journal keeps it.
//!
//! Usage: `cargo bench -p twindrop-engine --bench journal [-- JOBS]` (default 100000; release
//! build). Prints one line per figure, then `JOURNAL key=value ...` for `benches/report.py`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use twindrop_engine::destination::{Destination, TwinId};
use twindrop_engine::doc::{ConflictPolicy, DocStatus, StorageClass};
use twindrop_engine::journal::{mtime_ns, JobState, Journal, NewJob, Retention, Target, Transfer};
use twindrop_engine::queue::{Options, Queue};
use twindrop_engine::TrustedTwin;

const BASE: &str = "https://rest.trustedtwin.com";
/// Files of the drop the preview is timed on: the 100,000 Twindrop is built for (within
/// `naming::PREVIEW_LIMIT`).
const PREVIEWED: usize = 100_000;
const DROP: usize = 1_000;
const ATTACH_BATCH: usize = 100;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next());
    kb.and_then(|k| k.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us_each(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
}

/// The journal's bytes on disk (database and write-ahead log) after a checkpoint.
fn size_mib(journal: &Path) -> (f64, f64) {
    let conn = rusqlite::Connection::open(journal).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / (1u64 << 20) as f64;
    let wal = PathBuf::from(format!("{}-wal", journal.display()));
    (len(journal.to_owned()), len(wal))
}

struct File {
    path: PathBuf,
    name: String,
    size: u64,
    mtime_ns: i64,
}

/// `n` files of a watched folder: the first `real` exist (empty, in `root/files`, so a preview
/// can walk them), the others are paths only.
fn files(root: &Path, n: usize, real: usize) -> Vec<File> {
    let dir = root.join("files");
    std::fs::create_dir_all(&dir).unwrap();
    (0..n)
        .map(|i| {
            let (path, name) = if i < real {
                let path = dir.join(format!("scan-{i:06}.tiff"));
                std::fs::write(&path, b"").unwrap();
                (path, format!("files/scan-{i:06}.tiff"))
            } else {
                let rel = format!("projects/2024/batch-{:03}/scan-{i:06}.tiff", i / 1000);
                (root.join("watched").join(&rel), rel)
            };
            let (size, mtime) = match std::fs::metadata(&path) {
                Ok(meta) => (meta.len(), mtime_ns(&meta)),
                Err(_) => (4096 + i as u64, 1_733_000_000_000_000_000 + i as i64),
            };
            File { path, name, size, mtime_ns: mtime }
        })
        .collect()
}

fn new_job<'a>(dest: &'a Destination, f: &'a File) -> NewJob<'a> {
    NewJob {
        base_url: BASE,
        destination: dest,
        path: &f.path,
        doc_name: &f.name,
        size: f.size,
        mtime_ns: f.mtime_ns,
        dev: 64769,
        ino: 1_000_000,
        storage_class: StorageClass::AccessOptimized,
        description: None,
        on_conflict: ConflictPolicy::Rename,
    }
}

/// A signed upload URL of `bytes` (under 200: the emulator's short kind).
fn signed_url(i: usize, bytes: usize) -> String {
    if bytes < 200 {
        return format!("{BASE}/upload/{i:032x}");
    }
    let url = format!(
        "https://tt-cache.s3.eu-central-1.amazonaws.com/upload/{i:032x}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=ASIAEXAMPLEEXAMPLE%2F20250101%2Feu-central-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z\
         &X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token="
    );
    let pad = bytes.saturating_sub(64 + url.len() + "&X-Amz-Signature=".len());
    format!("{url}{}&X-Amz-Signature={:064x}", "T".repeat(pad), i)
}

/// The time of each kind of step, summed.
#[derive(Default)]
struct Steps {
    queue: Duration,
    claim: Duration,
    target: Duration,
    uploaded: Duration,
    attached_done: Duration,
}

/// Queue `files` as drops of [`DROP`], each with its decided names, as a sync does.
fn queue_drops(j: &Journal, dest: &Destination, files: &[File], steps: &mut Steps) -> Vec<u64> {
    let mut ids = Vec::with_capacity(files.len());
    for drop in files.chunks(DROP) {
        let t = Instant::now();
        let rows: Vec<NewJob<'_>> = drop.iter().map(|f| new_job(dest, f)).collect();
        let decisions: Vec<(&Path, &str, &str)> =
            drop.iter().map(|f| (f.path.as_path(), f.name.as_str(), f.name.as_str())).collect();
        j.decide_names(BASE, dest, &decisions).unwrap();
        ids.extend(j.insert_many(&rows, JobState::Queued).unwrap());
        steps.queue += t.elapsed();
    }
    ids
}

/// Take `n` queued jobs through as the pipeline does: claimed, given a target, uploaded, then
/// attached and done in batches of [`ATTACH_BATCH`].
fn send_all(j: &Journal, n: usize, url_bytes: usize, steps: &mut Steps) {
    let mut ready = Vec::with_capacity(ATTACH_BATCH);
    for i in 0..n {
        let t = Instant::now();
        let job = j.claim_next(BASE).unwrap().expect("a queued job");
        steps.claim += t.elapsed();
        let (url, handler) = (signed_url(i, url_bytes), format!("{:08x}-0000-4000-8000-{:012x}", i, i));
        let target =
            Target { upload_id: &handler, url: &url, valid_until: 1.9e9, transfer: Some(Transfer::Put), form: None };
        let t = Instant::now();
        j.record_target(job.id, &target).unwrap();
        steps.target += t.elapsed();
        let t = Instant::now();
        j.record_uploaded(job.id, &format!("{:064x}", i * 7919), job.size, None, None).unwrap();
        steps.uploaded += t.elapsed();
        ready.push(job.id);
        if ready.len() == ATTACH_BATCH || i + 1 == n {
            let t = Instant::now();
            j.mark_attach_sent(&ready).unwrap();
            j.record_attached_many(&ready).unwrap();
            let done: Vec<(u64, &DocStatus)> = ready.iter().map(|&id| (id, &DocStatus::Ok)).collect();
            j.record_done_many(&done).unwrap();
            steps.attached_done += t.elapsed();
            ready.clear();
        }
    }
}

/// `finished_files` as it was before: every finished job of the destination in id order
/// (sorted in a temporary B-tree), folded in memory.
fn finished_files_before(db: &Path, dest: &Destination) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare(
            "SELECT path, size, mtime_ns, state, doc_status FROM jobs WHERE base_url = ?1 AND destination = ?2 \
             AND state IN ('done', 'skipped', 'failed', 'cancelled') ORDER BY id",
        )
        .unwrap();
    let mut out = std::collections::HashMap::new();
    let mut rows = st.query(rusqlite::params![BASE, dest.as_str()]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let path: String = r.get(0).unwrap();
        let ok =
            r.get::<_, String>(3).unwrap() == "done" && r.get::<_, Option<String>>(4).unwrap().as_deref() == Some("ok");
        if ok {
            out.insert(PathBuf::from(path), (r.get::<_, i64>(1).unwrap(), r.get::<_, i64>(2).unwrap()));
        }
    }
    out.len()
}

/// The naming preview as it was before: every job of the server read first, then the drop
/// named against maps of them. Returns how many files it said were unchanged.
fn preview_before(j: &Journal, dest: &Destination, drop: &[PathBuf]) -> usize {
    let mut taken = std::collections::HashMap::new();
    let mut latest = std::collections::HashMap::new();
    for job in j.list(Some(BASE), &[]).unwrap() {
        if &job.destination != dest {
            continue;
        }
        if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
            taken.insert(job.doc_name.to_string(), job.path.clone());
        }
        latest.insert(job.path.clone(), job);
    }
    let taken_by = |name: &str, path: &Path| taken.get(name).filter(|p: &&PathBuf| p.as_path() != path).cloned();
    let files = twindrop_engine::naming::preview(drop, None, &taken_by);
    let unchanged = |f: &twindrop_engine::naming::NamedFile| {
        latest.get(&f.path).is_some_and(|job| {
            job.is_ok()
                && Some(job.size) == f.size
                && Some(job.mtime_ns) == f.mtime_ns
                && f.name.as_deref() == Some(job.doc_name.as_str())
        })
    };
    files.iter().filter(|f| unchanged(f)).count()
}

fn main() {
    let numbers: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = numbers.first().copied().unwrap_or(100_000);
    let url_bytes = numbers.get(1).copied().unwrap_or(600);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.sqlite");
    let dest = Destination::Twin(TwinId::parse("0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d").unwrap());
    let real = PREVIEWED.min(n);
    let t = Instant::now();
    let all = files(work.path(), n, real);
    println!("{n} files listed ({real} made on disk) in {:.1} s", t.elapsed().as_secs_f64());
    let journal = Arc::new(Journal::open(&db).unwrap());
    let j = journal.as_ref();

    // 1. The whole folder queued: the queue's checks while n jobs wait.
    let mut steps = Steps::default();
    let ids = queue_drops(j, &dest, &all, &mut steps);
    let rss = rss_mib();
    let t = Instant::now();
    let waiting = j.list(Some(BASE), &[JobState::Queued, JobState::Uploading]).unwrap();
    let idle_before = t.elapsed();
    let held = rss_mib() - rss;
    assert_eq!(waiting.len(), n);
    drop(waiting);
    assert!(j.has_jobs(BASE, &[JobState::Queued]).unwrap());
    let t = Instant::now();
    for _ in 0..1000 {
        assert!(j.has_jobs(BASE, &[JobState::Queued, JobState::Uploading]).unwrap());
    }
    let idle_us = us_each(t.elapsed(), 1000);
    let t = Instant::now();
    assert_eq!(j.queued(BASE).unwrap().1, all.iter().map(|f| f.size).sum::<u64>());
    let bytes_after = t.elapsed();
    println!(
        "queue idle check at {n} queued: before (the list of them) {:.1} ms, holding {held:.0} MiB; after \
         (has_jobs) {idle_us:.1} us; queued bytes (a sum) {:.1} ms",
        ms(idle_before),
        ms(bytes_after)
    );

    // 2. Every job through claim, upload, attach and done.
    let t = Instant::now();
    send_all(j, ids.len(), url_bytes, &mut steps);
    println!(
        "{n} jobs written as a sync writes them in {:.1} s: queue {:.1} us/file, claim {:.1} us, record target \
         {:.1} us, record uploaded {:.1} us, attached + done {:.1} us/file (batches of {ATTACH_BATCH})",
        t.elapsed().as_secs_f64() + steps.queue.as_secs_f64(),
        us_each(steps.queue, n),
        us_each(steps.claim, n),
        us_each(steps.target, n),
        us_each(steps.uploaded, n),
        us_each(steps.attached_done, n)
    );
    let (file, wal) = size_mib(&db);
    let bytes_per_job = (file + wal) * (1u64 << 20) as f64 / n as f64;
    let per_100k = (file + wal) * 100_000.0 / n as f64;
    println!(
        "journal size: {file:.1} MiB + WAL {wal:.1} MiB for {n} jobs = {per_100k:.1} MiB per 100,000 jobs \
         ({bytes_per_job:.0} bytes/job, with names and owned-Doc rows; upload URLs of {url_bytes} bytes written, dropped when done)"
    );

    // 3. The hot operations at n rows: one more drop of 1,000 files, claimed and sent.
    let extra = files(&work.path().join("extra"), DROP, 0);
    let mut hot = Steps::default();
    queue_drops(j, &dest, &extra, &mut hot);
    send_all(j, DROP, url_bytes, &mut hot);
    let (claim_us, target_us, uploaded_us) =
        (us_each(hot.claim, DROP), us_each(hot.target, DROP), us_each(hot.uploaded, DROP));
    println!(
        "at {n} jobs, per file of a 1,000-file drop: queue {:.1} us, claim next {claim_us:.1} us, record target \
         {target_us:.1} us, record uploaded {uploaded_us:.1} us, attached + done {:.1} us",
        us_each(hot.queue, DROP),
        us_each(hot.attached_done, DROP)
    );

    // 4. The sync's skip-unchanged lookup: the whole destination (a walk compares with it), and
    //    a plan's per-file lookup.
    let t = Instant::now();
    assert_eq!(j.finished_files(BASE, &dest).unwrap().len(), n + DROP);
    let sync_after = t.elapsed();
    let t = Instant::now();
    assert_eq!(finished_files_before(&db, &dest), n + DROP);
    let sync_before = t.elapsed();
    let step = (n / 1000).max(1);
    let t = Instant::now();
    for f in all.iter().step_by(step).take(1000) {
        assert!(j.latest_for_path(BASE, &dest, &f.path).unwrap().is_some());
    }
    let latest_us = us_each(t.elapsed(), all.iter().step_by(step).take(1000).count());
    println!(
        "sync lookup (finished_files, {} files, one job each): {:.0} ms (before, every job in id order: {:.0} ms); \
         a plan's latest_for_path: {latest_us:.1} us/file",
        n + DROP,
        ms(sync_after),
        ms(sync_before)
    );

    // 5. The naming preview of a drop of `real` files, all sent before (each is looked up).
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tt = Arc::new(TrustedTwin::new(BASE, twindrop_engine::Secret::new("s")).unwrap());
    let queue = Queue::new(tt, journal.clone(), Options::default());
    let folder = vec![work.path().join("files")];
    let (preview, previewed) = rt.block_on(async {
        queue.names_preview(Some(&dest), folder.clone(), None).await.unwrap(); // the page cache warm for both
        let t = Instant::now();
        let files = queue.names_preview(Some(&dest), folder.clone(), None).await.unwrap();
        (t.elapsed(), files)
    });
    let is_unchanged = |f: &&twindrop_engine::naming::NamedFile| {
        f.notice.as_ref().is_some_and(|n| n.code == twindrop_engine::naming::UNCHANGED)
    };
    let unchanged = previewed.iter().filter(is_unchanged).count();
    drop(previewed);
    let t = Instant::now();
    let none = |_: &str, _: &Path| -> Option<PathBuf> { None };
    assert_eq!(twindrop_engine::naming::preview(&folder, None, &none).len(), real);
    let naming_alone = t.elapsed();
    let rss = rss_mib();
    let t = Instant::now();
    let unchanged_before = preview_before(j, &dest, &folder);
    let preview_before = t.elapsed();
    let held_all = rss_mib() - rss;
    assert_eq!((unchanged, unchanged_before), (real, real));
    println!(
        "names preview of a {real}-file drop at {n} jobs: {:.0} ms, of which walking and naming {:.0} ms \
         ({unchanged} said unchanged); before (every job of the server read first): {:.0} ms, holding {held_all:.0} \
         MiB more",
        ms(preview),
        ms(naming_alone),
        ms(preview_before)
    );

    // 6. Pruning: a pass that finds nothing (every file's only job, however old), then the whole
    //    folder sent a second time and the first round pruned.
    j.set_retention(Retention::days(30));
    let backdate = rusqlite::Connection::open(&db).unwrap();
    backdate.busy_timeout(Duration::from_secs(5)).unwrap();
    let age = |secs: f64| {
        backdate.execute("UPDATE jobs SET created_at = created_at - ?1, updated_at = updated_at - ?1", [secs]).unwrap()
    };
    age(60.0 * 86_400.0);
    let t = Instant::now();
    let nothing = j.prune().unwrap();
    let prune_none = t.elapsed();
    let again: Vec<u64> = queue_drops(j, &dest, &all, &mut Steps::default());
    for batch in again.chunks(ATTACH_BATCH) {
        j.record_attached_many(batch).unwrap();
    }
    let done: Vec<(u64, &DocStatus)> = again.iter().map(|&id| (id, &DocStatus::Ok)).collect();
    j.record_done_many(&done).unwrap();
    let t = Instant::now();
    assert_eq!(j.finished_files(BASE, &dest).unwrap().len(), n + DROP);
    let history_after = t.elapsed();
    let t = Instant::now();
    assert_eq!(finished_files_before(&db, &dest), n + DROP);
    let history_before = t.elapsed();
    age(60.0 * 86_400.0);
    let t = Instant::now();
    let pruned = j.prune().unwrap();
    let prune_all = t.elapsed();
    let t = Instant::now();
    assert_eq!(j.finished_files(BASE, &dest).unwrap().len(), n + DROP);
    let pruned_after = t.elapsed();
    let (file_after, wal_after) = size_mib(&db);
    assert_eq!((nothing.jobs, pruned.jobs), (0, n));
    println!(
        "prune at {} jobs: nothing to prune {:.0} ms ({} batches); the folder sent again, {} superseded jobs pruned \
         in {:.0} ms ({} batches, {:.1} ms each); file then {file_after:.1} MiB + WAL {wal_after:.1} MiB (freed \
         pages are reused)",
        n + DROP,
        ms(prune_none),
        nothing.batches,
        pruned.jobs,
        ms(prune_all),
        pruned.batches,
        ms(prune_all) / pruned.batches.max(1) as f64
    );
    println!(
        "sync lookup with the folder sent twice ({} jobs): {:.0} ms (before: {:.0} ms); after the prune: {:.0} ms",
        2 * n + DROP,
        ms(history_after),
        ms(history_before),
        ms(pruned_after)
    );

    println!(
        "JOURNAL jobs={n} url_bytes={url_bytes} size_mib_per_100k={per_100k:.1} bytes_per_job={bytes_per_job:.0} \
         claim_us={claim_us:.1} target_us={target_us:.1} uploaded_us={uploaded_us:.1} sync_lookup_ms={:.0} \
         sync_lookup_before_ms={:.0} latest_for_path_us={latest_us:.1} preview_files={real} preview_ms={:.0} \
         preview_before_ms={:.0} idle_check_us={idle_us:.1} idle_check_before_ms={:.1} prune_none_ms={:.0} \
         prune_all_ms={:.0} pruned={}",
        ms(sync_after),
        ms(sync_before),
        ms(preview),
        ms(preview_before),
        ms(idle_before),
        ms(prune_none),
        ms(prune_all),
        pruned.jobs
    );
}
