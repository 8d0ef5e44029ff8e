//! The HTTP face: routes, the JSON-only and size guards, and [`serve`].

pub mod admin;
pub mod extract;
pub mod openapi;
pub mod shifts;
pub mod staff;
pub mod sync;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::Router;

use crate::error::Error;
use crate::storage::Store;
use extract::MAX_BODY;

/// What every handler shares: the store and the back-office token. Nothing else: the
/// server keeps no state outside the database.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub admin_token: Arc<String>,
}

impl AppState {
    pub fn new(store: Store, admin_token: impl Into<String>) -> Self {
        AppState {
            store,
            admin_token: Arc::new(admin_token.into()),
        }
    }
}

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(sync::health))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/enroll", post(sync::enroll))
        .route("/v1/sync/push", post(sync::push))
        .route("/v1/sync/pull", post(sync::pull))
        .route(
            "/v1/admin/stores",
            post(admin::create_store).get(admin::stores),
        )
        .route(
            "/v1/admin/terminals",
            post(admin::create_terminal).get(admin::terminals),
        )
        .route(
            "/v1/admin/terminals/{id}/revoke",
            post(admin::revoke_terminal),
        )
        .route("/v1/admin/orders", get(admin::orders))
        .route("/v1/admin/orders/{id}", get(admin::order))
        .route("/v1/admin/stock", get(admin::stock))
        .route("/v1/admin/stock/adjust", post(admin::adjust_stock))
        .route("/v1/admin/alerts", get(admin::alerts))
        .route("/v1/admin/reports/daily", get(admin::daily_report))
        .route("/v1/admin/catalog", put(admin::upsert_catalog))
        .route("/v1/admin/staff", post(staff::create).get(staff::list))
        .route("/v1/admin/staff/{id}", patch(staff::update))
        .route("/v1/admin/shifts", get(shifts::list))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(json_only))
        .layer(middleware::from_fn(log_requests))
        .with_state(state)
}

/// Serves the API on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// An unknown route; under `/v1/admin` the admin token is checked first (a terminal's token
/// is 403 there whatever the path).
async fn no_route(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Error {
    if uri.path().starts_with("/v1/admin") {
        if let Err(e) = extract::admin_check(&state, &headers).await {
            return e;
        }
    }
    Error::NoRoute(format!("{method} {}", uri.path()))
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

fn has_body(req: &Request) -> bool {
    let headers = req.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

fn is_json(req: &Request) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// JSON only (415 otherwise) and no body past [`MAX_BODY`] (413), before anything is read.
async fn json_only(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Error::BodyTooLarge(MAX_BODY).into_response();
    }
    if has_body(&req) && !is_json(&req) {
        return Error::UnsupportedMediaType.into_response();
    }
    next.run(req).await
}

async fn log_requests(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %path, status, ms, "request failed");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    response
}
