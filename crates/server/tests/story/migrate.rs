//! Migration 0002 brings a 0001 database (one implicit store, orders known by reference) to
//! the stores schema, keeping its data: rows go to store `main`, orders get their committing
//! event's id as `order_id`, the change log splits into the chain's and `main`'s. Then 0003
//! adds taxes, payments and refunds: old orders are untaxed and unpaid, their lines carry
//! their day and gross for the daily report. Then 0004 adds staff and shifts: old orders
//! belong to no shift and name no staff member, and the store's currency is its orders'.

use tillbook_protocol::sync::{Change, EventOutcome, PullRequest};
use tillbook_protocol::PROTOCOL_VERSION;
use tillbook_server::secret::hash_secret;
use uuid::Uuid;

use crate::support::*;

const TERMINAL: &str = "0190d7a0-0000-7000-8000-000000000001";
const EVENT: &str = "0190d7a0-0000-7000-8000-0000000000e1";

/// A few rows as a 0001 server wrote them.
fn seed_sql() -> String {
    let token = hash_secret("old-token");
    format!(
        "INSERT INTO terminals (id, name, code_hash, token_hash, created_at, enrolled_at, last_applied_seq, rejected_count) \
           VALUES ('{TERMINAL}', 'Old till', 'codehash', '{token}', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:01.000000Z', 1, 0);
         INSERT INTO products (sku, name, price_q, body, updated_at) VALUES \
           ('ESPRESSO', 'Espresso', 500, '{{\"sku\":\"ESPRESSO\",\"name\":\"Espresso\",\"price_q\":500}}', '2026-01-01T00:00:00.000000Z'), \
           ('VASE', 'Vase', 900, '{{\"sku\":\"VASE\",\"name\":\"Vase\",\"price_q\":900,\"unique\":true}}', '2026-01-01T00:00:00.000000Z');
         INSERT INTO inbox (terminal_id, seq, event_id, kind, payload, payload_hash, outcome, reason, received_at) \
           VALUES ('{TERMINAL}', 1, '{EVENT}', 'order.committed', '{{}}', 'h', 'applied', NULL, '2026-01-02T00:00:00.000000Z');
         INSERT INTO orders (order_ref, terminal_id, event_id, channel, status, currency, subtotal_q, discount_q, total_q, business_date, committed_at, handle, received_at) \
           VALUES ('OLD-1', '{TERMINAL}', '{EVENT}', 'pos', 'new', 'BRL', 1400, 0, 1400, '2026-01-02', '2026-01-02T00:00:00.000000Z', NULL, '2026-01-02T00:00:00.000000Z');
         INSERT INTO order_lines (order_ref, line_no, sku, name, unit_price_q, qty, discount_q, total_q, is_unique, status) VALUES \
           ('OLD-1', 1, 'ESPRESSO', 'Espresso', 500, 1, 0, 500, 0, NULL), ('OLD-1', 2, 'VASE', 'Vase', 900, 1, 0, 900, 0, NULL);
         INSERT INTO order_events (order_ref, event_id, kind, line_no, from_status, to_status, actor, at, reason) \
           VALUES ('OLD-1', '{EVENT}', 'order.committed', NULL, NULL, 'new', 'terminal', '2026-01-02T00:00:00.000000Z', NULL);
         INSERT INTO stock_ledger (delta_id, sku, location, delta, reason, source, at, terminal_id, event_id, recorded_at) VALUES \
           ('d1', 'ESPRESSO', 'main', 10, 'receiving', 'bo', '2026-01-01T00:00:00.000000Z', NULL, NULL, '2026-01-01T00:00:00.000000Z'), \
           ('d2', 'ESPRESSO', 'main', -1, 'sale', 'OLD-1', '2026-01-02T00:00:00.000000Z', '{TERMINAL}', '{EVENT}', '2026-01-02T00:00:00.000000Z');
         INSERT INTO stock_levels (sku, location, on_hand) VALUES ('ESPRESSO', 'main', 9);
         INSERT INTO changes (change_key, version, body) VALUES \
           ('channel:pos', 1, '{channel}'), \
           ('stock:ESPRESSO@main', 3, '{{\"type\":\"stock_level\",\"version\":3,\"sku\":\"ESPRESSO\",\"location\":\"main\",\"on_hand\":9}}');
         UPDATE changelog_head SET version = 3 WHERE id = 1;",
        channel = serde_json::to_string(&Change::Channel {
            version: 1,
            channel: tillbook_protocol::channel::Channel::pos()
        })
        .unwrap()
    )
}

/// What the migrated database must hold, seen through the server.
async fn check(url: &str) {
    let s = Server::start(url).await;
    let stores = s.store.stores().await.unwrap();
    assert_eq!(stores.len(), 1);
    assert_eq!(
        (stores[0].code.as_str(), stores[0].name.as_str()),
        ("main", "Main store")
    );
    let terms = s.store.terminals(Some("main")).await.unwrap();
    assert_eq!(
        (terms[0].terminal_code.as_str(), terms[0].last_applied_seq),
        ("T01", 1)
    );
    let old = s.store.order("OLD-1").await.unwrap();
    assert_eq!(old.summary.order_id.to_string(), EVENT);
    assert_eq!(
        (
            old.summary.store.as_str(),
            old.lines.len(),
            old.events.len()
        ),
        ("main", 2, 1)
    );
    assert!(
        old.lines[1].unique,
        "the server's catalog says VASE is unique"
    );
    // 0003: sold before taxes and payments, and still counted in its day's report.
    assert_eq!(
        (old.tax_mode.as_deref(), old.paid_q, old.refunded_q),
        (None, 0, 0)
    );
    assert_eq!(old.payment_status, "unpaid");
    // 0004: no shift, no staff; the store sells in its orders' currency.
    assert_eq!(
        (old.shift_id, old.staff_id, old.actor.as_str()),
        (None, None, format!("terminal:{TERMINAL}").as_str())
    );
    assert_eq!(old.lines[0].category, None);
    assert_eq!((old.lines[1].tax_q, old.lines[1].refunded_qty), (0, 0));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
    let report = s.store.daily_report(None, day).await.unwrap();
    assert_eq!((report.sales.orders, report.sales.gross_q), (1, 1400));
    assert_eq!(report.taxes.len(), 1);
    assert_eq!(
        (report.taxes[0].rate_bp, report.taxes[0].gross_q),
        (0, 1400)
    );
    assert_eq!(on_hand(&s.store, "ESPRESSO").await, 9);
    // The old token still pushes; the new order follows the old one in the feed.
    let t: Uuid = TERMINAL.parse().unwrap();
    let token = hash_secret("old-token");
    let r = s
        .store
        .push(
            &token,
            page(t, &[outbox(2, &order("NEW-1", "ESPRESSO", 1, false))]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].outcome, EventOutcome::Applied, "{r:?}");
    assert_eq!(on_hand(&s.store, "ESPRESSO").await, 8);
    let usd = tillbook_protocol::events::EventPayload::ShiftOpened(
        tillbook_protocol::shift::ShiftOpened {
            shift_id: Uuid::now_v7(),
            currency: "USD".into(),
            float_q: 0,
            business_date: day,
            opened_at: chrono::Utc::now(),
            actor: "old".into(),
            staff_id: None,
        },
    );
    let r = s
        .store
        .push(&token, page(t, &[outbox(3, &usd)]))
        .await
        .unwrap();
    let why = r.results[0].reason.as_deref().unwrap_or("");
    assert!(why.contains("the store sells in BRL"), "{r:?}");
    assert_eq!(
        crate::contract::all_refs(&s.store, None, 1).await,
        vec!["OLD-1", "NEW-1"]
    );
    let snap = s
        .store
        .pull(
            &token,
            PullRequest {
                protocol: PROTOCOL_VERSION,
                terminal_id: t,
                store: None,
                cursor: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert!(snap
        .changes
        .iter()
        .any(|c| matches!(c, Change::Channel { .. })));
    assert!(snap
        .changes
        .iter()
        .any(|c| matches!(c, Change::StockLevel { on_hand: 8, .. })));
    assert!(
        snap.cursor.chain >= 3 && snap.cursor.store >= 4,
        "{:?}",
        snap.cursor
    );
    s.admin(
        "POST",
        "/v1/admin/stores",
        Some(serde_json::json!({"code": "north", "name": "North"})),
    )
    .await;
}

pub async fn from_0001_sqlite() {
    let db = sqlite_db();
    let path = db.url.strip_prefix("sqlite:").unwrap().to_string();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
            .unwrap();
        // rusqlite_migration keeps the schema version in user_version.
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(&seed_sql()).unwrap();
    }
    check(&db.url).await;
}

pub async fn from_0001_postgres(db: Db) {
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL); \
             INSERT INTO schema_migrations VALUES (1, 'then'); {} {}",
            include_str!("../../migrations/postgres/0001_init.sql"),
            seed_sql()
        ))
        .await
        .unwrap();
    check(&db.url).await;
}
