//! Receipts and shift reports, rendered for the screen and for thermal printers.
//!
//! A pure rendering library: the caller fills a document ([`Receipt`] for a sale or a refund,
//! [`ShiftReport`] for an X- or Z-report) and gets
//! - [`text()`]: plain text, wrapped and aligned to a column count (32 for 58 mm rolls, 48 for
//!   80 mm);
//! - [`escpos()`]: ESC/POS bytes for a 58 mm or 80 mm printer ([`Paper`]), made with the
//!   `escpos` crate: initialise, code page PC860, shop header centred, bold totals, a QR code
//!   with the order reference, the cash-drawer kick when asked, and a full cut;
//! - [`write_to()`]: the bytes written to a printer device (`/dev/usb/lp0`) or a file, with
//!   [`ReceiptError`]s carrying stable codes.
//!
//! Money is integer minor units with the document's currency, printed in its locale
//! (`R$ 16,50` for pt-BR, `$16.50` for en-US); labels are Portuguese for `pt-*` locales and
//! English otherwise; dates are `26/11/2026 14:05` (pt), `11/26/2026 2:05 PM` (en-US) or ISO
//! `2026-11-26 14:05` (any other locale). No I/O but [`write_to`], no async, no database.
//!
//! [`book`] builds these documents from the order book's views (an order, a refund, a shift's
//! figures), so the CLI and the app print the same receipt.
//!
//! ```
//! use tillbook_receipt::{escpos, text, write_to, Paper, Receipt};
//! # fn demo(receipt: &Receipt) -> Result<(), tillbook_receipt::ReceiptError> {
//! let screen: String = text(receipt, 48);
//! let bytes: Vec<u8> = escpos(receipt, Paper::Mm80)?;
//! write_to(std::path::Path::new("/dev/usb/lp0"), &bytes)?;
//! # Ok(()) }
//! ```

pub mod book;
mod error;
mod escpos;
mod layout;
mod locale;
mod model;
mod receipt_layout;
mod report_layout;
mod text;
mod write;

pub use crate::error::{ErrorCode, ReceiptError};
pub use crate::escpos::{escpos, program, render, EscPosOp, Justify, Paper, CODE_PAGE, CUT_FEED_LINES, DRAWER_KICK};
pub use crate::layout::MIN_COLUMNS;
pub use crate::model::{Document, Header, Receipt, ReceiptKind, ReceiptLine, ReportKind, ShiftReport, TenderLine};
pub use crate::text::text;
pub use crate::write::write_to;
