//! `twindrop verify`: local files against their Docs (`engine::verify`), each file in one
//! verdict, a receipt written on request; or, with only `--receipt`, that receipt checked again.
//! Exits 1 on any difference.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;
use twindrop_engine::journal::Journal;
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::queue::{Options, Queue};
use twindrop_engine::size;
use twindrop_engine::verify::receipt::Receipt;
use twindrop_engine::verify::recheck::{self, Against};
use twindrop_engine::verify::{self, Naming, Progress, Request, Verdict, Verification};
use twindrop_engine::Error;

use crate::connection::connect_service;
use crate::upload::DestArgs;
use crate::Connection;

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    conn: Connection,
    #[command(flatten)]
    dest: DestArgs,
    /// Files and folders to verify. None: check the --receipt again instead.
    paths: Vec<PathBuf>,
    /// The name template the files were sent with (`upload --template`), for files the journal
    /// does not know.
    #[arg(long, env = "TWINDROP_TEMPLATE")]
    template: Option<String>,
    /// One folder, named from inside it as `twindrop sync` and watched folders name files (and
    /// the watched folders' journal asked).
    #[arg(long, env = "TWINDROP_VERIFY_SYNC")]
    sync: bool,
    /// With --sync: the folder's ignore patterns (gitignore lines, as `sync --ignore`); its
    /// ignored files are left out.
    #[arg(long, env = "TWINDROP_IGNORE", requires = "sync")]
    ignore: Vec<String>,
    /// Take a file's hash from the journal when its size and mtime are unchanged since it was
    /// verified or sent `ok`, instead of reading it again.
    #[arg(long, env = "TWINDROP_TRUST_CACHE")]
    trust_cache: bool,
    /// With files: write a receipt of every file and Doc here (`.csv`: CSV, else JSON). Without
    /// files: check this receipt again and say what changed since.
    #[arg(long, env = "TWINDROP_RECEIPT")]
    receipt: Option<PathBuf>,
    /// What a receipt is checked again against.
    #[arg(long, value_enum, env = "TWINDROP_AGAINST", default_value_t = AgainstArg::Both)]
    against: AgainstArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AgainstArg {
    /// The server and the local files.
    Both,
    /// The Docs on the server only.
    Server,
    /// The local files only.
    Local,
}

pub async fn verify(
    settings: &SettingsFile,
    journal: Option<&PathBuf>,
    args: VerifyArgs,
    json: bool,
) -> Result<ExitCode, Error> {
    let service = connect_service(settings, &args.conn).await?;
    let journal_path = match (journal, args.sync) {
        (Some(p), _) => p.clone(),
        (None, true) => twindrop_engine::profile::folders_journal_path()?,
        (None, false) => twindrop_engine::profile::journal_path()?,
    };
    let queue =
        Queue::new(service, Arc::new(Journal::open_with(&journal_path, settings.retention())?), Options::default());
    if args.paths.is_empty() {
        let Some(path) = &args.receipt else {
            return Err(Error::invalid(
                twindrop_engine::Invalid::Option,
                "give files or folders to verify, or --receipt FILE to check a receipt again",
            ));
        };
        return recheck_receipt(&queue, path, args.against, json).await;
    }
    let dest = args.dest.destination(queue.service())?;
    let naming = match args.sync {
        true => match args.paths.as_slice() {
            [root] => Naming::Folder {
                root: std::path::absolute(root).map_err(|e| Error::file(root, e))?,
                template: args.template,
                ignore: args.ignore,
            },
            _ => return Err(Error::invalid(twindrop_engine::Invalid::Option, "--sync verifies one folder")),
        },
        false => Naming::Upload { paths: args.paths, template: args.template },
    };
    let request = Request { naming, trust_cache: args.trust_cache };
    let live = !json && std::io::stderr().is_terminal();
    let progress: verify::ProgressFn = Arc::new(move |p: Progress| {
        if live {
            eprint!(
                "\rreading {}/{} files, {} of {}   ",
                p.files_done,
                p.files,
                size::human(p.bytes_done),
                size::human(p.bytes)
            );
        }
    });
    let found = verify::verify(&queue, &dest, &request, progress).await?;
    if live {
        eprint!("\r\x1b[K");
    }
    let written = match &args.receipt {
        Some(path) => {
            let receipt = Receipt::of(&found);
            receipt.write(path)?;
            Some((path.clone(), receipt.sha256))
        }
        None => None,
    };
    print(&found, written.as_ref(), json);
    Ok(ExitCode::from(if found.counts.in_step() { crate::exit::OK } else { crate::exit::FILES_FAILED }))
}

fn print(v: &Verification, receipt: Option<&(PathBuf, String)>, json: bool) {
    if json {
        for row in &v.rows {
            let mut line = serde_json::to_value(row).expect("a row is plain data");
            line["type"] = json!("row");
            println!("{line}");
        }
        let receipt = receipt.map(|(p, sha)| json!({"path": p.display().to_string(), "sha256": sha}));
        println!(
            "{}",
            json!({"type": "summary", "counts": v.counts, "inStep": v.counts.in_step(), "destination": v.destination,
                   "algorithm": v.algorithm, "checkedAt": v.checked_at, "receipt": receipt})
        );
        return;
    }
    let short = |h: &str| h.chars().take(12).collect::<String>();
    for row in v.rows.iter().filter(|r| r.verdict != Verdict::Match) {
        let local = row.local.as_ref().map(|l| match (&l.md5, v.algorithm) {
            (Some(md5), twindrop_engine::service::holdings::Algorithm::Md5) => md5.clone(),
            _ => l.sha256.clone(),
        });
        let server = row.server.as_ref().and_then(|s| s.digest.as_ref()).map(|d| d.hex().to_owned());
        let detail = match (row.verdict, &row.problem) {
            (Verdict::Differs, _) => format!(
                "  here {} ({}), server {} ({})",
                short(&local.unwrap_or_default()),
                row.local.as_ref().map_or(String::new(), |l| size::human(l.size)),
                short(&server.unwrap_or_default()),
                row.server.as_ref().and_then(|s| s.size).map_or("size unknown".into(), size::human)
            ),
            (_, Some(problem)) => format!("  [{}] {}", problem.code, problem.message),
            _ => String::new(),
        };
        let path = row.path.as_deref().map(|p| format!("  {p}")).unwrap_or_default();
        println!("{:<26} {}{path}{detail}", row.verdict.said(), row.name);
    }
    println!("{} ({} files and Docs, {} {})", v.counts.summary(), v.rows.len(), v.destination, v.base_url);
    if let Some((path, sha)) = receipt {
        println!("receipt: {} (sha256 {sha})", path.display());
    }
}

async fn recheck_receipt(
    queue: &Queue,
    path: &std::path::Path,
    against: AgainstArg,
    json: bool,
) -> Result<ExitCode, Error> {
    let receipt = Receipt::read(path)?;
    let against = match against {
        AgainstArg::Both => Against::Both,
        AgainstArg::Server => Against::Server,
        AgainstArg::Local => Against::Local,
    };
    let found = recheck::recheck(queue, &receipt, against).await?;
    if json {
        for change in &found.changes {
            let mut line = serde_json::to_value(change).expect("plain data");
            line["type"] = json!("change");
            println!("{line}");
        }
        println!(
            "{}",
            json!({"type": "summary", "unchanged": found.unchanged, "changed": found.changes.len(),
                   "receiptSha256": found.receipt_sha256, "receiptCheckedAt": found.receipt_checked_at,
                   "checkedAt": found.checked_at})
        );
    } else {
        for c in &found.changes {
            let path = c.path.as_deref().map(|p| format!("  {p}")).unwrap_or_default();
            let what = match (&c.was, &c.now) {
                (Some(was), Some(now)) => format!("  was {was}, now {now}"),
                (Some(was), None) => format!("  was {was}"),
                (None, Some(now)) => format!("  now {now}"),
                (None, None) => String::new(),
            };
            println!("{:<22} {}{path}{what}", c.kind.said(), c.name);
        }
        println!(
            "{} unchanged, {} changed since the receipt of {} (sha256 {} checks out)",
            found.unchanged,
            found.changes.len(),
            found.receipt_checked_at,
            found.receipt_sha256
        );
    }
    Ok(ExitCode::from(if found.changes.is_empty() { crate::exit::OK } else { crate::exit::FILES_FAILED }))
}
