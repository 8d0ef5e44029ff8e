//! The documents the caller fills: a sale or refund receipt, and a shift's X- or Z-report.
//!
//! Everything here is data, already decided by the caller: amounts are integer minor units
//! (`_q` fields, never floats) in the document's `currency`; times are local times, already
//! converted (a receipt's `at`, a report's `printed_at`), except the UTC instants inside
//! [`ShiftFigures`], which a report shifts by its `utc_offset`.
//!
//! The renderer does not recompute or check the figures: it prints what it is given.

use chrono::{FixedOffset, NaiveDateTime};
use tillbook_protocol::shift::ShiftFigures;
use tillbook_protocol::tax::TaxLine;

/// The shop's heading, printed centred at the top of every document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub shop_name: String,
    /// Street, city…: one printed line each.
    pub address_lines: Vec<String>,
    /// The shop's tax registration (CNPJ in Brazil), printed after its label.
    pub tax_id: Option<String>,
}

/// Whether a receipt records a sale or money given back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptKind {
    Sale,
    /// A refund of the order whose reference is `of_ref`.
    Refund {
        of_ref: String,
    },
}

/// One line of a receipt: what was sold (or refunded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub name: String,
    /// Units (refunded units on a refund receipt).
    pub qty: i64,
    pub unit_price_q: i64,
    /// The line's own discount (≥ 0); printed under the line when not zero.
    pub discount_q: i64,
    /// What the line comes to after its own discount.
    pub total_q: i64,
}

/// One tender: how (part of) the order was paid, or how a refund went back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderLine {
    /// The tender method as the order book names it: `cash` and `card` are printed in the
    /// locale's words, any other name as given.
    pub method: String,
    /// What was handed over (for cash, before change).
    pub amount_q: i64,
    /// Last four digits of a card, printed masked (`****1234`).
    pub card_last4: Option<String>,
}

/// A sale or refund receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub header: Header,
    pub kind: ReceiptKind,
    /// The receipt number: the order reference (e.g. `ORD-20261126-T01-0042`). It is also the
    /// content of the printed QR code.
    pub order_ref: String,
    pub terminal: String,
    pub cashier: String,
    /// Local date and time of the sale or refund.
    pub at: NaiveDateTime,
    /// `en-US`, `pt-BR`…: labels are Portuguese for `pt-*`, English otherwise.
    pub locale: String,
    /// ISO-4217 code of every amount.
    pub currency: String,
    pub lines: Vec<ReceiptLine>,
    /// Sum of the lines' totals.
    pub subtotal_q: i64,
    /// The order discount (≥ 0), on top of the line discounts; printed when not zero.
    pub discount_q: i64,
    /// Whether prices include tax: the tax breakdown is then printed as included in the total;
    /// otherwise it is printed before the total, as added.
    pub tax_inclusive: bool,
    /// Per-rate taxes, printed in the given order.
    pub taxes: Vec<TaxLine>,
    pub tax_q: i64,
    pub total_q: i64,
    pub tenders: Vec<TenderLine>,
    /// Change given back in cash; printed when not zero.
    pub change_q: i64,
    /// A reprint: marked as a copy at the top and at the bottom.
    pub copy: bool,
    /// Kick the cash drawer open (cash sales). Only the ESC/POS output carries it.
    pub open_drawer: bool,
    /// Closing lines (thanks, return policy…), printed centred.
    pub footer: Vec<String>,
}

/// Which shift report: X (figures so far, the shift stays open) or Z (the shift's close).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    X,
    Z,
}

/// An X- or Z-report of a shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftReport {
    pub header: Header,
    pub kind: ReportKind,
    pub terminal: String,
    pub cashier: String,
    /// Local date and time of printing.
    pub printed_at: NaiveDateTime,
    /// Offset from UTC of the till's local time, applied to the UTC instants in `figures`
    /// (opening, closing, cash movements).
    pub utc_offset: FixedOffset,
    pub locale: String,
    /// The figures, as the order book computed them; the currency is `figures.currency`.
    pub figures: ShiftFigures,
    pub footer: Vec<String>,
}

/// Anything this crate prints: borrow a [`Receipt`] or a [`ShiftReport`] as one with `.into()`
/// (every rendering function takes `impl Into<Document>`, so `&receipt` is enough).
#[derive(Debug, Clone, Copy)]
pub enum Document<'a> {
    Receipt(&'a Receipt),
    ShiftReport(&'a ShiftReport),
}

impl<'a> From<&'a Receipt> for Document<'a> {
    fn from(r: &'a Receipt) -> Self {
        Document::Receipt(r)
    }
}

impl<'a> From<&'a ShiftReport> for Document<'a> {
    fn from(r: &'a ShiftReport) -> Self {
        Document::ShiftReport(r)
    }
}
