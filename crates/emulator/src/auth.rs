//! Who is calling, and may they do this.
//!
//! The emulator has one account. Every configured secret is a user of it, and every user has the
//! account's one role, which for now allows every operation. Handlers still name the operation
//! they perform ([`Caller::authorize`]), so per-user roles can later deny some of them with
//! 403/403535 without touching the handlers.
//!
//! Secrets are never stored or logged: users are looked up by the SHA-256 of the header value, and
//! a user's UUID is derived from that digest so it stays the same across restarts.

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
use crate::error::{ApiError, Subcode};

/// The API operations the emulator implements, named as in role statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Operation {
    WhoAmI,
    CreateUploadUrl,
    CreateTwin,
    GetTwin,
    AttachTwinDoc,
    GetTwinDoc,
    GetTwinDocs,
}

impl Operation {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Operation::WhoAmI => "who_am_i",
            Operation::CreateUploadUrl => "create_upload_url",
            Operation::CreateTwin => "create_twin",
            Operation::GetTwin => "get_twin",
            Operation::AttachTwinDoc => "attach_twin_doc",
            Operation::GetTwinDoc => "get_twin_doc",
            Operation::GetTwinDocs => "get_twin_docs",
        }
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
            let uuid = user_uuid(account, &digest);
            by_digest.insert(digest, User { uuid, role: role.clone() });
        }
        Users { account, by_digest }
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

/// Stable per (account, secret), and a well-formed UUID4 like the real ones.
fn user_uuid(account: Uuid, secret_digest: &[u8; 32]) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(b"twindrop-emulator/user/");
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
    fn a_restricted_role_is_refused_with_403535() {
        let role = Role { uuid: Uuid::new_v4(), allowed: Some([Operation::WhoAmI].into()) };
        let users = Users::new(&["s".to_owned()], Uuid::new_v4(), role);
        let caller = users.lookup("s").unwrap();
        assert!(caller.authorize(Operation::WhoAmI).is_ok());
        let err = caller.authorize(Operation::AttachTwinDoc).unwrap_err();
        assert_eq!(err.subcode(), Subcode::AccessForbidden);
    }
}
