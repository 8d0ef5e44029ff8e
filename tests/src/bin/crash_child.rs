//! The process `it::crash` kills at random moments.
//!
//! Usage: `crash_child BOOK_PATH`. Opens the book and rings up orders forever: a session,
//! 1–5 `add_line`s of SKUs A/B/C (the catalog of `support::stocked_book`), a commit with the
//! idempotency key `k-<n>`, where `n` starts at the number of orders already in the book. After
//! each successful commit it prints `committed <order_ref> <line_count>` and flushes, so every
//! line the parent reads names an order that was durable before the line was written.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use rand::Rng;
use tillbook_orderbook::{Book, CommitOptions};

const SKUS: [&str; 3] = ["A", "B", "C"];

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: crash_child BOOK_PATH");
        return ExitCode::from(2);
    };
    let mut book = match Book::open(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("crash_child: open {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let mut n: i64 = match book.connection().query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("crash_child: counting orders: {e}");
            return ExitCode::from(1);
        }
    };
    let mut rng = rand::rng();
    let stdout = std::io::stdout();
    loop {
        let result = (|| {
            let session = book.open_session(None, None)?;
            let key = session.session_key;
            // add_line merges a repeated SKU into its line, so count distinct line ids.
            let mut line_ids = BTreeSet::new();
            for _ in 0..rng.random_range(1..=5) {
                let sku = SKUS[rng.random_range(0..SKUS.len())];
                let line = book.add_line(&key, sku, rng.random_range(1..=3), None)?;
                line_ids.insert(line.line_id);
            }
            let out = book.commit(&key, &format!("k-{n}"), CommitOptions::default())?;
            Ok::<_, tillbook_orderbook::Error>((out, line_ids.len()))
        })();
        match result {
            Ok((out, _)) if out.replayed => {
                eprintln!("crash_child: key k-{n} was replayed as {}: the order count is off", out.order_ref);
                return ExitCode::from(1);
            }
            Ok((out, lines)) => {
                n += 1;
                let mut lock = stdout.lock();
                // A closed pipe means the parent is gone: stop quietly.
                if writeln!(lock, "committed {} {lines}", out.order_ref).and_then(|_| lock.flush()).is_err() {
                    return ExitCode::SUCCESS;
                }
            }
            Err(e) => {
                eprintln!("crash_child: {e}");
                return ExitCode::from(1);
            }
        }
    }
}
