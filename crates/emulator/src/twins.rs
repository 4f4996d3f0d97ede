//! Twins: just enough to have something to attach Docs to.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, Operation};
use crate::error::{ApiError, Subcode};
use crate::extract::{ApiPath, JsonBody};
use crate::naming::parse_description;
use crate::store::Twin;

/// `POST /twins`. The body is optional: none, `{}`, or `{"description": {...}}`.
pub(crate) async fn create_twin(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.authorize(Operation::CreateTwin)?;
    let description = match body {
        None => None,
        Some(Value::Object(fields)) => {
            if let Some(unknown) = fields.keys().find(|key| *key != "description") {
                return Err(ApiError::request_format(format!("Unknown field '{unknown}' in the request body.")));
            }
            match fields.get("description") {
                None => None,
                Some(value) => parse_description(value).map_err(ApiError::request_format)?,
            }
        }
        Some(other) => {
            return Err(ApiError::request_format(format!("The request body must be a dictionary, got {other}.")))
        }
    };
    let now = app.clock.now();
    let twin = Twin {
        uuid: Uuid::new_v4(),
        owner: caller.account,
        creator: caller.account,
        created_ts: now,
        updated_ts: now,
        description,
        docs: Default::default(),
        terminated: None,
    };
    let body = twin_json(&twin);
    app.store.write(|state| state.twins.insert(twin.uuid, twin)).await.map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /twins/{twin}` (terminate_twin): the Twin stays, marked terminated, with its Docs
/// (spec §3.11). Terminating it again is 400358 "Twin already terminated.".
pub(crate) async fn terminate_twin(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(twin): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::TerminateTwin)?;
    let uuid = parse_twin_uuid(&twin)?;
    let now = app.clock.now();
    let body = app
        .store
        .write(|state| {
            let found = state.twins.get_mut(&uuid).ok_or_else(|| twin_not_found(&twin))?;
            if found.terminated.is_some() {
                return Err(ApiError::new(Subcode::IdempotencyViolation, "Twin already terminated."));
            }
            found.terminated = Some((caller.account, now));
            found.updated_ts = now;
            Ok(twin_json(found))
        })
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(body))
}

/// `GET /twins/{twin}`. `show_terminated` is accepted and ignored: a terminated Twin is shown,
/// as by the default `show_terminated=True`.
pub(crate) async fn get_twin(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(twin): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::GetTwin)?;
    let uuid = parse_twin_uuid(&twin)?;
    app.store.read(|state| state.twins.get(&uuid).map(twin_json)).map(Json).ok_or_else(|| twin_not_found(&twin))
}

/// An unknown Twin and a malformed Twin id get the same answer: nothing by that name.
pub(crate) fn parse_twin_uuid(twin: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(twin).map_err(|_| twin_not_found(twin))
}

pub(crate) fn twin_not_found(twin: &str) -> ApiError {
    ApiError::not_found(format!("Twin [{twin}] not found."))
}

fn twin_json(twin: &Twin) -> Value {
    let mut body = Map::new();
    let status = if twin.terminated.is_some() { "terminated" } else { "alive" };
    body.insert("status".into(), json!(status));
    body.insert("owner".into(), json!(twin.owner.to_string()));
    body.insert("updated_ts".into(), json!(twin.updated_ts));
    body.insert(
        "creation_certificate".into(),
        json!({
            "uuid": twin.uuid.to_string(),
            "created_ts": twin.created_ts,
            "creator": twin.creator.to_string(),
        }),
    );
    if let Some((issuer, terminated_ts)) = &twin.terminated {
        body.insert(
            "termination_certificate".into(),
            json!({ "issuer": issuer.to_string(), "terminated_ts": terminated_ts }),
        );
    }
    if let Some(description) = &twin.description {
        body.insert("description".into(), Value::Object(description.clone()));
    }
    Value::Object(body)
}
