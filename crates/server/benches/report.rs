//! The daily report against plain sums: one store's business day of N orders (1–3 lines at
//! four tax rates, inclusive and exclusive prices) with their payments (card, cash with
//! change, pix, split cash + card, a few declined first), a few refunds and cancellations,
//! from four tills, goes in through the service's push (no HTTP; pages of 5 000 events).
//! Then the report (`Store::daily_report`, what `GET /v1/admin/reports/daily` calls) is
//! timed against plain SQL sums of the same rows on the same database, one per range the
//! report reads: `SUM(total_q)` of the day's orders, `SUM(gross_q)` of the day's lines of
//! orders not cancelled, `SUM(amount_q)` of the day's payments and of its refunds; median of
//! several runs each. (A second line prints the ratio against the payments and orders sums
//! alone, for reference.)
//!
//! Prints `report <backend>: report X ms, plain sum Y ms, ratio R (target <= 2.0)`. SQLite
//! always; PostgreSQL too when `TILLBOOK_TEST_POSTGRES_URL` is set (`scripts/with-postgres.sh
//! cargo bench -p tillbook-server --bench report`; its tables are vacuumed and analysed after
//! the load, as autovacuum would). N is 100 000; `TILLBOOK_BENCH_QUICK=1` (or `--quick`)
//! makes it 10 000 with fewer runs (a CI smoke run), `TILLBOOK_BENCH_ORDERS` sets it outright.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use tillbook_protocol::events::{
    EventPayload, OrderCommitted, OrderLine, OrderStatusChanged, PaymentOutcome, PaymentRecorded,
    RefundRecorded, RefundTender, StockDelta, StockReason,
};
use tillbook_protocol::sync::{EventOutcome, OutboxEvent, PushRequest};
use tillbook_protocol::tax::{self, TaxMode};
use tillbook_protocol::{payload_hash, PROTOCOL_VERSION};
use tillbook_server::Store;
use uuid::Uuid;

#[allow(dead_code)]
mod common;

const PG_ENV: &str = "TILLBOOK_TEST_POSTGRES_URL";
const TILLS: usize = 4;
const PAGE: usize = 5000;
const RATES: [i64; 4] = [0, 500, 1200, 1800];

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

/// Order `i`: its lines, taxes, payments, and now and then a refund or a cancel.
fn events_of(i: usize) -> Vec<EventPayload> {
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
    let at = start + chrono::Duration::milliseconds(i as i64 * 300);
    let order_ref = format!("R-{i:07}");
    let count = 1 + i % 3;
    let mode = if i.is_multiple_of(5) {
        TaxMode::Exclusive
    } else {
        TaxMode::Inclusive
    };
    let mut lines = Vec::with_capacity(count);
    let mut deltas = Vec::with_capacity(count);
    for l in 0..count {
        let (sku, name, price) = common::SKUS[(i * 7 + l * 3) % common::SKUS.len()];
        let qty = 1 + ((i + l) % 3) as i64;
        let discount = if (i + l).is_multiple_of(11) { 50 } else { 0 };
        lines.push(OrderLine {
            line_no: l as u32 + 1,
            sku: sku.into(),
            name: name.into(),
            unit_price_q: price,
            qty,
            discount_q: discount,
            total_q: price * qty - discount,
            unique: false,
            tax_rate_bp: RATES[(i + l) % RATES.len()],
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
    let subtotal: i64 = lines.iter().map(|l| l.total_q).sum();
    let discount = if i.is_multiple_of(13) {
        subtotal / 10
    } else {
        0
    };
    let inputs: Vec<(i64, i64)> = lines.iter().map(|l| (l.total_q, l.tax_rate_bp)).collect();
    let t = tax::compute(mode, &inputs, discount).unwrap();
    for (l, lt) in lines.iter_mut().zip(&t.lines) {
        l.order_discount_q = lt.order_discount_q;
        l.tax_q = lt.tax_q;
    }
    let o = OrderCommitted {
        order_id: Uuid::now_v7(),
        order_ref: order_ref.clone(),
        channel: "pos".into(),
        status: "new".into(),
        currency: "BRL".into(),
        subtotal_q: subtotal,
        discount_q: discount,
        total_q: t.total_q,
        business_date: date(),
        committed_at: at,
        handle: None,
        lines,
        stock_deltas: deltas,
        tax_mode: Some(mode),
        tax_q: t.tax_q,
        taxes: t.taxes,
        actor: None,
        staff_id: None,
        approved_by: None,
        shift_id: None,
    };
    let pay = |method: &str, amount: i64, tendered: i64| PaymentRecorded {
        payment_id: Uuid::now_v7(),
        order_id: o.order_id,
        order_ref: order_ref.clone(),
        method: method.into(),
        outcome: PaymentOutcome::Approved,
        decline_code: None,
        currency: "BRL".into(),
        amount_q: amount,
        tendered_q: tendered,
        change_q: tendered - amount,
        rounding_q: 0,
        fee_q: if method == "card" {
            amount * 2 / 100
        } else {
            0
        },
        card_last4: (method == "card").then(|| "4242".to_string()),
        reference: None,
        business_date: date(),
        at,
        actor: "bench".into(),
        shift_id: None,
        staff_id: None,
    };
    let total = o.total_q;
    let mut out = vec![EventPayload::OrderCommitted(o.clone())];
    let mut payments = Vec::new();
    if i % 50 == 7 {
        let mut declined = pay("card", total, total);
        declined.outcome = PaymentOutcome::Declined;
        declined.decline_code = Some("card_declined".into());
        declined.fee_q = 0;
        out.push(EventPayload::PaymentRecorded(declined));
    }
    match i % 20 {
        0..=11 => payments.push(pay("card", total, total)),
        12..=16 => payments.push(pay("cash", total, (total + 999) / 1000 * 1000)),
        17 | 18 => {
            let part = total / 2;
            payments.push(pay("cash", part, part));
            payments.push(pay("card", total - part, total - part));
        }
        _ => payments.push(pay("pix", total, total)),
    }
    out.extend(payments.iter().cloned().map(EventPayload::PaymentRecorded));
    if i % 100 == 3 {
        let p = &payments[0];
        let amount = p.amount_q.min(100);
        out.push(EventPayload::RefundRecorded(RefundRecorded {
            refund_id: Uuid::now_v7(),
            order_id: o.order_id,
            order_ref: order_ref.clone(),
            idempotency_key: format!("refund-{i}"),
            currency: "BRL".into(),
            amount_q: amount,
            tenders: vec![RefundTender {
                payment_id: p.payment_id,
                method: p.method.clone(),
                amount_q: amount,
                reference: None,
            }],
            lines: Vec::new(),
            restock: false,
            reason: None,
            business_date: date(),
            at,
            actor: "bench".into(),
            shift_id: None,
            stock_deltas: Vec::new(),
            staff_id: None,
            approved_by: None,
        }));
    } else if i % 100 == 42 {
        out.push(EventPayload::OrderStatusChanged(OrderStatusChanged {
            order_id: o.order_id,
            order_ref,
            from: "new".into(),
            to: "cancelled".into(),
            actor: "bench".into(),
            at,
            reason: Some("payment window".into()),
            stock_deltas: Vec::new(),
            staff_id: None,
            approved_by: None,
            shift_id: None,
        }));
    }
    out
}

fn outbox(seq: u64, p: &EventPayload) -> OutboxEvent {
    let value = p.to_value();
    OutboxEvent {
        seq,
        event_id: Uuid::now_v7(),
        kind: p.kind().as_str().into(),
        payload_hash: payload_hash(&value),
        payload: value,
        created_at: Utc::now(),
    }
}

/// Loads the day through the service's push, till by till; returns (orders, events, took).
async fn load(store: &Store, n: usize) -> (usize, usize, Duration) {
    store.seed_demo().await.expect("seed demo");
    let t = Instant::now();
    let mut total = 0;
    for till in 0..TILLS {
        let id = Uuid::now_v7();
        let (code, token) = (format!("bench-code-{id}"), format!("bench-token-{id}"));
        store
            .create_terminal(id, &format!("Till {}", till + 1), &code, None, None)
            .await
            .expect("terminal");
        store.enroll(&code, &token).await.expect("enroll");
        let events: Vec<EventPayload> = (till..n).step_by(TILLS).flat_map(events_of).collect();
        let rows: Vec<OutboxEvent> = events
            .iter()
            .enumerate()
            .map(|(k, e)| outbox(k as u64 + 1, e))
            .collect();
        total += rows.len();
        for page in rows.chunks(PAGE) {
            let r = store
                .push(
                    &token,
                    PushRequest {
                        protocol: PROTOCOL_VERSION,
                        terminal_id: id,
                        store: None,
                        events: page.to_vec(),
                    },
                )
                .await
                .expect("push");
            if let Some(bad) = r
                .results
                .iter()
                .find(|x| x.outcome != EventOutcome::Applied)
            {
                panic!("event not applied: {bad:?}");
            }
        }
    }
    (n, total, t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const PAYMENTS_SUM: &str = "SELECT SUM(amount_q) FROM payments \
     WHERE store_id = 1 AND business_date = '2026-11-21' AND outcome = 'approved'";
const ORDERS_SUM: &str =
    "SELECT SUM(total_q) FROM orders WHERE store_id = 1 AND business_date = '2026-11-21'";
const LINES_SUM: &str = "SELECT SUM(gross_q) FROM order_lines \
     WHERE store_id = 1 AND business_date = '2026-11-21' AND order_cancelled = 0";
const REFUNDS_SUM: &str =
    "SELECT COALESCE(SUM(amount_q), 0) FROM refunds WHERE store_id = 1 AND business_date = '2026-11-21'";

/// Times the report and the plain sums (`runs` each, after a warm-up), prints the line.
async fn compare<F, Fut>(backend: &str, store: &Store, runs: usize, mut plain: F) -> bool
where
    F: FnMut(&'static str) -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let report = store.daily_report(None, date()).await.expect("report");
    let paid = plain(PAYMENTS_SUM).await;
    let sold = plain(ORDERS_SUM).await;
    let tendered: i64 = report.tenders.iter().map(|t| t.amount_q).sum();
    assert_eq!(
        tendered, paid,
        "the report's tenders add up to the plain sum"
    );
    assert_eq!(
        report.sales.gross_q + report.cancellations.amount_q,
        sold,
        "the report's sales and cancellations add up to the plain sum"
    );
    let lines = plain(LINES_SUM).await;
    assert_eq!(
        report.refunds.amount_q,
        plain(REFUNDS_SUM).await,
        "the report's refunds add up to the plain sum"
    );
    let taxed: i64 = report.taxes.iter().map(|t| t.gross_q).sum();
    assert_eq!(
        taxed, lines,
        "the report's taxes add up to the plain sum of the lines"
    );
    assert_eq!(
        taxed, report.sales.gross_q,
        "every order is taxed: lines make the total"
    );
    let (mut r, mut p, mut o, mut l, mut f) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(store.daily_report(None, date()).await.expect("report"));
        r.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(plain(PAYMENTS_SUM).await);
        p.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(plain(ORDERS_SUM).await);
        o.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(plain(LINES_SUM).await);
        l.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(plain(REFUNDS_SUM).await);
        f.push(t.elapsed());
    }
    let (r, p, o, l, f) = (median(r), median(p), median(o), median(l), median(f));
    let base = p + o + l + f;
    let ratio = r.as_secs_f64() / base.as_secs_f64();
    println!(
        "report {backend}: report {:.1} ms, plain sum over the same rows {:.1} ms (orders {:.1} + \
         lines {:.1} + payments {:.1} + refunds {:.1}), ratio {ratio:.2} (target <= 2.0){}",
        ms(r),
        ms(base),
        ms(o),
        ms(l),
        ms(p),
        ms(f),
        if ratio <= 2.0 { "" } else { " MISSED" }
    );
    println!(
        "report {backend}: for reference, against the payments and orders sums alone {:.1} ms, ratio {:.2}",
        ms(p + o),
        r.as_secs_f64() / (p + o).as_secs_f64()
    );
    println!(
        "report {backend}: {} sales, {} tenders, {} refunds, {} cancellations, {} declines",
        report.sales.orders,
        report.tenders.len(),
        report.refunds.count,
        report.cancellations.orders,
        report.declines.count
    );
    ratio <= 2.0
}

async fn sqlite(n: usize, runs: usize) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.db");
    // `TILLBOOK_BENCH_KEEP=1` keeps the database to look into (its path is printed).
    let _dir = if std::env::var("TILLBOOK_BENCH_KEEP").is_ok_and(|v| v == "1") {
        println!("report sqlite: keeping {}", path.display());
        let _ = dir.keep();
        None
    } else {
        Some(dir)
    };
    let store = tillbook_server::open(&format!("sqlite:{}", path.display()))
        .await
        .expect("open");
    let (orders, events, took) = load(&store, n).await;
    println!(
        "report sqlite: loaded {orders} orders ({events} events) in {:.1} s",
        took.as_secs_f64()
    );
    let conn = std::sync::Arc::new(std::sync::Mutex::new(
        rusqlite::Connection::open(&path).unwrap(),
    ));
    compare("sqlite", &store, runs, |sql| {
        let conn = conn.clone();
        async move {
            let conn = conn.lock().unwrap();
            conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap()
        }
    })
    .await
}

async fn postgres(base: &str, n: usize, runs: usize) -> bool {
    let url = common::postgres_database(base).await;
    let store = tillbook_server::open(&url).await.expect("open");
    let (orders, events, took) = load(&store, n).await;
    println!(
        "report postgres: loaded {orders} orders ({events} events) in {:.1} s",
        took.as_secs_f64()
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    for table in [
        "orders",
        "order_lines",
        "payments",
        "refunds",
        "refund_tenders",
    ] {
        client
            .batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await
            .unwrap();
    }
    let client = std::sync::Arc::new(client);
    compare("postgres", &store, runs, |sql| {
        let client = client.clone();
        async move {
            let sql = format!("SELECT CAST(({}) AS BIGINT)", sql);
            client.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0)
        }
    })
    .await
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("TILLBOOK_BENCH_QUICK").is_ok_and(|v| v == "1");
    let n = std::env::var("TILLBOOK_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 10_000 } else { 100_000 });
    let runs = if quick { 3 } else { 9 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut ok = rt.block_on(sqlite(n, runs));
    match std::env::var(PG_ENV) {
        Ok(base) => ok &= rt.block_on(postgres(&base, n, runs)),
        Err(_) => println!("report postgres: skipped ({PG_ENV} is not set)"),
    }
    if !ok {
        println!("report: a backend missed the target");
    }
}
