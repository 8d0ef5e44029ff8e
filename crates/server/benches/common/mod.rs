//! What the server benchmarks share: the allocator the `tillbook-server` binary runs with (the
//! server runs in the benchmark's process), a till's backlog of demo-café orders, and a fresh
//! PostgreSQL database.

use chrono::{NaiveDate, TimeZone, Utc};
use tillbook_protocol::events::{EventPayload, OrderCommitted, OrderLine, StockDelta, StockReason};
use tillbook_protocol::payload_hash;
use tillbook_protocol::sync::OutboxEvent;
use uuid::Uuid;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo café's SKUs, names and prices (minor units).
pub const SKUS: [(&str, &str, i64); 6] = [
    ("ESPRESSO", "Espresso", 500),
    ("CAPPUCCINO", "Cappuccino", 700),
    ("LATTE", "Latte", 750),
    ("CROISSANT", "Croissant", 650),
    ("PAIN_AU_CHOCOLAT", "Pain au Chocolat", 750),
    ("CARROT_CAKE", "Carrot Cake", 800),
];

/// Order `i` (from 0) of till `till`'s backlog: 2-3 lines of quantity 1-3, a sale delta per
/// line, a quarter of a second after the one before.
pub fn order(till: usize, i: usize) -> OrderCommitted {
    let date = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
    let order_ref = format!("ORD-20261121-T{till:02}-{:06}", i + 1);
    let at = start + chrono::Duration::milliseconds(i as i64 * 250);
    let count = 2 + i % 2;
    let mut lines = Vec::with_capacity(count);
    let mut deltas = Vec::with_capacity(count);
    for l in 0..count {
        let (sku, name, price) = SKUS[(i * 7 + l * 3 + till) % SKUS.len()];
        let qty = 1 + ((i + l) % 3) as i64;
        lines.push(OrderLine {
            line_no: l as u32 + 1,
            sku: sku.into(),
            name: name.into(),
            unit_price_q: price,
            qty,
            discount_q: 0,
            total_q: price * qty,
            unique: false,
            tax_rate_bp: 0,
            order_discount_q: 0,
            tax_q: 0,
            category: None,
        });
        deltas.push(StockDelta {
            delta_id: Uuid::now_v7(),
            sku: sku.into(),
            location: "main".into(),
            delta: -qty,
            reason: StockReason::Sale,
            source: order_ref.clone(),
            at,
            counted: None,
        });
    }
    let total = lines.iter().map(|l| l.total_q).sum();
    OrderCommitted {
        order_id: Uuid::now_v7(),
        order_ref,
        channel: "pos".into(),
        status: "new".into(),
        currency: "BRL".into(),
        subtotal_q: total,
        discount_q: 0,
        total_q: total,
        business_date: date,
        committed_at: at,
        handle: None,
        lines,
        stock_deltas: deltas,
        tax_mode: None,
        tax_q: 0,
        taxes: Vec::new(),
        actor: None,
        staff_id: None,
        approved_by: None,
        shift_id: None,
    }
}

/// The outbox rows that carry `orders`, seqs from 1.
pub fn outbox(orders: &[OrderCommitted]) -> Vec<OutboxEvent> {
    orders
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let p = EventPayload::OrderCommitted(o.clone());
            let value = p.to_value();
            OutboxEvent {
                seq: i as u64 + 1,
                event_id: Uuid::now_v7(),
                kind: p.kind().as_str().into(),
                payload_hash: payload_hash(&value),
                payload: value,
                created_at: o.committed_at,
            }
        })
        .collect()
}

/// A new, empty database on the PostgreSQL server of `base` (a URL naming a database); its URL.
pub async fn postgres_database(base: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to postgres");
    tokio::spawn(conn);
    let name = format!("tillbook_bench_{}", Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}
