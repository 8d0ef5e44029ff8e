//! A terminal process of `it::chaos`: rings up orders and syncs, until it is killed.
//!
//! Usage: `chaos_terminal BOOK_PATH ORDERS SEED PACE_MS`. The book is created and enrolled
//! by the test beforehand. The process rings up orders (1–3 lines of the demo SKUs, quantity
//! 1–3) with the idempotency key `o-<n>`, where `n` is the number of `o-` orders already in
//! the book, so a restarted process goes on where the killed one stopped; about one order in
//! eight is cancelled right away (a status event that gives stock back). Every few orders it
//! runs a sync with small pages and few attempts; a server it cannot reach is normal (the
//! book keeps the queue). Once the book holds ORDERS `o-` orders it prints `rung ORDERS` and
//! keeps syncing every few hundred milliseconds, forever.
//!
//! Every line is flushed as soon as it is true:
//! - `committed REF`: the order is durable in the book;
//! - `cancelled REF`;
//! - `sync start`, then `sync ok PUSHED PULLED` or `sync err CODE MESSAGE`;
//! - `rung N`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tillbook_orderbook::{Book, CommitOptions};

const SKUS: [&str; 6] = ["ESPRESSO", "CAPPUCCINO", "LATTE", "CROISSANT", "PAIN_AU_CHOCOLAT", "CARROT_CAKE"];

/// Prints one line and flushes it; a closed pipe means the parent is gone.
fn say(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
}

fn rung(book: &Book) -> tillbook_orderbook::Result<i64> {
    Ok(book.connection().query_row("SELECT COUNT(*) FROM orders WHERE idempotency_key LIKE 'o-%'", [], |r| r.get(0))?)
}

fn ring(book: &mut Book, rng: &mut StdRng, n: i64) -> tillbook_orderbook::Result<String> {
    let session = book.open_session(None, None)?.session_key;
    for _ in 0..rng.random_range(1..=3) {
        let sku = SKUS[rng.random_range(0..SKUS.len())];
        book.add_line(&session, sku, rng.random_range(1..=3), None)?;
    }
    let out = book.commit(&session, &format!("o-{n}"), CommitOptions::default())?;
    Ok(out.order_ref)
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
async fn sync(book: &mut Book, rng: &mut StdRng) -> bool {
    if !say("sync start") {
        return false;
    }
    let line = match tillbook_sync::run(book, &sync_options(rng)).await {
        Ok(r) => format!("sync ok {} {}", r.pushed, r.pulled),
        Err(e) => format!("sync err {} {}", e.code, e.message.replace('\n', " ")),
    };
    say(&line)
}

async fn main_loop(path: PathBuf, orders: i64, seed: u64, pace: Duration) -> Result<(), String> {
    let mut book = Book::open(&path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let mut n = rung(&book).map_err(|e| format!("counting orders: {e}"))?;
    // A restarted process takes another path through the random choices.
    let mut rng = StdRng::seed_from_u64(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut until_sync = rng.random_range(1..=4);
    while n < orders {
        let order_ref = ring(&mut book, &mut rng, n).map_err(|e| format!("ringing o-{n}: {e}"))?;
        n += 1;
        if !say(&format!("committed {order_ref}")) {
            return Ok(());
        }
        if rng.random_bool(0.125) {
            book.cancel_order(&order_ref, "chaos", Some("changed their mind")).map_err(|e| format!("cancel {order_ref}: {e}"))?;
            if !say(&format!("cancelled {order_ref}")) {
                return Ok(());
            }
        }
        until_sync -= 1;
        if until_sync == 0 {
            until_sync = rng.random_range(1..=4);
            if !sync(&mut book, &mut rng).await {
                return Ok(());
            }
        }
        if !pace.is_zero() {
            let ms = pace.as_millis() as u64;
            tokio::time::sleep(Duration::from_millis(rng.random_range(ms / 2..=ms + ms / 2))).await;
        }
    }
    if !say(&format!("rung {orders}")) {
        return Ok(());
    }
    loop {
        if !sync(&mut book, &mut rng).await {
            return Ok(());
        }
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
        Some((path, orders, seed, Duration::from_millis(pace)))
    })();
    let Some((path, orders, seed, pace)) = parsed else {
        eprintln!("usage: chaos_terminal BOOK_PATH ORDERS SEED PACE_MS");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos_terminal: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(main_loop(path, orders, seed, pace)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos_terminal: {e}");
            ExitCode::from(1)
        }
    }
}
