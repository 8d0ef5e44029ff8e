//! Many tills in many stores at once: 50 tills in 5 stores, each with a backlog, push at the
//! same time over HTTP into PostgreSQL; beside it, the same `orders` and `order_lines` rows
//! inserted raw, in batched multi-row INSERTs by 8 concurrent clients, into a fresh database
//! of the same schema, in the same run. Prints orders/s of each and the ratio server/raw
//! (target >= 0.5): stores must not wait on one another's locks.
//!
//! PostgreSQL only: skipped with a note when `TILLBOOK_TEST_POSTGRES_URL` is not set
//! (`scripts/with-postgres.sh cargo bench -p tillbook-server --bench stores`). Each till's
//! backlog is 200 orders (10,000 in all), three rounds of each side, medians compared;
//! `TILLBOOK_BENCH_QUICK=1` (or `--quick`) makes it 10 orders and one round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tillbook_protocol::events::OrderCommitted;
use tillbook_protocol::sync::{EnrollResponse, EventOutcome, PushRequest, PushResponse};
use tillbook_protocol::PROTOCOL_VERSION;
use uuid::Uuid;

mod common;

const ADMIN: &str = "bench-admin-token";
const PG_ENV: &str = "TILLBOOK_TEST_POSTGRES_URL";
const STORES: usize = 5;
const TILLS: usize = 50;
const PAGE: usize = 100;
const RAW_CLIENTS: usize = 8;
/// Rounds of each side in a full run (the medians are compared).
const ROUNDS: usize = 3;
/// One till's backlog: its orders in seq order.
fn backlog(till: usize, n: usize) -> Vec<OrderCommitted> {
    (0..n).map(|i| common::order(till, i)).collect()
}

/// Every till pushes its backlog, pages one after another, all tills at once.
async fn through_server(url: &str, backlogs: &[Vec<OrderCommitted>]) -> Duration {
    let store = tillbook_server::open(url).await.expect("open store");
    store.seed_demo().await.expect("seed demo");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(tillbook_server::serve(
        listener,
        tillbook_server::AppState::new(store, ADMIN),
    ));
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(TILLS)
        .build()
        .unwrap();
    for s in 0..STORES {
        let r = http
            .post(format!("{base}/v1/admin/stores"))
            .bearer_auth(ADMIN)
            .json(&json!({"code": format!("s{s}"), "name": format!("Store {s}")}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "create store: {}", r.status());
    }
    let mut tills = Vec::new();
    for (t, orders) in backlogs.iter().enumerate() {
        let created: serde_json::Value = http
            .post(format!("{base}/v1/admin/terminals"))
            .bearer_auth(ADMIN)
            .json(&json!({"name": format!("Till {t}"), "store": format!("s{}", t % STORES)}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let enrolled: EnrollResponse = http
            .post(format!("{base}/v1/enroll"))
            .json(&json!({"enrollment_code": created["enrollment_code"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bodies: Vec<Vec<u8>> = common::outbox(orders)
            .chunks(PAGE)
            .map(|page| {
                let req = PushRequest {
                    protocol: PROTOCOL_VERSION,
                    terminal_id: enrolled.terminal_id,
                    store: Some(enrolled.store.clone()),
                    events: page.to_vec(),
                };
                serde_json::to_vec(&req).unwrap()
            })
            .collect();
        tills.push((enrolled.token, bodies));
    }
    let http = Arc::new(http);
    let base = Arc::new(base);
    let t = Instant::now();
    let tasks: Vec<_> = tills
        .into_iter()
        .map(|(token, bodies)| {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move {
                for body in bodies {
                    let resp = http
                        .post(format!("{base}/v1/sync/push"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
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
                    assert!(r.results.iter().all(|x| x.outcome == EventOutcome::Applied));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let took = t.elapsed();
    server.abort();
    took
}

/// The same orders and order lines, raw: 8 clients, one transaction per page of orders.
async fn raw(url: &str, backlogs: &[Vec<OrderCommitted>]) -> Duration {
    drop(
        tillbook_server::open(url)
            .await
            .expect("schema of the raw database"),
    );
    // (store id, feed, terminal id, order) for every order; stores 2..=6 stand in for s0..s4.
    let mut rows = Vec::new();
    let mut feeds = [0i64; STORES];
    for (t, orders) in backlogs.iter().enumerate() {
        let terminal = Uuid::now_v7().to_string();
        for o in orders {
            feeds[t % STORES] += 1;
            rows.push((
                (t % STORES) as i64 + 2,
                feeds[t % STORES],
                terminal.clone(),
                o.clone(),
            ));
        }
    }
    let per = rows.len().div_ceil(RAW_CLIENTS);
    let chunks: Vec<Vec<_>> = rows.chunks(per).map(|c| c.to_vec()).collect();
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let t = Instant::now();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (url, now) = (url.to_string(), now.clone());
            tokio::spawn(async move {
                use tokio_postgres::types::ToSql;
                let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                for page in chunk.chunks(PAGE) {
                    let tx = client.transaction().await.unwrap();
                    let mut sql = String::from(
                        "INSERT INTO orders (order_id, store_id, feed, order_ref, terminal_id, event_id, channel, status, \
                         currency, subtotal_q, discount_q, total_q, business_date, committed_at, handle, received_at, initial_status, \
                         tax_mode, tax_q, paid_q, refunded_q, line_discount_q) VALUES ",
                    );
                    let mut owned: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
                    for (i, (store, feed, terminal, o)) in page.iter().enumerate() {
                        let b = i * 22;
                        sql.push_str(if i == 0 { "(" } else { ", (" });
                        sql.push_str(&(1..=22).map(|c| format!("${}", b + c)).collect::<Vec<_>>().join(", "));
                        sql.push(')');
                        let at = o.committed_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                        owned.push(Box::new(o.order_id.to_string()));
                        owned.push(Box::new(*store));
                        owned.push(Box::new(*feed));
                        owned.push(Box::new(o.order_ref.clone()));
                        owned.push(Box::new(terminal.clone()));
                        owned.push(Box::new(Uuid::now_v7().to_string()));
                        owned.push(Box::new(o.channel.clone()));
                        owned.push(Box::new(o.status.clone()));
                        owned.push(Box::new(o.currency.clone()));
                        owned.push(Box::new(o.subtotal_q));
                        owned.push(Box::new(o.discount_q));
                        owned.push(Box::new(o.total_q));
                        owned.push(Box::new(o.business_date.to_string()));
                        owned.push(Box::new(at));
                        owned.push(Box::new(None::<String>));
                        owned.push(Box::new(now.clone()));
                        owned.push(Box::new(o.status.clone()));
                        owned.push(Box::new(o.tax_mode.map(|m| m.as_str().to_string())));
                        owned.push(Box::new(o.tax_q));
                        owned.push(Box::new(0i64));
                        owned.push(Box::new(0i64));
                        owned.push(Box::new(o.lines.iter().map(|l| l.discount_q).sum::<i64>()));
                    }
                    let params: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
                    tx.execute(&sql, &params).await.unwrap();
                    let mut sql = String::from(
                        "INSERT INTO order_lines (store_id, order_id, line_no, sku, name, unit_price_q, qty, discount_q, \
                         total_q, is_unique, tax_rate_bp, order_discount_q, tax_q, refunded_qty, business_date, gross_q) VALUES ",
                    );
                    let mut owned: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
                    let mut n = 0;
                    for (store, _, _, o) in page {
                        for l in &o.lines {
                            let b = n * 16;
                            sql.push_str(if n == 0 { "(" } else { ", (" });
                            sql.push_str(&(1..=16).map(|c| format!("${}", b + c)).collect::<Vec<_>>().join(", "));
                            sql.push(')');
                            owned.push(Box::new(*store));
                            owned.push(Box::new(o.order_id.to_string()));
                            owned.push(Box::new(i64::from(l.line_no)));
                            owned.push(Box::new(l.sku.clone()));
                            owned.push(Box::new(l.name.clone()));
                            owned.push(Box::new(l.unit_price_q));
                            owned.push(Box::new(l.qty));
                            owned.push(Box::new(l.discount_q));
                            owned.push(Box::new(l.total_q));
                            owned.push(Box::new(0i64));
                            owned.push(Box::new(l.tax_rate_bp));
                            owned.push(Box::new(l.order_discount_q));
                            owned.push(Box::new(l.tax_q));
                            owned.push(Box::new(0i64));
                            owned.push(Box::new(o.business_date.to_string()));
                            owned.push(Box::new(tillbook_protocol::tax::line_gross(o.tax_mode, l.total_q, l.order_discount_q, l.tax_q).unwrap()));
                            n += 1;
                        }
                    }
                    let params: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
                    tx.execute(&sql, &params).await.unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    t.elapsed()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("TILLBOOK_BENCH_QUICK").is_ok_and(|v| v == "1");
    let Ok(base) = std::env::var(PG_ENV) else {
        println!("stores: skipped ({PG_ENV} not set; run under scripts/with-postgres.sh)");
        return;
    };
    let per_till = if quick { 10 } else { 200 };
    let backlogs: Vec<Vec<OrderCommitted>> = (0..TILLS).map(|t| backlog(t, per_till)).collect();
    let n = TILLS * per_till;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The machine is shared and noisy: the two sides take turns, a few rounds each, on fresh
    // databases, and the medians are compared.
    let rounds = if quick { 1 } else { ROUNDS };
    rt.block_on(async {
        let (mut servers, mut raws) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            servers.push(through_server(&common::postgres_database(&base).await, &backlogs).await);
            raws.push(raw(&common::postgres_database(&base).await, &backlogs).await);
        }
        let (server, raw) = (median(&mut servers), median(&mut raws));
        let (s, r) = (n as f64 / server.as_secs_f64(), n as f64 / raw.as_secs_f64());
        let ratio = s / r;
        println!("stores [postgres]: {TILLS} tills in {STORES} stores, {per_till} orders each ({n} orders, 2-3 lines), pages of {PAGE}; median of {rounds} round(s)");
        println!("  server, all tills at once   {s:>10.0} orders/s  ({:.2}s)", server.as_secs_f64());
        println!("  raw INSERTs, {RAW_CLIENTS} clients     {r:>10.0} orders/s  ({:.2}s: orders and order_lines only)", raw.as_secs_f64());
        println!("  ratio server/raw            {ratio:>10.2}  (target >= 0.5: {})", if ratio >= 0.5 { "ok" } else { "MISSED" });
    });
}
