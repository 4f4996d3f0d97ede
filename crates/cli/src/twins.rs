//! `twindrop twin` (also `twins`): create a Twin (optionally named on the server), list the
//! Twins this machine knows with their names, and give one a nickname: the same settings and
//! engine calls as the app's Twin card.

use std::process::ExitCode;

use serde_json::json;
use twindrop_engine::profile::SettingsFile;
use twindrop_engine::twin_names::KnownTwin;
use twindrop_engine::{Error, TwinId};

use crate::connection::{connect, Connection};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TwinArgs {
    #[command(subcommand)]
    command: Option<TwinCommand>,
}

#[derive(clap::Subcommand)]
enum TwinCommand {
    /// Create a Twin and print its UUID.
    Create {
        #[command(flatten)]
        conn: Connection,
        /// Name it on the server: its description's `name` (what the app shows for it where no
        /// nickname is set).
        #[arg(long, env = "TWINDROP_TWIN_NAME")]
        name: Option<String>,
    },
    /// The Twins this machine knows (each account's recent ones and every named one), with
    /// their names: the nickname, else the server's name. The default.
    List,
    /// Give a Twin a nickname on this machine, shown instead of its UUID here and in the app;
    /// an empty NAME ("") removes it.
    Name { twin: String, name: String },
}

pub async fn run(settings: &SettingsFile, args: TwinArgs, json: bool) -> Result<ExitCode, Error> {
    match args.command.unwrap_or(TwinCommand::List) {
        TwinCommand::Create { conn, name } => {
            let name = twindrop_engine::twin_names::parse_name(name.as_deref().unwrap_or(""))?;
            let tt = connect(settings, &conn).await?;
            let (twin, body) = tt.create_named_twin(name.as_deref()).await?;
            settings.remember_server_name(&twin, &body)?;
            if json {
                println!("{}", json!({ "twin": twin, "name": name }));
            } else {
                println!("{twin}");
            }
        }
        TwinCommand::List => {
            let known = settings.load()?.known_twins();
            if json {
                for twin in &known {
                    println!("{}", serde_json::to_string(twin).expect("a Twin serialises"));
                }
            } else if known.is_empty() {
                println!("no Twins known yet: `twindrop twin create` makes one");
            } else {
                for twin in &known {
                    println!("{}", line(twin));
                }
            }
        }
        TwinCommand::Name { twin, name } => {
            let twin = TwinId::parse(&twin)?;
            let names = settings.name_twin(&twin, &name)?;
            let label = names.label(twin.as_str());
            if json {
                println!("{}", json!({ "twin": twin, "label": label, "names": names.get(twin.as_str()) }));
            } else if label == twin.as_str() {
                println!("{twin}: no name");
            } else {
                println!("{twin}: {label}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `UUID  label  (server: its name)  [accounts]`, a dash where there is no name.
fn line(twin: &KnownTwin) -> String {
    let mut out = format!("{}  {}", twin.twin, if twin.label == twin.twin { "-" } else { &twin.label });
    if let (Some(_), Some(server)) = (&twin.nickname, &twin.server_name) {
        out.push_str(&format!("  (server: {server})"));
    }
    if !twin.accounts.is_empty() {
        out.push_str(&format!("  [{}]", twin.accounts.join(", ")));
    }
    out
}
