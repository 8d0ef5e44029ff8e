//! Back-office handlers: terminals, catalog, stock, orders, alerts. Admin token only.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tillbook_protocol::catalog::ProductRecord;
use tillbook_protocol::sync::{CreateTerminal, TerminalCreated};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::http::extract::{Admin, ApiJson};
use crate::http::AppState;
use crate::secret::{hash_enrollment_code, new_enrollment_code};
use crate::service::backoffice::{parse_cursor, DEFAULT_ORDERS, MAX_ORDERS};
use crate::service::{
    AdjustRequest, Adjusted, Alerts, CatalogUpserted, OrderDetail, OrderPage, StockList,
};

pub async fn create_terminal(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CreateTerminal>,
) -> Result<(StatusCode, Json<TerminalCreated>)> {
    let terminal_id = Uuid::now_v7();
    let code = new_enrollment_code();
    state
        .store
        .create_terminal(terminal_id, &body.name, &hash_enrollment_code(&code))
        .await?;
    tracing::info!(terminal = %terminal_id, "terminal created");
    Ok((
        StatusCode::CREATED,
        Json(TerminalCreated {
            terminal_id,
            enrollment_code: code,
        }),
    ))
}

fn path_text(path: std::result::Result<Path<String>, PathRejection>) -> Result<String> {
    path.map(|Path(p)| p).map_err(|e| Error::InvalidQuery(e.body_text()))
}

fn terminal_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| Error::not_found(format!("terminal {id}")))
}

pub async fn revoke_terminal(
    State(state): State<AppState>,
    _: Admin,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<Value>> {
    let id = terminal_id(&path_text(path)?)?;
    state.store.revoke_terminal(id).await?;
    tracing::info!(terminal = %id, "terminal revoked");
    Ok(Json(json!({"terminal_id": id, "revoked": true})))
}

pub async fn terminals(State(state): State<AppState>, _: Admin) -> Result<Json<Value>> {
    Ok(Json(json!({"terminals": state.store.terminals().await?})))
}

#[derive(Debug, Deserialize)]
pub struct OrdersQuery {
    limit: Option<u32>,
    after: Option<String>,
}

pub async fn orders(
    State(state): State<AppState>,
    _: Admin,
    query: std::result::Result<Query<OrdersQuery>, QueryRejection>,
) -> Result<Json<OrderPage>> {
    let Query(q) = query.map_err(|e| Error::InvalidQuery(e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_ORDERS);
    if limit == 0 || limit > MAX_ORDERS {
        return Err(Error::InvalidQuery(format!(
            "limit must be 1 to {MAX_ORDERS}"
        )));
    }
    let after = parse_cursor(q.after.as_deref())?;
    Ok(Json(state.store.orders(limit, after).await?))
}

pub async fn order(
    State(state): State<AppState>,
    _: Admin,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<OrderDetail>> {
    let order_ref = path_text(path)?;
    Ok(Json(state.store.order(&order_ref).await?))
}

pub async fn stock(State(state): State<AppState>, _: Admin) -> Result<Json<StockList>> {
    Ok(Json(state.store.stock().await?))
}

pub async fn adjust_stock(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<AdjustRequest>,
) -> Result<Json<Adjusted>> {
    Ok(Json(state.store.adjust_stock(body).await?))
}

pub async fn alerts(State(state): State<AppState>, _: Admin) -> Result<Json<Alerts>> {
    Ok(Json(state.store.alerts().await?))
}

/// `PUT /v1/admin/catalog` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogBody {
    products: Vec<ProductRecord>,
}

pub async fn upsert_catalog(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CatalogBody>,
) -> Result<Json<CatalogUpserted>> {
    Ok(Json(state.store.upsert_catalog(body.products).await?))
}
