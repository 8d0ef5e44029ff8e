//! Applying one outbox event: orders, their events and stock deltas land in the tables.
//!
//! Every check runs before the first write, so an event is either applied whole or
//! rejected with a reason and leaves no trace but its inbox row (rule 7).

use std::collections::BTreeSet;

use tillbook_protocol::events::{
    EventKind, EventPayload, OrderCommitted, OrderItemStatusChanged, OrderStatusChanged, StockDelta,
};
use tillbook_protocol::sync::OutboxEvent;
use uuid::Uuid;

use crate::error::Result;
use crate::params;
use crate::service::stock::{product_exists, StockBatch};
use crate::storage::sql::{now_text, timestamp_text, Tx};

/// `None` when applied, `Some(reason)` when the event is a business rejection.
pub type Verdict = Option<String>;

pub async fn apply<T: Tx>(
    tx: &mut T,
    terminal: Uuid,
    ev: &OutboxEvent,
    batch: &mut StockBatch,
) -> Result<Verdict> {
    let Some(kind) = EventKind::parse(&ev.kind) else {
        return Ok(Some(format!("unknown event kind {:?}", ev.kind)));
    };
    let payload = match EventPayload::from_value(kind, ev.payload.clone()) {
        Ok(p) => p,
        Err(e) => return Ok(Some(format!("undecodable {} payload: {e}", ev.kind))),
    };
    if let Some(reason) = check_deltas(tx, payload.stock_deltas()).await? {
        return Ok(Some(reason));
    }
    let verdict = match &payload {
        EventPayload::OrderCommitted(o) => commit_order(tx, terminal, ev.event_id, o).await?,
        EventPayload::OrderStatusChanged(c) => change_status(tx, terminal, ev.event_id, c).await?,
        EventPayload::OrderItemStatusChanged(c) => {
            change_item(tx, terminal, ev.event_id, c).await?
        }
        EventPayload::StockAdjusted(_) => None,
    };
    if verdict.is_some() {
        return Ok(verdict);
    }
    for d in payload.stock_deltas() {
        batch
            .record(tx, d, Some(terminal), Some(ev.event_id))
            .await?;
    }
    Ok(None)
}

async fn check_deltas<T: Tx>(tx: &mut T, deltas: &[StockDelta]) -> Result<Verdict> {
    let mut ids = BTreeSet::new();
    let mut known = BTreeSet::new();
    for d in deltas {
        if d.sku.trim().is_empty() || d.location.trim().is_empty() {
            return Ok(Some(format!(
                "stock delta {} has an empty sku or location",
                d.delta_id
            )));
        }
        if !ids.insert(d.delta_id) {
            return Ok(Some(format!("stock delta {} appears twice", d.delta_id)));
        }
        if !known.contains(&d.sku) {
            if !product_exists(tx, &d.sku).await? {
                return Ok(Some(format!("unknown sku {}", d.sku)));
            }
            known.insert(d.sku.clone());
        }
        let used = tx
            .query_opt(
                "SELECT 1 FROM stock_ledger WHERE delta_id = $1",
                params![d.delta_id],
            )
            .await?;
        if used.is_some() {
            return Ok(Some(format!(
                "stock delta {} was already recorded",
                d.delta_id
            )));
        }
    }
    Ok(None)
}

/// The order's owning terminal and status, if the server knows it.
async fn order_owner<T: Tx>(tx: &mut T, order_ref: &str) -> Result<Option<(String, String)>> {
    let row = tx
        .query_opt(
            "SELECT terminal_id, status FROM orders WHERE order_ref = $1",
            params![order_ref],
        )
        .await?;
    row.map(|r| Ok((r.text(0)?, r.text(1)?))).transpose()
}

async fn owned_order<T: Tx>(tx: &mut T, terminal: Uuid, order_ref: &str) -> Result<Verdict> {
    match order_owner(tx, order_ref).await? {
        None => Ok(Some(format!("unknown order {order_ref}"))),
        Some((owner, _)) if owner != terminal.to_string() => Ok(Some(format!(
            "order {order_ref} belongs to another terminal"
        ))),
        Some(_) => Ok(None),
    }
}

async fn commit_order<T: Tx>(
    tx: &mut T,
    terminal: Uuid,
    event_id: Uuid,
    o: &OrderCommitted,
) -> Result<Verdict> {
    if o.order_ref.trim().is_empty() {
        return Ok(Some("order_ref is empty".into()));
    }
    if o.lines.is_empty() {
        return Ok(Some(format!("order {} has no lines", o.order_ref)));
    }
    let mut line_nos = BTreeSet::new();
    if let Some(l) = o.lines.iter().find(|l| !line_nos.insert(l.line_no)) {
        return Ok(Some(format!(
            "order {} repeats line {}",
            o.order_ref, l.line_no
        )));
    }
    if order_owner(tx, &o.order_ref).await?.is_some() {
        return Ok(Some(format!(
            "order {} already exists (from another event)",
            o.order_ref
        )));
    }
    tx.exec(
        "INSERT INTO orders (order_ref, terminal_id, event_id, channel, status, currency, \
         subtotal_q, discount_q, total_q, business_date, committed_at, handle, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        params![
            &o.order_ref,
            terminal,
            event_id,
            &o.channel,
            &o.status,
            &o.currency,
            o.subtotal_q,
            o.discount_q,
            o.total_q,
            o.business_date.to_string(),
            timestamp_text(o.committed_at),
            o.handle.clone(),
            now_text()
        ],
    )
    .await?;
    for l in &o.lines {
        tx.exec(
            "INSERT INTO order_lines (order_ref, line_no, sku, name, unit_price_q, qty, discount_q, \
             total_q, is_unique) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![
                &o.order_ref,
                i64::from(l.line_no),
                &l.sku,
                &l.name,
                l.unit_price_q,
                l.qty,
                l.discount_q,
                l.total_q,
                l.unique
            ],
        )
        .await?;
    }
    let actor = format!("terminal:{terminal}");
    let at = timestamp_text(o.committed_at);
    record_event(
        tx,
        &o.order_ref,
        event_id,
        "order.committed",
        None,
        None,
        Some(&o.status),
        &actor,
        &at,
        None,
    )
    .await?;
    Ok(None)
}

async fn change_status<T: Tx>(
    tx: &mut T,
    terminal: Uuid,
    event_id: Uuid,
    c: &OrderStatusChanged,
) -> Result<Verdict> {
    if let Some(reason) = owned_order(tx, terminal, &c.order_ref).await? {
        return Ok(Some(reason));
    }
    tx.exec(
        "UPDATE orders SET status = $1 WHERE order_ref = $2",
        params![&c.to, &c.order_ref],
    )
    .await?;
    let at = timestamp_text(c.at);
    record_event(
        tx,
        &c.order_ref,
        event_id,
        "order.status_changed",
        None,
        Some(&c.from),
        Some(&c.to),
        &c.actor,
        &at,
        c.reason.as_deref(),
    )
    .await?;
    Ok(None)
}

async fn change_item<T: Tx>(
    tx: &mut T,
    terminal: Uuid,
    event_id: Uuid,
    c: &OrderItemStatusChanged,
) -> Result<Verdict> {
    if let Some(reason) = owned_order(tx, terminal, &c.order_ref).await? {
        return Ok(Some(reason));
    }
    let line_no = i64::from(c.line_no);
    let changed = tx
        .exec(
            "UPDATE order_lines SET status = $1 WHERE order_ref = $2 AND line_no = $3",
            params![&c.to, &c.order_ref, line_no],
        )
        .await?;
    if changed == 0 {
        return Ok(Some(format!(
            "order {} has no line {}",
            c.order_ref, c.line_no
        )));
    }
    let at = timestamp_text(c.at);
    record_event(
        tx,
        &c.order_ref,
        event_id,
        "order.item_status_changed",
        Some(line_no),
        c.from.as_deref(),
        Some(&c.to),
        &c.actor,
        &at,
        None,
    )
    .await?;
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
async fn record_event<T: Tx>(
    tx: &mut T,
    order_ref: &str,
    event_id: Uuid,
    kind: &str,
    line_no: Option<i64>,
    from: Option<&str>,
    to: Option<&str>,
    actor: &str,
    at: &str,
    reason: Option<&str>,
) -> Result<()> {
    tx.exec(
        "INSERT INTO order_events (order_ref, event_id, kind, line_no, from_status, to_status, \
         actor, at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![order_ref, event_id, kind, line_no, from, to, actor, at, reason],
    )
    .await?;
    Ok(())
}
