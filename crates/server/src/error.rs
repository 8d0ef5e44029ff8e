//! The server's one error type: every failure has a stable code and an HTTP status, here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tillbook_protocol::ErrorBody;

/// Every way a request can fail. Each variant has a stable wire `code` (see [`Error::code`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no bearer token given")]
    Unauthorized,
    #[error("the token is unknown or revoked")]
    InvalidToken,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the body names terminal {body}, the token belongs to {token}")]
    TerminalMismatch { body: String, token: String },
    #[error("the enrollment code is unknown")]
    InvalidEnrollmentCode,
    #[error("the enrollment code was already used")]
    EnrollmentCodeUsed,
    #[error("protocol {got} is not supported (server speaks {want})")]
    UnsupportedProtocol { got: u32, want: u32 },
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("{0}")]
    InvalidQuery(String),
    /// A missing or malformed `date` (YYYY-MM-DD) of a report.
    #[error("{0}")]
    InvalidDate(String),
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("only application/json bodies are accepted")]
    UnsupportedMediaType,
    #[error("{0}")]
    InvalidPage(String),
    #[error("{0}")]
    PayloadMismatch(String),
    #[error("{0}")]
    PayloadHashInvalid(String),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unknown sku {0}")]
    UnknownSku(String),
    #[error("the terminal belongs to store {own}, not {claimed}")]
    ForbiddenStore { own: String, claimed: String },
    #[error("no store has the code {0:?}")]
    UnknownStore(String),
    #[error("a store with the code {0:?} already exists")]
    StoreExists(String),
    #[error("store {store} already has a terminal with the code {code:?}")]
    TerminalCodeTaken { store: String, code: String },
    /// A PIN that is not 4 to 8 ASCII digits.
    #[error("{0}")]
    InvalidPin(String),
    /// A role that is not `cashier` or `manager`.
    #[error("role {0:?} is not one of cashier, manager")]
    InvalidRole(String),
    /// The PIN is already the PIN of another active staff member.
    #[error("another active staff member already uses this PIN")]
    PinInUse,
    #[error("no staff member {0}")]
    UnknownStaff(String),
    #[error("store {store} has no terminal with the code {code:?}")]
    UnknownTerminal { store: String, code: String },
    #[error("the reference {order_ref:?} is held by several orders: {}", order_ids.join(", "))]
    AmbiguousOrderRef {
        order_ref: String,
        order_ids: Vec<String>,
    },
    /// A transient storage fault (connection lost, lock or serialization timeout, deadlock,
    /// database busy): 503, the client retries. Any other storage error is [`Error::Internal`].
    #[error("storage unavailable: {0}")]
    Storage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable machine-readable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::InvalidToken => "invalid_token",
            Error::Forbidden(_) => "forbidden",
            Error::TerminalMismatch { .. } => "terminal_mismatch",
            Error::InvalidEnrollmentCode => "invalid_enrollment_code",
            Error::EnrollmentCodeUsed => "enrollment_code_used",
            Error::UnsupportedProtocol { .. } => "unsupported_protocol",
            Error::MalformedJson(_) => "malformed_json",
            Error::InvalidBody(_) => "invalid_body",
            Error::InvalidQuery(_) => "invalid_query",
            Error::InvalidDate(_) => "invalid_date",
            Error::BodyTooLarge(_) => "body_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::InvalidPage(_) => "invalid_page",
            Error::PayloadMismatch(_) => "payload_mismatch",
            Error::PayloadHashInvalid(_) => "payload_hash_invalid",
            Error::NotFound { .. } => "not_found",
            Error::NoRoute(_) => "not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::UnknownSku(_) => "unknown_sku",
            Error::ForbiddenStore { .. } => "forbidden_store",
            Error::UnknownStore(_) => "unknown_store",
            Error::StoreExists(_) => "store_exists",
            Error::TerminalCodeTaken { .. } => "terminal_code_taken",
            Error::AmbiguousOrderRef { .. } => "ambiguous_order_ref",
            Error::InvalidPin(_) => "invalid_pin",
            Error::InvalidRole(_) => "invalid_role",
            Error::PinInUse => "pin_in_use",
            Error::UnknownStaff(_) => "unknown_staff",
            Error::UnknownTerminal { .. } => "unknown_terminal",
            Error::Storage(_) => "storage_unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status the code travels with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized | Error::InvalidToken | Error::InvalidEnrollmentCode => {
                StatusCode::UNAUTHORIZED
            }
            Error::Forbidden(_) | Error::TerminalMismatch { .. } | Error::ForbiddenStore { .. } => {
                StatusCode::FORBIDDEN
            }
            Error::EnrollmentCodeUsed
            | Error::StoreExists(_)
            | Error::TerminalCodeTaken { .. }
            | Error::AmbiguousOrderRef { .. }
            | Error::PinInUse => StatusCode::CONFLICT,
            Error::UnsupportedProtocol { .. }
            | Error::MalformedJson(_)
            | Error::InvalidQuery(_)
            | Error::InvalidDate(_)
            | Error::InvalidPage(_)
            | Error::InvalidPin(_)
            | Error::InvalidRole(_) => StatusCode::BAD_REQUEST,
            Error::InvalidBody(_)
            | Error::PayloadMismatch(_)
            | Error::PayloadHashInvalid(_)
            | Error::UnknownSku(_)
            | Error::UnknownStore(_)
            | Error::UnknownTerminal { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::NotFound { .. } | Error::NoRoute(_) | Error::UnknownStaff(_) => {
                StatusCode::NOT_FOUND
            }
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    /// The `{code, message}` body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), "{self}");
        } else if matches!(
            self,
            Error::PayloadMismatch(_) | Error::PayloadHashInvalid(_)
        ) {
            tracing::warn!(code = self.code(), "protocol violation: {self}");
        } else {
            tracing::debug!(code = self.code(), "{self}");
        }
        (status, Json(self.body())).into_response()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
