//! Tillbook's central server: enrolment, exactly-once push, commit-ordered pull and the
//! back-office API, over SQLite or PostgreSQL.
//!
//! Layers, outside in: [`http`] (routes, guards, thin handlers) → [`storage::Store`] (one
//! typed call per request) → a [`storage::Storage`] backend (one transaction per call) →
//! [`service`] (the business rules, written once over [`storage::sql::Tx`]).
//!
//! Tests run the real server in-process:
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = tillbook_server::storage::open("sqlite:/tmp/t.db").await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let state = tillbook_server::AppState::new(store, "admin-secret");
//! tokio::spawn(tillbook_server::serve(listener, state));
//! # Ok(()) }
//! ```

// The OpenAPI document's schemas are one large `json!` literal.
#![recursion_limit = "256"]

pub mod error;
pub mod http;
pub mod pin;
pub mod secret;
pub mod service;
pub mod storage;

pub use error::{Error, Result};
pub use http::{router, serve, serve_until, AppState};
pub use storage::{open, Storage, Store};
