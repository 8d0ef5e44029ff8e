//! The order book's typed error: a stable code and a human message.

use std::fmt;

/// Stable machine-readable error codes. The UI and scripts branch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    // Commit
    EmptySession,
    SessionNotOpen,
    BlockingIssues,
    StaleCheck,
    HoldExpired,
    IdempotencyConflict,
    // Lookups
    UnknownSku,
    /// A scanned code that is no SKU or barcode of the catalog.
    UnknownProduct,
    UnknownSession,
    UnknownLine,
    UnknownOrder,
    UnknownChannel,
    // Input
    InvalidQuantity,
    InvalidPrice,
    InvalidDiscount,
    InvalidArgument,
    InvalidSetting,
    PriceRequired,
    PriceNotAllowed,
    EditNotAllowed,
    HandleInUse,
    UniqueUnavailable,
    ProductInactive,
    AmountOverflow,
    InvalidTransition,
    ImportInvalid,
    // Payments and refunds
    OrderNotPayable,
    AlreadyPaid,
    Overpayment,
    UnknownTender,
    InvalidAmount,
    InvalidCardNumber,
    NotPaid,
    RefundExceedsPaid,
    RefundExceedsSold,
    RefundDeclined,
    // Staff and permissions
    PermissionDenied,
    InvalidPin,
    PinLocked,
    PinInUse,
    EnrolledTill,
    // Shifts
    NoOpenShift,
    ShiftAlreadyOpen,
    InsufficientCash,
    UnknownShift,
    // Sync
    NotEnrolled,
    ReenrollRequired,
    ServerUnreachable,
    Unauthorized,
    SyncRejected,
    EnrollmentCodeUsed,
    InvalidEnrollmentCode,
    // The book itself
    NotABook,
    NotInitialized,
    AlreadyInitialized,
    NewerSchema,
    Storage,
    Io,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            EmptySession => "empty_session",
            SessionNotOpen => "session_not_open",
            BlockingIssues => "blocking_issues",
            StaleCheck => "stale_check",
            HoldExpired => "hold_expired",
            IdempotencyConflict => "idempotency_conflict",
            UnknownSku => "unknown_sku",
            UnknownProduct => "unknown_product",
            UnknownSession => "unknown_session",
            UnknownLine => "unknown_line",
            UnknownOrder => "unknown_order",
            UnknownChannel => "unknown_channel",
            InvalidQuantity => "invalid_quantity",
            InvalidPrice => "invalid_price",
            InvalidDiscount => "invalid_discount",
            InvalidArgument => "invalid_argument",
            InvalidSetting => "invalid_setting",
            PriceRequired => "price_required",
            PriceNotAllowed => "price_not_allowed",
            EditNotAllowed => "edit_not_allowed",
            HandleInUse => "handle_in_use",
            UniqueUnavailable => "unique_unavailable",
            ProductInactive => "product_inactive",
            AmountOverflow => "amount_overflow",
            InvalidTransition => "invalid_transition",
            ImportInvalid => "import_invalid",
            OrderNotPayable => "order_not_payable",
            AlreadyPaid => "already_paid",
            Overpayment => "overpayment",
            UnknownTender => "unknown_tender",
            InvalidAmount => "invalid_amount",
            InvalidCardNumber => "invalid_card_number",
            NotPaid => "not_paid",
            RefundExceedsPaid => "refund_exceeds_paid",
            RefundExceedsSold => "refund_exceeds_sold",
            RefundDeclined => "refund_declined",
            PermissionDenied => "permission_denied",
            InvalidPin => "invalid_pin",
            PinLocked => "pin_locked",
            PinInUse => "pin_in_use",
            EnrolledTill => "enrolled_till",
            NoOpenShift => "no_open_shift",
            ShiftAlreadyOpen => "shift_already_open",
            InsufficientCash => "insufficient_cash",
            UnknownShift => "unknown_shift",
            NotEnrolled => "not_enrolled",
            ReenrollRequired => "reenroll_required",
            ServerUnreachable => "server_unreachable",
            Unauthorized => "unauthorized",
            SyncRejected => "sync_rejected",
            EnrollmentCodeUsed => "enrollment_code_used",
            InvalidEnrollmentCode => "invalid_enrollment_code",
            NotABook => "not_a_book",
            NotInitialized => "not_initialized",
            AlreadyInitialized => "already_initialized",
            NewerSchema => "newer_schema",
            Storage => "storage",
            Io => "io",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order-book failure. Whenever one is returned, the book is exactly as it was before the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::NotADatabase {
                return Error::new(ErrorCode::NotABook, format!("not a Tillbook book: {e}"));
            }
        }
        Error::new(ErrorCode::Storage, format!("storage error: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorCode::Io, e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for building an error.
pub(crate) fn err<T>(code: ErrorCode, message: impl Into<String>) -> Result<T> {
    Err(Error::new(code, message))
}
