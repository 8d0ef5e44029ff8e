//! Counts as baselines and one-of-a-kind items: the storage contract's stock chapters.

use chrono::{Duration, SubsecRound, Utc};
use tillbook_protocol::catalog::ProductRecord;
use tillbook_protocol::events::EventPayload;
use tillbook_protocol::sync::{
    Change, EventOutcome, PullCursor, PullResponse, UniqueReservation, UniqueSale,
};
use tillbook_server::service::AdjustRequest;
use tillbook_server::Store;
use uuid::Uuid;

use crate::contract::{enrolled_in, outcomes, pull_req};
use crate::support::*;

/// Counts are baselines at the moment they were taken, whatever the arrival order.
pub async fn counts(store: &Store) {
    // SKUs of their own: no earlier stock of theirs to count in.
    store
        .upsert_catalog(vec![
            product("CNT_A", false),
            product("CNT_B", false),
            product("CNT_C", false),
        ])
        .await
        .unwrap();
    let (t, tok, _) = enrolled_in(store, "Count till", None).await;
    let now = Utc::now();
    let mut seq = 0;
    let mut push = async |evs: Vec<EventPayload>| {
        let evs: Vec<_> = evs
            .iter()
            .map(|p| {
                seq += 1;
                outbox(seq, p)
            })
            .collect();
        let r = store.push(&tok, page(t, &evs)).await.unwrap();
        assert!(
            r.results.iter().all(|x| x.outcome == EventOutcome::Applied),
            "{r:?}"
        );
    };
    // A sale after the count arrives first, the count later: 40 − 1.
    push(vec![adjusted_at("CNT_A", -1, now - Duration::minutes(5))]).await;
    push(vec![counted_at(
        "CNT_A",
        40,
        now - Duration::minutes(10),
        Uuid::now_v7(),
    )])
    .await;
    assert_eq!(on_hand(store, "CNT_A").await, 39);
    // The other way round on another SKU: the same answer. A movement before the count, or
    // at its very time, arriving late is inside the count already.
    push(vec![counted_at(
        "CNT_B",
        40,
        now - Duration::minutes(10),
        Uuid::now_v7(),
    )])
    .await;
    push(vec![adjusted_at("CNT_B", -1, now - Duration::minutes(5))]).await;
    assert_eq!(on_hand(store, "CNT_B").await, 39);
    push(vec![
        adjusted_at("CNT_B", -2, now - Duration::minutes(20)),
        adjusted_at("CNT_B", -4, now - Duration::minutes(10)),
    ])
    .await;
    assert_eq!(on_hand(store, "CNT_B").await, 39);
    // An older count is only recorded.
    push(vec![counted_at(
        "CNT_B",
        7,
        now - Duration::minutes(30),
        Uuid::now_v7(),
    )])
    .await;
    assert_eq!(on_hand(store, "CNT_B").await, 39);
    // A newer count re-bases on what it counted plus the movements after it.
    push(vec![counted_at(
        "CNT_B",
        20,
        now - Duration::minutes(7),
        Uuid::now_v7(),
    )])
    .await;
    assert_eq!(on_hand(store, "CNT_B").await, 19);

    // Two counts at the same time: the greater delta id wins, whichever arrives first.
    let at = now - Duration::minutes(3);
    let (low, high) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(high > low);
    push(vec![counted_at("CNT_C", 10, at, high)]).await;
    push(vec![counted_at("CNT_C", 20, at, low)]).await;
    assert_eq!(on_hand(store, "CNT_C").await, 10);
    let (low2, high2) = (Uuid::now_v7(), Uuid::now_v7());
    let at2 = now - Duration::minutes(2);
    push(vec![counted_at("CNT_C", 30, at2, low2)]).await;
    push(vec![counted_at("CNT_C", 50, at2, high2)]).await;
    assert_eq!(on_hand(store, "CNT_C").await, 50);

    // A till clock running ahead cannot put a movement after a later count: it is ordered at
    // its arrival, and the back office's count (at the server's now) includes it.
    push(vec![adjusted_at("LATTE", -5, now + Duration::hours(1))]).await;
    let counted = store
        .adjust_stock(AdjustRequest {
            sku: "LATTE".into(),
            store: None,
            location: None,
            delta: None,
            count: Some(60),
            reason: "count".into(),
            note: None,
        })
        .await
        .unwrap();
    assert_eq!(counted.on_hand, 60);
    assert_eq!(on_hand(store, "LATTE").await, 60);
    push(vec![adjusted_at(
        "LATTE",
        -1,
        Utc::now() + Duration::seconds(1),
    )])
    .await;
    assert_eq!(on_hand(store, "LATTE").await, 59);
}

fn product(sku: &str, unique: bool) -> ProductRecord {
    let mut p = tillbook_server::service::catalog::demo_products().remove(0);
    p.sku = sku.into();
    p.name = sku.into();
    p.unique = unique;
    p
}

/// One-of-a-kind items judged by the server's catalog, conflicts flagged per store.
pub async fn unique_items(store: &Store) {
    store
        .upsert_catalog(vec![product("VASE", true), product("BOWL", false)])
        .await
        .unwrap();
    let (ta, toka, _) = enrolled_in(store, "Unique A", None).await;
    let (tb, tokb, _) = enrolled_in(store, "Unique B", None).await;
    let (tn, tokn, _) = enrolled_in(store, "Unique N", Some("north")).await;
    let snap = store.pull(&tokb, pull_req(tb, None)).await.unwrap();
    // The tills' lines say "not unique": the server knows better.
    let sa = order("UA-1", "VASE", 1, false);
    let sb = order("UB-1", "VASE", 1, false);
    let bowl = order("UB-2", "BOWL", 1, true);
    store
        .push(&toka, page(ta, &[outbox(1, &sa)]))
        .await
        .unwrap();
    store
        .push(
            &tokb,
            page(
                tb,
                &[
                    outbox(1, &sb),
                    outbox(2, &bowl),
                    outbox(3, &order("UB-3", "BOWL", 1, true)),
                ],
            ),
        )
        .await
        .unwrap();
    store
        .push(
            &tokn,
            page(tn, &[outbox(1, &order("UN-1", "VASE", 1, false))]),
        )
        .await
        .unwrap();
    let alerts = store.alerts(None).await.unwrap();
    assert_eq!(alerts.conflicts.len(), 1, "{:?}", alerts.conflicts);
    let c = &alerts.conflicts[0];
    assert_eq!((c.store.as_str(), c.sku.as_str()), ("main", "VASE"));
    assert_eq!(c.orders, vec!["UA-1", "UB-1"]);
    assert_eq!(
        c.order_ids,
        vec![
            committed(&sa).order_id.to_string(),
            committed(&sb).order_id.to_string()
        ]
    );
    assert!(store
        .alerts(Some("north"))
        .await
        .unwrap()
        .conflicts
        .is_empty());
    assert!(!store.order("UB-2").await.unwrap().lines[0].unique);
    // Other tills of the store pull who sold it: the earliest live order.
    let sold_by = |changes: &[Change]| {
        changes.iter().rev().find_map(|ch| match ch {
            Change::UniqueItem { sku, sold_by, .. } if sku == "VASE" => Some(sold_by.clone()),
            _ => None,
        })
    };
    let inc = store
        .pull(&tokb, pull_req(tb, Some(snap.cursor)))
        .await
        .unwrap();
    let s = sold_by(&inc.changes)
        .expect("a unique item change")
        .expect("sold");
    assert_eq!((s.order_id, s.terminal_id), (committed(&sa).order_id, ta));
    // Cancelling one of them clears the conflict; the other becomes the seller.
    store
        .push(
            &toka,
            page(
                ta,
                &[outbox(
                    2,
                    &status(&sa, "new", "cancelled", Some(("VASE", 1))),
                )],
            ),
        )
        .await
        .unwrap();
    assert!(store
        .alerts(Some("main"))
        .await
        .unwrap()
        .conflicts
        .is_empty());
    let inc2 = store
        .pull(&tokb, pull_req(tb, Some(inc.cursor)))
        .await
        .unwrap();
    let s = sold_by(&inc2.changes)
        .expect("a unique item change")
        .expect("sold");
    assert_eq!(s.order_ref, "UB-1");
    // An item cancel of the last live line frees it.
    let r = store
        .push(
            &tokb,
            page(tb, &[outbox(4, &item(&sb, 1, None, "cancelled"))]),
        )
        .await
        .unwrap();
    assert_eq!(outcomes(&r), vec![EventOutcome::Applied]);
    let inc3 = store
        .pull(&tokb, pull_req(tb, Some(inc2.cursor)))
        .await
        .unwrap();
    assert_eq!(sold_by(&inc3.changes), Some(None));
    let _: PullCursor = inc3.cursor;
}

/// Where a pull leaves `sku`: `None` when it brought no change of it, else (sold by, held by).
fn unique_state(
    r: &PullResponse,
    sku: &str,
) -> Option<(Option<UniqueSale>, Option<UniqueReservation>)> {
    r.changes.iter().rev().find_map(|ch| match ch {
        Change::UniqueItem {
            sku: s,
            sold_by,
            reserved,
            ..
        } if s == sku => Some((sold_by.clone(), reserved.clone())),
        _ => None,
    })
}

/// Baskets holding one-of-a-kind items: other tills of the store pull them as reserved.
pub async fn unique_holds(store: &Store) {
    store
        .upsert_catalog(vec![product("URN", true), product("MUG", false)])
        .await
        .unwrap();
    let (ta, toka, _) = enrolled_in(store, "Hold A", None).await;
    let (tb, tokb, _) = enrolled_in(store, "Hold B", None).await;
    let (tn, tokn, _) = enrolled_in(store, "Hold N", Some("north")).await;
    let mut cur_b = store.pull(&tokb, pull_req(tb, None)).await.unwrap().cursor;
    let cur_n = store.pull(&tokn, pull_req(tn, None)).await.unwrap().cursor;
    let mut seqs = std::collections::HashMap::new();
    let push = async |t: Uuid,
                      tok: &str,
                      p: EventPayload,
                      seqs: &mut std::collections::HashMap<Uuid, u64>| {
        let seq = seqs.entry(t).or_insert(0);
        *seq += 1;
        let r = store.push(tok, page(t, &[outbox(*seq, &p)])).await.unwrap();
        assert_eq!(r.last_applied_seq, *seq, "{r:?}");
        r.results[0].clone()
    };
    let pull_b = async |cur: &mut PullCursor| {
        let r = store.pull(&tokb, pull_req(tb, Some(*cur))).await.unwrap();
        *cur = r.cursor;
        r
    };
    let now = Utc::now().trunc_subsecs(6);

    // A's basket holds the urn: B pulls it as reserved by A, until when A said.
    let until_a = now + Duration::minutes(10);
    let r = push(
        ta,
        &toka,
        hold("URN", "basket-1", Some(until_a), now),
        &mut seqs,
    )
    .await;
    assert_eq!(r.outcome, EventOutcome::Applied, "{r:?}");
    let held = unique_state(&pull_b(&mut cur_b).await, "URN").expect("a unique item change");
    assert_eq!(
        held,
        (
            None,
            Some(UniqueReservation {
                terminal_id: ta,
                until: until_a
            })
        )
    );
    // Another store's till never sees it.
    let north = store.pull(&tokn, pull_req(tn, Some(cur_n))).await.unwrap();
    assert_eq!(unique_state(&north, "URN"), None, "{:?}", north.changes);

    // The basket's hold moves on; released, the urn is free again.
    let later = now + Duration::minutes(30);
    push(
        ta,
        &toka,
        hold("URN", "basket-1", Some(later), now),
        &mut seqs,
    )
    .await;
    let (_, reserved) = unique_state(&pull_b(&mut cur_b).await, "URN").unwrap();
    assert_eq!(reserved.map(|r| r.until), Some(later));
    push(ta, &toka, hold("URN", "basket-1", None, now), &mut seqs).await;
    assert_eq!(
        unique_state(&pull_b(&mut cur_b).await, "URN"),
        Some((None, None))
    );

    // Holds of two tills: the one that ends last is the store's reservation.
    push(
        ta,
        &toka,
        hold("URN", "basket-2", Some(until_a), now),
        &mut seqs,
    )
    .await;
    push(tb, &tokb, hold("URN", "b-1", Some(later), now), &mut seqs).await;
    let (_, reserved) = unique_state(&pull_b(&mut cur_b).await, "URN").unwrap();
    assert_eq!(reserved.map(|r| r.terminal_id), Some(tb));
    push(tb, &tokb, hold("URN", "b-1", None, now), &mut seqs).await;
    let (_, reserved) = unique_state(&pull_b(&mut cur_b).await, "URN").unwrap();
    assert_eq!(reserved.map(|r| r.terminal_id), Some(ta));

    // A hold that has run out by the server's clock reserves nothing.
    let past = now - Duration::hours(2);
    push(
        tb,
        &tokb,
        hold("URN", "b-2", Some(past + Duration::hours(1)), past),
        &mut seqs,
    )
    .await;
    let (_, reserved) = unique_state(&pull_b(&mut cur_b).await, "URN").unwrap();
    assert_eq!(reserved.map(|r| r.terminal_id), Some(ta));

    // A sells it: its hold ends with the sale, which other tills pull as sold_by.
    let sale = order("UH-1", "URN", 1, false);
    let r = push(ta, &toka, sale.clone(), &mut seqs).await;
    assert_eq!(r.outcome, EventOutcome::Applied, "{r:?}");
    let (sold_by, reserved) = unique_state(&pull_b(&mut cur_b).await, "URN").unwrap();
    assert_eq!(
        sold_by.map(|s| (s.order_id, s.terminal_id)),
        Some((committed(&sale).order_id, ta))
    );
    assert_eq!(reserved, None);
    // Cancelling the sale frees it, and gives no hold back.
    push(
        ta,
        &toka,
        status(&sale, "new", "cancelled", Some(("URN", 1))),
        &mut seqs,
    )
    .await;
    assert_eq!(
        unique_state(&pull_b(&mut cur_b).await, "URN"),
        Some((None, None))
    );

    // Judged as if the till were wrong: a reason for each bad hold, the cursor moves on.
    let bad = [
        (hold("MUG", "basket-1", Some(until_a), now), "one of a kind"),
        (hold("NOPE", "basket-1", Some(until_a), now), "unknown sku"),
        (
            hold("URN", "basket-1", Some(now + Duration::hours(25)), now),
            "more than a day",
        ),
        (hold("URN", "basket-1", Some(now), now), "not after"),
        (hold("URN", "", Some(until_a), now), "session_key is empty"),
        (hold("URN", "bas\u{0}ket", None, now), "NUL"),
    ];
    for (p, why) in bad {
        let r = push(ta, &toka, p, &mut seqs).await;
        assert_eq!(r.outcome, EventOutcome::Rejected, "{r:?}");
        let reason = r.reason.unwrap_or_default();
        assert!(reason.contains(why), "{reason:?} does not say {why:?}");
    }
    // None of them reserved anything.
    let r = pull_b(&mut cur_b).await;
    assert_eq!(unique_state(&r, "URN"), None, "{:?}", r.changes);
}
