//! `twindrop sync` (watched folders) and `twindrop name` (the Doc name a path would get).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::builder::FalseyValueParser;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use twindrop_engine::folders::{self, namer};
use twindrop_engine::journal::Journal;
use twindrop_engine::naming::{sanitize_path, Template};
use twindrop_engine::profile::{SettingsFile, WatchedFolder};
use twindrop_engine::service::trusted_twin::StorageClass;
use twindrop_engine::Error;

use crate::choice::{self, FolderOnConflict, OnDelete, Storage};
use crate::upload::{description, options, DestArgs, Printer, RunArgs};

#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    dest: DestArgs,
    /// The folder to keep in step (omit it with --saved or --status).
    #[arg(required_unless_present_any = ["saved", "status"])]
    dir: Option<PathBuf>,
    /// Run every folder saved with --save instead, each with its own settings.
    #[arg(long, conflicts_with = "dir", env = "TWINDROP_SAVED", value_parser = FalseyValueParser::new())]
    saved: bool,
    /// Say how each saved folder stands and stop: its files in step, waiting and failed (by
    /// their newest job), the last synced with their Doc names, and its changes not yet sent.
    #[arg(long, conflicts_with_all = ["dir", "saved", "once", "save"])]
    status: bool,
    /// Send what is there (and changed since the last run), then stop.
    #[arg(long, env = "TWINDROP_ONCE", value_parser = FalseyValueParser::new())]
    once: bool,
    /// Doc names from a template, e.g. `{dir}/{stem}.{ext}`, `{date:%Y-%m}/{name}`, `{hash8}`.
    #[arg(long, env = "TWINDROP_TEMPLATE")]
    template: Option<String>,
    /// A gitignore-style pattern to leave out (repeatable), on top of the defaults.
    #[arg(long, env = "TWINDROP_IGNORE")]
    ignore: Vec<String>,
    /// How long (ms) a file must stay unchanged before it is sent.
    #[arg(long, env = "TWINDROP_GATE_MS", default_value_t = 2000)]
    gate_ms: u64,
    /// What a deleted file does to its Doc (mirror: once the file has stayed gone for the gate
    /// and only if the Doc still holds what was sent).
    #[arg(long, env = "TWINDROP_DELETE", default_value = "ignore", value_parser = choice::parser::<OnDelete>())]
    delete: OnDelete,
    /// When a Doc this folder did not make has a file's name (rename: attach as `name-1.ext`).
    /// A changed file always replaces the Doc it made itself.
    #[arg(long, env = "TWINDROP_ON_CONFLICT", default_value = "rename", value_parser = choice::parser::<FolderOnConflict>())]
    on_conflict: FolderOnConflict,
    #[arg(long, env = "TWINDROP_STORAGE_CLASS", default_value = "access_optimized", value_parser = choice::parser::<Storage>())]
    storage_class: Storage,
    /// Description entry `key=value` (repeatable).
    #[arg(long = "description", value_name = "KEY=VALUE", env = "TWINDROP_DESCRIPTION")]
    description: Vec<String>,
    /// Remember this folder and its settings in the config (run them all with --saved).
    #[arg(long, env = "TWINDROP_SAVE", value_parser = FalseyValueParser::new())]
    save: bool,
}

#[derive(clap::Args)]
pub struct NameArgs {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A name template (see `twindrop sync --help`).
    #[arg(long, env = "TWINDROP_TEMPLATE")]
    template: Option<String>,
}

pub async fn sync(
    settings: &SettingsFile,
    journal: Option<&PathBuf>,
    args: SyncArgs,
    json: bool,
) -> Result<ExitCode, Error> {
    if args.status {
        return status(settings, journal, &args, json).await;
    }
    let saved = match &args.dir {
        Some(dir) => vec![folder_from_args(dir, &args)?],
        None => settings.load()?.watched.into_iter().filter(|w| !w.paused).collect(),
    };
    let mut folders = Vec::new();
    for mut folder in saved {
        let mut conn = args.run.conn.clone();
        conn.profile = folder.profile.clone().or(conn.profile);
        let service = crate::connect_service(settings, &conn).await?;
        if args.dir.is_some() {
            folder.destination = args.dest.destination(&service)?.as_str().to_owned();
        }
        if args.save {
            settings.update(|s| {
                s.watch(folder.clone());
                Ok(())
            })?;
        }
        if !json {
            eprintln!("watching {} (Ctrl-C to stop)", folder.path.display());
        }
        folders.push((folder, service));
    }
    // The app's watched folders keep their jobs in this journal too: a folder is never sent
    // twice because it was run from the CLI once and from the app after.
    let journal = folders_journal(settings, journal)?;
    let stop = CancellationToken::new();
    let on_ctrl_c = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_ctrl_c.cancel();
    });
    let printer = Printer::new(json);
    let gate = Duration::from_millis(args.gate_ms);
    let listeners = folders::Listeners { events: printer.sink(), notice: printer.notice() };
    let ran = folders::run(folders, Arc::new(journal), options(&args.run)?, gate, listeners, args.once, stop);
    let outcome = ran.await;
    printer.finish();
    outcome?;
    Ok(if args.once { printer.exit(true) } else { ExitCode::SUCCESS })
}

/// The watched folders' journal (or the one `--journal` names).
fn folders_journal(settings: &SettingsFile, journal: Option<&PathBuf>) -> Result<Journal, Error> {
    let retention = settings.retention();
    match journal {
        Some(path) => Journal::open_with(path, retention),
        None => Journal::open_with(&twindrop_engine::profile::folders_journal_path()?, retention),
    }
}

/// `sync --status`: each saved folder, paused or not, with what the app's Watched tab says of
/// it (`folders::files_of`, `folders::changes_of`: the same engine calls). Its changes are
/// counted whether or not it is paused: nothing may be watching it now.
async fn status(
    settings: &SettingsFile,
    journal: Option<&PathBuf>,
    args: &SyncArgs,
    json: bool,
) -> Result<ExitCode, Error> {
    let journal = Arc::new(folders_journal(settings, journal)?);
    for folder in settings.load()?.watched {
        let mut conn = args.run.conn.clone();
        conn.profile = folder.profile.clone().or(conn.profile);
        let service = crate::connect_service(settings, &conn).await?;
        // Not run: it only lends the folder's syncer its journal and service.
        let queue = twindrop_engine::queue::Queue::new(service, journal.clone(), options(&args.run)?);
        let files = folders::files_of(&queue, &folder)?;
        let changes = folders::changes_of(&queue, &folder)?;
        let path = folder.path.display().to_string();
        let c = files.counts;
        if json {
            let recent: Vec<_> = files
                .recent
                .iter()
                .map(|f| json!({ "path": f.path, "doc_name": f.doc_name, "at_ms": f.at_ms }))
                .collect();
            println!(
                "{}",
                json!({
                    "path": path,
                    "destination": folder.destination,
                    "paused": folder.paused,
                    "in_step": c.in_step,
                    "waiting": c.waiting,
                    "failed": c.failed,
                    "skipped": c.skipped,
                    "recent": recent,
                    "changes_waiting": changes,
                })
            );
            continue;
        }
        let paused = if folder.paused { " (paused)" } else { "" };
        println!("{path}{paused} → {}", folder.destination);
        println!(
            "  {} in step, {} waiting, {} failed, {} skipped; {changes} {} waiting",
            c.in_step,
            c.waiting,
            c.failed,
            c.skipped,
            if changes == 1 { "change" } else { "changes" }
        );
        for file in &files.recent {
            let relative = Path::new(&file.path).strip_prefix(&folder.path).unwrap_or(Path::new(&file.path));
            println!("  {} → {}  ({})", relative.display(), file.doc_name, ago(file.at_ms));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "12 s ago", "5 min ago", "3 h ago", "2 days ago": how long ago `at_ms` (ms since the epoch) was.
fn ago(at_ms: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let secs = (now - at_ms).max(0) / 1000;
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// The folder `sync DIR` names, with the settings on the command line (its destination is
/// set once the service is known).
fn folder_from_args(dir: &Path, args: &SyncArgs) -> Result<WatchedFolder, Error> {
    let path = std::fs::canonicalize(dir).map_err(|e| Error::file(dir, e))?;
    Ok(WatchedFolder {
        template: args.template.as_deref().map(Template::parse).transpose()?.map(|t| t.as_str().to_owned()),
        ignore: args.ignore.clone(),
        storage_class: Some(StorageClass::from(args.storage_class).as_str().to_owned()),
        description: description(&args.description)?,
        delete: args.delete.into(),
        on_conflict: args.on_conflict.into(),
        ..WatchedFolder::new(path, args.run.conn.profile.clone(), String::new())
    })
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
