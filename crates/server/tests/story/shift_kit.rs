//! Shift events to push, and the figures a shift's events add up to, summed here one event
//! at a time: the test's own reading of `ShiftFigures`, never the server's SQL.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use tillbook_protocol::events::{
    EventPayload, OrderCommitted, PaymentOutcome, PaymentRecorded, RefundRecorded, CASH,
};
use tillbook_protocol::shift::{
    CashMoveKind, CashMoved, CashMovementFigure, SalesFigure, ShiftClosed, ShiftFigures,
    ShiftOpened, TenderFigure,
};
use tillbook_protocol::tax::{self, TaxLine};
use uuid::Uuid;

use crate::payments::day;

/// A time as the server keeps it (to the microsecond).
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

pub fn opened(float_q: i64, at: DateTime<Utc>, actor: &str, staff_id: Option<Uuid>) -> ShiftOpened {
    ShiftOpened {
        shift_id: Uuid::now_v7(),
        currency: "BRL".into(),
        float_q,
        business_date: day(),
        opened_at: micros(at),
        actor: actor.into(),
        staff_id,
    }
}

pub fn moved(
    shift: &ShiftOpened,
    kind: CashMoveKind,
    amount_q: i64,
    reason: &str,
    at: DateTime<Utc>,
) -> CashMoved {
    CashMoved {
        movement_id: Uuid::now_v7(),
        shift_id: shift.shift_id,
        kind,
        currency: shift.currency.clone(),
        amount_q,
        reason: reason.into(),
        at: micros(at),
        actor: "Ana".into(),
        staff_id: None,
        approved_by: None,
    }
}

pub fn closed(figures: ShiftFigures, approved_by: Option<Uuid>) -> ShiftClosed {
    ShiftClosed {
        shift_id: figures.shift_id,
        closed_at: figures.closed_at.expect("a close's figures carry its time"),
        figures,
        actor: "Ana".into(),
        staff_id: None,
        approved_by,
    }
}

pub fn so(x: &ShiftOpened) -> EventPayload {
    EventPayload::ShiftOpened(x.clone())
}
pub fn sm(x: &CashMoved) -> EventPayload {
    EventPayload::CashMoved(x.clone())
}
pub fn sc(x: &ShiftClosed) -> EventPayload {
    EventPayload::ShiftClosed(x.clone())
}

/// What the shift's events add up to, summed here one event at a time (the rules of
/// `ShiftFigures`, written again): `orders` with whether each ended cancelled.
pub struct Pushed<'a> {
    pub shift: &'a ShiftOpened,
    pub orders: Vec<(&'a OrderCommitted, bool)>,
    pub payments: Vec<&'a PaymentRecorded>,
    pub refunds: Vec<&'a RefundRecorded>,
    pub moves: Vec<&'a CashMoved>,
}

pub fn expect(x: &Pushed, closed_at: Option<DateTime<Utc>>, counted: Option<i64>) -> ShiftFigures {
    let mut f = ShiftFigures {
        shift_id: x.shift.shift_id,
        currency: x.shift.currency.clone(),
        business_date: x.shift.business_date,
        opened_at: x.shift.opened_at,
        closed_at,
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
        float_q: x.shift.float_q,
        cash_sales_q: 0,
        cash_refunds_q: 0,
        cash_in_q: 0,
        cash_out_q: 0,
        expected_cash_q: 0,
        counted_q: counted,
        difference_q: None,
    };
    let mut taxes: BTreeMap<i64, TaxLine> = BTreeMap::new();
    let mut products: BTreeMap<String, SalesFigure> = BTreeMap::new();
    let mut categories: BTreeMap<String, SalesFigure> = BTreeMap::new();
    let mut by_time: Vec<(DateTime<Utc>, &str)> = Vec::new();
    for (o, cancelled) in &x.orders {
        by_time.push((micros(o.committed_at), &o.order_ref));
        if *cancelled {
            f.cancelled_count += 1;
            f.cancelled_q += o.total_q;
            continue;
        }
        f.order_count += 1;
        f.sales_q += o.total_q;
        f.discounts_q += o.discount_q + o.lines.iter().map(|l| l.discount_q).sum::<i64>();
        f.tax_q += o.tax_q;
        for t in &o.taxes {
            let e = taxes.entry(t.rate_bp).or_insert(TaxLine {
                rate_bp: t.rate_bp,
                base_q: 0,
                tax_q: 0,
                gross_q: 0,
            });
            e.base_q += t.base_q;
            e.tax_q += t.tax_q;
            e.gross_q += t.gross_q;
        }
        for l in &o.lines {
            let gross =
                tax::line_gross(o.tax_mode, l.total_q, l.order_discount_q, l.tax_q).unwrap();
            let p = products.entry(l.sku.clone()).or_insert(SalesFigure {
                key: l.sku.clone(),
                name: String::new(),
                qty: 0,
                gross_q: 0,
            });
            p.name = p.name.clone().max(l.name.clone());
            p.qty += l.qty;
            p.gross_q += gross;
            let key = l.category.clone().unwrap_or_default();
            let c = categories.entry(key.clone()).or_insert(SalesFigure {
                key,
                name: String::new(),
                qty: 0,
                gross_q: 0,
            });
            c.qty += l.qty;
            c.gross_q += gross;
        }
    }
    by_time.sort();
    f.first_ref = by_time.first().map(|t| t.1.to_string());
    f.last_ref = by_time.last().map(|t| t.1.to_string());
    f.taxes = taxes.into_values().collect();
    f.by_product = products.into_values().collect();
    f.by_category = categories.into_values().collect();
    let mut tenders: BTreeMap<String, TenderFigure> = BTreeMap::new();
    let tender = |tenders: &mut BTreeMap<String, TenderFigure>, m: &str| {
        tenders
            .entry(m.to_string())
            .or_insert(TenderFigure {
                method: m.into(),
                count: 0,
                amount_q: 0,
                refunded_q: 0,
                declined: 0,
                fee_q: 0,
            })
            .clone()
    };
    for p in &x.payments {
        let mut t = tender(&mut tenders, &p.method);
        if p.outcome == PaymentOutcome::Approved {
            t.count += 1;
            t.amount_q += p.amount_q;
            t.fee_q += p.fee_q;
            if p.method == CASH {
                f.cash_sales_q += p.amount_q + p.rounding_q;
            }
        } else {
            t.declined += 1;
        }
        tenders.insert(p.method.clone(), t);
    }
    for r in &x.refunds {
        f.refund_count += 1;
        f.refunds_q += r.amount_q;
        for rt in &r.tenders {
            let mut t = tender(&mut tenders, &rt.method);
            t.refunded_q += rt.amount_q;
            tenders.insert(rt.method.clone(), t);
            if rt.method == CASH {
                f.cash_refunds_q += rt.amount_q;
            }
        }
    }
    f.tenders = tenders.into_values().collect();
    let mut moves = x.moves.clone();
    moves.sort_by_key(|m| (m.at, m.movement_id));
    for m in moves {
        match m.kind {
            CashMoveKind::In => f.cash_in_q += m.amount_q,
            CashMoveKind::Out => f.cash_out_q += m.amount_q,
            CashMoveKind::NoSale => {}
        }
        f.movements.push(CashMovementFigure {
            kind: m.kind,
            amount_q: m.amount_q,
            reason: m.reason.clone(),
            at: m.at,
            actor: m.actor.clone(),
        });
    }
    f.expected_cash_q = f.float_q + f.cash_sales_q - f.cash_refunds_q + f.cash_in_q - f.cash_out_q;
    f.difference_q = counted.map(|c| c - f.expected_cash_q);
    f
}
