//! A terminal process of `it::chaos`: rings up orders, moves their items, cancels, adjusts
//! and counts stock, tries to sell the one unique item, and syncs, until it is killed.
//!
//! Usage: `chaos_terminal BOOK_PATH ORDERS SEED PACE_MS [UNIQUE_SKU]`. The book is created and
//! enrolled by the test beforehand. The process rings up orders (1–3 lines of the demo SKUs,
//! quantity 1–3) with the idempotency key `o-<n>`, where `n` is the number of `o-` orders
//! already in the book, so a restarted process goes on where the killed one stopped. Around
//! each order, at random:
//! - now and then the unique item (`UNIQUE_SKU`) joins the basket; the book may refuse it
//!   (`unique_unavailable`, `blocking_issues`…: it is sold or reserved, or not pulled yet),
//!   and the order is then rung without it;
//! - about one order in ten is cancelled right away, and now and then an older open order;
//! - a few item-status moves on open orders (processing → ready → delivered, sometimes an
//!   item cancelled; an order whose items are all final completes, or is cancelled, by itself);
//! - a stock receiving or adjustment, or a count of a demo SKU;
//! - most orders that are not cancelled right away are paid: exact or rounded-up cash, a test
//!   card (sometimes declined first, then paid with the good card), or a split of `pix` and
//!   cash; now and then a paid order is refunded, in part by amount or by a line with its stock
//!   back (an order fully refunded is `refunded`);
//! - the cash drawer: the book always has a shift open (a starting process opens one if the
//!   last was closed); now and then cash goes in, or out, and the shift is closed with a count
//!   close to what is expected and a new one opened with another float.
//!
//! Refunds and cash out need a manager's approval: once the back office's manager
//! ([`MANAGER_PIN`]) has been pulled, the process offers that PIN for them; before, it skips them.
//!
//! Every few orders it runs a sync with small pages and few attempts; a server it cannot
//! reach is normal (the book keeps the queue). Once the book holds ORDERS `o-` orders it
//! prints `rung ORDERS` and keeps syncing every few hundred milliseconds, forever. A starting
//! process abandons the sessions a killed one left open (a till that restarts does the same).
//!
//! Every line is flushed as soon as it is true:
//! - `committed REF`: the order is durable in the book;
//! - `unique sold REF` or `unique refused CODE`;
//! - `cancelled REF`;
//! - `paid REF METHODS…`, `declined REF CODE`, `refunded REF AMOUNT`;
//! - `shift opened ID`, `shift closed ID`, `cash in AMOUNT`, `cash out AMOUNT`;
//! - `item REF LINE STATUS`;
//! - `adjusted SKU DELTA REASON`, `counted SKU QTY`;
//! - `sync start`, then `sync ok PUSHED PULLED` or `sync err CODE MESSAGE`;
//! - `rung N`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tillbook_orderbook::{Book, CashMoveKind, CommitOptions, ErrorCode, PayOptions, RefundBy, RefundRequest, Role, Tender};
use tillbook_protocol::events::StockReason;

/// The PIN of the manager the chaos test creates in the back office.
pub const MANAGER_PIN: &str = "2468";

const SKUS: [&str; 6] = ["ESPRESSO", "CAPPUCCINO", "LATTE", "CROISSANT", "PAIN_AU_CHOCOLAT", "CARROT_CAKE"];
/// Order statuses that end an order (the default in-store flow).
const FINAL: [&str; 3] = ["completed", "cancelled", "refunded"];

/// Prints one line and flushes it; a closed pipe means the parent is gone.
fn say(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
}

/// `Err(None)`: the parent is gone, stop quietly; `Err(Some(why))`: a fault of the book.
type Step<T> = Result<T, Option<String>>;

fn tell(line: &str) -> Step<()> {
    if say(line) {
        Ok(())
    } else {
        Err(None)
    }
}

fn fault<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Option<String> + '_ {
    move |e| Some(format!("{what}: {e}"))
}

fn rung(book: &Book) -> tillbook_orderbook::Result<i64> {
    Ok(book.connection().query_row("SELECT COUNT(*) FROM orders WHERE idempotency_key LIKE 'o-%'", [], |r| r.get(0))?)
}

/// Rings order `o-n`, with the unique item when `unique` names it; prints what happened.
fn ring(book: &mut Book, rng: &mut StdRng, n: i64, unique: Option<&str>) -> Step<String> {
    let session = book.open_session(None, None).map_err(fault("open session"))?.session_key;
    for _ in 0..rng.random_range(1..=3) {
        let sku = SKUS[rng.random_range(0..SKUS.len())];
        book.add_line(&session, sku, rng.random_range(1..=3), None).map_err(fault("add line"))?;
    }
    let mut unique_line = None;
    if let Some(sku) = unique {
        match book.add_line(&session, sku, 1, None) {
            Ok(line) => unique_line = Some(line.line_id),
            Err(e) => tell(&format!("unique refused {}", e.code.as_str()))?,
        }
    }
    let key = format!("o-{n}");
    let out = match book.commit(&session, &key, CommitOptions::default()) {
        Ok(out) => out,
        Err(e)
            if unique_line.is_some()
                && matches!(e.code, ErrorCode::BlockingIssues | ErrorCode::UniqueUnavailable | ErrorCode::HoldExpired) =>
        {
            // Sold or reserved elsewhere since it joined the basket: ring the rest.
            tell(&format!("unique refused {}", e.code.as_str()))?;
            book.remove_line(&session, unique_line.as_deref().unwrap()).map_err(fault("remove unique line"))?;
            unique_line = None;
            book.commit(&session, &key, CommitOptions::default()).map_err(fault("commit without the unique item"))?
        }
        Err(e) => return Err(Some(format!("commit {key}: {e}"))),
    };
    tell(&format!("committed {}", out.order_ref))?;
    if unique_line.is_some() {
        tell(&format!("unique sold {}", out.order_ref))?;
    }
    Ok(out.order_ref)
}

/// Pays a new order one of several ways (see the module).
fn pay(book: &mut Book, rng: &mut StdRng, order_ref: &str) -> Step<()> {
    let total = book.order(order_ref).map_err(fault("read order to pay"))?.total_q;
    let card = |number: &str| Tender::Card { number: number.to_string(), amount_q: None };
    let tenders = match rng.random_range(0..4) {
        0 => vec![Tender::Cash { tendered_q: total }],
        1 => vec![Tender::Cash { tendered_q: (total / 1000 + 1) * 1000 }],
        2 => {
            if rng.random_bool(0.3) {
                let bad = ["4000000000000002", "4000000000009995", "4000000000000069"][rng.random_range(0..3)];
                let out = book.pay(order_ref, &[card(bad)], PayOptions::default()).map_err(fault(&format!("pay {order_ref}")))?;
                let code = out.declined.map(|d| d.code).unwrap_or_default();
                tell(&format!("declined {order_ref} {code}"))?;
            }
            vec![card("4242424242424242")]
        }
        _ => {
            let part = rng.random_range(1..=total.max(2) - 1);
            vec![Tender::Method { name: "pix".into(), amount_q: Some(part) }, Tender::Cash { tendered_q: total }]
        }
    };
    let out = book.pay(order_ref, &tenders, PayOptions::default()).map_err(fault(&format!("pay {order_ref}")))?;
    if out.declined.is_some() || out.amount_due_q != 0 {
        return Err(Some(format!("{order_ref} is not paid: {out:?}")));
    }
    let methods: Vec<&str> = out.payments.iter().map(|p| p.method.as_str()).collect();
    tell(&format!("paid {order_ref} {}", methods.join(" ")))
}

/// Refunds part of a random paid order: an amount, or one unit of a line with its stock back.
fn refund(book: &mut Book, rng: &mut StdRng, key: &str) -> Step<()> {
    let paid: Vec<String> = book
        .orders(None, 200)
        .map_err(fault("list orders"))?
        .into_iter()
        .filter(|o| o.status != "cancelled" && o.status != "refunded")
        .map(|o| o.order_ref)
        .collect();
    let Some(order_ref) = paid.get(rng.random_range(0..paid.len().max(1))) else { return Ok(()) };
    let view = book.order(order_ref).map_err(fault("read order to refund"))?;
    let left = view.paid_q - view.refunded_q;
    if left <= 0 {
        return Ok(());
    }
    let by_line = view.lines.iter().find(|l| l.qty > l.refunded_qty);
    let (by, restock) = match by_line {
        Some(l) if rng.random_bool(0.5) => (RefundBy::Lines(vec![(l.line_no, 1)]), true),
        _ => (RefundBy::Amount(rng.random_range(1..=left)), false),
    };
    let request = RefundRequest {
        by,
        restock,
        idempotency_key: key.to_string(),
        actor: "chaos".into(),
        reason: Some("chaos".into()),
    };
    if !approve(book)? {
        return Ok(());
    }
    let refunded = book.refund(order_ref, request);
    book.set_approval_pin(None);
    match refunded {
        Ok(out) => tell(&format!("refunded {order_ref} {}", out.refund.amount_q)),
        // The line's money may be more than what is left to refund after refunds by amount.
        Err(e) if e.code == ErrorCode::RefundExceedsPaid => Ok(()),
        Err(e) => Err(Some(format!("refund {order_ref}: {e}"))),
    }
}

/// Offers the back office manager's PIN for the next action, once that manager has been pulled;
/// `false` before (the action is skipped).
fn approve(book: &mut Book) -> Step<bool> {
    let staff = book.staff_list().map_err(fault("list staff"))?;
    let pulled = staff.iter().any(|s| s.active && s.origin == "server" && s.role == Role::Manager);
    if pulled {
        book.set_approval_pin(Some(MANAGER_PIN.to_string()));
    }
    Ok(pulled)
}

/// Opens a shift when none is: a starting process, or after a close.
fn ensure_shift(book: &mut Book, rng: &mut StdRng) -> Step<()> {
    if book.current_shift().map_err(fault("current shift"))?.is_none() {
        let v = book.open_shift(rng.random_range(50..=200) * 100).map_err(fault("open shift"))?;
        tell(&format!("shift opened {}", v.shift_id))?;
    }
    Ok(())
}

/// Cash in, cash out (with the manager's approval), or the shift closed with a count close to
/// what is expected (within the threshold that needs no approval) and a new one opened.
fn drawer(book: &mut Book, rng: &mut StdRng) -> Step<()> {
    let expected = book.x_report().map_err(fault("x-report"))?.expected_cash_q;
    match rng.random_range(0..3) {
        0 => {
            let amount = rng.random_range(1..=40) * 50;
            book.cash_move(CashMoveKind::In, amount, "change from the safe").map_err(fault("cash in"))?;
            tell(&format!("cash in {amount}"))
        }
        1 if expected > 0 => {
            if !approve(book)? {
                return Ok(());
            }
            let amount = rng.random_range(1..=expected.min(5000));
            let moved = book.cash_move(CashMoveKind::Out, amount, "bank drop");
            book.set_approval_pin(None);
            moved.map_err(fault("cash out"))?;
            tell(&format!("cash out {amount}"))
        }
        _ => {
            let counted = (expected + rng.random_range(-300..=300)).max(0);
            let closed = book.close_shift(counted).map_err(fault("close shift"))?;
            tell(&format!("shift closed {}", closed.shift.shift_id))?;
            ensure_shift(book, rng)
        }
    }
}

/// Refs of the book's open (not final) orders, newest first.
fn open_orders(book: &Book) -> Step<Vec<String>> {
    let orders = book.orders(None, 200).map_err(fault("list orders"))?;
    Ok(orders.into_iter().filter(|o| !FINAL.contains(&o.status.as_str())).map(|o| o.order_ref).collect())
}

/// Moves one item of a random open order one step along processing → ready → delivered,
/// or cancels it.
fn move_item(book: &mut Book, rng: &mut StdRng) -> Step<()> {
    let open = open_orders(book)?;
    if open.is_empty() {
        return Ok(());
    }
    let order_ref = &open[rng.random_range(0..open.len())];
    let view = book.order(order_ref).map_err(fault("read order"))?;
    let movable: Vec<_> =
        view.lines.iter().filter(|l| !matches!(l.item_status.as_deref(), Some("delivered" | "cancelled"))).collect();
    if movable.is_empty() {
        return Ok(());
    }
    let line = movable[rng.random_range(0..movable.len())];
    let cancel = rng.random_bool(0.1);
    let to = match (line.item_status.as_deref(), cancel) {
        (_, true) => "cancelled",
        (None, false) => "processing",
        (Some("processing"), false) => "ready",
        (_, false) => "delivered",
    };
    let what = format!("item {order_ref}/{}", line.line_no);
    match book.set_item_status(order_ref, line.line_no, to, "kitchen") {
        Ok(_) => {}
        // The last item of a paid order cancelled cancels the order: a manager's approval.
        Err(e) if e.code == ErrorCode::PermissionDenied => {
            if !approve(book)? {
                return Ok(());
            }
            let moved = book.set_item_status(order_ref, line.line_no, to, "kitchen");
            book.set_approval_pin(None);
            moved.map_err(fault(&what))?;
        }
        Err(e) => return Err(fault(&what)(e)),
    }
    tell(&format!("item {order_ref} {} {to}", line.line_no))
}

/// A receiving, an adjustment or a count of a random demo SKU.
fn touch_stock(book: &mut Book, rng: &mut StdRng) -> Step<()> {
    let sku = SKUS[rng.random_range(0..SKUS.len())];
    match rng.random_range(0..3) {
        0 => {
            let delta = rng.random_range(5..=20);
            book.adjust_stock(sku, delta, StockReason::Receiving, "delivery").map_err(fault("receiving"))?;
            tell(&format!("adjusted {sku} {delta} receiving"))
        }
        1 => {
            let delta = if rng.random_bool(0.5) { rng.random_range(1..=3) } else { -rng.random_range(1..=3) };
            book.adjust_stock(sku, delta, StockReason::Adjustment, "breakage").map_err(fault("adjustment"))?;
            tell(&format!("adjusted {sku} {delta} adjustment"))
        }
        _ => {
            let counted = rng.random_range(20..=80);
            book.adjust_stock(sku, counted, StockReason::Count, "shelf count").map_err(fault("count"))?;
            tell(&format!("counted {sku} {counted}"))
        }
    }
}

fn sync_options(rng: &mut StdRng) -> tillbook_sync::Options {
    tillbook_sync::Options {
        push_page: rng.random_range(1..=8),
        pull_page: rng.random_range(1..=20),
        attempts: 2,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

/// One sync; only a book fault is an error (a sync fault is reported and left to the test).
async fn sync(book: &mut Book, rng: &mut StdRng) -> Step<()> {
    tell("sync start")?;
    let line = match tillbook_sync::run(book, &sync_options(rng)).await {
        Ok(r) => format!("sync ok {} {}", r.pushed, r.pulled),
        Err(e) => format!("sync err {} {}", e.code, e.message.replace('\n', " ")),
    };
    tell(&line)
}

async fn main_loop(path: PathBuf, orders: i64, seed: u64, pace: Duration, unique: Option<String>) -> Step<()> {
    let mut book = Book::open(&path).map_err(fault(&format!("open {}", path.display())))?;
    for s in book.sessions(Some("open")).map_err(fault("list sessions"))? {
        book.abandon_session(&s.session_key).map_err(fault("abandon session"))?;
    }
    let mut n = rung(&book).map_err(fault("counting orders"))?;
    // A restarted process takes another path through the random choices.
    let mut rng = StdRng::seed_from_u64(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut until_sync = rng.random_range(1..=4);
    ensure_shift(&mut book, &mut rng)?;
    while n < orders {
        let with_unique = unique.as_deref().filter(|_| rng.random_bool(0.06));
        let order_ref = ring(&mut book, &mut rng, n, with_unique)?;
        n += 1;
        if rng.random_bool(0.1) {
            book.cancel_order(&order_ref, "chaos", Some("changed their mind")).map_err(fault(&format!("cancel {order_ref}")))?;
            tell(&format!("cancelled {order_ref}"))?;
        } else if rng.random_bool(0.8) {
            pay(&mut book, &mut rng, &order_ref)?;
        }
        if rng.random_bool(0.08) {
            let key = format!("r-{n}-{}", rng.random::<u32>());
            refund(&mut book, &mut rng, &key)?;
        }
        if rng.random_bool(0.03) {
            // An order nobody paid for is the one a customer left without.
            let open: Vec<String> =
                open_orders(&book)?.into_iter().filter(|r| book.order(r).is_ok_and(|v| v.paid_q == 0)).collect();
            if let Some(old) = open.get(rng.random_range(0..open.len().max(1))) {
                book.cancel_order(old, "chaos", Some("left without it")).map_err(fault(&format!("cancel {old}")))?;
                tell(&format!("cancelled {old}"))?;
            }
        }
        if rng.random_bool(0.6) {
            for _ in 0..rng.random_range(1..=3) {
                move_item(&mut book, &mut rng)?;
            }
        }
        if rng.random_bool(0.15) {
            touch_stock(&mut book, &mut rng)?;
        }
        if rng.random_bool(0.08) {
            drawer(&mut book, &mut rng)?;
        }
        until_sync -= 1;
        if until_sync == 0 {
            until_sync = rng.random_range(1..=4);
            sync(&mut book, &mut rng).await?;
        }
        if !pace.is_zero() {
            let ms = pace.as_millis() as u64;
            tokio::time::sleep(Duration::from_millis(rng.random_range(ms / 2..=ms + ms / 2))).await;
        }
    }
    tell(&format!("rung {orders}"))?;
    loop {
        sync(&mut book, &mut rng).await?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..=400))).await;
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let parsed = (|| {
        let path = PathBuf::from(args.get(1)?);
        let orders: i64 = args.get(2)?.parse().ok()?;
        let seed: u64 = args.get(3)?.parse().ok()?;
        let pace: u64 = args.get(4)?.parse().ok()?;
        let unique = args.get(5).cloned();
        Some((path, orders, seed, Duration::from_millis(pace), unique))
    })();
    let Some((path, orders, seed, pace, unique)) = parsed else {
        eprintln!("usage: chaos_terminal BOOK_PATH ORDERS SEED PACE_MS [UNIQUE_SKU]");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos_terminal: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(main_loop(path, orders, seed, pace, unique)) {
        Ok(()) | Err(None) => ExitCode::SUCCESS,
        Err(Some(e)) => {
            eprintln!("chaos_terminal: {e}");
            ExitCode::from(1)
        }
    }
}
