//! Crash safety: a child process rings up orders and is killed with SIGKILL at a random
//! moment, over and over, on the same book file. After every kill the book must open, pass
//! `PRAGMA integrity_check`, hold every order the child reported (with its line count), keep a
//! gapless outbox and exactly one `order.committed` outbox row per order.
//!
//! `TILLBOOK_CRASH_ROUNDS` raises the number of rounds (default 25).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rand::Rng;
use tillbook_orderbook::Book;

use crate::support;

/// How long a round waits for the child's first commit before it gives up.
const FIRST_OUTPUT_TIMEOUT: Duration = Duration::from_secs(30);

fn rounds() -> usize {
    std::env::var("TILLBOOK_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(25)
}

/// One reported commit: `committed <order_ref> <line_count>`.
fn parse_report(line: &str) -> (String, usize) {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("committed"), Some(order_ref), Some(lines), None) => {
            (order_ref.to_string(), lines.parse().unwrap_or_else(|_| panic!("bad line count in {line:?}")))
        }
        _ => panic!("unexpected child output {line:?}"),
    }
}

#[test]
fn kill_9_during_commits_loses_nothing_reported_and_corrupts_nothing() {
    let support::TempBook { dir, book } = support::stocked_book(1_000_000);
    let path = dir.path().join(tillbook_orderbook::BOOK_FILE);
    drop(book);

    let mut rng = rand::rng();
    let mut total_reported = 0usize;
    let mut rounds_with_commits = 0usize;
    let mut all_refs = std::collections::BTreeSet::new();

    for round in 0..rounds() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_child"))
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn crash_child");

        // Complete lines only: a line cut by the kill (no newline) is not a report.
        let (tx, rx) = mpsc::channel::<String>();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let reader = thread::spawn(move || loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.ends_with('\n') => {
                    if tx.send(line.trim_end().to_string()).is_err() {
                        break;
                    }
                }
                Ok(_) => break,
            }
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr_reader = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr_pipe.read_to_string(&mut s);
            s
        });

        // Most rounds let the child reach its commit loop before the random kill moment; every
        // fifth round kills from spawn, so some kills land while the book is being opened.
        let mut reports = Vec::new();
        if round % 5 != 4 {
            let start = Instant::now();
            loop {
                match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(line) => {
                        reports.push(line);
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Some(status) = child.try_wait().expect("try_wait") {
                            let err = stderr_reader.join().unwrap_or_default();
                            panic!("round {round}: crash_child exited by itself ({status}) before committing: {err}");
                        }
                        if start.elapsed() > FIRST_OUTPUT_TIMEOUT {
                            let _ = child.kill();
                            let _ = child.wait();
                            panic!("round {round}: crash_child committed nothing in {FIRST_OUTPUT_TIMEOUT:?}");
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let status = child.wait().expect("wait");
                        let err = stderr_reader.join().unwrap_or_default();
                        panic!("round {round}: crash_child closed its stdout ({status}): {err}");
                    }
                }
            }
        }
        // The random kill moment.
        thread::sleep(Duration::from_millis(rng.random_range(20..=300)));
        if let Some(status) = child.try_wait().expect("try_wait") {
            let err = stderr_reader.join().unwrap_or_default();
            panic!("round {round}: crash_child exited by itself ({status}): {err}");
        }
        child.kill().expect("SIGKILL crash_child");
        let status = child.wait().expect("wait for crash_child");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "round {round}: crash_child ended by {status}, not by the kill");
        }
        let _ = status;
        reader.join().expect("stdout reader");
        let _ = stderr_reader.join();
        reports.extend(rx.try_iter());

        let book = Book::open(&path).unwrap_or_else(|e| panic!("round {round}: reopen after kill: {e}"));
        assert!(book.integrity_ok().unwrap(), "round {round}: integrity_check failed after kill");
        for line in &reports {
            let (order_ref, lines) = parse_report(line);
            let order = book.order(&order_ref).unwrap_or_else(|e| panic!("round {round}: reported {order_ref} is gone: {e}"));
            assert_eq!(order.lines.len(), lines, "round {round}: {order_ref} line count");
            assert!(all_refs.insert(order_ref.clone()), "round {round}: {order_ref} reported twice");
        }
        support::assert_outbox_sound(&book);
        let orders = support::assert_one_committed_event_per_order(&book);
        assert!(orders as usize >= all_refs.len(), "round {round}: fewer orders than reported");
        drop(book);

        total_reported += reports.len();
        if !reports.is_empty() {
            rounds_with_commits += 1;
        }
    }

    assert!(total_reported > 0, "crash_child never reported a commit");
    assert!(rounds_with_commits >= rounds() / 2, "only {rounds_with_commits} of {} rounds saw a commit", rounds());
    // Every order in the book, reported or not (a commit can land just before the kill and never
    // be printed), must still be whole.
    let book = Book::open(&path).unwrap();
    let refs: Vec<String> = book
        .connection()
        .prepare("SELECT order_ref FROM orders")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for r in &refs {
        let o = book.order(r).unwrap();
        assert!(!o.lines.is_empty() && o.lines.len() <= 3, "{r} has {} lines", o.lines.len());
        assert_eq!(o.subtotal_q, o.lines.iter().map(|l| l.total_q).sum::<i64>(), "{r} subtotal");
    }
    eprintln!("crash: {} rounds, {total_reported} commits reported, {} orders in the book", rounds(), refs.len());
}
