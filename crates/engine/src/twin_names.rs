//! Names for Twins, so a person can tell them apart: their own nickname for a Twin (kept on this
//! machine, in settings.json) and the name the Twin's description on the server gives it.
//!
//! The rule for the server's name is one key: `description.name`, a non-blank string (Trusted
//! Twin description keys are `^[a-z_][0-9a-z_]{0,63}$`, so `name` is allowed). Twindrop creates
//! a named Twin with `{"description": {"name": …}}` and reads the same key back when a Twin is
//! chosen; a local nickname, when set, wins over it. A UUID names one Twin wherever it lives,
//! so one map serves every account and the sandbox.
//!
//! Low on purpose: it knows neither settings files nor services (they use it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Invalid, Result};

/// The description key that holds a Twin's name on the server.
pub const NAME_KEY: &str = "name";
/// The longest name kept, in characters: enough to tell Twins apart, short enough for a label.
pub const MOST_CHARS: usize = 80;

/// What Twindrop knows to call one Twin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TwinName {
    /// The person's own name for it, on this machine only.
    #[serde(default)]
    pub nickname: Option<String>,
    /// `description.name` on the server, as last read (created or chosen).
    #[serde(default)]
    pub server_name: Option<String>,
}

impl TwinName {
    /// The nickname, else the server's name.
    pub fn label(&self) -> Option<&str> {
        self.nickname.as_deref().or(self.server_name.as_deref())
    }

    fn is_empty(&self) -> bool {
        self.nickname.is_none() && self.server_name.is_none()
    }
}

/// Every Twin's names, by UUID (lowercase, as `TwinId` keeps it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(transparent)]
pub struct TwinNames(pub BTreeMap<String, TwinName>);

impl TwinNames {
    pub fn get(&self, twin: &str) -> Option<&TwinName> {
        self.0.get(twin)
    }

    /// What to show for a Twin: its nickname, its server name, or its UUID.
    pub fn label(&self, twin: &str) -> String {
        self.get(twin).and_then(TwinName::label).unwrap_or(twin).to_owned()
    }

    /// Set (`Some`) or clear (`None`) the nickname.
    pub fn set_nickname(&mut self, twin: &str, nickname: Option<String>) {
        self.change(twin, |n| n.nickname = nickname);
    }

    /// Remember what the server calls the Twin now (`None`: it no longer names it).
    pub fn set_server_name(&mut self, twin: &str, name: Option<String>) {
        self.change(twin, |n| n.server_name = name);
    }

    fn change(&mut self, twin: &str, edit: impl FnOnce(&mut TwinName)) {
        let entry = self.0.entry(twin.to_owned()).or_default();
        edit(entry);
        if entry.is_empty() {
            self.0.remove(twin);
        }
    }

    pub fn twins(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// A name as typed (a nickname, or a new Twin's name): trimmed; blank means none. Refused when
/// longer than [`MOST_CHARS`] or holding control characters (a label is one line).
pub fn parse_name(text: &str) -> Result<Option<String>> {
    let name = text.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MOST_CHARS {
        return Err(Error::invalid(Invalid::Name, format!("a Twin's name has at most {MOST_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(Invalid::Name, "a Twin's name is one line, without control characters"));
    }
    Ok(Some(name.to_owned()))
}

/// The server's name in a Twin's body (`GET /twins/{twin}`, `POST /twins`): its
/// `description.name` when that is a non-blank string; cut to one line of [`MOST_CHARS`].
pub fn server_name(twin_body: &Value) -> Option<String> {
    let raw = twin_body.get("description")?.get(NAME_KEY)?.as_str()?;
    let line: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let name: String = line.trim().chars().take(MOST_CHARS).collect();
    (!name.trim().is_empty()).then(|| name.trim().to_owned())
}

/// The description a new Twin is created with to carry `name`.
pub fn description_with(name: &str) -> Value {
    json!({ NAME_KEY: name })
}

/// One Twin this machine knows, for a list (`twindrop twins`, the app's recent Twins).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct KnownTwin {
    pub twin: String,
    /// Its nickname, its server name, or its UUID.
    pub label: String,
    pub nickname: Option<String>,
    pub server_name: Option<String>,
    /// The accounts whose recent Twins list it (profile names; `sandbox` for the local sandbox).
    pub accounts: Vec<String>,
}

/// The Twins in `recent` (each account's list, most recent first) and every named one, each
/// once, in that order.
pub fn known<'a>(recent: impl IntoIterator<Item = (String, &'a [String])>, names: &TwinNames) -> Vec<KnownTwin> {
    let mut out: Vec<KnownTwin> = Vec::new();
    let mut add = |twin: &str, account: Option<&str>| {
        let at = match out.iter().position(|k| k.twin == twin) {
            Some(at) => at,
            None => {
                let name = names.get(twin).cloned().unwrap_or_default();
                out.push(KnownTwin {
                    twin: twin.to_owned(),
                    label: names.label(twin),
                    nickname: name.nickname,
                    server_name: name.server_name,
                    accounts: vec![],
                });
                out.len() - 1
            }
        };
        if let Some(account) = account {
            if !out[at].accounts.iter().any(|a| a == account) {
                out[at].accounts.push(account.to_owned());
            }
        }
    };
    for (account, twins) in recent {
        for twin in twins {
            add(twin, Some(&account));
        }
    }
    for twin in names.twins() {
        add(twin, None);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90";
    const B: &str = "0f0f2a71-5b0e-4d8a-9f61-2e7d4c1b8a91";

    #[test]
    fn a_nickname_wins_over_the_server_name_and_clearing_both_forgets_the_twin() {
        let mut names = TwinNames::default();
        assert_eq!(names.label(A), A);
        names.set_server_name(A, Some("Lab scans".into()));
        assert_eq!(names.label(A), "Lab scans");
        names.set_nickname(A, Some("Mine".into()));
        assert_eq!(names.label(A), "Mine");
        names.set_nickname(A, None);
        assert_eq!(names.label(A), "Lab scans");
        names.set_server_name(A, None);
        assert_eq!(names.get(A), None, "an entry with no name is dropped");
    }

    #[test]
    fn names_are_one_trimmed_line_of_at_most_80_characters() {
        assert_eq!(parse_name("  Scans 2026 ").unwrap().as_deref(), Some("Scans 2026"));
        assert_eq!(parse_name("   ").unwrap(), None);
        assert_eq!(parse_name(&"ż".repeat(80)).unwrap().map(|n| n.chars().count()), Some(80));
        assert_eq!(parse_name(&"ż".repeat(81)).unwrap_err().code(), "name.invalid");
        assert_eq!(parse_name("a\nb").unwrap_err().code(), "name.invalid");
    }

    #[test]
    fn the_server_name_is_description_name_when_it_is_a_non_blank_string() {
        assert_eq!(server_name(&json!({"description": {"name": " Scans "}})).as_deref(), Some("Scans"));
        assert_eq!(server_name(&json!({"description": {"name": "a\nb"}})).as_deref(), Some("a b"));
        assert_eq!(server_name(&json!({"description": {"name": 7}})), None);
        assert_eq!(server_name(&json!({"description": {"name": "  "}})), None);
        assert_eq!(server_name(&json!({"description": {"title": "x"}})), None);
        assert_eq!(server_name(&json!({"status": "alive"})), None);
        let long = "x".repeat(200);
        assert_eq!(server_name(&json!({"description": {"name": long}})).map(|n| n.len()), Some(MOST_CHARS));
        assert_eq!(description_with("Scans"), json!({"name": "Scans"}));
    }

    #[test]
    fn known_twins_are_listed_once_with_their_accounts_and_named_ones_last() {
        let mut names = TwinNames::default();
        names.set_nickname(B, Some("Bee".into()));
        names.set_nickname("ffffffff-5b0e-4d8a-9f61-2e7d4c1b8a92", Some("Only named".into()));
        let work = vec![A.to_owned(), B.to_owned()];
        let sandbox = vec![A.to_owned()];
        let list = known([("work".to_owned(), &work[..]), ("sandbox".to_owned(), &sandbox[..])], &names);
        let summary: Vec<(&str, &str, Vec<&str>)> = list
            .iter()
            .map(|k| (&k.twin[..4], k.label.as_str(), k.accounts.iter().map(|a| &a[..]).collect()))
            .collect();
        assert_eq!(
            summary,
            [("3c9f", A, vec!["work", "sandbox"]), ("0f0f", "Bee", vec!["work"]), ("ffff", "Only named", vec![]),]
        );
    }
}
