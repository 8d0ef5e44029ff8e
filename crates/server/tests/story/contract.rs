//! The storage contract: one story every backend must tell the same way.

use tillbook_protocol::sync::{Change, EventOutcome, PullCursor, PullRequest, PushResponse};
use tillbook_protocol::PROTOCOL_VERSION;
use tillbook_server::secret::{hash_enrollment_code, hash_secret};
use tillbook_server::service::{AdjustRequest, OrdersCursor};
use tillbook_server::{Error, Store};
use uuid::Uuid;

use crate::support::*;

/// Creates and enrols a terminal directly on the store (`store`: a code, or the default);
/// returns (id, token hash, terminal code).
pub async fn enrolled_in(store: &Store, name: &str, code: Option<&str>) -> (Uuid, String, String) {
    let id = Uuid::now_v7();
    let secret = format!("CODE-{}", Uuid::now_v7().simple());
    let created = store
        .create_terminal(id, name, &hash_enrollment_code(&secret), code, None)
        .await
        .unwrap();
    assert_eq!(created.store, code.unwrap_or("main"));
    let token = hash_secret(&format!("token-{id}"));
    let e = store
        .enroll(&hash_enrollment_code(&secret), &token)
        .await
        .unwrap();
    assert_eq!((e.terminal_id, e.name.as_str()), (id, name));
    assert_eq!(
        (e.store.as_str(), e.terminal_code.as_str()),
        (created.store.as_str(), created.terminal_code.as_str())
    );
    assert!(matches!(
        store.enroll(&hash_enrollment_code(&secret), "other").await,
        Err(Error::EnrollmentCodeUsed)
    ));
    (id, token, created.terminal_code)
}

async fn enrolled(store: &Store, name: &str) -> (Uuid, String) {
    let (id, token, _) = enrolled_in(store, name, None).await;
    (id, token)
}

pub fn pull_req(terminal: Uuid, cursor: Option<PullCursor>) -> PullRequest {
    PullRequest {
        protocol: PROTOCOL_VERSION,
        terminal_id: terminal,
        store: None,
        cursor,
        limit: 1000,
    }
}

pub fn outcomes(r: &PushResponse) -> Vec<EventOutcome> {
    r.results.iter().map(|x| x.outcome).collect()
}

/// Every order ref of a listing, walking its pages.
pub async fn all_refs(store: &Store, code: Option<&str>, limit: u32) -> Vec<String> {
    let mut refs = Vec::new();
    let mut after = OrdersCursor::default();
    loop {
        let p = store.orders(code, limit, after.clone()).await.unwrap();
        refs.extend(p.orders.iter().map(|o| o.order_ref.clone()));
        match p.next {
            Some(n) => after = OrdersCursor::parse(&n).unwrap(),
            None => break,
        }
    }
    refs
}

pub async fn story(store: Store) {
    store.seed_demo().await.unwrap();
    store.seed_demo().await.unwrap(); // idempotent
    assert_eq!(on_hand(&store, "ESPRESSO").await, 100);
    assert!(matches!(
        store.enroll(&hash_enrollment_code("NOPE"), "x").await,
        Err(Error::InvalidEnrollmentCode)
    ));
    let (t1, tok1, code1) = enrolled_in(&store, "Till 1", None).await;
    let (t2, tok2, code2) = enrolled_in(&store, "Till 2", None).await;
    assert_eq!((code1.as_str(), code2.as_str()), ("T01", "T02"));

    // Rule 4: a page applies once; a re-send is all duplicates.
    let o1 = order("ORD-1", "ESPRESSO", 2, false);
    let evs = vec![
        outbox(1, &o1),
        outbox(2, &adjusted("LATTE", -3)),
        outbox(3, &status(&o1, "new", "confirmed", None)),
    ];
    let r = store.push(&tok1, page(t1, &evs)).await.unwrap();
    assert_eq!(r.last_applied_seq, 3);
    assert!(!r.gap);
    assert!(
        r.results.iter().all(|x| x.outcome == EventOutcome::Applied),
        "{r:?}"
    );
    let again = store.push(&tok1, page(t1, &evs)).await.unwrap();
    assert_eq!(again.last_applied_seq, 3);
    assert!(again
        .results
        .iter()
        .all(|x| x.outcome == EventOutcome::Duplicate));
    assert_eq!(on_hand(&store, "ESPRESSO").await, 98);
    assert_eq!(on_hand(&store, "LATTE").await, 97);
    let d1 = store.order("ORD-1").await.unwrap();
    assert_eq!(d1.summary.status, "confirmed");
    assert_eq!(d1.summary.order_id, committed(&o1).order_id);
    assert_eq!(
        (d1.summary.store.as_str(), d1.summary.terminal_code.as_str()),
        ("main", "T01")
    );
    assert_eq!(d1.summary.terminal_name, "Till 1");
    assert_eq!(d1.summary.terminal_id, t1.to_string());

    // A gap is answered with the last applied seq; nothing after it is applied.
    let gap = store
        .push(
            &tok1,
            page(t1, &[outbox(5, &order("ORD-5", "LATTE", 1, false))]),
        )
        .await
        .unwrap();
    assert!(gap.gap && gap.results.is_empty());
    assert_eq!(gap.last_applied_seq, 3);
    assert!(store.order("ORD-5").await.is_err());

    // Rule 6: the same seq with another payload fails the whole page.
    let mut changed = evs[2].clone();
    changed.payload["to"] = "ready".into();
    changed.payload_hash = tillbook_protocol::payload_hash(&changed.payload);
    let next = outbox(4, &order("ORD-4", "LATTE", 1, false));
    let bad = store.push(&tok1, page(t1, &[changed, next.clone()])).await;
    assert!(matches!(bad, Err(Error::PayloadMismatch(_))), "{bad:?}");
    assert!(store.order("ORD-4").await.is_err());
    let mut reused = outbox(4, &order("ORD-4", "LATTE", 1, false));
    reused.event_id = evs[0].event_id;
    assert!(matches!(
        store.push(&tok1, page(t1, &[reused])).await,
        Err(Error::PayloadMismatch(_))
    ));
    let mut lying = next.clone();
    lying.payload_hash = "00".repeat(32);
    assert!(matches!(
        store.push(&tok1, page(t1, &[lying])).await,
        Err(Error::PayloadHashInvalid(_))
    ));

    // Rule 7: rejections are recorded and do not block the queue.
    let evs2 = vec![
        next,
        outbox(5, &order("ORD-X", "NO_SUCH_SKU", 1, false)),
        outbox(
            6,
            &status_of(Uuid::now_v7(), "ORD-UNKNOWN", "new", "cancelled", None),
        ),
        outbox(7, &order("ORD-1", "LATTE", 1, false)), // the terminal's reference again
        outbox(8, &order("ORD-8", "CROISSANT", 150, false)), // oversold: a shortage
    ];
    let r = store.push(&tok1, page(t1, &evs2)).await.unwrap();
    use EventOutcome::*;
    assert_eq!(
        outcomes(&r),
        vec![Applied, Rejected, Rejected, Rejected, Applied]
    );
    let reason = |r: &PushResponse, i: usize| r.results[i].reason.clone().unwrap_or_default();
    assert!(reason(&r, 1).contains("NO_SUCH_SKU"));
    assert!(reason(&r, 2).contains("unknown order"), "{}", reason(&r, 2));
    assert!(
        reason(&r, 3).contains("already exists on this terminal"),
        "{}",
        reason(&r, 3)
    );
    assert_eq!(r.last_applied_seq, 8);
    let again = store.push(&tok1, page(t1, &evs2)).await.unwrap();
    assert_eq!(again.results[1].outcome, Rejected);
    assert!(again.results[1].reason.is_some());
    assert_eq!(again.results[0].outcome, Duplicate);

    // A terminal acts only as itself.
    assert!(matches!(
        store.push(&tok2, page(t1, &[])).await,
        Err(Error::TerminalMismatch { .. })
    ));

    crate::stores::validation(&store, t1, &tok1, 9).await;
    crate::stores::stores_and_identity(&store, (t1, &tok1), (t2, &tok2)).await;
    crate::counts::counts(&store).await;
    crate::counts::unique_items(&store).await;
    crate::counts::unique_holds(&store).await;

    // Pull: a reset snapshot of the chain's log and the store's, then exactly what changed.
    let snap = store.pull(&tok1, pull_req(t1, None)).await.unwrap();
    assert!(snap.reset && !snap.has_more);
    let products = snap
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Product { .. }))
        .count();
    assert_eq!(products, 6 + 3 + 2 + 2); // the demo, three counted SKUs, two + two unique pieces
    assert!(snap
        .changes
        .iter()
        .any(|c| matches!(c, Change::Channel { channel, .. } if channel.code == "pos")));
    assert!(snap
        .changes
        .iter()
        .any(|c| matches!(c, Change::StockLevel { sku, on_hand: -50, .. } if sku == "CROISSANT")));
    assert!(snap
        .changes
        .iter()
        .any(|c| matches!(c, Change::UniqueItem { .. })));
    let quiet = store
        .pull(&tok1, pull_req(t1, Some(snap.cursor)))
        .await
        .unwrap();
    assert!(!quiet.reset && quiet.changes.is_empty(), "{quiet:?}");
    assert_eq!(quiet.cursor, snap.cursor);
    let mut latte = tillbook_server::service::catalog::demo_products().remove(2);
    latte.price_q = 800;
    let up = store.upsert_catalog(vec![latte.clone()]).await.unwrap();
    assert_eq!((up.changed, up.unchanged), (1, 0));
    assert_eq!(
        store
            .upsert_catalog(vec![latte.clone()])
            .await
            .unwrap()
            .changed,
        0
    );
    let inc = store
        .pull(&tok1, pull_req(t1, Some(snap.cursor)))
        .await
        .unwrap();
    assert!(!inc.reset);
    assert_eq!(
        inc.changes,
        vec![Change::Product {
            version: up.version,
            product: latte
        }]
    );
    assert_eq!(
        inc.cursor,
        PullCursor {
            chain: up.version,
            store: snap.cursor.store
        }
    );
    // A stock movement arrives in the store's log only.
    store
        .adjust_stock(AdjustRequest {
            sku: "ESPRESSO".into(),
            store: None,
            location: None,
            delta: Some(1),
            count: None,
            reason: "receiving".into(),
            note: None,
        })
        .await
        .unwrap();
    let inc2 = store
        .pull(&tok1, pull_req(t1, Some(inc.cursor)))
        .await
        .unwrap();
    assert_eq!(inc2.changes.len(), 1, "{inc2:?}");
    assert!(matches!(&inc2.changes[0], Change::StockLevel { sku, .. } if sku == "ESPRESSO"));
    assert_eq!(inc2.cursor.chain, inc.cursor.chain);
    assert!(inc2.cursor.store > inc.cursor.store);
    // Paging: limit 1 walks both logs one entry at a time.
    let mut cursor = Some(PullCursor::default());
    let mut seen = 0;
    loop {
        let p = store
            .pull(
                &tok1,
                PullRequest {
                    limit: 1,
                    ..pull_req(t1, cursor)
                },
            )
            .await
            .unwrap();
        assert!(!p.reset);
        seen += p.changes.len();
        cursor = Some(p.cursor);
        if !p.has_more {
            break;
        }
    }
    let full = store.pull(&tok1, pull_req(t1, None)).await.unwrap();
    assert_eq!(seen, full.changes.len());
    // A cursor from the future (a restored server), in either log, gets a reset.
    for c in [
        PullCursor {
            chain: 1_000_000,
            store: 0,
        },
        PullCursor {
            chain: 0,
            store: 1_000_000,
        },
    ] {
        assert!(
            store
                .pull(&tok1, pull_req(t1, Some(c)))
                .await
                .unwrap()
                .reset
        );
    }

    // Back-office stock: receiving and a count, per store.
    let adj = |delta: Option<i64>, count: Option<i64>, reason: &str| AdjustRequest {
        sku: "ESPRESSO".into(),
        store: None,
        location: None,
        delta,
        count,
        reason: reason.into(),
        note: Some("test".into()),
    };
    let before = on_hand(&store, "ESPRESSO").await;
    assert_eq!(
        store
            .adjust_stock(adj(Some(10), None, "receiving"))
            .await
            .unwrap()
            .on_hand,
        before + 10
    );
    let counted = store
        .adjust_stock(adj(None, Some(90), "count"))
        .await
        .unwrap();
    assert_eq!((counted.delta, counted.on_hand), (90 - before - 10, 90));
    assert!(matches!(
        store.adjust_stock(adj(None, None, "count")).await,
        Err(Error::InvalidBody(_))
    ));
    assert!(matches!(
        store
            .adjust_stock(AdjustRequest {
                sku: "NOPE".into(),
                ..adj(Some(1), None, "receiving")
            })
            .await,
        Err(Error::UnknownSku(_))
    ));
    assert!(matches!(
        store
            .adjust_stock(AdjustRequest {
                store: Some("nowhere".into()),
                ..adj(Some(1), None, "receiving")
            })
            .await,
        Err(Error::UnknownStore(_))
    ));
    let north = store
        .adjust_stock(AdjustRequest {
            store: Some("north".into()),
            ..adj(Some(7), None, "receiving")
        })
        .await
        .unwrap();
    assert_eq!(
        (north.store.as_str(), north.on_hand),
        ("north", on_hand_in(&store, "north", "ESPRESSO").await)
    );
    assert_eq!(on_hand(&store, "ESPRESSO").await, 90);

    // Orders page through in a stable order, per store and across stores.
    let main_refs = all_refs(&store, Some("main"), 2).await;
    assert_eq!(&main_refs[..3], &["ORD-1", "ORD-4", "ORD-8"]);
    let all = all_refs(&store, None, 3).await;
    let north_refs = all_refs(&store, Some("north"), 1000).await;
    assert_eq!(all.len(), main_refs.len() + north_refs.len());
    assert!(matches!(
        store
            .orders(Some("nowhere"), 10, OrdersCursor::default())
            .await,
        Err(Error::UnknownStore(_))
    ));

    // Terminals and their health; a revoked token stops working.
    let terms = store.terminals(Some("main")).await.unwrap();
    assert!(terms.iter().all(|t| t.store == "main"));
    let t1info = terms.iter().find(|t| t.terminal_id == t1).unwrap();
    assert_eq!(t1info.terminal_code, "T01");
    assert!(!t1info.revoked && t1info.rejected >= 3);
    assert!(store
        .terminals(Some("north"))
        .await
        .unwrap()
        .iter()
        .all(|t| t.store == "north"));
    store.revoke_terminal(t1).await.unwrap();
    assert!(matches!(
        store.push(&tok1, page(t1, &[])).await,
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        store.pull(&tok1, pull_req(t1, None)).await,
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        store.revoke_terminal(Uuid::now_v7()).await,
        Err(Error::NotFound { .. })
    ));

    page_sees_its_own_rows(&store).await;
}

/// One page whose later events depend on its earlier ones: each event is checked against
/// everything applied before it, in the page too, exactly as if pages held one event.
async fn page_sees_its_own_rows(store: &Store) {
    use tillbook_protocol::events::EventPayload;
    let (t3, tok3) = enrolled(store, "Till 3").await;
    let latte = on_hand(store, "LATTE").await;
    let p1 = order("P-1", "LATTE", 2, false);
    let c = committed(&p1).clone();
    // Another event carrying a stock delta the page already recorded.
    let mut reused = adjusted("LATTE", 5);
    if let EventPayload::StockAdjusted(a) = &mut reused {
        a.stock_deltas[0].delta_id = c.stock_deltas[0].delta_id;
    }
    let ready = item(&p1, 1, None, "ready");
    let missing_line = item(&p1, 9, None, "ready");
    let mut same_id = order("P-1B", "ESPRESSO", 1, false);
    if let EventPayload::OrderCommitted(o) = &mut same_id {
        o.order_id = c.order_id;
    }
    let evs = vec![
        outbox(1, &p1),
        outbox(2, &order("P-1", "ESPRESSO", 1, false)), // the same ref again
        outbox(3, &reused),
        outbox(4, &ready),
        outbox(5, &missing_line),
        outbox(6, &status(&p1, "new", "cancelled", Some(("LATTE", 2)))),
        outbox(7, &order("P-2", "LATTE", 1, false)),
        outbox(8, &same_id), // the same order id again
    ];
    let r = store.push(&tok3, page(t3, &evs)).await.unwrap();
    use EventOutcome::*;
    assert_eq!(
        outcomes(&r),
        vec![Applied, Rejected, Rejected, Applied, Rejected, Applied, Applied, Rejected],
        "{r:?}"
    );
    let reason = |i: usize| r.results[i].reason.clone().unwrap_or_default();
    assert!(reason(1).contains("already exists"), "{}", reason(1));
    assert!(reason(2).contains("already recorded"), "{}", reason(2));
    assert!(reason(4).contains("no line 9"), "{}", reason(4));
    assert!(reason(7).contains("already exists"), "{}", reason(7));
    // Sold 2, gave 2 back, sold 1; the rejected adjustment moved nothing.
    assert_eq!(on_hand(store, "LATTE").await, latte - 1);
    let d = store.order("P-1").await.unwrap();
    assert_eq!(d.summary.status, "cancelled");
    assert_eq!(d.lines[0].status.as_deref(), Some("ready"));
    let kinds: Vec<_> = d.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "order.committed",
            "order.item_status_changed",
            "order.status_changed"
        ]
    );
    assert!(store.order("P-2").await.is_ok());
    let again = store.push(&tok3, page(t3, &evs)).await.unwrap();
    assert_eq!(
        outcomes(&again),
        vec![Duplicate, Rejected, Rejected, Duplicate, Rejected, Duplicate, Duplicate, Rejected]
    );
    assert_eq!(on_hand(store, "LATTE").await, latte - 1);

    // Keys taken by earlier pages: an order id and a stock delta already recorded. Only
    // those events are rejected (the page runs checked).
    let mut reused = adjusted("LATTE", 5);
    if let EventPayload::StockAdjusted(a) = &mut reused {
        a.stock_deltas[0].delta_id = c.stock_deltas[0].delta_id;
    }
    let mut taken_id = order("P-9", "ESPRESSO", 1, false);
    if let EventPayload::OrderCommitted(o) = &mut taken_id {
        o.order_id = c.order_id;
    }
    let evs = vec![
        outbox(9, &taken_id),
        outbox(10, &order("P-2", "ESPRESSO", 1, false)),
        outbox(11, &reused),
        outbox(12, &order("P-3", "LATTE", 1, false)),
    ];
    let r = store.push(&tok3, page(t3, &evs)).await.unwrap();
    assert_eq!(
        outcomes(&r),
        vec![Rejected, Rejected, Rejected, Applied],
        "{r:?}"
    );
    let reason = |i: usize| r.results[i].reason.clone().unwrap_or_default();
    assert!(reason(0).contains("already exists"), "{}", reason(0));
    assert!(
        reason(1).contains("already exists on this terminal"),
        "{}",
        reason(1)
    );
    assert!(reason(2).contains("already recorded"), "{}", reason(2));
    assert_eq!(on_hand(store, "LATTE").await, latte - 2);

    // The first violation in seq order fails the page.
    let mut reused_id = outbox(13, &order("P-4", "LATTE", 1, false));
    reused_id.event_id = evs[3].event_id;
    let mut lying = outbox(14, &order("P-5", "LATTE", 1, false));
    lying.payload_hash = "00".repeat(32);
    let bad = store
        .push(&tok3, page(t3, &[reused_id, lying.clone()]))
        .await;
    assert!(matches!(bad, Err(Error::PayloadMismatch(_))), "{bad:?}");
    let fine = outbox(13, &order("P-4", "LATTE", 1, false));
    lying.event_id = evs[3].event_id;
    let bad = store.push(&tok3, page(t3, &[fine, lying])).await;
    assert!(matches!(bad, Err(Error::PayloadHashInvalid(_))), "{bad:?}");
    assert!(store.order("P-4").await.is_err());
    assert_eq!(on_hand(store, "LATTE").await, latte - 2);
}
