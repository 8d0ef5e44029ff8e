//! Applying one outbox event: orders, their events and stock deltas land in the tables;
//! a `unique.hold` lands in the terminal's basket holds ([`unique::Holds`]); payments and
//! refunds land in theirs and move their order's sums ([`payments`]).
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
use tillbook_protocol::sync::Change;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{store_scope, ChangeWriter, CHAIN_SCOPE};
use crate::service::stock::StockBatch;
use crate::service::unique;
use crate::service::validate::{self, Verdict};
use crate::storage::sql::{query_keys, query_tuples, timestamp_text, Rows, Tx, Val};

mod moves;
mod payments;
mod settle;
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
];

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
        EventPayload::StockAdjusted(_) | EventPayload::UniqueHold(_) => None,
    }
}

fn stored_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| Error::Internal(format!("stored uuid {text:?}: {e}")))
}

impl Page {
    /// Reads, in a few statements, what `payloads` (the page's decodable events) will be
    /// checked against: everything when `checked`, else what an optimistic page needs.
    pub async fn prefetch<'a, T: Tx>(
        tx: &mut T,
        terminal: Uuid,
        store_id: i64,
        payloads: impl Iterator<Item = &'a EventPayload> + Clone,
        checked: bool,
    ) -> Result<Page> {
        let mut skus: BTreeSet<&str> = BTreeSet::new();
        for p in payloads.clone() {
            skus.extend(p.stock_deltas().iter().map(|d| d.sku.as_str()));
            match p {
                EventPayload::OrderCommitted(o) => {
                    skus.extend(o.lines.iter().map(|l| l.sku.as_str()));
                }
                EventPayload::UniqueHold(h) => {
                    skus.insert(h.sku.as_str());
                }
                _ => {}
            }
        }
        let deltas: BTreeSet<(&str, &str, Uuid)> = if checked {
            payloads
                .clone()
                .flat_map(|p| {
                    p.stock_deltas()
                        .iter()
                        .map(|d| (d.sku.as_str(), d.location.as_str(), d.delta_id))
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        let ids: BTreeSet<Uuid> = payloads
            .clone()
            .filter(|p| checked || !matches!(p, EventPayload::OrderCommitted(_)))
            .filter_map(order_id)
            .collect();
        let new_refs: BTreeSet<&str> = if checked {
            payloads
                .clone()
                .filter_map(|p| match p {
                    EventPayload::OrderCommitted(o) => Some(o.order_ref.as_str()),
                    _ => None,
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        let has_orders = payloads.clone().any(|p| order_id(p).is_some());

        let keys: Vec<Val> = skus.into_iter().map(Val::from).collect();
        let skus = query_keys(
            tx,
            "SELECT p.sku, p.is_unique FROM {keys} CROSS JOIN products p WHERE p.sku = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.bool(1)?)))
        .collect::<Result<_>>()?;
        let keys: Vec<Val> = deltas
            .into_iter()
            .flat_map(|(sku, location, id)| [Val::from(sku), Val::from(location), Val::from(id)])
            .collect();
        let used_deltas = query_tuples(
            tx,
            "SELECT s.sku, s.location, s.delta_id FROM {keys} CROSS JOIN stock_ledger s \
             WHERE s.store_id = $1 AND s.sku = k.column1 AND s.location = k.column2 \
             AND s.delta_id = k.column3",
            params![store_id],
            &["TEXT", "TEXT", "TEXT"],
            &keys,
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, stored_uuid(&r.text(2)?)?)))
        .collect::<Result<_>>()?;

        // Payments and refunds change an order's sums: its row is locked first, so two
        // pages paying or refunding one order are checked one after the other.
        payments::lock_orders(tx, payloads.clone()).await?;
        let keys: Vec<Val> = ids.into_iter().map(Val::from).collect();
        let mut orders: HashMap<Uuid, OrderState> = HashMap::new();
        for r in query_keys(
            tx,
            "SELECT o.order_id, o.store_id, o.order_ref, o.channel, o.status, o.currency, \
             o.total_q, o.paid_q, o.refunded_q FROM {keys} \
             CROSS JOIN orders o WHERE o.order_id = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        {
            orders.insert(
                stored_uuid(&r.text(0)?)?,
                OrderState {
                    store_id: r.i64(1)?,
                    order_ref: r.text(2)?,
                    channel: r.text(3)?,
                    status: r.text(4)?,
                    currency: r.text(5)?,
                    total_q: r.i64(6)?,
                    paid_q: r.i64(7)?,
                    refunded_q: r.i64(8)?,
                    lines: BTreeMap::new(),
                },
            );
        }
        let keys: Vec<Val> = orders.keys().map(|id| Val::from(*id)).collect();
        for r in query_keys(
            tx,
            "SELECT l.order_id, l.line_no, l.sku, l.is_unique, l.status, l.qty, l.gross_q, \
             l.refunded_qty FROM {keys} \
             CROSS JOIN order_lines l WHERE l.order_id = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        {
            if let Some(o) = orders.get_mut(&stored_uuid(&r.text(0)?)?) {
                o.lines.insert(
                    r.i64(1)?,
                    LineState {
                        sku: r.text(2)?,
                        unique: r.bool(3)?,
                        status: r.opt_text(4)?,
                        qty: r.i64(5)?,
                        gross_q: r.i64(6)?,
                        refunded_qty: r.i64(7)?,
                    },
                );
            }
        }
        let money = payments::Money::prefetch(tx, payloads.clone(), checked).await?;
        let keys: Vec<Val> = new_refs.into_iter().map(Val::from).collect();
        let refs = query_keys(
            tx,
            "SELECT o.order_ref, o.order_id FROM {keys} CROSS JOIN orders o \
             WHERE o.terminal_id = $1 AND o.order_ref = k.column1",
            params![terminal],
            "TEXT",
            &keys,
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, stored_uuid(&r.text(1)?)?)))
        .collect::<Result<_>>()?;

        let mut flows = HashMap::new();
        if has_orders {
            for r in tx
                .query(
                    "SELECT body FROM changes WHERE scope = $1 AND change_key LIKE 'channel:%'",
                    params![CHAIN_SCOPE],
                )
                .await?
            {
                let change: Change = serde_json::from_str(&r.text(0)?)
                    .map_err(|e| Error::Internal(format!("stored channel: {e}")))?;
                if let Change::Channel { channel, .. } = change {
                    flows.insert(channel.code, channel.flow);
                }
            }
        }
        let received = Utc::now();
        Ok(Page {
            checked,
            conflict: false,
            store_id,
            skus,
            flows,
            used_deltas,
            orders,
            refs,
            writer: None,
            pending: HashMap::new(),
            order_rows: Rows::new("orders", ORDER_COLUMNS),
            lines: Rows::new("order_lines", LINE_COLUMNS),
            events: Rows::new("order_events", EVENT_COLUMNS),
            money,
            stock: StockBatch::new(store_id),
            unique_touched: BTreeSet::new(),
            holds: unique::Holds::default(),
            received,
            received_at: timestamp_text(received),
            terminal_id: terminal,
            terminal: terminal.to_string(),
            actor: format!("terminal:{terminal}"),
        })
    }

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
        if !self.money.flush(tx, self.checked).await? {
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
    if let Some(reason) = validate::payload(payload).or_else(|| page.check_deltas(payload)) {
        return Ok(Some(reason));
    }
    let verdict = match payload {
        EventPayload::OrderCommitted(o) => commit_order(page, event_id, o),
        EventPayload::OrderStatusChanged(c) => change_status(tx, page, event_id, c).await?,
        EventPayload::OrderItemStatusChanged(c) => change_item(tx, page, event_id, c).await?,
        EventPayload::StockAdjusted(_) => None,
        EventPayload::UniqueHold(h) => hold(page, h),
        EventPayload::PaymentRecorded(p) => payments::pay(tx, page, event_id, p).await?,
        EventPayload::RefundRecorded(r) => payments::refund(tx, page, event_id, r).await?,
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
