//! The one error the UI sees: `{code, message}`, the code being the order book's stable
//! `ErrorCode::as_str()` (or the sync client's code). The UI branches on the code, never on
//! the message.

use serde::{Deserialize, Serialize};
use specta::Type;

/// An error as it crosses to the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct AppError {
    /// Stable machine-readable code (`unknown_product`, `no_open_shift`, `server_unreachable`…).
    pub code: String,
    /// A sentence for the cashier.
    pub message: String,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> AppError {
        AppError { code: code.to_string(), message: message.into() }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl From<tillbook_orderbook::Error> for AppError {
    fn from(e: tillbook_orderbook::Error) -> Self {
        AppError { code: e.code.as_str().to_string(), message: e.message }
    }
}

impl From<tillbook_sync::SyncError> for AppError {
    fn from(e: tillbook_sync::SyncError) -> Self {
        AppError { code: e.code, message: e.message }
    }
}

/// What every command returns.
pub type AppResult<T> = Result<T, AppError>;
