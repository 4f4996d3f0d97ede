//! `twindrop emulator`: the local Trusted Twin (with Redivis, Inspect and HBR/OSS) in its own
//! process.
//!
//! The first stdout line is the base URL (scripts and tests read it); the control token for
//! `/_emulator/...` goes to stderr, never stdout, so it does not end up in captured output by
//! accident.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use twindrop_emulator::{ChunkAnswers, Config, EmptyUploads, FaultPlan, UserSpec};
use twindrop_engine::Error;

#[derive(clap::Args)]
pub struct EmulatorArgs {
    #[arg(long, env = "TWINDROP_EMULATOR_ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Accepted secret, allowed every operation (repeatable).
    #[arg(long, env = "TWINDROP_EMULATOR_SECRET", hide_env_values = true)]
    secret: Vec<String>,
    /// JSON file of users with their own allowed operations: {"users": [{"secret", "allow"?, "deny"?}]}.
    #[arg(long, env = "TWINDROP_EMULATOR_USERS")]
    users: Option<PathBuf>,
    /// Keep Twins, Docs and uploads here across restarts (default: in memory).
    #[arg(long, env = "TWINDROP_EMULATOR_STATE")]
    state: Option<PathBuf>,
    /// How long a new Doc stays `copying`.
    #[arg(long, env = "TWINDROP_EMULATOR_COPY_DELAY_MS", default_value_t = 300)]
    copy_delay_ms: u64,
    /// Refuse a PUT to an upload URL declaring more bytes than this (S3 EntityTooLarge).
    #[arg(long, env = "TWINDROP_EMULATOR_MAX_UPLOAD_BYTES", default_value_t = twindrop_emulator::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: u64,
    /// Trusted Twin: what attach makes of a 0-byte PUT: `accept` (an empty Doc) or `no-doc`
    /// ("No Doc uploaded through the upload URL", the other reading of the docs).
    #[arg(long, env = "TWINDROP_EMULATOR_EMPTY_UPLOADS", value_enum, default_value_t = EmptyUploadsArg::Accept)]
    empty_uploads: EmptyUploadsArg,
    /// JSON fault plan to start with (docs/emulator.md); changeable later via /_emulator/faults.
    #[arg(long, env = "TWINDROP_EMULATOR_FAULTS")]
    faults: Option<PathBuf>,
    /// Overrides the fault plan's seed.
    #[arg(long, env = "TWINDROP_EMULATOR_SEED")]
    seed: Option<u64>,
    /// The X-Emulator-Control token for /_emulator/... (default: random, printed on stderr).
    #[arg(long, env = "TWINDROP_EMULATOR_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
    /// Send the bytes of Redivis temp uploads to this GCS-compatible server (e.g.
    /// gcp-storage-emulator) instead of the emulator; needs --redivis-bucket.
    #[arg(long, env = "TWINDROP_EMULATOR_REDIVIS_DATA_PLANE", value_name = "URL", requires = "redivis_bucket")]
    redivis_data_plane: Option<String>,
    /// The bucket on --redivis-data-plane that receives them (objects redivis/<temp upload id>).
    #[arg(long, env = "TWINDROP_EMULATOR_REDIVIS_BUCKET", value_name = "NAME", requires = "redivis_data_plane")]
    redivis_bucket: Option<String>,
    /// How a Redivis resumable session answers a chunk it took in full: `gcs` (308 with Range,
    /// 201 with JSON for the last) or `seed` (200 with an empty body, as seed 002 says).
    #[arg(long, env = "TWINDROP_EMULATOR_REDIVIS_CHUNK_ANSWERS", value_enum, value_name = "HOW", default_value_t = RedivisChunkAnswers::Gcs)]
    redivis_chunk_answers: RedivisChunkAnswers,
    /// Inspect: refuse a presigned URL for a larger size (400).
    #[arg(long, env = "TWINDROP_EMULATOR_INSPECT_MAX_SIZE", value_name = "BYTES", default_value_t = twindrop_emulator::DEFAULT_INSPECT_MAX_SIZE)]
    inspect_max_size: u64,
    /// Inspect: mint presigned URLs as SigV2 URLs of this S3 server (e.g. s3rver) instead of the
    /// emulator's own; Complete reads the object back there. Needs --inspect-bucket.
    #[arg(long, env = "TWINDROP_EMULATOR_INSPECT_S3", value_name = "URL", requires = "inspect_bucket")]
    inspect_s3: Option<String>,
    /// The bucket on --inspect-s3 that receives the bytes (objects inspect/<file id>).
    #[arg(long, env = "TWINDROP_EMULATOR_INSPECT_BUCKET", value_name = "NAME", requires = "inspect_s3")]
    inspect_bucket: Option<String>,
    /// The access key that signs the --inspect-s3 URLs (s3rver's is always S3RVER).
    #[arg(long, env = "TWINDROP_EMULATOR_INSPECT_ACCESS_KEY", value_name = "AK", default_value = "S3RVER")]
    inspect_access_key: String,
    /// The secret key that signs the --inspect-s3 URLs (s3rver's is always S3RVER).
    #[arg(
        long,
        env = "TWINDROP_EMULATOR_INSPECT_SECRET_KEY",
        hide_env_values = true,
        value_name = "SK",
        default_value = "S3RVER",
        hide_default_value = true
    )]
    inspect_secret_key: String,
    /// HBR: point the OSS form target at this server (e.g. moto or s3rver), path style
    /// ({URL}/{bucket}), instead of the emulator's own OSS. Needs --hbr-bucket.
    #[arg(long, env = "TWINDROP_EMULATOR_HBR_FORM_TARGET", value_name = "URL", requires = "hbr_bucket")]
    hbr_form_target: Option<String>,
    /// The bucket on --hbr-form-target that receives the forms.
    #[arg(long, env = "TWINDROP_EMULATOR_HBR_BUCKET", value_name = "NAME", requires = "hbr_form_target")]
    hbr_bucket: Option<String>,
    /// HBR/OSS: the upper bound of content-length-range in the policies HBR signs.
    #[arg(long, env = "TWINDROP_EMULATOR_OSS_MAX_SIZE", value_name = "BYTES", default_value_t = twindrop_emulator::DEFAULT_OSS_MAX_SIZE)]
    oss_max_size: u64,
}

/// `--empty-uploads`: what Trusted Twin's attach makes of a 0-byte PUT.
#[derive(Clone, Copy, clap::ValueEnum)]
enum EmptyUploadsArg {
    /// An empty Doc.
    Accept,
    /// "No Doc uploaded through the upload URL", the other reading of the docs.
    NoDoc,
}

impl From<EmptyUploadsArg> for EmptyUploads {
    fn from(value: EmptyUploadsArg) -> EmptyUploads {
        match value {
            EmptyUploadsArg::Accept => EmptyUploads::Accept,
            EmptyUploadsArg::NoDoc => EmptyUploads::NoDoc,
        }
    }
}

/// `--redivis-chunk-answers`: the emulator's [`ChunkAnswers`], as a command-line value.
#[derive(Clone, Copy, clap::ValueEnum)]
enum RedivisChunkAnswers {
    Gcs,
    Seed,
}

impl From<RedivisChunkAnswers> for ChunkAnswers {
    fn from(value: RedivisChunkAnswers) -> ChunkAnswers {
        match value {
            RedivisChunkAnswers::Gcs => ChunkAnswers::Gcs,
            RedivisChunkAnswers::Seed => ChunkAnswers::Seed,
        }
    }
}

pub async fn run(args: EmulatorArgs) -> Result<ExitCode, Error> {
    let users = match &args.users {
        Some(path) => UserSpec::load(path).map_err(|e| {
            Error::invalid(twindrop_engine::Invalid::Option, format!("cannot read the users file: {e}"))
        })?,
        None => Vec::new(),
    };
    if args.secret.is_empty() && users.is_empty() {
        return Err(Error::invalid(twindrop_engine::Invalid::Option, "give at least one --secret or a --users file"));
    }
    let mut faults = match &args.faults {
        Some(path) => FaultPlan::load(path).map_err(|e| {
            Error::invalid(twindrop_engine::Invalid::Option, format!("cannot read the fault plan: {e}"))
        })?,
        None => FaultPlan::default(),
    };
    if let Some(seed) = args.seed {
        faults.seed = seed;
    }
    let mut config = Config::new(String::new());
    config.secrets = args.secret;
    config = config
        .with_copy_delay(Duration::from_millis(args.copy_delay_ms))
        .with_max_upload_bytes(args.max_upload_bytes)
        .with_empty_uploads(args.empty_uploads.into())
        .with_faults(faults);
    config.users = users;
    config.state_dir = args.state;
    config.control_token = args.control_token;
    if let (Some(url), Some(bucket)) = (args.redivis_data_plane, args.redivis_bucket) {
        config = config.redivis_data_plane(url, bucket);
    }
    config = config.redivis_chunk_answers(args.redivis_chunk_answers.into());
    config = config.inspect_max_size(args.inspect_max_size).oss_max_size(args.oss_max_size);
    if let (Some(url), Some(bucket)) = (args.inspect_s3, args.inspect_bucket) {
        config = config.inspect_data_plane(url, bucket, args.inspect_access_key, args.inspect_secret_key);
    }
    if let (Some(url), Some(bucket)) = (args.hbr_form_target, args.hbr_bucket) {
        config = config.hbr_form_target(url, bucket);
    }

    let addr = args.addr;
    let emulator = twindrop_emulator::Emulator::start(addr, config)
        .await
        .map_err(|e| Error::Setup(format!("cannot start the emulator on {addr}: {e}")))?;
    println!("{}", emulator.base_url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "control: {}: {} (for {}/_emulator/...)",
        twindrop_emulator::CONTROL_HEADER,
        emulator.control_token(),
        emulator.base_url()
    );
    shutdown_signal().await;
    emulator.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
