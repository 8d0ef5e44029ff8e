//! Applying one outbox event: orders, their events and stock deltas land in the tables;
//! a `unique.hold` lands in the terminal's basket holds ([`unique::Holds`]); payments and
//! refunds land in theirs and move their order's sums ([`payments`], [`refunds`]); shifts
//! and cash movements in theirs ([`shifts`]). Who did it (the till's actor, its staff id, the
//! manager who approved) is stored as given: a staff id the server does not know is a till's
//! own (its default cashier before enrolment).
//!
//! Every check runs before the first write, so an event is either applied whole or
//! rejected with a reason and leaves no trace but its inbox row (rule 7). The checks of an
//! event on its own live in [`validate`]; here are those that need the server's state: known
//! SKUs and channels, an order's identity, store and current status, a line's item status.
//!
//! An order is known by its global `order_id`, never by its printed reference alone: orders
//! are unique on `order_id` and on `(order_ref, terminal_id)`. A commit writes no
//! `order_events` row: the order row holds what `order.committed` says (its event id,
//! `committed_at`, terminal and `initial_status`) and the back office synthesizes it. A status or item move finds
//! its order by `order_id`; the order must be in the pushing terminal's store, and any
//! terminal of that store may move it (a re-enrolled book may cancel what its earlier
//! identity sold); the move must start from the order's current status and be allowed by the
//! channel's flow, so a move is never applied twice.
//!
//! A push page is applied event by event, in seq order, but not statement by statement: a
//! [`Page`] reads up front, in a few statements, what its events will be checked against and
//! keeps that view current as its events apply; the rows they write are queued and inserted
//! with multi-row statements (before any statement that reads or updates them, and at the
//! end of the page). Orders are inserted last, under the store's lock, which numbers them
//! in the store's feed ([`Settle`]): pushes into one store wait on each other only then.
//!
//! A page is first applied *optimistically*: it does not look up the order ids, references
//! and stock delta ids its events bring (new ones, nearly always), and inserts them skipping
//! any already taken. If one was, the caller rolls the page back and applies it again
//! *checked*, every key looked up first, which gives exactly the verdicts of applying the
//! events one by one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use tillbook_protocol::channel::Flow;
use tillbook_protocol::events::{EventKind, EventPayload, UniqueHold};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::service::changelog::{store_scope, ChangeWriter};
use crate::service::stock::StockBatch;
use crate::service::unique;
use crate::service::validate::{self, Verdict};
use crate::storage::sql::{Rows, Tx, Val};

mod moves;
mod payments;
mod prefetch;
mod refunds;
mod settle;
mod shifts;
use moves::{change_item, change_status, commit_order};
pub use settle::Settle;

/// An event's payload decoded, or the reason it cannot be (a rejection).
/// (Read from a borrowed value, as [`EventPayload::from_value`] reads an owned one: the
/// push keeps the payload, a rejected event's is stored.)
pub fn decode(
    kind: &str,
    payload: &serde_json::Value,
) -> std::result::Result<EventPayload, String> {
    use serde::Deserialize;
    let Some(k) = EventKind::parse(kind) else {
        return Err(format!("unknown event kind {kind:?}"));
    };
    let decoded = match k {
        EventKind::OrderCommitted => {
            Deserialize::deserialize(payload).map(EventPayload::OrderCommitted)
        }
        EventKind::OrderStatusChanged => {
            Deserialize::deserialize(payload).map(EventPayload::OrderStatusChanged)
        }
        EventKind::OrderItemStatusChanged => {
            Deserialize::deserialize(payload).map(EventPayload::OrderItemStatusChanged)
        }
        EventKind::StockAdjusted => {
            Deserialize::deserialize(payload).map(EventPayload::StockAdjusted)
        }
        EventKind::UniqueHold => Deserialize::deserialize(payload).map(EventPayload::UniqueHold),
        EventKind::PaymentRecorded => {
            Deserialize::deserialize(payload).map(EventPayload::PaymentRecorded)
        }
        EventKind::RefundRecorded => {
            Deserialize::deserialize(payload).map(EventPayload::RefundRecorded)
        }
        EventKind::ShiftOpened => Deserialize::deserialize(payload).map(EventPayload::ShiftOpened),
        EventKind::CashMoved => Deserialize::deserialize(payload).map(EventPayload::CashMoved),
        EventKind::ShiftClosed => Deserialize::deserialize(payload).map(EventPayload::ShiftClosed),
    };
    decoded.map_err(|e: serde_json::Error| format!("undecodable {kind} payload: {e}"))
}

/// Statuses in which an order no longer holds what it sold.
pub const DEAD_STATUSES: [&str; 2] = ["cancelled", "refunded"];

const ORDER_COLUMNS: &[&str] = &[
    "order_id",
    "store_id",
    "feed",
    "order_ref",
    "terminal_id",
    "event_id",
    "channel",
    "status",
    "currency",
    "subtotal_q",
    "discount_q",
    "total_q",
    "business_date",
    "committed_at",
    "handle",
    "received_at",
    "initial_status",
    "tax_mode",
    "tax_q",
    "paid_q",
    "refunded_q",
    "line_discount_q",
    "shift_id",
    "staff_id",
    "approved_by",
    "actor",
];
/// Columns of the queued order rows that a payment, a refund or its status change patch.
const ORDER_STATUS: usize = 7;
const ORDER_PAID: usize = 19;
const ORDER_REFUNDED: usize = 20;
const LINE_COLUMNS: &[&str] = &[
    "store_id",
    "order_id",
    "line_no",
    "sku",
    "name",
    "unit_price_q",
    "qty",
    "discount_q",
    "total_q",
    "is_unique",
    "tax_rate_bp",
    "order_discount_q",
    "tax_q",
    "refunded_qty",
    "business_date",
    "gross_q",
    "category",
];
/// The `refunded_qty` column of the queued line rows.
const LINE_REFUNDED: usize = 13;
const EVENT_COLUMNS: &[&str] = &[
    "store_id",
    "order_id",
    "event_id",
    "kind",
    "line_no",
    "from_status",
    "to_status",
    "actor",
    "at",
    "reason",
    "staff_id",
    "approved_by",
];

/// Who did something, as the till says: its staff member and the manager who approved.
#[derive(Debug, Clone, Copy, Default)]
struct Who {
    staff_id: Option<Uuid>,
    approved_by: Option<Uuid>,
}

/// A line as the checks need it.
#[derive(Debug, Clone)]
struct LineState {
    sku: String,
    unique: bool,
    status: Option<String>,
    qty: i64,
    /// What a refund of all its units gives back (see [`payments`]).
    gross_q: i64,
    refunded_qty: i64,
}

/// An order as the checks need it.
#[derive(Debug, Clone)]
struct OrderState {
    store_id: i64,
    order_ref: String,
    channel: String,
    status: String,
    currency: String,
    total_q: i64,
    paid_q: i64,
    refunded_q: i64,
    lines: BTreeMap<i64, LineState>,
}

/// Where a queued order's row and its lines' rows are, while they wait to be inserted.
#[derive(Debug, Clone, Default)]
struct Queued {
    row: usize,
    lines: BTreeMap<i64, usize>,
}

/// What the events of one push page are checked against, and the rows they write.
pub struct Page {
    /// Every key looked up first (else optimistic: see the module).
    checked: bool,
    /// Set when an optimistic page found a key taken: its work must be rolled back.
    conflict: bool,
    store_id: i64,
    /// Products that exist among those the page names, and whether each is one of a kind
    /// (the server's catalog, not the till's word).
    skus: HashMap<String, bool>,
    /// Channel flows by code (the chain log's `channel:{code}` entries).
    flows: HashMap<String, Flow>,
    /// Stock deltas (sku, location, delta id) recorded by this page, and (checked) those
    /// already in the store's ledger: a delta id is unique per (store, sku, location).
    used_deltas: HashSet<(String, String, Uuid)>,
    /// Orders the page's moves name (any store), those it created, and (checked) those whose
    /// ids its commits bring.
    orders: HashMap<Uuid, OrderState>,
    /// This terminal's order references: created by the page, and (checked) those its
    /// commits bring that are already taken.
    refs: HashMap<String, Uuid>,
    /// The store's change-log lock, once taken (see [`settle`]).
    writer: Option<ChangeWriter>,
    /// Orders queued and not yet inserted (they get their feed positions under the lock),
    /// with where their rows are queued.
    pending: HashMap<Uuid, Queued>,
    order_rows: Rows,
    lines: Rows,
    events: Rows,
    /// Payments and refunds: what their checks need, and their queued rows.
    money: payments::Money,
    /// Shifts and cash movements: what their checks need, and their queued rows.
    shifts: shifts::Shifts,
    /// Ledger rows and movements of the applied events.
    stock: StockBatch,
    /// Unique SKUs whose seller or holds may have changed.
    unique_touched: BTreeSet<String>,
    /// The terminal's hold changes (written with the page's rows, before the lock).
    holds: unique::Holds,
    received: DateTime<Utc>,
    received_at: String,
    terminal_id: Uuid,
    terminal: String,
    actor: String,
}

fn order_id(p: &EventPayload) -> Option<Uuid> {
    match p {
        EventPayload::OrderCommitted(o) => Some(o.order_id),
        EventPayload::OrderStatusChanged(c) => Some(c.order_id),
        EventPayload::OrderItemStatusChanged(c) => Some(c.order_id),
        EventPayload::PaymentRecorded(p) => Some(p.order_id),
        EventPayload::RefundRecorded(r) => Some(r.order_id),
        EventPayload::StockAdjusted(_)
        | EventPayload::UniqueHold(_)
        | EventPayload::ShiftOpened(_)
        | EventPayload::CashMoved(_)
        | EventPayload::ShiftClosed(_) => None,
    }
}

fn stored_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| Error::Internal(format!("stored uuid {text:?}: {e}")))
}

impl Page {
    /// True when an optimistic page found a key taken: roll back, apply it checked.
    pub fn conflict(&self) -> bool {
        self.conflict
    }

    /// Inserts the queued orders (numbered in the store's feed, under its lock), their lines
    /// and the queued order events: before a move of an order the page created. An
    /// optimistic page that finds an order id or reference taken stops there and sets
    /// [`Page::conflict`].
    async fn flush_orders<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        if self.conflict {
            return Ok(());
        }
        let writer = match self.writer.take() {
            Some(w) => w,
            None => ChangeWriter::begin(tx, &store_scope(self.store_id)).await?,
        };
        let writer = self.writer.insert(writer);
        if !settle::insert_orders(tx, writer, &mut self.order_rows, self.checked).await? {
            self.conflict = true;
            return Ok(());
        }
        self.pending.clear();
        self.flush_children(tx).await
    }

    /// Inserts the queued lines and order events (no foreign keys: before their orders). An
    /// optimistic page that finds a line's key taken (its order id is) sets the conflict.
    async fn flush_children<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        if self.conflict {
            return Ok(());
        }
        if self.checked {
            self.lines.flush(tx).await?;
        } else if !self.lines.flush_new(tx, "").await? {
            self.conflict = true;
            return Ok(());
        }
        for q in self.pending.values_mut() {
            q.lines.clear();
        }
        if !self.money.flush(tx, self.checked).await?
            || !self.shifts.flush(tx, self.checked).await?
        {
            self.conflict = true;
            return Ok(());
        }
        self.events.flush(tx).await
    }

    /// Inserts every queued row that needs no position in the store (lines, order events,
    /// ledger rows) and leaves the rest to [`Settle`], to run under the store's lock. `None`
    /// when an optimistic page found a key taken.
    pub async fn finish<T: Tx>(mut self, tx: &mut T) -> Result<Option<Settle>> {
        self.flush_children(tx).await?;
        if self.conflict || !self.stock.flush_ledger(tx, !self.checked).await? {
            return Ok(None);
        }
        self.holds
            .flush(tx, self.store_id, self.terminal_id, &self.received_at)
            .await?;
        Ok(Some(Settle {
            store_id: self.store_id,
            checked: self.checked,
            writer: self.writer,
            orders: self.order_rows,
            stock: self.stock,
            unique_touched: self.unique_touched,
            now: self.received_at,
        }))
    }

    fn check_deltas(&self, payload: &EventPayload) -> Verdict {
        let mut ids = BTreeSet::new();
        for d in payload.stock_deltas() {
            if !ids.insert(d.delta_id) {
                return Some(format!("stock delta {} appears twice", d.delta_id));
            }
            if !self.skus.contains_key(&d.sku) {
                return Some(format!("unknown sku {}", d.sku));
            }
            if self
                .used_deltas
                .contains(&(d.sku.clone(), d.location.clone(), d.delta_id))
            {
                return Some(format!("stock delta {} was already recorded", d.delta_id));
            }
        }
        None
    }

    /// The order a move names, if it is in this terminal's store.
    fn order_in_store(
        &self,
        id: Uuid,
        order_ref: &str,
    ) -> std::result::Result<&OrderState, String> {
        match self.orders.get(&id) {
            Some(o) if o.store_id == self.store_id => Ok(o),
            _ => Err(format!("unknown order {order_ref} ({id})")),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_event(
        &mut self,
        order_id: Uuid,
        event_id: Uuid,
        kind: &str,
        line_no: Option<i64>,
        from: Option<&str>,
        to: Option<&str>,
        actor: Option<&str>,
        at: &str,
        reason: Option<&str>,
        who: Who,
    ) {
        let actor = actor.unwrap_or(&self.actor).to_string();
        self.events.push([
            Val::from(self.store_id),
            Val::from(order_id),
            Val::from(event_id),
            Val::from(kind),
            Val::from(line_no),
            Val::from(from),
            Val::from(to),
            Val::from(actor),
            Val::from(at),
            Val::from(reason),
            Val::from(who.staff_id.map(|u| u.to_string())),
            Val::from(who.approved_by.map(|u| u.to_string())),
        ]);
    }
}

/// Applies one decoded event of the page (or records why it cannot be).
pub async fn apply<T: Tx>(
    tx: &mut T,
    event_id: Uuid,
    decoded: &std::result::Result<EventPayload, String>,
    page: &mut Page,
) -> Result<Verdict> {
    let payload = match decoded {
        Ok(p) => p,
        Err(reason) => return Ok(Some(reason.clone())),
    };
    if let Some(reason) = validate::payload(payload)
        .or_else(|| page.check_deltas(payload))
        .or_else(|| shifts::member(page, payload))
    {
        return Ok(Some(reason));
    }
    let verdict = match payload {
        EventPayload::OrderCommitted(o) => commit_order(page, event_id, o),
        EventPayload::OrderStatusChanged(c) => change_status(tx, page, event_id, c).await?,
        EventPayload::OrderItemStatusChanged(c) => change_item(tx, page, event_id, c).await?,
        EventPayload::StockAdjusted(_) => None,
        EventPayload::UniqueHold(h) => hold(page, h),
        EventPayload::PaymentRecorded(p) => payments::pay(tx, page, event_id, p).await?,
        EventPayload::RefundRecorded(r) => refunds::refund(tx, page, event_id, r).await?,
        EventPayload::ShiftOpened(o) => shifts::open(tx, page, event_id, o).await?,
        EventPayload::CashMoved(m) => shifts::cash_moved(page, event_id, m),
        EventPayload::ShiftClosed(c) => shifts::close(tx, page, event_id, c).await?,
    };
    if verdict.is_some() {
        return Ok(verdict);
    }
    let terminal = page.terminal_id;
    for d in payload.stock_deltas() {
        page.used_deltas
            .insert((d.sku.clone(), d.location.clone(), d.delta_id));
        page.stock
            .record(d, page.received, Some(terminal), Some(event_id));
    }
    Ok(None)
}

/// `unique.hold`: the SKU must be one of a kind by the server's catalog, whatever the till
/// thinks; the hold (or its release) is queued for the terminal and the item logged.
fn hold(page: &mut Page, h: &UniqueHold) -> Verdict {
    match page.skus.get(&h.sku) {
        None => Some(format!("hold of unknown sku {}", h.sku)),
        Some(false) => Some(format!(
            "hold of {}: the catalog does not list it as one of a kind",
            h.sku
        )),
        Some(true) => {
            page.holds.hold(&h.sku, &h.session_key, h.until);
            page.unique_touched.insert(h.sku.clone());
            None
        }
    }
}
