//! Terminal-facing handlers: health, enrolment, push, pull.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tillbook_protocol::sync::{
    EnrollRequest, EnrollResponse, PullRequest, PullResponse, PushRequest, PushResponse,
};
use tillbook_protocol::PROTOCOL_VERSION;

use crate::error::Result;
use crate::http::extract::{ApiJson, TerminalToken};
use crate::http::AppState;
use crate::secret::{hash_enrollment_code, hash_secret, new_token};

pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"status": "ok", "protocol": PROTOCOL_VERSION, "backend": state.store.backend()}))
}

/// Spends a one-time code; the token in the answer is never shown again.
pub async fn enroll(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EnrollRequest>,
) -> Result<Json<EnrollResponse>> {
    let token = new_token();
    let enrolled = state
        .store
        .enroll(
            &hash_enrollment_code(&body.enrollment_code),
            &hash_secret(&token),
        )
        .await?;
    tracing::info!(terminal = %enrolled.terminal_id, "terminal enrolled");
    Ok(Json(EnrollResponse {
        terminal_id: enrolled.terminal_id,
        name: enrolled.name,
        token,
        protocol: PROTOCOL_VERSION,
        store: enrolled.store,
        store_name: enrolled.store_name,
        terminal_code: enrolled.terminal_code,
    }))
}

pub async fn push(
    State(state): State<AppState>,
    TerminalToken(token_hash): TerminalToken,
    ApiJson(body): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>> {
    Ok(Json(state.store.push(&token_hash, body).await?))
}

pub async fn pull(
    State(state): State<AppState>,
    TerminalToken(token_hash): TerminalToken,
    ApiJson(body): ApiJson<PullRequest>,
) -> Result<Json<PullResponse>> {
    Ok(Json(state.store.pull(&token_hash, body).await?))
}
