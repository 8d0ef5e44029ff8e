//! Every shift rule the server holds a till to, each a business rejection with its code: a
//! second open shift, a shift id taken, a float or a movement out of bounds, another
//! terminal's or an unknown or a closed shift for cash, sales, payments and refunds, a close
//! that does not add up; a store's currency fixed by its first shift. Events without a shift
//! (from tills before shifts) go through as before, and nothing rejected leaves a trace.

use chrono::{Duration, Utc};
use tillbook_protocol::limits::MAX_AMOUNT_Q;
use tillbook_protocol::shift::{CashMoveKind, ShiftFigures};
use uuid::Uuid;

use crate::payments::{c, cash, day, detail, p, pay, r, refund, sale, Till};
use crate::shift_kit::{closed, expect, micros, moved, opened, sc, sm, so, Pushed};
use crate::support::*;

/// The Z-report of a shift with nothing in it but its float, counted `counted`.
fn empty_close(shift: &tillbook_protocol::shift::ShiftOpened, counted: i64) -> ShiftFigures {
    let none = Pushed {
        shift,
        orders: vec![],
        payments: vec![],
        refunds: vec![],
        moves: vec![],
    };
    expect(&none, Some(micros(Utc::now())), Some(counted))
}

pub async fn rules(db: Db) {
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    let mut t1 = Till::new(&s, "Front", None).await;
    let mut t2 = Till::new(&s, "Back", None).await;
    let now = Utc::now() - Duration::hours(1);

    // Before any shift: orders, payments and refunds without one go through as today.
    let old = sale("OLD", None, &[("LATTE", 750, 2, 0, 0)], 0, day());
    let old_cash = cash(&old, 1500, 1500);
    t1.apply(
        &s,
        &[
            c(&old),
            p(&old_cash),
            r(&refund(&old, "o-1", &[(&old_cash, 100)])),
        ],
    )
    .await;

    // Opening: a float within bounds, in the store's currency; one open shift per till.
    let mut bad = opened(-1, now, "Ana", None);
    t1.reject(&s, so(&bad), "float -1").await;
    bad.float_q = MAX_AMOUNT_Q + 1;
    t1.reject(&s, so(&bad), "float").await;
    bad.float_q = 100;
    bad.actor = String::new();
    t1.reject(&s, so(&bad), "actor is empty").await;
    bad.actor = "Ana".into();
    bad.currency = "brl".into();
    t1.reject(&s, so(&bad), "currency").await;
    let s1 = opened(10_000, now, "Ana", None);
    t1.apply(&s, &[so(&s1)]).await;
    let mut usd = opened(100, now, "Ana", None);
    usd.currency = "USD".into();
    t2.reject(&s, so(&usd), "currency_mismatch").await;
    t1.reject(&s, so(&opened(0, now, "Ana", None)), "shift_already_open")
        .await;
    t1.reject(&s, so(&s1), "shift_already_open").await;
    // The same shift id from another terminal.
    let mut stolen = opened(0, now, "Bob", None);
    stolen.shift_id = s1.shift_id;
    t2.reject(&s, so(&stolen), "shift_exists").await;
    let s2 = opened(0, now, "Bob", None);
    t2.apply(&s, &[so(&s2)]).await;

    // Cash movements: this till's open shift, bounds, a reason.
    let ghost = opened(0, now, "Ana", None);
    t1.reject(
        &s,
        sm(&moved(&ghost, CashMoveKind::In, 100, "x", now)),
        "unknown_shift",
    )
    .await;
    t1.reject(
        &s,
        sm(&moved(&s2, CashMoveKind::In, 100, "x", now)),
        "unknown_shift",
    )
    .await;
    let long = "r".repeat(201);
    for (kind, amount, reason, why) in [
        (CashMoveKind::NoSale, 5, "peek", "no-sale moves no money"),
        (CashMoveKind::In, 0, "x", "amount 0"),
        (CashMoveKind::Out, -100, "x", "amount -100"),
        (CashMoveKind::Out, MAX_AMOUNT_Q + 1, "x", "amount"),
        (CashMoveKind::In, 100, "", "reason is empty"),
        (
            CashMoveKind::In,
            100,
            long.as_str(),
            "reason is longer than 200",
        ),
        (CashMoveKind::In, 100, "a\0b", "NUL"),
    ] {
        t1.reject(&s, sm(&moved(&s1, kind, amount, reason, now)), why)
            .await;
    }
    let mut wrong_currency = moved(&s1, CashMoveKind::In, 100, "x", now);
    wrong_currency.currency = "USD".into();
    t1.reject(&s, sm(&wrong_currency), "currency_mismatch")
        .await;
    let ok_move = moved(&s1, CashMoveKind::In, 100, &"r".repeat(200), now);
    t1.apply(&s, &[sm(&ok_move)]).await;
    t1.reject(&s, sm(&ok_move), "already recorded").await;

    // Sales, payments and refunds in a shift: this till's, open.
    let in_shift = |r: &str, shift: Uuid| {
        let mut o = sale(r, None, &[("ESPRESSO", 500, 1, 0, 0)], 0, day());
        o.shift_id = Some(shift);
        o
    };
    t1.reject(&s, c(&in_shift("X1", ghost.shift_id)), "unknown_shift")
        .await;
    // Another till's shift of the same store takes it: a copied book, re-enrolled under a new
    // identity, sells on in the shift its original opened, and no sale may be lost.
    t1.apply(&s, &[c(&in_shift("X2", s2.shift_id))]).await;
    let a = in_shift("A", s1.shift_id);
    t1.apply(&s, &[c(&a)]).await;
    let mut a_card = pay(&a, "card", 500);
    for (shift, why) in [(ghost.shift_id, "unknown_shift")] {
        a_card.shift_id = Some(shift);
        t1.reject(&s, p(&a_card), why).await;
    }
    a_card.shift_id = Some(s1.shift_id);
    t1.apply(&s, &[p(&a_card)]).await;
    let mut back = refund(&a, "a-1", &[(&a_card, 100)]);
    back.shift_id = Some(ghost.shift_id);
    t1.reject(&s, r(&back), "unknown_shift").await;

    // Closing: this till's open shift, figures that add up.
    let z = empty_close(&s1, 10_000);
    assert_eq!(z.difference_q, Some(0));
    let mut off = z.clone();
    off.difference_q = Some(5);
    t1.reject(&s, sc(&closed(off, None)), "difference 5 is not counted")
        .await;
    let mut neg = z.clone();
    neg.counted_q = Some(-5);
    neg.difference_q = Some(-5 - neg.expected_cash_q);
    t1.reject(&s, sc(&closed(neg, None)), "counted -5").await;
    let mut no_count = z.clone();
    no_count.counted_q = None;
    t1.reject(&s, sc(&closed(no_count, None)), "no counted amount")
        .await;
    let mut other = closed(z.clone(), None);
    other.shift_id = s2.shift_id;
    t1.reject(&s, sc(&other), "figures are shift").await;
    let mut overflow = z.clone();
    overflow.expected_cash_q = -MAX_AMOUNT_Q;
    overflow.counted_q = Some(MAX_AMOUNT_Q);
    overflow.difference_q = Some(i64::MAX);
    t1.reject(&s, sc(&closed(overflow, None)), "difference")
        .await;
    let mut too_big = z.clone();
    too_big.sales_q = -1;
    t1.reject(&s, sc(&closed(too_big, None)), "sales -1").await;
    t2.reject(&s, sc(&closed(z.clone(), None)), "unknown_shift")
        .await;
    t1.reject(
        &s,
        sc(&closed(empty_close(&ghost, 0), None)),
        "unknown_shift",
    )
    .await;
    // The till's figures are not the server's (a sale and a card payment are missing): the
    // close is stored all the same, and then the shift takes nothing more.
    t1.apply(&s, &[sc(&closed(z.clone(), None))]).await;
    t1.reject(&s, sc(&closed(z.clone(), None)), "shift_closed")
        .await;
    t1.reject(
        &s,
        sm(&moved(&s1, CashMoveKind::In, 100, "late", now)),
        "shift_closed",
    )
    .await;
    t1.reject(&s, c(&in_shift("LATE", s1.shift_id)), "shift_closed")
        .await;
    let mut late = pay(&a, "cash", 100);
    late.shift_id = Some(s1.shift_id);
    t1.reject(&s, p(&late), "shift_closed").await;
    let mut late_back = refund(&a, "a-2", &[(&a_card, 100)]);
    late_back.shift_id = Some(s1.shift_id);
    t1.reject(&s, r(&late_back), "shift_closed").await;
    t1.reject(&s, so(&s1), "shift_closed").await;
    // Without a shift the same events still go through.
    let free = sale("FREE", None, &[("ESPRESSO", 500, 1, 0, 0)], 0, day());
    t1.apply(&s, &[c(&free), p(&pay(&free, "cash", 500))]).await;
    let v = s
        .admin("GET", "/v1/admin/shifts?store=main&terminal=T01", None)
        .await;
    let shift = &v["shifts"][0];
    assert_eq!(
        (shift["status"].as_str(), shift["mismatch"].as_bool()),
        (Some("closed"), Some(true))
    );
    assert_eq!(shift["figures"]["order_count"], 1);
    assert_eq!(shift["figures"]["cash_in_q"], 100);
    assert_eq!(shift["till"]["counted_q"], 10_000);
    assert_eq!(shift["till"]["expected_q"], z.expected_cash_q);
    // Nothing rejected left a trace: one movement, one order, one payment in the shift.
    assert_eq!(shift["figures"]["movements"].as_array().unwrap().len(), 1);
    assert_eq!(shift["figures"]["tenders"][0]["count"], 1);
    let va = detail(&s, &a).await;
    assert_eq!(va["payments"].as_array().unwrap().len(), 1);
    assert!(va["refunds"].as_array().unwrap().is_empty());
    // A new shift opens after the close.
    t1.apply(&s, &[so(&opened(0, now, "Ana", None))]).await;

    // A store without orders takes its currency from its first shift.
    s.admin(
        "POST",
        "/v1/admin/stores",
        Some(serde_json::json!({"code": "north", "name": "North"})),
    )
    .await;
    let mut n1 = Till::new(&s, "North 1", Some("north")).await;
    let mut n2 = Till::new(&s, "North 2", Some("north")).await;
    n1.apply(&s, &[so(&usd)]).await;
    n2.reject(
        &s,
        so(&opened(0, now, "Bob", None)),
        "the store sells in USD",
    )
    .await;
    let mut n_usd = opened(0, now, "Bob", None);
    n_usd.currency = "USD".into();
    n2.apply(&s, &[so(&n_usd)]).await;
    // A sale in a shift must be in its currency.
    let mut brl = sale("N1", None, &[("ESPRESSO", 500, 1, 0, 0)], 0, day());
    brl.shift_id = Some(usd.shift_id);
    n1.reject(&s, c(&brl), "currency_mismatch").await;

    // Opened, cash moved and closed in one page, with a sale and its payment between.
    n1_close(&mut n1, &s).await;
    let mut s9 = opened(1_000, now + Duration::minutes(1), "Ana", None);
    s9.currency = "USD".into();
    let mut o9 = sale("N9", None, &[("ESPRESSO", 500, 1, 0, 0)], 0, day());
    o9.currency = "USD".into();
    o9.shift_id = Some(s9.shift_id);
    let mut pay9 = cash(&o9, 500, 500);
    pay9.shift_id = Some(s9.shift_id);
    let in9 = moved(&s9, CashMoveKind::In, 250, "float top-up", now);
    let pushed = Pushed {
        shift: &s9,
        orders: vec![(&o9, false)],
        payments: vec![&pay9],
        refunds: vec![],
        moves: vec![&in9],
    };
    let z9 = expect(&pushed, Some(micros(Utc::now())), Some(1_750));
    n1.apply(
        &s,
        &[so(&s9), c(&o9), p(&pay9), sm(&in9), sc(&closed(z9, None))],
    )
    .await;
    let v = s
        .admin("GET", "/v1/admin/shifts?store=north&terminal=T01", None)
        .await;
    let got = &v["shifts"][0];
    assert_eq!(got["shift_id"], s9.shift_id.to_string());
    assert_eq!(
        (got["status"].as_str(), got["mismatch"].as_bool()),
        (Some("closed"), Some(false))
    );
    assert_eq!(got["figures"]["expected_cash_q"], 1_750);
    assert_eq!(got["figures"]["difference_q"], 0);
}

/// Closes north's first till's open USD shift (nothing in it) so it can open another.
async fn n1_close(n1: &mut Till, s: &Server) {
    let v = s
        .admin("GET", "/v1/admin/shifts?store=north&terminal=T01", None)
        .await;
    let open: ShiftFigures = serde_json::from_value(v["shifts"][0]["figures"].clone()).unwrap();
    let mut z = open.clone();
    z.closed_at = Some(micros(Utc::now()));
    z.counted_q = Some(open.expected_cash_q);
    z.difference_q = Some(0);
    n1.apply(s, &[sc(&closed(z, None))]).await;
}
