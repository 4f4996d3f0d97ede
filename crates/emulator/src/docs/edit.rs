//! Changing Docs after the fact: `PATCH` a description, `DELETE` one Doc or all of a Twin's.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::app::App;
use crate::auth::{Caller, Operation};
use crate::docs::{doc_json, doc_not_found, listing_entry};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::naming::{parse_description, DocName};
use crate::store::Doc;
use crate::twins::{parse_twin_uuid, twin_not_found};

/// What a PATCH asks for. `None`: leave the description alone (the field was absent, or there
/// was no body at all, which is what the 0.4.x client sends for `update_twin_doc(twin, name)`).
/// `Some(None)`: clear it and leave the key out of answers (`null`). `Some(Some(map))`: replace
/// it whole, no merge (`{}` gives `{}`).
fn parse_patch(body: Option<Value>) -> Result<Option<Option<Map<String, Value>>>, String> {
    let fields = match body {
        None => return Ok(None),
        Some(Value::Object(fields)) => fields,
        Some(other) => return Err(format!("The request body must be a dictionary, got {other}.")),
    };
    if let Some(unknown) = fields.keys().find(|key| *key != "description") {
        return Err(format!("Unknown field '{unknown}': only 'description' can be updated."));
    }
    fields.get("description").map(parse_description).transpose()
}

/// `PATCH /twins/{twin}/docs/{doc_name}` (update_twin_doc): 200 with the Doc object.
pub(crate) async fn update_doc(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath((twin, doc_name)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::UpdateTwinDoc)?;
    let uuid = parse_twin_uuid(&twin)?;
    let name = DocName::parse(&doc_name).map_err(ApiError::request_format)?;
    let change = parse_patch(body).map_err(ApiError::request_format)?;
    let now = app.clock.now();
    let body = app
        .store
        .write(|state| {
            let twin = state.twins.get_mut(&uuid).ok_or_else(|| twin_not_found(&twin))?;
            let doc = twin.docs.get_mut(name.as_str()).ok_or_else(|| doc_not_found(&name))?;
            if let Some(description) = change {
                doc.description = description;
                doc.updated_ts = now;
            }
            Ok::<_, ApiError>(doc_json(doc))
        })
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(Value::Object(body)))
}

/// `DELETE /twins/{twin}/docs/{doc_name}` (delete_twin_doc): 200 with the deleted Doc object. A
/// copy still pending for it finds the Doc gone and does nothing.
pub(crate) async fn delete_doc(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath((twin, doc_name)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::DeleteTwinDoc)?;
    let uuid = parse_twin_uuid(&twin)?;
    let name = DocName::parse(&doc_name).map_err(ApiError::request_format)?;
    let blobs = &app.store.blobs;
    let doc = app
        .store
        .write(|state| {
            let twin = state.twins.get_mut(&uuid).ok_or_else(|| twin_not_found(&twin))?;
            let doc = twin.docs.remove(name.as_str()).ok_or_else(|| doc_not_found(&name))?;
            forget_bytes(&doc, blobs);
            Ok::<_, ApiError>(doc)
        })
        .await
        .map_err(ApiError::internal)??;
    tracing::info!(doc = %name, "Doc deleted");
    Ok(Json(Value::Object(doc_json(&doc))))
}

/// `DELETE /twins/{twin}/docs` (delete_twin_docs): deletes every Doc of the Twin and answers
/// with the listing shape of what was deleted, `{"docs": {name: [created_ts, updated_ts,
/// size]}}`. `view` is accepted like the listing's (only `list`).
pub(crate) async fn delete_docs(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(twin): ApiPath<String>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(Operation::DeleteTwinDocs)?;
    super::check_view(&query)?;
    let uuid = parse_twin_uuid(&twin)?;
    let blobs = &app.store.blobs;
    let deleted = app
        .store
        .write(|state| {
            let twin = state.twins.get_mut(&uuid).ok_or_else(|| twin_not_found(&twin))?;
            let docs = twin.docs.take_all();
            docs.values().for_each(|doc| forget_bytes(doc, blobs));
            Ok::<_, ApiError>(docs)
        })
        .await
        .map_err(ApiError::internal)??;
    tracing::info!(count = deleted.len(), "all Docs of a Twin deleted");
    let docs: Map<String, Value> = deleted.iter().map(|(name, doc)| (name.clone(), listing_entry(doc))).collect();
    Ok(Json(json!({ "docs": docs })))
}

fn forget_bytes(doc: &Doc, blobs: &crate::blobs::Blobs) {
    if doc.has_blob {
        blobs.remove_doc(doc.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_semantics() {
        assert_eq!(parse_patch(None).unwrap(), None, "no body: no change");
        assert_eq!(parse_patch(Some(json!({}))).unwrap(), None, "absent: no change");
        assert_eq!(parse_patch(Some(json!({"description": null}))).unwrap(), Some(None));
        assert_eq!(parse_patch(Some(json!({"description": {}}))).unwrap(), Some(Some(Map::new())));
        let replaced = parse_patch(Some(json!({"description": {"a": 1}}))).unwrap().unwrap().unwrap();
        assert_eq!(Value::Object(replaced), json!({"a": 1}));
        assert!(parse_patch(Some(json!({"description": {"A": 1}}))).is_err());
        assert!(parse_patch(Some(json!({"storage_class": "cost_optimized"}))).is_err());
        assert!(parse_patch(Some(json!([1]))).is_err());
    }
}
