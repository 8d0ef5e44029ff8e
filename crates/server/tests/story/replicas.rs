//! Two server processes' worth of `serve` on one PostgreSQL: one terminal's pages land on
//! both, interleaved and re-sent concurrently, and every event is applied exactly once.

use tillbook_protocol::sync::{EventOutcome, PushResponse};

#[allow(unused_imports)]
use crate::support::assert_error;

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
    let refs = crate::contract::all_refs(&s2.store, None, 1000).await;
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

    // Two terminals on two servers race the same order id: exactly one wins, the other is
    // a recorded rejection (the loser's unique-key race is retried, then seen).
    let race_id = uuid::Uuid::now_v7();
    let same = |seq| page_of(seq, "RACE-1", race_id);
    let (ra, rb) = tokio::join!(
        s1.call(
            "POST",
            "/v1/sync/push",
            Some(&till.token),
            Some(serde_json::to_value(page(t, &same(N + 1))).unwrap())
        ),
        s2.call(
            "POST",
            "/v1/sync/push",
            Some(&other.token),
            Some(serde_json::to_value(page(other.terminal_id, &same(other_seq + 1))).unwrap())
        ),
    );
    let outcomes: Vec<EventOutcome> = [ra, rb]
        .into_iter()
        .map(|(status, v)| {
            assert!(status.is_success(), "{status} {v}");
            serde_json::from_value::<PushResponse>(v).unwrap().results[0].outcome
        })
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == EventOutcome::Applied)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == EventOutcome::Rejected)
            .count(),
        1,
        "{outcomes:?}"
    );
}

fn page_of(
    seq: u64,
    order_ref: &str,
    order_id: uuid::Uuid,
) -> Vec<tillbook_protocol::sync::OutboxEvent> {
    let mut o = order(order_ref, "CROISSANT", 1, false);
    if let tillbook_protocol::events::EventPayload::OrderCommitted(c) = &mut o {
        c.order_id = order_id;
    }
    vec![outbox(seq, &o)]
}

fn hash(token: &str) -> String {
    tillbook_server::secret::hash_secret(token)
}

fn pull_req(t: uuid::Uuid) -> tillbook_protocol::sync::PullRequest {
    tillbook_protocol::sync::PullRequest {
        protocol: tillbook_protocol::PROTOCOL_VERSION,
        terminal_id: t,
        store: None,
        cursor: None,
        limit: 10,
    }
}

/// A second connection to the test database.
async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to test postgres");
    tokio::spawn(conn);
    client
}

async fn store_id(client: &tokio_postgres::Client, code: &str) -> i64 {
    client
        .query_one("SELECT id FROM stores WHERE code = $1", &[&code])
        .await
        .unwrap()
        .get(0)
}

async fn push_one(
    s: &Server,
    t: &tillbook_protocol::sync::EnrollResponse,
    seq: u64,
    r: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let body = serde_json::to_value(page(
        t.terminal_id,
        &[outbox(seq, &order(r, "ESPRESSO", 1, false))],
    ))
    .unwrap();
    s.call("POST", "/v1/sync/push", Some(&t.token), Some(body))
        .await
}

/// Store A's head row held locked inside an open transaction (as a push of A holds it to
/// commit): a push into store B completes meanwhile, A's waits until the lock is released.
pub async fn stores_do_not_wait(db: Db) {
    use std::time::Duration;
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    for code in ["a", "b"] {
        s.admin(
            "POST",
            "/v1/admin/stores",
            Some(serde_json::json!({"code": code, "name": code})),
        )
        .await;
    }
    let ta = s.terminal_in("Till A", Some("a")).await;
    let tb = s.terminal_in("Till B", Some("b")).await;
    let mut holder = connect(&db.url).await;
    let a_id = store_id(&holder, "a").await;
    let tx = holder.transaction().await.unwrap();
    tx.query_one(
        "SELECT version FROM log_heads WHERE scope = $1 FOR UPDATE",
        &[&format!("store:{a_id}")],
    )
    .await
    .unwrap();

    let s = std::sync::Arc::new(s);
    let (s2, ta2) = (s.clone(), ta.clone());
    let a_push = tokio::spawn(async move { push_one(&s2, &ta2, 1, "A-1").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = tokio::time::timeout(Duration::from_secs(5), push_one(&s, &tb, 1, "B-1"))
        .await
        .expect("store B's push must not wait for store A's lock");
    assert!(b.0.is_success(), "{} {}", b.0, b.1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !a_push.is_finished(),
        "store A's push must wait for its store's lock"
    );
    // A back-office listing taken now, while A's order is still uncommitted, ...
    let first = s.admin("GET", "/v1/admin/orders?limit=1000", None).await;
    let refs = |v: &serde_json::Value| -> Vec<String> {
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["ref"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(refs(&first), vec!["B-1".to_string()]);
    let cursor = first["cursor"].as_str().unwrap().to_string();
    tx.rollback().await.unwrap();
    let a = tokio::time::timeout(Duration::from_secs(10), a_push)
        .await
        .expect("store A's push completes once the lock is released")
        .unwrap();
    assert!(a.0.is_success(), "{} {}", a.0, a.1);
    let r: PushResponse = serde_json::from_value(a.1).unwrap();
    assert_eq!(r.results[0].outcome, EventOutcome::Applied);
    // ... goes on from its cursor and finds the order committed since: nothing is skipped.
    let next = s
        .admin(
            "GET",
            &format!("/v1/admin/orders?limit=1000&after={cursor}"),
            None,
        )
        .await;
    assert_eq!(refs(&next), vec!["A-1".to_string()], "{next}");
}

/// Only transient faults answer 503: a lock wait past `lock_timeout` is 503
/// `storage_unavailable`; a missing table (a fault of ours) is 500 `internal`.
pub async fn transient_vs_internal(db: Db) {
    let admin = connect(&db.url).await;
    let name = db.url.rsplit('/').next().unwrap().to_string();
    admin
        .batch_execute(&format!("ALTER DATABASE {name} SET lock_timeout = '300ms'"))
        .await
        .unwrap();
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    let t = s.terminal("Till").await;
    let mut holder = connect(&db.url).await;
    let main_id = store_id(&holder, "main").await;
    let tx = holder.transaction().await.unwrap();
    tx.query_one(
        "SELECT version FROM log_heads WHERE scope = $1 FOR UPDATE",
        &[&format!("store:{main_id}")],
    )
    .await
    .unwrap();
    assert_error(
        &push_one(&s, &t, 1, "X-1").await,
        503,
        "storage_unavailable",
    );
    tx.rollback().await.unwrap();
    let ok = push_one(&s, &t, 1, "X-1").await;
    assert!(ok.0.is_success(), "{} {}", ok.0, ok.1);
    admin.batch_execute("DROP TABLE order_lines").await.unwrap();
    assert_error(&push_one(&s, &t, 2, "X-2").await, 500, "internal");
}
