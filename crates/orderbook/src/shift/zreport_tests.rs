//! The Z-report against an independent sum over the shift's orders, payments, refunds and cash
//! movements, computed here from the book's views and outbox (not from its SQL).

use std::collections::BTreeMap;

use tillbook_protocol::events::{EventKind, EventPayload, PaymentOutcome, CASH};
use tillbook_protocol::shift::{CashMoveKind, CashMovementFigure, SalesFigure, ShiftFigures, TenderFigure};
use tillbook_protocol::tax::{self, TaxLine};
use uuid::Uuid;

use crate::payment::{RefundBy, RefundRequest, Tender};
use crate::testkit::{kit, Kit, MANAGER_PIN};
use crate::{CommitOptions, OrderView, PayOptions, ProductRecord};

fn sell(k: &mut Kit, lines: &[(&str, i64)], line_discount: i64, discount: i64) -> String {
    let s = k.book.open_session(None, None).unwrap().session_key;
    for (sku, qty) in lines {
        k.book.add_line(&s, sku, *qty, None).unwrap();
    }
    if line_discount > 0 {
        k.book.set_line_discount(&s, "L1", line_discount).unwrap();
    }
    if discount > 0 {
        k.book.set_discount(&s, discount).unwrap();
    }
    k.tick();
    k.book.commit(&s, &s, CommitOptions::default()).unwrap().order_ref
}

fn pay(k: &mut Kit, order_ref: &str, tenders: &[Tender]) {
    k.tick();
    k.book.pay(order_ref, tenders, PayOptions::default()).unwrap();
}

fn refund(k: &mut Kit, order_ref: &str, key: &str, by: RefundBy) {
    k.tick();
    let req = RefundRequest { by, restock: true, idempotency_key: key.into(), actor: "x".into(), reason: None };
    k.book.refund(order_ref, req).unwrap();
}

fn card(amount_q: Option<i64>) -> Tender {
    Tender::Card { number: "4242424242424242".into(), amount_q }
}

fn rename(k: &mut Kit, sku: &str, name: &str, category: Option<&str>) {
    let mut p: ProductRecord =
        tillbook_protocol::catalog::demo_products().into_iter().find(|p| p.sku == sku).unwrap();
    p.name = name.into();
    p.category = category.map(str::to_string);
    p.currency = Some("BRL".into());
    k.book.upsert_products(&[p]).unwrap();
}

/// The figures of shift `id` summed from every order's view and the outbox's cash movements.
fn independent(k: &Kit, id: Uuid, float_q: i64) -> ShiftFigures {
    let all: Vec<OrderView> =
        k.book.orders(None, 10_000).unwrap().iter().map(|o| k.book.order(&o.order_ref).unwrap()).collect();
    let mut ours: Vec<&OrderView> = all.iter().filter(|o| o.shift_id == Some(id)).collect();
    ours.sort_by(|a, b| (a.committed_at, &a.order_ref).cmp(&(b.committed_at, &b.order_ref)));
    let counted: Vec<&&OrderView> = ours.iter().filter(|o| o.status != "cancelled").collect();
    let cancelled: Vec<&&OrderView> = ours.iter().filter(|o| o.status == "cancelled").collect();
    let shift = k.book.shift(id).unwrap();
    let mut f = ShiftFigures {
        shift_id: id,
        currency: "BRL".into(),
        business_date: shift.business_date,
        opened_at: shift.opened_at,
        closed_at: None,
        order_count: counted.len() as i64,
        first_ref: ours.first().map(|o| o.order_ref.clone()),
        last_ref: ours.last().map(|o| o.order_ref.clone()),
        sales_q: counted.iter().map(|o| o.total_q).sum(),
        discounts_q: counted.iter().map(|o| o.discount_q + o.lines.iter().map(|l| l.discount_q).sum::<i64>()).sum(),
        tax_q: counted.iter().map(|o| o.tax_q).sum(),
        taxes: Vec::new(),
        by_product: Vec::new(),
        by_category: Vec::new(),
        tenders: Vec::new(),
        refund_count: 0,
        refunds_q: 0,
        cancelled_count: cancelled.len() as i64,
        cancelled_q: cancelled.iter().map(|o| o.total_q).sum(),
        movements: Vec::new(),
        float_q,
        cash_sales_q: 0,
        cash_refunds_q: 0,
        cash_in_q: 0,
        cash_out_q: 0,
        expected_cash_q: 0,
        counted_q: None,
        difference_q: None,
    };
    let mut taxes: BTreeMap<i64, TaxLine> = BTreeMap::new();
    let mut products: BTreeMap<String, SalesFigure> = BTreeMap::new();
    let mut categories: BTreeMap<String, SalesFigure> = BTreeMap::new();
    for o in &counted {
        for t in &o.taxes {
            let e = taxes.entry(t.rate_bp).or_insert(TaxLine { rate_bp: t.rate_bp, base_q: 0, tax_q: 0, gross_q: 0 });
            (e.base_q, e.tax_q, e.gross_q) = (e.base_q + t.base_q, e.tax_q + t.tax_q, e.gross_q + t.gross_q);
        }
        for l in &o.lines {
            let gross = tax::line_gross(o.tax_mode, l.total_q, l.order_discount_q, l.tax_q).unwrap();
            let p = products.entry(l.sku.clone()).or_insert(SalesFigure { key: l.sku.clone(), name: String::new(), qty: 0, gross_q: 0 });
            p.name = p.name.clone().max(l.name.clone());
            (p.qty, p.gross_q) = (p.qty + l.qty, p.gross_q + gross);
            let key = l.category.clone().unwrap_or_default();
            let c = categories.entry(key.clone()).or_insert(SalesFigure { key, name: String::new(), qty: 0, gross_q: 0 });
            (c.qty, c.gross_q) = (c.qty + l.qty, c.gross_q + gross);
        }
    }
    f.taxes = taxes.into_values().collect();
    f.by_product = products.into_values().collect();
    f.by_category = categories.into_values().collect();
    // Payments and refunds recorded in the shift, whichever shift sold their order.
    let mut tenders: BTreeMap<String, TenderFigure> = BTreeMap::new();
    let blank = |m: &str| TenderFigure { method: m.into(), count: 0, amount_q: 0, refunded_q: 0, declined: 0, fee_q: 0 };
    for p in all.iter().flat_map(|o| &o.payments).filter(|p| p.shift_id == Some(id)) {
        let t = tenders.entry(p.method.clone()).or_insert_with(|| blank(&p.method));
        if p.outcome == PaymentOutcome::Approved {
            (t.count, t.amount_q, t.fee_q) = (t.count + 1, t.amount_q + p.amount_q, t.fee_q + p.fee_q);
            if p.method == CASH {
                f.cash_sales_q += p.amount_q + p.rounding_q;
            }
        } else {
            t.declined += 1;
        }
    }
    for r in all.iter().flat_map(|o| &o.refunds).filter(|r| r.shift_id == Some(id)) {
        f.refund_count += 1;
        f.refunds_q += r.amount_q;
        for t in &r.tenders {
            tenders.entry(t.method.clone()).or_insert_with(|| blank(&t.method)).refunded_q += t.amount_q;
            if t.method == CASH {
                f.cash_refunds_q += t.amount_q;
            }
        }
    }
    f.tenders = tenders.into_values().collect();
    let mut moves: Vec<(chrono::DateTime<chrono::Utc>, Uuid, CashMovementFigure)> = Vec::new();
    for row in k.book.outbox(0, 10_000).unwrap().into_iter().filter(|r| r.kind == EventKind::CashMoved.as_str()) {
        let EventPayload::CashMoved(c) = EventPayload::from_value(EventKind::CashMoved, row.payload).unwrap() else { unreachable!() };
        if c.shift_id == id {
            match c.kind {
                CashMoveKind::In => f.cash_in_q += c.amount_q,
                CashMoveKind::Out => f.cash_out_q += c.amount_q,
                CashMoveKind::NoSale => {}
            }
            let m = CashMovementFigure { kind: c.kind, amount_q: c.amount_q, reason: c.reason, at: c.at, actor: c.actor };
            moves.push((c.at, c.movement_id, m));
        }
    }
    moves.sort_by_key(|m| (m.0, m.1));
    f.movements = moves.into_iter().map(|m| m.2).collect();
    f.expected_cash_q = float_q + f.cash_sales_q - f.cash_refunds_q + f.cash_in_q - f.cash_out_q;
    f
}

#[test]
fn the_z_report_equals_an_independent_sum_over_the_shift() {
    let mut k = kit();
    k.book.set_setting("tender_methods", "pix").unwrap();
    k.book.set_setting("fees", "pix=10+1%,card=0+2%").unwrap();
    k.book.set_setting("category_tax", "Coffee=18,Bakery=7").unwrap();
    k.book.set_setting("tax_rate", "12").unwrap();
    k.book.set_setting("cash_rounding", "5").unwrap();
    // An order of the previous shift, refunded in part during the next one.
    let earlier = sell(&mut k, &[("LATTE", 2)], 0, 0);
    pay(&mut k, &earlier, &[card(None)]);
    let expected = k.book.x_report().unwrap().expected_cash_q;
    k.book.close_shift(expected).unwrap();

    k.tick();
    let shift = k.book.open_shift(10_000).unwrap();
    let id = shift.shift_id;
    k.book.cash_move(CashMoveKind::In, 2_000, "coins from the safe").unwrap();
    // A split tender (card, then cash with change), with a line and an order discount.
    let o1 = sell(&mut k, &[("ESPRESSO", 3), ("CROISSANT", 1)], 100, 150);
    pay(&mut k, &o1, &[card(Some(1_000)), Tender::Cash { tendered_q: 5_000 }]);
    let o2 = sell(&mut k, &[("LATTE", 1), ("CARROT_CAKE", 2)], 0, 0);
    pay(&mut k, &o2, &[Tender::Method { name: "pix".into(), amount_q: None }]);
    // A declined card before the cash.
    let o3 = sell(&mut k, &[("CAPPUCCINO", 1)], 0, 0);
    let declined = k.book.pay(&o3, &[Tender::Card { number: "4000000000009995".into(), amount_q: None }], PayOptions::default()).unwrap();
    assert!(declined.declined.is_some());
    pay(&mut k, &o3, &[Tender::Cash { tendered_q: 1_000 }]);
    // Cancelled: one unpaid, one paid (with a manager's PIN).
    let o4 = sell(&mut k, &[("ESPRESSO", 1)], 0, 0);
    k.book.cancel_order(&o4, "x", None).unwrap();
    let o5 = sell(&mut k, &[("PAIN_AU_CHOCOLAT", 2)], 0, 0);
    pay(&mut k, &o5, &[Tender::Cash { tendered_q: 2_000 }]);
    k.approve_as_manager();
    k.book.cancel_order(&o5, "x", None).unwrap();
    // The catalog changes mid-shift: lines keep what was sold.
    rename(&mut k, "LATTE", "Latte Grande", Some("Coffee"));
    rename(&mut k, "CARROT_CAKE", "Carrot Cake", Some("Cakes"));
    k.book.set_setting("tax_mode", "exclusive").unwrap();
    let o6 = sell(&mut k, &[("LATTE", 1), ("CARROT_CAKE", 1), ("RING", 1)], 0, 0);
    let due = k.book.order(&o6).unwrap().total_q;
    pay(&mut k, &o6, &[card(Some(25_000)), Tender::Cash { tendered_q: due }]);
    // A partial refund by line (cash first: o1's cash was paid last) and one of the earlier shift's order.
    refund(&mut k, &o1, "r1", RefundBy::Lines(vec![(1, 1)]));
    refund(&mut k, &earlier, "r2", RefundBy::Amount(300));
    k.tick();
    k.book.cash_move(CashMoveKind::Out, 1_500, "bank drop").unwrap();
    k.book.cash_move(CashMoveKind::NoSale, 0, "change for a customer").unwrap();
    k.book.set_approval_pin(Some(MANAGER_PIN.into()));

    let mut want = independent(&k, id, 10_000);
    assert_eq!(k.book.x_report().unwrap(), want, "the X-report");
    let out = k.book.close_shift(want.expected_cash_q + 37).unwrap();
    (want.closed_at, want.counted_q, want.difference_q) = (Some(k.book.now()), Some(want.expected_cash_q + 37), Some(37));
    assert_eq!(out.figures, want, "the Z-report");
    assert_eq!(k.book.shift_figures(id).unwrap(), want);

    // The scenario covered what it meant to.
    let z = &out.figures;
    assert_eq!((z.order_count, z.cancelled_count, z.refund_count), (4, 2, 2));
    assert_eq!((z.first_ref.as_deref(), z.last_ref.as_deref()), (Some(o1.as_str()), Some(o6.as_str())));
    let card_t = z.tenders.iter().find(|t| t.method == "card").unwrap();
    assert_eq!((card_t.count, card_t.declined, card_t.refunded_q), (2, 1, 300), "the earlier shift's card gave back 300 here");
    assert!(z.tenders.iter().any(|t| t.method == "pix" && t.fee_q > 0));
    assert!(z.cash_refunds_q > 0 && z.discounts_q == 250);
    assert!(z.by_category.iter().any(|c| c.key.is_empty()) && z.by_category.iter().any(|c| c.key == "Cakes"));
    assert!(z.by_product.iter().any(|p| p.key == "LATTE" && p.name == "Latte Grande" && p.qty == 2));
    assert!(z.taxes.len() >= 3 && z.movements.len() == 3);
    let o6v = k.book.order(&o6).unwrap();
    assert!(o6v.payments.iter().any(|p| p.rounding_q != 0), "cash rounding is in the drawer's cash: {:?}", o6v.payments);
}
