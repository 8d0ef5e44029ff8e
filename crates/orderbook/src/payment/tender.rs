//! Taking payment: [`Book::pay`] applies tenders in the order given.
//!
//! Every tender is checked before any is applied (method, amounts, card numbers), so a bad
//! tender leaves the book untouched. Then each attempt is one transaction: a card is asked of
//! the payment backend first, outside any transaction, and the answer is recorded (one
//! `payments` row, one `payment.recorded` outbox row, the order's `paid_q`); if recording
//! fails after an approval the backend is told to `void` it. A declined card is recorded, stops
//! the tenders after it and leaves the order payable.
//!
//! Overpaying is only possible in cash: what is handed beyond the amount due is change. With
//! `cash_rounding_q` above 1 the amount due in cash is rounded half-up to the smallest coin
//! (see [`cash_split`]).

use chrono::{DateTime, Local, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::events::{self, EventPayload, PaymentOutcome, CARD, CASH, DECLINE_CODES};
use tillbook_protocol::limits::{MAX_AMOUNT_Q, MAX_PAYMENTS};
use tillbook_protocol::tax::mul_div_half_up;
use uuid::Uuid;

use super::gateway::{card_digits, decline_message, GatewayAnswer};
use super::{amount_due, payment_row, PaymentStatus, PaymentView, PAYMENT_COLUMNS};
use crate::clock::fmt_time;
use crate::error::{err, Error, ErrorCode, Result};
use crate::settings::Settings;
use crate::{bounds, channel, db, outbox, shift, staff, Book};

/// One way the customer pays. A `None` amount is whatever is still due at that point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tender {
    /// Cash handed over, in minor units; more than is due is change.
    Cash { tendered_q: i64 },
    /// Cash for exactly what is due when its turn comes, rounded to the smallest coin as cash
    /// is ([`cash_due`]): no change.
    ExactCash,
    /// A card taken through the book's payment backend (the number goes to the backend only).
    Card { number: String, amount_q: Option<i64> },
    /// A card taken on an external terminal: its reference and the card's last four digits.
    ExternalCard { last4: String, reference: String, amount_q: Option<i64> },
    /// A method configured in `tender_methods` (`pix`, `voucher`…).
    Method { name: String, amount_q: Option<i64> },
}

/// Options of a payment. The payment records the staff member acting and the open shift, read
/// in its transaction: `actor` is kept for compatibility and only checked for length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOptions {
    pub actor: String,
}

impl Default for PayOptions {
    fn default() -> Self {
        PayOptions { actor: "till".into() }
    }
}

/// A declined card: its code (one of `DECLINE_CODES`) and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declined {
    pub code: String,
    pub message: String,
}

/// What [`Book::pay`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayOutcome {
    #[serde(rename = "ref")]
    pub order_ref: String,
    /// The attempts made by this call, in order (a decline is the last).
    pub payments: Vec<PaymentView>,
    pub total_q: i64,
    pub paid_q: i64,
    /// What is still due after this call.
    pub amount_due_q: i64,
    /// Change to hand back: the sum of the cash payments' change.
    pub change_due_q: i64,
    pub payment_status: PaymentStatus,
    /// The card that stopped the tenders, if one was declined.
    pub declined: Option<Declined>,
}

/// How cash handed over pays an order (see [`cash_split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashSplit {
    /// What it pays of the order.
    pub amount_q: i64,
    /// What the drawer keeps beyond `amount_q` (negative when rounded down).
    pub rounding_q: i64,
    pub change_q: i64,
}

/// How `tendered_q` of cash pays `remaining_q` when the smallest coin is `coin_q`.
///
/// The cash due is `remaining_q` rounded half-up to the coin (no rounding when `coin_q` ≤ 1, or
/// when rounding would move it by as much as the amount itself, e.g. 2 due with 5 coins). When
/// the cash handed covers the cash due, the payment pays `remaining_q`, the drawer keeps the
/// rounding and the rest is change. Cash between what is due and the rounded amount pays the
/// remainder with the difference as rounding and no change. Less pays itself, unrounded.
/// `tendered = amount + rounding + change` always. `None` on overflow or non-positive input.
pub fn cash_split(remaining_q: i64, tendered_q: i64, coin_q: i64) -> Option<CashSplit> {
    if tendered_q <= 0 {
        return None;
    }
    let cash_due = cash_due(remaining_q, coin_q)?;
    Some(if tendered_q >= cash_due {
        CashSplit { amount_q: remaining_q, rounding_q: cash_due - remaining_q, change_q: tendered_q - cash_due }
    } else if tendered_q >= remaining_q {
        CashSplit { amount_q: remaining_q, rounding_q: tendered_q - remaining_q, change_q: 0 }
    } else {
        CashSplit { amount_q: tendered_q, rounding_q: 0, change_q: 0 }
    })
}

/// What cash pays `remaining_q` exactly when the smallest coin is `coin_q`: `remaining_q`
/// rounded half-up to the coin (no rounding when `coin_q` ≤ 1, or when rounding would move it
/// by as much as the amount itself). `None` on overflow or when nothing is due.
pub fn cash_due(remaining_q: i64, coin_q: i64) -> Option<i64> {
    if remaining_q <= 0 {
        return None;
    }
    if coin_q > 1 {
        let rounded = mul_div_half_up(remaining_q, 1, coin_q)?.checked_mul(coin_q)?;
        if (rounded - remaining_q).abs() < remaining_q {
            return Some(rounded);
        }
    }
    Some(remaining_q)
}

/// An order's money, read in the transaction that uses it.
struct OrderMoney {
    order_id: Uuid,
    status: String,
    channel: String,
    total_q: i64,
    paid_q: i64,
    refunded_q: i64,
    attempts: i64,
}

fn order_money(conn: &Connection, order_ref: &str) -> Result<OrderMoney> {
    conn.prepare_cached(
        "SELECT order_id, status, channel, total_q, paid_q, refunded_q,
                (SELECT COUNT(*) FROM payments p WHERE p.order_ref = o.order_ref)
         FROM orders o WHERE order_ref = ?1",
    )?
    .query_row([order_ref], |r| {
        let id: Option<String> = r.get(0)?;
        Ok(OrderMoney {
            order_id: id.and_then(|i| Uuid::parse_str(&i).ok()).unwrap_or_default(),
            status: r.get(1)?,
            channel: r.get(2)?,
            total_q: r.get(3)?,
            paid_q: r.get(4)?,
            refunded_q: r.get(5)?,
            attempts: r.get(6)?,
        })
    })
    .optional()?
    .ok_or_else(|| Error::new(ErrorCode::UnknownOrder, format!("no order {order_ref:?}")))
}

/// `order_not_payable` for a cancelled or refunded order, `already_paid` when nothing is due.
fn check_payable(conn: &Connection, order_ref: &str, m: &OrderMoney) -> Result<()> {
    let cancelled = channel::get(conn, &m.channel)?.flow.cancelled;
    if m.status == cancelled || m.status == "refunded" {
        return err(ErrorCode::OrderNotPayable, format!("order {order_ref} is {}: it cannot be paid", m.status));
    }
    if m.paid_q >= m.total_q {
        return err(ErrorCode::AlreadyPaid, format!("order {order_ref} is already paid"));
    }
    Ok(())
}

/// A tender checked and ready to apply.
enum Step {
    Cash { tendered_q: i64 },
    Card { digits: String, amount_q: i64 },
    External { last4: String, reference: String, amount_q: i64 },
    Method { name: String, amount_q: i64 },
}

fn explicit_amount(amount_q: Option<i64>, remaining: i64, what: &str) -> Result<i64> {
    let amount = match amount_q {
        Some(a) if a <= 0 => return err(ErrorCode::InvalidAmount, format!("a {what} amount must be above zero (got {a})")),
        Some(a) => a,
        None => remaining,
    };
    if remaining <= 0 {
        return err(ErrorCode::Overpayment, format!("nothing is left to pay by {what}: the tenders before it cover the order"));
    }
    if amount > remaining {
        return err(ErrorCode::Overpayment, format!("{what} cannot pay {amount}: only {remaining} is due (only cash gives change)"));
    }
    Ok(amount)
}

/// Checks every tender against what would be due when its turn comes.
fn plan(tenders: &[Tender], settings: &Settings, due: i64) -> Result<Vec<Step>> {
    let mut remaining = due;
    let mut steps = Vec::with_capacity(tenders.len());
    for t in tenders {
        let step = match t {
            Tender::Cash { tendered_q } => {
                if !(1..=MAX_AMOUNT_Q).contains(tendered_q) {
                    return err(ErrorCode::InvalidAmount, format!("cash tendered must be 1 to {MAX_AMOUNT_Q} (got {tendered_q})"));
                }
                if remaining <= 0 {
                    return err(ErrorCode::Overpayment, "nothing is left to pay in cash: the tenders before it cover the order");
                }
                let split = cash_split(remaining, *tendered_q, settings.cash_rounding_q)
                    .ok_or_else(|| bounds::overflow("the cash due"))?;
                remaining -= split.amount_q;
                Step::Cash { tendered_q: *tendered_q }
            }
            Tender::ExactCash => {
                if remaining <= 0 {
                    return err(ErrorCode::Overpayment, "nothing is left to pay in cash: the tenders before it cover the order");
                }
                let tendered_q = cash_due(remaining, settings.cash_rounding_q).ok_or_else(|| bounds::overflow("the cash due"))?;
                remaining = 0;
                Step::Cash { tendered_q }
            }
            Tender::Card { number, amount_q } => {
                let digits = card_digits(number)?;
                let amount_q = explicit_amount(*amount_q, remaining, "card")?;
                remaining -= amount_q;
                Step::Card { digits, amount_q }
            }
            Tender::ExternalCard { last4, reference, amount_q } => {
                if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
                    return err(ErrorCode::InvalidCardNumber, format!("last4 {last4:?} must be the card's last four digits"));
                }
                bounds::text("reference", reference, bounds::MAX_TEXT, false)?;
                let amount_q = explicit_amount(*amount_q, remaining, "card")?;
                remaining -= amount_q;
                Step::External { last4: last4.clone(), reference: reference.trim().to_string(), amount_q }
            }
            Tender::Method { name, amount_q } => {
                if !settings.tender_methods.iter().any(|m| m == name) {
                    let offered = [CASH, CARD].into_iter().chain(settings.tender_methods.iter().map(String::as_str));
                    let offered: Vec<&str> = offered.collect();
                    return err(ErrorCode::UnknownTender, format!("{name:?} is not a tender here (offered: {})", offered.join(", ")));
                }
                let amount_q = explicit_amount(*amount_q, remaining, name)?;
                remaining -= amount_q;
                Step::Method { name: name.clone(), amount_q }
            }
        };
        steps.push(step);
    }
    Ok(steps)
}

/// One attempt to record.
struct Attempt {
    payment_id: Uuid,
    method: String,
    /// `None`: approved.
    decline_code: Option<String>,
    amount_q: i64,
    /// Cash only: what was handed over (the split is made against what is due at recording).
    cash_tendered_q: Option<i64>,
    last4: Option<String>,
    reference: Option<String>,
    via_backend: bool,
}

struct Ctx<'a> {
    order_ref: &'a str,
    settings: &'a Settings,
    now: DateTime<Utc>,
}

/// Records one attempt in its own transaction: the payment row, the order's `paid_q` and the
/// outbox row. Approved attempts are checked against the order as it is now.
fn record(conn: &mut Connection, c: &Ctx<'_>, a: Attempt) -> Result<PaymentView> {
    let tx = db::write_tx(conn)?;
    let shift_id = shift::require_open(&tx, "a payment")?;
    let who = staff::who(&tx)?;
    let m = order_money(&tx, c.order_ref)?;
    let approved = a.decline_code.is_none();
    let (mut amount_q, mut tendered_q, mut change_q, mut rounding_q, mut fee_q) = (a.amount_q, a.amount_q, 0, 0, 0);
    if approved {
        check_payable(&tx, c.order_ref, &m)?;
        let remaining = amount_due(&m.status, m.total_q, m.paid_q);
        if let Some(t) = a.cash_tendered_q {
            let split = cash_split(remaining, t, c.settings.cash_rounding_q).ok_or_else(|| bounds::overflow("the cash due"))?;
            (amount_q, tendered_q, change_q, rounding_q) = (split.amount_q, t, split.change_q, split.rounding_q);
        } else if amount_q > remaining {
            return err(ErrorCode::Overpayment, format!("{} cannot pay {amount_q}: only {remaining} is due", a.method));
        }
        if let Some(fee) = c.settings.fees.get(&a.method) {
            // A fee is never more than the payment (the server refuses more).
            fee_q = fee.on(amount_q).ok_or_else(|| bounds::overflow("the fee"))?.min(amount_q);
        }
    }
    let seq = outbox::next_seq(&tx)?;
    let business_date = c.now.with_timezone(&Local).date_naive();
    let outcome = if approved { PaymentOutcome::Approved } else { PaymentOutcome::Declined };
    tx.prepare_cached(
        "INSERT INTO payments(payment_id, order_ref, method, outcome, decline_code, amount_q, tendered_q, change_q,
                              rounding_q, fee_q, card_last4, reference, business_date, at, actor, shift_id,
                              via_backend, outbox_seq, staff_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(rusqlite::params![
        a.payment_id.to_string(),
        c.order_ref,
        a.method,
        outcome.as_str(),
        a.decline_code,
        amount_q,
        tendered_q,
        change_q,
        rounding_q,
        fee_q,
        a.last4,
        a.reference,
        business_date.to_string(),
        fmt_time(c.now),
        who.name,
        shift_id.to_string(),
        a.via_backend && approved,
        seq,
        who.staff_id.to_string()
    ])?;
    if approved {
        let paid = bounds::add(m.paid_q, amount_q, "the amount paid")?;
        tx.prepare_cached("UPDATE orders SET paid_q = ?2 WHERE order_ref = ?1")?
            .execute(rusqlite::params![c.order_ref, paid])?;
    }
    let payload = EventPayload::PaymentRecorded(events::PaymentRecorded {
        payment_id: a.payment_id,
        order_id: m.order_id,
        order_ref: c.order_ref.to_string(),
        method: a.method.clone(),
        outcome,
        decline_code: a.decline_code.clone(),
        currency: c.settings.currency.clone(),
        amount_q,
        tendered_q,
        change_q,
        rounding_q,
        fee_q,
        card_last4: a.last4.clone(),
        reference: a.reference.clone(),
        business_date,
        at: c.now,
        actor: who.name.clone(),
        shift_id: Some(shift_id),
        staff_id: Some(who.staff_id),
    });
    outbox::insert(&tx, seq, &payload, Some(c.order_ref), c.now)?;
    let view = tx
        .prepare_cached(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE payment_id = ?1"))?
        .query_row([a.payment_id.to_string()], payment_row)?;
    tx.commit()?;
    Ok(view)
}

/// A decline code the book can send: one of `DECLINE_CODES`, else `processing_error`.
fn known_code(code: String) -> String {
    if DECLINE_CODES.contains(&code.as_str()) {
        code
    } else {
        "processing_error".to_string()
    }
}

impl Book {
    /// Pays an order with one or more tenders, applied in order (see the module), in the open
    /// shift, as the staff member acting.
    ///
    /// Errors (nothing written): `no_open_shift`, `unknown_order`, `order_not_payable` (cancelled or
    /// refunded), `already_paid`, `overpayment` (a card or method above what is due),
    /// `unknown_tender`, `invalid_amount`, `invalid_card_number`, `invalid_argument`. A
    /// declined card is not an error: it is recorded and reported in
    /// [`PayOutcome::declined`].
    pub fn pay(&mut self, order_ref: &str, tenders: &[Tender], options: PayOptions) -> Result<PayOutcome> {
        bounds::text("actor", &options.actor, bounds::MAX_CODE, false)?;
        if tenders.is_empty() {
            return err(ErrorCode::InvalidArgument, "no tender given");
        }
        let settings = self.settings.clone();
        shift::require_open(&self.conn, "a payment")?;
        let m = order_money(&self.conn, order_ref)?;
        check_payable(&self.conn, order_ref, &m)?;
        if (m.attempts as usize).saturating_add(tenders.len()) > MAX_PAYMENTS {
            return err(ErrorCode::InvalidArgument, format!("an order carries at most {MAX_PAYMENTS} payment attempts"));
        }
        let steps = plan(tenders, &settings, amount_due(&m.status, m.total_q, m.paid_q))?;

        let mut payments = Vec::with_capacity(steps.len());
        let mut declined = None;
        for step in steps {
            let payment_id = Uuid::now_v7();
            let ctx = Ctx { order_ref, settings: &settings, now: self.now() };
            let base = Attempt {
                payment_id,
                method: CARD.to_string(),
                decline_code: None,
                amount_q: 0,
                cash_tendered_q: None,
                last4: None,
                reference: None,
                via_backend: false,
            };
            let attempt = match step {
                Step::Cash { tendered_q } => {
                    Attempt { method: CASH.to_string(), amount_q: tendered_q, cash_tendered_q: Some(tendered_q), ..base }
                }
                Step::External { last4, reference, amount_q } => {
                    Attempt { amount_q, last4: Some(last4), reference: Some(reference), ..base }
                }
                Step::Method { name, amount_q } => Attempt { method: name, amount_q, ..base },
                Step::Card { digits, amount_q } => {
                    let key = payment_id.to_string();
                    let last4 = Some(digits[digits.len() - 4..].to_string());
                    let answer = match self.backend.authorize(&digits, amount_q, &settings.currency, &key) {
                        GatewayAnswer::Approved { reference } => match self.backend.capture(&reference, amount_q, &key) {
                            GatewayAnswer::Approved { .. } => Ok(reference),
                            GatewayAnswer::Declined { code } => {
                                self.backend.void(&reference, &key);
                                Err(code)
                            }
                        },
                        GatewayAnswer::Declined { code } => Err(code),
                    };
                    match answer {
                        Ok(reference) => {
                            let a = Attempt { amount_q, last4, reference: Some(reference.clone()), via_backend: true, ..base };
                            match record(&mut self.conn, &ctx, a) {
                                Ok(v) => {
                                    payments.push(v);
                                    continue;
                                }
                                Err(e) => {
                                    self.backend.void(&reference, &key);
                                    return Err(e);
                                }
                            }
                        }
                        Err(code) => Attempt { amount_q, last4, decline_code: Some(known_code(code)), ..base },
                    }
                }
            };
            let view = record(&mut self.conn, &ctx, attempt)?;
            if let Some(code) = &view.decline_code {
                declined = Some(Declined { code: code.clone(), message: decline_message(code) });
                payments.push(view);
                break;
            }
            payments.push(view);
        }

        let after = order_money(&self.conn, order_ref)?;
        let change_due_q = payments.iter().try_fold(0i64, |acc, p| acc.checked_add(p.change_q)).ok_or_else(|| bounds::overflow("the change"))?;
        Ok(PayOutcome {
            order_ref: order_ref.to_string(),
            payments,
            total_q: after.total_q,
            paid_q: after.paid_q,
            amount_due_q: amount_due(&after.status, after.total_q, after.paid_q),
            change_due_q,
            payment_status: PaymentStatus::of(after.total_q, after.paid_q, after.refunded_q),
            declined,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(remaining: i64, tendered: i64, coin: i64) -> (i64, i64, i64) {
        let s = cash_split(remaining, tendered, coin).unwrap();
        assert_eq!(s.amount_q + s.rounding_q + s.change_q, tendered, "tendered = amount + rounding + change");
        (s.amount_q, s.rounding_q, s.change_q)
    }

    #[test]
    fn cash_is_split_into_payment_rounding_and_change() {
        assert_eq!(split(1650, 2000, 1), (1650, 0, 350));
        assert_eq!(split(1650, 1000, 1), (1000, 0, 0));
        assert_eq!(split(1650, 1650, 1), (1650, 0, 0));
        // 5-unit coins: 1652 rounds down to 1650, 1653 up to 1655.
        assert_eq!(split(1652, 2000, 5), (1652, -2, 350));
        assert_eq!(split(1652, 1650, 5), (1652, -2, 0));
        assert_eq!(split(1653, 1655, 5), (1653, 2, 0));
        assert_eq!(split(1653, 1654, 5), (1653, 1, 0), "between due and rounded: rounding, no change");
        assert_eq!(split(1653, 1000, 5), (1000, 0, 0), "less than due: no rounding");
        // Half-up: 1 652.5 is not possible, but 10-unit coins round 1655 up.
        assert_eq!(split(1655, 2000, 10), (1655, 5, 340));
        assert_eq!(split(1654, 2000, 10), (1654, -4, 350));
        // Rounding never takes the whole amount: 2 due with 5-unit coins is 2.
        assert_eq!(split(2, 5, 5), (2, 0, 3));
        assert_eq!(split(3, 6, 6), (3, 0, 3), "rounding 3 up to 6 would double it");
        assert_eq!(cash_split(0, 5, 1), None);
        assert_eq!(cash_split(5, 0, 1), None);
        assert!(cash_split(i64::MAX, 1, 1000).is_none(), "overflow is None");
    }
}
