//! `twindrop docs download`: a Doc's bytes saved to a file, through the same engine call as the
//! app's "Download…" (`Service::download_doc`): streamed, checked against the Doc's recorded
//! SHA-256, and never over an existing file unless `--force`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::{Error, TwinId};

use crate::{connect_service, Connection};

#[derive(clap::Subcommand)]
pub enum DocsCommand {
    /// Save a Doc's bytes to a file, checked against the SHA-256 it recorded.
    ///
    /// The bytes come through the server's download link; a difference from the recorded
    /// SHA-256 is `download.checksum_mismatch` and nothing is saved. An existing file is left
    /// alone unless --force.
    Download(DownloadArgs),
}

#[derive(clap::Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    conn: Connection,
    /// The Twin's UUID.
    twin: String,
    /// The Doc's name, as `twindrop docs` lists it (e.g. `reports/q3.pdf`).
    doc: String,
    /// Where to save it (default: the Doc name's last part, in the current folder).
    #[arg(short, long, value_name = "PATH", env = "TWINDROP_OUTPUT")]
    output: Option<PathBuf>,
    /// Replace a file already at the output path.
    #[arg(long, env = "TWINDROP_FORCE", value_parser = clap::builder::FalseyValueParser::new())]
    force: bool,
}

pub async fn run(settings: &SettingsFile, command: DocsCommand, json: bool) -> Result<ExitCode, Error> {
    let DocsCommand::Download(args) = command;
    let twin = TwinId::parse(&args.twin)?;
    let output = match args.output {
        Some(path) => path,
        None => default_output(&args.doc)?,
    };
    let service = connect_service(settings, &args.conn).await?;
    let saved = service.download_doc(&twin, &args.doc, &output, args.force).await?;
    if json {
        println!(
            "{}",
            json!({ "doc_name": args.doc, "path": saved.path, "size": saved.size, "sha256": saved.sha256,
                    "verified": saved.verified })
        );
    } else {
        let checked = if saved.verified { "matches the Doc's SHA-256" } else { "the Doc recorded no SHA-256 to check" };
        println!("saved {} to {} ({} bytes; {} {checked})", args.doc, saved.path, saved.size, saved.sha256);
    }
    Ok(ExitCode::SUCCESS)
}

/// The Doc name's last part (a Doc name may hold folders): `reports/q3.pdf` → `q3.pdf`.
fn default_output(doc: &str) -> Result<PathBuf, Error> {
    let last = doc.rsplit('/').next().unwrap_or(doc);
    if last.is_empty() || last == "." || last == ".." {
        let message = format!("Doc name {doc:?} gives no file name: say where to save it with -o PATH");
        return Err(Error::invalid(twindrop_engine::Invalid::Option, message));
    }
    Ok(PathBuf::from(last))
}
