//! Cash-drawer shifts: their outbox events and the figures of an X- or Z-report.
//!
//! A till has at most one open shift. Every order, payment and refund taken while it is open
//! carries its `shift_id`. The close is an outbox event written after the shift's sales, so it
//! reaches the server after them (push is in `seq` order).
//!
//! Cash in the drawer: `expected = float + cash taken − cash refunded + cash in − cash out`,
//! where cash taken is each approved cash payment's `amount_q + rounding_q` (what stayed in the
//! drawer after change).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::tax::TaxLine;

/// `shift.opened`: a shift began with a cash float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftOpened {
    pub shift_id: Uuid,
    pub currency: String,
    pub float_q: i64,
    pub business_date: NaiveDate,
    pub opened_at: DateTime<Utc>,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
}

/// Why cash moved in or out of the drawer without a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashMoveKind {
    /// Cash put into the drawer (change brought from the safe…).
    In,
    /// Cash taken out (a bank drop, paying a supplier…).
    Out,
    /// The drawer opened without a sale; no money moves.
    NoSale,
}

impl CashMoveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CashMoveKind::In => "in",
            CashMoveKind::Out => "out",
            CashMoveKind::NoSale => "no_sale",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CashMoveKind::In, CashMoveKind::Out, CashMoveKind::NoSale].into_iter().find(|k| k.as_str() == s)
    }
}

/// `shift.cash_moved`: cash in, cash out or a no-sale drawer opening during a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMoved {
    pub movement_id: Uuid,
    pub shift_id: Uuid,
    pub kind: CashMoveKind,
    pub currency: String,
    /// Always ≥ 0; the kind says the direction (0 for `no_sale`).
    pub amount_q: i64,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
    /// The manager whose PIN allowed it, when the actor lacked the permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Uuid>,
}

/// `shift.closed`: the drawer was counted; `figures` is the Z-report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftClosed {
    pub shift_id: Uuid,
    pub closed_at: DateTime<Utc>,
    pub figures: ShiftFigures,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Uuid>,
}

/// Takings of one tender method in a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderFigure {
    pub method: String,
    /// Approved payments.
    pub count: i64,
    /// What they paid of orders (`amount_q`, before cash rounding).
    pub amount_q: i64,
    /// Refunded through this method in the shift.
    pub refunded_q: i64,
    /// Declined attempts.
    pub declined: i64,
    pub fee_q: i64,
}

/// Units and money of one product (or one category) sold in a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesFigure {
    /// The SKU, or the category name (`""` for products without one).
    pub key: String,
    /// The product's name as sold (empty for a category).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub qty: i64,
    /// Gross: what the customer paid for these lines after every discount, tax included.
    pub gross_q: i64,
}

/// A cash movement as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMovementFigure {
    pub kind: CashMoveKind,
    pub amount_q: i64,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub actor: String,
}

/// The figures of a shift: an X-report while it is open, the Z-report when it closes.
///
/// Orders counted are those committed in the shift and not cancelled in it; `cancelled_*` are
/// the shift's orders cancelled while it was open (an `order.status_changed` to `cancelled`
/// carrying this `shift_id`). An order cancelled after its shift closed stays in that shift's
/// figures, so a Z-report, once taken, never changes. Tenders, refunds and cash movements are
/// those recorded in the shift, whichever shift sold the order; a method that only refunded in
/// the shift is listed with a count of 0. Lists are sorted by their key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftFigures {
    pub shift_id: Uuid,
    pub currency: String,
    pub business_date: NaiveDate,
    pub opened_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    pub order_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ref: Option<String>,
    /// The sum of the counted orders' totals.
    pub sales_q: i64,
    /// Line discounts plus order discounts of the counted orders.
    pub discounts_q: i64,
    pub tax_q: i64,
    pub taxes: Vec<TaxLine>,
    pub by_product: Vec<SalesFigure>,
    pub by_category: Vec<SalesFigure>,
    pub tenders: Vec<TenderFigure>,
    pub refund_count: i64,
    pub refunds_q: i64,
    pub cancelled_count: i64,
    pub cancelled_q: i64,
    pub movements: Vec<CashMovementFigure>,
    pub float_q: i64,
    /// Approved cash payments as the drawer kept them (`amount_q + rounding_q`).
    pub cash_sales_q: i64,
    pub cash_refunds_q: i64,
    pub cash_in_q: i64,
    pub cash_out_q: i64,
    pub expected_cash_q: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_q: Option<i64>,
    /// `counted − expected` (negative when cash is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference_q: Option<i64>,
}

impl ShiftFigures {
    /// `float + cash sales − cash refunds + cash in − cash out`, checked.
    pub fn expected_cash(&self) -> Option<i64> {
        self.float_q
            .checked_add(self.cash_sales_q)?
            .checked_sub(self.cash_refunds_q)?
            .checked_add(self.cash_in_q)?
            .checked_sub(self.cash_out_q)
    }
}
