//! `upload`, `retry`, `status` and `docs`, and the live output: indicatif bars on a terminal,
//! one line per finished file otherwise, JSON lines with `--json`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use twindrop_engine::bandwidth::{Limiter, Timetable};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::queue::{self, ConflictPolicy, EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::service::inspect::AssetId;
use twindrop_engine::service::redivis::TableRef;
use twindrop_engine::service::trusted_twin::{DocEntry, DocStatus, StorageClass};
use twindrop_engine::service::{Destination, Service};
use twindrop_engine::{DocName, Error, Queue, TwinId};

use crate::Connection;

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Files uploading at the same time.
    #[arg(long, alias = "concurrency", default_value_t = 4)]
    parallel: usize,
    /// Bandwidth limit, e.g. `10M`, or a weekly timetable like `08:00,512k 19:00,10M 23:00,off`.
    #[arg(long)]
    bwlimit: Option<String>,
    /// Attempts per file before it fails, the first included (default: the engine's policy).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    attempts: Option<u32>,
}

/// Where the files go; which flag depends on the service.
#[derive(clap::Args)]
pub struct DestArgs {
    /// The Twin the Docs go to (Trusted Twin).
    #[arg(long, conflicts_with_all = ["table", "asset"])]
    twin: Option<String>,
    /// The file-index table the files go to (Redivis), e.g. `user.dataset:v1.files`.
    #[arg(long, conflicts_with = "asset")]
    table: Option<String>,
    /// The asset (UUID) the files go to (Inspect).
    #[arg(long)]
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
    /// Files larger than this go by a resumable session (Redivis), e.g. `50M`.
    #[arg(long, value_parser = crate::parse_size)]
    resumable_above: Option<u64>,
    /// Chunk size of resumable sessions: a multiple of 256 KiB.
    #[arg(long, default_value = "16M", value_parser = crate::parse_size)]
    chunk_size: u64,
    /// When a different Doc already has the name: skip, rename (name-1, name-2…) or replace.
    #[arg(long, default_value = "rename")]
    on_conflict: String,
    #[arg(long, default_value = "access_optimized")]
    storage_class: String,
    /// Description entry `key=value` (repeatable); a value that parses as JSON is sent as JSON.
    #[arg(long = "description", value_name = "KEY=VALUE")]
    description: Vec<String>,
    /// Print the plan (Doc names, uploads, skips) and do nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn options(run: &RunArgs) -> Result<Options, Error> {
    let mut opts = Options { parallel: run.parallel.max(1), ..Options::default() };
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
    opts.on_conflict = ConflictPolicy::parse(&args.on_conflict)?;
    opts.storage_class = StorageClass::parse(&args.storage_class)?;
    opts.description = description(&args.description)?;
    if let Some(above) = args.resumable_above {
        opts.resumable_above = above;
    }
    opts.chunk_size = twindrop_engine::transfer::resumable::chunk_size(args.chunk_size)?;
    let journal = Arc::new(journal);
    let queue = Queue::new(service, journal.clone(), opts);
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
    #[arg(long)]
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
        if json {
            println!("{}", json!({ "doc_name": name, "size": size, "status": status, "sha256": doc.sha256 }));
        } else {
            println!("{status:<13} {size:>12}  {name}");
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
                QueueEvent::Stats { bytes_per_sec, files_per_sec, eta_secs, bytes_done, bytes_total, .. } => {
                    if let Some((_, total)) = &bars {
                        total.set_length(bytes_total);
                        total.set_position(bytes_done);
                        let eta = eta_secs.map(|s| format!(", {s:.0} s left")).unwrap_or_default();
                        // Small files: bytes per second says little, files per second says it.
                        let files = match small_files(bytes_per_sec, files_per_sec) {
                            true => format!("{files_per_sec:.0} files/s, "),
                            false => String::new(),
                        };
                        total.set_message(format!("{files}{}/s{eta}", indicatif::HumanBytes(bytes_per_sec as u64)));
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

/// Files go by faster than one a second and average under 1 MiB: the rate of files is the
/// figure that means something (the app's queue header follows the same rule).
fn small_files(bytes_per_sec: f64, files_per_sec: f64) -> bool {
    files_per_sec >= 1.0 && bytes_per_sec / files_per_sec < (1 << 20) as f64
}
