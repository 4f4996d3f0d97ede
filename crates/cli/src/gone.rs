//! `twindrop retry --remove ID` and `--locate ID=PATH`: for failed jobs whose file is gone, the
//! CLI's Remove and Locate… (the same engine calls as the app's, `Queue::remove_failed` and
//! `Queue::locate`). Only the jobs named are touched; `twindrop status` shows their IDs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::queue::{EventSink, RunMode};
use twindrop_engine::service::Service;
use twindrop_engine::{Error, Invalid, Queue};

use crate::upload::{self, Printer, RunArgs};

#[derive(clap::Args)]
pub struct RetryArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Forget this failed job instead of retrying it (its file is gone): it is never retried or
    /// listed as failed again. Repeatable. With --remove or --locate, only the jobs named are
    /// touched.
    #[arg(long, value_name = "ID")]
    remove: Vec<u64>,
    /// Send this failed job from the file's new place, under the Doc name it had: ID=PATH.
    /// Repeatable.
    #[arg(long, value_name = "ID=PATH", value_parser = parse_located)]
    locate: Vec<(u64, PathBuf)>,
}

impl RetryArgs {
    /// Whether jobs are named (`--remove`, `--locate`), rather than every failed one retried.
    pub fn names_jobs(&self) -> bool {
        !self.remove.is_empty() || !self.locate.is_empty()
    }
}

fn parse_located(s: &str) -> Result<(u64, PathBuf), String> {
    let (id, path) = s.split_once('=').ok_or("expected ID=PATH, e.g. 12=/home/me/moved/report.pdf")?;
    let id = id.trim().parse::<u64>().map_err(|_| format!("{id:?} is not a job ID (`twindrop status` shows them)"))?;
    match path.is_empty() {
        true => Err("the PATH after ID= is empty".into()),
        false => Ok((id, PathBuf::from(path))),
    }
}

/// Remove and locate the jobs named, then run the located ones. Exits 0 when every located job
/// ended `ok` (or skipped).
pub async fn retry_named(service: Service, journal: Journal, args: RetryArgs, json: bool) -> Result<ExitCode, Error> {
    let journal = Arc::new(journal);
    let queue = Queue::new(service, journal.clone(), upload::options(&args.run)?);
    let quiet: EventSink = Arc::new(|_| {});
    let not_failed = |id: u64| {
        Error::invalid(Invalid::Option, format!("job {id} has not failed (`twindrop status` shows its state)"))
    };
    for &id in &args.remove {
        if !queue.remove_failed(id, &quiet)? {
            return Err(not_failed(id));
        }
        match json {
            true => println!("{}", json!({ "removed": id })),
            false => eprintln!("job {id} removed: it will not be retried"),
        }
    }
    for (id, path) in &args.locate {
        if !queue.locate(*id, path, &quiet)? {
            return Err(not_failed(*id));
        }
        match json {
            true => println!("{}", json!({ "located": id, "path": path })),
            false => eprintln!("job {id} back in the queue, from {}", path.display()),
        }
    }
    if args.locate.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let printer = Printer::new(json);
    queue.run(printer.sink(), RunMode::UntilIdle).await?;
    printer.finish();
    let failed =
        args.locate.iter().filter(|(id, _)| journal.get(*id).is_ok_and(|j| j.state == JobState::Failed)).count();
    Ok(printer.exit(failed == 0))
}
