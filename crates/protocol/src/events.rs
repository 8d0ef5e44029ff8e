//! Outbox event payloads: what a terminal tells the server happened.
//!
//! An outbox row carries `kind` (one of [`EventKind`]) and a JSON payload of the matching
//! struct. Every payload that moves stock lists its [`StockDelta`]s, so the server's stock
//! ledger is the exact sum of what terminals did.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::OrderCommitted,
        EventKind::OrderStatusChanged,
        EventKind::OrderItemStatusChanged,
        EventKind::StockAdjusted,
        EventKind::UniqueHold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderCommitted => "order.committed",
            EventKind::OrderStatusChanged => "order.status_changed",
            EventKind::OrderItemStatusChanged => "order.item_status_changed",
            EventKind::StockAdjusted => "stock.adjusted",
            EventKind::UniqueHold => "unique.hold",
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
    pub subtotal_q: i64,
    pub discount_q: i64,
    pub total_q: i64,
    pub business_date: NaiveDate,
    pub committed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    pub lines: Vec<OrderLine>,
    pub stock_deltas: Vec<StockDelta>,
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
}

/// `stock.adjusted`: receiving, adjustments and counts done at the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjusted {
    pub note: String,
    pub stock_deltas: Vec<StockDelta>,
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

/// Any outbox payload, decoded by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPayload {
    OrderCommitted(OrderCommitted),
    OrderStatusChanged(OrderStatusChanged),
    OrderItemStatusChanged(OrderItemStatusChanged),
    StockAdjusted(StockAdjusted),
    UniqueHold(UniqueHold),
}

impl EventPayload {
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::OrderCommitted(_) => EventKind::OrderCommitted,
            EventPayload::OrderStatusChanged(_) => EventKind::OrderStatusChanged,
            EventPayload::OrderItemStatusChanged(_) => EventKind::OrderItemStatusChanged,
            EventPayload::StockAdjusted(_) => EventKind::StockAdjusted,
            EventPayload::UniqueHold(_) => EventKind::UniqueHold,
        }
    }

    pub fn to_value(&self) -> serde_json::Value {
        let v = match self {
            EventPayload::OrderCommitted(p) => serde_json::to_value(p),
            EventPayload::OrderStatusChanged(p) => serde_json::to_value(p),
            EventPayload::OrderItemStatusChanged(p) => serde_json::to_value(p),
            EventPayload::StockAdjusted(p) => serde_json::to_value(p),
            EventPayload::UniqueHold(p) => serde_json::to_value(p),
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
        })
    }

    /// Every stock movement this event carries.
    pub fn stock_deltas(&self) -> &[StockDelta] {
        match self {
            EventPayload::OrderCommitted(p) => &p.stock_deltas,
            EventPayload::OrderStatusChanged(p) => &p.stock_deltas,
            EventPayload::OrderItemStatusChanged(p) => &p.stock_deltas,
            EventPayload::StockAdjusted(p) => &p.stock_deltas,
            EventPayload::UniqueHold(_) => &[],
        }
    }
}
