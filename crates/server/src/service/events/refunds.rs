//! `refund.recorded` applied to a [`Page`]: money back on a paid order of the store, checked
//! against the server's sums (the order's, each payment's, each line's), then the queued
//! rows (see [`super::payments`] for how the sums are kept and locked).

use tillbook_protocol::events::RefundRecorded;
use tillbook_protocol::tax;
use uuid::Uuid;

use super::payments::{store_order, PAYMENT_REFUNDED, REFUNDED};
use super::{Page, Who, LINE_REFUNDED};
use crate::error::Result;
use crate::params;
use crate::service::validate::Verdict;
use crate::storage::sql::{timestamp_text, Tx, Val};

/// `refund.recorded`: money back on a paid order of the store, through its approved
/// payments, by line (each line's pro-rata share) or by amount; never more than was paid.
pub(super) async fn refund<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    r: &RefundRecorded,
) -> Result<Verdict> {
    if let Some(why) = check_refund(page, r) {
        return Ok(Some(why));
    }
    let id = r.refund_id;
    let store = page.store_id;
    page.money.refund_rows.push([
        Val::from(id),
        Val::from(store),
        Val::from(r.order_id),
        Val::from(page.terminal.as_str()),
        Val::from(event_id),
        Val::from(&r.idempotency_key),
        Val::from(&r.currency),
        Val::from(r.amount_q),
        Val::from(r.restock),
        Val::from(r.reason.clone()),
        Val::from(r.business_date.to_string()),
        Val::from(timestamp_text(r.at)),
        Val::from(&r.actor),
        Val::from(r.shift_id.map(|s| s.to_string())),
        Val::from(r.staff_id.map(|s| s.to_string())),
        Val::from(r.approved_by.map(|s| s.to_string())),
    ]);
    page.money.used_refunds.insert(id);
    page.money
        .keys
        .insert((r.order_id, r.idempotency_key.clone()));
    for t in &r.tenders {
        page.money.tender_rows.push([
            Val::from(store),
            Val::from(id),
            Val::from(t.payment_id),
            Val::from(&t.method),
            Val::from(t.amount_q),
            Val::from(t.reference.clone()),
        ]);
        let p = page
            .money
            .payments
            .get_mut(&t.payment_id)
            .expect("checked above");
        p.refunded_q += t.amount_q;
        let refunded = p.refunded_q;
        match page.money.queued.get(&t.payment_id) {
            Some(row) => page
                .money
                .payment_rows
                .set(*row, PAYMENT_REFUNDED, Val::from(refunded)),
            None => {
                tx.exec(
                    "UPDATE payments SET refunded_q = $1 WHERE payment_id = $2",
                    params![refunded, t.payment_id],
                )
                .await?;
            }
        }
    }
    let queued_lines = page.pending.get(&r.order_id).map(|q| q.lines.clone());
    let order = page.orders.get_mut(&r.order_id).expect("checked above");
    let mut updates = Vec::new();
    for l in &r.lines {
        page.money.line_rows.push([
            Val::from(store),
            Val::from(id),
            Val::from(i64::from(l.line_no)),
            Val::from(l.qty),
            Val::from(l.amount_q),
        ]);
        let n = i64::from(l.line_no);
        let line = order.lines.get_mut(&n).expect("checked above");
        line.refunded_qty += l.qty;
        match queued_lines.as_ref().and_then(|q| q.get(&n)) {
            Some(row) => page
                .lines
                .set(*row, LINE_REFUNDED, Val::from(line.refunded_qty)),
            None => updates.push((n, line.refunded_qty)),
        }
    }
    order.refunded_q += r.amount_q;
    let full = order.refunded_q == order.paid_q && order.paid_q >= order.total_q;
    let from = order.status.clone();
    let touched: Vec<String> = if full && from != REFUNDED {
        order.status = REFUNDED.to_string();
        order
            .lines
            .values()
            .filter(|l| l.unique)
            .map(|l| l.sku.clone())
            .collect()
    } else {
        Vec::new()
    };
    for (n, qty) in updates {
        tx.exec(
            "UPDATE order_lines SET refunded_qty = $1 WHERE order_id = $2 AND line_no = $3",
            params![qty, r.order_id, n],
        )
        .await?;
    }
    store_order(tx, page, r.order_id).await?;
    if full && from != REFUNDED {
        // The till applies the same rule: the order's last refund moves it, no event of its own.
        page.record_event(
            r.order_id,
            event_id,
            "order.status_changed",
            None,
            Some(&from),
            Some(REFUNDED),
            Some(&r.actor),
            &timestamp_text(r.at),
            Some("fully refunded"),
            Who {
                staff_id: r.staff_id,
                approved_by: r.approved_by,
            },
        );
        page.unique_touched.extend(touched);
    }
    Ok(None)
}

/// Everything a refund is checked against: the order, what is left of what was paid, of
/// each payment and of each line, and the stock it gives back.
fn check_refund(page: &Page, r: &RefundRecorded) -> Verdict {
    let id = r.refund_id;
    if page.money.used_refunds.contains(&id) {
        return Some(format!("refund {id} was already recorded"));
    }
    let order = match page.order_in_store(r.order_id, &r.order_ref) {
        Ok(o) => o,
        Err(reason) => return Some(format!("refund on {reason}")),
    };
    let name = &order.order_ref;
    if r.currency != order.currency {
        return Some(format!(
            "refund in {} on order {name}, which is in {}",
            r.currency, order.currency
        ));
    }
    if page
        .money
        .keys
        .contains(&(r.order_id, r.idempotency_key.clone()))
    {
        return Some(format!(
            "refund key {:?} was already used on order {name}",
            r.idempotency_key
        ));
    }
    if order.paid_q <= 0 {
        return Some(format!("refund on an unpaid order ({name})"));
    }
    let left = order.paid_q - order.refunded_q;
    if r.amount_q > left {
        return Some(format!(
            "refund above what was paid: {} on order {name}, which has {left} left of {} paid",
            r.amount_q, order.paid_q
        ));
    }
    for t in &r.tenders {
        let pid = t.payment_id;
        let Some(p) = page
            .money
            .payments
            .get(&pid)
            .filter(|p| p.order_id == r.order_id && p.approved)
        else {
            return Some(format!(
                "refund {id}: payment {pid} is not an approved payment of order {name}"
            ));
        };
        if p.method != t.method {
            return Some(format!(
                "refund {id}: payment {pid} was {}, not {}",
                p.method, t.method
            ));
        }
        let p_left = p.amount_q - p.refunded_q;
        if t.amount_q > p_left {
            return Some(format!(
                "refund {id}: {} through payment {pid}, which has {p_left} left of {}",
                t.amount_q, p.amount_q
            ));
        }
    }
    let mut want_stock = Vec::new();
    for l in &r.lines {
        let n = l.line_no;
        let Some(line) = order.lines.get(&i64::from(n)) else {
            return Some(format!("refund {id}: order {name} has no line {n}"));
        };
        let l_left = line.qty - line.refunded_qty;
        if l.qty > l_left {
            return Some(format!(
                "refund {id}: {} of line {n} of order {name}, which has {l_left} left of {} sold",
                l.qty, line.qty
            ));
        }
        let done = line.refunded_qty;
        let want = tax::pro_rata(line.gross_q, line.qty, done, done + l.qty);
        if want != Some(l.amount_q) {
            return Some(format!(
                "refund {id}: line {n} gives back {}, not {} (units {done}..{} of {} for {})",
                l.amount_q,
                want.unwrap_or(0),
                done + l.qty,
                line.qty,
                line.gross_q
            ));
        }
        if r.restock {
            want_stock.push((line.sku.clone(), l.qty));
        }
    }
    let mut got: Vec<(String, i64)> = r
        .stock_deltas
        .iter()
        .map(|d| (d.sku.clone(), d.delta))
        .collect();
    want_stock.sort();
    got.sort();
    if got != want_stock {
        return Some(format!(
            "refund {id}: its stock deltas are not one per refunded line's SKU and quantity{}",
            if r.restock { "" } else { " (no restock: none)" }
        ));
    }
    None
}
