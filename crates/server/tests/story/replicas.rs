//! Two server processes' worth of `serve` on one PostgreSQL: one terminal's pages land on
//! both, interleaved and re-sent concurrently, and every event is applied exactly once.

use tillbook_protocol::sync::{EventOutcome, PushResponse};

use crate::support::*;

pub async fn two_servers(db: Db) {
    let s1 = Server::start(&db.url).await;
    let s2 = Server::start(&db.url).await;
    s1.store.seed_demo().await.unwrap();
    let till = s1.terminal("Shared till").await;
    let other = s2.terminal("Other till").await;
    let t = till.terminal_id;

    const N: u64 = 60;
    let events: Vec<_> = (1..=N)
        .map(|seq| {
            if seq % 3 == 0 {
                outbox(seq, &adjusted("LATTE", -1))
            } else {
                outbox(seq, &order(&format!("ORD-{seq}"), "ESPRESSO", 1, false))
            }
        })
        .collect();

    // Each round sends overlapping pages to both servers at once (plus another terminal's
    // traffic on the shared stock), then advances from the answered cursor.
    let mut last = 0u64;
    let mut other_seq = 0u64;
    let mut applied = 0usize;
    let mut rounds = 0;
    while last < N {
        rounds += 1;
        assert!(rounds < 200, "no progress");
        let from = last as usize;
        let page1 = &events[from..(from + 7).min(N as usize)];
        let page2 = &events[from..(from + 4).min(N as usize)];
        other_seq += 1;
        let other_page = page(
            other.terminal_id,
            &[outbox(
                other_seq,
                &order(&format!("OTHER-{other_seq}"), "ESPRESSO", 1, false),
            )],
        );
        let (r1, r2, r3) = tokio::join!(
            s1.call(
                "POST",
                "/v1/sync/push",
                Some(&till.token),
                Some(serde_json::to_value(page(t, page1)).unwrap())
            ),
            s2.call(
                "POST",
                "/v1/sync/push",
                Some(&till.token),
                Some(serde_json::to_value(page(t, page2)).unwrap())
            ),
            s2.call(
                "POST",
                "/v1/sync/push",
                Some(&other.token),
                Some(serde_json::to_value(other_page).unwrap())
            ),
        );
        for r in [&r1, &r2, &r3] {
            assert!(r.0.is_success(), "{} {}", r.0, r.1);
        }
        let r1: PushResponse = serde_json::from_value(r1.1).unwrap();
        let r2: PushResponse = serde_json::from_value(r2.1).unwrap();
        applied += [&r1, &r2]
            .iter()
            .flat_map(|r| r.results.iter())
            .filter(|x| x.outcome == EventOutcome::Applied)
            .count();
        last = r1.last_applied_seq.max(r2.last_applied_seq);
    }
    assert_eq!(
        applied, N as usize,
        "every event applied exactly once across both servers"
    );

    // A final re-send of everything through the other server: all duplicates.
    let again = s2
        .call(
            "POST",
            "/v1/sync/push",
            Some(&till.token),
            Some(serde_json::to_value(page(t, &events)).unwrap()),
        )
        .await;
    let again: PushResponse = serde_json::from_value(again.1).unwrap();
    assert!(again
        .results
        .iter()
        .all(|x| x.outcome == EventOutcome::Duplicate));
    assert_eq!(again.last_applied_seq, N);

    let orders = N - N / 3;
    let mut refs = Vec::new();
    let mut after = None;
    loop {
        let p = s2.store.orders(1000, after).await.unwrap();
        refs.extend(p.orders.into_iter().map(|o| o.order_ref));
        match p.next {
            Some(n) => after = Some(n.parse().unwrap()),
            None => break,
        }
    }
    let ours = refs.iter().filter(|r| r.starts_with("ORD-")).count() as u64;
    assert_eq!(ours, orders);
    assert_eq!(
        refs.iter().filter(|r| r.starts_with("OTHER-")).count() as u64,
        other_seq
    );
    assert_eq!(
        on_hand(&s1.store, "ESPRESSO").await,
        100 - orders as i64 - other_seq as i64
    );
    assert_eq!(on_hand(&s2.store, "LATTE").await, 100 - (N / 3) as i64);
    // The change log agrees with the ledger.
    let snap = s1
        .store
        .pull(&hash(&till.token), pull_req(t))
        .await
        .unwrap();
    let espresso = snap.changes.iter().find_map(|c| match c {
        tillbook_protocol::sync::Change::StockLevel { sku, on_hand, .. } if sku == "ESPRESSO" => {
            Some(*on_hand)
        }
        _ => None,
    });
    assert_eq!(espresso, Some(100 - orders as i64 - other_seq as i64));
    assert_eq!(snap.last_applied_seq, N);

    // Two terminals on two servers race the same order_ref: exactly one wins, the other is
    // a recorded rejection (the loser's unique-key race is retried, then seen).
    let same = |seq| page_of(seq, "RACE-1");
    let (ra, rb) = tokio::join!(
        s1.call("POST", "/v1/sync/push", Some(&till.token), Some(serde_json::to_value(page(t, &same(N + 1))).unwrap())),
        s2.call("POST", "/v1/sync/push", Some(&other.token), Some(serde_json::to_value(page(other.terminal_id, &same(other_seq + 1))).unwrap())),
    );
    let outcomes: Vec<EventOutcome> = [ra, rb]
        .into_iter()
        .map(|(status, v)| {
            assert!(status.is_success(), "{status} {v}");
            serde_json::from_value::<PushResponse>(v).unwrap().results[0].outcome
        })
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == EventOutcome::Applied).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == EventOutcome::Rejected).count(), 1, "{outcomes:?}");
}

fn page_of(seq: u64, order_ref: &str) -> Vec<tillbook_protocol::sync::OutboxEvent> {
    vec![outbox(seq, &order(order_ref, "CROISSANT", 1, false))]
}

fn hash(token: &str) -> String {
    tillbook_server::secret::hash_secret(token)
}

fn pull_req(t: uuid::Uuid) -> tillbook_protocol::sync::PullRequest {
    tillbook_protocol::sync::PullRequest {
        protocol: tillbook_protocol::PROTOCOL_VERSION,
        terminal_id: t,
        cursor: None,
        limit: 10,
    }
}
