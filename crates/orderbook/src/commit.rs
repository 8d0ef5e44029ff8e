//! Commit: an open session becomes an immutable order, in one transaction.
//!
//! The transaction writes the order and its line snapshots (with each product's category as
//! sold), totals, the stock deltas, the first event and the outbox row. The idempotency key
//! makes a retried commit return the order it made the first time, after a crash and restart
//! too (shift or not). A new order needs the open shift (`no_open_shift`) and carries its
//! `shift_id`, the staff member acting (`staff_id`, `actor`) and, when a discount above
//! `max_discount_pct` was approved by a manager's PIN, `approved_by` (see `staff::permit`).

use chrono::{Local, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::events::{self, EventPayload, StockReason};
use uuid::Uuid;

use crate::clock::fmt_time;
use crate::error::{err, ErrorCode, Result};
use crate::session::{self, Severity};
use crate::staff::{self, permit};
use crate::{bounds, channel, db, outbox, shift, stock, tax, Book};
use tillbook_protocol::staff::Permission;

/// Options of a commit beyond the session and the key.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The revision the caller's last check saw; a later change makes the commit fail with
    /// `stale_check`.
    pub checked_revision: Option<i64>,
    /// Kept for compatibility and only checked for length: the order records the staff member
    /// acting ([`crate::staff`]), never a name given here.
    pub actor: Option<String>,
}

/// What a commit returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitOutcome {
    /// The order's global identity.
    pub order_id: Uuid,
    pub order_ref: String,
    /// True when this key had already committed this session: nothing new was written.
    pub replayed: bool,
    pub total_q: i64,
    pub currency: String,
    pub outbox_seq: Option<i64>,
}

struct Existing {
    order_id: Uuid,
    order_ref: String,
    session_key: String,
    total_q: i64,
    currency: String,
}

fn existing(conn: &Connection, idempotency_key: &str) -> Result<Option<Existing>> {
    Ok(conn
        .prepare_cached(
            "SELECT order_id, order_ref, session_key, total_q, currency FROM orders WHERE idempotency_key = ?1",
        )?
        .query_row([idempotency_key], |r| {
            let id: String = r.get(0)?;
            Ok(Existing {
                order_id: Uuid::parse_str(&id).unwrap_or_default(),
                order_ref: r.get(1)?,
                session_key: r.get(2)?,
                total_q: r.get(3)?,
                currency: r.get(4)?,
            })
        })
        .optional()?)
}

/// What a line snapshots of its product now: one of a kind, active, category.
fn product_now(conn: &Connection, sku: &str) -> Result<(bool, bool, Option<String>)> {
    Ok(conn
        .prepare_cached("SELECT is_unique, active, category FROM products WHERE sku = ?1")?
        .query_row([sku], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .unwrap_or((false, false, None)))
}

impl Book {
    /// Commits a session with an idempotency key, in the open shift, as the staff member acting.
    ///
    /// Errors: those of the module's doc, `no_open_shift`, and for an order discount above
    /// `max_discount_pct` that nobody allowed: `permission_denied`, `invalid_pin`, `pin_locked`.
    pub fn commit(&mut self, key: &str, idempotency_key: &str, options: CommitOptions) -> Result<CommitOutcome> {
        self.gated(|book| book.commit_once(key, idempotency_key, &options))
    }

    fn commit_once(&mut self, key: &str, idempotency_key: &str, options: &CommitOptions) -> Result<CommitOutcome> {
        if idempotency_key.trim().is_empty() || idempotency_key.len() > 200 || idempotency_key.contains('\0') {
            return err(ErrorCode::InvalidArgument, "the idempotency key must be 1-200 characters, without NUL");
        }
        if let Some(actor) = &options.actor {
            bounds::text("actor", actor, bounds::MAX_CODE, false)?;
        }
        let now = self.now();
        let s = self.settings.clone();
        let tx = db::write_tx(&mut self.conn)?;

        if let Some(e) = existing(&tx, idempotency_key)? {
            if e.session_key != key {
                return err(
                    ErrorCode::IdempotencyConflict,
                    format!("idempotency key {idempotency_key:?} already committed another session as {}", e.order_ref),
                );
            }
            let Existing { order_id, order_ref, total_q, currency, .. } = e;
            return Ok(CommitOutcome { order_id, order_ref, replayed: true, total_q, currency, outbox_seq: None });
        }
        let shift_id = shift::require_open(&tx, "a sale")?;
        let who = staff::who(&tx)?;

        let row = session::load_row(&tx, key)?;
        if row.state != "open" {
            let what = match &row.order_ref {
                Some(r) => format!("session {key} is already committed as {r} (with another idempotency key)"),
                None => format!("session {key} is {}", row.state),
            };
            return err(ErrorCode::SessionNotOpen, what);
        }
        let lines = session::load_lines(&tx, key)?;
        if lines.is_empty() {
            return err(ErrorCode::EmptySession, format!("session {key} has no lines"));
        }
        if let Some(seen) = options.checked_revision {
            if seen != row.revision {
                return err(
                    ErrorCode::StaleCheck,
                    format!("the check saw revision {seen} but the session is at revision {}: check again", row.revision),
                );
            }
        }
        let expired = stock::expired_holds(&tx, key, now)?;
        let found = session::issues(&tx, &row, &lines, &s.location, now)?;
        let blocking: Vec<_> = found.iter().filter(|i| i.severity == Severity::Blocking).collect();
        if !blocking.is_empty() {
            let stock_related = blocking.iter().all(|i| i.code == "insufficient_stock" || i.code == "unique_unavailable");
            let lost_hold = blocking.iter().any(|i| {
                i.sku.as_ref().is_some_and(|sku| lines.iter().any(|l| &l.sku == sku && expired.contains(&l.line_id)))
            });
            let text: Vec<String> = blocking.iter().map(|i| format!("{} ({})", i.message, i.code)).collect();
            if stock_related && lost_hold {
                return err(ErrorCode::HoldExpired, format!("the stock hold ran out and the stock is gone: {}", text.join("; ")));
            }
            return err(ErrorCode::BlockingIssues, text.join("; "));
        }
        let (subtotal_q, _, items) = session::totals(&lines, row.discount_q)?;
        // A large discount: allowed by the role acting, by whoever allowed it when it was set
        // (if the basket has not changed since), or by an approval PIN now.
        let approved_by = if permit::large_discount(subtotal_q, row.discount_q, s.max_discount_bp)
            && !permit::has(&tx, who.role, Permission::LargeDiscount)?
        {
            let earlier = row
                .discount_approved_by
                .as_deref()
                .filter(|_| row.discount_approved_rev == Some(row.revision))
                .and_then(|a| Uuid::parse_str(a).ok())
                .filter(|a| *a != who.staff_id);
            match earlier {
                Some(a) => Some(a),
                None => permit::authorize(&tx, &who, Permission::LargeDiscount, self.approval_pin.as_deref(), now)?,
            }
        } else {
            None
        };
        let line_totals = lines.iter().map(|l| Ok((l.sku.as_str(), l.total_q()?))).collect::<Result<Vec<_>>>()?;
        let (taxed, rates) = tax::of_lines(&tx, &s, line_totals, row.discount_q)?;
        let total_q = taxed.total_q;
        let ch = channel::get(&tx, &row.channel)?;
        let pay_by = now + chrono::Duration::minutes(s.payment_window_mins);

        let ref_seq = db::next_counter(&tx, "order_ref")?;
        let business_date = now.with_timezone(&Local).date_naive();
        let order_ref = format!("{}{}-{}-{:04}", s.order_prefix, business_date.format("%Y%m%d"), s.terminal_code, ref_seq);
        let seq = outbox::next_seq(&tx)?;
        let order_id = Uuid::now_v7();
        let (staff_text, approved_text) = (who.staff_id.to_string(), approved_by.map(|a| a.to_string()));

        tx.prepare_cached(
            "INSERT INTO orders(order_ref, ref_seq, session_key, idempotency_key, channel, status, currency,
                                subtotal_q, discount_q, total_q, item_count, handle, note, business_date, committed_at,
                                order_id, tax_mode, tax_q, pay_by, shift_id, staff_id, actor, approved_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        )?
        .execute(rusqlite::params![
                order_ref, ref_seq, key, idempotency_key, ch.code, ch.flow.initial, s.currency,
                subtotal_q, row.discount_q, total_q, items, row.handle, row.note,
                business_date.to_string(), fmt_time(now), order_id.to_string(),
                s.tax_mode.as_str(), taxed.tax_q, fmt_time(pay_by), shift_id.to_string(), staff_text, who.name,
                approved_text
        ])?;
        let mut insert_tax = tx.prepare_cached(
            "INSERT INTO order_taxes(order_ref, rate_bp, base_q, tax_q, gross_q) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for t in &taxed.taxes {
            insert_tax.execute(rusqlite::params![order_ref, t.rate_bp, t.base_q, t.tax_q, t.gross_q])?;
        }
        drop(insert_tax);
        let mut wire_lines = Vec::with_capacity(lines.len());
        let mut deltas = Vec::with_capacity(lines.len());
        let mut insert_line = tx.prepare_cached(
            "INSERT INTO order_lines(order_ref, line_no, sku, name, unit_price_q, qty, discount_q, total_q,
                                     is_unique, product_active, tax_rate_bp, order_discount_q, tax_q, category)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for (i, l) in lines.iter().enumerate() {
            let (unique, active, category) = product_now(&tx, &l.sku)?;
            let line_no = i as u32 + 1;
            let total = l.total_q()?;
            let (line_tax, rate) = (taxed.lines[i], rates[i]);
            insert_line.execute(rusqlite::params![
                order_ref, line_no, l.sku, l.name, l.unit_price_q, l.qty, l.discount_q, total, unique, active,
                rate, line_tax.order_discount_q, line_tax.tax_q, category
            ])?;
            if unique {
                tx.prepare_cached("UPDATE products SET sold_by = ?2 WHERE sku = ?1")?.execute([&l.sku, &order_ref])?;
            }
            let sale = stock::Movement {
                sku: &l.sku,
                location: &s.location,
                delta: -l.qty,
                reason: StockReason::Sale,
                source: &order_ref,
                at: now,
                outbox_seq: Some(seq),
                counted: None,
            };
            deltas.push(stock::record(&tx, sale)?);
            wire_lines.push(events::OrderLine {
                line_no,
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price_q: l.unit_price_q,
                qty: l.qty,
                discount_q: l.discount_q,
                total_q: total,
                unique,
                tax_rate_bp: rate,
                order_discount_q: line_tax.order_discount_q,
                tax_q: line_tax.tax_q,
                category,
            });
        }
        drop(insert_line);
        tx.prepare_cached(
            "INSERT INTO order_events(order_ref, kind, to_status, actor, at, outbox_seq, staff_id, approved_by)
             VALUES (?1, 'created', ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(rusqlite::params![order_ref, ch.flow.initial, who.name, fmt_time(now), seq, staff_text, approved_text])?;
        let payload = EventPayload::OrderCommitted(events::OrderCommitted {
            order_id,
            order_ref: order_ref.clone(),
            channel: ch.code.clone(),
            status: ch.flow.initial.clone(),
            currency: s.currency.clone(),
            subtotal_q,
            discount_q: row.discount_q,
            total_q,
            business_date,
            committed_at: now.with_timezone(&Utc),
            handle: row.handle.clone(),
            lines: wire_lines,
            stock_deltas: deltas,
            tax_mode: Some(s.tax_mode),
            tax_q: taxed.tax_q,
            taxes: taxed.taxes,
            actor: Some(who.name.clone()),
            staff_id: Some(who.staff_id),
            approved_by,
            shift_id: Some(shift_id),
        });
        outbox::insert(&tx, seq, &payload, Some(&order_ref), now)?;
        stock::release_holds(&tx, key)?;
        tx.prepare_cached("UPDATE sessions SET state = 'committed', order_ref = ?2, updated_at = ?3 WHERE session_key = ?1")?
            .execute([key, &order_ref, &fmt_time(now)])?;
        tx.commit()?;
        Ok(CommitOutcome { order_id, order_ref, replayed: false, total_q, currency: s.currency, outbox_seq: Some(seq) })
    }
}
