//! Shift events on their own: a float, cash movements and a close (its Z-report's figures)
//! within bounds, texts within limits, a difference that is counted − expected. (Whose
//! shift it is and whether it is open is checked by [`crate::service::events`].)

use tillbook_protocol::limits::{check_text, MAX_AMOUNT_Q, MAX_CODE, MAX_TEXT};
use tillbook_protocol::shift::{CashMoveKind, CashMoved, ShiftClosed, ShiftFigures, ShiftOpened};
use tillbook_protocol::tax::MAX_RATE_BP;

use super::{currency, text, Verdict};

/// Longest reason of a cash movement.
pub const MAX_CASH_REASON: usize = 200;

/// Most entries in one list of a Z-report (products, categories, tenders, rates, movements).
pub const MAX_FIGURE_ROWS: usize = 100_000;

fn within(field: &str, q: i64, lo: i64) -> Verdict {
    if !(lo..=MAX_AMOUNT_Q).contains(&q) {
        reject!("{field} {q} is outside {lo}..={MAX_AMOUNT_Q}");
    }
    None
}

/// `shift.opened`: actor, currency, a float of 0 to [`MAX_AMOUNT_Q`].
pub(super) fn opened(o: &ShiftOpened) -> Verdict {
    let why = text("actor", &o.actor, MAX_CODE, false)
        .or_else(|| currency(&o.currency))
        .or_else(|| within("float", o.float_q, 0));
    if let Some(why) = why {
        reject!("shift {}: {why}", o.shift_id);
    }
    None
}

/// `shift.cash_moved`: cash in or out of 1 to [`MAX_AMOUNT_Q`], a no-sale of 0, a reason of 1
/// to [`MAX_CASH_REASON`] characters.
pub(super) fn cash_moved(m: &CashMoved) -> Verdict {
    let amount = match m.kind {
        CashMoveKind::NoSale if m.amount_q != 0 => {
            Some(format!("a no-sale moves no money (amount {})", m.amount_q))
        }
        CashMoveKind::NoSale => None,
        CashMoveKind::In | CashMoveKind::Out => within("amount", m.amount_q, 1),
    };
    let why = text("actor", &m.actor, MAX_CODE, false)
        .or_else(|| text("reason", &m.reason, MAX_CASH_REASON, false))
        .or_else(|| currency(&m.currency))
        .or(amount);
    if let Some(why) = why {
        reject!("cash movement {}: {why}", m.movement_id);
    }
    None
}

/// `shift.closed`: the figures are this shift's, every amount and count within bounds, a
/// counted amount, and `difference = counted − expected` (checked arithmetic).
pub(super) fn closed(c: &ShiftClosed) -> Verdict {
    let id = c.shift_id;
    if let Some(why) = text("actor", &c.actor, MAX_CODE, false) {
        reject!("close of shift {id}: {why}");
    }
    let f = &c.figures;
    if f.shift_id != id {
        reject!(
            "close of shift {id}: its figures are shift {}'s",
            f.shift_id
        );
    }
    if let Some(why) = figures(f) {
        reject!("close of shift {id}: {why}");
    }
    let (Some(counted), Some(difference)) = (f.counted_q, f.difference_q) else {
        reject!("close of shift {id}: its figures carry no counted amount or difference");
    };
    if let Some(why) = within("counted", counted, 0) {
        reject!("close of shift {id}: {why}");
    }
    if counted.checked_sub(f.expected_cash_q) != Some(difference) {
        reject!(
            "close of shift {id}: difference {difference} is not counted {counted} − expected {}",
            f.expected_cash_q
        );
    }
    None
}

/// A Z-report's figures within bounds (texts, amounts, counts); not whether they are right.
fn figures(f: &ShiftFigures) -> Verdict {
    let why = currency(&f.currency).or_else(|| {
        f.first_ref
            .iter()
            .chain(&f.last_ref)
            .find_map(|r| text("reference", r, MAX_CODE, false))
    });
    if why.is_some() {
        return why;
    }
    for (field, q) in [
        ("order_count", f.order_count),
        ("sales", f.sales_q),
        ("discounts", f.discounts_q),
        ("tax", f.tax_q),
        ("refund_count", f.refund_count),
        ("refunds", f.refunds_q),
        ("cancelled_count", f.cancelled_count),
        ("cancelled", f.cancelled_q),
        ("float", f.float_q),
        ("cash_sales", f.cash_sales_q),
        ("cash_refunds", f.cash_refunds_q),
        ("cash_in", f.cash_in_q),
        ("cash_out", f.cash_out_q),
    ] {
        if let Some(why) = within(field, q, 0) {
            return Some(why);
        }
    }
    if let Some(why) = within("expected cash", f.expected_cash_q, -MAX_AMOUNT_Q) {
        return Some(why);
    }
    if let Some(d) = f.difference_q {
        if let Some(why) = within("difference", d, -MAX_AMOUNT_Q) {
            return Some(why);
        }
    }
    let rows = [
        f.taxes.len(),
        f.by_product.len(),
        f.by_category.len(),
        f.tenders.len(),
        f.movements.len(),
    ];
    if rows.iter().any(|n| *n > MAX_FIGURE_ROWS) {
        reject!("a list of its figures has more than {MAX_FIGURE_ROWS} entries");
    }
    for t in &f.taxes {
        if !(0..=MAX_RATE_BP).contains(&t.rate_bp) {
            reject!("tax rate {} is outside 0..={MAX_RATE_BP}", t.rate_bp);
        }
        for (field, q) in [("base", t.base_q), ("tax", t.tax_q), ("gross", t.gross_q)] {
            if let Some(why) = within(field, q, 0) {
                reject!("rate {}: {why}", t.rate_bp);
            }
        }
    }
    for s in f.by_product.iter().chain(&f.by_category) {
        let why = check_text("key", &s.key, MAX_TEXT, true)
            .or_else(|| check_text("name", &s.name, MAX_TEXT, true))
            .or_else(|| within("quantity", s.qty, 0))
            .or_else(|| within("gross", s.gross_q, 0));
        if let Some(why) = why {
            reject!("sales of {:?}: {why}", s.key);
        }
    }
    for t in &f.tenders {
        let why = super::method(&t.method)
            .or_else(|| within("count", t.count, 0))
            .or_else(|| within("amount", t.amount_q, 0))
            .or_else(|| within("refunded", t.refunded_q, 0))
            .or_else(|| within("declined", t.declined, 0))
            .or_else(|| within("fee", t.fee_q, 0));
        if let Some(why) = why {
            reject!("tender {:?}: {why}", t.method);
        }
    }
    for m in &f.movements {
        let why = check_text("reason", &m.reason, MAX_CASH_REASON, true)
            .or_else(|| check_text("actor", &m.actor, MAX_CODE, true))
            .or_else(|| within("amount", m.amount_q, 0));
        if let Some(why) = why {
            reject!("cash movement at {}: {why}", m.at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};
    use uuid::Uuid;

    fn figures_of(id: Uuid) -> ShiftFigures {
        ShiftFigures {
            shift_id: id,
            currency: "BRL".into(),
            business_date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            opened_at: Utc::now(),
            closed_at: Some(Utc::now()),
            order_count: 0,
            first_ref: None,
            last_ref: None,
            sales_q: 0,
            discounts_q: 0,
            tax_q: 0,
            taxes: vec![],
            by_product: vec![],
            by_category: vec![],
            tenders: vec![],
            refund_count: 0,
            refunds_q: 0,
            cancelled_count: 0,
            cancelled_q: 0,
            movements: vec![],
            float_q: 1000,
            cash_sales_q: 0,
            cash_refunds_q: 0,
            cash_in_q: 0,
            cash_out_q: 0,
            expected_cash_q: 1000,
            counted_q: Some(990),
            difference_q: Some(-10),
        }
    }

    fn close(f: ShiftFigures) -> ShiftClosed {
        ShiftClosed {
            shift_id: f.shift_id,
            closed_at: Utc::now(),
            figures: f,
            actor: "ana".into(),
            staff_id: None,
            approved_by: None,
        }
    }

    #[test]
    fn a_close_is_well_formed_or_rejected() {
        let id = Uuid::now_v7();
        assert_eq!(closed(&close(figures_of(id))), None);
        let mut f = figures_of(id);
        f.difference_q = Some(10);
        assert!(closed(&close(f)).unwrap().contains("difference 10"));
        let mut f = figures_of(id);
        f.counted_q = None;
        assert!(closed(&close(f)).is_some());
        let mut f = figures_of(id);
        f.counted_q = Some(-1);
        f.difference_q = Some(-1001);
        assert!(closed(&close(f)).unwrap().contains("counted -1"));
        let mut f = figures_of(id);
        f.expected_cash_q = i64::MIN;
        f.difference_q = Some(0);
        assert!(closed(&close(f)).is_some());
        let mut f = figures_of(id);
        f.expected_cash_q = -MAX_AMOUNT_Q;
        f.counted_q = Some(MAX_AMOUNT_Q);
        f.difference_q = Some(2 * MAX_AMOUNT_Q);
        assert!(closed(&close(f)).unwrap().contains("difference"));
        let mut c = close(figures_of(id));
        c.shift_id = Uuid::now_v7();
        assert!(closed(&c).unwrap().contains("figures are shift"));
        let mut f = figures_of(id);
        f.sales_q = -5;
        assert!(closed(&close(f)).unwrap().contains("sales -5"));
    }
}
