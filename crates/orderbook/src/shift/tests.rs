//! Shifts through the book: open, cash in and out, the X-report, the close, and what needs one.

use tillbook_protocol::events::{EventKind, EventPayload};
use tillbook_protocol::shift::CashMoveKind::{In, NoSale, Out};

use crate::payment::{RefundBy, RefundRequest, Tender};
use crate::testkit::{bare_kit, kit, Kit, MANAGER_PIN};
use crate::{CommitOptions, ErrorCode, PayOptions, Result};

fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    r.unwrap_err().code
}

fn cash(k: &mut Kit, order_ref: &str, tendered_q: i64) {
    k.book.pay(order_ref, &[Tender::Cash { tendered_q }], PayOptions::default()).unwrap();
}

#[test]
fn one_shift_at_a_time_with_a_float_that_is_never_negative() {
    let mut k = bare_kit();
    assert_eq!(k.book.current_shift().unwrap(), None);
    assert_eq!(code(k.book.x_report()), ErrorCode::NoOpenShift);
    assert_eq!(code(k.book.open_shift(-1)), ErrorCode::InvalidAmount);
    assert_eq!(code(k.book.open_shift(i64::MAX)), ErrorCode::InvalidAmount);
    let s = k.book.open_shift(10_000).unwrap();
    assert_eq!((s.status.as_str(), s.float_q, s.opened_by.as_str(), s.currency.as_str()), ("open", 10_000, "Cashier", "BRL"));
    assert_eq!((s.opened_at, s.closed_at, s.counted_q), (k.book.now(), None, None));
    let e = k.book.open_shift(0).unwrap_err();
    assert_eq!(e.code, ErrorCode::ShiftAlreadyOpen, "{e}");
    assert_eq!(k.book.current_shift().unwrap(), Some(s.clone()));
    assert_eq!(k.book.shift(s.shift_id).unwrap(), s);
    assert_eq!(code(k.book.shift(uuid::Uuid::now_v7())), ErrorCode::UnknownShift);
    assert_eq!(code(k.book.shift_figures(uuid::Uuid::now_v7())), ErrorCode::UnknownShift);
    let rows = k.book.outbox(0, 10).unwrap();
    assert_eq!(rows.len(), 1, "the refused opens wrote nothing");
    let EventPayload::ShiftOpened(p) = EventPayload::from_value(EventKind::ShiftOpened, rows[0].payload.clone()).unwrap() else { panic!() };
    assert_eq!((p.shift_id, p.float_q, p.actor.as_str(), p.staff_id), (s.shift_id, 10_000, "Cashier", Some(k.book.whoami().unwrap().staff_id)));
}

/// Baskets need no shift; a sale, a payment and a refund do.
#[test]
fn selling_paying_and_refunding_need_an_open_shift() {
    let mut k = bare_kit();
    let s = k.book.open_session(None, None).unwrap().session_key;
    k.book.add_line(&s, "LATTE", 1, None).unwrap();
    let e = k.book.commit(&s, "k1", CommitOptions::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::NoOpenShift, "{e}");
    assert_eq!(k.book.outbox_summary().unwrap().last_seq, 0);
    k.book.open_shift(0).unwrap();
    let r = k.book.commit(&s, "k1", CommitOptions::default()).unwrap().order_ref;
    let unpaid = k.sell("ESPRESSO", 1);
    cash(&mut k, &r, 750);
    k.book.close_shift(750).unwrap();
    // A replayed commit is the same order, shift or not.
    assert!(k.book.commit(&s, "k1", CommitOptions::default()).unwrap().replayed);
    assert_eq!(code(k.book.pay(&unpaid, &[Tender::Cash { tendered_q: 500 }], PayOptions::default())), ErrorCode::NoOpenShift);
    k.approve_as_manager();
    let req = RefundRequest { by: RefundBy::Amount(100), restock: false, idempotency_key: "r".into(), actor: "x".into(), reason: None };
    assert_eq!(code(k.book.refund(&r, req)), ErrorCode::NoOpenShift);
    // Cancelling needs no shift.
    assert_eq!(k.book.cancel_order(&unpaid, "x", None).unwrap().status, "cancelled");
}

#[test]
fn cash_in_out_and_no_sale_with_their_checks() {
    let mut k = kit();
    for (kind, amount, reason) in [(In, 0, "change"), (In, -5, "change"), (Out, 0, "bank"), (NoSale, 5, "look")] {
        assert_eq!(code(k.book.cash_move(kind, amount, reason)), ErrorCode::InvalidAmount, "{kind:?} {amount}");
    }
    for reason in ["", "  ", &"r".repeat(201), "a\0b"] {
        assert_eq!(code(k.book.cash_move(In, 100, reason)), ErrorCode::InvalidArgument, "{reason:?}");
    }
    k.book.cash_move(In, 5_000, "change from the safe").unwrap();
    let r = k.sell("LATTE", 2);
    cash(&mut k, &r, 2_000); // 1500 stays in the drawer, 500 change
    assert_eq!(k.book.x_report().unwrap().expected_cash_q, 6_500);
    // Cash out: a manager's, and never more than the drawer should hold.
    let e = k.book.cash_move(Out, 1_000, "bank drop").unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("cash_out"), "{e}");
    assert_eq!(code(k.book.cash_move(Out, 6_501, "bank drop")), ErrorCode::InsufficientCash);
    let mia = k.approve_as_manager();
    k.book.cash_move(Out, 6_000, "bank drop").unwrap();
    assert_eq!(code(k.book.cash_move(Out, 501, "bank drop")), ErrorCode::InsufficientCash);
    k.book.set_approval_pin(None);
    assert_eq!(code(k.book.cash_move(NoSale, 0, "change for a customer")), ErrorCode::PermissionDenied);
    k.book.set_approval_pin(Some(MANAGER_PIN.into()));
    k.book.cash_move(NoSale, 0, "change for a customer").unwrap();
    let f = k.book.x_report().unwrap();
    assert_eq!((f.cash_in_q, f.cash_out_q, f.cash_sales_q, f.expected_cash_q), (5_000, 6_000, 1_500, 500));
    let kinds: Vec<_> = f.movements.iter().map(|m| (m.kind, m.amount_q, m.actor.as_str())).collect();
    assert_eq!(kinds, [(In, 5_000, "Cashier"), (Out, 6_000, "Cashier"), (NoSale, 0, "Cashier")]);
    let moved: Vec<_> = k
        .book
        .outbox(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == EventKind::CashMoved.as_str())
        .map(|r| match EventPayload::from_value(EventKind::CashMoved, r.payload).unwrap() {
            EventPayload::CashMoved(c) => (c.kind, c.approved_by, c.staff_id.is_some(), c.shift_id),
            _ => unreachable!(),
        })
        .collect();
    let shift = f.shift_id;
    assert_eq!(moved, [(In, None, true, shift), (Out, Some(mia.staff_id), true, shift), (NoSale, Some(mia.staff_id), true, shift)]);
}

#[test]
fn closing_counts_the_drawer_and_keeps_the_z_report() {
    let mut k = kit();
    assert_eq!(code(k.book.close_shift(-1)), ErrorCode::InvalidAmount);
    let r = k.sell("LATTE", 2);
    cash(&mut k, &r, 1_500);
    // 600 short of 1500: above the threshold of 500.
    let e = k.book.close_shift(900).unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("close_with_difference") && e.message.contains("expected 1500"), "{e}");
    assert!(k.book.current_shift().unwrap().is_some(), "still open");
    // Within the threshold needs nobody.
    let shift = k.book.current_shift().unwrap().unwrap();
    let x = k.book.x_report().unwrap();
    let out = k.book.close_shift(1_100).unwrap();
    let z = &out.figures;
    assert_eq!((z.counted_q, z.expected_cash_q, z.difference_q, z.closed_at), (Some(1_100), 1_500, Some(-400), Some(k.book.now())));
    assert_eq!(*z, crate::ShiftFigures { closed_at: z.closed_at, counted_q: z.counted_q, difference_q: z.difference_q, ..x });
    let v = &out.shift;
    assert_eq!((v.status.as_str(), v.counted_q, v.expected_q, v.difference_q), ("closed", Some(1_100), Some(1_500), Some(-400)));
    assert_eq!(v.closed_by.as_deref(), Some("Cashier"));
    // Not enrolled: every row is pending, the close the last of them, after the shift's sales.
    let rows = k.book.outbox(0, 100).unwrap();
    assert_eq!(out.pending, rows.len() as i64);
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["shift.opened", "order.committed", "payment.recorded", "shift.closed"]);
    let EventPayload::ShiftClosed(p) = EventPayload::from_value(EventKind::ShiftClosed, rows[3].payload.clone()).unwrap() else { panic!() };
    assert_eq!((&p.figures, p.shift_id, p.approved_by), (z, shift.shift_id, None));
    // The Z-report stays as it was closed.
    assert_eq!(k.book.shift_figures(shift.shift_id).unwrap(), *z);
    assert_eq!(code(k.book.close_shift(0)), ErrorCode::NoOpenShift, "closing a closed shift");
    assert_eq!(code(k.book.x_report()), ErrorCode::NoOpenShift);
    // A difference approved by a manager's PIN.
    k.book.open_shift(1_000).unwrap();
    let mia = k.approve_as_manager();
    let out = k.book.close_shift(2_000).unwrap();
    assert_eq!(out.figures.difference_q, Some(1_000));
    let row = k.book.outbox(0, 100).unwrap().pop().unwrap();
    assert_eq!(row.payload["approved_by"], mia.staff_id.to_string());
    let list = k.book.shifts(10).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1], k.book.shift(shift.shift_id).unwrap());
    assert_eq!(list[0], out.shift);
}

/// After enrolment, `pending` counts what the server has not acknowledged yet.
#[test]
fn the_close_says_how_many_rows_are_still_pending() {
    let mut k = kit();
    k.enroll("T01");
    let r = k.sell("LATTE", 1);
    cash(&mut k, &r, 750);
    k.book.push_page(1).unwrap();
    k.book.ack_push(&crate::testkit::answer(1, false)).unwrap();
    let out = k.book.close_shift(750).unwrap();
    assert_eq!(out.pending, 2, "the payment and the close");
    assert_eq!(out.pending, k.book.sync_status().unwrap().pending);
}

/// Every event names the staff member (and the shift where it has one).
#[test]
fn every_event_is_stamped_with_the_staff_member_and_the_shift() {
    let mut k = kit();
    let ana = k.book.add_local_staff("Ana", crate::Role::Cashier, "2468").unwrap();
    k.book.staff_login("2468").unwrap();
    let shift = k.book.current_shift().unwrap().unwrap().shift_id;
    k.book.adjust_stock("LATTE", 10, crate::StockReason::Receiving, "delivery").unwrap();
    let r = k.sell("LATTE", 2);
    cash(&mut k, &r, 1_500);
    k.book.transition(&r, "confirmed", "someone else", None).unwrap();
    k.book.set_item_status(&r, 1, "ready", "kitchen").unwrap();
    k.approve_as_manager();
    k.book.refund(&r, RefundRequest { by: RefundBy::Lines(vec![(1, 1)]), restock: true, idempotency_key: "r1".into(), actor: "x".into(), reason: None }).unwrap();
    k.book.cash_move(In, 100, "coins").unwrap();
    k.book.close_shift(850).unwrap();
    let me = ana.staff_id.to_string();
    // After the kit's shift.opened (by the default cashier, before Ana signed in).
    for row in k.book.outbox(1, 100).unwrap() {
        let p = &row.payload;
        assert_eq!(p["staff_id"], me.as_str(), "{}: {p}", row.kind);
        if row.kind != "stock.adjusted" {
            assert_eq!(p["actor"], "Ana", "{}", row.kind);
        }
        if ["order.committed", "payment.recorded", "refund.recorded", "shift.cash_moved", "shift.closed"].contains(&row.kind.as_str()) {
            assert_eq!(p["shift_id"], shift.to_string(), "{}", row.kind);
        }
    }
    let events = k.book.order(&r).unwrap().events;
    assert!(events.iter().all(|e| e.staff_id == Some(ana.staff_id) && e.actor == "Ana"), "{events:?}");
    let v = k.book.order(&r).unwrap();
    assert!(v.payments.iter().all(|p| p.staff_id == Some(ana.staff_id) && p.shift_id == Some(shift)));
    assert!(v.refunds.iter().all(|p| p.staff_id == Some(ana.staff_id) && p.shift_id == Some(shift)));
}
