//! Cash-drawer shifts, staff and receipts: a day at the till from float to count.
//!
//! Here, through the book's API: a day of two shifts whose X- and Z-reports are checked field by
//! field against figures summed in this file from the book's orders, payments, refunds and cash
//! movements, by the definition in `tillbook_protocol::shift` (counted orders are the shift's
//! orders not cancelled; tenders, refunds and movements are those recorded in the shift;
//! expected cash = float + cash kept (amount + rounding) − cash refunds + in − out).
//! `bad_input`: every refused action with its code, nothing written; wrong PINs, their delay and
//! the lockout. `cli`: the `tillbook` commands (`--json`, receipts as text and ESC/POS).
//! `pins`: PINs never in clear.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tillbook_orderbook::payment::TEST_DECLINES;
use tillbook_orderbook::{
    Book, CashMoveKind, CashMovementFigure, Clock, CommitOptions, InitOptions, ManualTime, PayOptions, ProductRecord,
    RefundBy, RefundRequest, SalesFigure, ShiftFigures, ShiftView, TenderFigure, Tender, BOOK_FILE,
};
use tillbook_protocol::events::PaymentOutcome;
use tillbook_protocol::tax::{TaxLine, TaxMode};
use uuid::Uuid;

use crate::support::{manager_approves, product, sign_in_cashier, TempBook};

mod bad_input;
mod cli;
mod pins;

const GOOD_CARD: &str = "4242424242424242";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap()
}

/// A book with no shift open yet, on a manual clock: a café catalog in three categories and one
/// product without, tax included at 12 % (Coffee 18 %, Bakery 7 %), pix offered, card fees, cash
/// rounded to 5, and a payment window long enough that no order is swept while the day goes on.
fn cafe() -> (TempBook, ManualTime) {
    let (t, time, _) = cafe_on_clock();
    (t, time)
}

/// [`cafe`], and its clock (to reopen the book on it).
fn cafe_on_clock() -> (TempBook, ManualTime, Clock) {
    let dir = tempfile::tempdir().unwrap();
    let (clock, time) = Clock::manual(start());
    let book = Book::init(&dir.path().join(BOOK_FILE), InitOptions::default()).unwrap().with_clock(clock.clone());
    let mut t = TempBook { dir, book };
    let in_category = |sku: &str, name: &str, price_q: i64, category: Option<&str>| ProductRecord {
        name: name.into(),
        category: category.map(str::to_string),
        ..product(sku, price_q)
    };
    t.book
        .upsert_products(&[
            in_category("ESPRESSO", "Espresso", 500, Some("Coffee")),
            in_category("LATTE", "Latte", 750, Some("Coffee")),
            in_category("CROISSANT", "Croissant", 650, Some("Bakery")),
            in_category("CARROT", "Carrot Cake", 800, None),
            in_category("MUG", "Mug", 1652, Some("Gifts")),
        ])
        .unwrap();
    for (k, v) in [
        ("tender_methods", "pix"),
        ("fees", "card=10+2%,pix=0+1%"),
        ("cash_rounding", "5"),
        ("tax_rate", "12"),
        ("category_tax", "Coffee=18,Bakery=7"),
        ("payment_window_mins", "10080"),
    ] {
        t.book.set_setting(k, v).unwrap();
    }
    (t, time, clock)
}

/// Rings up `lines` (SKU, qty, line discount) with an order discount; the order's reference.
fn ring(t: &mut TempBook, lines: &[(&str, i64, i64)], discount_q: i64) -> String {
    let key = t.book.open_session(None, None).unwrap().session_key;
    for (sku, qty, line_discount) in lines {
        let l = t.book.add_line(&key, sku, *qty, None).unwrap();
        if *line_discount > 0 {
            t.book.set_line_discount(&key, &l.line_id, *line_discount).unwrap();
        }
    }
    if discount_q > 0 {
        t.book.set_discount(&key, discount_q).unwrap();
    }
    t.book.commit(&key, &key, CommitOptions::default()).unwrap().order_ref
}

fn pay(t: &mut TempBook, order_ref: &str, tenders: &[Tender]) -> tillbook_orderbook::PayOutcome {
    t.book.pay(order_ref, tenders, PayOptions::default()).unwrap()
}

fn cash(tendered_q: i64) -> Tender {
    Tender::Cash { tendered_q }
}

fn card(number: &str, amount_q: Option<i64>) -> Tender {
    Tender::Card { number: number.into(), amount_q }
}

fn refund(key: &str, by: RefundBy, restock: bool) -> RefundRequest {
    RefundRequest { by, restock, idempotency_key: key.into(), actor: "ignored".into(), reason: Some("test".into()) }
}

/// Adds units and money to the figure of `key` in `map`.
fn add_sales(map: &mut BTreeMap<String, SalesFigure>, key: &str, name: &str, qty: i64, gross_q: i64) {
    let f = map.entry(key.to_string()).or_insert_with(|| SalesFigure { key: key.into(), name: String::new(), qty: 0, gross_q: 0 });
    f.name = f.name.clone().max(name.to_string());
    f.qty += qty;
    f.gross_q += gross_q;
}

/// The figure of tender method `m` in `map`, made empty when new.
fn tender<'a>(map: &'a mut BTreeMap<String, TenderFigure>, m: &str) -> &'a mut TenderFigure {
    map.entry(m.to_string()).or_insert(TenderFigure { method: m.into(), count: 0, amount_q: 0, refunded_q: 0, declined: 0, fee_q: 0 })
}

/// The figures of `shift`, summed here from the book's orders (`Book::order`: lines, taxes,
/// payments, refunds) and its `cash_movements` table, by the definition of
/// `tillbook_protocol::shift::ShiftFigures`.
fn independent(book: &Book, shift: &ShiftView, closed_at: Option<DateTime<Utc>>, counted_q: Option<i64>) -> ShiftFigures {
    let id = Some(shift.shift_id);
    let orders: Vec<_> = book.orders(None, 10_000).unwrap().into_iter().map(|o| book.order(&o.order_ref).unwrap()).collect();
    let mut f = ShiftFigures {
        shift_id: shift.shift_id,
        currency: shift.currency.clone(),
        business_date: shift.business_date,
        opened_at: shift.opened_at,
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
        float_q: shift.float_q,
        cash_sales_q: 0,
        cash_refunds_q: 0,
        cash_in_q: 0,
        cash_out_q: 0,
        expected_cash_q: 0,
        counted_q,
        difference_q: None,
    };
    let mut in_shift: Vec<_> = orders.iter().filter(|o| o.shift_id == id).collect();
    in_shift.sort_by(|a, b| (a.committed_at, &a.order_ref).cmp(&(b.committed_at, &b.order_ref)));
    f.first_ref = in_shift.first().map(|o| o.order_ref.clone());
    f.last_ref = in_shift.last().map(|o| o.order_ref.clone());
    let (mut products, mut categories, mut taxes) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::<i64, TaxLine>::new());
    for o in &in_shift {
        if o.status == "cancelled" {
            f.cancelled_count += 1;
            f.cancelled_q += o.total_q;
            continue;
        }
        f.order_count += 1;
        f.sales_q += o.total_q;
        f.tax_q += o.tax_q;
        f.discounts_q += o.discount_q + o.lines.iter().map(|l| l.discount_q).sum::<i64>();
        for t in &o.taxes {
            let r = taxes.entry(t.rate_bp).or_insert(TaxLine { rate_bp: t.rate_bp, base_q: 0, tax_q: 0, gross_q: 0 });
            r.base_q += t.base_q;
            r.tax_q += t.tax_q;
            r.gross_q += t.gross_q;
        }
        for l in &o.lines {
            // What the customer paid for the line: after both discounts, tax included.
            let tax_on_top = if o.tax_mode == Some(TaxMode::Exclusive) { l.tax_q } else { 0 };
            let gross = l.total_q - l.order_discount_q + tax_on_top;
            add_sales(&mut products, &l.sku, &l.name, l.qty, gross);
            add_sales(&mut categories, l.category.as_deref().unwrap_or(""), "", l.qty, gross);
        }
    }
    f.taxes = taxes.into_values().collect();
    f.by_product = products.into_values().collect();
    f.by_category = categories.into_values().collect();

    // Money recorded in the shift, whichever shift sold the order.
    let mut tenders: BTreeMap<String, TenderFigure> = BTreeMap::new();
    for o in &orders {
        for p in o.payments.iter().filter(|p| p.shift_id == id) {
            let t = tender(&mut tenders, &p.method);
            match p.outcome {
                PaymentOutcome::Approved => {
                    t.count += 1;
                    t.amount_q += p.amount_q;
                    t.fee_q += p.fee_q;
                    if p.method == "cash" {
                        f.cash_sales_q += p.amount_q + p.rounding_q;
                    }
                }
                PaymentOutcome::Declined => t.declined += 1,
            }
        }
        for r in o.refunds.iter().filter(|r| r.shift_id == id) {
            f.refund_count += 1;
            f.refunds_q += r.amount_q;
            for rt in &r.tenders {
                let t = tender(&mut tenders, &rt.method);
                t.refunded_q += rt.amount_q;
                if rt.method == "cash" {
                    f.cash_refunds_q += rt.amount_q;
                }
            }
        }
    }
    f.tenders = tenders.into_values().collect();

    let mut stmt = book
        .connection()
        .prepare("SELECT kind, amount_q, reason, at, actor FROM cash_movements WHERE shift_id = ?1 ORDER BY at, movement_id")
        .unwrap();
    let rows = stmt.query_map([shift.shift_id.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?, r.get(4)?)));
    for row in rows.unwrap() {
        let (kind, amount_q, reason, at, actor): (String, i64, String, String, String) = row.unwrap();
        let kind = CashMoveKind::parse(&kind).unwrap();
        match kind {
            CashMoveKind::In => f.cash_in_q += amount_q,
            CashMoveKind::Out => f.cash_out_q += amount_q,
            CashMoveKind::NoSale => assert_eq!(amount_q, 0, "a no-sale moves no money"),
        }
        let at = DateTime::parse_from_rfc3339(&at).unwrap().with_timezone(&Utc);
        f.movements.push(CashMovementFigure { kind, amount_q, reason, at, actor });
    }
    f.expected_cash_q = f.float_q + f.cash_sales_q - f.cash_refunds_q + f.cash_in_q - f.cash_out_q;
    f.difference_q = counted_q.map(|c| c - f.expected_cash_q);
    f
}

/// Field by field, so a difference names its field.
fn assert_figures(got: &ShiftFigures, want: &ShiftFigures, what: &str) {
    let g = serde_json::to_value(got).unwrap();
    let w = serde_json::to_value(want).unwrap();
    for (k, v) in w.as_object().unwrap() {
        assert_eq!(&g[k], v, "{what}: field {k}");
    }
    assert_eq!(got, want, "{what}");
}

/// Two shifts of a day. The first sells an order paid in cash and one left unpaid, and closes
/// even. The second is where the day happens: a split of card, pix and cash with change, a
/// declined card, cash rounded to the coin, an order sold with tax on top, a partial refund by
/// amount and one by line (a manager's PIN), an unpaid order and a paid one cancelled, the first
/// shift's unpaid order paid and its paid one partly refunded (money of this shift, sales of the
/// other), cash in, cash out and a no-sale. Its X-report and then its Z-report at the close equal
/// the figures summed here, every field.
#[test]
fn x_and_z_reports_equal_an_independent_sum_over_the_shift() {
    let (mut t, time) = cafe();
    let tick = |time: &ManualTime| time.advance(Duration::seconds(61));
    let bia = sign_in_cashier(&mut t.book, "Bia", "5150");

    // The first shift.
    let first = t.book.open_shift(5_000).unwrap();
    assert_eq!((first.status.as_str(), first.float_q, first.opened_by.as_str()), ("open", 5_000, "Bia"));
    let early_paid = ring(&mut t, &[("ESPRESSO", 2, 0)], 0);
    pay(&mut t, &early_paid, &[cash(1_000)]);
    tick(&time);
    let early_unpaid = ring(&mut t, &[("LATTE", 1, 0)], 0);
    tick(&time);
    let x = t.book.x_report().unwrap();
    assert_figures(&x, &independent(&t.book, &first, None, None), "first shift's X-report");
    let closed = t.book.close_shift(6_000).unwrap();
    let z = independent(&t.book, &first, Some(start() + Duration::seconds(122)), Some(6_000));
    assert_figures(&closed.figures, &z, "first shift's Z-report");
    assert_eq!((z.order_count, z.sales_q, z.cash_sales_q, z.expected_cash_q, z.difference_q), (2, 1_750, 1_000, 6_000, Some(0)));
    assert_eq!(closed.shift.status, "closed");
    assert_eq!((closed.shift.counted_q, closed.shift.expected_q, closed.shift.difference_q), (Some(6_000), Some(6_000), Some(0)));

    // The second shift.
    tick(&time);
    let second = t.book.open_shift(10_000).unwrap();
    assert_ne!(second.shift_id, first.shift_id);
    let mia = manager_approves(&mut t.book);
    // A split: card and pix first, the rest in cash with change.
    tick(&time);
    let split = ring(&mut t, &[("LATTE", 2, 0), ("CROISSANT", 1, 50)], 100); // 1500 + 600 − 100 = 2000
    let out = pay(&mut t, &split, &[card(GOOD_CARD, Some(600)), Tender::Method { name: "pix".into(), amount_q: Some(500) }, cash(5_000)]);
    assert_eq!((out.paid_q, out.change_due_q), (2_000, 4_100));
    // A declined card, then cash rounded to the coin: 16.52 is 16.50 in cash.
    tick(&time);
    let mug = ring(&mut t, &[("MUG", 1, 0)], 0);
    let (declining, code) = TEST_DECLINES[1];
    assert_eq!(pay(&mut t, &mug, &[card(declining, None)]).declined.unwrap().code, code);
    let p = &pay(&mut t, &mug, &[cash(2_000)]).payments[0];
    assert_eq!((p.amount_q, p.rounding_q, p.change_q), (1_652, -2, 350));
    // Tax on top for one order.
    tick(&time);
    t.book.set_setting("tax_mode", "exclusive").unwrap();
    let taxed = ring(&mut t, &[("CARROT", 2, 0)], 0);
    t.book.set_setting("tax_mode", "inclusive").unwrap();
    let taxed_total = t.book.order(&taxed).unwrap().total_q;
    assert_eq!(taxed_total, 1_600 + 192);
    pay(&mut t, &taxed, &[card(GOOD_CARD, None)]);
    // Cancellations: an unpaid order, and a paid one (a manager's PIN).
    tick(&time);
    let unpaid = ring(&mut t, &[("LATTE", 1, 0)], 0);
    t.book.cancel_order(&unpaid, "x", Some("left")).unwrap();
    tick(&time);
    let paid_then_cancelled = ring(&mut t, &[("ESPRESSO", 1, 0)], 0);
    pay(&mut t, &paid_then_cancelled, &[cash(500)]);
    let v = t.book.cancel_order(&paid_then_cancelled, "x", Some("wrong order")).unwrap();
    assert_eq!(v.events.last().unwrap().approved_by, Some(mia.staff_id));
    // Refunds: by amount (the last payment first: cash), by line (the card), both approved.
    tick(&time);
    let r = t.book.refund(&split, refund("r-amount", RefundBy::Amount(300), false)).unwrap();
    assert_eq!((r.refund.tenders[0].method.as_str(), r.refund.approved_by), ("cash", Some(mia.staff_id)));
    let r = t.book.refund(&taxed, refund("r-line", RefundBy::Lines(vec![(1, 1)]), true)).unwrap();
    assert_eq!((r.refund.amount_q, r.refund.tenders[0].method.as_str()), (896, "card"));
    // The first shift's orders: money taken and given back now.
    tick(&time);
    pay(&mut t, &early_unpaid, &[cash(750)]);
    t.book.refund(&early_paid, refund("r-early", RefundBy::Amount(200), false)).unwrap();
    // The drawer.
    tick(&time);
    t.book.cash_move(CashMoveKind::In, 2_000, "coins from the safe").unwrap();
    tick(&time);
    t.book.cash_move(CashMoveKind::Out, 1_500, "bank drop").unwrap();
    tick(&time);
    t.book.cash_move(CashMoveKind::NoSale, 0, "change for a customer").unwrap();
    let approved: Vec<(String, Option<String>)> = t
        .book
        .connection()
        .prepare("SELECT kind, approved_by FROM cash_movements WHERE shift_id = ?1 ORDER BY at")
        .unwrap()
        .query_map([second.shift_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let m = Some(mia.staff_id.to_string());
    assert_eq!(approved, [("in".into(), None), ("out".into(), m.clone()), ("no_sale".into(), m)], "cash in needs no manager");

    tick(&time);
    let want = independent(&t.book, &second, None, None);
    assert_figures(&t.book.x_report().unwrap(), &want, "second shift's X-report");
    assert_figures(&t.book.shift_figures(second.shift_id).unwrap(), &want, "shift_figures of the open shift");
    // The sums, by hand, so the independent figures are not trivially empty.
    assert_eq!((want.order_count, want.cancelled_count, want.cancelled_q), (3, 2, 1_250));
    assert_eq!(want.sales_q, 2_000 + 1_652 + 1_792);
    assert_eq!((want.refund_count, want.refunds_q, want.cash_refunds_q), (3, 300 + 896 + 200, 500));
    assert_eq!(want.cash_sales_q, 900 + 1_650 + 500 + 750);
    assert_eq!(want.tenders.iter().map(|t| (t.method.as_str(), t.count, t.declined)).collect::<Vec<_>>(), [("card", 2, 1), ("cash", 4, 0), ("pix", 1, 0)]);
    assert_eq!(want.expected_cash_q, 10_000 + 3_800 - 500 + 2_000 - 1_500);
    assert_eq!((want.first_ref.as_deref(), want.last_ref.as_deref()), (Some(split.as_str()), Some(paid_then_cancelled.as_str())));
    assert_eq!(want.by_category.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["", "Bakery", "Coffee", "Gifts"]);
    assert!(want.taxes.len() == 3 && want.discounts_q == 150, "{want:?}");

    // The close: 3 short, within the threshold, so no manager is needed.
    t.book.set_approval_pin(None);
    tick(&time);
    let closed_at = t.book.now();
    let counted = want.expected_cash_q - 300;
    let closed = t.book.close_shift(counted).unwrap();
    let z = independent(&t.book, &second, Some(closed_at), Some(counted));
    assert_figures(&closed.figures, &z, "second shift's Z-report");
    assert_eq!(z.difference_q, Some(-300));
    assert_eq!((closed.shift.closed_by.as_deref(), closed.shift.difference_q), (Some("Bia"), Some(-300)));
    assert_eq!(closed.pending, t.book.outbox_summary().unwrap().last_seq, "nothing was ever sent: every row is pending");
    // Kept: the Z-report reads back the same, and the book has no open shift.
    assert_figures(&t.book.shift_figures(second.shift_id).unwrap(), &z, "the kept Z-report");
    assert_eq!(t.book.current_shift().unwrap(), None);
    let shifts: Vec<Uuid> = t.book.shifts(10).unwrap().iter().map(|s| s.shift_id).collect();
    assert_eq!(shifts, [second.shift_id, first.shift_id], "newest first");
    assert_eq!(t.book.whoami().unwrap().staff_id, bia.staff_id);
}

/// Every event of a shift's day names who did it, and the close comes after every sale of the
/// shift in the outbox, carrying its Z-report.
#[test]
fn shift_events_are_in_the_outbox_after_the_sales_and_name_the_staff() {
    let (mut t, _) = cafe();
    let bia = sign_in_cashier(&mut t.book, "Bia", "5150");
    let mia = manager_approves(&mut t.book);
    let shift = t.book.open_shift(1_000).unwrap();
    let r = ring(&mut t, &[("ESPRESSO", 1, 0)], 0);
    pay(&mut t, &r, &[cash(500)]);
    t.book.refund(&r, refund("k", RefundBy::Amount(100), false)).unwrap();
    t.book.cash_move(CashMoveKind::Out, 300, "bank").unwrap();
    let closed = t.book.close_shift(1_100).unwrap();
    let rows = t.book.outbox(0, 100).unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["shift.opened", "order.committed", "payment.recorded", "refund.recorded", "shift.cash_moved", "shift.closed"]);
    for row in &rows {
        assert_eq!(row.payload["staff_id"], bia.staff_id.to_string(), "{} names the cashier", row.kind);
        assert_eq!(row.payload["actor"], "Bia", "{}", row.kind);
        assert_eq!(row.payload["shift_id"], shift.shift_id.to_string(), "{}", row.kind);
    }
    for i in [3, 4] {
        assert_eq!(rows[i].payload["approved_by"], mia.staff_id.to_string(), "{} names the manager", rows[i].kind);
    }
    assert_eq!(rows[5].payload["figures"], serde_json::to_value(&closed.figures).unwrap());
    assert_eq!(closed.figures.expected_cash_q, 1_000 + 500 - 100 - 300);
    crate::support::assert_outbox_sound(&t.book);
}
