//! Back-office reads: orders with their lines and events, stock levels, alerts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::params;
use crate::storage::sql::{Row, Tx};

/// Default and largest page of `GET /v1/admin/orders`.
pub const DEFAULT_ORDERS: u32 = 100;
pub const MAX_ORDERS: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    #[serde(rename = "ref")]
    pub order_ref: String,
    pub terminal_id: String,
    pub channel: String,
    pub status: String,
    pub currency: String,
    pub total_q: i64,
    pub business_date: String,
    pub committed_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next: Option<String>,
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
    pub unique: bool,
    pub status: Option<String>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub summary: OrderSummary,
    pub subtotal_q: i64,
    pub discount_q: i64,
    pub handle: Option<String>,
    pub received_at: String,
    pub lines: Vec<LineInfo>,
    pub events: Vec<OrderEventInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockItem {
    pub sku: String,
    pub location: String,
    pub on_hand: i64,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockList {
    pub items: Vec<StockItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub sku: String,
    /// The live (not cancelled) orders that sold the same unique item.
    pub orders: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedEvent {
    pub terminal_id: String,
    pub seq: i64,
    pub event_id: String,
    pub kind: String,
    pub reason: Option<String>,
    pub received_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alerts {
    /// Stock levels below zero.
    pub shortages: Vec<StockItem>,
    pub conflicts: Vec<Conflict>,
    /// The most recent rejected events (at most 1000).
    pub rejected: Vec<RejectedEvent>,
}

const SUMMARY_COLUMNS: &str =
    "order_ref, terminal_id, channel, status, currency, total_q, business_date, committed_at";

fn summary(row: &Row) -> Result<OrderSummary> {
    Ok(OrderSummary {
        order_ref: row.text(0)?,
        terminal_id: row.text(1)?,
        channel: row.text(2)?,
        status: row.text(3)?,
        currency: row.text(4)?,
        total_q: row.i64(5)?,
        business_date: row.text(6)?,
        committed_at: row.text(7)?,
    })
}

/// Orders in the order the server received them; `after` is the opaque cursor of a page.
pub fn parse_cursor(after: Option<&str>) -> Result<Option<i64>> {
    after
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| Error::InvalidQuery(format!("bad cursor {a:?}")))
        })
        .transpose()
}

pub async fn list_orders<T: Tx>(tx: &mut T, limit: u32, after: Option<i64>) -> Result<OrderPage> {
    let limit = limit.clamp(1, MAX_ORDERS);
    let sql =
        format!("SELECT {SUMMARY_COLUMNS}, id FROM orders WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = tx
        .query(&sql, params![after.unwrap_or(0), i64::from(limit) + 1])
        .await?;
    let more = rows.len() > limit as usize;
    let rows = &rows[..rows.len().min(limit as usize)];
    let orders = rows.iter().map(summary).collect::<Result<Vec<_>>>()?;
    let next = match (more, rows.last()) {
        (true, Some(last)) => Some(last.i64(8)?.to_string()),
        _ => None,
    };
    Ok(OrderPage { orders, next })
}

pub async fn order_detail<T: Tx>(tx: &mut T, order_ref: &str) -> Result<OrderDetail> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, subtotal_q, discount_q, handle, received_at FROM orders \
         WHERE order_ref = $1"
    );
    let row = tx
        .query_opt(&sql, params![order_ref])
        .await?
        .ok_or_else(|| Error::not_found(format!("order {order_ref}")))?;
    let lines = tx
        .query(
            "SELECT line_no, sku, name, unit_price_q, qty, discount_q, total_q, is_unique, status \
             FROM order_lines WHERE order_ref = $1 ORDER BY line_no",
            params![order_ref],
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
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let events = tx
        .query(
            "SELECT event_id, kind, line_no, from_status, to_status, actor, at, reason \
             FROM order_events WHERE order_ref = $1 ORDER BY id",
            params![order_ref],
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
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(OrderDetail {
        summary: summary(&row)?,
        subtotal_q: row.i64(8)?,
        discount_q: row.i64(9)?,
        handle: row.opt_text(10)?,
        received_at: row.text(11)?,
        lines,
        events,
    })
}

async fn stock_items<T: Tx>(tx: &mut T, only_short: bool) -> Result<Vec<StockItem>> {
    let sql = format!(
        "SELECT s.sku, s.location, s.on_hand, p.name FROM stock_levels s \
         LEFT JOIN products p ON p.sku = s.sku {} ORDER BY s.sku, s.location",
        if only_short {
            "WHERE s.on_hand < 0"
        } else {
            ""
        }
    );
    tx.query(&sql, params![])
        .await?
        .iter()
        .map(|r| {
            Ok(StockItem {
                sku: r.text(0)?,
                location: r.text(1)?,
                on_hand: r.i64(2)?,
                name: r.opt_text(3)?,
            })
        })
        .collect()
}

pub async fn stock<T: Tx>(tx: &mut T) -> Result<StockList> {
    Ok(StockList {
        items: stock_items(tx, false).await?,
    })
}

pub async fn alerts<T: Tx>(tx: &mut T) -> Result<Alerts> {
    let shortages = stock_items(tx, true).await?;
    let rows = tx
        .query(
            "SELECT l.sku, o.order_ref FROM order_lines l JOIN orders o ON o.order_ref = l.order_ref \
             WHERE l.is_unique = 1 AND o.status <> 'cancelled' AND l.sku IN ( \
               SELECT l2.sku FROM order_lines l2 JOIN orders o2 ON o2.order_ref = l2.order_ref \
               WHERE l2.is_unique = 1 AND o2.status <> 'cancelled' \
               GROUP BY l2.sku HAVING COUNT(DISTINCT o2.order_ref) > 1) \
             ORDER BY l.sku, o.id",
            params![],
        )
        .await?;
    let mut conflicts: Vec<Conflict> = Vec::new();
    for r in &rows {
        let (sku, order_ref) = (r.text(0)?, r.text(1)?);
        match conflicts.last_mut() {
            Some(c) if c.sku == sku => {
                if !c.orders.contains(&order_ref) {
                    c.orders.push(order_ref)
                }
            }
            _ => conflicts.push(Conflict {
                sku,
                orders: vec![order_ref],
            }),
        }
    }
    let rejected = tx
        .query(
            "SELECT terminal_id, seq, event_id, kind, reason, received_at FROM inbox \
             WHERE outcome = 'rejected' ORDER BY received_at DESC, seq DESC LIMIT 1000",
            params![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(RejectedEvent {
                terminal_id: r.text(0)?,
                seq: r.i64(1)?,
                event_id: r.text(2)?,
                kind: r.text(3)?,
                reason: r.opt_text(4)?,
                received_at: r.text(5)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Alerts {
        shortages,
        conflicts,
        rejected,
    })
}
