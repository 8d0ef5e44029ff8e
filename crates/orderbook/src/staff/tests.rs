//! Staff, sign-in, PINs and permissions through the book.

use std::time::Duration as StdDuration;

use chrono::Duration;
use tillbook_protocol::staff::{Role, StaffRecord};
use tillbook_protocol::sync::Change;
use uuid::Uuid;

use super::*;
use crate::payment::{RefundBy, RefundRequest, Tender};
use crate::testkit::{bare_kit, kit, page, Kit, MANAGER_PIN};
use crate::{CommitOptions, ErrorCode, InitOptions, PayOptions};

fn refund(key: &str, amount_q: i64) -> RefundRequest {
    RefundRequest { by: RefundBy::Amount(amount_q), restock: false, idempotency_key: key.into(), actor: "x".into(), reason: None }
}

/// A paid order of one latte (750).
fn paid(k: &mut Kit) -> String {
    let r = k.sell("LATTE", 1);
    k.book.pay(&r, &[Tender::Cash { tendered_q: 750 }], PayOptions::default()).unwrap();
    r
}

fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    r.unwrap_err().code
}

#[test]
fn a_new_book_has_a_default_cashier_who_acts_when_nobody_is_signed_in() {
    let mut k = kit();
    let me = k.book.whoami().unwrap();
    assert_eq!((me.name.as_str(), me.role, me.active, me.has_pin, me.origin.as_str()), ("Cashier", Role::Cashier, true, false, "local"));
    assert_eq!(k.book.staff_list().unwrap(), vec![me.clone()]);
    let r = k.sell("LATTE", 1);
    let v = k.book.order(&r).unwrap();
    assert_eq!((v.staff_id, v.cashier.as_deref()), (Some(me.staff_id), Some("Cashier")));
    assert_eq!(v.events[0].staff_id, Some(me.staff_id));
    // The default cashier has no PIN: nobody signs in as them, and a logout falls back to them.
    k.book.staff_logout().unwrap();
    assert_eq!(k.book.whoami().unwrap(), me);
    // The same default cashier after a restart.
    k.reopen();
    assert_eq!(k.book.whoami().unwrap(), me);
}

#[test]
fn the_demo_has_a_manager_whose_pin_signs_in_for_every_process_on_the_book() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.sqlite");
    let mut book = Book::init(&path, InitOptions { demo: true, ..Default::default() }).unwrap();
    let names: Vec<(String, Role, bool)> = book.staff_list().unwrap().into_iter().map(|s| (s.name, s.role, s.has_pin)).collect();
    assert_eq!(names, [("Cashier".into(), Role::Cashier, false), ("Manager".into(), Role::Manager, true)]);
    assert!(book.current_shift().unwrap().is_some(), "the demo leaves a shift open");
    let m = book.staff_login(DEMO_MANAGER_PIN).unwrap();
    assert_eq!((m.name.as_str(), m.role), ("Manager", Role::Manager));
    // A second process on the same data directory acts as the manager too.
    let other = Book::open(&path).unwrap();
    assert_eq!(other.whoami().unwrap().staff_id, m.staff_id);
    book.staff_logout().unwrap();
    assert_eq!(other.whoami().unwrap().name, "Cashier");
    // The PIN is only ever a salted argon2id hash: not in the staff table, not in the outbox.
    let hash: String = book.connection().query_row("SELECT pin_hash FROM staff WHERE name = 'Manager'", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(DEMO_MANAGER_PIN), "{hash}");
    let leaks: i64 = book
        .connection()
        .query_row("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%argon2%' OR payload LIKE '%pin%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leaks, 0);
}

#[test]
fn local_staff_are_added_only_before_enrolment_with_a_well_formed_unused_pin() {
    let mut k = kit();
    for bad in ["123", "123456789", "12a4", "", " 1234"] {
        assert_eq!(code(k.book.add_local_staff("Ana", Role::Cashier, bad)), ErrorCode::InvalidPin, "{bad:?}");
    }
    let ana = k.book.add_local_staff("Ana", Role::Cashier, "2468").unwrap();
    assert_eq!((ana.origin.as_str(), ana.has_pin, ana.active), ("local", true, true));
    assert_eq!(code(k.book.add_local_staff("Bob", Role::Manager, "2468")), ErrorCode::PinInUse);
    assert_eq!(code(k.book.add_local_staff(" ", Role::Manager, "1357")), ErrorCode::InvalidArgument);
    assert_eq!(k.time.slept(), Vec::<StdDuration>::new(), "a badly formed new PIN is no wrong PIN");
    k.enroll("T01");
    assert_eq!(code(k.book.add_local_staff("Bob", Role::Manager, "1357")), ErrorCode::EnrolledTill);
    assert_eq!(k.book.staff_login("2468").unwrap().staff_id, ana.staff_id);
}

/// Wrong PINs wait longer each time, lock PINs after five (across a restart) until five
/// minutes have passed by the book's clock; a right PIN resets the count.
#[test]
fn wrong_pins_are_delayed_then_locked_and_the_lock_survives_a_restart() {
    let mut k = kit();
    k.book.add_local_staff("Ana", Role::Cashier, "2468").unwrap();
    k.book.add_local_staff("Mia", Role::Manager, MANAGER_PIN).unwrap();
    for n in 1..=4 {
        let e = k.book.staff_login("0000").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidPin, "{e}");
        assert!(e.message.contains(&format!("{} more", 5 - n)), "{e}");
    }
    let ms = |v: &[u64]| v.iter().map(|m| StdDuration::from_millis(*m)).collect::<Vec<_>>();
    assert_eq!(k.time.slept(), ms(&[200, 400, 600, 800]), "200 ms more for each wrong PIN in a row");
    let e = k.book.staff_login("abc").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidPin);
    assert!(e.message.contains("locked for 5 minutes"), "{e}");
    // Locked: even the right PIN is refused, without a check or a wait; also after a restart.
    assert_eq!(code(k.book.staff_login("2468")), ErrorCode::PinLocked);
    k.reopen();
    assert_eq!(code(k.book.staff_login("2468")), ErrorCode::PinLocked);
    // An approval PIN is refused the same way.
    let r = paid(&mut k);
    k.book.set_approval_pin(Some(MANAGER_PIN.into()));
    assert_eq!(code(k.book.refund(&r, refund("r1", 100))), ErrorCode::PinLocked);
    assert_eq!(k.time.slept().len(), 5);
    k.time.advance(Duration::minutes(5));
    assert_eq!(k.book.staff_login("2468").unwrap().name, "Ana");
    // The count starts again: the next wrong PIN waits 200 ms.
    assert_eq!(code(k.book.staff_login("9999")), ErrorCode::InvalidPin);
    assert_eq!(*k.time.slept().last().unwrap(), StdDuration::from_millis(200));
    // The delay never exceeds 2 s.
    assert_eq!(super::pin::delay(50), StdDuration::from_secs(2));
}

#[test]
fn a_refund_needs_the_permission_or_a_managers_pin() {
    let mut k = kit();
    let ana = k.book.add_local_staff("Ana", Role::Cashier, "2468").unwrap();
    let r = paid(&mut k);
    let e = k.book.refund(&r, refund("r1", 100)).unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("needs the refund permission (a manager's PIN)"), "{e}");
    // A PIN that is nobody's: invalid_pin, after the delay, and nothing written.
    k.book.set_approval_pin(Some("0000".into()));
    assert_eq!(code(k.book.refund(&r, refund("r1", 100))), ErrorCode::InvalidPin);
    assert_eq!(k.time.slept(), [StdDuration::from_millis(200)]);
    // A cashier's PIN: a right PIN of someone who may not either.
    k.book.set_approval_pin(Some("2468".into()));
    let e = k.book.refund(&r, refund("r1", 100)).unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("Ana"), "{e}");
    assert_eq!(k.book.order(&r).unwrap().refunded_q, 0);
    // A manager's PIN approves it: approved_by on the refund, its event and its audit row.
    let mia = k.approve_as_manager();
    let out = k.book.refund(&r, refund("r1", 100)).unwrap();
    assert_eq!((out.refund.staff_id, out.refund.approved_by), (Some(k.book.whoami().unwrap().staff_id), Some(mia.staff_id)));
    let row = k.book.outbox(0, 100).unwrap().pop().unwrap();
    assert_eq!(row.payload["approved_by"], mia.staff_id.to_string());
    // The manager signed in needs no PIN, and nobody approves.
    k.book.set_approval_pin(None);
    k.book.staff_login(MANAGER_PIN).unwrap();
    let out = k.book.refund(&r, refund("r2", 100)).unwrap();
    assert_eq!((out.refund.actor.as_str(), out.refund.approved_by), ("Mia", None));
    // A store that lets cashiers refund.
    k.book.staff_login("2468").unwrap();
    assert_eq!(code(k.book.refund(&r, refund("r3", 100))), ErrorCode::PermissionDenied);
    k.book.set_setting("cashier_permissions", "refund, no_sale").unwrap();
    let out = k.book.refund(&r, refund("r3", 100)).unwrap();
    assert_eq!((out.refund.staff_id, out.refund.approved_by), (Some(ana.staff_id), None));
    // A store that takes it from managers: even the manager's PIN no longer approves.
    k.book.set_setting("cashier_permissions", "").unwrap();
    k.book.set_setting("manager_permissions", "cash_out").unwrap();
    k.book.set_approval_pin(Some(MANAGER_PIN.into()));
    assert_eq!(code(k.book.refund(&r, refund("r4", 100))), ErrorCode::PermissionDenied);
    for (key, value) in [("cashier_permissions", "refund,fly"), ("manager_permissions", "all"), ("max_discount_pct", "101"), ("close_difference_threshold", "-1")] {
        assert_eq!(k.book.set_setting(key, value).unwrap_err().code, ErrorCode::InvalidSetting, "{key}={value}");
    }
}

#[test]
fn cancelling_a_paid_order_needs_cancel_paid_but_the_sweep_cancels_unpaid_ones_as_the_system() {
    let mut k = kit();
    let unpaid = k.sell("LATTE", 1);
    let r = paid(&mut k);
    let v = k.book.cancel_order(&unpaid, "ignored", None).unwrap();
    assert_eq!(v.status, "cancelled");
    let ev = v.events.last().unwrap();
    assert_eq!((ev.actor.as_str(), ev.staff_id, ev.approved_by), ("Cashier", Some(k.book.whoami().unwrap().staff_id), None));
    let e = k.book.cancel_order(&r, "x", None).unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("cancel_paid"), "{e}");
    // Cancelling every item of a paid order cancels it too: the same permission.
    assert_eq!(code(k.book.set_item_status(&r, 1, "cancelled", "x")), ErrorCode::PermissionDenied);
    let mia = k.approve_as_manager();
    let v = k.book.set_item_status(&r, 1, "cancelled", "x").unwrap();
    let ev = v.events.last().unwrap();
    assert_eq!((v.status.as_str(), ev.actor.as_str(), ev.staff_id, ev.approved_by), ("cancelled", "system", None, Some(mia.staff_id)));
    // The payment window sweeps an unpaid order as the system, with no staff and no PIN.
    k.book.set_approval_pin(None);
    let late = k.sell("LATTE", 1);
    k.time.advance(Duration::minutes(16));
    assert_eq!(k.book.sweep_payment_window().unwrap(), [late.as_str()]);
    let ev = k.book.order(&late).unwrap().events.pop().unwrap();
    assert_eq!((ev.actor.as_str(), ev.staff_id, ev.approved_by), ("system", None, None));
    let row = k.book.outbox(0, 100).unwrap().pop().unwrap();
    assert!(row.payload.get("staff_id").is_none() && row.payload["actor"] == "system");
}

#[test]
fn a_large_discount_needs_approval_when_set_and_again_at_commit_if_the_basket_changed() {
    let mut k = kit();
    let s = k.book.open_session(None, None).unwrap().session_key;
    k.book.add_line(&s, "LATTE", 2, None).unwrap(); // 1500: 10% is 150
    k.book.set_discount(&s, 150).unwrap();
    let e = k.book.set_discount(&s, 151).unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("large_discount"), "{e}");
    assert_eq!(k.book.session(&s).unwrap().discount_q, 150, "nothing written");
    let mia = k.approve_as_manager();
    k.book.set_discount(&s, 500).unwrap();
    k.book.set_approval_pin(None);
    // Nothing changed since: the commit carries the approval without a second PIN.
    let before = k.book.open_session(None, None).unwrap().session_key;
    k.book.add_line(&before, "LATTE", 2, None).unwrap();
    let r = k.book.commit(&s, "k1", CommitOptions::default()).unwrap().order_ref;
    let v = k.book.order(&r).unwrap();
    assert_eq!((v.discount_q, v.approved_by, v.events[0].approved_by), (500, Some(mia.staff_id), Some(mia.staff_id)));
    // The basket changed after the approval: the commit asks again.
    k.book.set_approval_pin(Some(MANAGER_PIN.into()));
    k.book.set_discount(&before, 500).unwrap();
    k.book.set_approval_pin(None);
    k.book.add_line(&before, "ESPRESSO", 1, None).unwrap();
    assert_eq!(code(k.book.commit(&before, "k2", CommitOptions::default())), ErrorCode::PermissionDenied);
    k.book.set_approval_pin(Some(MANAGER_PIN.into()));
    let r = k.book.commit(&before, "k2", CommitOptions::default()).unwrap().order_ref;
    assert_eq!(k.book.order(&r).unwrap().approved_by, Some(mia.staff_id));
    // A higher limit needs nobody.
    k.book.set_approval_pin(None);
    k.book.set_setting("max_discount_pct", "50").unwrap();
    let s = k.book.open_session(None, None).unwrap().session_key;
    k.book.add_line(&s, "LATTE", 2, None).unwrap();
    k.book.set_discount(&s, 750).unwrap();
    let r = k.book.commit(&s, "k3", CommitOptions::default()).unwrap().order_ref;
    assert_eq!(k.book.order(&r).unwrap().approved_by, None);
}

fn server_staff(name: &str, role: Role, pin: &str, active: bool) -> StaffRecord {
    StaffRecord { staff_id: Uuid::now_v7(), name: name.into(), role, pin_hash: super::pin::hash(pin).unwrap(), active }
}

#[test]
fn pulled_staff_replace_the_local_ones_but_the_default_cashier_stays() {
    let mut k = bare_kit();
    let mia = k.approve_as_manager();
    k.book.staff_login(MANAGER_PIN).unwrap();
    k.enroll("T01");
    let boss = server_staff("Bea", Role::Manager, "8642", true);
    let mut clear = server_staff("Cid", Role::Cashier, "1111", true);
    clear.pin_hash = "1111".into(); // a PIN in clear is never kept
    let change = |s: &StaffRecord| Change::Staff { version: 5, staff: s.clone() };
    k.book.apply_pull(&page(vec![change(&boss), change(&clear)], 0)).unwrap();
    let list: Vec<(String, bool, bool, String)> =
        k.book.staff_list().unwrap().into_iter().map(|s| (s.name, s.active, s.has_pin, s.origin)).collect();
    assert_eq!(
        list,
        [
            ("Bea".into(), true, true, "server".into()),
            ("Cashier".into(), true, false, "local".into()),
            ("Cid".into(), true, false, "server".into()),
            ("Mia".into(), false, true, "local".into()),
        ]
    );
    // Mia was signed in and is deactivated: the default cashier acts; her PIN opens nothing.
    assert_eq!(k.book.whoami().unwrap().name, "Cashier");
    assert_eq!(code(k.book.staff_login(MANAGER_PIN)), ErrorCode::InvalidPin);
    let bea = k.book.staff_login("8642").unwrap();
    assert_eq!((bea.staff_id, bea.role), (boss.staff_id, Role::Manager));
    // A later page deactivates her; a new local member is no longer possible.
    let gone = StaffRecord { active: false, ..boss.clone() };
    k.book.apply_pull(&page(vec![change(&gone)], 0)).unwrap();
    assert_eq!(k.book.whoami().unwrap().name, "Cashier");
    assert_ne!(k.book.whoami().unwrap().staff_id, mia.staff_id);
    assert_eq!(code(k.book.add_local_staff("Dan", Role::Cashier, "3579")), ErrorCode::EnrolledTill);
}
