//! `twindrop`: the headless face of the engine. Every command is a thin call into
//! `twindrop-engine`; nothing here decides anything the app could not decide the same way.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};

mod emulator;
use serde_json::json;
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::queue::QueueEvent;
use twindrop_engine::{account, DocStatus, Error, Queue, Secret, TwinId};

#[derive(Parser)]
#[command(name = "twindrop", version, about = "Upload files as Trusted Twin Docs")]
struct Cli {
    /// Print JSON lines instead of text (errors carry a stable `code`).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Connection {
    /// Service base URL (default: the profile's).
    #[arg(long)]
    base_url: Option<String>,
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
        #[arg(long, default_value = twindrop_engine::service::trusted_twin::DEFAULT_BASE_URL)]
        base_url: String,
        /// Store without checking the secret against the server first.
        #[arg(long)]
        no_verify: bool,
    },
    /// Forget a profile's secret.
    Logout {
        #[arg(long, default_value = twindrop_engine::profile::DEFAULT_PROFILE)]
        profile: String,
    },
    /// Upload files as Docs of a Twin; exits non-zero unless every file ends `ok`.
    Upload {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        twin: String,
        /// Files uploading at the same time.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Twins.
    Twin {
        #[command(subcommand)]
        command: TwinCommand,
    },
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
                eprintln!("error [{}]: {e}", e.code());
            }
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let settings = SettingsFile::default_location()?;
    match cli.command {
        Command::Login { profile, base_url, no_verify } => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| Error::Input(format!("reading the secret from stdin: {e}")))?;
            let secret = Secret::from_input(&input)?;
            let account = account::login(&settings, &profile, &base_url, secret, !no_verify).await?;
            if cli.json {
                println!("{}", json!({ "profile": profile, "account": account }));
            } else {
                match account {
                    Some(a) => {
                        println!("logged in as account {a}; secret stored in the OS keyring (profile {profile})")
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
        Command::Upload { conn, twin, concurrency, files } => {
            let twin = TwinId::parse(&twin)?;
            let tt = connect(&settings, &conn).await?;
            upload(tt, twin, concurrency, files, cli.json).await
        }
        Command::Emulator(args) => emulator::run(args).await,
    }
}

async fn connect(settings: &SettingsFile, conn: &Connection) -> Result<twindrop_engine::TrustedTwin, Error> {
    let env_secret = std::env::var("TWINDROP_SECRET").ok().filter(|s| !s.is_empty()).map(Secret::new);
    account::connect(settings, conn.profile.as_deref(), conn.base_url.as_deref(), env_secret).await
}

async fn upload(
    tt: twindrop_engine::TrustedTwin,
    twin: TwinId,
    concurrency: usize,
    files: Vec<PathBuf>,
    json: bool,
) -> Result<ExitCode, Error> {
    let queue = Queue::new(Arc::new(tt), concurrency);
    // One line per file as soon as it ends, so a long batch shows its progress.
    let paths = Mutex::new(HashMap::new());
    let sink = Arc::new(move |event: QueueEvent| match event {
        QueueEvent::Added { id, path, .. } => {
            paths.lock().expect("paths").insert(id, path);
        }
        QueueEvent::Finished { id, doc_name, status, sha256 } => {
            let path = paths.lock().expect("paths").remove(&id).unwrap_or_default();
            if json {
                println!("{}", json!({ "path": path, "doc_name": doc_name, "status": status, "sha256": sha256 }));
            } else {
                println!("{:<13} {doc_name}  ({path})", status.as_str());
            }
        }
        QueueEvent::Failed { id, error } => {
            let path = paths.lock().expect("paths").remove(&id).unwrap_or_default();
            if json {
                println!("{}", json!({ "path": path, "status": "failed", "error": error }));
            } else {
                // File errors already name the file; others get it appended.
                let place = if error.message.contains(&path) { String::new() } else { format!("  ({path})") };
                println!("{:<13} [{}] {}{place}", "failed", error.code, error.message);
            }
        }
        QueueEvent::Progress { .. } => {}
    });
    let results = queue.submit(&twin, files, sink).finished().await;
    let all_ok = results.iter().all(|r| matches!(&r.outcome, Ok(up) if up.status == DocStatus::Ok));
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
