//! The one error type of this crate, with stable snake_case codes.

use std::fmt;

/// What went wrong, as a stable code for scripts and the app (`{code, message}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The printer path, its directory or the device behind it does not exist.
    PrinterNotFound,
    /// The path exists but cannot be written: permission denied, read-only file system, a
    /// directory, a file the kernel refuses to open for writing.
    PrinterNotWritable,
    /// The printer was opened but writing the bytes failed (device gone mid-write, disk full…).
    PrinterWriteFailed,
    /// The ESC/POS encoder refused the document (e.g. a QR payload too long).
    RenderFailed,
}

impl ErrorCode {
    /// The code as printed: `printer_not_found`, `printer_not_writable`,
    /// `printer_write_failed`, `render_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::PrinterNotFound => "printer_not_found",
            ErrorCode::PrinterNotWritable => "printer_not_writable",
            ErrorCode::PrinterWriteFailed => "printer_write_failed",
            ErrorCode::RenderFailed => "render_failed",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a stable [`ErrorCode`] and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptError {
    pub code: ErrorCode,
    pub message: String,
}

impl ReceiptError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ReceiptError { code, message: message.into() }
    }

    /// The stable code as text (`printer_not_found`…).
    pub fn code_str(&self) -> &'static str {
        self.code.as_str()
    }
}

impl fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ReceiptError {}
