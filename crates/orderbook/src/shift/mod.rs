//! Cash-drawer shifts: open with a float, cash in and out, X-report, close with a count.
//!
//! A till has at most one open shift (a unique partial index says so too). Every order,
//! payment and refund is taken in the open shift and carries its `shift_id`: `commit`, `pay`
//! and `refund` answer `no_open_shift` without one (building a basket needs none). Opening,
//! each cash movement and the close are each one IMMEDIATE transaction with their outbox row
//! (`shift.opened`, `shift.cash_moved`, `shift.closed`), so shifts work offline and before
//! enrolment like everything else.
//!
//! **The close never strands a sale.** The `shift.closed` row, carrying the Z-report, is
//! written after every row of the shift's sales, and the server applies rows in `seq` order;
//! [`ShiftClose::pending`] says how many rows (the close included) the server has not
//! acknowledged yet. The figures are `figures.rs`'s (an aggregate per table, by
//! `shift_id`, as the protocol's `ShiftFigures` defines them).
//!
//! Permissions: cash out needs `cash_out`, a no-sale opening `no_sale`, a close whose
//! |counted − expected| is above `close_difference_threshold` needs `close_with_difference`.

mod figures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod zreport_tests;

use chrono::{DateTime, Local, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::events::EventPayload;
use tillbook_protocol::limits::MAX_AMOUNT_Q;
use tillbook_protocol::shift::{CashMoveKind, CashMoved, ShiftClosed, ShiftFigures, ShiftOpened};
use tillbook_protocol::staff::Permission;
use uuid::Uuid;

use crate::clock::{fmt_time, parse_time};
use crate::error::{err, Error, ErrorCode, Result};
use crate::staff::{self, permit};
use crate::{bounds, db, outbox, sync, Book};

/// Longest reason of a cash movement.
pub const MAX_REASON: usize = 200;

/// A shift as the till shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftView {
    pub shift_id: Uuid,
    /// `open` or `closed`.
    pub status: String,
    pub currency: String,
    pub float_q: i64,
    pub business_date: NaiveDate,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The staff member who opened it (name).
    pub opened_by: String,
    pub closed_by: Option<String>,
    pub counted_q: Option<i64>,
    pub expected_q: Option<i64>,
    pub difference_q: Option<i64>,
}

/// What [`Book::close_shift`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftClose {
    /// The Z-report.
    pub figures: ShiftFigures,
    pub shift: ShiftView,
    /// Outbox rows the server has not acknowledged yet, the close included.
    pub pending: i64,
}

const COLUMNS: &str = "shift_id, status, currency, float_q, business_date, opened_at, closed_at, opened_by, closed_by,
     counted_q, expected_q, difference_q";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ShiftView> {
    let (id, date, opened, closed): (String, String, String, Option<String>) = (r.get(0)?, r.get(4)?, r.get(5)?, r.get(6)?);
    Ok(ShiftView {
        shift_id: Uuid::parse_str(&id).unwrap_or_default(),
        status: r.get(1)?,
        currency: r.get(2)?,
        float_q: r.get(3)?,
        business_date: date.parse().unwrap_or_default(),
        opened_at: parse_time(&opened),
        closed_at: closed.as_deref().map(parse_time),
        opened_by: r.get(7)?,
        closed_by: r.get(8)?,
        counted_q: r.get(9)?,
        expected_q: r.get(10)?,
        difference_q: r.get(11)?,
    })
}

/// The open shift, if any.
pub(crate) fn open_one(conn: &Connection) -> Result<Option<ShiftView>> {
    Ok(conn.prepare_cached(&format!("SELECT {COLUMNS} FROM shifts WHERE status = 'open'"))?.query_row([], row).optional()?)
}

/// The open shift's id, or `no_open_shift` (for what must be done in a shift: `what`).
pub(crate) fn require_open(conn: &Connection, what: &str) -> Result<Uuid> {
    match open_one(conn)? {
        Some(s) => Ok(s.shift_id),
        None => err(ErrorCode::NoOpenShift, format!("{what} needs an open shift: open one with a cash float first")),
    }
}

fn by_id(conn: &Connection, shift_id: Uuid) -> Result<ShiftView> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM shifts WHERE shift_id = ?1"))?
        .query_row([shift_id.to_string()], row)
        .optional()?
        .ok_or_else(|| Error::new(ErrorCode::UnknownShift, format!("no shift {shift_id}")))
}

fn amount(what: &str, q: i64, min: i64) -> Result<()> {
    if !(min..=MAX_AMOUNT_Q).contains(&q) {
        return err(ErrorCode::InvalidAmount, format!("{what} must be {min} to {MAX_AMOUNT_Q} minor units (got {q})"));
    }
    Ok(())
}

impl Book {
    /// Opens a shift with the cash float in the drawer. Errors: `invalid_amount` (negative or
    /// too large), `shift_already_open`.
    pub fn open_shift(&mut self, float_q: i64) -> Result<ShiftView> {
        amount("the float", float_q, 0)?;
        let now = self.now();
        let currency = self.settings.currency.clone();
        let tx = db::write_tx(&mut self.conn)?;
        if let Some(s) = open_one(&tx)? {
            return err(
                ErrorCode::ShiftAlreadyOpen,
                format!("shift {} opened by {} at {} is still open: close it first", s.shift_id, s.opened_by, fmt_time(s.opened_at)),
            );
        }
        let who = staff::who(&tx)?;
        let shift_id = Uuid::now_v7();
        let business_date = now.with_timezone(&Local).date_naive();
        tx.execute(
            "INSERT INTO shifts(shift_id, status, currency, float_q, business_date, opened_at, opened_by, opened_staff_id)
             VALUES (?1, 'open', ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                shift_id.to_string(),
                currency,
                float_q,
                business_date.to_string(),
                fmt_time(now),
                who.name,
                who.staff_id.to_string()
            ],
        )?;
        let seq = outbox::next_seq(&tx)?;
        let payload = EventPayload::ShiftOpened(ShiftOpened {
            shift_id,
            currency,
            float_q,
            business_date,
            opened_at: now,
            actor: who.name.clone(),
            staff_id: Some(who.staff_id),
        });
        outbox::insert(&tx, seq, &payload, None, now)?;
        let view = by_id(&tx, shift_id)?;
        tx.commit()?;
        Ok(view)
    }

    /// Records cash put in (`in`), taken out (`out`, needs `cash_out`) or the drawer opened
    /// without a sale (`no_sale`, amount 0, needs `no_sale`), with a reason of 1 to 200
    /// characters. Errors: `invalid_amount`, `invalid_argument` (reason), `no_open_shift`,
    /// `insufficient_cash` (more out than the drawer should hold), `permission_denied`,
    /// `invalid_pin`, `pin_locked`.
    pub fn cash_move(&mut self, kind: CashMoveKind, amount_q: i64, reason: &str) -> Result<ShiftView> {
        match kind {
            CashMoveKind::In | CashMoveKind::Out => amount("a cash movement", amount_q, 1)?,
            CashMoveKind::NoSale if amount_q != 0 => {
                return err(ErrorCode::InvalidAmount, format!("a no-sale opening moves no money (got {amount_q})"))
            }
            CashMoveKind::NoSale => {}
        }
        bounds::text("reason", reason, MAX_REASON, false)?;
        self.gated(|book| book.cash_move_once(kind, amount_q, reason.trim()))
    }

    fn cash_move_once(&mut self, kind: CashMoveKind, amount_q: i64, reason: &str) -> Result<ShiftView> {
        let now = self.now();
        let tx = db::write_tx(&mut self.conn)?;
        let shift = open_one(&tx)?.ok_or_else(|| Error::new(ErrorCode::NoOpenShift, "no shift is open: open one first"))?;
        if kind == CashMoveKind::Out {
            let f = figures::compute(&tx, &shift, None, None)?;
            if amount_q > f.expected_cash_q {
                return err(
                    ErrorCode::InsufficientCash,
                    format!("the drawer should hold {} but {amount_q} was asked for", f.expected_cash_q),
                );
            }
        }
        let who = staff::who(&tx)?;
        let approved_by = match kind {
            CashMoveKind::In => None,
            CashMoveKind::Out => permit::authorize(&tx, &who, Permission::CashOut, self.approval_pin.as_deref(), now)?,
            CashMoveKind::NoSale => permit::authorize(&tx, &who, Permission::NoSale, self.approval_pin.as_deref(), now)?,
        };
        let seq = outbox::next_seq(&tx)?;
        let movement_id = Uuid::now_v7();
        tx.execute(
            "INSERT INTO cash_movements(movement_id, shift_id, kind, amount_q, reason, at, actor, staff_id, approved_by, outbox_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![
                movement_id.to_string(),
                shift.shift_id.to_string(),
                kind.as_str(),
                amount_q,
                reason,
                fmt_time(now),
                who.name,
                who.staff_id.to_string(),
                approved_by.map(|a| a.to_string()),
                seq
            ],
        )?;
        let payload = EventPayload::CashMoved(CashMoved {
            movement_id,
            shift_id: shift.shift_id,
            kind,
            currency: shift.currency.clone(),
            amount_q,
            reason: reason.to_string(),
            at: now,
            actor: who.name.clone(),
            staff_id: Some(who.staff_id),
            approved_by,
        });
        outbox::insert(&tx, seq, &payload, None, now)?;
        tx.commit()?;
        Ok(shift)
    }

    /// Counts the drawer and closes the open shift: the Z-report goes into the shift and, in
    /// the same transaction, into a `shift.closed` outbox row after every row of its sales.
    /// Errors: `invalid_amount` (negative count), `no_open_shift`, `permission_denied` (a
    /// difference above `close_difference_threshold` without `close_with_difference`),
    /// `invalid_pin`, `pin_locked`.
    pub fn close_shift(&mut self, counted_q: i64) -> Result<ShiftClose> {
        amount("the counted cash", counted_q, 0)?;
        self.gated(|book| book.close_shift_once(counted_q))
    }

    fn close_shift_once(&mut self, counted_q: i64) -> Result<ShiftClose> {
        let now = self.now();
        let threshold = self.settings.close_difference_threshold_q;
        let tx = db::write_tx(&mut self.conn)?;
        let shift = open_one(&tx)?.ok_or_else(|| Error::new(ErrorCode::NoOpenShift, "no shift is open: there is nothing to close"))?;
        let figures = figures::compute(&tx, &shift, Some(now), Some(counted_q))?;
        let difference = figures.difference_q.unwrap_or_default();
        let who = staff::who(&tx)?;
        let approved_by = if difference.unsigned_abs() > threshold.unsigned_abs() {
            permit::authorize(&tx, &who, Permission::CloseWithDifference, self.approval_pin.as_deref(), now)
                .map_err(|e| Error { message: format!("counted {counted_q}, expected {}: {}", figures.expected_cash_q, e.message), ..e })?
        } else {
            None
        };
        let seq = outbox::next_seq(&tx)?;
        let payload = EventPayload::ShiftClosed(ShiftClosed {
            shift_id: shift.shift_id,
            closed_at: now,
            figures: figures.clone(),
            actor: who.name.clone(),
            staff_id: Some(who.staff_id),
            approved_by,
        });
        outbox::insert(&tx, seq, &payload, None, now)?;
        let text = serde_json::to_string(&figures).map_err(|e| Error::new(ErrorCode::Storage, e.to_string()))?;
        tx.execute(
            "UPDATE shifts SET status = 'closed', closed_at = ?2, closed_by = ?3, closed_staff_id = ?4, approved_by = ?5,
                 counted_q = ?6, expected_q = ?7, difference_q = ?8, figures = ?9
             WHERE shift_id = ?1",
            rusqlite::params![
                shift.shift_id.to_string(),
                fmt_time(now),
                who.name,
                who.staff_id.to_string(),
                approved_by.map(|a| a.to_string()),
                counted_q,
                figures.expected_cash_q,
                difference,
                text
            ],
        )?;
        let s = sync::state(&tx)?;
        let pending = sync::last_seq(&tx)? - s.acked_seq.max(s.seq_base);
        let view = by_id(&tx, shift.shift_id)?;
        tx.commit()?;
        Ok(ShiftClose { figures, shift: view, pending })
    }

    /// The open shift, if any.
    pub fn current_shift(&self) -> Result<Option<ShiftView>> {
        open_one(&self.conn)
    }

    /// One shift by id (`unknown_shift`).
    pub fn shift(&self, shift_id: Uuid) -> Result<ShiftView> {
        by_id(&self.conn, shift_id)
    }

    /// The latest shifts, newest first.
    pub fn shifts(&self, limit: usize) -> Result<Vec<ShiftView>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM shifts ORDER BY opened_at DESC, shift_id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit.min(i64::MAX as usize) as i64], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The open shift's figures so far (the X-report), or `no_open_shift`.
    pub fn x_report(&self) -> Result<ShiftFigures> {
        let tx = self.conn.unchecked_transaction()?;
        let shift = open_one(&tx)?.ok_or_else(|| Error::new(ErrorCode::NoOpenShift, "no shift is open: there is no X-report"))?;
        let f = figures::compute(&tx, &shift, None, None)?;
        tx.finish()?;
        Ok(f)
    }

    /// A shift's figures: the Z-report kept at its close, or the X-report of the open shift.
    /// `unknown_shift` for an id this till does not know.
    pub fn shift_figures(&self, shift_id: Uuid) -> Result<ShiftFigures> {
        let tx = self.conn.unchecked_transaction()?;
        let shift = by_id(&tx, shift_id)?;
        let f = if shift.status == "closed" {
            let text: String = tx.query_row("SELECT figures FROM shifts WHERE shift_id = ?1", [shift_id.to_string()], |r| r.get(0))?;
            serde_json::from_str(&text).map_err(|e| Error::new(ErrorCode::Storage, format!("shift {shift_id}'s Z-report: {e}")))?
        } else {
            figures::compute(&tx, &shift, None, None)?
        };
        tx.finish()?;
        Ok(f)
    }
}
