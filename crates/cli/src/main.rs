//! `twindrop`: the headless face of the engine. Every command is a thin call into
//! `twindrop-engine`; nothing here decides anything the app could not decide the same way.
//!
//! - `upload`: `upload`, `retry` and the live output (indicatif bars on a TTY, JSON lines).
//! - `emulator`: `twindrop emulator`.
//! - `docs`: `twindrop docs download`.
//! - `gone`: `retry --remove` / `--locate`, for failed jobs whose file is gone.

mod choice;
mod connection;
mod docs;
mod doctor;
mod emulator;
mod gone;
mod manual;
mod sync;
mod twins;
mod upload;
mod verify;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::FalseyValueParser;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;
use std::sync::Arc;
use twindrop_engine::journal::Journal;
use twindrop_engine::logging::Level;
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::secret_source::SecretSource;
use twindrop_engine::service::ServiceKind;
use twindrop_engine::size::ByteSize;
use twindrop_engine::transfer::resumable;
use twindrop_engine::{account, Error, Secret, TwinId};

pub use connection::{connect, connect_service, Connection};

#[derive(Parser)]
#[command(
    name = "twindrop",
    version,
    about = "Upload files as Trusted Twin Docs",
    after_help = "Every flag can also be set by the environment variable shown with it, e.g. \
                  TWINDROP_TWIN for --twin; a flag on the command line wins. Sizes take decimal units \
                  (1.5MB, 10 kB = 1000-based), binary ones (16MiB) or k/M/G/T (1024-based, as before)."
)]
pub struct Cli {
    /// Print JSON lines instead of text (errors carry a stable `code`).
    #[arg(long, global = true, env = "TWINDROP_JSON", value_parser = FalseyValueParser::new())]
    json: bool,
    /// The job journal (default: journal.sqlite in Twindrop's data folder).
    #[arg(long, global = true, env = "TWINDROP_JOURNAL")]
    journal: Option<PathBuf>,
    /// More log lines on stderr: -v what Twindrop does, -vv debug, -vvv trace (default: errors;
    /// TWINDROP_LOG, a tracing filter, is used when neither -v nor -q is given).
    #[arg(short, long, global = true, action = ArgAction::Count, env = "TWINDROP_VERBOSE")]
    verbose: u8,
    /// No log lines: only a command's own error line.
    #[arg(short, long, global = true, conflicts_with = "verbose", env = "TWINDROP_QUIET", value_parser = FalseyValueParser::new())]
    quiet: bool,
    /// Send requests through this proxy (http://host:port, https://, socks5://), or `system`
    /// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) or `off`, for this run (default: the app's setting).
    /// The proxy's user is the setting's; its password is the keyring's or TWINDROP_PROXY_PASSWORD.
    #[arg(long, global = true, value_name = "URL", env = "TWINDROP_PROXY")]
    proxy: Option<String>,
    /// Hosts reached without the proxy, comma-separated: names (with their subdomains), IPs,
    /// CIDR ranges, or `*` (NO_PROXY's syntax); for this run. This machine never uses a proxy.
    #[arg(long, global = true, value_name = "LIST", env = "TWINDROP_NO_PROXY")]
    no_proxy: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Store a secret (read from stdin, or --secret-file / --secret-command) in the OS keyring
    /// under a profile.
    Login {
        #[arg(long, env = "TWINDROP_PROFILE", default_value = twindrop_engine::profile::DEFAULT_PROFILE)]
        profile: String,
        /// The secret is: trusted-twin's; an API token for redivis or inspect;
        /// ACCESS_KEY_ID:ACCESS_KEY_SECRET for hbr.
        #[arg(long, env = "TWINDROP_SERVICE", default_value = "trusted-twin", value_parser = choice::parser::<choice::Service>())]
        service: choice::Service,
        /// Default: the service's public API (Inspect has none: give it).
        #[arg(long, env = "TWINDROP_BASE_URL")]
        base_url: Option<String>,
        /// Redivis: the table the token is checked on (remembered as the profile's destination).
        #[arg(long, env = "TWINDROP_TABLE", conflicts_with = "asset")]
        table: Option<String>,
        /// Inspect: the asset the token is checked on (remembered as the profile's destination).
        #[arg(long, env = "TWINDROP_ASSET")]
        asset: Option<String>,
        /// Store without checking the secret against the server first.
        #[arg(long, env = "TWINDROP_NO_VERIFY", value_parser = FalseyValueParser::new())]
        no_verify: bool,
        /// Read the secret from this file instead of stdin (a trailing newline is dropped).
        #[arg(long, value_name = "PATH", env = "TWINDROP_SECRET_FILE", hide_env_values = true)]
        secret_file: Option<std::path::PathBuf>,
        /// Run this shell command and store what it prints, instead of reading stdin.
        #[arg(
            long,
            value_name = "CMD",
            env = "TWINDROP_SECRET_COMMAND",
            hide_env_values = true,
            conflicts_with = "secret_file"
        )]
        secret_command: Option<String>,
    },
    /// Forget a profile's secret.
    Logout {
        #[arg(long, env = "TWINDROP_PROFILE", default_value = twindrop_engine::profile::DEFAULT_PROFILE)]
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
    /// Put failed jobs back in the queue and run them; with --remove or --locate, only the failed
    /// jobs named (a file that is gone: forget its job, or send it from the file's new place).
    Retry(gone::RetryArgs),
    /// The journals: every job, its state and its last error (uploads first, then watched
    /// folders', unless --journal names one).
    Status {
        /// Only jobs that are not finished, or that failed.
        #[arg(long, env = "TWINDROP_PENDING", value_parser = FalseyValueParser::new())]
        pending: bool,
    },
    /// Check local files against their Docs: each file is a match, differs, is not on the
    /// server, only on the server, or on it but not ok. Exits 1 on any difference. With
    /// --receipt, writes a receipt (JSON or CSV) that `verify --receipt FILE` checks again later.
    Verify(verify::VerifyArgs),
    /// The Docs on a Twin, with their status on the server; `docs download` saves one.
    #[command(subcommand_negates_reqs = true)]
    Docs {
        #[command(flatten)]
        conn: Connection,
        #[arg(long, env = "TWINDROP_TWIN", required = true)]
        twin: Option<String>,
        #[command(subcommand)]
        action: Option<docs::DocsCommand>,
    },
    /// Send Docs whose copy ended `hash_mismatch` or `error` again, from the files they came
    /// from (the journal knows them); waits until they are settled.
    Resend(upload::ResendArgs),
    /// Send a file to a GCS-style resumable upload URL you already hold. Killed or cut off, the
    /// same command carries on from the byte the server has. `-` reads stdin (a cut-off stream
    /// cannot be resumed after the process ends).
    Push {
        /// The resumable initiation URL (POST with `x-goog-resumable: start`).
        #[arg(long, env = "TWINDROP_RESUMABLE", hide_env_values = true)]
        resumable: String,
        /// Chunk size: a multiple of 256 KiB, e.g. 8M or 8MiB.
        #[arg(long, env = "TWINDROP_CHUNK_SIZE", default_value = "16M", value_parser = size_flag)]
        chunk_size: ByteSize,
        /// With `-`: the stream's length in bytes, sent as `x-upload-content-length` (a Redivis
        /// temp upload requires it: give the size it was created with). Without it the length
        /// is unknown until the stream ends, as plain GCS allows.
        #[arg(long, value_name = "BYTES", env = "TWINDROP_SIZE", value_parser = size_flag)]
        size: Option<ByteSize>,
        file: PathBuf,
    },
    /// Print the SHA-256 of files, as Trusted Twin records it (lowercase hex).
    Hash {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Twins: list the known ones with their names (the default), create one, name one.
    #[command(visible_alias = "twins")]
    Twin(twins::TwinArgs),
    /// Check the connection step by step: the keyring, the API host, the secret, and a 1-byte
    /// upload where the service allows one that leaves nothing behind. Exits 1 if a step fails.
    Doctor(doctor::DoctorArgs),
    /// Run the local emulator. The first line on stdout is its base URL.
    Emulator(emulator::EmulatorArgs),
    /// Print a shell completion script, e.g. `twindrop completions bash > ~/.local/share/bash-completion/completions/twindrop`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `twindrop man > twindrop.1`.
    #[command(hide = true)]
    Man,
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => return refused_command_line(e),
    };
    logging(Level::from_flags(cli.verbose, cli.quiet), cli.verbose > 0 || cli.quiet);
    let json = cli.json;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            report(&e, json);
            ExitCode::from(exit::for_error(&e))
        }
    }
}

fn report(e: &Error, json: bool) {
    if json {
        println!("{}", json!({ "error": e.info() }));
    } else {
        eprintln!("error [{}]: {}", e.code(), e.info().message);
    }
}

/// The command line, and which secret flags it gave itself (their environment variables come
/// after TWINDROP_SECRET, the flags before it).
fn parse() -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches()?;
    let mut leaf = &matches;
    while let Some((_, sub)) = leaf.subcommand() {
        leaf = sub;
    }
    let given = |id: &str| {
        leaf.ids().any(|i| i.as_str() == id) && leaf.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
    };
    connection::record_command_line(connection::GivenOnCommandLine {
        secret_file: given("secret_file"),
        secret_command: given("secret_command"),
    });
    Cli::from_arg_matches(&matches)
}

/// A value the engine refused while clap parsed it (a `--service`, a size) is reported as any
/// engine error: its code, as JSON under `--json`, exit 2. Anything else is clap's to say.
fn refused_command_line(e: clap::Error) -> ExitCode {
    use std::error::Error as _;
    let engine = e.source().and_then(|s| s.downcast_ref::<Error>());
    match engine {
        Some(refused) => {
            let json = std::env::args_os().take_while(|a| a != "--").any(|a| a == "--json")
                || std::env::var("TWINDROP_JSON")
                    .is_ok_and(|v| !matches!(v.to_lowercase().as_str(), "" | "0" | "n" | "no" | "f" | "false" | "off"));
            if !json {
                let _ = e.print();
                return ExitCode::from(exit::USAGE);
            }
            report(refused, true);
            ExitCode::from(exit::USAGE)
        }
        None => {
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(exit::USAGE))
        }
    }
}

/// Log lines go to stderr at `level`; without -v or -q, TWINDROP_LOG (a tracing filter) may
/// say otherwise.
fn logging(level: Level, from_flags: bool) {
    let filter = match std::env::var("TWINDROP_LOG") {
        Ok(spec) if !from_flags && !spec.is_empty() => tracing_subscriber::EnvFilter::new(spec),
        _ => tracing_subscriber::EnvFilter::new(level.directives()),
    };
    use std::io::IsTerminal;
    // Colour codes only for a person reading a terminal, never into a captured log.
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
}

/// A size flag (`16M`, `1.5 MB`, `8MiB`): the engine's one parser.
fn size_flag(text: &str) -> Result<ByteSize, Error> {
    text.parse()
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
            "auth.unauthorized"
                | "journal.failed"
                | "journal.locked"
                | "network.unreachable"
                | "network.dns"
                | "network.refused"
                | "network.tls"
                | "queue.stopped"
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
    // The app's proxy setting, with this run's flags over it; the password from the environment
    // (never a flag: it would show in `ps`), else the keyring.
    let proxy = settings.load()?.prefs.proxy.overridden(cli.proxy.as_deref(), cli.no_proxy.as_deref())?;
    let password = std::env::var("TWINDROP_PROXY_PASSWORD").ok().filter(|p| !p.is_empty()).map(Secret::new);
    twindrop_engine::proxy::configure(&proxy, password).await?;
    match cli.command {
        Command::Login { profile, service, base_url, table, asset, no_verify, secret_file, secret_command } => {
            let kind = ServiceKind::from(service);
            let base_url = base_url.unwrap_or_else(|| kind.default_base_url().to_owned());
            if base_url.is_empty() {
                return Err(Error::invalid(
                    twindrop_engine::Invalid::Option,
                    format!("--base-url is needed for {}", kind.as_str()),
                ));
            }
            let secret = match (secret_file, secret_command) {
                (Some(path), _) => SecretSource::File(path).read()?,
                (None, Some(command)) => SecretSource::Command(command).read()?,
                (None, None) => {
                    let mut input = String::new();
                    std::io::stdin().read_to_string(&mut input).map_err(|e| Error::file("stdin", e))?;
                    Secret::from_input(&input)?
                }
            };
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
        Command::Twin(args) => twins::run(&settings, args, cli.json).await,
        Command::Upload(args) => {
            let service = connect_service(&settings, &args.run.conn).await?;
            upload::upload(service, open_journal(&settings, cli.journal.as_ref())?, args, cli.json).await
        }
        Command::Sync(args) => sync::sync(&settings, cli.journal.as_ref(), args, cli.json).await,
        Command::Name(args) => sync::name(args, cli.json),
        Command::Retry(args) => {
            let service = connect_service(&settings, &args.run.conn).await?;
            let journal = open_journal(&settings, cli.journal.as_ref())?;
            match args.names_jobs() {
                true => gone::retry_named(service, journal, args, cli.json).await,
                false => upload::retry(service, journal, args.run, cli.json).await,
            }
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
        Command::Verify(args) => verify::verify(&settings, cli.journal.as_ref(), args, cli.json).await,
        Command::Docs { action: Some(action), .. } => docs::run(&settings, action, cli.json).await,
        Command::Docs { conn, twin, action: None } => {
            let tt = connect(&settings, &conn).await?;
            let twin = twin.unwrap_or_default();
            upload::docs(&tt.list_docs_detailed(&TwinId::parse(&twin)?).await?, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Resend(args) => {
            let service = connect_service(&settings, &args.run.conn).await?;
            upload::resend(service, open_journal(&settings, cli.journal.as_ref())?, args, cli.json).await
        }
        Command::Push { resumable, chunk_size, size, file } => {
            let (chunk_size, size) = (chunk_size.bytes(), size.map(ByteSize::bytes));
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
        Command::Completions { shell } => {
            manual::completions(shell, &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            manual::man(&mut std::io::stdout()).map_err(|e| Error::file("stdout", e))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
