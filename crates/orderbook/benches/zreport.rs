//! The X-/Z-report over a big shift, beside plain SQL sums over the same rows.
//!
//! `cargo bench -p tillbook-orderbook --bench zreport [-- --quick]` (or `TILLBOOK_BENCH_QUICK=1`).
//!
//! A book gets one open shift (through the book) holding 10,000 orders of 3 lines each, with
//! their per-rate taxes, one payment each (cash with change, card with a fee, or pix; every 20th
//! order also a declined card first), every 50th order cancelled and every 40th partly refunded.
//! They are written with plain SQL in one transaction (a ring-up per order through the book
//! would take minutes of fsyncs), with the book's columns as a commit fills them.
//!
//! Then, on the same connection and in the same run:
//! - **X-report**: `Book::x_report()`, the whole figures of the open shift (every statement of
//!   `shift::figures`), timed over several runs; the median is printed (target: < 100 ms).
//! - **Plain SUMs**: `SUM(total_q)` of the shift's orders, `SUM(total_q)` of their lines (join)
//!   and `SUM(amount_q)` of the shift's approved payments: the least any report over these rows
//!   reads.

use std::time::{Duration, Instant};

use rusqlite::params;
use tillbook_orderbook::{Book, InitOptions, OversellPolicy, ProductRecord, BOOK_FILE};

const SKUS: [(&str, &str, i64, &str); 5] = [
    ("P1", "Espresso", 500, "Coffee"),
    ("P2", "Latte", 750, "Coffee"),
    ("P3", "Croissant", 650, "Bakery"),
    ("P4", "Carrot Cake", 800, "Bakery"),
    ("P5", "Juice", 900, "Drinks"),
];

struct Args {
    orders: usize,
    runs: usize,
}

fn args() -> Args {
    let quick = std::env::args().skip(1).any(|a| a == "--quick")
        || std::env::var("TILLBOOK_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    if quick {
        Args { orders: 1_000, runs: 3 }
    } else {
        Args { orders: 10_000, runs: 21 }
    }
}

fn product(sku: &str, name: &str, price_q: i64, category: &str) -> ProductRecord {
    ProductRecord {
        sku: sku.into(),
        name: name.into(),
        price_q,
        currency: None,
        category: Some(category.into()),
        barcodes: vec![],
        active: true,
        parent_sku: None,
        variant: None,
        unique: false,
        oversell: OversellPolicy::Allow,
        tax_rate_bp: None,
    }
}

/// Writes the shift's orders, lines, taxes, payments and refunds in one transaction.
fn fill(book: &Book, shift_id: &str, orders: usize) {
    let conn = book.connection();
    let tx = conn.unchecked_transaction().expect("tx");
    let day = "2026-03-01";
    let mut order = tx
        .prepare(
            "INSERT INTO orders(order_ref, ref_seq, session_key, idempotency_key, channel, status, currency, subtotal_q,
                 discount_q, total_q, item_count, business_date, committed_at, order_id, tax_mode, tax_q, paid_q,
                 refunded_q, shift_id, staff_id, actor)
             VALUES (?1, ?2, ?1, ?1, 'pos', ?3, 'BRL', ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'inclusive', ?11, ?12, ?13, ?14, 'bench', 'Bench')",
        )
        .unwrap();
    let mut line = tx
        .prepare(
            "INSERT INTO order_lines(order_ref, line_no, sku, name, unit_price_q, qty, discount_q, total_q, is_unique,
                 product_active, tax_rate_bp, order_discount_q, tax_q, category)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, 0, 1, ?8, ?9, ?10, ?11)",
        )
        .unwrap();
    let mut taxes = tx
        .prepare("INSERT INTO order_taxes(order_ref, rate_bp, base_q, tax_q, gross_q) VALUES (?1, ?2, ?3, ?4, ?5)")
        .unwrap();
    let mut payment = tx
        .prepare(
            "INSERT INTO payments(payment_id, order_ref, method, outcome, decline_code, amount_q, tendered_q, change_q,
                 rounding_q, fee_q, business_date, at, actor, shift_id, staff_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, 'Bench', ?12, 'bench')",
        )
        .unwrap();
    let mut refund = tx
        .prepare(
            "INSERT INTO refunds(refund_id, idempotency_key, order_ref, amount_q, request, business_date, at, actor, shift_id)
             VALUES (?1, ?1, ?2, ?3, '{}', ?4, ?5, 'Bench', ?6)",
        )
        .unwrap();
    let mut refund_tender = tx
        .prepare("INSERT INTO refund_tenders(refund_id, payment_id, method, amount_q) VALUES (?1, ?2, ?3, ?4)")
        .unwrap();
    for n in 0..orders {
        let order_ref = format!("ORD-20260301-T01-{:05}", n + 1);
        let at = format!("2026-03-01T{:02}:{:02}:{:02}.{:06}Z", 8 + n / 3600 % 12, n / 60 % 60, n % 60, n % 1_000_000);
        // Three lines; the rate is the category's: Coffee 18 %, Bakery 7 %, Drinks 12 %.
        let mut total = 0;
        let mut by_rate: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        let mut rows = Vec::new();
        for l in 0..3 {
            let (sku, name, price, category) = SKUS[(n + l * 2) % SKUS.len()];
            let qty = 1 + ((n + l) % 3) as i64;
            let gross = price * qty;
            let rate = match category {
                "Coffee" => 1800,
                "Bakery" => 700,
                _ => 1200,
            };
            let tax = (gross * rate + (10_000 + rate) / 2) / (10_000 + rate);
            total += gross;
            let e = by_rate.entry(rate).or_default();
            (e.0, e.1) = (e.0 + gross, e.1 + tax);
            rows.push((l + 1, sku, name, price, qty, gross, rate, tax, category));
        }
        let tax_q: i64 = by_rate.values().map(|v| v.1).sum();
        let cancelled = n % 50 == 49;
        let status = if cancelled { "cancelled" } else { "completed" };
        let refunded = if n % 40 == 7 { 300 } else { 0 };
        let order_id = uuid::Uuid::now_v7().to_string();
        let items: i64 = rows.iter().map(|r| r.4).sum();
        order
            .execute(params![order_ref, n as i64 + 1, status, total, 0, total, items, day, at, order_id, tax_q, total, refunded, shift_id])
            .unwrap();
        for (no, sku, name, price, qty, gross, rate, tax, category) in rows {
            line.execute(params![order_ref, no as i64, sku, name, price, qty, gross, rate, 0, tax, category]).unwrap();
        }
        for (rate, (gross, tax)) in by_rate {
            taxes.execute(params![order_ref, rate, gross - tax, tax, gross]).unwrap();
        }
        if n % 20 == 3 {
            let id = uuid::Uuid::now_v7().to_string();
            payment
                .execute(params![id, order_ref, "card", "declined", "card_declined", total, total, 0, 0, day, at, shift_id])
                .unwrap();
        }
        let (method, tendered, fee) = match n % 3 {
            0 => ("cash", (total + 999) / 1000 * 1000, 0),
            1 => ("card", total, total * 2 / 100),
            _ => ("pix", total, 10),
        };
        let payment_id = uuid::Uuid::now_v7().to_string();
        payment
            .execute(params![payment_id, order_ref, method, "approved", None::<String>, total, tendered, tendered - total, fee, day, at, shift_id])
            .unwrap();
        if refunded > 0 {
            let refund_id = uuid::Uuid::now_v7().to_string();
            refund.execute(params![refund_id, order_ref, refunded, day, at, shift_id]).unwrap();
            refund_tender.execute(params![refund_id, payment_id, method, refunded]).unwrap();
        }
    }
    drop((order, line, taxes, payment, refund, refund_tender));
    tx.commit().expect("commit");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut book = Book::init(&dir.path().join(BOOK_FILE), InitOptions::default()).expect("init");
    let records: Vec<_> = SKUS.iter().map(|(s, n, p, c)| product(s, n, *p, c)).collect();
    book.upsert_products(&records).expect("products");
    let shift = book.open_shift(50_000).expect("open shift");
    let id = shift.shift_id.to_string();
    let t = Instant::now();
    fill(&book, &id, a.orders);
    println!("wrote a shift of {} orders ({} lines) in {:.0} ms", a.orders, a.orders * 3, ms(t.elapsed()));
    book.connection().execute_batch("ANALYZE").expect("analyze");

    let mut report = Vec::with_capacity(a.runs);
    let mut plain = Vec::with_capacity(a.runs);
    let mut figures = None;
    let mut sums = (0, 0, 0);
    for _ in 0..a.runs {
        let t = Instant::now();
        figures = Some(book.x_report().expect("x_report"));
        report.push(t.elapsed());
        let t = Instant::now();
        let conn = book.connection();
        let tx = conn.unchecked_transaction().expect("tx");
        let orders: i64 = tx.query_row("SELECT SUM(total_q) FROM orders WHERE shift_id = ?1", [&id], |r| r.get(0)).unwrap();
        let lines: i64 = tx
            .query_row(
                "SELECT SUM(l.total_q) FROM orders o JOIN order_lines l ON l.order_ref = o.order_ref WHERE o.shift_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        let paid: i64 = tx.query_row("SELECT SUM(amount_q) FROM payments WHERE shift_id = ?1 AND outcome = 'approved'", [&id], |r| r.get(0)).unwrap();
        tx.finish().unwrap();
        plain.push(t.elapsed());
        sums = (orders, lines, paid);
    }
    let f = figures.expect("ran at least once");
    // The report and the plain sums read the same rows.
    assert_eq!(f.sales_q + f.cancelled_q, sums.0);
    assert_eq!(f.order_count + f.cancelled_count, a.orders as i64);
    assert_eq!(f.tenders.iter().map(|t| t.amount_q).sum::<i64>(), sums.2);
    let (r, p) = (median(report), median(plain));
    println!(
        "x_report over {} orders: median {:.2} ms over {} runs (target < 100 ms): {} products, {} categories, {} rates, {} tenders",
        a.orders,
        ms(r),
        a.runs,
        f.by_product.len(),
        f.by_category.len(),
        f.taxes.len(),
        f.tenders.len()
    );
    println!("plain SUMs (orders, lines, payments) over the same rows: median {:.2} ms", ms(p));
    println!("ratio x_report / plain SUMs: {:.1}x", ms(r) / ms(p).max(1e-6));
    if a.orders >= 10_000 && r > Duration::from_millis(100) {
        println!("WARNING: the X-report took more than the 100 ms target");
    }
}
