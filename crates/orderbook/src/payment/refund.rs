//! Refunds: money given back on a paid order, by amount or by line, idempotent by key.
//!
//! A refund is allocated to the order's approved payments last paid first, each up to what it
//! paid less what was already given back through it. Cards taken through the payment backend
//! are refunded through it (with the payment's reference); cash comes out of the drawer and
//! other methods and external card terminals are refunded by the cashier: the book records
//! them.
//!
//! **Never more than was paid.** The whole refund runs in one IMMEDIATE transaction that
//! re-reads the order's sums, so two requests (two processes on one book) are serialised and
//! the second sees the first. The backend is asked inside that transaction, after the checks:
//! if it refuses, nothing is written (`refund_declined`); its idempotency key is the refund's
//! key and the payment's id, so a retry after a crash never gives the money back twice.
//!
//! **By line**, a quantity of a line gives back [`tax::pro_rata`] of the line's gross (its
//! total less its share of the order discount, plus its tax when prices exclude tax), so
//! refunding every unit in any number of steps gives back exactly the line's gross. With
//! `restock` the units go back on the shelf (stock deltas with reason `refund`).
//!
//! When the refunds reach the approved payments and those cover the total, the order becomes
//! `refunded` (an order event in the same transaction; the server applies the same rule to the
//! `refund.recorded` event, so it has no outbox row of its own).

use chrono::{DateTime, Local, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::events::{self, EventPayload, StockReason};
use tillbook_protocol::limits::{MAX_AMOUNT_Q, MAX_LINES, MAX_PAYMENTS};
use tillbook_protocol::tax::{self, TaxMode};
use uuid::Uuid;

use super::gateway::GatewayAnswer;
use super::PaymentStatus;
use crate::clock::{fmt_time, parse_time};
use crate::error::{err, Error, ErrorCode, Result};
use crate::staff::{self, permit};
use crate::{bounds, db, outbox, shift, stock, Book};
use tillbook_protocol::staff::Permission;

/// What a refund gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundBy {
    /// An amount in minor units.
    Amount(i64),
    /// Units of lines: `(line_no, qty)`.
    Lines(Vec<(i64, i64)>),
}

/// A refund request. The same `idempotency_key` with the same order, `by` and `restock`
/// returns the refund it made the first time.
///
/// The refund records the staff member acting and the open shift, read in its transaction:
/// `actor` is kept for compatibility and only checked for length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub by: RefundBy,
    /// Put refunded line units back in stock.
    pub restock: bool,
    pub idempotency_key: String,
    pub actor: String,
    pub reason: Option<String>,
}

/// What a refund gave back through one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundTenderView {
    pub payment_id: Uuid,
    pub method: String,
    pub amount_q: i64,
    /// The backend's reference for a card refund it made.
    pub reference: Option<String>,
}

/// Units of a line a refund gave back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundLineView {
    pub line_no: i64,
    pub qty: i64,
    pub amount_q: i64,
}

/// A refund as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundView {
    pub refund_id: Uuid,
    pub idempotency_key: String,
    pub amount_q: i64,
    pub restock: bool,
    pub reason: Option<String>,
    /// The staff member who gave it (name) and their id.
    pub actor: String,
    pub staff_id: Option<Uuid>,
    /// The manager whose PIN allowed it.
    pub approved_by: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub shift_id: Option<Uuid>,
    pub tenders: Vec<RefundTenderView>,
    pub lines: Vec<RefundLineView>,
}

/// What [`Book::refund`] did, and where the order stands after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundOutcome {
    #[serde(rename = "ref")]
    pub order_ref: String,
    #[serde(flatten)]
    pub refund: RefundView,
    /// True when this key had already made this refund: nothing new was written.
    pub replayed: bool,
    pub paid_q: i64,
    pub refunded_q: i64,
    pub payment_status: PaymentStatus,
    pub order_status: String,
}

fn uuid(text: Option<String>) -> Option<Uuid> {
    text.and_then(|t| Uuid::parse_str(&t).ok())
}

fn refund_view(conn: &Connection, refund_id: &str) -> Result<RefundView> {
    let mut v = conn
        .prepare_cached(
            "SELECT refund_id, idempotency_key, amount_q, restock, reason, actor, at, shift_id, staff_id, approved_by
             FROM refunds WHERE refund_id = ?1",
        )?
        .query_row([refund_id], |r| {
            let at: String = r.get(6)?;
            Ok(RefundView {
                refund_id: uuid(r.get(0)?).unwrap_or_default(),
                idempotency_key: r.get(1)?,
                amount_q: r.get(2)?,
                restock: r.get(3)?,
                reason: r.get(4)?,
                actor: r.get(5)?,
                staff_id: uuid(r.get(8)?),
                approved_by: uuid(r.get(9)?),
                at: parse_time(&at),
                shift_id: uuid(r.get(7)?),
                tenders: Vec::new(),
                lines: Vec::new(),
            })
        })?;
    v.tenders = conn
        .prepare_cached(
            "SELECT t.payment_id, t.method, t.amount_q, t.reference FROM refund_tenders t
             JOIN payments p ON p.payment_id = t.payment_id WHERE t.refund_id = ?1 ORDER BY p.rowid DESC",
        )?
        .query_map([refund_id], |r| {
            Ok(RefundTenderView { payment_id: uuid(r.get(0)?).unwrap_or_default(), method: r.get(1)?, amount_q: r.get(2)?, reference: r.get(3)? })
        })?
        .collect::<Result<_, _>>()?;
    v.lines = conn
        .prepare_cached("SELECT line_no, qty, amount_q FROM refund_lines WHERE refund_id = ?1 ORDER BY line_no")?
        .query_map([refund_id], |r| Ok(RefundLineView { line_no: r.get(0)?, qty: r.get(1)?, amount_q: r.get(2)? }))?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// Every refund of an order, oldest first.
pub(crate) fn refunds_of(conn: &Connection, order_ref: &str) -> Result<Vec<RefundView>> {
    let ids: Vec<String> = conn
        .prepare_cached("SELECT refund_id FROM refunds WHERE order_ref = ?1 ORDER BY rowid")?
        .query_map([order_ref], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.iter().map(|id| refund_view(conn, id)).collect()
}

/// The request as the key remembers it: order, what is given back (lines merged and sorted)
/// and restock. Actor, reason and shift may differ on a retry.
fn canonical(order_ref: &str, by: &RefundBy, restock: bool) -> String {
    let what = match by {
        RefundBy::Amount(a) => serde_json::json!({ "amount_q": a }),
        RefundBy::Lines(lines) => serde_json::json!({ "lines": lines }),
    };
    serde_json::json!({ "order_ref": order_ref, "by": what, "restock": restock }).to_string()
}

/// Checks the request's inputs; lines come back merged by line number and sorted.
fn check_request(req: &RefundRequest) -> Result<RefundBy> {
    let key = &req.idempotency_key;
    if key.trim().is_empty() || key.chars().count() > 200 || key.contains('\0') {
        return err(ErrorCode::InvalidArgument, "the idempotency key must be 1-200 characters, without NUL");
    }
    bounds::text("actor", &req.actor, bounds::MAX_CODE, false)?;
    if let Some(r) = &req.reason {
        bounds::text("reason", r, bounds::MAX_TEXT, true)?;
    }
    match &req.by {
        RefundBy::Amount(a) if !(1..=MAX_AMOUNT_Q).contains(a) => {
            err(ErrorCode::InvalidAmount, format!("a refund must be 1 to {MAX_AMOUNT_Q} (got {a})"))
        }
        RefundBy::Amount(a) => Ok(RefundBy::Amount(*a)),
        RefundBy::Lines(lines) => {
            if lines.is_empty() || lines.len() > MAX_LINES {
                return err(ErrorCode::InvalidArgument, format!("a refund by line names 1 to {MAX_LINES} lines"));
            }
            let mut merged: std::collections::BTreeMap<i64, i64> = Default::default();
            for (line_no, qty) in lines {
                bounds::qty(*qty)?;
                let q = merged.entry(*line_no).or_insert(0);
                *q = bounds::add(*q, *qty, "the quantity")?;
            }
            Ok(RefundBy::Lines(merged.into_iter().collect()))
        }
    }
}

struct OrderRow {
    order_id: Uuid,
    status: String,
    total_q: i64,
    paid_q: i64,
    refunded_q: i64,
    tax_mode: Option<TaxMode>,
}

fn order_row(conn: &Connection, order_ref: &str) -> Result<OrderRow> {
    conn.prepare_cached("SELECT order_id, status, total_q, paid_q, refunded_q, tax_mode FROM orders WHERE order_ref = ?1")?
        .query_row([order_ref], |r| {
            let mode: Option<String> = r.get(5)?;
            Ok(OrderRow {
                order_id: uuid(r.get(0)?).unwrap_or_default(),
                status: r.get(1)?,
                total_q: r.get(2)?,
                paid_q: r.get(3)?,
                refunded_q: r.get(4)?,
                tax_mode: mode.and_then(|m| TaxMode::parse(&m)),
            })
        })
        .optional()?
        .ok_or_else(|| Error::new(ErrorCode::UnknownOrder, format!("no order {order_ref:?}")))
}

/// A line to refund: its SKU, whether it is one of a kind, and the units and money.
struct LineRefund {
    line_no: i64,
    sku: String,
    unique: bool,
    qty: i64,
    amount_q: i64,
}

fn line_refunds(conn: &Connection, order_ref: &str, o: &OrderRow, lines: &[(i64, i64)]) -> Result<Vec<LineRefund>> {
    let mut out = Vec::with_capacity(lines.len());
    let mut stmt = conn.prepare_cached(
        "SELECT sku, is_unique, qty, total_q, order_discount_q, tax_q, refunded_qty FROM order_lines
         WHERE order_ref = ?1 AND line_no = ?2",
    )?;
    for (line_no, qty) in lines {
        let row: Option<(String, bool, i64, i64, i64, i64, i64)> = stmt
            .query_row(rusqlite::params![order_ref, line_no], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
            })
            .optional()?;
        let Some((sku, unique, sold, total_q, share_q, tax_q, refunded)) = row else {
            return err(ErrorCode::UnknownLine, format!("order {order_ref} has no line {line_no}"));
        };
        if *qty > sold - refunded {
            return err(
                ErrorCode::RefundExceedsSold,
                format!("line {line_no} sold {sold} and {refunded} were refunded: {qty} more cannot be refunded"),
            );
        }
        let gross = tax::line_gross(o.tax_mode, total_q, share_q, tax_q).ok_or_else(|| bounds::overflow("the line's gross"))?;
        let amount_q = tax::pro_rata(gross, sold, refunded, refunded + qty)
            .ok_or_else(|| Error::new(ErrorCode::InvalidAmount, format!("line {line_no} cannot be refunded pro rata")))?;
        out.push(LineRefund { line_no: *line_no, sku, unique, qty: *qty, amount_q });
    }
    Ok(out)
}

/// An approved payment's share of a refund.
struct Share {
    payment_id: String,
    method: String,
    amount_q: i64,
    payment_reference: Option<String>,
    via_backend: bool,
    reference: Option<String>,
}

/// Shares `amount_q` out over the approved payments, last paid first.
fn allocate(conn: &Connection, order_ref: &str, amount_q: i64) -> Result<Vec<Share>> {
    let mut stmt = conn.prepare_cached(
        "SELECT payment_id, method, amount_q - refunded_q, reference, via_backend FROM payments
         WHERE order_ref = ?1 AND outcome = 'approved' AND refunded_q < amount_q ORDER BY rowid DESC",
    )?;
    let rows = stmt.query_map([order_ref], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, bool>(4)?))
    })?;
    let mut left = amount_q;
    let mut out = Vec::new();
    for row in rows {
        if left == 0 {
            break;
        }
        let (payment_id, method, open, payment_reference, via_backend) = row?;
        let take = open.min(left);
        left -= take;
        out.push(Share { payment_id, method, amount_q: take, payment_reference, via_backend, reference: None });
    }
    if left > 0 {
        return err(ErrorCode::RefundExceedsPaid, format!("the payments of order {order_ref} cannot give back {amount_q}"));
    }
    Ok(out)
}

impl Book {
    /// Gives money back on a paid order (see the module).
    ///
    /// Errors (nothing written): `unknown_order`, `not_paid` (nothing was ever paid),
    /// `refund_exceeds_paid`, `invalid_amount`, `unknown_line`, `refund_exceeds_sold`,
    /// `invalid_quantity`, `idempotency_conflict` (the key made another refund),
    /// `refund_declined` (the backend refused a card refund), `invalid_argument`,
    /// `no_open_shift`, and without the `refund` permission `permission_denied`, `invalid_pin`,
    /// `pin_locked`. A replay (the same key and request) needs neither shift nor permission.
    pub fn refund(&mut self, order_ref: &str, request: RefundRequest) -> Result<RefundOutcome> {
        self.gated(|book| book.refund_once(order_ref, &request))
    }

    fn refund_once(&mut self, order_ref: &str, request: &RefundRequest) -> Result<RefundOutcome> {
        let by = check_request(request)?;
        let request_text = canonical(order_ref, &by, request.restock);
        let now = self.now();
        let location = self.settings.location.clone();
        let currency = self.settings.currency.clone();
        let tx = db::write_tx(&mut self.conn)?;

        let earlier: Option<(String, String, String)> = tx
            .prepare_cached("SELECT refund_id, order_ref, request FROM refunds WHERE idempotency_key = ?1")?
            .query_row([&request.idempotency_key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((refund_id, earlier_ref, earlier_text)) = earlier {
            if earlier_text != request_text {
                return err(
                    ErrorCode::IdempotencyConflict,
                    format!("idempotency key {:?} already made another refund (on {earlier_ref})", request.idempotency_key),
                );
            }
            let refund = refund_view(&tx, &refund_id)?;
            let o = order_row(&tx, order_ref)?;
            return Ok(outcome(order_ref, refund, true, &o));
        }

        let shift_id = shift::require_open(&tx, "a refund")?;
        let who = staff::who(&tx)?;
        let o = order_row(&tx, order_ref)?;
        if o.paid_q == 0 {
            return err(ErrorCode::NotPaid, format!("order {order_ref} has no approved payment to refund"));
        }
        let lines = match &by {
            RefundBy::Amount(_) => Vec::new(),
            RefundBy::Lines(l) => line_refunds(&tx, order_ref, &o, l)?,
        };
        let amount_q = match &by {
            RefundBy::Amount(a) => *a,
            RefundBy::Lines(_) => lines.iter().try_fold(0i64, |s, l| s.checked_add(l.amount_q)).ok_or_else(|| bounds::overflow("the refund"))?,
        };
        if amount_q <= 0 {
            return err(ErrorCode::InvalidAmount, "these units were sold for nothing: there is no money to give back");
        }
        let refundable = bounds::sub(o.paid_q, o.refunded_q, "what may be refunded")?;
        if amount_q > refundable {
            return err(
                ErrorCode::RefundExceedsPaid,
                format!("order {order_ref}: {amount_q} is more than the {refundable} paid and not yet refunded"),
            );
        }
        let count: i64 = tx.query_row("SELECT COUNT(*) FROM refunds WHERE order_ref = ?1", [order_ref], |r| r.get(0))?;
        if count as usize >= MAX_PAYMENTS {
            return err(ErrorCode::InvalidArgument, format!("an order carries at most {MAX_PAYMENTS} refunds"));
        }
        let mut shares = allocate(&tx, order_ref, amount_q)?;
        // The last check before money moves (the backend below).
        let approved_by = permit::authorize(&tx, &who, Permission::Refund, self.approval_pin.as_deref(), now)?;
        let (staff_text, approved_text) = (who.staff_id.to_string(), approved_by.map(|a| a.to_string()));
        for s in shares.iter_mut().filter(|s| s.via_backend) {
            let Some(reference) = &s.payment_reference else { continue };
            let key = format!("{}:{}", request.idempotency_key, s.payment_id);
            match self.backend.refund(reference, s.amount_q, &key) {
                GatewayAnswer::Approved { reference } => s.reference = Some(reference),
                GatewayAnswer::Declined { code } => {
                    return err(ErrorCode::RefundDeclined, format!("the card payment {} could not be refunded: {code}", s.payment_id))
                }
            }
        }

        let seq = outbox::next_seq(&tx)?;
        let refund_id = Uuid::now_v7();
        let business_date = now.with_timezone(&Local).date_naive();
        tx.prepare_cached(
            "INSERT INTO refunds(refund_id, idempotency_key, order_ref, amount_q, restock, reason, request, business_date,
                                 at, actor, shift_id, outbox_seq, staff_id, approved_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(rusqlite::params![
            refund_id.to_string(),
            request.idempotency_key,
            order_ref,
            amount_q,
            request.restock,
            request.reason,
            request_text,
            business_date.to_string(),
            fmt_time(now),
            who.name,
            shift_id.to_string(),
            seq,
            staff_text,
            approved_text
        ])?;
        let mut tenders = Vec::with_capacity(shares.len());
        for s in &shares {
            tx.prepare_cached(
                "INSERT INTO refund_tenders(refund_id, payment_id, method, amount_q, reference) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![refund_id.to_string(), s.payment_id, s.method, s.amount_q, s.reference])?;
            tx.prepare_cached("UPDATE payments SET refunded_q = refunded_q + ?2 WHERE payment_id = ?1")?
                .execute(rusqlite::params![s.payment_id, s.amount_q])?;
            tenders.push(events::RefundTender {
                payment_id: Uuid::parse_str(&s.payment_id).unwrap_or_default(),
                method: s.method.clone(),
                amount_q: s.amount_q,
                reference: s.reference.clone(),
            });
        }
        let mut wire_lines = Vec::with_capacity(lines.len());
        let mut deltas = Vec::new();
        for l in &lines {
            tx.prepare_cached("INSERT INTO refund_lines(refund_id, line_no, qty, amount_q) VALUES (?1, ?2, ?3, ?4)")?
                .execute(rusqlite::params![refund_id.to_string(), l.line_no, l.qty, l.amount_q])?;
            tx.prepare_cached("UPDATE order_lines SET refunded_qty = refunded_qty + ?3 WHERE order_ref = ?1 AND line_no = ?2")?
                .execute(rusqlite::params![order_ref, l.line_no, l.qty])?;
            wire_lines.push(events::RefundLine { line_no: l.line_no as u32, qty: l.qty, amount_q: l.amount_q });
            if request.restock {
                let back = stock::Movement {
                    sku: &l.sku,
                    location: &location,
                    delta: l.qty,
                    reason: StockReason::Refund,
                    source: order_ref,
                    at: now,
                    outbox_seq: Some(seq),
                    counted: None,
                };
                deltas.push(stock::record(&tx, back)?);
                if l.unique {
                    tx.execute("UPDATE products SET sold_by = NULL WHERE sku = ?1 AND sold_by = ?2", [&l.sku, order_ref])?;
                }
            }
        }
        let refunded_q = bounds::add(o.refunded_q, amount_q, "the amount refunded")?;
        tx.prepare_cached("UPDATE orders SET refunded_q = ?2 WHERE order_ref = ?1")?.execute(rusqlite::params![order_ref, refunded_q])?;
        let payload = EventPayload::RefundRecorded(events::RefundRecorded {
            refund_id,
            order_id: o.order_id,
            order_ref: order_ref.to_string(),
            idempotency_key: request.idempotency_key.clone(),
            currency,
            amount_q,
            tenders,
            lines: wire_lines,
            restock: request.restock,
            reason: request.reason.clone(),
            business_date,
            at: now,
            actor: who.name.clone(),
            shift_id: Some(shift_id),
            stock_deltas: deltas,
            staff_id: Some(who.staff_id),
            approved_by,
        });
        outbox::insert(&tx, seq, &payload, Some(order_ref), now)?;
        if refunded_q == o.paid_q && o.paid_q >= o.total_q && o.status != "refunded" {
            tx.execute("UPDATE orders SET status = 'refunded' WHERE order_ref = ?1", [order_ref])?;
            tx.execute(
                "INSERT INTO order_events(order_ref, kind, from_status, to_status, actor, reason, at, outbox_seq, staff_id,
                                          approved_by)
                 VALUES (?1, 'status_changed', ?2, 'refunded', ?3, 'fully refunded', ?4, ?5, ?6, ?7)",
                rusqlite::params![order_ref, o.status, who.name, fmt_time(now), seq, staff_text, approved_text],
            )?;
            // A refunded order no longer holds its one-of-a-kind items (as on the server).
            tx.execute("UPDATE products SET sold_by = NULL WHERE sold_by = ?1", [order_ref])?;
        }
        let refund = refund_view(&tx, &refund_id.to_string())?;
        let after = order_row(&tx, order_ref)?;
        tx.commit()?;
        Ok(outcome(order_ref, refund, false, &after))
    }
}

fn outcome(order_ref: &str, refund: RefundView, replayed: bool, o: &OrderRow) -> RefundOutcome {
    RefundOutcome {
        order_ref: order_ref.to_string(),
        refund,
        replayed,
        paid_q: o.paid_q,
        refunded_q: o.refunded_q,
        payment_status: PaymentStatus::of(o.total_q, o.paid_q, o.refunded_q),
        order_status: o.status.clone(),
    }
}
