//! `twindrop sync` (watched folders) and `twindrop name` (the Doc name a path would get).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use twindrop_engine::naming::{sanitize_path, Template};
use twindrop_engine::profile::{SettingsFile, WatchedFolder};
use twindrop_engine::queue::{ConflictPolicy, FolderConflicts, Options, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::sync::{namer, queue_ended, DeletePolicy, SyncOptions, Syncer};
use twindrop_engine::{Error, Queue};

use crate::upload::{description, options, DestArgs, Printer, RunArgs};

#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    dest: DestArgs,
    /// The folder to keep in step (omit it with --saved).
    #[arg(required_unless_present = "saved")]
    dir: Option<PathBuf>,
    /// Run every folder saved with --save instead, each with its own settings.
    #[arg(long, conflicts_with = "dir")]
    saved: bool,
    /// Send what is there (and changed since the last run), then stop.
    #[arg(long)]
    once: bool,
    /// Doc names from a template, e.g. `{dir}/{stem}.{ext}`, `{date:%Y-%m}/{name}`, `{hash8}`.
    #[arg(long)]
    template: Option<String>,
    /// A gitignore-style pattern to leave out (repeatable), on top of the defaults.
    #[arg(long)]
    ignore: Vec<String>,
    /// How long (ms) a file must stay unchanged before it is sent.
    #[arg(long, default_value_t = 2000)]
    gate_ms: u64,
    /// What a deleted file does to its Doc: ignore (keep it) or mirror (delete it, once the
    /// file has stayed gone for the gate and only if the Doc still holds what was sent).
    #[arg(long, default_value = "ignore")]
    delete: String,
    /// When a Doc this folder did not make has a file's name: rename (attach as `name-1.ext`)
    /// or skip. A changed file always replaces the Doc it made itself.
    #[arg(long, default_value = "rename")]
    on_conflict: String,
    #[arg(long, default_value = "access_optimized")]
    storage_class: String,
    /// Description entry `key=value` (repeatable).
    #[arg(long = "description", value_name = "KEY=VALUE")]
    description: Vec<String>,
    /// Remember this folder and its settings in the config (run them all with --saved).
    #[arg(long)]
    save: bool,
}

#[derive(clap::Args)]
pub struct NameArgs {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A name template (see `twindrop sync --help`).
    #[arg(long)]
    template: Option<String>,
}

pub async fn sync(
    settings: &SettingsFile,
    journal: Option<&PathBuf>,
    args: SyncArgs,
    json: bool,
) -> Result<ExitCode, Error> {
    let folders = match &args.dir {
        Some(dir) => {
            let folder = WatchedFolder {
                path: std::fs::canonicalize(dir).map_err(|e| Error::file(dir, e))?,
                profile: args.run.conn.profile.clone(),
                destination: String::new(),
                template: args.template.clone(),
                ignore: args.ignore.clone(),
                storage_class: Some(args.storage_class.clone()),
                description: description(&args.description)?,
                delete: DeletePolicy::parse(&args.delete)?,
                on_conflict: FolderConflicts::parse(&args.on_conflict)?,
                paused: false,
            };
            vec![folder]
        }
        None => settings.load()?.watched.into_iter().filter(|w| !w.paused).collect(),
    };
    if folders.is_empty() {
        return Err(Error::invalid(
            twindrop_engine::Invalid::Option,
            "no saved folders: add one with `twindrop sync DIR --twin T --save`",
        ));
    }
    let journal = Arc::new(crate::open_journal(journal)?);
    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        });
    }
    let printer = Printer::new(json);
    // One queue per server: queues sharing a journal would claim each other's jobs and, as
    // each starts, put the others' uploads in flight back in the queue. Folders on one server
    // share its queue; each keeps its own destination, storage class and description.
    let mut queues: Vec<Arc<Queue>> = Vec::new();
    let mut syncers = tokio::task::JoinSet::new();
    for mut folder in folders {
        let mut conn = args.run.conn.clone();
        conn.profile = folder.profile.clone().or(conn.profile);
        let service = crate::connect_service(settings, &conn).await?;
        let dest = if args.dir.is_some() {
            args.dest.destination(&service)?
        } else {
            twindrop_engine::service::Destination::parse_for(&service, &folder.destination)?
        };
        folder.destination = dest.as_str().to_owned();
        if args.save {
            settings.update(|s| {
                s.watch(folder.clone());
                Ok(())
            })?;
        }
        let same_server =
            |q: &&Arc<Queue>| q.service().kind() == service.kind() && q.service().base_url() == service.base_url();
        let queue = match queues.iter().find(same_server) {
            Some(q) => q.clone(),
            None => {
                let opts = Options {
                    // A sync never gives up on a server that is away: jobs wait and try again.
                    retry: RetryPolicy {
                        max_attempts: u32::MAX,
                        cap: Duration::from_secs(60),
                        ..RetryPolicy::default()
                    },
                    // Each folder's own policy comes with its batch; a changed file still
                    // replaces the Doc it made (the journal proves it).
                    on_conflict: ConflictPolicy::Rename,
                    ..options(&args.run)?
                };
                let q = Queue::new(service, journal.clone(), opts);
                queues.push(q.clone());
                q
            }
        };
        let template = folder.template.as_deref().map(Template::parse).transpose()?;
        let sync_opts = SyncOptions {
            gate: Duration::from_millis(args.gate_ms),
            ignore: folder.ignore.clone(),
            delete: folder.delete,
            batch: folder.batch()?,
            ..SyncOptions::default()
        };
        let syncer = Syncer::new(queue, &folder.path, dest, namer(template, folder.path.clone()), sync_opts)?;
        if !json {
            eprintln!("watching {} (Ctrl-C to stop)", folder.path.display());
        }
        syncers.spawn(syncer.watch(printer.sink(), args.once, stop.clone()));
    }
    let mut runners = tokio::task::JoinSet::new();
    for queue in queues {
        let sink = printer.sink();
        runners.spawn(async move { queue.run(sink, RunMode::Forever).await });
    }
    let mut outcome = Ok(ExitCode::SUCCESS);
    loop {
        tokio::select! {
            ended = syncers.join_next() => match ended {
                None => break,
                Some(ended) => {
                    if let Err(e) = ended.map_err(|e| Error::Internal(format!("sync task: {e}"))).and_then(|r| r) {
                        outcome = Err(e);
                        stop.cancel();
                    }
                }
            },
            // A queue runs for ever: its end is an error, and the folders on it can do nothing.
            Some(ended) = runners.join_next() => {
                outcome = Err(queue_ended(ended));
                stop.cancel();
            }
        }
    }
    runners.abort_all();
    printer.finish();
    match outcome {
        Ok(_) if args.once => Ok(printer.exit(true)),
        other => other,
    }
}

pub fn name(args: NameArgs, json: bool) -> Result<ExitCode, Error> {
    let template = args.template.as_deref().map(Template::parse).transpose()?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut all_named = true;
    let mut named: Vec<Result<twindrop_engine::DocName, Error>> = args
        .paths
        .iter()
        .map(|path| {
            let relative = relative_to(&cwd, path);
            match &template {
                None => sanitize_path(&relative),
                Some(t) => std::fs::metadata(path)
                    .map_err(|e| Error::file(path, e))
                    .and_then(|meta| namer(Some(t.clone()), cwd.clone())(&relative, &meta))
                    .and_then(|name| twindrop_engine::DocName::parse(&name)),
            }
        })
        .collect();
    // Files named alike get the names a sync of them would: the same, unique, every time.
    let valid: Vec<usize> = (0..named.len()).filter(|&i| named[i].is_ok()).collect();
    let items: Vec<(&Path, twindrop_engine::DocName)> =
        valid.iter().map(|&i| (args.paths[i].as_path(), named[i].as_ref().expect("valid").clone())).collect();
    for (&i, name) in valid.iter().zip(twindrop_engine::naming::unique_names(&items)) {
        named[i] = Ok(name);
    }
    for (path, named) in args.paths.iter().zip(named) {
        match (named, json) {
            (Ok(name), true) => println!("{}", json!({ "path": path.display().to_string(), "doc_name": name })),
            (Ok(name), false) => println!("{name}  {}", path.display()),
            (Err(e), true) => {
                all_named = false;
                println!("{}", json!({ "path": path.display().to_string(), "error": e.info() }))
            }
            (Err(e), false) => {
                all_named = false;
                eprintln!("error [{}]: {}: {e}", e.code(), path.display())
            }
        }
    }
    Ok(crate::exit::files(all_named))
}

/// A path as the user means it: relative as given, or relative to the current folder when it
/// is inside it; otherwise just its file name.
fn relative_to(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_relative() {
        return path.to_owned();
    }
    match path.strip_prefix(cwd) {
        Ok(rel) => rel.to_owned(),
        Err(_) => path.file_name().map(PathBuf::from).unwrap_or_else(|| path.to_owned()),
    }
}
