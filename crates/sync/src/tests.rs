//! The engine against a canned HTTP server on 127.0.0.1: halts are kept in the book, and a
//! round that makes no progress backs off instead of looping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tillbook_orderbook::{Book, InitOptions};
use tillbook_protocol::sync::EnrollResponse;
use tokio::net::{TcpListener, TcpStream};

use crate::{run, watch, Options};

async fn read_request(s: &TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    loop {
        s.readable().await.ok()?;
        let mut chunk = [0u8; 8192];
        match s.try_read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Some(text);
            }
        }
    }
}

async fn write_all(s: &TcpStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        if s.writable().await.is_err() {
            return;
        }
        match s.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

/// A server that answers every push with `push` and every pull with `pull` (status, body).
async fn canned(push: (u16, &'static str), pull: (u16, &'static str)) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let Some(req) = read_request(&s).await else { return };
                seen.fetch_add(1, Ordering::SeqCst);
                let (status, body) = if req.starts_with("POST /v1/sync/push") { push } else { pull };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                write_all(&s, head.as_bytes()).await;
                write_all(&s, body.as_bytes()).await;
            });
        }
    });
    (base, count)
}

fn enrolled_book(dir: &tempfile::TempDir, base: &str) -> Book {
    let mut book = Book::init(&dir.path().join("book.sqlite"), InitOptions { demo: true, ..InitOptions::default() }).unwrap();
    let resp = EnrollResponse {
        terminal_id: uuid::Uuid::now_v7(),
        name: "Till".into(),
        token: "t".into(),
        protocol: tillbook_protocol::PROTOCOL_VERSION,
        store: "main".into(),
        store_name: "Main".into(),
        terminal_code: "T02".into(),
    };
    book.enroll(base, &resp).unwrap();
    // Enrolment ended demo mode (its data is never sent): the first real shift is queued.
    book.open_shift(0).unwrap();
    book
}

fn quick() -> Options {
    Options { attempts: 3, min_delay: Duration::from_millis(5), max_delay: Duration::from_millis(20), ..Options::default() }
}

#[tokio::test]
async fn a_payload_mismatch_halts_the_book_and_it_never_pushes_again() {
    let (base, count) = canned((422, r#"{"code":"payload_mismatch","message":"seq 1 differs"}"#), (500, "{}")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut book = enrolled_book(&dir, &base);
    let e = run(&mut book, &quick()).await.unwrap_err();
    assert_eq!(e.code, "reenroll_required", "{e}");
    let s = book.sync_status().unwrap();
    assert!(s.reenroll_required && s.halted.as_deref().unwrap_or("").contains("seq 1 differs"), "{s:?}");
    assert!(s.pending > 0, "unsynced sales are kept");
    assert_eq!(run(&mut book, &quick()).await.unwrap_err().code, "reenroll_required");
    assert_eq!(count.load(Ordering::SeqCst), 1, "no request after the halt");
}

#[tokio::test]
async fn a_push_that_makes_no_progress_backs_off_instead_of_looping() {
    let (base, count) = canned((200, r#"{"last_applied_seq":0,"results":[],"gap":true}"#), (500, "{}")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut book = enrolled_book(&dir, &base);
    let e = run(&mut book, &quick()).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(count.load(Ordering::SeqCst), 3, "one request per attempt");
    assert!(book.sync_status().unwrap().last_error.is_some());
}

#[tokio::test]
async fn a_watching_till_cancels_orders_left_unpaid_past_the_window() {
    // The server answers 422: the first round ends the watch, after its sweep.
    let (base, _) = canned((422, r#"{"code":"payload_mismatch","message":"seq 1 differs"}"#), (500, "{}")).await;
    let dir = tempfile::tempdir().unwrap();
    let (clock, time) = tillbook_orderbook::Clock::manual(chrono::Utc::now());
    let mut book = enrolled_book(&dir, &base).with_clock(clock);
    let session = book.open_session(None, None).unwrap().session_key;
    book.add_line(&session, "LATTE", 1, None).unwrap();
    let order = book.commit(&session, "k", tillbook_orderbook::CommitOptions::default()).unwrap().order_ref;
    time.advance(chrono::Duration::minutes(14));
    let _ = watch(&mut book, &quick(), Duration::from_millis(10), |_| {}).await;
    assert_eq!(book.order(&order).unwrap().status, "new", "still inside the window");
    time.advance(chrono::Duration::minutes(2));
    let e = watch(&mut book, &quick(), Duration::from_millis(10), |_| {}).await;
    assert_eq!(e.code, "reenroll_required", "{e}");
    let v = book.order(&order).unwrap();
    assert_eq!(v.status, "cancelled", "swept by the watching loop: {v:?}");
    assert!(v.events.iter().any(|e| e.reason.as_deref() == Some("payment window")), "{:?}", v.events);
}
