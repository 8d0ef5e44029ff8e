//! Payments through the book: tenders, the backend, refunds and the window, on a manual clock.

use chrono::Duration;
use tillbook_protocol::events::{EventKind, EventPayload, PaymentOutcome, StockReason};

use super::*;
use crate::testkit::{kit, Kit};
use crate::ErrorCode;

fn opts() -> PayOptions {
    PayOptions { actor: "ana".into() }
}

fn cash(tendered_q: i64) -> Tender {
    Tender::Cash { tendered_q }
}

fn card(number: &str, amount_q: Option<i64>) -> Tender {
    Tender::Card { number: number.into(), amount_q }
}

fn refund_amount(key: &str, amount_q: i64) -> RefundRequest {
    RefundRequest { by: RefundBy::Amount(amount_q), restock: false, idempotency_key: key.into(), actor: "ana".into(), reason: None }
}

fn payloads(k: &Kit, kind: EventKind) -> Vec<EventPayload> {
    k.book
        .outbox(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind.as_str())
        .map(|r| EventPayload::from_value(kind, r.payload).unwrap())
        .collect()
}

#[test]
fn a_split_payment_pays_the_order_with_change_and_one_outbox_row_per_attempt() {
    let mut k = kit();
    k.book.set_setting("tender_methods", "pix").unwrap();
    k.book.set_setting("fees", "card=10+1%").unwrap();
    let r = k.sell("LATTE", 2); // 1500
    let out = k
        .book
        .pay(&r, &[card("4242424242424242", Some(600)), Tender::Method { name: "pix".into(), amount_q: Some(400) }, cash(1000)], opts())
        .unwrap();
    assert_eq!(out.payment_status, PaymentStatus::Paid);
    assert_eq!((out.amount_due_q, out.change_due_q, out.paid_q), (0, 500, 1500));
    let amounts: Vec<(&str, i64, i64)> = out.payments.iter().map(|p| (p.method.as_str(), p.amount_q, p.fee_q)).collect();
    assert_eq!(amounts, [("card", 600, 16), ("pix", 400, 0), ("cash", 500, 0)]);
    assert_eq!(out.payments[0].last4.as_deref(), Some("4242"));
    assert!(out.payments[0].reference.as_deref().is_some_and(|r| r.starts_with("test_")));
    let recorded = payloads(&k, EventKind::PaymentRecorded);
    assert_eq!(recorded.len(), 3);
    let EventPayload::PaymentRecorded(c) = &recorded[2] else { panic!() };
    // The staff member acting, whatever `actor` the caller gave.
    assert_eq!((c.tendered_q, c.change_q, c.amount_q, c.actor.as_str()), (1000, 500, 500, "Cashier"));
    assert_eq!((c.staff_id, c.shift_id), (Some(k.book.whoami().unwrap().staff_id), Some(k.book.current_shift().unwrap().unwrap().shift_id)));
    let v = k.book.order(&r).unwrap();
    assert_eq!((v.paid_q, v.payment_status, v.payments.len()), (1500, PaymentStatus::Paid, 3));
    // No full card number anywhere in the book.
    let n: i64 = k
        .book
        .connection()
        .query_row("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%424242424242%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(k.book.pay(&r, &[cash(100)], opts()).unwrap_err().code, ErrorCode::AlreadyPaid);
}

#[test]
fn a_declined_card_is_recorded_and_stops_the_tenders() {
    let mut k = kit();
    let r = k.sell("LATTE", 2);
    let out = k.book.pay(&r, &[card("4000000000009995", Some(500)), cash(5000)], opts()).unwrap();
    assert_eq!(out.declined.as_ref().map(|d| d.code.as_str()), Some("insufficient_funds"));
    assert_eq!(out.payments.len(), 1, "the cash after the decline was not tried");
    assert_eq!(out.payments[0].outcome, PaymentOutcome::Declined);
    assert_eq!((out.amount_due_q, out.payment_status), (1500, PaymentStatus::Unpaid));
    let out = k.book.pay(&r, &[card("4242424242424242", None)], opts()).unwrap();
    assert_eq!((out.declined, out.payment_status), (None, PaymentStatus::Paid));
    assert_eq!(payloads(&k, EventKind::PaymentRecorded).len(), 2);
}

/// A backend that approves and then cannot be recorded is told to void.
#[test]
fn an_approval_that_cannot_be_recorded_is_voided() {
    use std::sync::{Arc, Mutex};
    struct Spy(Arc<Mutex<Vec<String>>>, TestGateway);
    impl PaymentBackend for Spy {
        fn authorize(&mut self, n: &str, a: i64, c: &str, k: &str) -> GatewayAnswer {
            self.0.lock().unwrap().push("authorize".into());
            self.1.authorize(n, a, c, k)
        }
        fn capture(&mut self, r: &str, a: i64, k: &str) -> GatewayAnswer {
            self.0.lock().unwrap().push("capture".into());
            self.1.capture(r, a, k)
        }
        fn void(&mut self, r: &str, k: &str) -> GatewayAnswer {
            self.0.lock().unwrap().push("void".into());
            self.1.void(r, k)
        }
        fn refund(&mut self, r: &str, a: i64, k: &str) -> GatewayAnswer {
            self.1.refund(r, a, k)
        }
    }
    let mut k = kit();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let path = k.book.path().to_path_buf();
    let book = std::mem::replace(&mut k.book, crate::Book::open(&path).unwrap());
    k.book = book.with_payment_backend(Box::new(Spy(calls.clone(), TestGateway::new())));
    // Recording fails (a disk error, here a trigger of this connection) after the approval.
    k.book
        .connection()
        .execute_batch(
            "CREATE TEMP TRIGGER no_card BEFORE INSERT ON payments WHEN NEW.method = 'card'
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let r2 = k.sell("LATTE", 1);
    let e = k.book.pay(&r2, &[card("4242424242424242", None)], opts()).unwrap_err();
    assert_eq!(e.code, ErrorCode::Storage);
    assert_eq!(*calls.lock().unwrap(), ["authorize", "capture", "void"]);
    assert_eq!(k.book.order(&r2).unwrap().payments.len(), 0);
}

#[test]
fn refunds_are_allocated_last_paid_first_and_capped() {
    let mut k = kit();
    let mia = k.approve_as_manager();
    let r = k.sell("LATTE", 2); // 1500
    k.book.pay(&r, &[cash(1000), card("4242424242424242", None)], opts()).unwrap();
    let out = k.book.refund(&r, refund_amount("r1", 700)).unwrap();
    let t: Vec<(&str, i64)> = out.refund.tenders.iter().map(|t| (t.method.as_str(), t.amount_q)).collect();
    assert_eq!(t, [("card", 500), ("cash", 200)], "the card was paid last");
    assert!(out.refund.tenders[0].reference.as_deref().is_some_and(|r| r.starts_with("test_re_")));
    assert_eq!(out.payment_status, PaymentStatus::PartlyRefunded);
    let again = k.book.refund(&r, refund_amount("r1", 700)).unwrap();
    assert!(again.replayed);
    assert_eq!(again.refund, out.refund);
    assert_eq!(k.book.refund(&r, refund_amount("r1", 701)).unwrap_err().code, ErrorCode::IdempotencyConflict);
    assert_eq!(k.book.refund(&r, refund_amount("r2", 801)).unwrap_err().code, ErrorCode::RefundExceedsPaid);
    let last = k.book.refund(&r, refund_amount("r2", 800)).unwrap();
    assert_eq!((last.payment_status, last.order_status.as_str()), (PaymentStatus::Refunded, "refunded"));
    let v = k.book.order(&r).unwrap();
    let ev = v.events.last().unwrap();
    assert_eq!((ev.to.as_str(), ev.actor.as_str(), ev.reason.as_deref()), ("refunded", "Cashier", Some("fully refunded")));
    assert_eq!(ev.approved_by, Some(mia.staff_id), "the manager's PIN allowed the refund");
    assert_eq!(payloads(&k, EventKind::RefundRecorded).len(), 2);
    assert_eq!(payloads(&k, EventKind::OrderStatusChanged).len(), 0, "the refunded status rides on the refund");
    assert_eq!(k.book.pay(&r, &[cash(10)], opts()).unwrap_err().code, ErrorCode::OrderNotPayable);
}

#[test]
fn a_refund_by_line_restocks_and_is_pro_rata() {
    let mut k = kit();
    k.approve_as_manager();
    let s = k.book.open_session(None, None).unwrap();
    k.book.add_line(&s.session_key, "ESPRESSO", 3, None).unwrap();
    k.book.add_line(&s.session_key, "CROISSANT", 1, None).unwrap();
    k.book.set_discount(&s.session_key, 100).unwrap();
    let r = k.book.commit(&s.session_key, "k", crate::CommitOptions::default()).unwrap().order_ref;
    let v = k.book.order(&r).unwrap();
    k.book.pay(&r, &[cash(v.total_q)], opts()).unwrap();
    let before = k.on_hand("ESPRESSO");
    let req = RefundRequest { by: RefundBy::Lines(vec![(1, 1)]), restock: true, ..refund_amount("l1", 1) };
    let out = k.book.refund(&r, req).unwrap();
    let line = &v.lines[0];
    let gross = line.total_q - line.order_discount_q;
    assert_eq!(out.refund.amount_q, tillbook_protocol::tax::pro_rata(gross, 3, 0, 1).unwrap());
    assert_eq!(k.on_hand("ESPRESSO"), before + 1);
    let EventPayload::RefundRecorded(p) = &payloads(&k, EventKind::RefundRecorded)[0] else { panic!() };
    assert_eq!(p.stock_deltas.len(), 1);
    assert_eq!((p.stock_deltas[0].reason, p.stock_deltas[0].delta), (StockReason::Refund, 1));
    let req = RefundRequest { by: RefundBy::Lines(vec![(1, 3)]), ..refund_amount("l2", 1) };
    assert_eq!(k.book.refund(&r, req).unwrap_err().code, ErrorCode::RefundExceedsSold);
    let req = RefundRequest { by: RefundBy::Lines(vec![(9, 1)]), ..refund_amount("l3", 1) };
    assert_eq!(k.book.refund(&r, req).unwrap_err().code, ErrorCode::UnknownLine);
    assert_eq!(k.book.order(&r).unwrap().lines[0].refunded_qty, 1);
}

#[test]
fn the_window_cancels_unpaid_orders_and_a_clock_set_back_resets_the_deadline() {
    let mut k = kit();
    let unpaid = k.sell("LATTE", 1);
    let paid = k.sell("LATTE", 1);
    k.book.pay(&paid, &[cash(750)], opts()).unwrap();
    let pay_by = k.book.order(&unpaid).unwrap().pay_by.unwrap();
    assert_eq!(pay_by, k.book.order(&unpaid).unwrap().committed_at + Duration::minutes(15));
    k.time.advance(Duration::minutes(14));
    assert!(k.book.sweep_payment_window().unwrap().is_empty());
    k.time.advance(Duration::hours(-2));
    assert!(k.book.sweep_payment_window().unwrap().is_empty());
    let reset = k.book.order(&unpaid).unwrap().pay_by.unwrap();
    assert_eq!(reset, k.book.now() + Duration::minutes(15));
    k.time.advance(Duration::hours(2));
    assert_eq!(k.book.sweep_payment_window().unwrap(), [unpaid.as_str()]);
    assert_eq!(k.book.order(&unpaid).unwrap().status, "cancelled");
    assert_eq!(k.book.order(&paid).unwrap().status, "new");
}

#[test]
fn the_demo_pays_its_orders_past_new() {
    let dir = tempfile::tempdir().unwrap();
    let options = crate::InitOptions { demo: true, ..Default::default() };
    let mut book = crate::Book::init(&dir.path().join("book.sqlite"), options).unwrap();
    assert_eq!((book.settings().tender_methods.clone(), book.settings().shop_name.as_str()), (vec!["pix".to_string(), "voucher".to_string()], "Tillbook Café"));
    let orders = book.orders(None, 10).unwrap();
    let got: Vec<(&str, PaymentStatus)> = orders.iter().rev().map(|o| (o.status.as_str(), o.payment_status)).collect();
    use PaymentStatus::*;
    assert_eq!(
        got,
        [("new", Unpaid), ("confirmed", Paid), ("processing", Paid), ("ready", Paid), ("completed", Paid), ("cancelled", Unpaid)]
    );
    let methods: Vec<String> = orders.iter().rev().flat_map(|o| book.order(&o.order_ref).unwrap().payments).map(|p| p.method).collect();
    assert_eq!(methods, ["cash", "card", "pix", "cash", "card"]);
    let new = &orders[orders.len() - 1];
    assert_eq!(book.order(&new.order_ref).unwrap().pay_by, None, "the demo keeps its new order");
    assert!(book.sweep_payment_window().unwrap().is_empty());
}

#[test]
fn exact_cash_pays_what_is_left_rounded_to_the_coin_with_no_change() {
    let mut k = kit();
    k.book.set_setting("tender_methods", "pix").unwrap();
    k.book.set_setting("cash_rounding", "5").unwrap();
    let r = k.sell("LATTE", 1); // 750
    let pix = Tender::Method { name: "pix".into(), amount_q: Some(1) };
    let out = k.book.pay(&r, &[pix, Tender::ExactCash], opts()).unwrap();
    assert_eq!(out.payment_status, PaymentStatus::Paid);
    assert_eq!((out.amount_due_q, out.change_due_q, out.paid_q), (0, 0, 750));
    let recorded = payloads(&k, EventKind::PaymentRecorded);
    let EventPayload::PaymentRecorded(c) = &recorded[1] else { panic!() };
    // 749 due in cash rounds to 750: the drawer takes 750 and gives nothing back.
    assert_eq!((c.amount_q, c.tendered_q, c.change_q), (749, 750, 0));
    assert_eq!(k.book.pay(&r, &[Tender::ExactCash], opts()).unwrap_err().code, ErrorCode::AlreadyPaid);
    let r = k.sell("LATTE", 1);
    let e = k.book.pay(&r, &[card("4242424242424242", None), Tender::ExactCash], opts()).unwrap_err();
    assert_eq!(e.code, ErrorCode::Overpayment, "nothing is left for the cash: {e}");
}
