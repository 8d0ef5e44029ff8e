//! Commit throughput of the order book against plain rusqlite writing the same rows, and the
//! latency of basket operations.
//!
//! `cargo bench -p tillbook-orderbook --bench commit [-- --quick]` (or `TILLBOOK_BENCH_QUICK=1`).
//!
//! What is compared, and why:
//! - **Book commit**: `Book::commit` of a ready 5-line basket. The session and its 5
//!   `add_line`s are built outside the timed region; only `commit` is timed.
//! - **Raw**: one rusqlite transaction per order, with the book's pragmas (WAL,
//!   synchronous=FULL, foreign_keys=ON), writing the rows a commit writes: 1 `orders`, 5
//!   `order_lines`, 5 `stock_ledger`, 1 `order_events` and 1 `outbox` row with a JSON payload of
//!   the same size, into the same tables with the same indexes.
//!
//!   Both sides pay one fsync per order (one WAL commit), so the ratio shows what the book's own
//!   work costs: reading the session, its checks, the counters, the payload and its hash, and
//!   the rows a raw writer has no need for (releasing the holds, closing the session).
//! - **Full ring-up**: open a session, 5 `add_line`, commit, all timed: 7 transactions (7 fsyncs)
//!   per order, reported on its own (it is not comparable with the raw side).
//! - **Basket operations**: `add_line` and `set_quantity`, each its own transaction; p50/p99.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use tillbook_orderbook::{Book, CommitOptions, InitOptions, OversellPolicy, ProductRecord, StockReason, BOOK_FILE};

const SKUS: [&str; 5] = ["P1", "P2", "P3", "P4", "P5"];
/// Orders per side between switches, so that both sides see the same disk and cache weather.
const CHUNK: usize = 25;

struct Args {
    orders: usize,
    samples: usize,
}

fn args() -> Args {
    let quick = std::env::args().skip(1).any(|a| a == "--quick")
        || std::env::var("TILLBOOK_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    // Everything else cargo or the user passes (`--bench`, filters) is ignored.
    if quick {
        Args { orders: 20, samples: 20 }
    } else {
        Args { orders: 300, samples: 300 }
    }
}

fn product(sku: &str, price_q: i64) -> ProductRecord {
    ProductRecord {
        sku: sku.into(),
        name: format!("Bench product {sku}"),
        price_q,
        currency: None,
        category: Some("Bench".into()),
        barcodes: vec![],
        active: true,
        parent_sku: None,
        variant: None,
        unique: false,
        oversell: OversellPolicy::Allow,
        tax_rate_bp: None,
    }
}

fn new_book(dir: &Path) -> Book {
    let mut book = Book::init(&dir.join(BOOK_FILE), InitOptions::default()).expect("init book");
    let records: Vec<_> = SKUS.iter().enumerate().map(|(i, s)| product(s, 500 + 50 * i as i64)).collect();
    book.upsert_products(&records).expect("products");
    for s in SKUS {
        book.adjust_stock(s, 1_000_000, StockReason::Receiving, "bench").expect("stock");
    }
    // Sales are taken in an open shift.
    book.open_shift(0).expect("open shift");
    book
}

/// A session with 5 lines, ready to commit.
fn basket(book: &mut Book) -> String {
    let key = book.open_session(None, None).expect("open").session_key;
    for (i, sku) in SKUS.iter().enumerate() {
        book.add_line(&key, sku, 1 + (i as i64 % 3), None).expect("add_line");
    }
    key
}

struct BookSide {
    book: Book,
    n: usize,
}

impl BookSide {
    /// Commits one ready basket; returns the time of the commit alone.
    fn commit_ready(&mut self) -> Duration {
        let key = basket(&mut self.book);
        let idem = format!("bench-{}", self.n);
        self.n += 1;
        let t = Instant::now();
        let out = self.book.commit(&key, &idem, CommitOptions::default()).expect("commit");
        let d = t.elapsed();
        assert!(!out.replayed);
        d
    }

    /// One whole ring-up: session, 5 lines, commit.
    fn ring_up(&mut self) -> Duration {
        let t = Instant::now();
        let key = basket(&mut self.book);
        let idem = format!("bench-{}", self.n);
        self.n += 1;
        self.book.commit(&key, &idem, CommitOptions::default()).expect("commit");
        t.elapsed()
    }
}

/// The tables a commit writes, with the book's columns and indexes.
const RAW_SCHEMA: &str = "
CREATE TABLE stock_ledger (
    id INTEGER PRIMARY KEY, delta_id TEXT NOT NULL UNIQUE, sku TEXT NOT NULL, location TEXT NOT NULL,
    delta INTEGER NOT NULL, reason TEXT NOT NULL, source TEXT NOT NULL, at TEXT NOT NULL, outbox_seq INTEGER,
    counted INTEGER
) STRICT;
CREATE INDEX stock_ledger_sku ON stock_ledger(sku, location);
CREATE INDEX stock_ledger_counts ON stock_ledger(sku, location, at) WHERE counted IS NOT NULL;
CREATE TABLE orders (
    order_ref TEXT PRIMARY KEY, ref_seq INTEGER NOT NULL UNIQUE, session_key TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL,
    subtotal_q INTEGER NOT NULL, discount_q INTEGER NOT NULL, total_q INTEGER NOT NULL, item_count INTEGER NOT NULL,
    handle TEXT, note TEXT, business_date TEXT NOT NULL, committed_at TEXT NOT NULL, order_id TEXT,
    tax_mode TEXT, tax_q INTEGER NOT NULL DEFAULT 0, shift_id TEXT, staff_id TEXT, actor TEXT
) STRICT;
CREATE INDEX orders_status ON orders(status);
CREATE UNIQUE INDEX orders_order_id ON orders(order_id);
CREATE INDEX orders_shift ON orders(shift_id, committed_at, order_ref, status, total_q, discount_q, tax_q, tax_mode)
    WHERE shift_id IS NOT NULL;
CREATE TABLE order_lines (
    order_ref TEXT NOT NULL REFERENCES orders(order_ref), line_no INTEGER NOT NULL, sku TEXT NOT NULL,
    name TEXT NOT NULL, unit_price_q INTEGER NOT NULL, qty INTEGER NOT NULL, discount_q INTEGER NOT NULL,
    total_q INTEGER NOT NULL, is_unique INTEGER NOT NULL, product_active INTEGER NOT NULL, item_status TEXT,
    category TEXT, PRIMARY KEY (order_ref, line_no)
) STRICT;
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY, order_ref TEXT NOT NULL REFERENCES orders(order_ref), kind TEXT NOT NULL,
    line_no INTEGER, from_status TEXT, to_status TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT,
    at TEXT NOT NULL, outbox_seq INTEGER
) STRICT;
CREATE INDEX order_events_order ON order_events(order_ref, id);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, payload TEXT NOT NULL,
    payload_hash TEXT NOT NULL, order_ref TEXT, created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'applied', 'rejected')),
    reason TEXT, acked_at TEXT
) STRICT;
CREATE INDEX outbox_order ON outbox(order_ref);
CREATE INDEX outbox_state ON outbox(state, seq);
";

struct RawSide {
    conn: Connection,
    n: i64,
    /// Padding that brings the raw payload to the size of the book's `order.committed` payload.
    pad: String,
}

impl RawSide {
    fn new(path: &Path, payload_len: usize) -> RawSide {
        let conn = Connection::open(path).expect("open raw");
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.execute_batch(RAW_SCHEMA).expect("raw schema");
        let mut raw = RawSide { conn, n: 0, pad: String::new() };
        let base = raw.payload("ORD-20250101-T01-0001", "2025-01-01T00:00:00.000000Z").len();
        raw.pad = "x".repeat(payload_len.saturating_sub(base));
        raw
    }

    fn payload(&self, order_ref: &str, now: &str) -> String {
        let lines: Vec<_> = SKUS
            .iter()
            .enumerate()
            .map(|(i, s)| serde_json::json!({"line_no": i + 1, "sku": s, "name": format!("Bench product {s}"),
                "unit_price_q": 500, "qty": 1, "discount_q": 0, "total_q": 500, "unique": false}))
            .collect();
        serde_json::json!({"order_ref": order_ref, "channel": "pos", "status": "new", "currency": "BRL",
            "subtotal_q": 2500, "discount_q": 0, "total_q": 2500, "committed_at": now, "lines": lines,
            "stock_deltas": [], "pad": self.pad})
        .to_string()
    }

    fn commit(&mut self) -> Duration {
        let t = Instant::now();
        self.n += 1;
        let n = self.n;
        let order_ref = format!("ORD-20250101-T01-{n:04}");
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let payload = self.payload(&order_ref, &now);
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        tx.prepare_cached(
            "INSERT INTO orders(order_ref, ref_seq, session_key, idempotency_key, channel, status, currency,
                                subtotal_q, discount_q, total_q, item_count, handle, note, business_date, committed_at,
                                order_id, tax_mode, shift_id, staff_id, actor)
             VALUES (?1, ?2, ?3, ?4, 'pos', 'new', 'BRL', 2500, 0, 2500, 5, NULL, NULL, '2025-01-01', ?5, ?6,
                     'inclusive', '0190a8f0-0000-7000-8000-5b1f75000000', '0190a8f0-0000-7000-8000-57aff0000000', 'Cashier')",
        )
        .unwrap()
        .execute(params![
            order_ref,
            n,
            format!("0190a8f0-0000-7000-8000-{n:012}"),
            format!("bench-{n}"),
            now,
            format!("0190a8f2-0000-7000-8000-{n:012}")
        ])
        .unwrap();
        {
            let mut line = tx
                .prepare_cached(
                    "INSERT INTO order_lines(order_ref, line_no, sku, name, unit_price_q, qty, discount_q, total_q,
                                             is_unique, product_active, category)
                     VALUES (?1, ?2, ?3, ?4, 500, 1, 0, 500, 0, 1, 'Bench')",
                )
                .unwrap();
            let mut ledger = tx
                .prepare_cached(
                    "INSERT INTO stock_ledger(delta_id, sku, location, delta, reason, source, at, outbox_seq)
                     VALUES (?1, ?2, 'main', -1, 'sale', ?3, ?4, ?5)",
                )
                .unwrap();
            for (i, sku) in SKUS.iter().enumerate() {
                line.execute(params![order_ref, i as i64 + 1, sku, format!("Bench product {sku}")]).unwrap();
                ledger.execute(params![format!("0190a8f0-0000-7000-8{i:03}-{n:012}"), sku, order_ref, now, n]).unwrap();
            }
        }
        tx.prepare_cached(
            "INSERT INTO order_events(order_ref, kind, to_status, actor, at, outbox_seq) VALUES (?1, 'created', 'new', 'till', ?2, ?3)",
        )
        .unwrap()
        .execute(params![order_ref, now, n])
        .unwrap();
        tx.prepare_cached(
            "INSERT INTO outbox(seq, event_id, kind, payload, payload_hash, order_ref, created_at)
             VALUES (?1, ?2, 'order.committed', ?3, ?4, ?5, ?6)",
        )
        .unwrap()
        .execute(params![n, format!("0190a8f1-0000-7000-8000-{n:012}"), payload, format!("{:064x}", n), order_ref, now])
        .unwrap();
        tx.commit().unwrap();
        t.elapsed()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn report_latency(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<28} n={:<5} p50 {:>8.0} us   p99 {:>8.0} us   max {:>8.0} us",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0)
    );
}

fn rate(n: usize, total: Duration) -> f64 {
    n as f64 / total.as_secs_f64()
}

fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("tempdir");
    println!("tillbook commit bench: {} orders per side, {} basket-op samples ({})", args.orders, args.samples, dir.path().display());

    let mut book = BookSide { book: new_book(&dir.path().join("book")), n: 0 };
    std::fs::create_dir_all(dir.path().join("raw")).unwrap();
    // Size the raw payload after a real order.committed payload of a 5-line order.
    book.commit_ready();
    let payload_len = book.book.outbox(0, 1000).unwrap().last().unwrap().payload.to_string().len();
    let mut raw = RawSide::new(&dir.path().join("raw").join("raw.sqlite"), payload_len);

    // Warm up both sides.
    for _ in 0..5 {
        book.commit_ready();
        raw.commit();
    }

    // (a) + (b): commit of a ready basket vs. the raw transaction, interleaved in chunks.
    let (mut book_times, mut raw_times) = (Vec::new(), Vec::new());
    while book_times.len() < args.orders {
        let k = CHUNK.min(args.orders - book_times.len());
        book_times.extend((0..k).map(|_| book.commit_ready()));
        raw_times.extend((0..k).map(|_| raw.commit()));
    }
    let book_rate = rate(book_times.len(), book_times.iter().sum());
    let raw_rate = rate(raw_times.len(), raw_times.iter().sum());

    // Full ring-up.
    let ring: Vec<Duration> = (0..args.orders).map(|_| book.ring_up()).collect();
    let ring_rate = rate(ring.len(), ring.iter().sum());

    // (c) Basket operations, in realistic 5-line baskets.
    let (mut adds, mut set_qty) = (Vec::new(), Vec::new());
    let mut key = String::new();
    let mut lines = Vec::new();
    for i in 0..args.samples {
        if i % SKUS.len() == 0 {
            key = book.book.open_session(None, None).unwrap().session_key;
            lines.clear();
        }
        let t = Instant::now();
        let line = book.book.add_line(&key, SKUS[i % SKUS.len()], 1, None).unwrap();
        adds.push(t.elapsed());
        lines.push(line.line_id);
    }
    for i in 0..args.samples {
        let line = &lines[i % lines.len()];
        let t = Instant::now();
        book.book.set_quantity(&key, line, 1 + (i as i64 % 4)).unwrap();
        set_qty.push(t.elapsed());
    }

    let p50 = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        percentile(&v, 0.5)
    };
    let p50_ratio = p50(&raw_times) / p50(&book_times);

    println!();
    println!("book commit, ready 5-line basket  {book_rate:>9.1} orders/s");
    println!("raw rusqlite, same rows, 1 tx     {raw_rate:>9.1} orders/s");
    println!("ratio book/raw                    {:>9.2}   target >= 0.8", book_rate / raw_rate);
    println!("ratio of p50 latencies raw/book   {p50_ratio:>9.2}   (less sensitive to checkpoints and noisy neighbours)");
    println!("full ring-up (open+5 add+commit)  {ring_rate:>9.1} orders/s   (7 transactions each)");
    println!();
    report_latency("book commit (ready basket)", book_times);
    report_latency("raw commit", raw_times);
    report_latency("full ring-up", ring);
    report_latency("add_line", adds);
    report_latency("set_quantity", set_qty);
    assert!(book.book.integrity_ok().unwrap());
}
