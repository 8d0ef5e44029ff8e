//! Payments, refunds and the payment window, through the book's public API and the `tillbook`
//! command: every rule and error code, the outbox rows they write, and refunds raced by two
//! books on one file.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use tillbook_orderbook::payment::TEST_DECLINES;
use tillbook_orderbook::{
    Book, Clock, CommitOptions, ErrorCode, ManualTime, PayOptions, PaymentStatus, RefundBy, RefundRequest, StockReason,
    Tender, BOOK_FILE,
};
use tillbook_protocol::events::{EventKind, EventPayload, PaymentOutcome, PaymentRecorded, RefundRecorded};

use crate::support::{assert_outbox_sound, manager_approves, sign_in_cashier, stocked_book, TempBook, MANAGER_PIN};

mod cli;

const GOOD_CARD: &str = "4242424242424242";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

/// A book with A (500), B (700), C (650), 100 of each, on a manual clock; pix and voucher
/// offered. The cashier "ana" is signed in (every event records her) and a manager's PIN
/// approves what a cashier may not do alone: refunds and cancelling a paid order need it since
/// staff and permissions came in.
fn till() -> (TempBook, ManualTime) {
    let (t, time, _) = till_with_manager();
    (t, time)
}

/// [`till`], and the id of the manager whose PIN approves.
fn till_with_manager() -> (TempBook, ManualTime, uuid::Uuid) {
    let (clock, time) = Clock::manual(start());
    let mut t = stocked_book(100).with_clock(clock);
    t.book.set_setting("tender_methods", "pix,voucher").unwrap();
    sign_in_cashier(&mut t.book, "ana", "4711");
    let mia = manager_approves(&mut t.book);
    (t, time, mia.staff_id)
}

/// Sells `lines` and returns the order reference.
fn sell(t: &mut TempBook, lines: &[(&str, i64)]) -> String {
    let key = t.book.open_session(None, None).unwrap().session_key;
    for (sku, qty) in lines {
        t.book.add_line(&key, sku, *qty, None).unwrap();
    }
    t.book.commit(&key, &key, CommitOptions::default()).unwrap().order_ref
}

fn opts() -> PayOptions {
    PayOptions { actor: "ana".into() }
}

fn cash(tendered_q: i64) -> Tender {
    Tender::Cash { tendered_q }
}

fn card(number: &str, amount_q: Option<i64>) -> Tender {
    Tender::Card { number: number.into(), amount_q }
}

fn method(name: &str, amount_q: Option<i64>) -> Tender {
    Tender::Method { name: name.into(), amount_q }
}

fn by_amount(key: &str, amount_q: i64) -> RefundRequest {
    RefundRequest { by: RefundBy::Amount(amount_q), restock: false, idempotency_key: key.into(), actor: "ana".into(), reason: None }
}

fn by_lines(key: &str, lines: &[(i64, i64)], restock: bool) -> RefundRequest {
    RefundRequest { by: RefundBy::Lines(lines.to_vec()), restock, ..by_amount(key, 1) }
}

fn code<T: std::fmt::Debug>(r: tillbook_orderbook::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code
}

fn count(t: &TempBook, sql: &str) -> i64 {
    t.book.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Everything a payment or refund could write, to show a failed call wrote nothing.
fn fingerprint(t: &TempBook) -> Vec<i64> {
    [
        "SELECT COUNT(*) FROM payments",
        "SELECT COUNT(*) FROM refunds",
        "SELECT COUNT(*) FROM refund_tenders",
        "SELECT COUNT(*) FROM refund_lines",
        "SELECT COUNT(*) FROM outbox",
        "SELECT COUNT(*) FROM stock_ledger",
        "SELECT COUNT(*) FROM order_events",
        "SELECT COALESCE(SUM(paid_q), 0) + COALESCE(SUM(refunded_q), 0) FROM orders",
        "SELECT COALESCE(SUM(refunded_qty), 0) FROM order_lines",
    ]
    .iter()
    .map(|q| count(t, q))
    .collect()
}

fn payments_recorded(book: &Book) -> Vec<PaymentRecorded> {
    book.outbox(0, 100_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == EventKind::PaymentRecorded.as_str())
        .map(|r| match EventPayload::from_value(EventKind::PaymentRecorded, r.payload).unwrap() {
            EventPayload::PaymentRecorded(p) => p,
            _ => unreachable!(),
        })
        .collect()
}

fn refunds_recorded(book: &Book) -> Vec<RefundRecorded> {
    book.outbox(0, 100_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == EventKind::RefundRecorded.as_str())
        .map(|r| match EventPayload::from_value(EventKind::RefundRecorded, r.payload).unwrap() {
            EventPayload::RefundRecorded(p) => p,
            _ => unreachable!(),
        })
        .collect()
}

// ---- paying ----

#[test]
fn a_split_tender_of_cash_card_and_pix_pays_the_order_with_change() {
    let (mut t, _) = till();
    t.book.set_setting("fees", "card=10+2%,pix=0+1%").unwrap();
    let r = sell(&mut t, &[("A", 2), ("B", 1)]); // 1700
    let out = t.book.pay(&r, &[card(GOOD_CARD, Some(600)), method("pix", Some(500)), cash(1000)], opts()).unwrap();
    let got: Vec<(&str, PaymentOutcome, i64, i64, i64, i64)> =
        out.payments.iter().map(|p| (p.method.as_str(), p.outcome, p.amount_q, p.tendered_q, p.change_q, p.fee_q)).collect();
    assert_eq!(
        got,
        [
            ("card", PaymentOutcome::Approved, 600, 600, 0, 22),
            ("pix", PaymentOutcome::Approved, 500, 500, 0, 5),
            ("cash", PaymentOutcome::Approved, 600, 1000, 400, 0),
        ]
    );
    assert_eq!((out.paid_q, out.amount_due_q, out.change_due_q), (1700, 0, 400));
    assert_eq!((out.payment_status, out.declined), (PaymentStatus::Paid, None));
    assert_eq!(out.payments[0].last4.as_deref(), Some("4242"));
    let v = t.book.order(&r).unwrap();
    assert_eq!((v.paid_q, v.amount_due_q, v.payment_status, v.payments.len()), (1700, 0, PaymentStatus::Paid, 3));
    assert_eq!(t.book.orders(None, 10).unwrap()[0].payment_status, PaymentStatus::Paid);
    // One outbox row per attempt, whose payload is the payment as recorded.
    let sent = payments_recorded(&t.book);
    assert_eq!(sent.len(), 3);
    for (p, w) in out.payments.iter().zip(&sent) {
        assert_eq!((w.payment_id, &w.method, w.amount_q, w.change_q, w.fee_q), (p.payment_id, &p.method, p.amount_q, p.change_q, p.fee_q));
        assert_eq!((w.order_id, w.order_ref.as_str(), w.currency.as_str(), w.actor.as_str()), (v.order_id, r.as_str(), "BRL", "ana"));
        assert_eq!(w.at, start());
    }
    assert_eq!(sent[0].card_last4.as_deref(), Some("4242"));
    assert_eq!(sent[0].reference, out.payments[0].reference);
    assert_eq!(sent[2].tendered_q, sent[2].amount_q + sent[2].rounding_q + sent[2].change_q);
    // Only the last four digits are ever kept.
    let leaks = count(&t, "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%42424242%'")
        + count(&t, "SELECT COUNT(*) FROM payments WHERE card_last4 <> '4242' OR reference LIKE '%42424242%'");
    assert_eq!(leaks, 0);
    assert_outbox_sound(&t.book);
}

#[test]
fn cash_is_rounded_to_the_smallest_coin() {
    let (mut t, _) = till();
    t.book.upsert_products(&[crate::support::product("ODD", 1652), crate::support::product("ODD2", 1653)]).unwrap();
    t.book.set_setting("cash_rounding", "5").unwrap();
    // 16.52 is 16.50 in cash: the drawer takes 2 less, change from 16.50.
    let r = sell(&mut t, &[("ODD", 1)]);
    let p = &t.book.pay(&r, &[cash(2000)], opts()).unwrap().payments[0];
    assert_eq!((p.amount_q, p.rounding_q, p.change_q, p.tendered_q), (1652, -2, 350, 2000));
    assert_eq!(t.book.order(&r).unwrap().payment_status, PaymentStatus::Paid);
    // 16.53 is 16.55 in cash, half-up.
    let r = sell(&mut t, &[("ODD2", 1)]);
    let out = t.book.pay(&r, &[cash(1655)], opts()).unwrap();
    assert_eq!((out.payments[0].amount_q, out.payments[0].rounding_q, out.change_due_q, out.amount_due_q), (1653, 2, 0, 0));
    // Less than the cash due pays itself, unrounded.
    let r = sell(&mut t, &[("ODD2", 1)]);
    let out = t.book.pay(&r, &[cash(1000)], opts()).unwrap();
    assert_eq!((out.payments[0].amount_q, out.payments[0].rounding_q, out.amount_due_q), (1000, 0, 653));
    assert_eq!(out.payment_status, PaymentStatus::PartlyPaid);
    let sent = payments_recorded(&t.book);
    assert_eq!(sent.iter().map(|p| p.rounding_q).collect::<Vec<_>>(), [-2, 2, 0]);
}

#[test]
fn every_test_card_declines_with_its_code_and_the_order_stays_payable() {
    let (mut t, _) = till();
    let r = sell(&mut t, &[("A", 1)]);
    for (i, (number, decline)) in TEST_DECLINES.iter().enumerate() {
        let out = t.book.pay(&r, &[card(number, Some(200)), cash(5000)], opts()).unwrap_or_else(|e| panic!("{number}: {e}"));
        let d = out.declined.unwrap_or_else(|| panic!("{number} was not declined"));
        assert_eq!(d.code, *decline);
        assert!(!d.message.is_empty());
        assert_eq!(out.payments.len(), 1, "{number}: the cash after the decline was not attempted");
        assert_eq!((out.payments[0].outcome, out.payments[0].decline_code.as_deref()), (PaymentOutcome::Declined, Some(*decline)));
        assert_eq!((out.amount_due_q, out.payment_status), (500, PaymentStatus::Unpaid));
        assert_eq!(payments_recorded(&t.book).len(), i + 1);
    }
    let out = t.book.pay(&r, &[card(GOOD_CARD, None)], opts()).unwrap();
    assert_eq!((out.payment_status, out.amount_due_q, out.declined), (PaymentStatus::Paid, 0, None));
    let v = t.book.order(&r).unwrap();
    assert_eq!(v.payments.iter().filter(|p| p.outcome == PaymentOutcome::Declined).count(), 4);
    assert_eq!(v.paid_q, 500);
    let sent = payments_recorded(&t.book);
    assert_eq!(sent.len(), 5);
    assert!(sent[..4].iter().all(|p| p.outcome == PaymentOutcome::Declined && p.fee_q == 0));
    // Any other valid number succeeds.
    let r = sell(&mut t, &[("A", 1)]);
    assert_eq!(t.book.pay(&r, &[card("5555 5555 5555 4444", None)], opts()).unwrap().payment_status, PaymentStatus::Paid);
}

#[test]
fn overpaying_by_card_or_method_is_refused_and_cash_gives_change() {
    let (mut t, _) = till();
    let r = sell(&mut t, &[("A", 1)]); // 500
    let before = fingerprint(&t);
    assert_eq!(code(t.book.pay(&r, &[card(GOOD_CARD, Some(501))], opts())), ErrorCode::Overpayment);
    assert_eq!(code(t.book.pay(&r, &[method("pix", Some(501))], opts())), ErrorCode::Overpayment);
    let ext = Tender::ExternalCard { last4: "1111".into(), reference: "T9".into(), amount_q: Some(600) };
    assert_eq!(code(t.book.pay(&r, &[ext], opts())), ErrorCode::Overpayment);
    // The card would have nothing left to pay after the cash.
    assert_eq!(code(t.book.pay(&r, &[cash(500), card(GOOD_CARD, None)], opts())), ErrorCode::Overpayment);
    assert_eq!(fingerprint(&t), before, "nothing written");
    let out = t.book.pay(&r, &[cash(2000)], opts()).unwrap();
    assert_eq!((out.payments[0].amount_q, out.change_due_q, out.paid_q), (500, 1500, 500));
}

#[test]
fn bad_tenders_are_refused_before_anything_is_written() {
    let (mut t, _) = till();
    let r = sell(&mut t, &[("A", 1)]);
    let before = fingerprint(&t);
    let cases: Vec<(Vec<Tender>, ErrorCode)> = vec![
        (vec![method("bitcoin", None)], ErrorCode::UnknownTender),
        (vec![method("cash", None)], ErrorCode::UnknownTender),
        (vec![cash(0)], ErrorCode::InvalidAmount),
        (vec![cash(-100)], ErrorCode::InvalidAmount),
        (vec![card(GOOD_CARD, Some(0))], ErrorCode::InvalidAmount),
        (vec![method("pix", Some(-5))], ErrorCode::InvalidAmount),
        (vec![card("4242424242424241", None)], ErrorCode::InvalidCardNumber),
        (vec![card("42424242424", None)], ErrorCode::InvalidCardNumber),
        (vec![card("42424242424242424242", None)], ErrorCode::InvalidCardNumber),
        (vec![card("4242abcd42424242", None)], ErrorCode::InvalidCardNumber),
        // The bad tender is last: the good ones before it are not applied either.
        (vec![cash(100), card(GOOD_CARD, Some(100)), card("1234567812345678", None)], ErrorCode::InvalidCardNumber),
        (vec![Tender::ExternalCard { last4: "12a4".into(), reference: "x".into(), amount_q: None }], ErrorCode::InvalidCardNumber),
        (vec![], ErrorCode::InvalidArgument),
    ];
    for (tenders, want) in cases {
        assert_eq!(code(t.book.pay(&r, &tenders, opts())), want, "{tenders:?}");
    }
    assert_eq!(code(t.book.pay("ORD-NOPE", &[cash(1)], opts())), ErrorCode::UnknownOrder);
    assert_eq!(fingerprint(&t), before);
}

#[test]
fn cancelled_and_fully_paid_orders_cannot_be_paid() {
    let (mut t, _) = till();
    let r = sell(&mut t, &[("A", 1)]);
    t.book.cancel_order(&r, "ana", None).unwrap();
    assert_eq!(code(t.book.pay(&r, &[cash(500)], opts())), ErrorCode::OrderNotPayable);
    // Nothing is due on a cancelled order, in its view and in the list.
    assert_eq!(t.book.order(&r).unwrap().amount_due_q, 0);
    assert_eq!(t.book.orders(None, 10).unwrap().iter().find(|o| o.order_ref == r).unwrap().amount_due_q, 0);
    let r = sell(&mut t, &[("A", 1)]);
    let out = t.book.pay(&r, &[method("pix", Some(200))], opts()).unwrap();
    assert_eq!((out.payment_status, out.amount_due_q), (PaymentStatus::PartlyPaid, 300));
    t.book.pay(&r, &[Tender::ExternalCard { last4: "1111".into(), reference: "TEF-77".into(), amount_q: None }], opts()).unwrap();
    let before = fingerprint(&t);
    assert_eq!(code(t.book.pay(&r, &[cash(500)], opts())), ErrorCode::AlreadyPaid);
    assert_eq!(fingerprint(&t), before);
    let v = t.book.order(&r).unwrap();
    let ext = &v.payments[1];
    assert_eq!((ext.method.as_str(), ext.amount_q, ext.last4.as_deref(), ext.reference.as_deref()), ("card", 300, Some("1111"), Some("TEF-77")));
}

// ---- the payment window ----

#[test]
fn an_unpaid_order_is_cancelled_after_the_window_and_its_stock_returned() {
    let (mut t, time) = till();
    let unpaid = sell(&mut t, &[("A", 3)]);
    let partly = sell(&mut t, &[("B", 1)]);
    let paid = sell(&mut t, &[("C", 2)]);
    t.book.pay(&partly, &[cash(100)], opts()).unwrap();
    t.book.pay(&paid, &[cash(1300)], opts()).unwrap();
    assert_eq!(t.book.order(&unpaid).unwrap().pay_by, Some(start() + Duration::minutes(15)));
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 97);
    time.advance(Duration::minutes(15) - Duration::seconds(1));
    assert!(t.book.sweep_payment_window().unwrap().is_empty(), "not yet");
    time.advance(Duration::seconds(1));
    let outbox_before = count(&t, "SELECT COUNT(*) FROM outbox");
    assert_eq!(t.book.sweep_payment_window().unwrap(), [unpaid.as_str()]);
    let v = t.book.order(&unpaid).unwrap();
    assert_eq!(v.status, "cancelled");
    let ev = v.events.last().unwrap();
    assert_eq!((ev.actor.as_str(), ev.reason.as_deref(), ev.to.as_str()), ("system", Some("payment window"), "cancelled"));
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 100, "stock returned");
    let rows = t.book.outbox(outbox_before, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].kind.as_str(), &rows[0].payload["to"], &rows[0].payload["actor"]), ("order.status_changed", &"cancelled".into(), &"system".into()));
    assert_eq!(rows[0].payload["stock_deltas"][0]["reason"], "cancel");
    assert_eq!(t.book.order(&partly).unwrap().status, "new", "partly paid: never swept");
    assert_eq!(t.book.order(&paid).unwrap().status, "new", "paid: never swept");
    time.advance(Duration::days(2));
    assert!(t.book.sweep_payment_window().unwrap().is_empty(), "a cancelled order is not cancelled again");
    assert_outbox_sound(&t.book);
}

#[test]
fn the_window_survives_a_restart() {
    let (mut t, _) = till();
    let unpaid = sell(&mut t, &[("A", 1)]);
    // Closed for the night; opened an hour later. Opening does not sweep.
    let (later, _) = Clock::manual(start() + Duration::hours(1));
    let mut t = t.reopen_with_clock(later);
    assert_eq!(t.book.order(&unpaid).unwrap().status, "new");
    assert_eq!(t.book.sweep_payment_window().unwrap(), [unpaid.as_str()]);
    assert_eq!(t.book.order(&unpaid).unwrap().status, "cancelled");
}

#[test]
fn a_clock_set_back_resets_the_deadline_instead_of_cancelling() {
    let (mut t, time) = till();
    t.book.set_setting("payment_window_mins", "30").unwrap();
    let unpaid = sell(&mut t, &[("A", 1)]);
    assert_eq!(t.book.order(&unpaid).unwrap().pay_by, Some(start() + Duration::minutes(30)));
    time.set(start() - Duration::hours(3));
    assert!(t.book.sweep_payment_window().unwrap().is_empty());
    let v = t.book.order(&unpaid).unwrap();
    assert_eq!((v.status.as_str(), v.pay_by), ("new", Some(start() - Duration::hours(3) + Duration::minutes(30))));
    // Time goes on from the clock's new reading: the reset deadline passes.
    time.advance(Duration::minutes(29));
    assert!(t.book.sweep_payment_window().unwrap().is_empty());
    // A forward jump past the committed time cancels at once.
    time.set(start() + Duration::minutes(1));
    assert_eq!(t.book.sweep_payment_window().unwrap(), [unpaid]);
}

// ---- refunds ----

/// An order of 1700 paid 1000 in cash, then 700 by card (the card is the last paid).
fn paid_order(t: &mut TempBook) -> String {
    let r = sell(t, &[("A", 2), ("B", 1)]);
    t.book.pay(&r, &[cash(1000), card(GOOD_CARD, None)], opts()).unwrap();
    r
}

#[test]
fn a_refund_by_amount_gives_back_the_last_payment_first() {
    let (mut t, _, mia) = till_with_manager();
    let r = paid_order(&mut t);
    let out = t.book.refund(&r, RefundRequest { reason: Some("cold coffee".into()), ..by_amount("r1", 900) }).unwrap();
    let tenders: Vec<(&str, i64)> = out.refund.tenders.iter().map(|x| (x.method.as_str(), x.amount_q)).collect();
    assert_eq!(tenders, [("card", 700), ("cash", 200)]);
    assert!(out.refund.tenders[0].reference.is_some(), "the card refund has the backend's reference");
    assert_eq!((out.replayed, out.refunded_q, out.payment_status), (false, 900, PaymentStatus::PartlyRefunded));
    let v = t.book.order(&r).unwrap();
    assert_eq!((v.refunded_q, v.refunds.len(), v.status.as_str()), (900, 1, "new"));
    assert_eq!(v.payments.iter().map(|p| p.refunded_q).collect::<Vec<_>>(), [200, 700]);
    let sent = refunds_recorded(&t.book);
    assert_eq!(sent.len(), 1);
    let s = &sent[0];
    assert_eq!((s.refund_id, s.amount_q, s.idempotency_key.as_str(), s.reason.as_deref()), (out.refund.refund_id, 900, "r1", Some("cold coffee")));
    assert_eq!(s.tenders.iter().map(|x| x.amount_q).sum::<i64>(), 900);
    assert_eq!((s.order_id, s.lines.len(), s.stock_deltas.len()), (v.order_id, 0, 0));
    // Given by the cashier signed in, allowed by the manager's PIN.
    assert_eq!((out.refund.actor.as_str(), out.refund.approved_by), ("ana", Some(mia)));
    assert_eq!((s.actor.as_str(), s.staff_id, s.approved_by), ("ana", out.refund.staff_id, Some(mia)));
    assert_outbox_sound(&t.book);
}

#[test]
fn a_refund_by_line_with_restock_returns_stock_and_gives_back_the_line_gross() {
    let (mut t, _) = till();
    t.book.set_setting("tax_mode", "exclusive").unwrap();
    t.book.set_setting("tax_rate", "10").unwrap();
    let key = t.book.open_session(None, None).unwrap().session_key;
    t.book.add_line(&key, "A", 3, None).unwrap();
    t.book.add_line(&key, "B", 1, None).unwrap();
    t.book.set_discount(&key, 200).unwrap();
    let r = t.book.commit(&key, "k", CommitOptions::default()).unwrap().order_ref;
    let v = t.book.order(&r).unwrap();
    t.book.pay(&r, &[cash(v.total_q)], opts()).unwrap();
    let l1 = &v.lines[0];
    let gross = l1.total_q - l1.order_discount_q + l1.tax_q;
    assert!(l1.tax_q > 0 && l1.order_discount_q > 0, "{l1:?}");
    let out = t.book.refund(&r, by_lines("l1", &[(1, 1), (1, 1)], true)).unwrap();
    assert_eq!(out.refund.lines.len(), 1, "the same line twice is one line of 2");
    assert_eq!((out.refund.lines[0].qty, out.refund.amount_q), (2, gross * 2 / 3));
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 99);
    let last = t.book.refund(&r, by_lines("l2", &[(1, 1)], true)).unwrap();
    assert_eq!(last.refund.amount_q, gross - gross * 2 / 3, "every unit refunded gives back exactly the gross");
    assert_eq!(code(t.book.refund(&r, by_lines("l3", &[(1, 1)], false))), ErrorCode::RefundExceedsSold);
    assert_eq!(code(t.book.refund(&r, by_lines("l4", &[(7, 1)], false))), ErrorCode::UnknownLine);
    // Without restock the units stay off the shelf.
    t.book.refund(&r, by_lines("l5", &[(2, 1)], false)).unwrap();
    assert_eq!(t.book.stock(Some("B")).unwrap()[0].on_hand, 99);
    let sent = refunds_recorded(&t.book);
    assert_eq!(sent.len(), 3);
    let d = &sent[0].stock_deltas;
    assert_eq!((d.len(), d[0].reason, d[0].delta, d[0].sku.as_str(), d[0].source.as_str()), (1, StockReason::Refund, 2, "A", r.as_str()));
    assert!(sent[0].restock && !sent[2].restock && sent[2].stock_deltas.is_empty());
    assert_eq!(sent[0].lines[0].amount_q, sent[0].amount_q);
    let v = t.book.order(&r).unwrap();
    assert_eq!((v.lines[0].refunded_qty, v.lines[1].refunded_qty), (3, 1));
    assert_eq!(v.refunded_q, v.paid_q, "every line given back: the whole payment");
    assert_eq!((v.status.as_str(), v.payment_status), ("refunded", PaymentStatus::Refunded));
}

#[test]
fn a_repeated_refund_is_replayed_and_a_reused_key_conflicts() {
    let (mut t, _) = till();
    let r = paid_order(&mut t);
    let first = t.book.refund(&r, by_amount("k1", 300)).unwrap();
    let state = (fingerprint(&t), t.book.order(&r).unwrap());
    let again = t.book.refund(&r, RefundRequest { actor: "bob".into(), ..by_amount("k1", 300) }).unwrap();
    assert!(again.replayed && !first.replayed);
    assert_eq!(again.refund, first.refund);
    assert_eq!((fingerprint(&t), t.book.order(&r).unwrap()), state, "the same order state");
    let other = paid_order(&mut t);
    let before = fingerprint(&t);
    assert_eq!(code(t.book.refund(&r, by_amount("k1", 301))), ErrorCode::IdempotencyConflict);
    assert_eq!(code(t.book.refund(&r, by_lines("k1", &[(1, 1)], false))), ErrorCode::IdempotencyConflict);
    assert_eq!(code(t.book.refund(&r, RefundRequest { restock: true, ..by_amount("k1", 300) })), ErrorCode::IdempotencyConflict);
    assert_eq!(code(t.book.refund(&other, by_amount("k1", 300))), ErrorCode::IdempotencyConflict);
    assert_eq!(fingerprint(&t), before);
    assert_eq!(refunds_recorded(&t.book).len(), 1);
}

#[test]
fn refunds_never_add_up_to_more_than_was_paid() {
    let (mut t, _) = till();
    let r = paid_order(&mut t); // 1700
    for i in 0..4 {
        t.book.refund(&r, by_amount(&format!("k{i}"), 400)).unwrap();
    }
    let before = fingerprint(&t);
    assert_eq!(code(t.book.refund(&r, by_amount("k4", 400))), ErrorCode::RefundExceedsPaid);
    assert_eq!(fingerprint(&t), before);
    let last = t.book.refund(&r, by_amount("k5", 100)).unwrap();
    assert_eq!((last.refunded_q, last.payment_status, last.order_status.as_str()), (1700, PaymentStatus::Refunded, "refunded"));
    assert_eq!(code(t.book.refund(&r, by_amount("k6", 1))), ErrorCode::RefundExceedsPaid);
    // The status move to refunded is an order event riding on the refund's outbox row.
    let v = t.book.order(&r).unwrap();
    let ev = v.events.last().unwrap();
    assert_eq!((ev.kind.as_str(), ev.from.as_deref(), ev.to.as_str(), ev.actor.as_str(), ev.reason.as_deref()), ("status_changed", Some("new"), "refunded", "ana", Some("fully refunded")));
    assert_eq!(count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'order.status_changed'"), 0);
    assert_eq!(refunds_recorded(&t.book).len(), 5);
    assert_eq!(code(t.book.pay(&r, &[cash(10)], opts())), ErrorCode::OrderNotPayable);
}

#[test]
fn refund_errors() {
    let (mut t, _) = till();
    let unpaid = sell(&mut t, &[("A", 1)]);
    let before = fingerprint(&t);
    assert_eq!(code(t.book.refund(&unpaid, by_amount("u", 100))), ErrorCode::NotPaid);
    let r = paid_order(&mut t);
    let before_paid = fingerprint(&t);
    assert_eq!(code(t.book.refund(&r, by_amount("z", 0))), ErrorCode::InvalidAmount);
    assert_eq!(code(t.book.refund(&r, by_amount("n", -5))), ErrorCode::InvalidAmount);
    assert_eq!(code(t.book.refund(&r, by_amount("big", 1701))), ErrorCode::RefundExceedsPaid);
    assert_eq!(code(t.book.refund(&r, by_lines("q", &[(1, 0)], false))), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.refund(&r, by_lines("q", &[(1, 3)], false))), ErrorCode::RefundExceedsSold);
    assert_eq!(code(t.book.refund(&r, by_lines("q", &[(0, 1)], false))), ErrorCode::UnknownLine);
    assert_eq!(code(t.book.refund(&r, by_amount("", 5))), ErrorCode::InvalidArgument);
    assert_eq!(code(t.book.refund("ORD-NOPE", by_amount("x", 5))), ErrorCode::UnknownOrder);
    assert_eq!(fingerprint(&t), before_paid);
    assert_ne!(before, before_paid);
}

/// Two books on one file (each its own connection, as two processes) race refunds of 200 on
/// an order of 1700: exactly 8 succeed and the sum never passes what was paid.
#[test]
fn concurrent_refunds_from_two_books_never_exceed_what_was_paid() {
    let (mut t, _) = till();
    let r = paid_order(&mut t);
    let path = t.dir.path().join(BOOK_FILE);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (path, r, barrier) = (path.clone(), r.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut book = Book::open(&path).unwrap();
                // An approval PIN belongs to the handle it is offered to.
                book.set_approval_pin(Some(MANAGER_PIN.into()));
                barrier.wait();
                let mut results = Vec::new();
                for i in 0..6 {
                    results.push(book.refund(&r, by_amount(&format!("w{w}-{i}"), 200)).map(|o| o.refund.amount_q).map_err(|e| e.code));
                }
                // The same key from both books: one refund, the other sees it.
                results.push(book.refund(&r, by_amount("shared", 100)).map(|o| if o.replayed { 0 } else { o.refund.amount_q }).map_err(|e| e.code));
                results
            })
        })
        .collect();
    let results: Vec<Result<i64, ErrorCode>> = workers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let ok: Vec<i64> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(ErrorCode::RefundExceedsPaid))), "{results:?}");
    let refunded: i64 = ok.iter().sum();
    assert_eq!(refunded, 1700, "{results:?}");
    assert_eq!(ok.iter().filter(|a| **a == 200).count(), 8, "{results:?}");
    assert_eq!((ok.iter().filter(|a| **a == 100).count(), ok.iter().filter(|a| **a == 0).count()), (1, 1), "one shared refund, one replay");
    let v = t.book.order(&r).unwrap();
    assert_eq!(v.refunded_q, refunded);
    assert_eq!(v.refunds.iter().map(|x| x.amount_q).sum::<i64>(), refunded);
    assert_eq!(v.payments.iter().map(|p| p.refunded_q).sum::<i64>(), refunded);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM refunds WHERE idempotency_key = 'shared'"), 1);
    assert_eq!(refunds_recorded(&t.book).len(), v.refunds.len());
    assert_outbox_sound(&t.book);
}

/// The `tillbook` binary beside this test executable (target/<profile>), as `situations` uses.
fn tillbook_bin() -> std::path::PathBuf {
    let dir = match std::env::var_os("TILLBOOK_BIN_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::current_exe().unwrap().parent().and_then(|p| p.parent()).unwrap().to_path_buf(),
    };
    let bin = dir.join("tillbook");
    assert!(bin.is_file(), "{} not found: build the workspace binaries (`cargo build --workspace --bins`)", bin.display());
    bin
}

/// Two OS processes at a time (`tillbook refund`, each its own connection and process-wide
/// locks) race refunds of 300 on an order of 1700: exactly 5 succeed, the others are refused
/// with `refund_exceeds_paid`, and the book's sums agree.
#[test]
fn concurrent_refunds_from_two_tillbook_processes_never_exceed_what_was_paid() {
    let (mut t, _) = till();
    let r = paid_order(&mut t);
    let dir = t.dir.path().to_path_buf();
    let t = t.reopen(); // the order is paid: the sweep each process runs first leaves it
    let bin = tillbook_bin();
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (bin, dir, r) = (bin.clone(), dir.clone(), r.clone());
            std::thread::spawn(move || {
                (0..4)
                    .map(|i| {
                        let out = std::process::Command::new(&bin)
                            .args(["--data-dir", dir.to_str().unwrap(), "--json", "--pin", MANAGER_PIN, "refund", &r, "--amount", "300"])
                            .args(["--idempotency-key", &format!("p{w}-{i}")])
                            .output()
                            .unwrap();
                        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
                        (out.status.success(), v)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<(bool, Value)> = workers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let ok: Vec<&Value> = results.iter().filter(|(s, _)| *s).map(|(_, v)| v).collect();
    assert_eq!(ok.len(), 5, "{results:?}");
    assert!(results.iter().filter(|(s, _)| !*s).all(|(_, v)| v["code"] == "refund_exceeds_paid"), "{results:?}");
    assert!(ok.iter().all(|v| v["amount_q"] == 300 && v["replayed"] == false));
    let v = t.book.order(&r).unwrap();
    assert_eq!((v.refunded_q, v.refunds.len()), (1500, 5));
    assert_eq!(v.payments.iter().map(|p| p.refunded_q).sum::<i64>(), 1500);
    assert_eq!(refunds_recorded(&t.book).len(), 5);
    assert_outbox_sound(&t.book);
}
