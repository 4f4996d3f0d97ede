//! `upload`, `retry`, `status` and `docs`, and the live output: indicatif bars on a terminal,
//! one line per finished file otherwise, JSON lines with `--json`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::builder::FalseyValueParser;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use twindrop_engine::bandwidth::{Limiter, Timetable};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::naming::{self, NamedFile};
use twindrop_engine::queue::{self, Batch, EventSink, Options, Planned, QueueEvent, RunMode};
use twindrop_engine::service::inspect::AssetId;
use twindrop_engine::service::redivis::TableRef;
use twindrop_engine::service::trusted_twin::{DocEntry, DocStatus};
use twindrop_engine::service::{Destination, Service};
use twindrop_engine::size::ByteSize;
use twindrop_engine::{DocName, Error, Queue, TwinId};

use crate::choice::{self, OnConflict, Storage};
use crate::Connection;

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Files uploading at the same time.
    #[arg(long, alias = "concurrency", env = "TWINDROP_PARALLEL", default_value_t = 4)]
    parallel: usize,
    /// Bandwidth limit, e.g. `10M`, `1.5MB/s`, or a weekly timetable like `08:00,512k 19:00,10M 23:00,off`.
    #[arg(long, env = "TWINDROP_BWLIMIT")]
    bwlimit: Option<String>,
    /// Attempts per file before it fails, the first included (default: the engine's policy).
    #[arg(long, env = "TWINDROP_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..))]
    attempts: Option<u32>,
    /// Do not add each file's own name to its Doc's description (`original_name`, Trusted Twin).
    #[arg(long, env = "TWINDROP_NO_ORIGINAL_NAME", value_parser = FalseyValueParser::new())]
    no_original_name: bool,
}

/// Where the files go; which flag depends on the service.
#[derive(clap::Args)]
pub struct DestArgs {
    /// The Twin the Docs go to (Trusted Twin).
    #[arg(long, env = "TWINDROP_TWIN", conflicts_with_all = ["table", "asset"])]
    twin: Option<String>,
    /// The file-index table the files go to (Redivis), e.g. `user.dataset:v1.files`.
    #[arg(long, env = "TWINDROP_TABLE", conflicts_with = "asset")]
    table: Option<String>,
    /// The asset (UUID) the files go to (Inspect).
    #[arg(long, env = "TWINDROP_ASSET")]
    asset: Option<String>,
}

impl DestArgs {
    pub fn destination(&self, service: &Service) -> Result<Destination, Error> {
        let needs = |flag: &str| {
            Error::invalid(twindrop_engine::Invalid::Destination, format!("this service's uploads need {flag}"))
        };
        let dest = match service {
            Service::TrustedTwin(_) => {
                Destination::Twin(TwinId::parse(self.twin.as_deref().ok_or_else(|| needs("--twin"))?)?)
            }
            Service::Redivis(_) => {
                Destination::Table(TableRef::parse(self.table.as_deref().ok_or_else(|| needs("--table"))?)?)
            }
            Service::Inspect(_) => {
                Destination::Asset(AssetId::parse(self.asset.as_deref().ok_or_else(|| needs("--asset"))?)?)
            }
            Service::Hbr(_) => Destination::TempFiles,
        };
        let flags = [&self.twin, &self.table, &self.asset].iter().filter(|f| f.is_some()).count();
        if flags > usize::from(dest != Destination::TempFiles) {
            return Err(Error::invalid(
                twindrop_engine::Invalid::Option,
                format!("{:?} uploads take only their own destination flag", service.kind()),
            ));
        }
        Ok(dest)
    }
}

#[derive(clap::Args)]
pub struct UploadArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    dest: DestArgs,
    /// Files larger than this go by a resumable session (Redivis), e.g. `50M` or `50MB`.
    #[arg(long, env = "TWINDROP_RESUMABLE_ABOVE", value_parser = crate::size_flag)]
    resumable_above: Option<ByteSize>,
    /// Chunk size of resumable sessions: a multiple of 256 KiB.
    #[arg(long, env = "TWINDROP_CHUNK_SIZE", default_value = "16M", value_parser = crate::size_flag)]
    chunk_size: ByteSize,
    /// When a different Doc already has the name.
    #[arg(long, env = "TWINDROP_ON_CONFLICT", default_value = "rename", value_parser = choice::parser::<OnConflict>())]
    on_conflict: OnConflict,
    #[arg(long, env = "TWINDROP_STORAGE_CLASS", default_value = "access_optimized", value_parser = choice::parser::<Storage>())]
    storage_class: Storage,
    /// Description entry `key=value` (repeatable); a value that parses as JSON is sent as JSON.
    #[arg(long = "description", value_name = "KEY=VALUE", env = "TWINDROP_DESCRIPTION")]
    description: Vec<String>,
    /// Print the plan (Doc names, uploads, skips) and do nothing.
    #[arg(long, env = "TWINDROP_DRY_RUN", value_parser = FalseyValueParser::new())]
    dry_run: bool,
    /// Files, and folders: a folder's files (all the way down, without the files a watched
    /// folder ignores by default) become Docs named by their path from the folder on
    /// (`photos/2024/a.jpg`), as the app's "Add folder…" names them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn options(run: &RunArgs) -> Result<Options, Error> {
    let mut opts =
        Options { parallel: run.parallel.max(1), original_name: !run.no_original_name, ..Options::default() };
    if let Some(attempts) = run.attempts {
        opts.retry.max_attempts = attempts;
    }
    if let Some(spec) = &run.bwlimit {
        opts.bwlimit = Some(Arc::new(Limiter::new(Timetable::parse(spec)?)));
    }
    Ok(opts)
}

pub fn description(entries: &[String]) -> Result<Option<Value>, Error> {
    queue::description_from_entries(entries)
}

pub async fn upload(service: Service, journal: Journal, args: UploadArgs, json: bool) -> Result<ExitCode, Error> {
    let dest = args.dest.destination(&service)?;
    let mut opts = options(&args.run)?;
    opts.on_conflict = args.on_conflict.into();
    opts.storage_class = args.storage_class.into();
    opts.description = description(&args.description)?;
    if let Some(above) = args.resumable_above {
        opts.resumable_above = above.bytes();
    }
    opts.chunk_size = twindrop_engine::transfer::resumable::chunk_size(args.chunk_size.bytes())?;
    let journal = Arc::new(journal);
    let queue = Queue::new(service, journal.clone(), opts);
    if args.files.iter().any(|path| path.is_dir()) {
        return upload_folders(&queue, dest, &args, json).await;
    }
    if args.dry_run {
        for item in queue.plan(&dest, &args.files).await? {
            if json {
                println!("{}", serde_json::to_string(&item).expect("plan item"));
            } else {
                println!("{}", queue::describe(&item));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let printer = Printer::new(json);
    let ids = queue.enqueue(dest, &args.files, &printer.sink()).await?;
    run_until_settled(&queue, &printer, &ids, true).await
}

/// Paths with folders among them go as the app's "Add folder…" sends a drop: the engine's
/// naming preview (`Queue::names_preview`: the walk, the default ignores, names from the path
/// below the dropped folder, the journal's word on names taken and files unchanged), then the
/// files it named under those names (`Queue::enqueue_planned`). A file the preview refuses
/// (unreadable, no usable name, an empty folder) is reported and fails the run; the others go.
async fn upload_folders(
    queue: &Arc<Queue>,
    dest: Destination,
    args: &UploadArgs,
    json: bool,
) -> Result<ExitCode, Error> {
    let files = queue.names_preview(Some(&dest), args.files.clone(), None).await?;
    naming::cut_short(&files)?;
    if args.dry_run {
        for file in &files {
            match json {
                true => println!("{}", serde_json::to_string(file).expect("preview item")),
                false => println!("{}", describe_named(file)),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let printer = Printer::new(json);
    let notice = printer.notice();
    let (mut planned, mut all_planned) = (Vec::new(), true);
    for file in files {
        let path = file.path.display().to_string();
        match (file.problem, file.name) {
            (None, Some(name)) => {
                if let Some(note) = file.notice {
                    notice(format!("{path}: {}", note.message));
                }
                planned.push(Planned { path: file.path, name });
            }
            (problem, _) => {
                let problem =
                    problem.map_or_else(|| ("name.invalid".into(), "no name".into()), |p| (p.code, p.message));
                all_planned = printer.refused_path(&path, &problem.0, &problem.1);
            }
        }
    }
    if planned.is_empty() {
        printer.finish();
        return Ok(printer.exit(false));
    }
    let opts = queue.options();
    let batch = Batch { storage_class: opts.storage_class, description: opts.description.clone(), on_conflict: None };
    let ids = queue.enqueue_planned(dest, &planned, &batch, &printer.sink()).await?;
    run_until_settled(queue, &printer, &ids, all_planned).await
}

/// A line of `upload --dry-run` for a file of a folder, in the words of `queue::describe`.
fn describe_named(file: &NamedFile) -> String {
    let (name, path) = (file.name.as_deref().unwrap_or("-"), file.path.display());
    match (&file.problem, &file.notice) {
        (Some(problem), _) => format!("refuse  [{}] {}  ({path})", problem.code, problem.message),
        (None, Some(notice)) if notice.code == naming::UNCHANGED => {
            format!("skip    {name}  ({path}: {})", notice.message)
        }
        (None, Some(notice)) => format!("upload  {name}  ({path}; {})", notice.message),
        (None, None) => format!("upload  {name}  ({path})"),
    }
}

/// Run the queue until nothing is left, then the exit code: every one of `ids` ended `ok` or
/// skipped (and `so_far` held), or which failure it was.
async fn run_until_settled(
    queue: &Arc<Queue>,
    printer: &Printer,
    ids: &[u64],
    so_far: bool,
) -> Result<ExitCode, Error> {
    queue.run(printer.sink(), RunMode::UntilIdle).await?;
    printer.finish();
    let journal = queue.journal();
    let all_good = ids.iter().all(|id| journal.get(*id).is_ok_and(|j| j.state == JobState::Skipped || j.is_ok()));
    Ok(printer.exit(so_far && all_good))
}

#[derive(clap::Args)]
pub struct ResendArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The Twin the Docs are on.
    #[arg(long, env = "TWINDROP_TWIN")]
    twin: String,
    /// The Docs' names.
    #[arg(required = true)]
    names: Vec<String>,
}

/// `twindrop resend`: each Doc named is sent again (`Queue::resend_doc`); one that cannot be
/// (it is `ok`, its file is gone, Twindrop did not send it) is reported and the others go on.
pub async fn resend(service: Service, journal: Journal, args: ResendArgs, json: bool) -> Result<ExitCode, Error> {
    let twin = TwinId::parse(&args.twin)?;
    let queue = Queue::new(service, Arc::new(journal), options(&args.run)?);
    let printer = Printer::new(json);
    let (mut ids, mut all_sent) = (Vec::new(), true);
    for name in &args.names {
        match DocName::parse(name) {
            Ok(doc) => match queue.resend_doc(&twin, &doc, &printer.sink()).await {
                Ok(new) => ids.extend(new),
                Err(e) => all_sent = printer.refused(name, &e),
            },
            Err(e) => all_sent = printer.refused(name, &e),
        }
    }
    run_until_settled(&queue, &printer, &ids, all_sent).await
}

pub async fn retry(service: Service, journal: Journal, args: RunArgs, json: bool) -> Result<ExitCode, Error> {
    let base = service.base_url().to_owned();
    let journal = Arc::new(journal);
    let queue = Queue::new(service, journal.clone(), options(&args)?);
    let quiet: EventSink = Arc::new(|_| {});
    let n = queue.retry_failed(&quiet)?;
    if !json {
        eprintln!("{n} failed job(s) back in the queue");
    }
    let printer = Printer::new(json);
    queue.run(printer.sink(), RunMode::UntilIdle).await?;
    printer.finish();
    let failed = journal.list(Some(&base), &[JobState::Failed])?.len();
    Ok(printer.exit(failed == 0))
}

pub fn status(journal: &Journal, pending: bool, json: bool) -> Result<(), Error> {
    let jobs = journal.list(None, &[])?;
    for job in jobs.iter().filter(|j| !pending || !j.state.is_final() || j.state == JobState::Failed) {
        if json {
            println!("{}", serde_json::to_string(job).expect("job"));
        } else {
            let outcome = match (&job.doc_status, &job.error_code) {
                (_, Some(code)) => format!("[{code}] {}", job.error_message.as_deref().unwrap_or("")),
                (Some(status), None) => status.as_str().to_owned(),
                (None, None) => job.error_message.clone().unwrap_or_default(),
            };
            println!(
                "{:>6}  {:<10} {:<32} {}  {}",
                job.id,
                job.state.as_str(),
                job.doc_name,
                job.path.display(),
                outcome
            );
        }
    }
    Ok(())
}

/// The Docs of a Twin as `list_docs_detailed` read them.
pub fn docs(listing: &[DocEntry], json: bool) {
    for doc in listing {
        let (name, size, status) = (&doc.name, doc.size.unwrap_or(0), doc.status.as_str());
        // The file's own name, where the Doc keeps it.
        let original = doc.description.as_ref().and_then(|d| d.get(queue::ORIGINAL_NAME)).and_then(Value::as_str);
        if json {
            println!(
                "{}",
                json!({ "doc_name": name, "size": size, "status": status, "sha256": doc.sha256,
                        "original_name": original })
            );
        } else {
            // Said only when the Doc's name is not the file's own.
            let from = original.filter(|o| !name.ends_with(*o)).map(|o| format!("  (from {o:?})")).unwrap_or_default();
            println!("{status:<13} {size:>12}  {name}{from}");
        }
    }
}

/// Turns queue events into output. On a terminal: a bar per active file plus a total bar;
/// otherwise (or with `--json`) one line per file as it ends.
pub struct Printer {
    json: bool,
    bars: Option<(MultiProgress, ProgressBar)>,
    state: Arc<Mutex<HashMap<u64, Item>>>,
    /// Jobs whose last word was a failure (or a Doc not `ok`), with its code: the exit code's say.
    failed: Arc<Mutex<HashMap<u64, String>>>,
}

/// A file being shown: its path, and its bar on a terminal.
type Item = (String, Option<ProgressBar>);

/// The file's path; its bar (if any) is cleared, as the file's final line replaces it.
fn settle(state: &mut HashMap<u64, Item>, id: u64) -> String {
    let (path, bar) = state.remove(&id).unwrap_or_default();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    path
}

impl Printer {
    pub fn new(json: bool) -> Self {
        let bars = (!json && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::new();
            let total = multi.add(ProgressBar::new(0));
            total.set_style(
                ProgressStyle::with_template("{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {msg}")
                    .expect("template")
                    .progress_chars("=> "),
            );
            total.set_prefix("total");
            (multi, total)
        });
        Printer { json, bars, state: Arc::default(), failed: Arc::default() }
    }

    pub fn sink(&self) -> EventSink {
        let json = self.json;
        let bars = self.bars.clone();
        let state = self.state.clone();
        let failed = self.failed.clone();
        Arc::new(move |event: QueueEvent| {
            {
                let mut failed = failed.lock().expect("printer");
                match &event {
                    QueueEvent::Failed { id, error } => {
                        failed.insert(*id, error.code.clone());
                    }
                    QueueEvent::Finished { id, status, .. } if *status != DocStatus::Ok => {
                        failed.insert(*id, format!("doc.{}", status.as_str()));
                    }
                    QueueEvent::Finished { id, .. }
                    | QueueEvent::Skipped { id, .. }
                    | QueueEvent::State { id, state: JobState::Queued } => {
                        failed.remove(id);
                    }
                    _ => {}
                }
            }
            let mut state = state.lock().expect("printer");
            let line = |text: String| match &bars {
                Some((multi, _)) => {
                    let _ = multi.println(text);
                }
                None => println!("{text}"),
            };
            match event {
                QueueEvent::Added { id, path, size, .. } => {
                    let bar = bars.as_ref().map(|(multi, total)| {
                        let bar = multi.insert_before(total, ProgressBar::new(size.unwrap_or(0)));
                        bar.set_style(
                            ProgressStyle::with_template("{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {wide_msg}")
                                .expect("template")
                                .progress_chars("=> "),
                        );
                        bar.set_prefix("queued");
                        bar.set_message(path.clone());
                        bar
                    });
                    state.insert(id, (path, bar));
                }
                QueueEvent::Progress { id, stage, bytes_done, bytes_total } => {
                    if let Some((_, Some(bar))) = state.get(&id) {
                        bar.set_length(bytes_total);
                        bar.set_position(bytes_done);
                        bar.set_prefix(format!("{stage:?}").to_lowercase());
                    }
                }
                QueueEvent::Stats {
                    bytes_per_sec,
                    files_per_sec,
                    eta_secs,
                    bytes_done,
                    bytes_total,
                    files_done,
                    files_failed,
                    files_total,
                    ..
                } => {
                    if let Some((_, total)) = &bars {
                        total.set_length(bytes_total);
                        total.set_position(bytes_done);
                        // The window's headline, from the same figures: "237 of 1005, 3 failed, …".
                        let failed = if files_failed > 0 { format!(", {files_failed} failed") } else { String::new() };
                        let eta = eta_secs.map(|s| format!(", {s:.0} s left")).unwrap_or_default();
                        // Small files: bytes per second says little, files per second says it.
                        let files = match twindrop_engine::progress::small_files(bytes_per_sec, files_per_sec) {
                            true => format!("{files_per_sec:.0} files/s, "),
                            false => String::new(),
                        };
                        let rate = twindrop_engine::size::human_rate(bytes_per_sec);
                        total.set_message(format!("{files_done} of {files_total}{failed} · {files}{rate}{eta}"));
                    }
                }
                QueueEvent::Finished { id, doc_name, status, sha256 } => {
                    let path = settle(&mut state, id);
                    if json {
                        line(
                            json!({ "path": path, "doc_name": doc_name, "status": status, "sha256": sha256 })
                                .to_string(),
                        );
                    } else {
                        line(format!("{:<13} {doc_name}  ({path})", status.as_str()));
                    }
                }
                QueueEvent::Skipped { id, doc_name, reason } => {
                    let path = settle(&mut state, id);
                    if json {
                        line(
                            json!({ "path": path, "doc_name": doc_name, "status": "skipped", "reason": reason })
                                .to_string(),
                        );
                    } else {
                        line(format!("{:<13} {doc_name}  ({path}: {reason})", "skipped"));
                    }
                }
                QueueEvent::Failed { id, error } => {
                    let path = settle(&mut state, id);
                    if json {
                        line(json!({ "path": path, "status": "failed", "error": error }).to_string());
                    } else {
                        // File errors already name the file; others get it appended.
                        let place = if error.message.contains(&path) { String::new() } else { format!("  ({path})") };
                        line(format!("{:<13} [{}] {}{place}", "failed", error.code, error.message));
                    }
                }
                QueueEvent::Renamed { id, doc_name } => {
                    if let Some((path, _)) = state.get(&id) {
                        if json {
                            line(json!({ "path": path, "event": "renamed", "doc_name": doc_name }).to_string());
                        } else {
                            line(format!(
                                "{:<13} {doc_name}  ({path}: its name is another file's or another Doc's)",
                                "renamed"
                            ));
                        }
                    }
                }
                QueueEvent::Retrying { id, error, wait_ms } => {
                    tracing::info!(job = id, code = %error.code, wait_ms, "retrying");
                }
                QueueEvent::State { .. } => {}
            }
        })
    }

    /// A Doc that could not be sent again, said like a failed file; `false`, for the exit code.
    pub fn refused(&self, name: &str, e: &Error) -> bool {
        match self.json {
            true => println!("{}", json!({ "doc_name": name, "status": "failed", "error": e.info() })),
            false => eprintln!("{:<13} [{}] {}  ({name})", "failed", e.code(), e.info().message),
        }
        false
    }

    /// A file that was not queued (the folder preview refused it), said like a failed file;
    /// `false`, for the exit code.
    pub fn refused_path(&self, path: &str, code: &str, message: &str) -> bool {
        let error = json!({ "code": code, "message": message, "retryable": false });
        match self.json {
            true => println!("{}", json!({ "path": path, "status": "failed", "error": error })),
            false => eprintln!("{:<13} [{code}] {message}  ({path})", "failed"),
        }
        false
    }

    /// The exit code for a run in which `all_good` says whether every file ended `ok` or
    /// skipped: files failed, or fatal when a failure was one no file could escape (the secret
    /// refused, the server unreachable).
    pub fn exit(&self, all_good: bool) -> ExitCode {
        let failed = self.failed.lock().expect("printer");
        if all_good && failed.is_empty() {
            return ExitCode::from(crate::exit::OK);
        }
        if failed.values().any(|code| crate::exit::is_fatal(code)) {
            return ExitCode::from(crate::exit::FATAL);
        }
        ExitCode::from(crate::exit::FILES_FAILED)
    }

    /// A watched folder's notice: a JSON line `{"notice": …}`, or a line on stderr.
    pub fn notice(&self) -> twindrop_engine::folders::syncer::Notice {
        let (json, bars) = (self.json, self.bars.clone());
        Arc::new(move |message: String| match (json, &bars) {
            (true, _) => println!("{}", json!({ "notice": message })),
            (false, Some((multi, _))) => {
                let _ = multi.println(format!("note: {message}"));
            }
            (false, None) => eprintln!("note: {message}"),
        })
    }

    pub fn finish(&self) {
        if let Some((_, total)) = &self.bars {
            total.finish_and_clear();
        }
    }
}
