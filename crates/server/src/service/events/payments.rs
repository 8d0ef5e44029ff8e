//! `payment.recorded` applied to a [`Page`] (and what `refund.recorded`, in
//! [`super::refunds`], shares with it): the checks against the server's state (the order,
//! its sums, its payments and lines), then the queued rows.
//!
//! An order's `paid_q` is the sum of its approved payments and `refunded_q` the sum of its
//! refunds, each kept in the transaction that records the payment or refund; a payment's
//! `refunded_q` and a line's `refunded_qty` likewise. The page locks the row of every order
//! its payments and refunds name before reading it ([`lock_orders`]), so two pages paying or
//! refunding one order are checked one after the other and never both take what is left.
//!
//! Payment and refund rows are queued like the page's other rows. An order the page created
//! itself is still queued when its payment comes: the queued order row (and line and
//! payment rows) are patched in place, so nothing waits for the store's lock; an order
//! already in the table is updated with its new sums at once.

use std::collections::{HashMap, HashSet};

use tillbook_protocol::events::{EventPayload, PaymentOutcome, PaymentRecorded};
use uuid::Uuid;

use super::{stored_uuid, Page, DEAD_STATUSES, ORDER_PAID, ORDER_REFUNDED, ORDER_STATUS};
use crate::error::Result;
use crate::params;
use crate::service::validate::Verdict;
use crate::storage::sql::{query_keys, timestamp_text, Rows, Tx, Val};

/// The status an order reaches when its refunds give back all that was paid for it.
pub const REFUNDED: &str = "refunded";

const PAYMENT_COLUMNS: &[&str] = &[
    "payment_id",
    "store_id",
    "order_id",
    "terminal_id",
    "event_id",
    "method",
    "outcome",
    "decline_code",
    "currency",
    "amount_q",
    "tendered_q",
    "change_q",
    "rounding_q",
    "fee_q",
    "refunded_q",
    "card_last4",
    "reference",
    "business_date",
    "at",
    "actor",
    "shift_id",
    "staff_id",
];
/// The `refunded_q` column of the queued payment rows.
pub(super) const PAYMENT_REFUNDED: usize = 14;
const REFUND_COLUMNS: &[&str] = &[
    "refund_id",
    "store_id",
    "order_id",
    "terminal_id",
    "event_id",
    "idempotency_key",
    "currency",
    "amount_q",
    "restock",
    "reason",
    "business_date",
    "at",
    "actor",
    "shift_id",
    "staff_id",
    "approved_by",
];
const TENDER_COLUMNS: &[&str] = &[
    "store_id",
    "refund_id",
    "payment_id",
    "method",
    "amount_q",
    "reference",
];
const REFUND_LINE_COLUMNS: &[&str] = &["store_id", "refund_id", "line_no", "qty", "amount_q"];

/// A payment as a refund's checks need it.
#[derive(Debug, Clone)]
pub(super) struct PaymentState {
    pub(super) order_id: Uuid,
    pub(super) method: String,
    pub(super) approved: bool,
    pub(super) amount_q: i64,
    pub(super) refunded_q: i64,
}

/// The page's payments and refunds: what their checks need, and their queued rows.
pub struct Money {
    /// Payments of the orders the page's refunds name, and those the page recorded.
    pub(super) payments: HashMap<Uuid, PaymentState>,
    /// Payment and refund ids already recorded: (checked) those the page's events bring
    /// that the tables hold, and those the page recorded.
    pub(super) used_payments: HashSet<Uuid>,
    pub(super) used_refunds: HashSet<Uuid>,
    /// `(order, idempotency key)` of the refunds of the orders the page's refunds name.
    pub(super) keys: HashSet<(Uuid, String)>,
    /// Queued payment rows by payment id (until flushed).
    pub(super) queued: HashMap<Uuid, usize>,
    pub(super) payment_rows: Rows,
    pub(super) refund_rows: Rows,
    pub(super) tender_rows: Rows,
    pub(super) line_rows: Rows,
}

fn money_orders<'a>(
    payloads: impl Iterator<Item = &'a EventPayload>,
    refunds_only: bool,
) -> Vec<Val> {
    let ids: std::collections::BTreeSet<Uuid> = payloads
        .filter_map(|p| match p {
            EventPayload::PaymentRecorded(p) if !refunds_only => Some(p.order_id),
            EventPayload::RefundRecorded(r) => Some(r.order_id),
            _ => None,
        })
        .collect();
    ids.into_iter().map(Val::from).collect()
}

/// Locks the rows of the orders the page's payments and refunds name, in id order (where the
/// engine has row locks; SQLite's transaction holds the whole database already).
pub async fn lock_orders<'a, T: Tx>(
    tx: &mut T,
    payloads: impl Iterator<Item = &'a EventPayload>,
) -> Result<()> {
    if T::FOR_UPDATE.is_empty() {
        return Ok(());
    }
    let keys = money_orders(payloads, false);
    if !keys.is_empty() {
        let sql = format!(
            "SELECT o.order_id FROM {{keys}} CROSS JOIN orders o WHERE o.order_id = k.column1 \
             ORDER BY o.order_id{} OF o",
            T::FOR_UPDATE
        );
        query_keys(tx, &sql, &[], "TEXT", &keys).await?;
    }
    Ok(())
}

impl Money {
    /// Reads the payments and refund keys of the orders the page's refunds name, and
    /// (checked) which payment and refund ids its events bring are taken.
    pub async fn prefetch<'a, T: Tx>(
        tx: &mut T,
        payloads: impl Iterator<Item = &'a EventPayload> + Clone,
        checked: bool,
    ) -> Result<Money> {
        let mut money = Money {
            payments: HashMap::new(),
            used_payments: HashSet::new(),
            used_refunds: HashSet::new(),
            keys: HashSet::new(),
            queued: HashMap::new(),
            payment_rows: Rows::new("payments", PAYMENT_COLUMNS),
            refund_rows: Rows::new("refunds", REFUND_COLUMNS),
            tender_rows: Rows::new("refund_tenders", TENDER_COLUMNS),
            line_rows: Rows::new("refund_lines", REFUND_LINE_COLUMNS),
        };
        let orders = money_orders(payloads.clone(), true);
        if !orders.is_empty() {
            for r in query_keys(
                tx,
                "SELECT p.payment_id, p.order_id, p.method, p.outcome, p.amount_q, p.refunded_q \
                 FROM {keys} CROSS JOIN payments p WHERE p.order_id = k.column1",
                &[],
                "TEXT",
                &orders,
            )
            .await?
            {
                money.payments.insert(
                    stored_uuid(&r.text(0)?)?,
                    PaymentState {
                        order_id: stored_uuid(&r.text(1)?)?,
                        method: r.text(2)?,
                        approved: r.text(3)? == PaymentOutcome::Approved.as_str(),
                        amount_q: r.i64(4)?,
                        refunded_q: r.i64(5)?,
                    },
                );
            }
            for r in query_keys(
                tx,
                "SELECT r.order_id, r.idempotency_key FROM {keys} CROSS JOIN refunds r \
                 WHERE r.order_id = k.column1",
                &[],
                "TEXT",
                &orders,
            )
            .await?
            {
                money.keys.insert((stored_uuid(&r.text(0)?)?, r.text(1)?));
            }
        }
        if checked {
            let (mut pays, mut refunds) = (Vec::new(), Vec::new());
            for p in payloads {
                match p {
                    EventPayload::PaymentRecorded(p) => pays.push(Val::from(p.payment_id)),
                    EventPayload::RefundRecorded(r) => refunds.push(Val::from(r.refund_id)),
                    _ => {}
                }
            }
            for (keys, sql, used) in [
                (
                    pays,
                    "SELECT p.payment_id FROM {keys} CROSS JOIN payments p WHERE p.payment_id = k.column1",
                    &mut money.used_payments,
                ),
                (
                    refunds,
                    "SELECT r.refund_id FROM {keys} CROSS JOIN refunds r WHERE r.refund_id = k.column1",
                    &mut money.used_refunds,
                ),
            ] {
                for r in query_keys(tx, sql, &[], "TEXT", &keys).await? {
                    used.insert(stored_uuid(&r.text(0)?)?);
                }
            }
        }
        Ok(money)
    }

    /// Inserts the queued rows; false when an optimistic page found a payment or refund id
    /// taken (roll back, apply it checked).
    pub async fn flush<T: Tx>(&mut self, tx: &mut T, checked: bool) -> Result<bool> {
        self.queued.clear();
        if checked {
            self.payment_rows.flush(tx).await?;
            self.refund_rows.flush(tx).await?;
        } else if !self.payment_rows.flush_new(tx, "").await?
            || !self.refund_rows.flush_new(tx, "").await?
        {
            return Ok(false);
        }
        self.tender_rows.flush(tx).await?;
        self.line_rows.flush(tx).await?;
        Ok(true)
    }
}

/// Sets an order's paid and refunded sums and status: in its queued row, or in the table.
pub(super) async fn store_order<T: Tx>(tx: &mut T, page: &mut Page, order_id: Uuid) -> Result<()> {
    let Some(o) = page.orders.get(&order_id) else {
        return Ok(());
    };
    let (paid, refunded, status) = (o.paid_q, o.refunded_q, o.status.clone());
    if let Some(q) = page.pending.get(&order_id) {
        let row = q.row;
        page.order_rows.set(row, ORDER_PAID, Val::from(paid));
        page.order_rows
            .set(row, ORDER_REFUNDED, Val::from(refunded));
        page.order_rows.set(row, ORDER_STATUS, Val::from(status));
    } else {
        tx.exec(
            "UPDATE orders SET paid_q = $1, refunded_q = $2, status = $3 WHERE order_id = $4",
            params![paid, refunded, status, order_id],
        )
        .await?;
    }
    Ok(())
}

/// Whether an order in `status` takes no more payments (cancelled or refunded).
fn dead(page: &Page, channel: &str, status: &str) -> bool {
    DEAD_STATUSES.contains(&status)
        || page
            .flows
            .get(channel)
            .is_some_and(|f| f.cancelled == status)
}

/// `payment.recorded`: an attempt on an open order of the store, in its currency; an
/// approved one never pays more than is due (cash handed over beyond it is change).
pub(super) async fn pay<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    p: &PaymentRecorded,
) -> Result<Verdict> {
    if page.money.used_payments.contains(&p.payment_id)
        || page.money.payments.contains_key(&p.payment_id)
    {
        return Ok(Some(format!(
            "payment {} was already recorded",
            p.payment_id
        )));
    }
    let order = match page.order_in_store(p.order_id, &p.order_ref) {
        Ok(o) => o,
        Err(reason) => return Ok(Some(format!("payment on {reason}"))),
    };
    let name = order.order_ref.clone();
    if p.currency != order.currency {
        return Ok(Some(format!(
            "payment in {} on order {name}, which is in {}",
            p.currency, order.currency
        )));
    }
    if dead(page, &order.channel, &order.status) {
        return Ok(Some(format!(
            "payment on a {} order ({name})",
            order.status
        )));
    }
    let approved = p.outcome == PaymentOutcome::Approved;
    let paid = if approved {
        let due = order.total_q.saturating_sub(order.paid_q);
        if p.amount_q > due {
            return Ok(Some(format!(
                "payment above what is due: {} on order {name}, which has {due} due (total {}, paid {})",
                p.amount_q, order.total_q, order.paid_q
            )));
        }
        order.paid_q + p.amount_q
    } else {
        order.paid_q
    };
    page.money
        .queued
        .insert(p.payment_id, page.money.payment_rows.len());
    page.money.payment_rows.push([
        Val::from(p.payment_id),
        Val::from(page.store_id),
        Val::from(p.order_id),
        Val::from(page.terminal.as_str()),
        Val::from(event_id),
        Val::from(&p.method),
        Val::from(p.outcome.as_str()),
        Val::from(p.decline_code.clone()),
        Val::from(&p.currency),
        Val::from(p.amount_q),
        Val::from(p.tendered_q),
        Val::from(p.change_q),
        Val::from(p.rounding_q),
        Val::from(p.fee_q),
        Val::from(0i64),
        Val::from(p.card_last4.clone()),
        Val::from(p.reference.clone()),
        Val::from(p.business_date.to_string()),
        Val::from(timestamp_text(p.at)),
        Val::from(&p.actor),
        Val::from(p.shift_id.map(|s| s.to_string())),
        Val::from(p.staff_id.map(|s| s.to_string())),
    ]);
    page.money.payments.insert(
        p.payment_id,
        PaymentState {
            order_id: p.order_id,
            method: p.method.clone(),
            approved,
            amount_q: p.amount_q,
            refunded_q: 0,
        },
    );
    if approved {
        if let Some(o) = page.orders.get_mut(&p.order_id) {
            o.paid_q = paid;
        }
        store_order(tx, page, p.order_id).await?;
    }
    Ok(None)
}
