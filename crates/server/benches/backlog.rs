//! Backlog replay: one terminal pushes a backlog of N `order.committed` events (2–3 lines
//! each, with their stock deltas) through the real HTTP server in pages of 500, and the same
//! rows are inserted raw into a fresh database of the same schema with batched multi-row
//! INSERTs, one transaction per batch. Then the whole backlog is pushed again, every event a
//! duplicate (three times; the median counts).
//!
//! Prints orders/s of each, the server/raw ratio (target >= 0.5) and the duplicate/first
//! ratio (target >= 3). SQLite always; PostgreSQL too when `TILLBOOK_TEST_POSTGRES_URL` is
//! set (`scripts/with-postgres.sh cargo bench -p tillbook-server --bench backlog`).
//!
//! N is 100 000; `--quick` or `TILLBOOK_BENCH_QUICK=1` makes it 2 000 (a CI smoke run),
//! `TILLBOOK_BENCH_ORDERS` sets it outright.
//!
//! The raw side writes, per order, the rows the server writes: `orders`, `order_lines`,
//! `stock_ledger`, `inbox` (all in the default store); per batch the
//! `stock_levels` sums and the terminal's cursor. It is timed from the events in memory
//! (already parsed) to the committed batch: building the row values (timestamps, ids; the
//! inbox keeps an applied event's payload hash, not its payload) and inserting them; the
//! insert-only figure is printed beside it. The server side is timed from the first request
//! to the last answer, the request bodies serialised beforehand: it pays for HTTP, parsing,
//! hashing, checks and dedupe on top.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tillbook_protocol::events::OrderCommitted;
use tillbook_protocol::sync::{
    EnrollResponse, EventOutcome, OutboxEvent, PushRequest, PushResponse, TerminalCreated,
};
use tillbook_protocol::PROTOCOL_VERSION;
use uuid::Uuid;

mod common;

const ADMIN: &str = "bench-admin-token";
const PAGE: usize = 500;
const PG_ENV: &str = "TILLBOOK_TEST_POSTGRES_URL";
/// The backlog: wire events and the orders they carry, in seq order.
struct Backlog {
    events: Vec<OutboxEvent>,
    orders: Vec<OrderCommitted>,
}

fn backlog(n: usize) -> Backlog {
    let orders: Vec<OrderCommitted> = (0..n).map(|i| common::order(1, i)).collect();
    Backlog {
        events: common::outbox(&orders),
        orders,
    }
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

// ---------------------------------------------------------------------------------------
// The server side.

struct Replays {
    first: Duration,
    duplicate: Duration,
}

async fn replay_through_server(url: &str, b: &Backlog) -> Replays {
    let store = tillbook_server::open(url).await.expect("open store");
    store.seed_demo().await.expect("seed demo");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(tillbook_server::serve(
        listener,
        tillbook_server::AppState::new(store, ADMIN),
    ));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let created: TerminalCreated = http
        .post(format!("{base}/v1/admin/terminals"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "Backlog till"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let enrolled: EnrollResponse = http
        .post(format!("{base}/v1/enroll"))
        .json(&json!({"enrollment_code": created.enrollment_code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let bodies: Vec<(u64, Vec<u8>)> = b
        .events
        .chunks(PAGE)
        .map(|page| {
            let req = PushRequest {
                protocol: PROTOCOL_VERSION,
                terminal_id: enrolled.terminal_id,
                store: None,
                events: page.to_vec(),
            };
            (page.last().unwrap().seq, serde_json::to_vec(&req).unwrap())
        })
        .collect();

    let push_all = |want: EventOutcome| {
        let (http, base, token, bodies) = (&http, &base, &enrolled.token, &bodies);
        async move {
            let t = Instant::now();
            for (last, body) in bodies {
                let resp = http
                    .post(format!("{base}/v1/sync/push"))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let bytes = resp.bytes().await.unwrap();
                assert!(
                    status.is_success(),
                    "push: {status} {}",
                    String::from_utf8_lossy(&bytes)
                );
                let r: PushResponse = serde_json::from_slice(&bytes).unwrap();
                // A duplicate page is answered with the cursor, past the page.
                let want_last = if want == EventOutcome::Duplicate {
                    b.events.len() as u64
                } else {
                    *last
                };
                assert_eq!(r.last_applied_seq, want_last);
                assert!(
                    r.results.iter().all(|x| x.outcome == want),
                    "expected {want:?}: {:?}",
                    r.results.first()
                );
            }
            t.elapsed()
        }
    };
    let first = push_all(EventOutcome::Applied).await;
    // The duplicate replay changes nothing, so it is run three times and the median kept.
    let mut dups = Vec::new();
    for _ in 0..3 {
        dups.push(push_all(EventOutcome::Duplicate).await);
    }
    dups.sort();
    let duplicate = dups[1];
    server.abort();
    Replays { first, duplicate }
}

// ---------------------------------------------------------------------------------------
// The raw side: the same rows (every column the server writes), multi-row INSERTs, one
// transaction per batch.

/// A column value of the raw inserts: borrowed from the events where it can be, so the raw
/// side copies no more than it must.
enum V<'a> {
    I(i64),
    S(&'a str),
    O(String),
    NullT,
    NullI,
}

impl rusqlite::ToSql for V<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            V::I(n) => ValueRef::Integer(*n),
            V::S(s) => ValueRef::Text(s.as_bytes()),
            V::O(s) => ValueRef::Text(s.as_bytes()),
            V::NullT | V::NullI => ValueRef::Null,
        }))
    }
}

/// One table's rows of a batch, flat.
struct Insert<'a> {
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<V<'a>>,
    /// Appended after VALUES (an upsert clause).
    tail: &'static str,
}

impl<'a> Insert<'a> {
    fn new(table: &'static str, columns: &'static [&'static str], rows: usize) -> Insert<'a> {
        Insert {
            table,
            columns,
            values: Vec::with_capacity(rows * columns.len()),
            tail: "",
        }
    }

    /// The statement for `rows` rows, `$n` or `?n` placeholders.
    fn sql(&self, rows: usize, dollar: bool) -> String {
        use std::fmt::Write;
        let c = self.columns.len();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        );
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for k in 0..c {
                if k > 0 {
                    sql.push_str(", ");
                }
                let _ = write!(sql, "{}{}", if dollar { '$' } else { '?' }, r * c + k + 1);
            }
            sql.push(')');
        }
        sql.push_str(self.tail);
        sql
    }
}

const ORDER_COLS: &[&str] = &[
    "order_id",
    "store_id",
    "feed",
    "order_ref",
    "terminal_id",
    "event_id",
    "channel",
    "status",
    "currency",
    "subtotal_q",
    "discount_q",
    "total_q",
    "business_date",
    "committed_at",
    "handle",
    "received_at",
    "initial_status",
    "tax_mode",
    "tax_q",
    "paid_q",
    "refunded_q",
    "line_discount_q",
];
const LINE_COLS: &[&str] = &[
    "store_id",
    "order_id",
    "line_no",
    "sku",
    "name",
    "unit_price_q",
    "qty",
    "discount_q",
    "total_q",
    "is_unique",
    "tax_rate_bp",
    "order_discount_q",
    "tax_q",
    "refunded_qty",
    "business_date",
    "gross_q",
];
const LEDGER_COLS: &[&str] = &[
    "store_id",
    "delta_id",
    "sku",
    "location",
    "delta",
    "reason",
    "source",
    "at",
    "order_at",
    "counted",
    "terminal_id",
    "event_id",
    "recorded_at",
];
const INBOX_COLS: &[&str] = &[
    "store_id",
    "terminal_id",
    "seq",
    "event_id",
    "kind",
    "payload",
    "payload_hash",
    "outcome",
    "reason",
    "received_at",
];
const LEVEL_COLS: &[&str] = &["store_id", "sku", "location", "on_hand"];
/// The default store's id (the first store of a fresh database).
const STORE: i64 = 1;

fn ts(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The rows one batch of events writes, as the server would write them.
fn batch_rows<'a>(
    terminal: &'a str,
    now: &'a str,
    events: &'a [OutboxEvent],
    orders: &'a [OrderCommitted],
) -> Vec<Insert<'a>> {
    let lines: usize = orders.iter().map(|o| o.lines.len()).sum();
    let deltas: usize = orders.iter().map(|o| o.stock_deltas.len()).sum();
    let mut o = Insert::new("orders", ORDER_COLS, orders.len());
    let mut l = Insert::new("order_lines", LINE_COLS, lines);
    let mut s = Insert::new("stock_ledger", LEDGER_COLS, deltas);
    let mut i = Insert::new("inbox", INBOX_COLS, events.len());
    let mut levels = std::collections::BTreeMap::new();
    for (ev, ord) in events.iter().zip(orders) {
        let id = ev.event_id.to_string();
        let order_id = ord.order_id.to_string();
        let at = ts(ord.committed_at);
        o.values.extend([
            V::O(order_id.clone()),
            V::I(STORE),
            V::I(ev.seq as i64),
            V::S(&ord.order_ref),
            V::S(terminal),
            V::O(id.clone()),
            V::S(&ord.channel),
            V::S(&ord.status),
            V::S(&ord.currency),
            V::I(ord.subtotal_q),
            V::I(ord.discount_q),
            V::I(ord.total_q),
            V::O(ord.business_date.to_string()),
            V::O(at.clone()),
            V::NullT,
            V::S(now),
            V::S(&ord.status),
            match ord.tax_mode {
                Some(m) => V::S(m.as_str()),
                None => V::NullT,
            },
            V::I(ord.tax_q),
            V::I(0),
            V::I(0),
            V::I(ord.lines.iter().map(|l| l.discount_q).sum()),
        ]);
        let day = ord.business_date.to_string();
        for line in &ord.lines {
            l.values.extend([
                V::I(STORE),
                V::O(order_id.clone()),
                V::I(i64::from(line.line_no)),
                V::S(&line.sku),
                V::S(&line.name),
                V::I(line.unit_price_q),
                V::I(line.qty),
                V::I(line.discount_q),
                V::I(line.total_q),
                V::I(line.unique as i64),
                V::I(line.tax_rate_bp),
                V::I(line.order_discount_q),
                V::I(line.tax_q),
                V::I(0),
                V::O(day.clone()),
                V::I(
                    tillbook_protocol::tax::line_gross(
                        ord.tax_mode,
                        line.total_q,
                        line.order_discount_q,
                        line.tax_q,
                    )
                    .unwrap(),
                ),
            ]);
        }
        for d in &ord.stock_deltas {
            let at = ts(d.at);
            s.values.extend([
                V::I(STORE),
                V::O(d.delta_id.to_string()),
                V::S(&d.sku),
                V::S(&d.location),
                V::I(d.delta),
                V::S(d.reason.as_str()),
                V::S(&d.source),
                V::O(at.clone()),
                V::O(at.min(now.to_string())),
                V::NullI,
                V::S(terminal),
                V::O(id.clone()),
                V::S(now),
            ]);
            *levels
                .entry((d.sku.as_str(), d.location.as_str()))
                .or_insert(0i64) += d.delta;
        }
        i.values.extend([
            V::I(STORE),
            V::S(terminal),
            V::I(ev.seq as i64),
            V::O(id),
            V::S(&ev.kind),
            // An applied event's payload lives on in its rows: the inbox keeps its hash.
            V::NullT,
            V::S(&ev.payload_hash),
            V::S("applied"),
            V::NullT,
            V::S(now),
        ]);
    }
    let mut lv = Insert::new("stock_levels", LEVEL_COLS, levels.len());
    lv.tail = " ON CONFLICT (store_id, sku, location) DO UPDATE SET on_hand = stock_levels.on_hand + excluded.on_hand";
    lv.values = levels
        .into_iter()
        .flat_map(|((sku, loc), d)| [V::I(STORE), V::S(sku), V::S(loc), V::I(d)])
        .collect();
    vec![o, l, s, i, lv]
}

/// Rows per statement: both engines take at least 32 766 parameters.
fn chunk_rows(columns: usize) -> usize {
    (32_000 / columns).max(1)
}

/// How long the raw side took: building the rows from the events, and in all (built and
/// inserted).
#[derive(Default)]
struct Raw {
    build: Duration,
    total: Duration,
}

fn raw_sqlite(path: &std::path::Path, terminal: &str, b: &Backlog) -> Raw {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.set_prepared_statement_cache_capacity(256);
    conn.execute(
        "INSERT INTO terminals (id, store_id, terminal_code, name, code_hash, created_at, last_applied_seq, rejected_count) VALUES (?1, 1, 'RAW', 'raw', 'raw', ?2, 0, 0)",
        rusqlite::params![terminal, ts(Utc::now())],
    )
    .unwrap();
    let mut took = Raw::default();
    for (evs, ords) in b.events.chunks(PAGE).zip(b.orders.chunks(PAGE)) {
        let t = Instant::now();
        let now = ts(Utc::now());
        let inserts = batch_rows(terminal, &now, evs, ords);
        let last = evs.last().unwrap().seq as i64;
        let built = t.elapsed();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        for ins in &inserts {
            let width = ins.columns.len();
            for rows in ins.values.chunks(chunk_rows(width) * width) {
                let mut stmt = tx
                    .prepare_cached(&ins.sql(rows.len() / width, false))
                    .unwrap();
                stmt.execute(rusqlite::params_from_iter(rows.iter()))
                    .unwrap();
            }
        }
        tx.execute(
            "UPDATE terminals SET last_applied_seq = ?1, last_seen_at = ?2 WHERE id = ?3",
            rusqlite::params![last, now, terminal],
        )
        .unwrap();
        tx.commit().unwrap();
        took.total += t.elapsed();
        took.build += built;
    }
    took
}

static NULL_TEXT: Option<String> = None;
static NULL_INT: Option<i64> = None;

async fn raw_postgres(url: &str, terminal: &str, b: &Backlog) -> Raw {
    use tokio_postgres::types::ToSql;
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .execute(
            "INSERT INTO terminals (id, store_id, terminal_code, name, code_hash, created_at, last_applied_seq, rejected_count) VALUES ($1, 1, 'RAW', 'raw', 'raw', $2, 0, 0)",
            &[&terminal, &ts(Utc::now())],
        )
        .await
        .unwrap();
    let mut took = Raw::default();
    for (evs, ords) in b.events.chunks(PAGE).zip(b.orders.chunks(PAGE)) {
        let t = Instant::now();
        let now = ts(Utc::now());
        let inserts = batch_rows(terminal, &now, evs, ords);
        let last = evs.last().unwrap().seq as i64;
        let built = t.elapsed();
        let tx = client.transaction().await.unwrap();
        for ins in &inserts {
            let width = ins.columns.len();
            for rows in ins.values.chunks(chunk_rows(width) * width) {
                let params: Vec<&(dyn ToSql + Sync)> = rows
                    .iter()
                    .map(|v| match v {
                        V::I(n) => n as &(dyn ToSql + Sync),
                        V::S(s) => s as &(dyn ToSql + Sync),
                        V::O(s) => s as &(dyn ToSql + Sync),
                        V::NullT => &NULL_TEXT as &(dyn ToSql + Sync),
                        V::NullI => &NULL_INT as &(dyn ToSql + Sync),
                    })
                    .collect();
                tx.execute(&ins.sql(rows.len() / width, true), &params)
                    .await
                    .unwrap();
            }
        }
        tx.execute(
            "UPDATE terminals SET last_applied_seq = $1, last_seen_at = $2 WHERE id = $3",
            &[&last, &now, &terminal],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        took.total += t.elapsed();
        took.build += built;
    }
    took
}

// ---------------------------------------------------------------------------------------

struct Outcome {
    ratio_ok: bool,
    dup_ok: bool,
}

fn report(backend: &str, n: usize, r: &Replays, raw: &Raw) -> Outcome {
    let first = rate(n, r.first);
    let dup = rate(n, r.duplicate);
    let raw_rate = rate(n, raw.total);
    let insert_only = rate(n, raw.total - raw.build);
    let ratio = first / raw_rate;
    let dup_ratio = dup / first;
    println!("backlog [{backend}]: {n} orders (2-3 lines each), pages of {PAGE}");
    println!(
        "  server, first replay      {first:>10.0} orders/s  ({:.2}s)",
        r.first.as_secs_f64()
    );
    println!("  raw batched INSERTs       {raw_rate:>10.0} orders/s  ({:.2}s: rows built from the events and inserted)", raw.total.as_secs_f64());
    println!(
        "  ratio server/raw          {ratio:>10.2}  (target >= 0.5: {})",
        verdict(ratio >= 0.5)
    );
    println!(
        "    (raw INSERTs alone, row values built beforehand: {insert_only:.0} orders/s, ratio {:.2})",
        first / insert_only
    );
    println!(
        "  server, duplicate replay  {dup:>10.0} orders/s  ({:.2}s, median of 3)",
        r.duplicate.as_secs_f64()
    );
    println!(
        "  ratio duplicate/first     {dup_ratio:>10.2}  (target >= 3: {})",
        verdict(dup_ratio >= 3.0)
    );
    Outcome {
        ratio_ok: ratio >= 0.5,
        dup_ok: dup_ratio >= 3.0,
    }
}

async fn bench(n: usize) -> Vec<Outcome> {
    let t = Instant::now();
    let b = backlog(n);
    println!(
        "backlog: generated {n} events in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let terminal = Uuid::now_v7().to_string();
    let mut outcomes = Vec::new();

    let dir = tempfile::tempdir().unwrap();
    let server_url = format!("sqlite:{}", dir.path().join("server.db").display());
    let replays = replay_through_server(&server_url, &b).await;
    let raw_path = dir.path().join("raw.db");
    drop(
        tillbook_server::open(&format!("sqlite:{}", raw_path.display()))
            .await
            .expect("schema of the raw database"),
    );
    let raw = tokio::task::block_in_place(|| raw_sqlite(&raw_path, &terminal, &b));
    outcomes.push(report("sqlite", n, &replays, &raw));

    match std::env::var(PG_ENV) {
        Ok(base) => {
            let replays = replay_through_server(&common::postgres_database(&base).await, &b).await;
            let raw_url = common::postgres_database(&base).await;
            drop(
                tillbook_server::open(&raw_url)
                    .await
                    .expect("schema of the raw database"),
            );
            let raw = raw_postgres(&raw_url, &terminal, &b).await;
            outcomes.push(report("postgres", n, &replays, &raw));
        }
        Err(_) => println!(
            "backlog [postgres]: skipped ({PG_ENV} not set; run under scripts/with-postgres.sh)"
        ),
    }
    outcomes
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("TILLBOOK_BENCH_QUICK").is_ok_and(|v| v == "1");
    let n = std::env::var("TILLBOOK_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 100_000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcomes = rt.block_on(bench(n));
    let missed = outcomes.iter().filter(|o| !o.ratio_ok || !o.dup_ok).count();
    if missed > 0 {
        println!("backlog: {missed} backend(s) missed a target");
    }
}
