//! The storage contract: one story every backend must tell the same way.

use tillbook_protocol::sync::{Change, EventOutcome, PullRequest};
use tillbook_protocol::PROTOCOL_VERSION;
use tillbook_server::secret::{hash_enrollment_code, hash_secret};
use tillbook_server::service::AdjustRequest;
use tillbook_server::{Error, Store};
use uuid::Uuid;

use crate::support::*;

/// Creates and enrols a terminal directly on the store; returns (id, token hash).
async fn enrolled(store: &Store, name: &str) -> (Uuid, String) {
    let id = Uuid::now_v7();
    let code = format!("CODE-{}", Uuid::now_v7().simple());
    store
        .create_terminal(id, name, &hash_enrollment_code(&code))
        .await
        .unwrap();
    let token = hash_secret(&format!("token-{id}"));
    let e = store
        .enroll(&hash_enrollment_code(&code), &token)
        .await
        .unwrap();
    assert_eq!((e.terminal_id, e.name.as_str()), (id, name));
    assert!(matches!(
        store.enroll(&hash_enrollment_code(&code), "other").await,
        Err(Error::EnrollmentCodeUsed)
    ));
    (id, token)
}

fn pull_req(terminal: Uuid, cursor: Option<u64>) -> PullRequest {
    PullRequest {
        protocol: PROTOCOL_VERSION,
        terminal_id: terminal,
        cursor,
        limit: 1000,
    }
}

pub async fn story(store: Store) {
    store.seed_demo().await.unwrap();
    store.seed_demo().await.unwrap(); // idempotent
    assert_eq!(on_hand(&store, "ESPRESSO").await, 100);
    assert!(matches!(
        store.enroll(&hash_enrollment_code("NOPE"), "x").await,
        Err(Error::InvalidEnrollmentCode)
    ));
    let (t1, tok1) = enrolled(&store, "Till 1").await;
    let (t2, tok2) = enrolled(&store, "Till 2").await;

    // Rule 4: a page applies once; a re-send is all duplicates.
    let evs = vec![
        outbox(1, &order("ORD-1", "ESPRESSO", 2, false)),
        outbox(2, &adjusted("LATTE", -3)),
        outbox(3, &status("ORD-1", "new", "confirmed", None)),
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
    assert_eq!(
        store.order("ORD-1").await.unwrap().summary.status,
        "confirmed"
    );

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
    // The same event id under a new seq is a violation too.
    let mut reused = outbox(4, &order("ORD-4", "LATTE", 1, false));
    reused.event_id = evs[0].event_id;
    assert!(matches!(
        store.push(&tok1, page(t1, &[reused])).await,
        Err(Error::PayloadMismatch(_))
    ));
    // A lying payload_hash is refused.
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
        outbox(6, &status("ORD-UNKNOWN", "new", "cancelled", None)),
        outbox(7, &order("ORD-1", "LATTE", 1, false)), // duplicate order_ref
        outbox(8, &order("ORD-8", "CROISSANT", 150, false)), // oversold: a shortage
    ];
    let r = store.push(&tok1, page(t1, &evs2)).await.unwrap();
    let outcomes: Vec<_> = r.results.iter().map(|x| x.outcome).collect();
    use EventOutcome::*;
    assert_eq!(
        outcomes,
        vec![Applied, Rejected, Rejected, Rejected, Applied]
    );
    assert!(r.results[1]
        .reason
        .as_deref()
        .unwrap()
        .contains("NO_SUCH_SKU"));
    assert_eq!(r.last_applied_seq, 8);
    // A re-send reports the rejections again, with their reasons.
    let again = store.push(&tok1, page(t1, &evs2)).await.unwrap();
    assert_eq!(again.results[1].outcome, Rejected);
    assert!(again.results[1].reason.is_some());
    assert_eq!(again.results[0].outcome, Duplicate);

    // A terminal acts only as itself; another terminal's order is not its to change.
    assert!(matches!(
        store.push(&tok2, page(t1, &[])).await,
        Err(Error::TerminalMismatch { .. })
    ));
    let r = store
        .push(
            &tok2,
            page(
                t2,
                &[
                    outbox(1, &status("ORD-1", "confirmed", "cancelled", None)),
                    outbox(2, &order("U-1", "CARROT_CAKE", 1, true)),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].outcome, Rejected);
    assert_eq!(r.results[1].outcome, Applied);
    store.upsert_catalog(vec![]).await.unwrap();

    // Alerts: the shortage, a unique item sold by two orders, the rejected events.
    store
        .push(
            &tok1,
            page(t1, &[outbox(9, &order("U-2", "CARROT_CAKE", 1, true))]),
        )
        .await
        .unwrap();
    let alerts = store.alerts().await.unwrap();
    assert_eq!(alerts.shortages.len(), 1);
    assert_eq!(
        (
            alerts.shortages[0].sku.as_str(),
            alerts.shortages[0].on_hand
        ),
        ("CROISSANT", -50)
    );
    assert_eq!(alerts.conflicts.len(), 1);
    assert_eq!(
        alerts.conflicts[0].orders,
        vec!["U-1".to_string(), "U-2".to_string()]
    );
    assert_eq!(alerts.rejected.len(), 4);
    // Cancelling one side clears the conflict.
    store
        .push(
            &tok1,
            page(
                t1,
                &[outbox(
                    10,
                    &status("U-2", "new", "cancelled", Some(("CARROT_CAKE", 1))),
                )],
            ),
        )
        .await
        .unwrap();
    assert!(store.alerts().await.unwrap().conflicts.is_empty());

    // Pull: a reset snapshot, then exactly what changed after a catalog edit.
    let snap = store.pull(&tok1, pull_req(t1, None)).await.unwrap();
    assert!(snap.reset && !snap.has_more);
    assert_eq!(snap.last_applied_seq, 10);
    let products = snap
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Product { .. }))
        .count();
    assert_eq!(products, 6);
    assert!(snap
        .changes
        .iter()
        .any(|c| matches!(c, Change::Channel { channel, .. } if channel.code == "pos")));
    assert!(snap
        .changes
        .iter()
        .any(|c| matches!(c, Change::StockLevel { sku, on_hand: -50, .. } if sku == "CROISSANT")));
    let quiet = store
        .pull(&tok1, pull_req(t1, Some(snap.cursor)))
        .await
        .unwrap();
    assert!(!quiet.reset && quiet.changes.is_empty());
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
    assert_eq!(inc.cursor, up.version);
    // Paging: limit 1 walks the log one entry at a time.
    let mut cursor = Some(0);
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
        seen += p.changes.len();
        cursor = Some(p.cursor);
        if !p.has_more {
            break;
        }
    }
    assert_eq!(seen, snap.changes.len());
    // A cursor from the future (a restored server) gets a reset.
    assert!(
        store
            .pull(&tok1, pull_req(t1, Some(1_000_000)))
            .await
            .unwrap()
            .reset
    );

    // Back-office stock: receiving and a count.
    let adj = |delta: Option<i64>, count: Option<i64>, reason: &str| AdjustRequest {
        sku: "ESPRESSO".into(),
        location: None,
        delta,
        count,
        reason: reason.into(),
        note: Some("test".into()),
    };
    assert_eq!(
        store
            .adjust_stock(adj(Some(10), None, "receiving"))
            .await
            .unwrap()
            .on_hand,
        108
    );
    let counted = store
        .adjust_stock(adj(None, Some(90), "count"))
        .await
        .unwrap();
    assert_eq!((counted.delta, counted.on_hand), (-18, 90));
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

    // Orders page through in a stable order.
    let mut refs = Vec::new();
    let mut after = None;
    loop {
        let p = store.orders(2, after).await.unwrap();
        refs.extend(p.orders.iter().map(|o| o.order_ref.clone()));
        match p.next {
            Some(n) => after = Some(n.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(refs, vec!["ORD-1", "ORD-4", "ORD-8", "U-1", "U-2"]);
    let detail = store.order("U-2").await.unwrap();
    assert_eq!(detail.events.len(), 2);
    assert_eq!(detail.summary.status, "cancelled");

    // Terminals and their health; a revoked token stops working.
    let terms = store.terminals().await.unwrap();
    let t1info = terms.iter().find(|t| t.terminal_id == t1).unwrap();
    assert_eq!(
        (t1info.last_applied_seq, t1info.rejected, t1info.revoked),
        (10, 3, false)
    );
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
    use tillbook_protocol::events::{EventPayload, OrderItemStatusChanged};
    let (t3, tok3) = enrolled(store, "Till 3").await;
    let latte = on_hand(store, "LATTE").await;
    let committed = order("P-1", "LATTE", 2, false);
    let EventPayload::OrderCommitted(c) = &committed else {
        unreachable!()
    };
    // Another event carrying a stock delta the page already recorded.
    let mut reused = adjusted("LATTE", 5);
    if let EventPayload::StockAdjusted(a) = &mut reused {
        a.stock_deltas[0].delta_id = c.stock_deltas[0].delta_id;
    }
    let item = EventPayload::OrderItemStatusChanged(OrderItemStatusChanged {
        order_ref: "P-1".into(),
        line_no: 1,
        from: None,
        to: "ready".into(),
        actor: "kitchen".into(),
        at: chrono::Utc::now(),
        stock_deltas: vec![],
    });
    let missing_line = EventPayload::OrderItemStatusChanged(OrderItemStatusChanged {
        line_no: 9,
        ..match &item {
            EventPayload::OrderItemStatusChanged(i) => i.clone(),
            _ => unreachable!(),
        }
    });
    let evs = vec![
        outbox(1, &committed),
        outbox(2, &order("P-1", "ESPRESSO", 1, false)), // the same ref again
        outbox(3, &reused),
        outbox(4, &item),
        outbox(5, &missing_line),
        outbox(6, &status("P-1", "new", "cancelled", Some(("LATTE", 2)))),
        outbox(7, &order("P-2", "LATTE", 1, false)),
    ];
    let r = store.push(&tok3, page(t3, &evs)).await.unwrap();
    use EventOutcome::*;
    let outcomes: Vec<_> = r.results.iter().map(|x| x.outcome).collect();
    assert_eq!(
        outcomes,
        vec![Applied, Rejected, Rejected, Applied, Rejected, Applied, Applied],
        "{r:?}"
    );
    let reason = |i: usize| r.results[i].reason.clone().unwrap_or_default();
    assert!(reason(1).contains("already exists"), "{}", reason(1));
    assert!(reason(2).contains("already recorded"), "{}", reason(2));
    assert!(reason(4).contains("no line 9"), "{}", reason(4));
    // Sold 2, gave 2 back, sold 1; the rejected adjustment moved nothing.
    assert_eq!(on_hand(store, "LATTE").await, latte - 1);
    let p1 = store.order("P-1").await.unwrap();
    assert_eq!(p1.summary.status, "cancelled");
    assert_eq!(p1.lines[0].status.as_deref(), Some("ready"));
    let kinds: Vec<_> = p1.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "order.committed",
            "order.item_status_changed",
            "order.status_changed"
        ]
    );
    assert!(store.order("P-2").await.is_ok());
    // The whole page again: duplicates, the rejections reported again.
    let again = store.push(&tok3, page(t3, &evs)).await.unwrap();
    let outcomes: Vec<_> = again.results.iter().map(|x| x.outcome).collect();
    assert_eq!(
        outcomes,
        vec![Duplicate, Rejected, Rejected, Duplicate, Rejected, Duplicate, Duplicate]
    );
    assert_eq!(on_hand(store, "LATTE").await, latte - 1);

    // Keys taken by earlier pages: another terminal's order (committed again, then moved),
    // a stock delta already recorded. Only those events are rejected.
    let mut reused = adjusted("LATTE", 5);
    if let EventPayload::StockAdjusted(a) = &mut reused {
        a.stock_deltas[0].delta_id = c.stock_deltas[0].delta_id;
    }
    let evs = vec![
        outbox(8, &order("ORD-1", "ESPRESSO", 1, false)),
        outbox(9, &status("ORD-1", "confirmed", "cancelled", None)),
        outbox(10, &reused),
        outbox(11, &order("P-3", "LATTE", 1, false)),
    ];
    let r = store.push(&tok3, page(t3, &evs)).await.unwrap();
    let outcomes: Vec<_> = r.results.iter().map(|x| x.outcome).collect();
    assert_eq!(
        outcomes,
        vec![Rejected, Rejected, Rejected, Applied],
        "{r:?}"
    );
    let reason = |i: usize| r.results[i].reason.clone().unwrap_or_default();
    assert!(reason(0).contains("already exists"), "{}", reason(0));
    assert!(reason(1).contains("another terminal"), "{}", reason(1));
    assert!(reason(2).contains("already recorded"), "{}", reason(2));
    assert_eq!(on_hand(store, "LATTE").await, latte - 2);
    assert_eq!(
        store.order("ORD-1").await.unwrap().summary.status,
        "confirmed"
    );

    // The first violation in seq order fails the page: a reused event id before a lying
    // payload hash is a payload mismatch, and nothing of the page is applied.
    let mut reused_id = outbox(12, &order("P-4", "LATTE", 1, false));
    reused_id.event_id = evs[3].event_id;
    let mut lying = outbox(13, &order("P-5", "LATTE", 1, false));
    lying.payload_hash = "00".repeat(32);
    let bad = store
        .push(&tok3, page(t3, &[reused_id, lying.clone()]))
        .await;
    assert!(matches!(bad, Err(Error::PayloadMismatch(_))), "{bad:?}");
    let fine = outbox(12, &order("P-4", "LATTE", 1, false));
    lying.event_id = evs[3].event_id;
    let bad = store.push(&tok3, page(t3, &[fine, lying])).await;
    assert!(matches!(bad, Err(Error::PayloadHashInvalid(_))), "{bad:?}");
    assert!(store.order("P-4").await.is_err());
    assert_eq!(on_hand(store, "LATTE").await, latte - 2);
}
