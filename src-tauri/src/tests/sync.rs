//! The background sync task's round and enrolment errors, without a server.

use serde_json::json;
use tillbook_orderbook::Book;
use tillbook_protocol::sync::EnrollResponse;

use super::commands::Till;
use crate::state::sync_info;
use crate::sync_task::{round, Round};

#[test]
fn a_round_on_a_book_not_enrolled_only_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = Book::init(&dir.path().join("book.sqlite"), crate::state::demo_options()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome = rt.block_on(round(&mut book));
    assert_eq!(outcome, Round::Local);
    let info = sync_info(&book, outcome.online()).unwrap();
    assert_eq!((info.enrolled, info.online), (false, None));
}

/// Enrolled with a server that is not there: the round is `Unreachable` (backoff), the badge
/// says offline, and the error is kept in the book.
#[test]
fn a_round_with_the_server_down_is_offline() {
    let dir = tempfile::tempdir().unwrap();
    // Not a demo (a demo's first enrolment drops what it holds): the open shift waits to sync.
    let mut book = Book::init(&dir.path().join("book.sqlite"), tillbook_orderbook::InitOptions::default()).unwrap();
    book.open_shift(0).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let resp = EnrollResponse {
        terminal_id: uuid::Uuid::now_v7(),
        name: "Till 1".into(),
        token: "t".into(),
        protocol: tillbook_protocol::PROTOCOL_VERSION,
        store: "s1".into(),
        store_name: "Store".into(),
        terminal_code: "T05".into(),
    };
    book.enroll(&url, &resp).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome = rt.block_on(round(&mut book));
    assert_eq!(outcome, Round::Unreachable);
    let info = sync_info(&book, outcome.online()).unwrap();
    assert_eq!((info.enrolled, info.online), (true, Some(false)));
    assert!(info.pending > 0, "{info:?}");
    assert!(info.last_error.is_some(), "{info:?}");
    assert!(info.orders.is_empty(), "no order yet: {info:?}");
    // A sale rung up while the server is down waits on this till.
    let session = book.open_session(None, None).unwrap().session_key;
    book.upsert_products(&tillbook_protocol::catalog::demo_products()).unwrap();
    book.add_line(&session, "ESPRESSO", 1, None).unwrap();
    let sold = book.commit(&session, "k-1", Default::default()).unwrap();
    let info = sync_info(&book, Some(false)).unwrap();
    assert_eq!(info.orders, vec![crate::transport::OrderSync { order_ref: sold.order_ref, state: "pending".into() }]);
}

#[test]
fn enrolling_with_no_server_is_server_unreachable() {
    let till = Till::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = till.err("enroll", json!({"serverUrl": url, "code": "ABC"}));
    assert_eq!(e.code, "server_unreachable", "{e}");
    let info: crate::transport::SyncInfo = till.ok("sync_info", json!({}));
    assert!(!info.enrolled);
    till.ok::<()>("sync_now", json!({}));
}
