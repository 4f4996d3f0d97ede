//! Who is calling, and may they do this.
//!
//! The emulator has one account. Every configured secret is a user of it. Users from
//! `Config::secrets` share the account's role, which allows everything; users from
//! `Config::users` each get a role of their own that allows only the operations listed for them.
//! Every handler names the operation it performs ([`Caller::authorize`]); a missing permission is
//! 403/403535.
//!
//! Secrets are never stored or logged: users are looked up by the SHA-256 of the header value, and
//! a user's UUID (and a restricted user's role UUID) is derived from that digest so it stays the
//! same across restarts.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::{Builder, Uuid};

use crate::app::App;
use crate::config::UserSpec;
use crate::error::{ApiError, Subcode};

/// The API operations the emulator implements, named as in role statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Operation {
    WhoAmI,
    CreateUploadUrl,
    InvalidateUploadUrl,
    CreateTwin,
    GetTwin,
    TerminateTwin,
    AttachTwinDoc,
    GetTwinDoc,
    GetTwinDocs,
    UpdateTwinDoc,
    DeleteTwinDoc,
    DeleteTwinDocs,
}

impl Operation {
    const ALL: [Operation; 12] = [
        Operation::WhoAmI,
        Operation::CreateUploadUrl,
        Operation::InvalidateUploadUrl,
        Operation::CreateTwin,
        Operation::GetTwin,
        Operation::TerminateTwin,
        Operation::AttachTwinDoc,
        Operation::GetTwinDoc,
        Operation::GetTwinDocs,
        Operation::UpdateTwinDoc,
        Operation::DeleteTwinDoc,
        Operation::DeleteTwinDocs,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Operation::WhoAmI => "who_am_i",
            Operation::CreateUploadUrl => "create_upload_url",
            Operation::InvalidateUploadUrl => "invalidate_upload_url",
            Operation::CreateTwin => "create_twin",
            Operation::GetTwin => "get_twin",
            Operation::TerminateTwin => "terminate_twin",
            Operation::AttachTwinDoc => "attach_twin_doc",
            Operation::GetTwinDoc => "get_twin_doc",
            Operation::GetTwinDocs => "get_twin_docs",
            Operation::UpdateTwinDoc => "update_twin_doc",
            Operation::DeleteTwinDoc => "delete_twin_doc",
            Operation::DeleteTwinDocs => "delete_twin_docs",
        }
    }

    fn from_name(name: &str) -> Result<Operation, String> {
        Operation::ALL.into_iter().find(|op| op.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
            format!("unknown operation '{name}' (known: {})", known.join(", "))
        })
    }
}

/// A role's statement, reduced to the list of allowed operations.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub(crate) uuid: Uuid,
    /// `None` allows everything: the default role of the emulator's account.
    allowed: Option<BTreeSet<Operation>>,
}

impl Role {
    pub(crate) fn allow_all(uuid: Uuid) -> Self {
        Role { uuid, allowed: None }
    }

    fn allows(&self, operation: Operation) -> bool {
        self.allowed.as_ref().is_none_or(|allowed| allowed.contains(&operation))
    }
}

#[derive(Debug, Clone)]
struct User {
    uuid: Uuid,
    role: Arc<Role>,
}

/// The users of the account, keyed by the SHA-256 of their secret.
pub(crate) struct Users {
    account: Uuid,
    by_digest: HashMap<[u8; 32], User>,
}

impl Users {
    pub(crate) fn new(secrets: &[String], account: Uuid, role: Role) -> Self {
        let role = Arc::new(role);
        let mut by_digest = HashMap::new();
        for secret in secrets {
            if secret.is_empty() {
                tracing::warn!("ignoring an empty secret in the emulator config");
                continue;
            }
            let digest = digest(secret);
            let uuid = derived_uuid(b"user", account, &digest);
            by_digest.insert(digest, User { uuid, role: role.clone() });
        }
        Users { account, by_digest }
    }

    /// Adds the restricted users; an unknown operation name is an error, not a silent denial.
    pub(crate) fn with_restricted(mut self, specs: &[UserSpec]) -> Result<Self, String> {
        for spec in specs {
            let who = spec.name.clone().unwrap_or_else(|| "a user".into());
            if spec.secret.is_empty() {
                return Err(format!("{who} has an empty secret"));
            }
            let parse = |names: &[String]| -> Result<BTreeSet<Operation>, String> {
                names.iter().map(|name| Operation::from_name(name).map_err(|err| format!("{who}: {err}"))).collect()
            };
            let mut allowed = match &spec.allow {
                None => Operation::ALL.into_iter().collect(),
                Some(names) => parse(names)?,
            };
            for denied in parse(&spec.deny)? {
                allowed.remove(&denied);
            }
            let digest = digest(&spec.secret);
            let uuid = derived_uuid(b"user", self.account, &digest);
            let role = Role { uuid: derived_uuid(b"role", self.account, &digest), allowed: Some(allowed) };
            tracing::info!(user = %who, allowed = ?role.allowed, "restricted emulator user");
            self.by_digest.insert(digest, User { uuid, role: Arc::new(role) });
        }
        Ok(self)
    }

    /// Whether `secret` belongs to a user (any role): what the Redivis API checks.
    pub(crate) fn accepts(&self, secret: &str) -> bool {
        self.by_digest.contains_key(&digest(secret))
    }

    fn lookup(&self, secret: &str) -> Option<Caller> {
        self.by_digest.get(&digest(secret)).map(|user| Caller {
            account: self.account,
            user: user.uuid,
            role: user.role.clone(),
        })
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Stable per (kind, account, secret), and a well-formed UUID4 like the real ones.
fn derived_uuid(kind: &[u8], account: Uuid, secret_digest: &[u8; 32]) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(b"twindrop-emulator/");
    hasher.update(kind);
    hasher.update(b"/");
    hasher.update(account.as_bytes());
    hasher.update(secret_digest);
    let bytes: [u8; 32] = hasher.finalize().into();
    let mut first = [0u8; 16];
    first.copy_from_slice(&bytes[..16]);
    Builder::from_random_bytes(first).into_uuid()
}

/// The authenticated user behind a request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) account: Uuid,
    pub(crate) user: Uuid,
    role: Arc<Role>,
}

impl Caller {
    /// Every handler calls this first with the operation it performs.
    pub(crate) fn authorize(&self, operation: Operation) -> Result<(), ApiError> {
        if self.role.allows(operation) {
            Ok(())
        } else {
            Err(ApiError::new(
                Subcode::AccessForbidden,
                format!("Operation '{}' is not allowed by the role of this user.", operation.name()),
            ))
        }
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| ApiError::new(Subcode::Unauthorized, "Authentication required."))?;
        app.users.lookup(secret).ok_or_else(|| ApiError::new(Subcode::Unauthorized, "Invalid User Secret."))
    }
}

/// `GET /whoami`: the cheapest way for a client to check a secret.
pub(crate) async fn who_am_i(State(_app): State<Arc<App>>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::WhoAmI)?;
    Ok(Json(json!({
        "user": caller.user.to_string(),
        "account": caller.account.to_string(),
        "role": caller.role.uuid.to_string(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_stable_and_distinct() {
        let account = Uuid::new_v4();
        let secrets = vec!["one".to_owned(), "two".to_owned(), String::new()];
        let users = Users::new(&secrets, account, Role::allow_all(Uuid::new_v4()));
        let one = users.lookup("one").unwrap();
        let two = users.lookup("two").unwrap();
        assert_ne!(one.user, two.user);
        assert_eq!(one.user.get_version_num(), 4);
        assert_eq!(one.account, account);
        assert!(users.lookup("").is_none(), "an empty secret is never a user");
        assert!(users.lookup("One").is_none());
        let again = Users::new(&secrets, account, Role::allow_all(Uuid::new_v4()));
        assert_eq!(again.lookup("one").unwrap().user, one.user);
    }

    #[test]
    fn restricted_users_get_their_own_role() {
        let account = Uuid::new_v4();
        let shared = Uuid::new_v4();
        let specs = [
            UserSpec::allowed("reader", &["who_am_i", "get_twin"]),
            UserSpec { name: None, secret: "writer".into(), allow: None, deny: vec!["delete_twin_docs".into()] },
        ];
        let users =
            Users::new(&["admin".to_owned()], account, Role::allow_all(shared)).with_restricted(&specs).unwrap();
        let admin = users.lookup("admin").unwrap();
        let reader = users.lookup("reader").unwrap();
        let writer = users.lookup("writer").unwrap();
        assert_eq!(admin.role.uuid, shared);
        assert_ne!(reader.role.uuid, shared);
        assert_ne!(reader.role.uuid, writer.role.uuid);
        assert!(reader.authorize(Operation::GetTwin).is_ok());
        assert!(reader.authorize(Operation::AttachTwinDoc).is_err());
        assert!(writer.authorize(Operation::DeleteTwinDoc).is_ok());
        assert!(writer.authorize(Operation::DeleteTwinDocs).is_err());
        let again = Users::new(&[], account, Role::allow_all(shared)).with_restricted(&specs).unwrap();
        assert_eq!(again.lookup("reader").unwrap().role.uuid, reader.role.uuid, "stable across restarts");

        let typo = [UserSpec::allowed("x", &["get_twins"])];
        let err = Users::new(&[], account, Role::allow_all(shared)).with_restricted(&typo).err().unwrap();
        assert!(err.contains("get_twins"), "{err}");
    }

    #[test]
    fn a_restricted_role_is_refused_with_403535() {
        let role = Role { uuid: Uuid::new_v4(), allowed: Some([Operation::WhoAmI].into()) };
        let users = Users::new(&["s".to_owned()], Uuid::new_v4(), role);
        let caller = users.lookup("s").unwrap();
        assert!(caller.authorize(Operation::WhoAmI).is_ok());
        let err = caller.authorize(Operation::AttachTwinDoc).unwrap_err();
        assert_eq!(err.subcode(), Subcode::AccessForbidden.code());
    }
}
