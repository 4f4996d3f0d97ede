//! `twindrop doctor`: the engine's connection check (`twindrop_engine::doctor`), printed as a
//! checklist, or as one JSON report with `--json`. The app's "Check connection" is the same
//! call.

use std::process::ExitCode;

use serde_json::json;
use twindrop_engine::app::{App, Hooks, Places};
use twindrop_engine::doctor::{Report, StepName, Subject, Verdict};
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::service::ServiceKind;
use twindrop_engine::Error;

use crate::Connection;

#[derive(clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    conn: Connection,
    /// Redivis: the table the token is checked on (default: the profile's).
    #[arg(long, env = "TWINDROP_TABLE", conflicts_with = "asset")]
    table: Option<String>,
    /// Inspect: the asset the token is checked on (default: the profile's).
    #[arg(long, env = "TWINDROP_ASSET")]
    asset: Option<String>,
    /// Check a fresh local sandbox (the app's built-in emulator) instead of an account.
    #[arg(long, conflicts_with_all = ["table", "asset"], env = "TWINDROP_SANDBOX", value_parser = clap::builder::FalseyValueParser::new())]
    sandbox: bool,
}

pub async fn doctor(settings: &SettingsFile, args: DoctorArgs, json: bool) -> Result<ExitCode, Error> {
    let report = if args.sandbox {
        sandbox_report().await?
    } else {
        let subject = Subject::locate(
            settings,
            args.conn.profile.as_deref(),
            args.conn.base_url.as_deref(),
            args.conn.kind(),
            args.conn.secret()?,
            args.table.or(args.asset),
        )?;
        twindrop_engine::doctor::check(subject).await
    };
    if json {
        println!("{}", json!({ "passed": report.passed(), "report": report }));
    } else {
        print(&report);
    }
    Ok(crate::exit::files(report.passed()))
}

/// The sandbox as the app opens it, in a throwaway folder (never the app's own sandbox, which
/// may be running).
async fn sandbox_report() -> Result<Report, Error> {
    let dir = tempfile::tempdir().map_err(|e| Error::Setup(format!("a temporary folder: {e}")))?;
    let app = App::new(Places::in_dir(dir.path()), Hooks::default());
    app.open_sandbox().await?;
    let report = app.check_connection(None).await;
    app.stop_sandbox().await;
    report
}

fn print(report: &Report) {
    println!("twindrop doctor: {} at {}", kind_label(report.service), report.base_url);
    for step in &report.steps {
        let mark = match step.verdict {
            Verdict::Pass => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        };
        let code = step.code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
        println!("  {mark}  {:<11} {}{code}", step_label(step.name), step.summary);
        if let Some(next) = &step.next {
            println!("        {:<11} next: {next}", "");
        }
    }
    match report.passed() {
        true => println!("every check passed"),
        false => println!("some checks failed: see `next` above"),
    }
}

fn step_label(name: StepName) -> &'static str {
    match name {
        StepName::Keyring => "keyring",
        StepName::Host => "host",
        StepName::Secret => "secret",
        StepName::RoundTrip => "round trip",
    }
}

fn kind_label(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::TrustedTwin => "Trusted Twin",
        ServiceKind::Redivis => "Redivis",
        ServiceKind::Inspect => "Screening Eagle Inspect",
        ServiceKind::Hbr => "Alibaba HBR",
    }
}
