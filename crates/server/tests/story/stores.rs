//! Stores, order identity, validation, counts and unique items: the storage contract's
//! chapters for the issue "No sale lost, none counted twice".

use chrono::Utc;
use tillbook_protocol::events::{EventPayload, StockReason};
use tillbook_protocol::limits::{MAX_CODE, MAX_QTY, MAX_STOCK_DELTA};
use tillbook_protocol::sync::{Change, EventOutcome, PushRequest};
use tillbook_server::{Error, Store};
use uuid::Uuid;

use crate::contract::{enrolled_in, outcomes, pull_req};
use crate::support::*;

fn edit(
    mut p: EventPayload,
    f: impl FnOnce(&mut tillbook_protocol::events::OrderCommitted),
) -> EventPayload {
    if let EventPayload::OrderCommitted(o) = &mut p {
        f(o);
    }
    p
}

fn edit_deltas(
    mut p: EventPayload,
    f: impl FnOnce(&mut Vec<tillbook_protocol::events::StockDelta>),
) -> EventPayload {
    match &mut p {
        EventPayload::OrderCommitted(o) => f(&mut o.stock_deltas),
        EventPayload::OrderStatusChanged(c) => f(&mut c.stock_deltas),
        EventPayload::OrderItemStatusChanged(c) => f(&mut c.stock_deltas),
        EventPayload::StockAdjusted(a) => f(&mut a.stock_deltas),
        EventPayload::RefundRecorded(r) => f(&mut r.stock_deltas),
        EventPayload::UniqueHold(_)
        | EventPayload::PaymentRecorded(_)
        | EventPayload::ShiftOpened(_)
        | EventPayload::CashMoved(_)
        | EventPayload::ShiftClosed(_) => {}
    }
    p
}

/// Every kind of bad event is a business rejection with a reason; the cursor moves on.
pub async fn validation(store: &Store, _t1: Uuid, _tok1: &str, _seq: u64) {
    let (t, tok, _) = enrolled_in(store, "Validation till", None).await;
    let espresso = on_hand(store, "ESPRESSO").await;
    let good = order("V-1", "ESPRESSO", 1, false);
    let ok = |r: &str| order(r, "ESPRESSO", 1, false);
    let cases: Vec<(EventPayload, &str)> = vec![
        (
            edit(ok("V-2"), |o| {
                o.lines[0].qty = 0;
                o.lines[0].total_q = 0;
                o.subtotal_q = 0;
                o.total_q = 0;
            }),
            "quantity",
        ),
        (
            edit(ok("V-3"), |o| o.lines[0].qty = MAX_QTY + 1),
            "quantity",
        ),
        (
            edit(ok("V-4"), |o| o.lines[0].unit_price_q = -1),
            "unit price",
        ),
        (edit(ok("V-5"), |o| o.lines.clear()), "lines"),
        (
            edit(ok("V-6"), |o| {
                let l = o.lines[0].clone();
                o.lines.push(l);
            }),
            "repeats line",
        ),
        (edit(ok("V-7"), |o| o.lines[0].line_no = 0), "start at 1"),
        (edit(ok("V-8"), |o| o.lines[0].discount_q = 501), "discount"),
        (edit(ok("V-9"), |o| o.lines[0].total_q = 499), "total"),
        (edit(ok("V-10"), |o| o.subtotal_q = 400), "subtotal"),
        (
            edit(ok("V-11"), |o| {
                o.discount_q = 501;
                o.total_q = -1;
            }),
            "discount",
        ),
        (edit(ok("V-12"), |o| o.total_q = 1), "total"),
        (edit(ok("V-13"), |o| o.currency = "brl".into()), "currency"),
        (
            edit(ok("V-14"), |o| o.channel = "web".into()),
            "unknown channel",
        ),
        (
            edit(ok("V-15"), |o| o.status = "confirmed".into()),
            "starts in status",
        ),
        (edit(ok("V-16"), |o| o.order_ref = "V\0".into()), "NUL"),
        (
            edit(ok("V-17"), |o| o.order_ref = "V".repeat(MAX_CODE + 1)),
            "longer than",
        ),
        (edit(ok("V-18"), |o| o.lines[0].name = " ".into()), "empty"),
        (edit_deltas(ok("V-19"), |d| d[0].delta = 1), "does not fit"),
        (
            edit_deltas(ok("V-20"), |d| d[0].reason = StockReason::Adjustment),
            "does not fit",
        ),
        (
            edit_deltas(ok("V-21"), |d| d[0].sku = "GHOST".into()),
            "unknown sku",
        ),
        (
            edit_deltas(adjusted("LATTE", 1), |d| d[0].reason = StockReason::Sale),
            "does not fit",
        ),
        (adjusted("LATTE", 0), "movement of 0"),
        (adjusted("LATTE", MAX_STOCK_DELTA + 1), "beyond"),
        (
            edit_deltas(adjusted("LATTE", 1), |d| d[0].reason = StockReason::Count),
            "carries no",
        ),
        (
            edit_deltas(adjusted("LATTE", 1), |d| d[0].counted = Some(4)),
            "only a count",
        ),
        (
            counted_at("LATTE", -1, Utc::now(), Uuid::now_v7()),
            "counted",
        ),
        (
            status(&good, "confirmed", "ready", None),
            "is new, not confirmed",
        ),
        (status(&good, "new", "completed", None), "does not allow"),
        (
            edit_deltas(
                status(&good, "new", "cancelled", Some(("ESPRESSO", 1))),
                |d| d[0].reason = StockReason::Sale,
            ),
            "does not fit",
        ),
        (
            status(&good, "new", "confirmed", Some(("ESPRESSO", 1))),
            "does not fit",
        ),
        (item(&good, 1, None, "eaten"), "item status"),
        (item(&good, 2, None, "ready"), "no line 2"),
        (
            item(&good, 1, Some("ready"), "delivered"),
            "without a status, not ready",
        ),
    ];
    let mut evs = vec![outbox(1, &good)];
    for (i, (p, _)) in cases.iter().enumerate() {
        evs.push(outbox(i as u64 + 2, p));
    }
    let r = store.push(&tok, page(t, &evs)).await.unwrap();
    assert_eq!(r.last_applied_seq, evs.len() as u64);
    assert_eq!(r.results[0].outcome, EventOutcome::Applied, "{r:?}");
    for (res, (_, want)) in r.results[1..].iter().zip(&cases) {
        assert_eq!(res.outcome, EventOutcome::Rejected, "{want}: {res:?}");
        let reason = res.reason.clone().unwrap_or_default();
        assert!(reason.contains(want), "want {want:?} in {reason:?}");
    }
    assert_eq!(on_hand(store, "ESPRESSO").await, espresso - 1);
    assert_eq!(store.order("V-1").await.unwrap().summary.status, "new");
    assert!(store.order("V-2").await.is_err());

    // Item moves: from the current status, never out of a final one.
    let n = evs.len() as u64;
    let evs = vec![
        outbox(n + 1, &item(&good, 1, None, "delivered")),
        outbox(n + 2, &item(&good, 1, Some("delivered"), "cancelled")),
        outbox(n + 3, &status(&good, "new", "confirmed", None)),
        outbox(n + 4, &status(&good, "new", "confirmed", None)), // a move made twice
    ];
    let r = store.push(&tok, page(t, &evs)).await.unwrap();
    use EventOutcome::*;
    assert_eq!(
        outcomes(&r),
        vec![Applied, Rejected, Applied, Rejected],
        "{r:?}"
    );
    assert!(r.results[1]
        .reason
        .as_deref()
        .unwrap()
        .contains("already delivered"));
    assert!(r.results[3]
        .reason
        .as_deref()
        .unwrap()
        .contains("is confirmed, not new"));
}

/// Stores and terminals; pushes land in the terminal's store; orders known by their id.
pub async fn stores_and_identity(
    store: &Store,
    (t1, tok1): (Uuid, &str),
    (t2, tok2): (Uuid, &str),
) {
    let north = store.create_store("north", "North store").await.unwrap();
    assert_eq!(
        (north.code.as_str(), north.name.as_str()),
        ("north", "North store")
    );
    assert!(matches!(
        store.create_store("north", "Again").await,
        Err(Error::StoreExists(_))
    ));
    assert!(matches!(
        store.create_store("no spaces", "X").await,
        Err(Error::InvalidBody(_))
    ));
    assert!(matches!(
        store.create_store("", "X").await,
        Err(Error::InvalidBody(_))
    ));
    let codes: Vec<_> = store
        .stores()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(codes, vec!["main", "north"]);
    let (t3, tok3, code3) = enrolled_in(store, "North till", Some("north")).await;
    assert_eq!(code3, "T01"); // codes are per store
    let secret = hash_code();
    let taken = store
        .create_terminal(Uuid::now_v7(), "Dup", &secret, Some("north"), Some("T01"))
        .await;
    assert!(
        matches!(taken, Err(Error::TerminalCodeTaken { .. })),
        "{taken:?}"
    );
    let bad = store
        .create_terminal(Uuid::now_v7(), "Bad", &hash_code(), None, Some("T-1"))
        .await;
    assert!(matches!(bad, Err(Error::InvalidBody(_))), "{bad:?}");
    let unknown = store
        .create_terminal(Uuid::now_v7(), "X", &hash_code(), Some("south"), None)
        .await;
    assert!(
        matches!(unknown, Err(Error::UnknownStore(_))),
        "{unknown:?}"
    );
    let given = store
        .create_terminal(
            Uuid::now_v7(),
            "Given",
            &hash_code(),
            Some("north"),
            Some("K9"),
        )
        .await
        .unwrap();
    assert_eq!(given.terminal_code, "K9");

    // Two tills that printed the same reference both keep their sale; one in north too.
    let seq1 = store
        .push(tok1, page(t1, &[]))
        .await
        .unwrap()
        .last_applied_seq;
    let seq2 = store
        .push(tok2, page(t2, &[]))
        .await
        .unwrap()
        .last_applied_seq;
    let a = order("T01-0001", "ESPRESSO", 1, false);
    let b = order("T01-0001", "ESPRESSO", 1, false);
    let c = order("T01-0001", "ESPRESSO", 3, false);
    let main_before = on_hand(store, "ESPRESSO").await;
    let north_before = on_hand_in(store, "north", "ESPRESSO").await;
    for (tok, t, seq, o) in [
        (tok1, t1, seq1, &a),
        (tok2, t2, seq2, &b),
        (&tok3[..], t3, 0, &c),
    ] {
        let r = store
            .push(tok, page(t, &[outbox(seq + 1, o)]))
            .await
            .unwrap();
        assert_eq!(outcomes(&r), vec![EventOutcome::Applied], "{r:?}");
    }
    assert_eq!(on_hand(store, "ESPRESSO").await, main_before - 2);
    assert_eq!(
        on_hand_in(store, "north", "ESPRESSO").await,
        north_before - 3
    );
    match store.order("T01-0001").await {
        Err(Error::AmbiguousOrderRef { order_ids, .. }) => assert_eq!(order_ids.len(), 3),
        other => panic!("expected an ambiguous reference: {other:?}"),
    }
    let da = store
        .order(&committed(&a).order_id.to_string())
        .await
        .unwrap();
    assert_eq!(
        (da.summary.terminal_id.as_str(), da.summary.store.as_str()),
        (t1.to_string().as_str(), "main")
    );
    let dc = store
        .order(&committed(&c).order_id.to_string())
        .await
        .unwrap();
    assert_eq!(
        (dc.summary.store.as_str(), dc.summary.terminal_code.as_str()),
        ("north", "T01")
    );

    // A store's order is moved by any terminal of that store, by none of another.
    let r = store
        .push(
            &tok3,
            page(
                t3,
                &[outbox(
                    2,
                    &status(&a, "new", "cancelled", Some(("ESPRESSO", 1))),
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(outcomes(&r), vec![EventOutcome::Rejected]);
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("unknown order"));
    let r = store
        .push(
            tok2,
            page(
                t2,
                &[outbox(
                    seq2 + 2,
                    &status(&a, "new", "cancelled", Some(("ESPRESSO", 1))),
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(outcomes(&r), vec![EventOutcome::Applied], "{r:?}");
    let r = store
        .push(
            tok1,
            page(
                t1,
                &[outbox(
                    seq1 + 2,
                    &status(&a, "new", "cancelled", Some(("ESPRESSO", 1))),
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes(&r),
        vec![EventOutcome::Rejected],
        "the move was made already"
    );
    assert_eq!(on_hand(store, "ESPRESSO").await, main_before - 1);

    // Naming another store than one's own is refused whole; one's own is fine.
    let claim = |store_code: &str, seq: u64| PushRequest {
        store: Some(store_code.into()),
        ..page(t3, &[outbox(seq, &adjusted("LATTE", 1))])
    };
    assert!(matches!(
        store.push(&tok3, claim("main", 3)).await,
        Err(Error::ForbiddenStore { .. })
    ));
    assert!(matches!(
        store
            .pull(
                &tok3,
                tillbook_protocol::sync::PullRequest {
                    store: Some("main".into()),
                    ..pull_req(t3, None)
                }
            )
            .await,
        Err(Error::ForbiddenStore { .. })
    ));
    let r = store.push(&tok3, claim("north", 3)).await.unwrap();
    assert_eq!(outcomes(&r), vec![EventOutcome::Applied]);
    // North's till pulls the chain's catalog and its own store's stock only.
    let snap = store.pull(&tok3, pull_req(t3, None)).await.unwrap();
    let esp = snap.changes.iter().find_map(|ch| match ch {
        Change::StockLevel { sku, on_hand, .. } if sku == "ESPRESSO" => Some(*on_hand),
        _ => None,
    });
    assert_eq!(esp, Some(north_before - 3));
    assert!(!snap
        .changes
        .iter()
        .any(|ch| matches!(ch, Change::StockLevel { sku, .. } if sku == "CAPPUCCINO")));
    assert!(snap
        .changes
        .iter()
        .any(|ch| matches!(ch, Change::Product { .. })));
}

fn hash_code() -> String {
    tillbook_server::secret::hash_enrollment_code(&format!("C-{}", Uuid::now_v7().simple()))
}
