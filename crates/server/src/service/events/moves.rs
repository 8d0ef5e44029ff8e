//! The three order events applied to a [`Page`]: a commit, a status move, an item move.
//! Each checks against the page's view of the server's state, then queues its rows.

use std::collections::BTreeMap;

use tillbook_protocol::channel::Flow;
use tillbook_protocol::events::{OrderCommitted, OrderItemStatusChanged, OrderStatusChanged};
use tillbook_protocol::tax;
use uuid::Uuid;

use super::{LineState, OrderState, Page, Queued, Who, DEAD_STATUSES};
use crate::error::Result;
use crate::params;
use crate::service::validate::{self, Fits, Verdict, FINAL_ITEM_STATUSES};
use crate::storage::sql::{timestamp_text, Tx, Val};

pub(super) fn commit_order(page: &mut Page, event_id: Uuid, o: &OrderCommitted) -> Verdict {
    let Some(flow) = page.flows.get(&o.channel) else {
        return Some(format!(
            "order {}: unknown channel {}",
            o.order_ref, o.channel
        ));
    };
    if o.status != flow.initial {
        return Some(format!(
            "order {} starts in status {}, but channel {} starts orders in {}",
            o.order_ref, o.status, o.channel, flow.initial
        ));
    }
    if page.orders.contains_key(&o.order_id) {
        return Some(format!(
            "order {} already exists (from another event)",
            o.order_id
        ));
    }
    if let Some(other) = page.refs.get(&o.order_ref) {
        return Some(format!(
            "order reference {} already exists on this terminal (order {other})",
            o.order_ref
        ));
    }
    let at = timestamp_text(o.committed_at);
    let mut queued = Queued {
        row: page.order_rows.len(),
        lines: BTreeMap::new(),
    };
    page.order_rows.push([
        Val::from(o.order_id),
        Val::from(page.store_id),
        // The feed position, given under the store's lock.
        Val::Int(None),
        Val::from(&o.order_ref),
        Val::from(page.terminal.as_str()),
        Val::from(event_id),
        Val::from(&o.channel),
        Val::from(&o.status),
        Val::from(&o.currency),
        Val::from(o.subtotal_q),
        Val::from(o.discount_q),
        Val::from(o.total_q),
        Val::from(o.business_date.to_string()),
        Val::from(at.as_str()),
        Val::from(o.handle.clone()),
        Val::from(page.received_at.as_str()),
        // What its `order.committed` event would say: the back office synthesizes it.
        Val::from(&o.status),
        Val::from(o.tax_mode.map(|m| m.as_str())),
        Val::from(o.tax_q),
        // Paid and refunded: patched by the page's payments and refunds while queued.
        Val::from(0i64),
        Val::from(0i64),
        // The lines' own discounts, for the daily report (bounded: each is within its line).
        Val::from(
            o.lines
                .iter()
                .fold(0i64, |a, l| a.saturating_add(l.discount_q)),
        ),
        Val::from(o.shift_id.map(|u| u.to_string())),
        Val::from(o.staff_id.map(|u| u.to_string())),
        Val::from(o.approved_by.map(|u| u.to_string())),
        Val::from(o.actor.clone()),
    ]);
    let mut lines = BTreeMap::new();
    for l in &o.lines {
        // One of a kind by the server's catalog, whatever the till's line says.
        let unique = page.skus.get(&l.sku).copied().unwrap_or(false);
        // The checks made sure it fits: the order's total is the sum of the lines' gross.
        let gross =
            tax::line_gross(o.tax_mode, l.total_q, l.order_discount_q, l.tax_q).unwrap_or(0);
        queued.lines.insert(i64::from(l.line_no), page.lines.len());
        page.lines.push([
            Val::from(page.store_id),
            Val::from(o.order_id),
            Val::from(i64::from(l.line_no)),
            Val::from(&l.sku),
            Val::from(&l.name),
            Val::from(l.unit_price_q),
            Val::from(l.qty),
            Val::from(l.discount_q),
            Val::from(l.total_q),
            Val::from(unique),
            Val::from(l.tax_rate_bp),
            Val::from(l.order_discount_q),
            Val::from(l.tax_q),
            Val::from(0i64),
            Val::from(o.business_date.to_string()),
            Val::from(gross),
            Val::from(l.category.clone()),
        ]);
        if unique {
            // The sale ends this terminal's holds of it, even when another order sold it.
            page.unique_touched.insert(l.sku.clone());
            page.holds.sold(&l.sku);
        }
        lines.insert(
            i64::from(l.line_no),
            LineState {
                sku: l.sku.clone(),
                unique,
                status: None,
                qty: l.qty,
                gross_q: gross,
                refunded_qty: 0,
            },
        );
    }
    page.orders.insert(
        o.order_id,
        OrderState {
            store_id: page.store_id,
            order_ref: o.order_ref.clone(),
            channel: o.channel.clone(),
            status: o.status.clone(),
            currency: o.currency.clone(),
            total_q: o.total_q,
            paid_q: 0,
            refunded_q: 0,
            lines,
        },
    );
    page.refs.insert(o.order_ref.clone(), o.order_id);
    page.pending.insert(o.order_id, queued);
    None
}

/// An order whose items are all final completes by itself (cancelled when every item was
/// cancelled), from any status that does not end it: judged from the items as the server has
/// them, never from the till's word.
fn completes_by_itself(order: &OrderState, flow: &Flow, from: &str, to: &str) -> bool {
    let finals = |l: &LineState| {
        l.status
            .as_deref()
            .is_some_and(|s| FINAL_ITEM_STATUSES.contains(&s))
    };
    if flow.is_terminal(from) || order.lines.is_empty() || !order.lines.values().all(finals) {
        return false;
    }
    let all_cancelled = order
        .lines
        .values()
        .all(|l| l.status.as_deref() == Some("cancelled"));
    to == if all_cancelled {
        flow.cancelled.as_str()
    } else {
        flow.completed.as_str()
    }
}

pub(super) async fn change_status<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    c: &OrderStatusChanged,
) -> Result<Verdict> {
    let order = match page.order_in_store(c.order_id, &c.order_ref) {
        Ok(o) => o,
        Err(reason) => return Ok(Some(reason)),
    };
    let name = &order.order_ref;
    let Some(flow) = page.flows.get(&order.channel) else {
        return Ok(Some(format!(
            "order {name}: unknown channel {}",
            order.channel
        )));
    };
    if order.status != c.from {
        return Ok(Some(format!(
            "order {name} is {}, not {}",
            order.status, c.from
        )));
    }
    if !flow.allows(&c.from, &c.to) && !completes_by_itself(order, flow, &c.from, &c.to) {
        return Ok(Some(format!(
            "channel {} does not allow order {name} to move from {} to {}",
            order.channel, c.from, c.to
        )));
    }
    let fits = if c.to == flow.cancelled {
        Fits::GiveBack { refund: false }
    } else if c.to == "refunded" {
        Fits::GiveBack { refund: true }
    } else {
        Fits::Nothing
    };
    if let Some(reason) = validate::deltas(&c.stock_deltas, fits) {
        return Ok(Some(reason));
    }
    let cancels = c.to == flow.cancelled;
    let dead = DEAD_STATUSES.contains(&c.to.as_str()) || cancels;
    let touched: Vec<String> = if dead {
        order
            .lines
            .values()
            .filter(|l| l.unique)
            .map(|l| l.sku.clone())
            .collect()
    } else {
        Vec::new()
    };
    if page.pending.contains_key(&c.order_id) {
        page.flush_orders(tx).await?;
        if page.conflict {
            // Nothing more may run before the rollback.
            return Ok(None);
        }
    }
    tx.exec(
        "UPDATE orders SET status = $1 WHERE order_id = $2",
        params![&c.to, c.order_id],
    )
    .await?;
    if cancels {
        // A cancellation counts in the figures of the shift it happened in only.
        tx.exec(
            "UPDATE orders SET cancelled_shift_id = $1 WHERE order_id = $2",
            params![c.shift_id.map(|s| s.to_string()), c.order_id],
        )
        .await?;
        // The daily report reads the day's live lines by this flag (one index range).
        tx.exec(
            "UPDATE order_lines SET order_cancelled = 1 WHERE order_id = $1",
            params![c.order_id],
        )
        .await?;
    }
    let at = timestamp_text(c.at);
    page.record_event(
        c.order_id,
        event_id,
        "order.status_changed",
        None,
        Some(&c.from),
        Some(&c.to),
        Some(&c.actor),
        &at,
        c.reason.as_deref(),
        Who {
            staff_id: c.staff_id,
            approved_by: c.approved_by,
        },
    );
    page.unique_touched.extend(touched);
    if let Some(o) = page.orders.get_mut(&c.order_id) {
        o.status = c.to.clone();
    }
    Ok(None)
}

pub(super) async fn change_item<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    c: &OrderItemStatusChanged,
) -> Result<Verdict> {
    let order = match page.order_in_store(c.order_id, &c.order_ref) {
        Ok(o) => o,
        Err(reason) => return Ok(Some(reason)),
    };
    let name = &order.order_ref;
    let line_no = i64::from(c.line_no);
    let Some(line) = order.lines.get(&line_no) else {
        return Ok(Some(format!("order {name} has no line {}", c.line_no)));
    };
    let current = line.status.as_deref();
    if let Some(cur) = current.filter(|s| FINAL_ITEM_STATUSES.contains(s)) {
        return Ok(Some(format!(
            "line {} of order {name} is already {cur}",
            c.line_no
        )));
    }
    if current != c.from.as_deref() {
        return Ok(Some(format!(
            "line {} of order {name} is {}, not {}",
            c.line_no,
            current.unwrap_or("without a status"),
            c.from.as_deref().unwrap_or("without a status")
        )));
    }
    let touched = (c.to == "cancelled" && line.unique).then(|| line.sku.clone());
    if page.pending.contains_key(&c.order_id) {
        page.flush_orders(tx).await?;
        if page.conflict {
            // Nothing more may run before the rollback.
            return Ok(None);
        }
    }
    tx.exec(
        "UPDATE order_lines SET status = $1 WHERE order_id = $2 AND line_no = $3",
        params![&c.to, c.order_id, line_no],
    )
    .await?;
    let at = timestamp_text(c.at);
    page.record_event(
        c.order_id,
        event_id,
        "order.item_status_changed",
        Some(line_no),
        c.from.as_deref(),
        Some(&c.to),
        Some(&c.actor),
        &at,
        None,
        Who {
            staff_id: c.staff_id,
            approved_by: None,
        },
    );
    page.unique_touched.extend(touched);
    if let Some(l) = page
        .orders
        .get_mut(&c.order_id)
        .and_then(|o| o.lines.get_mut(&line_no))
    {
        l.status = Some(c.to.clone());
    }
    Ok(None)
}
