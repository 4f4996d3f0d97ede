//! `twindrop`: the headless face of the engine. Every command is a thin call into
//! `twindrop-engine`; nothing here decides anything the app could not decide the same way.
//!
//! - `upload`: `upload`, `retry` and the live output (indicatif bars on a TTY, JSON lines).
//! - `emulator`: `twindrop emulator`.

mod doctor;
mod emulator;
mod sync;
mod upload;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use std::sync::Arc;
use twindrop_engine::journal::Journal;
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::service::{Service, ServiceKind};
use twindrop_engine::transfer::resumable;
use twindrop_engine::{account, Error, Secret, TwinId};

#[derive(Parser)]
#[command(name = "twindrop", version, about = "Upload files as Trusted Twin Docs")]
struct Cli {
    /// Print JSON lines instead of text (errors carry a stable `code`).
    #[arg(long, global = true)]
    json: bool,
    /// The job journal (default: journal.sqlite in Twindrop's data folder).
    #[arg(long, global = true, env = "TWINDROP_JOURNAL")]
    journal: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct Connection {
    /// Service base URL (default: the profile's).
    #[arg(long)]
    base_url: Option<String>,
    /// trusted-twin, redivis, inspect or hbr (default: the profile's service).
    #[arg(long)]
    service: Option<String>,
    /// Inspect: the path of the "complete" call, with `{id}` for the file id.
    #[arg(long)]
    complete_path: Option<String>,
    /// Stored profile whose secret is in the OS keyring. `TWINDROP_SECRET` overrides the keyring.
    #[arg(long)]
    profile: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Store a secret (read from stdin) in the OS keyring under a profile.
    Login {
        #[arg(long, default_value = twindrop_engine::profile::DEFAULT_PROFILE)]
        profile: String,
        /// trusted-twin; redivis or inspect (an API token); hbr (ACCESS_KEY_ID:ACCESS_KEY_SECRET).
        #[arg(long, default_value = "trusted-twin")]
        service: String,
        /// Default: the service's public API (Inspect has none: give it).
        #[arg(long)]
        base_url: Option<String>,
        /// Redivis: the table the token is checked on (remembered as the profile's destination).
        #[arg(long, conflicts_with = "asset")]
        table: Option<String>,
        /// Inspect: the asset the token is checked on (remembered as the profile's destination).
        #[arg(long)]
        asset: Option<String>,
        /// Store without checking the secret against the server first.
        #[arg(long)]
        no_verify: bool,
    },
    /// Forget a profile's secret.
    Logout {
        #[arg(long, default_value = twindrop_engine::profile::DEFAULT_PROFILE)]
        profile: String,
    },
    /// Upload files as Docs of a Twin (and carry on with unfinished jobs from an earlier run);
    /// exits non-zero unless every file ends `ok` or skipped.
    Upload(upload::UploadArgs),
    /// Keep a folder in step with a Twin: files are sent once they stop changing; changed
    /// files replace their Doc. Runs until Ctrl-C (or, with --once, until what is there is sent).
    Sync(sync::SyncArgs),
    /// Print the Doc name each path would get (relative paths keep their folders).
    Name(sync::NameArgs),
    /// Put failed jobs back in the queue and run them.
    Retry(upload::RunArgs),
    /// The journals: every job, its state and its last error (uploads first, then watched
    /// folders', unless --journal names one).
    Status {
        /// Only jobs that are not finished, or that failed.
        #[arg(long)]
        pending: bool,
    },
    /// The Docs on a Twin, with their status on the server.
    Docs {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        twin: String,
    },
    /// Send Docs whose copy ended `hash_mismatch` or `error` again, from the files they came
    /// from (the journal knows them); waits until they are settled.
    Resend(upload::ResendArgs),
    /// Send a file to a GCS-style resumable upload URL you already hold. Killed or cut off, the
    /// same command carries on from the byte the server has. `-` reads stdin (a cut-off stream
    /// cannot be resumed after the process ends).
    Push {
        /// The resumable initiation URL (POST with `x-goog-resumable: start`).
        #[arg(long)]
        resumable: String,
        /// Chunk size: a multiple of 256 KiB, e.g. 8M.
        #[arg(long, default_value = "16M", value_parser = parse_size)]
        chunk_size: u64,
        /// With `-`: the stream's length in bytes, sent as `x-upload-content-length` (a Redivis
        /// temp upload requires it: give the size it was created with). Without it the length
        /// is unknown until the stream ends, as plain GCS allows.
        #[arg(long, value_name = "BYTES", value_parser = parse_size)]
        size: Option<u64>,
        file: PathBuf,
    },
    /// Print the SHA-256 of files, as Trusted Twin records it (lowercase hex).
    Hash {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Twins.
    Twin {
        #[command(subcommand)]
        command: TwinCommand,
    },
    /// Check the connection step by step: the keyring, the API host, the secret, and a 1-byte
    /// upload where the service allows one that leaves nothing behind. Exits 1 if a step fails.
    Doctor(doctor::DoctorArgs),
    /// Run the local emulator. The first line on stdout is its base URL.
    Emulator(emulator::EmulatorArgs),
}

#[derive(Subcommand)]
enum TwinCommand {
    /// Create a Twin and print its UUID.
    Create {
        #[command(flatten)]
        conn: Connection,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TWINDROP_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!("{}", json!({ "error": e.info() }));
            } else {
                eprintln!("error [{}]: {}", e.code(), e.info().message);
            }
            ExitCode::from(exit::for_error(&e))
        }
    }
}

/// Exit codes (the README's "Exit codes" lists them): scripts tell a bad command line from a
/// partial failure from a run that could not happen at all.
pub mod exit {
    /// Every file ended `ok` or was skipped (unchanged).
    pub const OK: u8 = 0;
    /// The run happened, but some files failed (each named in the output with its code).
    pub const FILES_FAILED: u8 = 1;
    /// The command line is wrong: clap's own code, also for values the engine refuses.
    pub const USAGE: u8 = 2;
    /// Nothing could be done: authentication, the journal, an unreachable server, a sync whose
    /// queue stopped.
    pub const FATAL: u8 = 3;

    pub fn for_error(e: &twindrop_engine::Error) -> u8 {
        // Every "your input is wrong" code (`Code::is_bad_input`: input.invalid, doc_name.invalid,
        // template.invalid, bandwidth.invalid, option.invalid, …).
        if e.is_bad_input() {
            USAGE
        } else {
            FATAL
        }
    }

    /// A file's failure that says the whole run could not succeed.
    pub fn is_fatal(code: &str) -> bool {
        matches!(
            code,
            "auth.unauthorized" | "journal.failed" | "journal.locked" | "network.unreachable" | "queue.stopped"
        )
    }

    pub fn files(all_good: bool) -> std::process::ExitCode {
        std::process::ExitCode::from(if all_good { OK } else { FILES_FAILED })
    }
}

/// The journal at `path` (the uploads' journal by default), keeping the finished history the
/// saved preferences say (`historyDays`, as the app does); a prune that is due runs first.
pub fn open_journal(settings: &SettingsFile, path: Option<&PathBuf>) -> Result<Journal, Error> {
    let retention = settings.retention();
    match path {
        Some(p) => Journal::open_with(p, retention),
        None => Journal::open_with(&twindrop_engine::profile::journal_path()?, retention),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let settings = SettingsFile::default_location()?;
    match cli.command {
        Command::Login { profile, service, base_url, table, asset, no_verify } => {
            let kind = ServiceKind::parse(&service)?;
            let base_url = base_url.unwrap_or_else(|| kind.default_base_url().to_owned());
            if base_url.is_empty() {
                return Err(Error::invalid(
                    twindrop_engine::Invalid::Option,
                    format!("--base-url is needed for {service}"),
                ));
            }
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| Error::file("stdin", e))?;
            let secret = Secret::from_input(&input)?;
            let destination = table.or(asset);
            let account = account::login_service(
                &settings,
                &profile,
                kind,
                &base_url,
                secret,
                destination.as_deref(),
                !no_verify,
            )
            .await?;
            if cli.json {
                let who = account.as_ref().map(|v| &v.account);
                let unproven = account.as_ref().and_then(|v| v.unproven.as_ref());
                println!("{}", json!({ "profile": profile, "account": who, "unproven": unproven }));
            } else {
                match account {
                    Some(v) => {
                        println!("logged in as {}; secret stored in the OS keyring (profile {profile})", v.account);
                        if let Some(why) = v.unproven {
                            println!("note: {why}");
                        }
                    }
                    None => println!("secret stored in the OS keyring (profile {profile}), not verified"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Logout { profile } => {
            account::logout(&settings, &profile).await?;
            if !cli.json {
                println!("secret for profile {profile} removed from the OS keyring");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Twin { command: TwinCommand::Create { conn } } => {
            let tt = connect(&settings, &conn).await?;
            let twin = tt.create_twin().await?;
            if cli.json {
                println!("{}", json!({ "twin": twin }));
            } else {
                println!("{twin}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Upload(args) => {
            let service = connect_service(&settings, &args.run.conn).await?;
            upload::upload(service, open_journal(&settings, cli.journal.as_ref())?, args, cli.json).await
        }
        Command::Sync(args) => sync::sync(&settings, cli.journal.as_ref(), args, cli.json).await,
        Command::Name(args) => sync::name(args, cli.json),
        Command::Retry(args) => {
            let service = connect_service(&settings, &args.conn).await?;
            upload::retry(service, open_journal(&settings, cli.journal.as_ref())?, args, cli.json).await
        }
        Command::Status { pending } => {
            let mut journals = vec![open_journal(&settings, cli.journal.as_ref())?];
            // Without --journal: the uploads' journal, then the watched folders' (`sync` and the
            // app's folders), when there is one.
            let folders = twindrop_engine::profile::folders_journal_path()?;
            if cli.journal.is_none() && folders.exists() {
                journals.push(Journal::open_with(&folders, settings.retention())?);
            }
            for journal in &journals {
                upload::status(journal, pending, cli.json)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Docs { conn, twin } => {
            let tt = connect(&settings, &conn).await?;
            upload::docs(&tt.list_docs_detailed(&TwinId::parse(&twin)?).await?, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Resend(args) => {
            let service = connect_service(&settings, &args.run.conn).await?;
            upload::resend(service, open_journal(&settings, cli.journal.as_ref())?, args, cli.json).await
        }
        Command::Push { resumable, chunk_size, size, file } => {
            // The engine's client: no redirects (the bytes stay where they were sent), timeouts.
            let http = twindrop_engine::service::http_client()?;
            let (outcome, from) = if file.as_os_str() == "-" {
                let stdin = tokio::io::stdin();
                let progress = Arc::new(|_| {});
                let outcome = resumable::upload_stream(&http, &resumable, stdin, size, chunk_size, progress).await?;
                (outcome, 0)
            } else if size.is_some() {
                return Err(Error::invalid(
                    twindrop_engine::Invalid::Option,
                    "--size is for a stream (`-`); a file's size is read from the file",
                ));
            } else {
                let journal = open_journal(&settings, cli.journal.as_ref())?;
                resumable::push(&http, &journal, &resumable, &file, chunk_size, Arc::new(|_| {}), false).await?
            };
            let (sha256, size, wire) = (outcome.sent.sha256, outcome.sent.size, outcome.bytes_on_wire);
            if cli.json {
                let path = file.display().to_string();
                println!(
                    "{}",
                    json!({ "path": path, "sha256": sha256, "size": size, "resumed_from": from, "bytes_sent": wire })
                );
            } else {
                println!("ok  {sha256}  {}  ({size} bytes; resumed at byte {from}, {wire} sent)", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Hash { files } => {
            let mut all_read = true;
            for file in files {
                match twindrop_engine::hash::sha256_file(&file).await {
                    Ok((hex, size)) if cli.json => {
                        println!("{}", json!({ "path": file.display().to_string(), "sha256": hex, "size": size }))
                    }
                    Ok((hex, _)) => println!("{hex}  {}", file.display()),
                    Err(e) => {
                        all_read = false;
                        eprintln!("error [{}]: {}", e.code(), e.info().message);
                    }
                }
            }
            Ok(exit::files(all_read))
        }
        Command::Doctor(args) => doctor::doctor(&settings, args, cli.json).await,
        Command::Emulator(args) => emulator::run(args).await,
    }
}

pub fn env_secret() -> Option<Secret> {
    std::env::var("TWINDROP_SECRET").ok().filter(|s| !s.is_empty()).map(Secret::new)
}

pub async fn connect(settings: &SettingsFile, conn: &Connection) -> Result<twindrop_engine::TrustedTwin, Error> {
    if conn.service.as_deref().is_some_and(|s| ServiceKind::parse(s).ok() != Some(ServiceKind::TrustedTwin)) {
        return Err(Error::Unsupported("this command is for Trusted Twin only".into()));
    }
    account::connect(settings, conn.profile.as_deref(), conn.base_url.as_deref(), env_secret()).await
}

pub async fn connect_service(settings: &SettingsFile, conn: &Connection) -> Result<Service, Error> {
    let kind = conn.service.as_deref().map(ServiceKind::parse).transpose()?;
    let (kind, base_url, secret) =
        account::resolve(settings, conn.profile.as_deref(), conn.base_url.as_deref(), env_secret(), kind).await?;
    match (kind, &conn.complete_path) {
        (ServiceKind::Inspect, Some(path)) => {
            let inspect =
                twindrop_engine::service::inspect::Inspect::new(&base_url, secret)?.with_complete_path(path)?;
            Ok(Service::Inspect(Arc::new(inspect)))
        }
        (_, Some(_)) => Err(Error::invalid(twindrop_engine::Invalid::Option, "--complete-path is for Inspect only")),
        (kind, None) => kind.connect(&base_url, secret),
    }
}

/// `8M`, `256k`, `1048576`: binary suffixes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().map(|n| n * mult).map_err(|_| format!("{s:?} is not a size like 8M"))
}
