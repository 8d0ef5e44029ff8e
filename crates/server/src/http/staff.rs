//! Back-office staff: create, list (never a PIN's hash), change. Admin token only.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::http::extract::{Admin, ApiJson};
use crate::http::AppState;
use crate::service::staff::{CreateStaff, PatchStaff};
use crate::service::StaffInfo;

/// `POST /v1/admin/staff {name, role, pin}` → 201.
pub async fn create(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CreateStaff>,
) -> Result<(StatusCode, Json<StaffInfo>)> {
    let created = state.store.create_staff(body).await?;
    tracing::info!(staff = %created.staff_id, role = created.role.as_str(), "staff member created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /v1/admin/staff`.
pub async fn list(State(state): State<AppState>, _: Admin) -> Result<Json<Value>> {
    Ok(Json(json!({"staff": state.store.staff().await?})))
}

/// `PATCH /v1/admin/staff/{id} {name?, role?, pin?, active?}`.
pub async fn update(
    State(state): State<AppState>,
    _: Admin,
    path: std::result::Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<PatchStaff>,
) -> Result<Json<StaffInfo>> {
    let Path(id) = path.map_err(|e| Error::InvalidQuery(e.body_text()))?;
    let changed = state.store.update_staff(&id, body).await?;
    tracing::info!(staff = %changed.staff_id, "staff member changed");
    Ok(Json(changed))
}
