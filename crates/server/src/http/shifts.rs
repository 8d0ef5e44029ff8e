//! Back-office shifts: a store's shifts with the server's figures beside the till's count.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::http::extract::Admin;
use crate::http::AppState;
use crate::service::shifts::{DEFAULT_SHIFTS, MAX_SHIFTS};
use crate::service::{ShiftList, ShiftQuery};

#[derive(Debug, Deserialize)]
pub struct ShiftsQuery {
    store: Option<String>,
    terminal: Option<String>,
    date: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/admin/shifts?store=CODE[&terminal=CODE][&date=YYYY-MM-DD][&limit=N]`.
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    query: std::result::Result<Query<ShiftsQuery>, QueryRejection>,
) -> Result<Json<ShiftList>> {
    let Query(q) = query.map_err(|e| Error::InvalidQuery(e.body_text()))?;
    let Some(store) = q.store else {
        return Err(Error::InvalidQuery("store=CODE is required".into()));
    };
    let date = q
        .date
        .map(|d| {
            chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|e| Error::InvalidDate(format!("date {d:?} is not YYYY-MM-DD: {e}")))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(DEFAULT_SHIFTS);
    if limit == 0 || limit > MAX_SHIFTS {
        return Err(Error::InvalidQuery(format!(
            "limit must be 1 to {MAX_SHIFTS}"
        )));
    }
    let query = ShiftQuery {
        store,
        terminal: q.terminal,
        date,
        limit,
    };
    Ok(Json(state.store.shifts(query).await?))
}
