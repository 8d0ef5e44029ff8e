//! Outbox event payloads: what a terminal tells the server happened.
//!
//! An outbox row carries `kind` (one of [`EventKind`]) and a JSON payload of the matching
//! struct. Every payload that moves stock lists its [`StockDelta`]s, so the server's stock
//! ledger is the exact sum of what terminals did.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::shift::{CashMoved, ShiftClosed, ShiftOpened};
use crate::tax::{TaxLine, TaxMode};

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The kinds of outbox event, with their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "order.committed")]
    OrderCommitted,
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged,
    #[serde(rename = "order.item_status_changed")]
    OrderItemStatusChanged,
    #[serde(rename = "stock.adjusted")]
    StockAdjusted,
    #[serde(rename = "unique.hold")]
    UniqueHold,
    #[serde(rename = "payment.recorded")]
    PaymentRecorded,
    #[serde(rename = "refund.recorded")]
    RefundRecorded,
    #[serde(rename = "shift.opened")]
    ShiftOpened,
    #[serde(rename = "shift.cash_moved")]
    CashMoved,
    #[serde(rename = "shift.closed")]
    ShiftClosed,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::OrderCommitted,
        EventKind::OrderStatusChanged,
        EventKind::OrderItemStatusChanged,
        EventKind::StockAdjusted,
        EventKind::UniqueHold,
        EventKind::PaymentRecorded,
        EventKind::RefundRecorded,
        EventKind::ShiftOpened,
        EventKind::CashMoved,
        EventKind::ShiftClosed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderCommitted => "order.committed",
            EventKind::OrderStatusChanged => "order.status_changed",
            EventKind::OrderItemStatusChanged => "order.item_status_changed",
            EventKind::StockAdjusted => "stock.adjusted",
            EventKind::UniqueHold => "unique.hold",
            EventKind::PaymentRecorded => "payment.recorded",
            EventKind::RefundRecorded => "refund.recorded",
            EventKind::ShiftOpened => "shift.opened",
            EventKind::CashMoved => "shift.cash_moved",
            EventKind::ShiftClosed => "shift.closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockReason {
    Sale,
    Cancel,
    Refund,
    Receiving,
    Adjustment,
    Count,
}

impl StockReason {
    pub const ALL: [StockReason; 6] = [
        StockReason::Sale,
        StockReason::Cancel,
        StockReason::Refund,
        StockReason::Receiving,
        StockReason::Adjustment,
        StockReason::Count,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StockReason::Sale => "sale",
            StockReason::Cancel => "cancel",
            StockReason::Refund => "refund",
            StockReason::Receiving => "receiving",
            StockReason::Adjustment => "adjustment",
            StockReason::Count => "count",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One signed movement of stock for a SKU at a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockDelta {
    pub delta_id: Uuid,
    pub sku: String,
    pub location: String,
    pub delta: i64,
    pub reason: StockReason,
    /// What caused it: an order reference, `adjust`, `count`…
    pub source: String,
    /// When it occurred at the till (not when it reached the server).
    pub at: DateTime<Utc>,
    /// For `reason = count` only: the quantity counted on the shelf at `at`. A count is a
    /// baseline, not a movement: on-hand = the latest count + the deltas that occurred after
    /// it (see ARCHITECTURE.md, "Counts"). `delta` then only says what the counting till
    /// believed the difference to be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted: Option<i64>,
}

/// A line of a committed order, as sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_no: u32,
    pub sku: String,
    pub name: String,
    pub unit_price_q: i64,
    pub qty: i64,
    pub discount_q: i64,
    pub total_q: i64,
    /// The product was a one-of-a-kind item when sold.
    pub unique: bool,
    /// The line's tax rate in basis points (see [`crate::tax`]); 0 and absent alike mean untaxed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tax_rate_bp: i64,
    /// The line's share of the order discount ([`crate::tax::allocate`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub order_discount_q: i64,
    /// The line's tax, rounded per line half-up ([`crate::tax::line_tax`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tax_q: i64,
    /// The product's category when sold (shift reports group by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// `order.committed`: a new immutable order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCommitted {
    /// The order's global identity (UUIDv7 minted by the till at commit). The server knows an
    /// order by this id, never by its printed reference alone.
    pub order_id: Uuid,
    /// The human-readable reference printed on the receipt; unique per terminal, never changed.
    pub order_ref: String,
    pub channel: String,
    pub status: String,
    pub currency: String,
    /// The sum of the line totals (after line discounts).
    pub subtotal_q: i64,
    /// The order discount.
    pub discount_q: i64,
    /// What the customer pays: `subtotal − discount` with inclusive prices, plus `tax_q` with
    /// exclusive ones (see [`crate::tax`]).
    pub total_q: i64,
    pub business_date: NaiveDate,
    pub committed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    pub lines: Vec<OrderLine>,
    pub stock_deltas: Vec<StockDelta>,
    /// Whether the prices include tax; absent on orders sold before taxes (untaxed, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_mode: Option<TaxMode>,
    /// The sum of the lines' taxes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tax_q: i64,
    /// Per rate: base, tax and gross, ascending by rate (only rates with lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<TaxLine>,
    /// Who rang it up (the staff member's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The staff member who did it (absent on events from before staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
    /// The manager whose PIN allowed it, when the staff member lacked the permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Uuid>,
    /// The cash-drawer shift it was sold in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<Uuid>,
}

/// `order.status_changed`: one move along the channel's flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusChanged {
    pub order_id: Uuid,
    pub order_ref: String,
    pub from: String,
    pub to: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub stock_deltas: Vec<StockDelta>,
    /// The staff member who did it (absent on events from before staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
    /// The manager whose PIN allowed it, when the staff member lacked the permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Uuid>,
    /// The shift open at the till when it moved. A cancellation takes an order out of its
    /// shift's figures only when it happened in that same shift (see
    /// [`crate::shift::ShiftFigures`]): a closed shift's Z-report never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<Uuid>,
}

/// `order.item_status_changed`: one line's kitchen status moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemStatusChanged {
    pub order_id: Uuid,
    pub order_ref: String,
    pub line_no: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub stock_deltas: Vec<StockDelta>,
    /// The staff member who did it (absent on events from before staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
}

/// `stock.adjusted`: receiving, adjustments and counts done at the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjusted {
    pub note: String,
    pub stock_deltas: Vec<StockDelta>,
    /// The staff member who did it (absent on events from before staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
}

/// `unique.hold`: a one-of-a-kind item was put into an open basket at this till (`until` is
/// when the basket's hold runs out), or taken out of it (`until` is `None`: removed, or the
/// basket abandoned). A sale needs no release: the order that sells the item ends its holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueHold {
    pub sku: String,
    /// The basket (session) holding it, as the till knows it.
    pub session_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// The tender methods that are not configured per store.
pub const CASH: &str = "cash";
pub const CARD: &str = "card";

/// Whether a payment attempt took money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    Approved,
    Declined,
}

impl PaymentOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentOutcome::Approved => "approved",
            PaymentOutcome::Declined => "declined",
        }
    }
}

/// Where an order stands with its money: the till and the server derive it by one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Nothing paid yet (and something is due).
    Unpaid,
    /// Paid in part.
    PartlyPaid,
    /// The approved payments cover the total (an order of zero is paid).
    Paid,
    /// Some of what was paid was given back.
    PartlyRefunded,
    /// Everything paid was given back.
    Refunded,
}

impl PaymentStatus {
    /// The status from an order's total, approved payments and refunds.
    pub fn of(total_q: i64, paid_q: i64, refunded_q: i64) -> PaymentStatus {
        if refunded_q > 0 {
            if refunded_q >= paid_q {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartlyRefunded
            }
        } else if paid_q >= total_q {
            PaymentStatus::Paid
        } else if paid_q == 0 {
            PaymentStatus::Unpaid
        } else {
            PaymentStatus::PartlyPaid
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "unpaid",
            PaymentStatus::PartlyPaid => "partly_paid",
            PaymentStatus::Paid => "paid",
            PaymentStatus::PartlyRefunded => "partly_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }
}

/// Why a card was declined (the payment backend's answer, in Tillbook's words).
pub const DECLINE_CODES: [&str; 5] = ["card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "processing_error"];

/// `payment.recorded`: one payment attempt on an order, approved or declined.
///
/// An approved payment pays `amount_q` of the order. A cash payment may be handed more
/// (`tendered_q`); the rest is `change_q`, and with cash rounding the drawer takes
/// `amount_q + rounding_q` (so `tendered_q = amount_q + rounding_q + change_q`). Any other
/// tender pays exactly what it tenders. A declined attempt pays nothing (`amount_q` says
/// what was asked) and carries `decline_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecorded {
    /// The attempt's identity (UUIDv7 minted by the till).
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub order_ref: String,
    /// `cash`, `card`, or a method configured for the store (`pix`, `voucher`…).
    pub method: String,
    pub outcome: PaymentOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    pub currency: String,
    pub amount_q: i64,
    pub tendered_q: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub change_q: i64,
    /// Cash rounding to the smallest coin: what the drawer took beyond `amount_q` (negative
    /// when rounded down).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rounding_q: i64,
    /// The provider's fee for this payment (fixed + percentage, when configured).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fee_q: i64,
    /// The last four digits of the card, never more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_last4: Option<String>,
    /// The provider's or external terminal's reference for the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The till's business date when it was taken (reports group by it).
    pub business_date: NaiveDate,
    pub at: DateTime<Utc>,
    /// Who took it.
    pub actor: String,
    /// The cash-drawer shift it was taken in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<Uuid>,
    /// The staff member who did it (absent on events from before staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
}

/// What a refund gives back through one of the order's approved payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTender {
    pub payment_id: Uuid,
    pub method: String,
    pub amount_q: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Units of one order line a refund gives back, and the money for them
/// ([`crate::tax::pro_rata`] of the line's gross).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_no: u32,
    pub qty: i64,
    pub amount_q: i64,
}

/// `refund.recorded`: money given back on a paid order, by line or by amount.
///
/// `amount_q` is the sum of `tenders` (and, for a refund by line, of `lines`). The refunds of
/// an order never add up to more than its approved payments. When they reach them, the order
/// is `refunded`. Restocked lines carry `stock_deltas` with reason `refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecorded {
    pub refund_id: Uuid,
    pub order_id: Uuid,
    pub order_ref: String,
    /// The caller's key: the same key gives the same refund.
    pub idempotency_key: String,
    pub currency: String,
    pub amount_q: i64,
    pub tenders: Vec<RefundTender>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<RefundLine>,
    #[serde(default)]
    pub restock: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub business_date: NaiveDate,
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stock_deltas: Vec<StockDelta>,
    /// The staff member who did it (absent on events from before staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<Uuid>,
    /// The manager whose PIN allowed it, when the staff member lacked the permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Uuid>,
}

/// Any outbox payload, decoded by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPayload {
    OrderCommitted(OrderCommitted),
    OrderStatusChanged(OrderStatusChanged),
    OrderItemStatusChanged(OrderItemStatusChanged),
    StockAdjusted(StockAdjusted),
    UniqueHold(UniqueHold),
    PaymentRecorded(PaymentRecorded),
    RefundRecorded(RefundRecorded),
    ShiftOpened(ShiftOpened),
    CashMoved(CashMoved),
    ShiftClosed(ShiftClosed),
}

impl EventPayload {
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::OrderCommitted(_) => EventKind::OrderCommitted,
            EventPayload::OrderStatusChanged(_) => EventKind::OrderStatusChanged,
            EventPayload::OrderItemStatusChanged(_) => EventKind::OrderItemStatusChanged,
            EventPayload::StockAdjusted(_) => EventKind::StockAdjusted,
            EventPayload::UniqueHold(_) => EventKind::UniqueHold,
            EventPayload::PaymentRecorded(_) => EventKind::PaymentRecorded,
            EventPayload::RefundRecorded(_) => EventKind::RefundRecorded,
            EventPayload::ShiftOpened(_) => EventKind::ShiftOpened,
            EventPayload::CashMoved(_) => EventKind::CashMoved,
            EventPayload::ShiftClosed(_) => EventKind::ShiftClosed,
        }
    }

    pub fn to_value(&self) -> serde_json::Value {
        let v = match self {
            EventPayload::OrderCommitted(p) => serde_json::to_value(p),
            EventPayload::OrderStatusChanged(p) => serde_json::to_value(p),
            EventPayload::OrderItemStatusChanged(p) => serde_json::to_value(p),
            EventPayload::StockAdjusted(p) => serde_json::to_value(p),
            EventPayload::UniqueHold(p) => serde_json::to_value(p),
            EventPayload::PaymentRecorded(p) => serde_json::to_value(p),
            EventPayload::RefundRecorded(p) => serde_json::to_value(p),
            EventPayload::ShiftOpened(p) => serde_json::to_value(p),
            EventPayload::CashMoved(p) => serde_json::to_value(p),
            EventPayload::ShiftClosed(p) => serde_json::to_value(p),
        };
        v.expect("event payloads always serialise")
    }

    /// Decode a payload of the given kind.
    pub fn from_value(kind: EventKind, value: serde_json::Value) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            EventKind::OrderCommitted => EventPayload::OrderCommitted(serde_json::from_value(value)?),
            EventKind::OrderStatusChanged => {
                EventPayload::OrderStatusChanged(serde_json::from_value(value)?)
            }
            EventKind::OrderItemStatusChanged => {
                EventPayload::OrderItemStatusChanged(serde_json::from_value(value)?)
            }
            EventKind::StockAdjusted => EventPayload::StockAdjusted(serde_json::from_value(value)?),
            EventKind::UniqueHold => EventPayload::UniqueHold(serde_json::from_value(value)?),
            EventKind::PaymentRecorded => EventPayload::PaymentRecorded(serde_json::from_value(value)?),
            EventKind::RefundRecorded => EventPayload::RefundRecorded(serde_json::from_value(value)?),
            EventKind::ShiftOpened => EventPayload::ShiftOpened(serde_json::from_value(value)?),
            EventKind::CashMoved => EventPayload::CashMoved(serde_json::from_value(value)?),
            EventKind::ShiftClosed => EventPayload::ShiftClosed(serde_json::from_value(value)?),
        })
    }

    /// Every stock movement this event carries.
    pub fn stock_deltas(&self) -> &[StockDelta] {
        match self {
            EventPayload::OrderCommitted(p) => &p.stock_deltas,
            EventPayload::OrderStatusChanged(p) => &p.stock_deltas,
            EventPayload::OrderItemStatusChanged(p) => &p.stock_deltas,
            EventPayload::StockAdjusted(p) => &p.stock_deltas,
            EventPayload::RefundRecorded(p) => &p.stock_deltas,
            EventPayload::UniqueHold(_)
            | EventPayload::PaymentRecorded(_)
            | EventPayload::ShiftOpened(_)
            | EventPayload::CashMoved(_)
            | EventPayload::ShiftClosed(_) => &[],
        }
    }
}
