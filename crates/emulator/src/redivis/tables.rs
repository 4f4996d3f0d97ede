//! Tables: `POST /api/v1/datasets/{dataset}/tables` and `GET /api/v1/tables/{table}`.
//!
//! Datasets are not modelled: any dataset reference is accepted, and the table is
//! `{dataset}.{name}`. `demo.sandbox:v1.files` (a file-index table) exists from the start.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::body::{self, ApiPath};
use super::error::RedivisError;
use super::model::Table;
use crate::app::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewTable {
    name: String,
    #[serde(default)]
    is_file_index: bool,
}

/// Creates `{dataset}.{name}`; 200 with the table, 400 if it exists or the name is unusable.
pub(crate) async fn create_table(
    State(app): State<Arc<App>>,
    ApiPath(dataset): ApiPath<String>,
    body::Json(new): body::Json<NewTable>,
) -> Result<Json<Value>, RedivisError> {
    if dataset.trim().is_empty() {
        return Err(RedivisError::invalid("The dataset reference is empty."));
    }
    let usable = !new.name.is_empty()
        && new.name.len() <= 128
        && new.name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ');
    if !usable {
        return Err(RedivisError::invalid(format!(
            "Invalid table name '{}': use 1 to 128 letters, digits, '_', '-' or spaces.",
            new.name
        )));
    }
    let table = Table::new(&dataset, &new.name, new.is_file_index);
    let json = table.to_json();
    app.store
        .write(|state| {
            if state.redivis.tables.contains_key(&table.reference) {
                return Err(RedivisError::invalid(format!("A table '{}' already exists.", table.reference)));
            }
            state.redivis.tables.insert(table.reference.clone(), table);
            Ok(())
        })
        .await
        .map_err(RedivisError::internal)??;
    Ok(Json(json))
}

pub(crate) async fn get_table(
    State(app): State<Arc<App>>,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<Value>, RedivisError> {
    app.store.read(|state| state.redivis.table(&reference).map(|table| Json(table.to_json())))
}
