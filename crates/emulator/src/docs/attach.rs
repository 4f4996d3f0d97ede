//! `POST /twins/{twin}/docs` (attach_twin_doc) and the asynchronous copy that follows it.
//!
//! The request envelope is not settled (spec §3.4), so both readings are accepted and answered in
//! kind:
//!
//! - Shape A, keyed by name: `{"docs": {"<name>": {handler, storage_class?, hash?, description?}}}`
//!   → `{"docs": {"<name>": <doc object or {"error": ...}>}}`
//! - Shape B, a list: `{"docs": [{doc_name, handler, ...}]}` → `{"docs": [...]}` in request order,
//!   each element also carrying its `doc_name` so the answer can be matched without relying on
//!   position.
//!
//! A malformed request (bad shape, invalid name, storage class or description key) fails whole
//! with 400/400589 before anything is attached. Otherwise the answer is always 201 and each Doc
//! succeeds or fails on its own, with the two documented error strings.
//!
//! The copy: at attach time the Doc gets its own hard link to the upload's current bytes (so a
//! later PUT to the same URL or the upload's expiry cannot change it), and answers `copying`.
//! After the configured delay a task settles it to `ok`, or `hash_mismatch` (dropping the bytes:
//! "no copy was made") when a `hash` was given and differs. Fault rules can change the delay
//! (`copy_ms`) or make the copy end in `error` (`copy_outcome`) for the Docs of one request.

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, Operation};
use crate::config::EmptyUploads;
use crate::docs::doc_json;
use crate::error::ApiError;
use crate::extract::{ApiPath, JsonBody};
use crate::faults::{CopyOutcome, Faults};
use crate::naming::{parse_description, DocName, StorageClass};
use crate::store::{Doc, DocStatus, UploadContent};
use crate::twins::{parse_twin_uuid, twin_not_found};

const DOC_EXISTS: &str = "Doc already exists.";

fn no_doc_uploaded(handler: &str) -> String {
    format!("No Doc uploaded through the upload URL - check handler [{handler}].")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// Shape A.
    Keyed,
    /// Shape B.
    Listed,
}

#[derive(Debug)]
struct Entry {
    name: DocName,
    handler: String,
    storage_class: StorageClass,
    hash: Option<String>,
    description: Option<Map<String, Value>>,
}

#[derive(Debug)]
struct AttachRequest {
    container: Container,
    entries: Vec<Entry>,
}

const ENTRY_FIELDS: [&str; 4] = ["handler", "storage_class", "hash", "description"];

impl AttachRequest {
    fn parse(body: Option<Value>) -> Result<AttachRequest, String> {
        let Some(Value::Object(mut body)) = body else {
            return Err("The request body must be a dictionary with a 'docs' field.".into());
        };
        let docs = body.remove("docs").ok_or("Missing field 'docs'.")?;
        if let Some(unknown) = body.keys().next() {
            return Err(format!("Unknown field '{unknown}' in the request body."));
        }
        match docs {
            Value::Object(docs) => {
                let entries = docs
                    .into_iter()
                    .map(|(name, spec)| {
                        let Value::Object(spec) = spec else {
                            return Err(format!("Doc '{name}' must be a dictionary."));
                        };
                        Entry::parse(&name, spec, &ENTRY_FIELDS)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(AttachRequest { container: Container::Keyed, entries })
            }
            Value::Array(docs) => {
                let mut allowed = ENTRY_FIELDS.to_vec();
                allowed.push("doc_name");
                let entries = docs
                    .into_iter()
                    .map(|spec| {
                        let Value::Object(spec) = spec else {
                            return Err("Each item of 'docs' must be a dictionary.".to_owned());
                        };
                        let name = match spec.get("doc_name") {
                            Some(Value::String(name)) => name.clone(),
                            _ => return Err("Each item of 'docs' needs a string 'doc_name'.".into()),
                        };
                        Entry::parse(&name, spec, &allowed)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(AttachRequest { container: Container::Listed, entries })
            }
            other => Err(format!("'docs' must be a dictionary keyed by doc_name or a list, got {other}.")),
        }
    }
}

impl Entry {
    fn parse(name: &str, spec: Map<String, Value>, allowed: &[&str]) -> Result<Entry, String> {
        let name = DocName::parse(name)?;
        if let Some(unknown) = spec.keys().find(|key| !allowed.contains(&key.as_str())) {
            return Err(format!("Unknown field '{unknown}' for Doc '{name}'."));
        }
        let handler = match spec.get("handler") {
            Some(Value::String(handler)) => handler.clone(),
            _ => return Err(format!("Doc '{name}' needs a string 'handler'.")),
        };
        let storage_class = match spec.get("storage_class") {
            None | Some(Value::Null) => StorageClass::default(),
            Some(value) => StorageClass::parse(value)?,
        };
        let hash = match spec.get("hash") {
            None | Some(Value::Null) => None,
            Some(Value::String(hash)) => Some(hash.clone()),
            Some(other) => return Err(format!("'hash' of Doc '{name}' must be a string, got {other}.")),
        };
        let description = match spec.get("description") {
            None => None,
            Some(value) => parse_description(value)?,
        };
        Ok(Entry { name, handler, storage_class, hash, description })
    }
}

enum Outcome {
    Attached { body: Map<String, Value> },
    Failed(String),
}

pub(crate) async fn attach_docs(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(twin): ApiPath<String>,
    Faults(faults): Faults,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.authorize(Operation::AttachTwinDoc)?;
    let fail_copy = faults.copy_outcome == Some(CopyOutcome::Error);
    let copy_delay = faults.copy_delay.unwrap_or(app.copy_delay);
    let uuid = parse_twin_uuid(&twin)?;
    let request = AttachRequest::parse(body).map_err(ApiError::request_format)?;
    tracing::debug!(container = ?request.container, docs = request.entries.len(), "attach");

    let now = app.clock.now();
    let blobs = &app.store.blobs;
    let outcomes = app
        .store
        .write(|state| {
            // What each handler can give, looked up before the Twin is borrowed mutably.
            let sources: Vec<Option<(String, UploadContent)>> = request
                .entries
                .iter()
                .map(|entry| {
                    let upload = state.upload(&entry.handler)?;
                    if upload.is_expired(now) {
                        return None;
                    }
                    let content = upload.content.clone()?;
                    if content.size == 0 && app.empty_uploads == EmptyUploads::NoDoc {
                        return None;
                    }
                    Some((upload.token.clone(), content))
                })
                .collect();
            let twin = state.twins.get_mut(&uuid).ok_or_else(|| twin_not_found(&twin))?;
            let mut outcomes = Vec::with_capacity(request.entries.len());
            let mut created = Vec::new();
            for (entry, source) in request.entries.iter().zip(sources) {
                if twin.docs.contains_key(entry.name.as_str()) {
                    outcomes.push(Outcome::Failed(DOC_EXISTS.into()));
                    continue;
                }
                let Some((token, content)) = source else {
                    outcomes.push(Outcome::Failed(no_doc_uploaded(&entry.handler)));
                    continue;
                };
                let id = Uuid::new_v4();
                // A failed link is not the client's fault: the Doc is accepted and its copy
                // ends in `error`, as the real service reports failed copies.
                let has_blob = match blobs.link_doc(&token, id) {
                    Ok(()) => true,
                    Err(err) => {
                        tracing::warn!(%err, doc = %entry.name, "could not copy the upload");
                        false
                    }
                };
                let doc = Doc {
                    id,
                    created_ts: now,
                    updated_ts: now,
                    creator: caller.account,
                    size: content.size,
                    hash: entry.hash.clone(),
                    sha256: content.sha256,
                    storage_class: entry.storage_class,
                    status: DocStatus::Copying,
                    description: entry.description.clone(),
                    has_blob,
                    fail_copy,
                };
                outcomes.push(Outcome::Attached { body: doc_json(&doc) });
                twin.docs.insert(entry.name.as_str().to_owned(), doc);
                // Scheduled here, with the Doc, not after the write: a client that hangs up
                // drops this handler at its next await, and a Doc without its copy would stay
                // `copying` forever.
                schedule_copy(&app, uuid, entry.name.as_str().to_owned(), id, copy_delay);
                created.push(entry.name.as_str());
            }
            for name in created {
                state.count_attach(uuid, name);
            }
            Ok::<_, ApiError>(outcomes)
        })
        .await
        .map_err(ApiError::internal)??;

    let mut keyed = Map::new();
    let mut listed = Vec::new();
    for (entry, outcome) in request.entries.into_iter().zip(outcomes) {
        let mut item = match outcome {
            Outcome::Attached { body } => body,
            Outcome::Failed(error) => {
                tracing::info!(doc = %entry.name, %error, "Doc not attached");
                let mut item = Map::new();
                item.insert("error".into(), json!(error));
                item
            }
        };
        match request.container {
            Container::Keyed => {
                keyed.insert(entry.name.into_string(), Value::Object(item));
            }
            Container::Listed => {
                item.insert("doc_name".into(), json!(entry.name.as_str()));
                listed.push(Value::Object(item));
            }
        }
    }
    let docs = match request.container {
        Container::Keyed => Value::Object(keyed),
        Container::Listed => Value::Array(listed),
    };
    Ok((StatusCode::CREATED, Json(json!({ "docs": docs }))))
}

/// Settles a `copying` Doc after `delay`. Holds only a weak reference so that a pending copy
/// never keeps a stopped emulator alive.
fn schedule_copy(app: &Arc<App>, twin: Uuid, name: String, doc: Uuid, delay: Duration) {
    let weak: Weak<App> = Arc::downgrade(app);
    app.spawn_copy(async move {
        tokio::time::sleep(delay).await;
        if let Some(app) = weak.upgrade() {
            finish_copy(&app, twin, &name, doc).await;
        }
    });
}

/// Restarts the copies that were still pending when the emulator last stopped.
pub(crate) fn resume_copies(app: &Arc<App>) {
    let pending: Vec<(Uuid, String, Uuid)> = app.store.read(|state| {
        state
            .twins
            .values()
            .flat_map(|twin| {
                twin.docs
                    .iter()
                    .filter(|(_, doc)| doc.status == DocStatus::Copying)
                    .map(|(name, doc)| (twin.uuid, name.clone(), doc.id))
            })
            .collect()
    });
    for (twin, name, doc) in pending {
        schedule_copy(app, twin, name, doc, app.copy_delay);
    }
}

async fn finish_copy(app: &App, twin: Uuid, name: &str, id: Uuid) {
    let now = app.clock.now();
    let blobs = &app.store.blobs;
    let settled = app
        .store
        .write(|state| {
            let doc = state.twins.get_mut(&twin)?.docs.get_mut(name)?;
            // The Doc may have been replaced under the same name since.
            if doc.id != id || doc.status != DocStatus::Copying {
                return None;
            }
            doc.status = if doc.fail_copy || !doc.has_blob {
                if doc.has_blob {
                    blobs.remove_doc(id);
                    doc.has_blob = false;
                }
                DocStatus::Error
            } else if doc.hash.as_ref().is_some_and(|hash| !hash.eq_ignore_ascii_case(&doc.sha256)) {
                blobs.remove_doc(id);
                doc.has_blob = false;
                DocStatus::HashMismatch
            } else {
                DocStatus::Ok
            };
            doc.updated_ts = now;
            Some(doc.status)
        })
        .await;
    match settled {
        Ok(Some(status)) => tracing::info!(doc = name, ?status, "copy finished"),
        Ok(None) => {}
        Err(err) => tracing::error!(%err, doc = name, "could not record a finished copy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<AttachRequest, String> {
        AttachRequest::parse(Some(body))
    }

    #[test]
    fn shape_a_and_b() {
        let a = parse(json!({"docs": {"a.txt": {"handler": "h", "storage_class": "cost_optimized"}}})).unwrap();
        assert_eq!(a.container, Container::Keyed);
        assert_eq!(a.entries[0].name.as_str(), "a.txt");
        assert_eq!(a.entries[0].storage_class, StorageClass::CostOptimized);

        let b = parse(json!({"docs": [{"doc_name": "b", "handler": "h", "hash": "AB"}]})).unwrap();
        assert_eq!(b.container, Container::Listed);
        assert_eq!(b.entries[0].storage_class, StorageClass::AccessOptimized);
        assert_eq!(b.entries[0].hash.as_deref(), Some("AB"));
    }

    #[test]
    fn malformed_requests() {
        for body in [
            json!({}),
            json!({"docs": "x"}),
            json!({"docs": {}, "extra": 1}),
            json!({"docs": {"archive.tar.gz": {"handler": "h"}}}),
            json!({"docs": {"a": {}}}),
            json!({"docs": {"a": {"handler": 1}}}),
            json!({"docs": {"a": {"handler": "h", "storage_class": "fast"}}}),
            json!({"docs": {"a": {"handler": "h", "description": {"Bad": 1}}}}),
            json!({"docs": {"a": {"handler": "h", "hash": 5}}}),
            json!({"docs": {"a": {"handler": "h", "doc_name": "a"}}}),
            json!({"docs": [{"handler": "h"}]}),
            json!({"docs": ["a"]}),
        ] {
            assert!(parse(body.clone()).is_err(), "{body} must be refused");
        }
        assert!(AttachRequest::parse(None).is_err());
    }

    #[test]
    fn description_null_and_empty() {
        let r = parse(json!({"docs": {"a": {"handler": "h", "description": null}}})).unwrap();
        assert_eq!(r.entries[0].description, None);
        let r = parse(json!({"docs": {"a": {"handler": "h", "description": {}}}})).unwrap();
        assert_eq!(r.entries[0].description, Some(Map::new()));
    }
}
