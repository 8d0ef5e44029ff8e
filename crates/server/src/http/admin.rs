//! Back-office handlers: stores, terminals, catalog, stock, orders, alerts. Admin token only
//! (a terminal's token is 403 `forbidden`). Listings take `?store=CODE` (absent: every
//! store; unknown: 422 `unknown_store`).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tillbook_protocol::catalog::ProductRecord;
use tillbook_protocol::sync::{CreateStore, CreateTerminal, StoreInfo, TerminalCreated};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::http::extract::{Admin, ApiJson};
use crate::http::AppState;
use crate::secret::{hash_enrollment_code, new_enrollment_code};
use crate::service::orders::{DEFAULT_ORDERS, MAX_ORDERS};
use crate::service::{
    AdjustRequest, Adjusted, Alerts, CatalogUpserted, DailyReport, OrderDetail, OrderPage,
    OrdersCursor, StockList,
};

/// `?store=CODE`: one store's rows only.
#[derive(Debug, Deserialize)]
pub struct StoreQuery {
    store: Option<String>,
}

fn store_query(
    query: std::result::Result<Query<StoreQuery>, QueryRejection>,
) -> Result<Option<String>> {
    let Query(q) = query.map_err(|e| Error::InvalidQuery(e.body_text()))?;
    Ok(q.store)
}

pub async fn create_store(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CreateStore>,
) -> Result<(StatusCode, Json<StoreInfo>)> {
    let created = state.store.create_store(&body.code, &body.name).await?;
    tracing::info!(store = %created.code, "store created");
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn stores(State(state): State<AppState>, _: Admin) -> Result<Json<Value>> {
    Ok(Json(json!({"stores": state.store.stores().await?})))
}

pub async fn create_terminal(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CreateTerminal>,
) -> Result<(StatusCode, Json<TerminalCreated>)> {
    let terminal_id = Uuid::now_v7();
    let code = new_enrollment_code();
    let created = state
        .store
        .create_terminal(
            terminal_id,
            &body.name,
            &hash_enrollment_code(&code),
            body.store.as_deref(),
            body.terminal_code.as_deref(),
        )
        .await?;
    tracing::info!(terminal = %terminal_id, store = %created.store, "terminal created");
    Ok((
        StatusCode::CREATED,
        Json(TerminalCreated {
            terminal_id,
            enrollment_code: code,
            store: created.store,
            terminal_code: created.terminal_code,
        }),
    ))
}

fn path_text(path: std::result::Result<Path<String>, PathRejection>) -> Result<String> {
    path.map(|Path(p)| p)
        .map_err(|e| Error::InvalidQuery(e.body_text()))
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

pub async fn terminals(
    State(state): State<AppState>,
    _: Admin,
    query: std::result::Result<Query<StoreQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    let store = store_query(query)?;
    Ok(Json(
        json!({"terminals": state.store.terminals(store.as_deref()).await?}),
    ))
}

#[derive(Debug, Deserialize)]
pub struct OrdersQuery {
    store: Option<String>,
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
    let after = OrdersCursor::parse(q.after.as_deref().unwrap_or(""))?;
    Ok(Json(
        state.store.orders(q.store.as_deref(), limit, after).await?,
    ))
}

/// `GET /v1/admin/orders/{id}`: an order id, or a reference held by one order only.
pub async fn order(
    State(state): State<AppState>,
    _: Admin,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<OrderDetail>> {
    let id = path_text(path)?;
    Ok(Json(state.store.order(&id).await?))
}

pub async fn stock(
    State(state): State<AppState>,
    _: Admin,
    query: std::result::Result<Query<StoreQuery>, QueryRejection>,
) -> Result<Json<StockList>> {
    let store = store_query(query)?;
    Ok(Json(state.store.stock(store.as_deref()).await?))
}

pub async fn adjust_stock(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<AdjustRequest>,
) -> Result<Json<Adjusted>> {
    Ok(Json(state.store.adjust_stock(body).await?))
}

pub async fn alerts(
    State(state): State<AppState>,
    _: Admin,
    query: std::result::Result<Query<StoreQuery>, QueryRejection>,
) -> Result<Json<Alerts>> {
    let store = store_query(query)?;
    Ok(Json(state.store.alerts(store.as_deref()).await?))
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    store: Option<String>,
    date: Option<String>,
}

/// `GET /v1/admin/reports/daily?store=CODE&date=YYYY-MM-DD` (store: `main` when absent).
pub async fn daily_report(
    State(state): State<AppState>,
    _: Admin,
    query: std::result::Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<DailyReport>> {
    let Query(q) = query.map_err(|e| Error::InvalidQuery(e.body_text()))?;
    let Some(date) = q.date else {
        return Err(Error::InvalidDate("date=YYYY-MM-DD is required".into()));
    };
    let date = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|e| Error::InvalidDate(format!("date {date:?} is not YYYY-MM-DD: {e}")))?;
    Ok(Json(
        state.store.daily_report(q.store.as_deref(), date).await?,
    ))
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
