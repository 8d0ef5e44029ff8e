//! Every refused action of shifts and staff: its stable code, and nothing written (every table
//! as it was, the outbox included). A wrong PIN is the one refusal that writes: it is counted in
//! `pin_attempts`, which gives the delay and the lockout.

use std::time::Duration as StdDuration;

use chrono::Duration;
use tillbook_orderbook::staff::pin::{LOCK_MINUTES, MAX_FAILURES};
use tillbook_orderbook::{Book, CashMoveKind, ErrorCode, RefundBy, Role};

use super::{cafe, cafe_on_clock, cash, pay, refund, ring};
use crate::support::{manager_approves, TempBook, MANAGER_PIN};

/// Every row of every table except `except`, as text.
fn dump(book: &Book, except: &[&str]) -> Vec<String> {
    let conn = book.connection();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for t in tables.iter().filter(|t| !except.contains(&t.as_str())) {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid")).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| (0..n).map(|i| r.get::<_, rusqlite::types::Value>(i)).collect::<Result<Vec<_>, _>>())
            .unwrap();
        for row in rows {
            out.push(format!("{t}: {:?}", row.unwrap()));
        }
    }
    out
}

/// Runs `f`, expects `code` (and, when given, a message naming `mentions`), and checks the book
/// is exactly as it was.
fn refused<T: std::fmt::Debug>(t: &mut TempBook, code: ErrorCode, mentions: &str, f: impl FnOnce(&mut Book) -> tillbook_orderbook::Result<T>) {
    let before = dump(&t.book, &[]);
    let outbox = t.book.outbox_summary().unwrap().last_seq;
    let e = f(&mut t.book).expect_err("expected a refusal");
    assert_eq!(e.code, code, "{e}");
    assert!(e.message.contains(mentions), "{:?} should mention {mentions:?}", e.message);
    assert_eq!(t.book.outbox_summary().unwrap().last_seq, outbox, "{code:?}: an outbox row was written");
    assert_eq!(dump(&t.book, &[]), before, "{code:?}: the book changed");
}

#[test]
fn shift_errors_have_their_codes_and_write_nothing() {
    let (mut t, _) = cafe();
    // Before any shift: nothing is sold, paid, refunded, moved or closed.
    let key = t.book.open_session(None, None).unwrap().session_key;
    t.book.add_line(&key, "ESPRESSO", 1, None).unwrap();
    refused(&mut t, ErrorCode::NoOpenShift, "shift", |b| b.commit(&key, "k", Default::default()));
    refused(&mut t, ErrorCode::NoOpenShift, "", |b| b.x_report());
    refused(&mut t, ErrorCode::NoOpenShift, "", |b| b.close_shift(0));
    refused(&mut t, ErrorCode::InvalidAmount, "", |b| b.open_shift(-1));
    refused(&mut t, ErrorCode::InvalidAmount, "", |b| b.open_shift(i64::MAX));

    t.book.open_shift(1_000).unwrap();
    refused(&mut t, ErrorCode::ShiftAlreadyOpen, "close it first", |b| b.open_shift(0));
    let r = ring(&mut t, &[("ESPRESSO", 1, 0)], 0);
    pay(&mut t, &r, &[cash(500)]);
    let unpaid = ring(&mut t, &[("LATTE", 1, 0)], 0);
    for (kind, amount, reason) in [
        (CashMoveKind::In, -5, "x"),
        (CashMoveKind::In, 0, "x"),
        (CashMoveKind::Out, -1, "x"),
        (CashMoveKind::NoSale, 5, "x"),
    ] {
        refused(&mut t, ErrorCode::InvalidAmount, "", |b| b.cash_move(kind, amount, reason));
    }
    refused(&mut t, ErrorCode::InvalidArgument, "reason", |b| b.cash_move(CashMoveKind::In, 5, " "));
    refused(&mut t, ErrorCode::InvalidArgument, "reason", |b| b.cash_move(CashMoveKind::In, 5, &"x".repeat(201)));
    refused(&mut t, ErrorCode::InvalidAmount, "", |b| b.close_shift(-1));
    // The drawer holds the float and the cash sale: 1500. Not a coin more comes out, even with a
    // manager's approval.
    manager_approves(&mut t.book);
    refused(&mut t, ErrorCode::InsufficientCash, "1500", |b| b.cash_move(CashMoveKind::Out, 1_501, "bank"));
    t.book.cash_move(CashMoveKind::Out, 1_500, "bank").unwrap();
    refused(&mut t, ErrorCode::InsufficientCash, "", |b| b.cash_move(CashMoveKind::Out, 1, "bank"));

    // Closed: closing again, paying, refunding and moving cash need a shift.
    t.book.close_shift(0).unwrap();
    refused(&mut t, ErrorCode::NoOpenShift, "nothing to close", |b| b.close_shift(0));
    refused(&mut t, ErrorCode::NoOpenShift, "", |b| b.pay(&unpaid, &[cash(750)], Default::default()));
    refused(&mut t, ErrorCode::NoOpenShift, "", |b| b.refund(&r, refund("k", RefundBy::Amount(100), false)));
    refused(&mut t, ErrorCode::NoOpenShift, "", |b| b.cash_move(CashMoveKind::In, 100, "float"));
    refused(&mut t, ErrorCode::NoOpenShift, "", |b| b.x_report());
    refused(&mut t, ErrorCode::UnknownShift, "", |b| b.shift(uuid::Uuid::now_v7()));
    // A basket may still be built without a shift.
    let key = t.book.open_session(None, None).unwrap().session_key;
    t.book.add_line(&key, "LATTE", 1, None).unwrap();
}

/// The default cashier without a manager: each sensitive action is refused, naming the
/// permission it needs, with nothing written. A manager's PIN allows each; a cashier's PIN, or
/// a role without the permission, does not; a permission given to cashiers needs no PIN.
#[test]
fn every_guarded_action_needs_its_permission() {
    let (mut t, _) = cafe();
    t.book.open_shift(1_000).unwrap();
    let paid = ring(&mut t, &[("LATTE", 2, 0)], 0);
    pay(&mut t, &paid, &[cash(1_500)]);
    let mia = t.book.add_local_staff("Mia", Role::Manager, MANAGER_PIN).unwrap();
    t.book.add_local_staff("Caio", Role::Cashier, "2222").unwrap();

    refused(&mut t, ErrorCode::PermissionDenied, "refund", |b| b.refund(&paid, refund("r", RefundBy::Amount(100), false)));
    refused(&mut t, ErrorCode::PermissionDenied, "cancel_paid", |b| b.cancel_order(&paid, "x", None));
    refused(&mut t, ErrorCode::PermissionDenied, "cash_out", |b| b.cash_move(CashMoveKind::Out, 100, "bank"));
    refused(&mut t, ErrorCode::PermissionDenied, "no_sale", |b| b.cash_move(CashMoveKind::NoSale, 0, "peek"));
    // Off by more than the threshold (500): 2500 expected.
    refused(&mut t, ErrorCode::PermissionDenied, "close_with_difference", |b| b.close_shift(1_999));
    // A discount above 10 %: when it is set, and at the commit when the basket shrank under it.
    let key = t.book.open_session(None, None).unwrap().session_key;
    t.book.add_line(&key, "ESPRESSO", 1, None).unwrap();
    refused(&mut t, ErrorCode::PermissionDenied, "large_discount", |b| b.set_discount(&key, 51));
    let l = t.book.add_line(&key, "LATTE", 1, None).unwrap();
    t.book.set_discount(&key, 125).unwrap(); // 10 % of 1250
    t.book.remove_line(&key, &l.line_id).unwrap();
    refused(&mut t, ErrorCode::PermissionDenied, "large_discount", |b| b.commit(&key, "k", Default::default()));

    // A cashier's PIN approves nothing.
    t.book.set_approval_pin(Some("2222".into()));
    refused(&mut t, ErrorCode::PermissionDenied, "Caio", |b| b.cash_move(CashMoveKind::NoSale, 0, "peek"));
    // The manager's does, and is recorded.
    t.book.set_approval_pin(Some(MANAGER_PIN.into()));
    let o = t.book.commit(&key, "k", Default::default()).unwrap();
    assert_eq!(t.book.order(&o.order_ref).unwrap().approved_by, Some(mia.staff_id));
    t.book.refund(&paid, refund("r", RefundBy::Amount(100), false)).unwrap();
    t.book.cash_move(CashMoveKind::NoSale, 0, "peek").unwrap();
    // Unless managers may not do it here.
    t.book.set_setting("manager_permissions", "refund").unwrap();
    refused(&mut t, ErrorCode::PermissionDenied, "cash_out", |b| b.cash_move(CashMoveKind::Out, 100, "bank"));
    // What cashiers may do needs no PIN at all.
    t.book.set_approval_pin(None);
    t.book.set_setting("cashier_permissions", "cash_out").unwrap();
    t.book.cash_move(CashMoveKind::Out, 100, "bank").unwrap();
    let moved: Option<String> =
        t.book.connection().query_row("SELECT approved_by FROM cash_movements WHERE kind = 'out'", [], |r| r.get(0)).unwrap();
    assert_eq!(moved, None, "nobody had to approve it");
}

/// Wrong PINs, at sign-in and as approvals alike: each answered after a longer wait (200 ms
/// more each, seen through the book's clock), the fifth in a row locks PIN entry for five
/// minutes, through a restart too; only the count is written. A right PIN starts the count again.
#[test]
fn a_wrong_pin_waits_longer_each_time_and_locks_entry() {
    let (mut t, time, clock) = cafe_on_clock();
    t.book.open_shift(0).unwrap();
    let r = ring(&mut t, &[("LATTE", 1, 0)], 0);
    pay(&mut t, &r, &[cash(750)]);
    t.book.add_local_staff("Mia", Role::Manager, MANAGER_PIN).unwrap();
    let attempts = |t: &TempBook| -> (i64, Option<String>) {
        t.book.connection().query_row("SELECT failures, locked_until FROM pin_attempts", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
    };
    let ms = |v: &[u64]| v.iter().map(|m| StdDuration::from_millis(*m)).collect::<Vec<_>>();

    // Two wrong, then a right one: the count starts again.
    let before = dump(&t.book, &["pin_attempts"]);
    assert_eq!(t.book.staff_login("0000").unwrap_err().code, ErrorCode::InvalidPin);
    assert_eq!(t.book.staff_login("12").unwrap_err().code, ErrorCode::InvalidPin, "not even a PIN's shape");
    assert_eq!(time.slept(), ms(&[200, 400]));
    assert_eq!(attempts(&t).0, 2);
    assert_eq!(dump(&t.book, &["pin_attempts"]), before, "a wrong PIN writes only its count");
    t.book.staff_login(MANAGER_PIN).unwrap();
    t.book.staff_logout().unwrap();
    assert_eq!(attempts(&t), (0, None));

    // Five in a row, approvals counted with sign-ins.
    let before = dump(&t.book, &["pin_attempts"]);
    t.book.set_approval_pin(Some("1111".into()));
    for i in 1..=MAX_FAILURES {
        let e = if i % 2 == 0 {
            t.book.refund(&r, refund(&format!("r{i}"), RefundBy::Amount(100), false)).unwrap_err()
        } else {
            t.book.staff_login("1111").unwrap_err()
        };
        assert_eq!(e.code, ErrorCode::InvalidPin, "attempt {i}: {e}");
        assert_eq!(e.message.contains("in a row, PINs are locked"), i == MAX_FAILURES, "attempt {i}: {e}");
    }
    assert_eq!(time.slept(), ms(&[200, 400, 200, 400, 600, 800, 1_000]));
    assert_eq!(dump(&t.book, &["pin_attempts"]), before);
    let (failures, until) = attempts(&t);
    assert_eq!(failures, MAX_FAILURES);
    assert!(until.is_some());
    // Locked: the right PIN too, for sign-in and approval, with no further wait or write.
    let locked = dump(&t.book, &[]);
    assert_eq!(t.book.staff_login(MANAGER_PIN).unwrap_err().code, ErrorCode::PinLocked);
    t.book.set_approval_pin(Some(MANAGER_PIN.into()));
    assert_eq!(t.book.refund(&r, refund("r", RefundBy::Amount(100), false)).unwrap_err().code, ErrorCode::PinLocked);
    assert_eq!(time.slept().len(), 7);
    assert_eq!(dump(&t.book, &[]), locked);

    // A restart does not lift it; time does.
    let mut t = t.reopen_with_clock(clock);
    assert_eq!(t.book.staff_login(MANAGER_PIN).unwrap_err().code, ErrorCode::PinLocked);
    time.advance(Duration::minutes(LOCK_MINUTES) - Duration::seconds(2));
    assert_eq!(t.book.staff_login(MANAGER_PIN).unwrap_err().code, ErrorCode::PinLocked, "not yet");
    time.advance(Duration::seconds(2));
    assert_eq!(t.book.staff_login(MANAGER_PIN).unwrap().name, "Mia");
    assert_eq!(attempts(&t), (0, None));
    assert_eq!(t.book.staff_login("4444").unwrap_err().code, ErrorCode::InvalidPin);
    assert_eq!(time.slept().last(), Some(&StdDuration::from_millis(200)), "the count started again");
}
