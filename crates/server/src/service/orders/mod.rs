//! Back-office orders: listing by feed position, one order in full.
//!
//! Every order has a per-store `feed` position, taken from its store's head counter under
//! the store's change-log lock and held to commit, so a store's feed positions become
//! visible in order: a listing that has seen position `p` of a store has seen every position
//! below it, and an order committed during a listing shows up on a later page, never
//! skipped (identity ids, which PostgreSQL hands out before commit, could be).
//!
//! The cursor of a listing holds one position per store, `storeid:pos,storeid:pos`
//! ([`OrdersCursor`]); each page merges the stores' next orders (by receipt time), taking a
//! prefix of each store's feed.
//!
//! An order in full shows who did what: who rang it up (the till's actor and staff id, with
//! the staff member's name when the server knows them), who approved it, its shift, and the
//! same for each of its events, payments and refunds ([`money`]).

mod money;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::report::RateTotal;
use crate::service::stores;
use crate::storage::sql::{Row, Tx};
use money::{money, opt_uuid};
pub use money::{PaymentInfo, RefundInfo, RefundLineInfo, RefundTenderInfo};

/// Default and largest page of `GET /v1/admin/orders`.
pub const DEFAULT_ORDERS: u32 = 100;
pub const MAX_ORDERS: u32 = 1000;

/// Where a listing stands: the last feed position seen per store id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrdersCursor(pub BTreeMap<i64, i64>);

impl OrdersCursor {
    /// Reads `storeid:pos,storeid:pos` (empty: the start).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::InvalidQuery(format!("bad cursor {text:?}"));
        let mut out = BTreeMap::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (store, pos) = part.split_once(':').ok_or_else(bad)?;
            let store: i64 = store.parse().map_err(|_| bad())?;
            let pos: i64 = pos.parse().map_err(|_| bad())?;
            if store <= 0 || pos < 0 || out.insert(store, pos).is_some() {
                return Err(bad());
            }
        }
        Ok(OrdersCursor(out))
    }

    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(|(s, p)| format!("{s}:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn at(&self, store: i64) -> i64 {
        self.0.get(&store).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub order_id: Uuid,
    #[serde(rename = "ref")]
    pub order_ref: String,
    pub store: String,
    pub terminal_id: String,
    pub terminal_code: String,
    pub terminal_name: String,
    pub channel: String,
    pub status: String,
    pub currency: String,
    pub subtotal_q: i64,
    pub discount_q: i64,
    pub total_q: i64,
    pub business_date: String,
    pub committed_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    /// Pass as `after` for the next page; `null` when no more orders wait now.
    pub next: Option<String>,
    /// The position after this page, always set: pass it as `after` later to see the orders
    /// committed since.
    pub cursor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInfo {
    pub line_no: i64,
    pub sku: String,
    pub name: String,
    pub unit_price_q: i64,
    pub qty: i64,
    pub discount_q: i64,
    pub total_q: i64,
    /// One of a kind by the server's catalog when the order reached it.
    pub unique: bool,
    pub status: Option<String>,
    pub tax_rate_bp: i64,
    /// The line's share of the order discount.
    pub order_discount_q: i64,
    pub tax_q: i64,
    pub refunded_qty: i64,
    /// The product's category when sold.
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEventInfo {
    pub event_id: String,
    pub kind: String,
    pub line_no: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: String,
    pub at: String,
    pub reason: Option<String>,
    /// The staff member who did it and the manager who approved it, as the till gave them.
    pub staff_id: Option<Uuid>,
    pub approved_by: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub summary: OrderSummary,
    pub handle: Option<String>,
    pub received_at: String,
    /// Who rang it up, as the till recorded it (`terminal:<id>` on orders from before staff).
    pub actor: String,
    /// The staff member (as the till gave it) and their name when the server knows them.
    pub staff_id: Option<Uuid>,
    pub staff_name: Option<String>,
    /// The manager whose PIN allowed it, and their name when known.
    pub approved_by: Option<Uuid>,
    pub approved_by_name: Option<String>,
    /// The cash-drawer shift it was sold in.
    pub shift_id: Option<Uuid>,
    /// `inclusive` or `exclusive`; `None`: sold before taxes.
    pub tax_mode: Option<String>,
    pub tax_q: i64,
    /// Per rate, from its lines.
    pub taxes: Vec<RateTotal>,
    pub lines: Vec<LineInfo>,
    pub events: Vec<OrderEventInfo>,
    /// The sum of its approved payments, and of its refunds.
    pub paid_q: i64,
    pub refunded_q: i64,
    /// `unpaid`, `partly_paid`, `paid`, `partly_refunded` or `refunded`.
    pub payment_status: String,
    /// Every payment attempt, approved or declined, in the order taken.
    pub payments: Vec<PaymentInfo>,
    pub refunds: Vec<RefundInfo>,
}

/// Where an order stands with its money (the rule the till uses too).
pub fn payment_status(total_q: i64, paid_q: i64, refunded_q: i64) -> &'static str {
    tillbook_protocol::events::PaymentStatus::of(total_q, paid_q, refunded_q).as_str()
}

const SUMMARY: &str = "SELECT o.order_id, o.order_ref, s.code, o.terminal_id, t.terminal_code, \
     t.name, o.channel, o.status, o.currency, o.subtotal_q, o.discount_q, o.total_q, \
     o.business_date, o.committed_at, o.handle, o.received_at, o.feed, o.event_id, \
     o.initial_status, o.tax_mode, o.tax_q, o.paid_q, o.refunded_q, o.actor, o.staff_id, \
     o.approved_by, o.shift_id \
     FROM orders o JOIN stores s ON s.id = o.store_id JOIN terminals t ON t.id = o.terminal_id";

fn summary(row: &Row) -> Result<OrderSummary> {
    let id = row.text(0)?;
    Ok(OrderSummary {
        order_id: Uuid::parse_str(&id)
            .map_err(|e| Error::Internal(format!("stored order id {id:?}: {e}")))?,
        order_ref: row.text(1)?,
        store: row.text(2)?,
        terminal_id: row.text(3)?,
        terminal_code: row.text(4)?,
        terminal_name: row.text(5)?,
        channel: row.text(6)?,
        status: row.text(7)?,
        currency: row.text(8)?,
        subtotal_q: row.i64(9)?,
        discount_q: row.i64(10)?,
        total_q: row.i64(11)?,
        business_date: row.text(12)?,
        committed_at: row.text(13)?,
    })
}

/// One page of orders of a store (its code) or of every store, after `after`.
pub async fn list<T: Tx>(
    tx: &mut T,
    store: Option<&str>,
    limit: u32,
    after: &OrdersCursor,
) -> Result<OrderPage> {
    let limit = limit.clamp(1, MAX_ORDERS) as usize;
    let store_ids: Vec<i64> = match stores::filter(tx, store).await? {
        Some(id) => vec![id],
        None => tx
            .query("SELECT id FROM stores ORDER BY id", params![])
            .await?
            .iter()
            .map(|r| r.i64(0))
            .collect::<Result<_>>()?,
    };
    // The next orders of each store, in feed order.
    let sql = format!("{SUMMARY} WHERE o.store_id = $1 AND o.feed > $2 ORDER BY o.feed LIMIT $3");
    let mut queues: Vec<(i64, VecDeque<Row>)> = Vec::new();
    for id in store_ids {
        let rows = tx
            .query(&sql, params![id, after.at(id), (limit + 1) as i64])
            .await?;
        queues.push((id, rows.into()));
    }
    // Merge: the earliest received head each time, so each store gives a prefix of its feed.
    let mut cursor = after.clone();
    let mut orders = Vec::with_capacity(limit);
    while orders.len() < limit {
        let mut best: Option<(usize, String)> = None;
        for (i, (_, q)) in queues.iter().enumerate() {
            if let Some(head) = q.front() {
                let received = head.text(15)?;
                if best.as_ref().is_none_or(|(_, b)| received < *b) {
                    best = Some((i, received));
                }
            }
        }
        let Some((i, _)) = best else { break };
        let (store_id, q) = &mut queues[i];
        let row = q.pop_front().expect("a head was seen");
        cursor.0.insert(*store_id, row.i64(16)?);
        orders.push(summary(&row)?);
    }
    let more = queues.iter().any(|(_, q)| !q.is_empty());
    let encoded = cursor.encode();
    Ok(OrderPage {
        orders,
        next: more.then(|| encoded.clone()),
        cursor: encoded,
    })
}

/// One order in full, by its order id, or by a reference held by exactly one order.
pub async fn detail<T: Tx>(tx: &mut T, id: &str) -> Result<OrderDetail> {
    let mut row = None;
    if let Ok(order_id) = Uuid::parse_str(id) {
        let sql = format!("{SUMMARY} WHERE o.order_id = $1");
        row = tx.query_opt(&sql, params![order_id]).await?;
    }
    let row = match row {
        Some(row) => row,
        None => {
            let sql = format!("{SUMMARY} WHERE o.order_ref = $1 ORDER BY o.order_id");
            let mut rows = tx.query(&sql, params![id]).await?;
            match rows.len() {
                0 => return Err(Error::not_found(format!("order {id}"))),
                1 => rows.remove(0),
                _ => {
                    return Err(Error::AmbiguousOrderRef {
                        order_ref: id.to_string(),
                        order_ids: rows.iter().map(|r| r.text(0)).collect::<Result<_>>()?,
                    })
                }
            }
        }
    };
    let order_id = row.text(0)?;
    let lines = tx
        .query(
            "SELECT line_no, sku, name, unit_price_q, qty, discount_q, total_q, is_unique, status, \
             tax_rate_bp, order_discount_q, tax_q, refunded_qty, category \
             FROM order_lines WHERE order_id = $1 ORDER BY line_no",
            params![order_id.as_str()],
        )
        .await?
        .iter()
        .map(|l| {
            Ok(LineInfo {
                line_no: l.i64(0)?,
                sku: l.text(1)?,
                name: l.text(2)?,
                unit_price_q: l.i64(3)?,
                qty: l.i64(4)?,
                discount_q: l.i64(5)?,
                total_q: l.i64(6)?,
                unique: l.bool(7)?,
                status: l.opt_text(8)?,
                tax_rate_bp: l.i64(9)?,
                order_discount_q: l.i64(10)?,
                tax_q: l.i64(11)?,
                refunded_qty: l.i64(12)?,
                category: l.opt_text(13)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // The `order.committed` event is not stored: the order row holds what it says.
    let actor = row
        .opt_text(23)?
        .unwrap_or_else(|| format!("terminal:{}", row.text(3).unwrap_or_default()));
    let (staff_id, approved_by) = (opt_uuid(&row, 24)?, opt_uuid(&row, 25)?);
    let committed = OrderEventInfo {
        event_id: row.text(17)?,
        kind: "order.committed".into(),
        line_no: None,
        from: None,
        to: Some(row.text(18)?),
        actor: actor.clone(),
        at: row.text(13)?,
        reason: None,
        staff_id,
        approved_by,
    };
    let stored = tx
        .query(
            "SELECT event_id, kind, line_no, from_status, to_status, actor, at, reason, \
             staff_id, approved_by FROM order_events WHERE order_id = $1 ORDER BY id",
            params![order_id.as_str()],
        )
        .await?
        .iter()
        .map(|e| {
            Ok(OrderEventInfo {
                event_id: e.text(0)?,
                kind: e.text(1)?,
                line_no: e.opt_i64(2)?,
                from: e.opt_text(3)?,
                to: e.opt_text(4)?,
                actor: e.text(5)?,
                at: e.text(6)?,
                reason: e.opt_text(7)?,
                staff_id: opt_uuid(e, 8)?,
                approved_by: opt_uuid(e, 9)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut events = Vec::with_capacity(stored.len() + 1);
    events.push(committed);
    events.extend(stored);
    let summary = summary(&row)?;
    let (paid_q, refunded_q) = (row.i64(21)?, row.i64(22)?);
    let money = money(tx, &order_id).await?;
    let names =
        crate::service::staff::names(tx, [staff_id, approved_by].into_iter().flatten()).await?;
    let name = |id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned());
    Ok(OrderDetail {
        payment_status: payment_status(summary.total_q, paid_q, refunded_q).to_string(),
        summary,
        handle: row.opt_text(14)?,
        received_at: row.text(15)?,
        actor,
        staff_id,
        staff_name: name(staff_id),
        approved_by,
        approved_by_name: name(approved_by),
        shift_id: opt_uuid(&row, 26)?,
        tax_mode: row.opt_text(19)?,
        tax_q: row.i64(20)?,
        taxes: money.taxes,
        lines,
        events,
        paid_q,
        refunded_q,
        payments: money.payments,
        refunds: money.refunds,
    })
}

#[cfg(test)]
mod tests {
    use super::OrdersCursor;

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        let c = OrdersCursor::parse("2:7,1:5").unwrap();
        assert_eq!(c.0.into_iter().collect::<Vec<_>>(), vec![(1, 5), (2, 7)]);
        assert_eq!(OrdersCursor::parse("1:5,2:7").unwrap().encode(), "1:5,2:7");
        assert_eq!(OrdersCursor::parse("").unwrap(), OrdersCursor::default());
        assert_eq!(OrdersCursor::default().encode(), "");
        for bad in ["5", "1:", ":5", "1:x", "1:5,1:6", "0:1", "1:-1", "a:b"] {
            assert!(OrdersCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
