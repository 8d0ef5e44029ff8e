//! Chaos, the acceptance test of "no sale lost, none counted twice": five terminal processes
//! in two stores ring up orders online and offline through a TCP proxy that drops and
//! duplicates requests, move their items, cancel, adjust and count stock and try to sell one
//! unique item, while the server process and the terminals are killed with SIGKILL at random,
//! a price changes, and the server's database is restored once from an older copy. At the end
//! every queue drains and the server holds exactly what the terminals did. On SQLite always;
//! on PostgreSQL under `scripts/with-postgres.sh` (`…_postgres`, ignored otherwise).
//!
//! Loopback only. The chaos phase lasts `TILLBOOK_CHAOS_SECS` seconds (60 by default);
//! `TILLBOOK_CHAOS_SEED` replays the random choices (not the timing) of a run.
//!
//! The run:
//! - `chaos_server` (tests/src/bin) is the real server library on its database, killed and
//!   restarted on the same database and port. The back office (straight to the server) adds a
//!   second store (`north`) and the one unique item to the chain's catalog.
//! - Five books with the demo café's catalog (real books, not `--demo`: a demo's sales are never
//!   sent), A, B and C in `main`, D and E in `north`. A and B start
//!   with the same terminal code `T01`, and every book rings [`PRE_ORDERS`] orders before it
//!   is enrolled, so A and B hold identical order refs; A, B and D sell the unique item
//!   offline among them (imported into the book by hand), so `main` starts with a unique-item
//!   conflict (which a later cancellation may resolve). Then every terminal is enrolled: A
//!   keeps `T01` in `main` (a second `T01` there is refused), B gets another code from the
//!   server, D asks for `T01` in `north` (allowed: codes are unique per store).
//! - The chaos: `chaos_terminal` (tests/src/bin) rings orders up to [`ORDERS`] per book, with
//!   item moves, cancellations, receivings, adjustments, counts and attempts at the unique
//!   item, syncing every few orders; [`proxy::Proxy`] injects faults into every request; the
//!   server is killed and kept down a while now and then; terminals are killed at random or a
//!   few milliseconds into a sync. Once, with the server down, its database is copied aside;
//!   later, with the server down again, the copy is put back (the server forgets what it
//!   applied since and the tills must send it again). After the restore the back office
//!   raises the price of [`PRICE_SKU`]; orders rung after a till pulls it carry the new price.
//! - The calm: faults off, every terminal finishes its orders, and a last in-process sync
//!   drains every queue.
//!
//! The checks: no queue holds a row, nothing was rejected (the test causes no rejection), no
//! sync failed except on an unreachable server; every order a process reported is in its
//! book; the server lists exactly the books' orders by `order_id` (none missing, none twice);
//! every order's ref, terminal, store, status, totals and lines (sku, name, unit price, qty,
//! discount, total, unique, item status) are the same on the server as in its book; the
//! `?store=` filter lists each store's orders; each (store, SKU) on-hand on the server is the
//! count rule applied to the server's opening stock and every delta in the books' outboxes;
//! the server's alerts list a unique-item conflict iff two live orders of a store sold it;
//! each terminal's cursor on the server is its last seq; a terminal that pulled to the head
//! sees the server's stock. The chaos must have happened too: server restarts, SIGKILLs
//! mid-sync, each fault on a push, requests that found the server down, offline sales, the
//! restore losing orders, counts, item moves, cancellations, unique attempts, the new price in
//! some order. Money: the tills pay most orders (cash with change and rounding, test cards with
//! declines, pix and cash split, some offline before enrolment), refund some in part or in
//! full, and tax by category in both tax modes; each order's taxes, paid and refunded amounts
//! and payment status are the same on the server, and per store the server's daily reports
//! add up to exactly the books' tenders, refunds, declines and taxes per rate.
//! Shifts: each till always has a shift open, takes cash in and out (out with the back office
//! manager's PIN once pulled) and closes shifts with a count; every shift of every book, open
//! or closed, is at the server with the same figures (the Z-report of a closed one).

mod admin;
mod backend;
mod check;
mod money;
mod shifts;
mod procs;
mod proxy;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use tillbook_orderbook::{Book, CommitOptions, InitOptions};
use tillbook_protocol::catalog::{demo_products, OversellPolicy, ProductRecord};
use tillbook_protocol::events::{EventKind, EventPayload, StockReason};

use admin::Admin;
use backend::Backend;
use check::{count_rule, Move};
use procs::{ServerProc, Terminal};
use proxy::{Fault, Proxy};

pub const ADMIN: &str = "chaos-admin-token";
/// Orders each terminal rings up with the key `o-N` (all of its book's orders).
pub const ORDERS: i64 = 64;
/// Of those, rung before the terminal is enrolled.
const PRE_ORDERS: i64 = 4;
/// The one-of-a-kind item in the chain's catalog.
pub const UNIQUE_SKU: &str = "VASE_ONE";
const SECOND_STORE: &str = "north";
/// The back office manager's PIN (the one `chaos_terminal` offers).
const MANAGER_PIN: &str = "2468";
/// The product whose price the back office changes mid-run.
const PRICE_SKU: &str = "LATTE";
const OLD_PRICE: i64 = 750;
const NEW_PRICE: i64 = 820;

/// The terminals: name, the code its book starts with, its store, the code asked of the server.
const TILLS: [(&str, &str, &str, Option<&str>); 5] = [
    ("Till A", "T01", "main", Some("T01")),
    ("Till B", "T01", "main", None),
    ("Till C", "T03", "main", None),
    ("Till D", "T04", SECOND_STORE, Some("T01")),
    ("Till E", "T05", SECOND_STORE, None),
];

/// The two chaos tests share two cores: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_and_server_survive_chaos_exactly_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::sqlite(dir.path());
    run(&backend, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn terminals_and_server_survive_chaos_exactly_once_postgres() {
    let url = std::env::var("TILLBOOK_TEST_POSTGRES_URL")
        .expect("TILLBOOK_TEST_POSTGRES_URL must name a PostgreSQL database (run under scripts/with-postgres.sh)");
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::postgres(&url).await;
    run(&backend, dir.path()).await;
    backend.cleanup().await;
}

/// A port for the server below the ephemeral range (so no outgoing connection takes it
/// while the server is down), free now.
fn server_port(rng: &mut StdRng) -> u16 {
    for _ in 0..200 {
        let port = rng.random_range(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn between(rng: &mut StdRng, lo_ms: u64, hi_ms: u64) -> Duration {
    Duration::from_millis(rng.random_range(lo_ms..=hi_ms))
}

/// Order `o-n`, rung in the test's process before the book is enrolled; with the unique item
/// (imported into the book by hand, as a till offline would) when asked.
fn ring_before_enrolment(book: &mut Book, rng: &mut StdRng, n: i64, unique: bool) -> String {
    let skus = ["ESPRESSO", "CAPPUCCINO", "LATTE", "CROISSANT", "PAIN_AU_CHOCOLAT", "CARROT_CAKE"];
    let session = book.open_session(None, None).unwrap().session_key;
    for _ in 0..rng.random_range(1..=2) {
        book.add_line(&session, skus[rng.random_range(0..skus.len())], rng.random_range(1..=3), None).unwrap();
    }
    if unique {
        book.upsert_products(&[unique_product()]).unwrap();
        book.add_line(&session, UNIQUE_SKU, 1, None).unwrap();
    }
    let out = book.commit(&session, &format!("o-{n}"), CommitOptions::default()).unwrap();
    // Paid in cash, offline: the payment reaches the server after enrolment, with the order.
    let cash = tillbook_orderbook::Tender::Cash { tendered_q: out.total_q + 1000 };
    book.pay(&out.order_ref, &[cash], tillbook_orderbook::PayOptions::default()).unwrap();
    out.order_ref
}

fn unique_product() -> ProductRecord {
    ProductRecord {
        sku: UNIQUE_SKU.into(),
        name: "Hand-thrown vase".into(),
        price_q: 12_000,
        currency: Some("BRL".into()),
        category: Some("Gifts".into()),
        barcodes: Vec::new(),
        active: true,
        parent_sku: None,
        variant: None,
        unique: true,
        oversell: OversellPolicy::Allow,
        tax_rate_bp: None,
    }
}

/// What the server's database went through.
#[derive(Default)]
struct Restore {
    /// Orders the server listed just before the copy was taken.
    at_snapshot: Option<usize>,
    /// Orders the server listed just before the copy was put back, and just after.
    before: Option<usize>,
    after: Option<usize>,
}

async fn run(backend: &Backend, dir: &Path) {
    let started = Instant::now();
    let secs: u64 = std::env::var("TILLBOOK_CHAOS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = std::env::var("TILLBOOK_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    let db = backend.name();
    eprintln!("chaos ({db}): seed {seed} (TILLBOOK_CHAOS_SEED), {secs}s of chaos (TILLBOOK_CHAOS_SECS)");
    let mut rng = StdRng::seed_from_u64(seed);

    // The server, the proxy in front of it, the back office beside it.
    let mut server = ServerProc::new(server_port(&mut rng), backend.url(), dir.join("server.log"));
    server.start();
    let server_up = Arc::new(AtomicBool::new(true));
    let upstream: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let proxy = Proxy::start(upstream, seed);
    let admin = Admin::new(format!("http://{upstream}"));

    // The chain: a second store and the one unique item.
    admin.call(Method::POST, "/v1/admin/stores", Some(json!({"code": SECOND_STORE, "name": "North"}))).await;
    admin.call(Method::PUT, "/v1/admin/catalog", Some(json!({"products": [unique_product()]}))).await;
    let opening = admin.stock(None).await;
    assert!(!opening.is_empty(), "the demo stock is seeded");
    // The manager whose PIN approves the tills' refunds and cash out, once they have pulled it.
    let manager = json!({"name": "Marta", "role": "manager", "pin": MANAGER_PIN});
    admin.call(Method::POST, "/v1/admin/staff", Some(manager)).await;

    // Five books with the demo café's catalog and a shift open, each with a few orders rung
    // before it is enrolled. Not demo books: a demo's sales never reach the server.
    let mut pre_refs = Vec::new();
    for (i, (_, book_code, _, _)) in TILLS.iter().enumerate() {
        let options = InitOptions { terminal_code: book_code.to_string(), ..InitOptions::default() };
        let mut book = Book::init(&dir.join(format!("t{}.sqlite", i + 1)), options).unwrap();
        book.upsert_products(&demo_products()).unwrap();
        book.set_setting("tender_methods", "pix,voucher").unwrap();
        book.open_shift(20_000).unwrap();
        // Taxes by category with a store default; `north` sells at prices without tax, and
        // two tills round cash to five centavos.
        book.set_setting("tax_rate", "9.25").unwrap();
        book.set_setting("category_tax", "Coffee=18,Bakery=7").unwrap();
        book.set_setting("tax_mode", if i >= 3 { "exclusive" } else { "inclusive" }).unwrap();
        if i % 2 == 1 {
            book.set_setting("cash_rounding", "5").unwrap();
        }
        // A and B (both in `main`) and D sell the unique item offline: A and B in conflict.
        let sells_unique = |n: i64| n == PRE_ORDERS - 1 && [0, 1, 3].contains(&i);
        let refs: BTreeSet<String> =
            (0..PRE_ORDERS).map(|n| ring_before_enrolment(&mut book, &mut rng, n, sells_unique(n))).collect();
        pre_refs.push(refs);
    }
    let shared: Vec<_> = pre_refs[0].intersection(&pre_refs[1]).collect();
    assert_eq!(shared.len() as i64, PRE_ORDERS, "A and B, both T01, hold the same refs: {pre_refs:?}");

    // Every terminal enrolled (through the proxy, no faults yet), all before the copy of the
    // server's database is taken: a restored server must know every token.
    let mut terms = Vec::new();
    for (i, (name, _, store, asked)) in TILLS.iter().enumerate() {
        let mut body = json!({"name": name, "store": store});
        if let Some(code) = asked {
            body["terminal_code"] = json!(code);
        }
        let created = admin.call(Method::POST, "/v1/admin/terminals", Some(body)).await;
        assert_eq!(created["store"], *store, "{created}");
        if let Some(code) = asked {
            assert_eq!(created["terminal_code"], *code, "{created}");
        }
        let code = created["terminal_code"].as_str().unwrap().to_string();
        let path = dir.join(format!("t{}.sqlite", i + 1));
        let mut book = Book::open(&path).unwrap();
        tillbook_sync::enroll(&mut book, &proxy.url(), created["enrollment_code"].as_str().unwrap()).await.unwrap();
        assert_eq!(book.settings().terminal_code, code, "{name} takes the code the server gave it");
        drop(book);
        terms.push(Terminal::new(name.to_string(), path, store.to_string(), code, dir.join(format!("t{}.log", i + 1)), server_up.clone()));
    }
    assert_ne!(terms[1].code, "T01", "the server gives B another code than A's");
    let (status, body) = admin
        .try_call(Method::POST, "/v1/admin/terminals", Some(json!({"name": "Till X", "store": "main", "terminal_code": "T01"})))
        .await;
    assert!(status.is_client_error(), "a second T01 in main is refused: {status} {body}");

    // The chaos phase.
    let chaos = Duration::from_secs(secs);
    // Orders are spread over 90% of the chaos, so that many are rung after the restore and the
    // price change (which wait for the server to be up) whatever the kills delay.
    let pace_ms = secs * 900 / (ORDERS - PRE_ORDERS) as u64;
    proxy.set_faults(true);
    for t in terms.iter_mut() {
        t.start(rng.random(), pace_ms);
    }
    let begin = Instant::now();
    let (snapshot_at, restore_at, price_at) = (begin + chaos.mul_f64(0.15), begin + chaos.mul_f64(0.35), begin + chaos.mul_f64(0.4));
    let mut restore = Restore::default();
    let mut price_changed = false;
    let mut server_kill_at = begin + between(&mut rng, 1500, 5000);
    let mut server_down_until: Option<Instant> = None;
    let mut next_terminal_kill = begin + between(&mut rng, 500, 2000);
    let (mut server_kills, mut offline_time) = (0u32, Duration::ZERO);
    let mut failures = Vec::new();
    while begin.elapsed() < chaos || restore.after.is_none() || !price_changed {
        assert!(begin.elapsed() < chaos + Duration::from_secs(60), "the restore and the price change did not happen in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = Instant::now();
        for t in terms.iter_mut() {
            if let Some(status) = t.exited() {
                failures.push(format!("{} exited by itself ({status}): {}", t.name, t.stderr_text()));
            }
            if !t.running() {
                match t.restart_at {
                    // Killed mid-sync by its reader: back after a pause.
                    None => t.restart_at = Some(now + between(&mut rng, 0, 1500)),
                    Some(at) if now >= at => {
                        t.restart_at = None;
                        t.start(rng.random(), pace_ms);
                    }
                    Some(_) => {}
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        // The server: up for a few seconds, then killed and kept down a while (the terminals
        // sell offline), then started again on the same database. Once down, its database is
        // copied aside; a later time down, the copy is put back.
        let snapshot_due = restore.at_snapshot.is_none() && now >= snapshot_at;
        let restore_due = restore.at_snapshot.is_some() && restore.before.is_none() && now >= restore_at;
        match server_down_until {
            None if now >= server_kill_at || snapshot_due || restore_due => {
                let listed = if snapshot_due || restore_due { Some(admin.orders().await.len()) } else { None };
                server_up.store(false, Ordering::SeqCst);
                server.kill();
                server_kills += 1;
                if snapshot_due {
                    backend.snapshot().await;
                    restore.at_snapshot = listed;
                } else if restore_due {
                    backend.restore().await;
                    restore.before = listed;
                }
                let down = between(&mut rng, 300, 3000);
                server_down_until = Some(Instant::now() + down);
                offline_time += down;
            }
            Some(until) if now >= until => {
                let restored = restore.before.is_some() && restore.after.is_none();
                if restored {
                    // What the restored server holds, before any till reaches it.
                    proxy.set_closed(true);
                    server.start();
                    restore.after = Some(admin.orders().await.len());
                    proxy.set_closed(false);
                } else {
                    server.start();
                }
                server_up.store(true, Ordering::SeqCst);
                server_down_until = None;
                server_kill_at = Instant::now() + between(&mut rng, 2000, 8000);
            }
            _ => {}
        }
        // After the restore, the back office raises a price; the tills pull it.
        if !price_changed && restore.after.is_some() && server_down_until.is_none() && now >= price_at {
            let mut latte = demo_products().into_iter().find(|p| p.sku == PRICE_SKU).unwrap();
            assert_eq!(latte.price_q, OLD_PRICE);
            latte.price_q = NEW_PRICE;
            admin.call(Method::PUT, "/v1/admin/catalog", Some(json!({"products": [latte]}))).await;
            price_changed = true;
        }
        // A terminal dies with SIGKILL and comes back: at a random moment, or a few
        // milliseconds into its next sync (before its push is sent, while it is in flight,
        // after the answer and before the book has it).
        if now >= next_terminal_kill {
            next_terminal_kill = now + between(&mut rng, 500, 2500);
            let running: Vec<usize> = (0..terms.len()).filter(|&i| terms[i].running()).collect();
            if !running.is_empty() {
                let i = running[rng.random_range(0..running.len())];
                if rng.random_bool(0.5) {
                    terms[i].log.lock().unwrap().kill_in_sync = Some(between(&mut rng, 0, 40));
                } else {
                    terms[i].kill();
                    terms[i].restart_at = Some(now + between(&mut rng, 0, 1500));
                }
            }
        }
    }
    let chaos_took = begin.elapsed();
    let terminal_kills: u64 = terms.iter().map(|t| t.starts - 1).sum();
    let mid_sync_kills: u32 = terms.iter().map(|t| t.log.lock().unwrap().mid_sync_kills).sum();
    let offline_commits: u32 = terms.iter().map(|t| t.log.lock().unwrap().offline_commits).sum();

    // Calm: no more faults, every terminal stopped, the server restarted cleanly.
    proxy.set_faults(false);
    for t in terms.iter_mut() {
        t.kill();
        t.restart_at = None;
    }
    server_up.store(false, Ordering::SeqCst);
    server.kill();
    server.start();
    server_up.store(true, Ordering::SeqCst);
    // Each terminal finishes its orders (if the chaos left some) with no faults in the way.
    let calm = Instant::now();
    for t in terms.iter_mut() {
        t.start(rng.random(), 0);
    }
    while terms.iter().any(|t| !t.log.lock().unwrap().rung) {
        for t in terms.iter_mut() {
            if let Some(status) = t.exited() {
                panic!("{} exited by itself ({status}): {}", t.name, t.stderr_text());
            }
        }
        assert!(calm.elapsed() < Duration::from_secs(120), "the terminals did not finish their orders in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in terms.iter_mut() {
        t.kill();
    }
    // The last sync, in-process, until every queue is empty.
    let options = tillbook_sync::Options {
        push_page: 50,
        attempts: 3,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        ..tillbook_sync::Options::default()
    };
    let mut books = Vec::new();
    for t in &terms {
        let mut book = Book::open(&t.book).unwrap();
        let mut drained = false;
        for _ in 0..20 {
            match tillbook_sync::run(&mut book, &options).await {
                Ok(_) if book.sync_status().unwrap().pending == 0 => {
                    drained = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => assert!(e.is_transient(), "{}: {e}", t.name),
            }
        }
        assert!(drained, "{}: the queue did not drain: {:?}", t.name, book.sync_status().unwrap());
        books.push(book);
    }
    let final_took = calm.elapsed();

    // What happened.
    let counts = proxy.stats.counts.lock().unwrap().clone();
    eprintln!(
        "chaos ({db}): {:.1}s chaos, {:.1}s calm; server killed {server_kills} times (offline ~{:.1}s, {} starts, \
         {} requests found it down, {offline_commits} orders sold meanwhile); database restored (orders listed: {:?} at the \
         copy, {:?} before the restore, {:?} after); terminals killed {terminal_kills} times ({mid_sync_kills} mid-sync); \
         proxy: {counts:?}",
        chaos_took.as_secs_f64(),
        final_took.as_secs_f64(),
        offline_time.as_secs_f64(),
        server.starts,
        proxy.stats.refused.load(Ordering::Relaxed),
        restore.at_snapshot,
        restore.before,
        restore.after,
    );
    for t in &terms {
        let l = t.log.lock().unwrap();
        eprintln!(
            "chaos ({db}): {} ({} {}): {} starts, {} orders reported, {} cancelled, {} item moves, {} adjustments, \
             {} counts, unique sold by {:?}, refused {:?}, {} syncs ok, sync errors {:?}",
            t.name,
            t.store,
            t.code,
            t.starts,
            l.committed.len(),
            l.cancelled.len(),
            l.item_moves,
            l.adjustments,
            l.counts,
            l.unique_sold,
            l.unique_refused,
            l.syncs_ok,
            l.sync_errors
        );
    }

    // The chaos really happened.
    assert!(server_kills > 0 && server.starts > server_kills, "the server was never killed and restarted");
    assert!(terminal_kills > 0, "no terminal was killed");
    assert!(mid_sync_kills > 0, "no terminal was killed mid-sync");
    assert!(offline_commits > 0, "no order was sold while the server was down");
    assert!(proxy.stats.faults() > 0, "the proxy injected no fault");
    let push = "/v1/sync/push";
    for fault in [Fault::DropBefore, Fault::DropAfter, Fault::Duplicate] {
        assert!(proxy.stats.count(fault, push) > 0, "the proxy never applied {fault:?} to a push: {counts:?}");
    }
    assert!(proxy.stats.refused.load(Ordering::Relaxed) > 0, "no request found the server down");
    let (before, after) = (restore.before.unwrap(), restore.after.unwrap());
    assert!(after < before, "the restore lost orders the tills had to send again ({before} listed before, {after} after)");
    assert!(after >= restore.at_snapshot.unwrap(), "the copy holds what the server listed when it was taken");
    let unique_tries: u64 =
        terms.iter().map(|t| t.log.lock().unwrap()).map(|l| l.unique_sold.len() as u64 + l.unique_refused.values().sum::<u64>()).sum();
    assert!(unique_tries > 0, "no terminal tried to sell the unique item");

    // Every queue is empty, nothing was rejected, no sync failed for a reason other than an
    // unreachable server; every order a process reported is in its book.
    let mut deltas: BTreeMap<(String, String, String), Vec<Move>> = BTreeMap::new();
    for (key, on_hand) in &opening {
        deltas.entry(key.clone()).or_default().push(Move::opening(*on_hand));
    }
    let (mut counts_made, mut item_events, mut cancels, mut auto_completed, mut auto_cancelled) = (0, 0, 0, 0, 0);
    // order_id → (terminal index, ref).
    let mut book_orders: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (i, (t, book)) in terms.iter().zip(&books).enumerate() {
        let name = &t.name;
        let log = t.log.lock().unwrap();
        assert!(log.bad_sync_errors.is_empty(), "{name}: {:#?}", log.bad_sync_errors);
        let status = book.sync_status().unwrap();
        assert_eq!(status.pending, 0, "{name}: {status:?}");
        let rejected: Vec<String> = book
            .outbox(0, 1_000_000)
            .unwrap()
            .into_iter()
            .filter(|r| r.reason.is_some() || r.state == tillbook_orderbook::SyncState::Rejected)
            .map(|r| format!("seq {} {} {:?}: {:?} {}", r.seq, r.kind, r.order_ref, r.reason, r.payload))
            .collect();
        assert!(rejected.is_empty() && status.rejected == 0, "{name}: rejected {rejected:#?}");
        assert!(status.halted.is_none(), "{name}: {status:?}");
        let summary = book.outbox_summary().unwrap();
        assert_eq!((summary.pending, summary.sent, summary.rejected), (0, 0, 0), "{name}: {summary:?}");
        assert_eq!(summary.applied, summary.last_seq, "{name}: {summary:?}");
        assert!(book.integrity_ok().unwrap());
        let rung: i64 = book
            .connection()
            .query_row("SELECT COUNT(*) FROM orders WHERE idempotency_key LIKE 'o-%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rung, ORDERS, "{name}");
        let orders = book.orders(None, 1_000_000).unwrap();
        assert_eq!(orders.len() as i64, ORDERS, "{name}: its orders");
        let refs: BTreeSet<String> = orders.iter().map(|o| o.order_ref.clone()).collect();
        assert_eq!(refs.len(), orders.len(), "{name}: refs are unique in a book");
        let lost: Vec<_> = log.committed.difference(&refs).collect();
        assert!(lost.is_empty(), "{name} reported orders its book does not hold: {lost:?}");
        for r in &log.cancelled {
            let o = orders.iter().find(|o| &o.order_ref == r).unwrap();
            assert_eq!(o.status, "cancelled", "{name}: {r} was reported cancelled");
        }
        assert!(pre_refs[i].is_subset(&refs), "{name}: the orders rung before enrolment keep their refs");
        for o in &orders {
            let id = o.order_id.to_string();
            assert!(book_orders.insert(id.clone(), (i, o.order_ref.clone())).is_none(), "order_id {id} is in two books");
        }
        for row in book.outbox(0, 1_000_000).unwrap() {
            let kind = EventKind::parse(&row.kind).unwrap();
            let payload = EventPayload::from_value(kind, row.payload.clone()).unwrap();
            match &payload {
                EventPayload::OrderItemStatusChanged(_) => item_events += 1,
                EventPayload::OrderStatusChanged(s) if s.to == "cancelled" && s.actor == "system" => auto_cancelled += 1,
                EventPayload::OrderStatusChanged(s) if s.to == "cancelled" => cancels += 1,
                EventPayload::OrderStatusChanged(s) if s.to == "completed" && s.actor == "system" => auto_completed += 1,
                _ => {}
            }
            for d in payload.stock_deltas() {
                if d.reason == StockReason::Count {
                    counts_made += 1;
                }
                deltas.entry((t.store.clone(), d.location.clone(), d.sku.clone())).or_default().push(Move::from_delta(d));
            }
        }
    }
    eprintln!(
        "chaos ({db}): {} orders in the books; {counts_made} counts, {item_events} item moves, {cancels} cancellations, \
         {auto_completed} orders completed and {auto_cancelled} cancelled by their items",
        book_orders.len()
    );
    assert!(book_orders.len() >= 300, "at least 300 orders: {}", book_orders.len());
    assert!(counts_made > 0, "no stock was counted");
    assert!(item_events > 0 && cancels > 0, "no item moved or no order was cancelled");
    assert!(auto_completed > 0, "no order completed by itself when its items were final");

    // The server holds exactly the books' orders: none missing, none twice.
    let listed = admin.orders().await;
    let mut server_ids = BTreeSet::new();
    for o in &listed {
        let id = o["order_id"].as_str().unwrap_or_else(|| panic!("an order without order_id: {o}")).to_string();
        assert!(server_ids.insert(id.clone()), "order {id} is listed twice: {o}");
    }
    let book_ids: BTreeSet<String> = book_orders.keys().cloned().collect();
    let missing: Vec<_> = book_ids.difference(&server_ids).map(|id| &book_orders[id]).collect();
    let extra: Vec<_> = server_ids.difference(&book_ids).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing on the server: {missing:?}; unknown to the books: {extra:?}");
    for code in ["main", SECOND_STORE] {
        let v = admin.get(&format!("/v1/admin/orders?limit=1000&store={code}")).await;
        let ids: BTreeSet<String> =
            v["orders"].as_array().unwrap().iter().map(|o| o["order_id"].as_str().unwrap().to_string()).collect();
        let want: BTreeSet<String> =
            book_orders.iter().filter(|(_, (i, _))| terms[*i].store == code).map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, want, "the orders of store {code}");
    }

    // Every order the same on both sides: ref, terminal, store, status, totals, lines.
    let mut new_price_seen = 0;
    for (t, book) in terms.iter().zip(&books) {
        let terminal_id = book.settings().terminal_id.to_string();
        // Once a till has sold at the new price, it never sells at the old one again.
        let mut sold_new = false;
        let mut orders = book.orders(None, 1_000_000).unwrap();
        orders.reverse();
        for o in orders {
            let view = book.order(&o.order_ref).unwrap();
            let detail = admin.get(&format!("/v1/admin/orders/{}", o.order_id)).await;
            let want = check::book_order(&view, &terminal_id, &t.store);
            let got = check::server_order(&detail);
            assert_eq!(got, want, "{}: order {} ({}) differs on the server", t.name, o.order_ref, o.order_id);
            for l in view.lines.iter().filter(|l| l.sku == PRICE_SKU) {
                match l.unit_price_q {
                    NEW_PRICE => {
                        sold_new = true;
                        new_price_seen += 1;
                    }
                    OLD_PRICE => assert!(!sold_new, "{}: {} sold at the old price after the new one", t.name, o.order_ref),
                    other => panic!("{}: {} sold {PRICE_SKU} at {other}", t.name, o.order_ref),
                }
            }
        }
    }
    assert!(new_price_seen > 0, "no order carries the new price of {PRICE_SKU}");

    // Money: per store, the server's daily reports add up to the books' tenders, refunds and
    // taxes, exactly.
    let with_store: Vec<(&Book, &str)> = books.iter().zip(&terms).map(|(b, t)| (b, t.store.as_str())).collect();
    money::check(&admin, &with_store, db).await;
    // Shifts: every book's shifts, with the same figures at the server.
    shifts::check(&admin, &with_store, db).await;

    // Each (store, SKU) on-hand is the count rule over the opening stock and every delta the
    // terminals wrote, once.
    let stock = admin.stock(None).await;
    let keys: BTreeSet<_> = deltas.keys().chain(stock.keys()).cloned().collect();
    for key in keys {
        let want = deltas.get(&key).map(|m| count_rule(m)).unwrap_or(0);
        assert_eq!(stock.get(&key).copied().unwrap_or(0), want, "on-hand of {key:?} ({} movements)", deltas.get(&key).map_or(0, |m| m.len()));
    }
    for code in ["main", SECOND_STORE] {
        let want: BTreeMap<_, _> = stock.iter().filter(|(k, _)| k.0 == code).map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(admin.stock(Some(code)).await, want, "the stock of store {code}");
    }

    // The unique item: a conflict on the server iff two live orders of one store sold it (an
    // order cancelled or fully refunded holds nothing).
    let mut live_sales: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (t, book) in terms.iter().zip(&books) {
        for o in book.orders(None, 1_000_000).unwrap() {
            if o.status == "cancelled" || o.status == "refunded" {
                continue;
            }
            let view = book.order(&o.order_ref).unwrap();
            if view.lines.iter().any(|l| l.sku == UNIQUE_SKU && l.item_status.as_deref() != Some("cancelled")) {
                live_sales.entry(t.store.clone()).or_default().insert(o.order_id.to_string());
            }
        }
    }
    let alerts = admin.get("/v1/admin/alerts").await;
    let conflicts: Vec<&Value> = alerts["conflicts"].as_array().unwrap().iter().filter(|c| c["sku"] == UNIQUE_SKU).collect();
    eprintln!("chaos ({db}): live sales of the unique item by store {live_sales:?}; conflicts {conflicts:?}");
    let want: BTreeMap<&String, &BTreeSet<String>> = live_sales.iter().filter(|(_, ids)| ids.len() > 1).collect();
    let got: BTreeMap<String, BTreeSet<String>> = conflicts
        .iter()
        .map(|c| {
            let ids = c["order_ids"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect();
            (c["store"].as_str().unwrap().to_string(), ids)
        })
        .collect();
    assert_eq!(got.len(), conflicts.len(), "one conflict per store and item: {alerts}");
    let got: BTreeMap<&String, &BTreeSet<String>> = got.iter().collect();
    assert_eq!(got, want, "unique-item conflicts (store → live orders that sold it): {alerts}");
    assert_eq!(alerts["rejected"].as_array().unwrap().len(), 0, "{alerts}");

    // Rule 9: once a terminal has pulled to the head, its view of stock is the server's.
    for (t, book) in terms.iter().zip(books.iter_mut()) {
        tillbook_sync::run(book, &options).await.unwrap_or_else(|e| panic!("{}: {e}", t.name));
        for level in book.stock(None).unwrap() {
            let key = (t.store.clone(), level.location.clone(), level.sku.clone());
            assert_eq!(level.on_hand, stock.get(&key).copied().unwrap_or(0), "{}: on-hand of {key:?}", t.name);
        }
    }

    // The server agrees on each terminal's cursor and recorded no rejection.
    let listed = admin.get("/v1/admin/terminals").await;
    for (t, book) in terms.iter().zip(&books) {
        let id = book.settings().terminal_id.to_string();
        let row = listed["terminals"].as_array().unwrap().iter().find(|r| r["terminal_id"] == id.as_str()).unwrap();
        let s = book.sync_status().unwrap();
        assert_eq!(row["last_applied_seq"].as_i64().unwrap(), s.last_seq - s.seq_base, "{}: {row}", t.name);
        assert_eq!(row["rejected"].as_i64().unwrap(), 0, "{}: {row}", t.name);
    }
    drop(proxy);
    server.kill();
    eprintln!("chaos ({db}): done in {:.1}s", started.elapsed().as_secs_f64());
}
