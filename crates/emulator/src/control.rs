//! The control endpoints, `/_emulator/...`: change the fault plan, read counters, move the clock.
//!
//! They are for tests and for a person poking at a running emulator, never for an API client, so
//! they sit outside the Trusted Twin namespace and need the header `X-Emulator-Control: <token>`.
//! The token is random per start unless configured; the Trusted Twin secret alone never opens
//! them. Without the right token they answer exactly like an unknown route (404/404653), so a
//! normal client cannot stumble on them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::faults::{FaultPlan, Route};

pub(crate) const HEADER: &str = "x-emulator-control";

pub(crate) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/_emulator/faults", get(get_faults).put(put_faults).delete(clear_faults))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/clock", post(advance_clock))
}

/// A request that carried the right control token.
pub(crate) struct Controller;

impl FromRequestParts<Arc<App>> for Controller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let given = parts.headers.get(HEADER).map(|value| Sha256::digest(value.as_bytes()));
        // Compared as digests: equal length, and no early exit on the first differing byte.
        match given {
            Some(given) if given.as_slice() == app.control_digest.as_slice() => Ok(Controller),
            _ => Err(ApiError::not_found("Resource not found.")),
        }
    }
}

/// A control endpoint's own errors: plain, since no Trusted Twin client ever sees them.
fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

async fn get_faults(_: Controller, State(app): State<Arc<App>>) -> Json<FaultPlan> {
    Json(app.faults.plan())
}

/// Installs a new plan (the body, same JSON as `--faults`); its counters start afresh.
async fn put_faults(_: Controller, State(app): State<Arc<App>>, JsonBody(body): JsonBody) -> Response {
    let plan = match serde_json::from_value::<FaultPlan>(body.unwrap_or(json!({}))) {
        Ok(plan) => plan,
        Err(err) => return bad_request(format!("invalid fault plan: {err}")),
    };
    tracing::info!(rules = plan.rules.len(), seed = plan.seed, "fault plan installed via the control endpoint");
    app.faults.install(plan.clone());
    Json(plan).into_response()
}

async fn clear_faults(_: Controller, State(app): State<Arc<App>>) -> Json<FaultPlan> {
    app.faults.install(FaultPlan::default());
    Json(FaultPlan::default())
}

/// `{"calls": {route: n}, "fired": [n per rule], "attached": {twin: {doc_name: n}},
/// "redivis_bytes_received": n, "inspect_bytes_received": n, "oss_bytes_received": n,
/// "secrets_on_urls": n, "redirect_visits": n}`.
async fn stats(_: Controller, State(app): State<Arc<App>>) -> Json<Value> {
    let calls: BTreeMap<&str, u64> =
        Route::ALL.into_iter().map(|route| (route.name(), app.faults.call_count(route))).collect();
    let attached = app.store.read(|state| serde_json::to_value(&state.attached).unwrap_or(Value::Null));
    Json(json!({
        "calls": calls,
        "fired": app.faults.fired(),
        "attached": attached,
        "redivis_bytes_received": app.redivis.bytes_received(),
        "inspect_bytes_received": app.inspect.bytes_received(),
        "oss_bytes_received": app.oss.bytes_received(),
        "secrets_on_urls": app.secrets_on_urls.load(std::sync::atomic::Ordering::Relaxed),
        "redirect_visits": app.faults.redirect_target().map_or(0, |target| target.visits()),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

/// `{"seconds": 3601}` moves the emulator's clock forward (upload URL and download link expiry);
/// answers the new `now`.
async fn advance_clock(_: Controller, State(app): State<Arc<App>>, JsonBody(body): JsonBody) -> Response {
    let advance = match body.map(serde_json::from_value::<Advance>) {
        Some(Ok(advance)) if advance.seconds.is_finite() && advance.seconds >= 0.0 => advance,
        _ => return bad_request("expected {\"seconds\": <non-negative number>}".into()),
    };
    app.clock.advance(Duration::from_secs_f64(advance.seconds));
    Json(json!({ "now": app.clock.now() })).into_response()
}
