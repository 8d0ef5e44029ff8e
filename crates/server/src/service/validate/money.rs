//! Payments and refunds on their own: methods, currencies, amounts that add up, outcomes,
//! keys and the stock a refund gives back. (What needs the order and its payments is checked
//! by [`crate::service::events`].)

use std::collections::BTreeSet;

use tillbook_protocol::events::{
    PaymentOutcome, PaymentRecorded, RefundRecorded, CASH, DECLINE_CODES,
};
use tillbook_protocol::limits::{
    MAX_AMOUNT_Q, MAX_CODE, MAX_LINES, MAX_PAYMENTS, MAX_QTY, MAX_TEXT,
};

use super::{deltas, text, Fits, Verdict};

/// Most the drawer may round a cash payment by, either way, in minor units.
pub const MAX_CASH_ROUNDING_Q: i64 = 1000;
/// Longest refund idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// `cash`, `card` or a configured method: 1 to 32 of `a-z`, `0-9`, `_`.
pub fn method(m: &str) -> Verdict {
    let ok = !m.is_empty()
        && m.len() <= 32
        && m.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        reject!("method {m:?} is not cash, card or 1 to 32 of a-z, 0-9, _");
    }
    None
}

pub(super) fn currency(c: &str) -> Verdict {
    if c.len() != 3 || !c.chars().all(|c| c.is_ascii_uppercase()) {
        reject!("currency {c:?} is not three capital letters");
    }
    None
}

fn amount(field: &str, q: i64) -> Verdict {
    if !(1..=MAX_AMOUNT_Q).contains(&q) {
        reject!("{field} {q} is outside 1..={MAX_AMOUNT_Q}");
    }
    None
}

/// A payment attempt on its own: method, currency, amounts that add up, outcome.
pub(super) fn payment(p: &PaymentRecorded) -> Verdict {
    let id = p.payment_id;
    let why = text("order_ref", &p.order_ref, MAX_CODE, false)
        .or_else(|| text("actor", &p.actor, MAX_CODE, false))
        .or_else(|| {
            p.reference
                .as_deref()
                .and_then(|r| text("reference", r, MAX_TEXT, false))
        })
        .or_else(|| method(&p.method))
        .or_else(|| currency(&p.currency))
        .or_else(|| amount("amount", p.amount_q));
    if let Some(why) = why {
        reject!("payment {id}: {why}");
    }
    if !(0..=p.amount_q).contains(&p.fee_q) {
        reject!(
            "payment {id}: fee {} is outside 0..={}",
            p.fee_q,
            p.amount_q
        );
    }
    match (p.outcome, p.decline_code.as_deref()) {
        (PaymentOutcome::Approved, None) => {}
        (PaymentOutcome::Approved, Some(code)) => {
            reject!("payment {id}: approved with decline code {code:?}")
        }
        (PaymentOutcome::Declined, Some(code)) if DECLINE_CODES.contains(&code) => {}
        (PaymentOutcome::Declined, code) => reject!(
            "payment {id}: declined with decline code {code:?}, not one of {}",
            DECLINE_CODES.join(", ")
        ),
    }
    if p.method == CASH {
        if p.change_q < 0 {
            reject!("payment {id}: change {} is negative", p.change_q);
        }
        if p.rounding_q.abs() > MAX_CASH_ROUNDING_Q || p.rounding_q.abs() >= p.amount_q {
            reject!(
                "payment {id}: cash rounding {} is beyond ±{MAX_CASH_ROUNDING_Q} or the amount",
                p.rounding_q
            );
        }
        let sum = p
            .amount_q
            .checked_add(p.rounding_q)
            .and_then(|s| s.checked_add(p.change_q));
        if sum != Some(p.tendered_q) || p.tendered_q > MAX_AMOUNT_Q {
            reject!(
                "payment {id}: tendered {} is not amount {} + rounding {} + change {}",
                p.tendered_q,
                p.amount_q,
                p.rounding_q,
                p.change_q
            );
        }
    } else if p.tendered_q != p.amount_q || p.change_q != 0 || p.rounding_q != 0 {
        reject!(
            "payment {id}: a {} payment tenders exactly its amount {} (tendered {}, change {}, rounding {})",
            p.method,
            p.amount_q,
            p.tendered_q,
            p.change_q,
            p.rounding_q
        );
    }
    if let Some(l4) = &p.card_last4 {
        if l4.len() != 4 || !l4.bytes().all(|b| b.is_ascii_digit()) {
            reject!("payment {id}: card_last4 {l4:?} is not four digits");
        }
    }
    None
}

/// A refund on its own: tenders (and lines) adding up to its amount, its key, its stock.
pub(super) fn refund(r: &RefundRecorded) -> Verdict {
    let id = r.refund_id;
    let why = text("order_ref", &r.order_ref, MAX_CODE, false)
        .or_else(|| text("actor", &r.actor, MAX_CODE, false))
        .or_else(|| {
            text(
                "idempotency_key",
                &r.idempotency_key,
                MAX_IDEMPOTENCY_KEY,
                false,
            )
        })
        .or_else(|| {
            r.reason
                .as_deref()
                .and_then(|t| text("reason", t, MAX_TEXT, true))
        })
        .or_else(|| currency(&r.currency))
        .or_else(|| amount("amount", r.amount_q));
    if let Some(why) = why {
        reject!("refund {id}: {why}");
    }
    if r.tenders.is_empty() || r.tenders.len() > MAX_PAYMENTS {
        reject!(
            "refund {id} has {} tenders (1 to {MAX_PAYMENTS})",
            r.tenders.len()
        );
    }
    let mut sum: i64 = 0;
    let mut payments = BTreeSet::new();
    for t in &r.tenders {
        let why = method(&t.method)
            .or_else(|| amount("tender amount", t.amount_q))
            .or_else(|| {
                t.reference
                    .as_deref()
                    .and_then(|x| text("reference", x, MAX_TEXT, false))
            });
        if let Some(why) = why {
            reject!("refund {id}, tender of payment {}: {why}", t.payment_id);
        }
        if !payments.insert(t.payment_id) {
            reject!("refund {id} names payment {} twice", t.payment_id);
        }
        let Some(s) = sum.checked_add(t.amount_q) else {
            reject!("refund {id}: its tenders overflow");
        };
        sum = s;
    }
    if sum != r.amount_q {
        reject!(
            "refund {id}: tenders add up to {sum}, not its amount {}",
            r.amount_q
        );
    }
    if r.lines.len() > MAX_LINES {
        reject!(
            "refund {id} has {} lines (at most {MAX_LINES})",
            r.lines.len()
        );
    }
    let mut sum: i64 = 0;
    let mut line_nos = BTreeSet::new();
    for l in &r.lines {
        let n = l.line_no;
        if n == 0 || !line_nos.insert(n) {
            reject!("refund {id}: line {n} is not a line number or appears twice");
        }
        if !(1..=MAX_QTY).contains(&l.qty) {
            reject!(
                "refund {id} line {n}: quantity {} is outside 1..={MAX_QTY}",
                l.qty
            );
        }
        if !(0..=MAX_AMOUNT_Q).contains(&l.amount_q) {
            reject!(
                "refund {id} line {n}: amount {} is outside 0..={MAX_AMOUNT_Q}",
                l.amount_q
            );
        }
        let Some(s) = sum.checked_add(l.amount_q) else {
            reject!("refund {id}: its lines overflow");
        };
        sum = s;
    }
    if !r.lines.is_empty() && sum != r.amount_q {
        reject!(
            "refund {id}: lines add up to {sum}, not its amount {}",
            r.amount_q
        );
    }
    if !r.restock && !r.stock_deltas.is_empty() {
        reject!("refund {id} moves stock without restock");
    }
    deltas(&r.stock_deltas, Fits::Refund)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_lowercase_names() {
        for ok in ["cash", "card", "pix", "voucher_2", &"x".repeat(32)] {
            assert_eq!(method(ok), None, "{ok}");
        }
        for bad in ["", "Cash", "pix ", "vale-refeição", "a-b", &"x".repeat(33)] {
            assert!(method(bad).is_some(), "{bad}");
        }
    }
}
