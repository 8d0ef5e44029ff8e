//! Orders: immutable lines, a status that moves only along the channel's flow, item
//! statuses, and the audit log of every move.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::events::{self, EventPayload, StockDelta, StockReason};
use tillbook_protocol::tax::{TaxLine, TaxMode};
use uuid::Uuid;

use crate::channel::{self, Flow};
use crate::clock::{fmt_time, parse_time};
use crate::error::{err, Error, ErrorCode, Result};
use crate::outbox::{self, SyncState};
use crate::payment::{self, PaymentStatus, PaymentView, RefundView};
use crate::staff::{self, permit, Who};
use crate::{bounds, db, stock, Book};
use tillbook_protocol::staff::Permission;

/// Kitchen statuses an order line can carry.
pub const ITEM_STATUSES: [&str; 4] = ["processing", "ready", "delivered", "cancelled"];
/// Item statuses that end an item.
pub const ITEM_FINAL: [&str; 2] = ["delivered", "cancelled"];

/// An order in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderSummary {
    /// The order's global identity (UUIDv7 minted at commit).
    pub order_id: Uuid,
    #[serde(rename = "ref")]
    pub order_ref: String,
    pub status: String,
    pub channel: String,
    pub total_q: i64,
    pub currency: String,
    pub item_count: i64,
    pub handle: Option<String>,
    pub committed_at: DateTime<Utc>,
    pub sync_state: SyncState,
    pub paid_q: i64,
    pub refunded_q: i64,
    pub amount_due_q: i64,
    pub payment_status: PaymentStatus,
}

/// A line as sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLineView {
    pub line_no: i64,
    pub sku: String,
    pub name: String,
    pub unit_price_q: i64,
    pub qty: i64,
    pub discount_q: i64,
    pub total_q: i64,
    pub unique: bool,
    /// Whether the product was active when sold.
    pub product_active: bool,
    pub item_status: Option<String>,
    /// The line's tax rate in basis points (0: untaxed).
    pub tax_rate_bp: i64,
    /// The line's share of the order discount.
    pub order_discount_q: i64,
    pub tax_q: i64,
    /// Units of the line refunded since.
    pub refunded_qty: i64,
    /// The product's category when sold.
    pub category: Option<String>,
}

/// One entry of an order's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderEvent {
    pub kind: String,
    pub line_no: Option<i64>,
    pub from: Option<String>,
    pub to: String,
    /// The staff member's name, or `system`.
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// The staff member who did it (`None` for the system and events from before staff).
    pub staff_id: Option<Uuid>,
    /// The manager whose PIN allowed it.
    pub approved_by: Option<Uuid>,
}

/// A whole order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderView {
    /// The order's global identity (UUIDv7 minted at commit).
    pub order_id: Uuid,
    #[serde(rename = "ref")]
    pub order_ref: String,
    pub status: String,
    pub channel: String,
    pub currency: String,
    pub subtotal_q: i64,
    pub discount_q: i64,
    pub total_q: i64,
    pub item_count: i64,
    pub handle: Option<String>,
    pub note: Option<String>,
    pub session_key: String,
    pub business_date: String,
    pub committed_at: DateTime<Utc>,
    pub lines: Vec<OrderLineView>,
    pub events: Vec<OrderEvent>,
    pub sync_state: SyncState,
    pub sync_reason: Option<String>,
    /// Whether prices included tax; `None` for orders sold before taxes (untaxed).
    pub tax_mode: Option<TaxMode>,
    pub tax_q: i64,
    /// Per rate, ascending.
    pub taxes: Vec<TaxLine>,
    /// The sum of the approved payments.
    pub paid_q: i64,
    /// The sum of the refunds.
    pub refunded_q: i64,
    /// What is still due: the total less the approved payments, never negative.
    pub amount_due_q: i64,
    pub payment_status: PaymentStatus,
    /// When an unpaid order is cancelled (`None`: never).
    pub pay_by: Option<DateTime<Utc>>,
    /// Every payment attempt, approved or declined, in order.
    pub payments: Vec<PaymentView>,
    pub refunds: Vec<RefundView>,
    /// The shift it was sold in (`None` for orders from before shifts).
    pub shift_id: Option<Uuid>,
    /// Who sold it: the staff member's id and name (the receipt's cashier).
    pub staff_id: Option<Uuid>,
    pub cashier: Option<String>,
    /// The manager whose PIN allowed its discount.
    pub approved_by: Option<Uuid>,
}

const SUMMARY: &str =
    "order_ref, status, channel, total_q, currency, item_count, handle, committed_at, order_id, paid_q, refunded_q";

fn uuid_of(text: Option<String>) -> Uuid {
    uuid_opt(text).unwrap_or_default()
}

fn uuid_opt(text: Option<String>) -> Option<Uuid> {
    text.and_then(|t| Uuid::parse_str(&t).ok())
}

/// `approved_by` of a move to `to`: cancelling an order with approved payments needs
/// `cancel_paid` (or a manager's approval PIN).
fn cancel_approval(conn: &Connection, who: &Who, order_ref: &str, to: &str, flow: &Flow, pin: Option<&str>, now: DateTime<Utc>) -> Result<Option<Uuid>> {
    let paid: i64 = conn.query_row("SELECT paid_q FROM orders WHERE order_ref = ?1", [order_ref], |r| r.get(0))?;
    if to != flow.cancelled || paid == 0 {
        return Ok(None);
    }
    permit::authorize(conn, who, Permission::CancelPaid, pin, now)
}

fn summary(conn: &Connection, r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderSummary> {
    let order_ref: String = r.get(0)?;
    let committed: String = r.get(7)?;
    let sync_state = outbox::order_sync_state(conn, &order_ref).map(|s| s.0).unwrap_or(SyncState::Pending);
    let (total_q, paid_q, refunded_q): (i64, i64, i64) = (r.get(3)?, r.get(9)?, r.get(10)?);
    let status: String = r.get(1)?;
    Ok(OrderSummary {
        order_id: uuid_of(r.get(8)?),
        order_ref,
        status: r.get(1)?,
        channel: r.get(2)?,
        total_q: r.get(3)?,
        currency: r.get(4)?,
        item_count: r.get(5)?,
        handle: r.get(6)?,
        committed_at: parse_time(&committed),
        sync_state,
        paid_q,
        refunded_q,
        amount_due_q: payment::amount_due(&status, total_q, paid_q),
        payment_status: PaymentStatus::of(total_q, paid_q, refunded_q),
    })
}

/// `(status, channel, order_id)` of an order.
fn status_of(conn: &Connection, order_ref: &str) -> Result<(String, String, Uuid)> {
    conn.query_row("SELECT status, channel, order_id FROM orders WHERE order_ref = ?1", [order_ref], |r| {
        Ok((r.get(0)?, r.get(1)?, uuid_of(r.get(2)?)))
    })
    .optional()?
    .ok_or_else(|| Error::new(ErrorCode::UnknownOrder, format!("no order {order_ref:?}")))
}

fn lines(conn: &Connection, order_ref: &str) -> Result<Vec<OrderLineView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT line_no, sku, name, unit_price_q, qty, discount_q, total_q, is_unique, product_active, item_status,
                tax_rate_bp, order_discount_q, tax_q, refunded_qty, category
         FROM order_lines WHERE order_ref = ?1 ORDER BY line_no",
    )?;
    let rows = stmt.query_map([order_ref], |r| {
        Ok(OrderLineView {
            line_no: r.get(0)?,
            sku: r.get(1)?,
            name: r.get(2)?,
            unit_price_q: r.get(3)?,
            qty: r.get(4)?,
            discount_q: r.get(5)?,
            total_q: r.get(6)?,
            unique: r.get(7)?,
            product_active: r.get(8)?,
            item_status: r.get(9)?,
            tax_rate_bp: r.get(10)?,
            order_discount_q: r.get(11)?,
            tax_q: r.get(12)?,
            refunded_qty: r.get(13)?,
            category: r.get(14)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Writes the stock that lines give back when they are cancelled.
fn return_stock(
    conn: &Connection,
    order_ref: &str,
    to_return: &[OrderLineView],
    location: &str,
    now: DateTime<Utc>,
    seq: i64,
) -> Result<Vec<StockDelta>> {
    let mut out = Vec::new();
    for l in to_return {
        let back = stock::Movement {
            sku: &l.sku,
            location,
            delta: l.qty,
            reason: StockReason::Cancel,
            source: order_ref,
            at: now,
            outbox_seq: Some(seq),
            counted: None,
        };
        out.push(stock::record(conn, back)?);
        if l.unique {
            conn.execute("UPDATE products SET sold_by = NULL WHERE sku = ?1 AND sold_by = ?2", [&l.sku, order_ref])?;
        }
    }
    Ok(out)
}

/// One status move of an order.
pub(crate) struct StatusMove<'a> {
    pub order_id: Uuid,
    pub order_ref: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    /// The staff member's name, or `system`.
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    /// The staff member who did it; `None` for the system.
    pub staff_id: Option<Uuid>,
    pub approved_by: Option<Uuid>,
}

/// Moves an order's status in the caller's transaction: the event, the stock a cancel gives
/// back, and the outbox row.
pub(crate) fn move_status(conn: &Connection, m: StatusMove<'_>, flow: &Flow, location: &str, now: DateTime<Utc>) -> Result<()> {
    let StatusMove { order_id, order_ref, from, to, actor, reason, staff_id, approved_by } = m;
    let seq = outbox::next_seq(conn)?;
    let deltas = if to == flow.cancelled {
        let open: Vec<OrderLineView> = lines(conn, order_ref)?
            .into_iter()
            .filter(|l| l.item_status.as_deref() != Some("cancelled"))
            .collect();
        return_stock(conn, order_ref, &open, location, now, seq)?
    } else {
        Vec::new()
    };
    // The shift open now: a cancellation counts in that shift's figures only.
    let shift_id: Option<String> =
        conn.query_row("SELECT shift_id FROM shifts WHERE status = 'open'", [], |r| r.get(0)).optional()?;
    conn.execute("UPDATE orders SET status = ?2 WHERE order_ref = ?1", [order_ref, to])?;
    if to == flow.cancelled {
        conn.execute("UPDATE orders SET cancelled_shift_id = ?2 WHERE order_ref = ?1", rusqlite::params![order_ref, shift_id])?;
    }
    conn.execute(
        "INSERT INTO order_events(order_ref, kind, from_status, to_status, actor, reason, at, outbox_seq, staff_id, approved_by)
         VALUES (?1, 'status_changed', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![
            order_ref,
            from,
            to,
            actor,
            reason,
            fmt_time(now),
            seq,
            staff_id.map(|s| s.to_string()),
            approved_by.map(|a| a.to_string())
        ],
    )?;
    let payload = EventPayload::OrderStatusChanged(events::OrderStatusChanged {
        order_id,
        order_ref: order_ref.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        actor: actor.to_string(),
        at: now,
        reason: reason.map(str::to_string),
        stock_deltas: deltas,
        staff_id,
        approved_by,
        shift_id: shift_id.as_deref().and_then(|s| Uuid::parse_str(s).ok()),
    });
    outbox::insert(conn, seq, &payload, Some(order_ref), now)?;
    Ok(())
}

impl Book {
    /// Orders, newest first, optionally only those in one status.
    pub fn orders(&self, status: Option<&str>, limit: usize) -> Result<Vec<OrderSummary>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {SUMMARY} FROM orders WHERE ?1 IS NULL OR status = ?1 ORDER BY ref_seq DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(rusqlite::params![status, limit as i64], |r| summary(&self.conn, r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One order with its lines, events and sync state.
    pub fn order(&self, order_ref: &str) -> Result<OrderView> {
        let head = self
            .conn
            .query_row(
                "SELECT order_ref, status, channel, currency, subtotal_q, discount_q, total_q, item_count,
                        handle, note, session_key, business_date, committed_at, order_id,
                        tax_mode, tax_q, paid_q, refunded_q, pay_by, shift_id, staff_id, actor, approved_by
                 FROM orders WHERE order_ref = ?1",
                [order_ref],
                |r| {
                    let committed: String = r.get(12)?;
                    let tax_mode: Option<String> = r.get(14)?;
                    let (total_q, paid_q, refunded_q): (i64, i64, i64) = (r.get(6)?, r.get(16)?, r.get(17)?);
                    let pay_by: Option<String> = r.get(18)?;
                    let status: String = r.get(1)?;
                    Ok(OrderView {
                        order_id: uuid_of(r.get(13)?),
                        order_ref: r.get(0)?,
                        status: r.get(1)?,
                        channel: r.get(2)?,
                        currency: r.get(3)?,
                        subtotal_q: r.get(4)?,
                        discount_q: r.get(5)?,
                        total_q: r.get(6)?,
                        item_count: r.get(7)?,
                        handle: r.get(8)?,
                        note: r.get(9)?,
                        session_key: r.get(10)?,
                        business_date: r.get(11)?,
                        committed_at: parse_time(&committed),
                        lines: Vec::new(),
                        events: Vec::new(),
                        sync_state: SyncState::Pending,
                        sync_reason: None,
                        tax_mode: tax_mode.and_then(|m| TaxMode::parse(&m)),
                        tax_q: r.get(15)?,
                        taxes: Vec::new(),
                        paid_q,
                        refunded_q,
                        amount_due_q: payment::amount_due(&status, total_q, paid_q),
                        payment_status: PaymentStatus::of(total_q, paid_q, refunded_q),
                        pay_by: pay_by.as_deref().map(parse_time),
                        payments: Vec::new(),
                        refunds: Vec::new(),
                        shift_id: uuid_opt(r.get(19)?),
                        staff_id: uuid_opt(r.get(20)?),
                        cashier: r.get(21)?,
                        approved_by: uuid_opt(r.get(22)?),
                    })
                },
            )
            .optional()?;
        let Some(mut view) = head else {
            return err(ErrorCode::UnknownOrder, format!("no order {order_ref:?}"));
        };
        view.lines = lines(&self.conn, order_ref)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, line_no, from_status, to_status, actor, reason, at, staff_id, approved_by FROM order_events
             WHERE order_ref = ?1 ORDER BY id",
        )?;
        view.events = stmt
            .query_map([order_ref], |r| {
                let at: String = r.get(6)?;
                Ok(OrderEvent {
                    kind: r.get(0)?,
                    line_no: r.get(1)?,
                    from: r.get(2)?,
                    to: r.get(3)?,
                    actor: r.get(4)?,
                    reason: r.get(5)?,
                    at: parse_time(&at),
                    staff_id: uuid_opt(r.get(7)?),
                    approved_by: uuid_opt(r.get(8)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        let (state, reason) = outbox::order_sync_state(&self.conn, order_ref)?;
        view.sync_state = state;
        view.sync_reason = reason;
        view.taxes = self
            .conn
            .prepare_cached("SELECT rate_bp, base_q, tax_q, gross_q FROM order_taxes WHERE order_ref = ?1 ORDER BY rate_bp")?
            .query_map([order_ref], |r| Ok(TaxLine { rate_bp: r.get(0)?, base_q: r.get(1)?, tax_q: r.get(2)?, gross_q: r.get(3)? }))?
            .collect::<Result<_, _>>()?;
        view.payments = payment::payments_of(&self.conn, order_ref)?;
        view.refunds = payment::refunds_of(&self.conn, order_ref)?;
        Ok(view)
    }

    /// Moves an order to `to` along its channel's flow, as the staff member acting (`actor` is
    /// kept for compatibility and only checked for length). Cancelling an order with approved
    /// payments needs `cancel_paid` (`permission_denied`, `invalid_pin`, `pin_locked`).
    pub fn transition(&mut self, order_ref: &str, to: &str, actor: &str, reason: Option<&str>) -> Result<OrderView> {
        self.gated(|book| book.transition_once(order_ref, to, actor, reason))
    }

    fn transition_once(&mut self, order_ref: &str, to: &str, actor: &str, reason: Option<&str>) -> Result<OrderView> {
        bounds::text("actor", actor, bounds::MAX_CODE, false)?;
        bounds::text("status", to, bounds::MAX_CODE, false)?;
        if let Some(r) = reason {
            bounds::text("reason", r, bounds::MAX_TEXT, true)?;
        }
        let now = self.now();
        let location = self.settings.location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let (from, ch, order_id) = status_of(&tx, order_ref)?;
        let flow = channel::get(&tx, &ch)?.flow;
        if !flow.allows(&from, to) {
            let why = if flow.is_terminal(&from) {
                format!("order {order_ref} is {from}, which ends it")
            } else {
                let next = flow.transitions.get(&from).map(|v| v.join(", ")).unwrap_or_default();
                format!("order {order_ref} cannot go from {from} to {to} (allowed: {next})")
            };
            return err(ErrorCode::InvalidTransition, why);
        }
        let who = staff::who(&tx)?;
        let approved_by = cancel_approval(&tx, &who, order_ref, to, &flow, self.approval_pin.as_deref(), now)?;
        let staff_id = Some(who.staff_id);
        let m = StatusMove { order_id, order_ref, from: &from, to, actor: &who.name, reason, staff_id, approved_by };
        move_status(&tx, m, &flow, &location, now)?;
        tx.commit()?;
        self.order(order_ref)
    }

    /// Cancels an order and returns its stock.
    pub fn cancel_order(&mut self, order_ref: &str, actor: &str, reason: Option<&str>) -> Result<OrderView> {
        let ch = status_of(&self.conn, order_ref)?.1;
        let cancelled = channel::get(&self.conn, &ch)?.flow.cancelled;
        self.transition(order_ref, &cancelled, actor, reason)
    }

    /// Sets a line's kitchen status, as the staff member acting (`actor` is kept for
    /// compatibility and only checked for length). A cancelled item gives its stock back; when
    /// every item is final the order completes (or, if every item was cancelled, is cancelled:
    /// for a paid order that needs `cancel_paid`) by itself, a move by `system`.
    pub fn set_item_status(&mut self, order_ref: &str, line_no: i64, status: &str, actor: &str) -> Result<OrderView> {
        self.gated(|book| book.set_item_status_once(order_ref, line_no, status, actor))
    }

    fn set_item_status_once(&mut self, order_ref: &str, line_no: i64, status: &str, actor: &str) -> Result<OrderView> {
        bounds::text("actor", actor, bounds::MAX_CODE, false)?;
        if !ITEM_STATUSES.contains(&status) {
            return err(ErrorCode::InvalidTransition, format!("item status {status:?} is not one of {}", ITEM_STATUSES.join(", ")));
        }
        let now = self.now();
        let location = self.settings.location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let (order_status, ch, order_id) = status_of(&tx, order_ref)?;
        let flow = channel::get(&tx, &ch)?.flow;
        if flow.is_terminal(&order_status) {
            return err(ErrorCode::InvalidTransition, format!("order {order_ref} is {order_status}, which ends it"));
        }
        let all = lines(&tx, order_ref)?;
        let line = all
            .iter()
            .find(|l| l.line_no == line_no)
            .ok_or_else(|| Error::new(ErrorCode::UnknownLine, format!("order {order_ref} has no line {line_no}")))?;
        let from = line.item_status.clone();
        if from.as_deref().is_some_and(|f| ITEM_FINAL.contains(&f)) {
            return err(ErrorCode::InvalidTransition, format!("line {line_no} is already {}", from.unwrap_or_default()));
        }
        if from.as_deref() == Some(status) {
            return err(ErrorCode::InvalidTransition, format!("line {line_no} is already {status}"));
        }
        let who = staff::who(&tx)?;
        let seq = outbox::next_seq(&tx)?;
        let deltas = if status == "cancelled" {
            return_stock(&tx, order_ref, std::slice::from_ref(line), &location, now, seq)?
        } else {
            Vec::new()
        };
        tx.execute(
            "UPDATE order_lines SET item_status = ?3 WHERE order_ref = ?1 AND line_no = ?2",
            rusqlite::params![order_ref, line_no, status],
        )?;
        tx.execute(
            "INSERT INTO order_events(order_ref, kind, line_no, from_status, to_status, actor, at, outbox_seq, staff_id)
             VALUES (?1, 'item_status_changed', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![order_ref, line_no, from, status, who.name, fmt_time(now), seq, who.staff_id.to_string()],
        )?;
        let payload = EventPayload::OrderItemStatusChanged(events::OrderItemStatusChanged {
            order_id,
            order_ref: order_ref.to_string(),
            line_no: line_no as u32,
            from,
            to: status.to_string(),
            actor: who.name.clone(),
            at: now,
            stock_deltas: deltas,
            staff_id: Some(who.staff_id),
        });
        outbox::insert(&tx, seq, &payload, Some(order_ref), now)?;
        let after = lines(&tx, order_ref)?;
        let final_ = |l: &OrderLineView| l.item_status.as_deref().is_some_and(|s| ITEM_FINAL.contains(&s));
        if after.iter().all(final_) {
            let all_cancelled = after.iter().all(|l| l.item_status.as_deref() == Some("cancelled"));
            let to = if all_cancelled { &flow.cancelled } else { &flow.completed };
            let reason = Some("every item is final");
            let approved_by = cancel_approval(&tx, &who, order_ref, to, &flow, self.approval_pin.as_deref(), now)?;
            let m = StatusMove { order_id, order_ref, from: &order_status, to, actor: "system", reason, staff_id: None, approved_by };
            move_status(&tx, m, &flow, &location, now)?;
        }
        tx.commit()?;
        self.order(order_ref)
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::kit;

    #[test]
    fn every_order_event_carries_the_order_id() {
        let mut k = kit();
        let r = k.sell("LATTE", 1);
        k.book.transition(&r, "confirmed", "cashier", None).unwrap();
        k.book.set_item_status(&r, 1, "ready", "kitchen").unwrap();
        let v = k.book.order(&r).unwrap();
        assert_eq!(v.order_id.get_version_num(), 7);
        assert_eq!(k.book.orders(None, 10).unwrap()[0].order_id, v.order_id);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["order_id"], v.order_id.to_string());
        let rows: Vec<_> = k.book.outbox(0, 10).unwrap().into_iter().filter(|r| r.order_ref.is_some()).collect();
        assert_eq!(rows.len(), 3);
        for row in rows {
            assert_eq!(row.payload["order_id"], v.order_id.to_string(), "{}", row.kind);
        }
    }

    #[test]
    fn text_inputs_are_bounded() {
        let mut k = kit();
        let r = k.sell("LATTE", 1);
        let long = "x".repeat(tillbook_protocol::limits::MAX_CODE + 1);
        assert_eq!(k.book.transition(&r, "confirmed", &long, None).unwrap_err().code, crate::ErrorCode::InvalidArgument);
        assert_eq!(k.book.transition(&r, "confirmed", "a", Some("\0")).unwrap_err().code, crate::ErrorCode::InvalidArgument);
    }
}
