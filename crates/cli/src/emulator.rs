//! `twindrop emulator`: the local Trusted Twin in its own process.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use twindrop_engine::Error;

#[derive(clap::Args)]
pub struct EmulatorArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Accepted secret (repeatable).
    #[arg(long, required = true)]
    secret: Vec<String>,
    /// Keep Twins, Docs and uploads here across restarts (default: in memory).
    #[arg(long)]
    state: Option<PathBuf>,
    /// How long a new Doc stays `copying`.
    #[arg(long, default_value_t = 300)]
    copy_delay_ms: u64,
}

pub async fn run(args: EmulatorArgs) -> Result<ExitCode, Error> {
    let config = twindrop_emulator::Config {
        secrets: args.secret,
        state_dir: args.state,
        copy_delay: Duration::from_millis(args.copy_delay_ms),
    };
    let addr = args.addr;
    let emulator = twindrop_emulator::Emulator::start(addr, config)
        .await
        .map_err(|e| Error::Input(format!("cannot start the emulator on {addr}: {e}")))?;
    println!("{}", emulator.base_url());
    let _ = std::io::stdout().flush();
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
