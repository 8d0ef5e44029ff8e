//! PINs are never kept or sent in clear: not in the book file, not in any outbox payload, not
//! in what the till or the back office shows; the book keeps an argon2id PHC string. Staff made
//! in the back office reach the till with their hash, and their PIN works there offline.

use std::time::Duration;

use serde_json::{json, Value};
use tillbook_orderbook::staff::DEMO_MANAGER_PIN;
use tillbook_orderbook::{Book, CashMoveKind, ErrorCode, InitOptions, RefundBy, Role, BOOK_FILE};

use super::{cafe, cash, pay, refund, ring};

/// PINs unlikely to turn up by chance in a UUID, a time or an amount.
const CASHIER_PIN: &str = "73915846";
const MANAGER_PIN: &str = "58203917";

/// Every byte of the book's files (the database and, while open, its WAL).
fn file_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with(BOOK_FILE) {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The stored hash of each staff member, by name.
fn hashes(book: &Book) -> Vec<(String, Option<String>)> {
    book.connection()
        .prepare("SELECT name, pin_hash FROM staff ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn assert_no_pin_in_outbox(book: &Book, pins: &[&str]) {
    let rows = book.outbox(0, 10_000).unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let text = row.payload.to_string();
        for pin in pins {
            assert!(!text.contains(pin), "outbox seq {} ({}) carries a PIN: {text}", row.seq, row.kind);
        }
        assert!(!text.contains("argon2"), "outbox seq {} ({}) carries a PIN hash: {text}", row.seq, row.kind);
    }
}

#[test]
fn pins_are_kept_only_as_argon2id_hashes_and_never_leave_the_book() {
    let (mut t, _) = cafe();
    t.book.add_local_staff("Bia", Role::Cashier, CASHIER_PIN).unwrap();
    t.book.add_local_staff("Mia", Role::Manager, MANAGER_PIN).unwrap();
    t.book.staff_login(CASHIER_PIN).unwrap();
    // A day's work with the PINs in use: a sale, an approved refund, cash out, a wrong PIN.
    t.book.open_shift(1_000).unwrap();
    let r = ring(&mut t, &[("LATTE", 2, 0)], 0);
    pay(&mut t, &r, &[cash(2_000)]);
    t.book.set_approval_pin(Some(MANAGER_PIN.into()));
    t.book.refund(&r, refund("k", RefundBy::Amount(100), false)).unwrap();
    t.book.cash_move(CashMoveKind::Out, 200, "bank").unwrap();
    t.book.close_shift(2_200).unwrap();
    assert_eq!(t.book.staff_login("99999999").unwrap_err().code, ErrorCode::InvalidPin);

    let stored = hashes(&t.book);
    assert_eq!(stored.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["Bia", "Cashier", "Mia"]);
    assert_eq!(stored[1].1, None, "the default cashier has no PIN");
    for ((name, hash), pin) in [(&stored[0], CASHIER_PIN), (&stored[2], MANAGER_PIN)].map(|(s, p)| ((&s.0, s.1.as_deref().unwrap()), p)) {
        assert!(hash.starts_with("$argon2id$v=19$m="), "{name}: {hash}");
        assert_eq!(hash.split('$').count(), 6, "{name}: a PHC string with its salt and hash: {hash}");
        assert!(!hash.contains(pin), "{name}: {hash}");
    }
    assert_no_pin_in_outbox(&t.book, &[CASHIER_PIN, MANAGER_PIN]);
    // What the till shows of its staff has no hash.
    let shown = serde_json::to_string(&t.book.staff_list().unwrap()).unwrap();
    assert!(!shown.contains("argon2") && !shown.contains(CASHIER_PIN), "{shown}");

    // The file, open and then closed: the hashes are there, the PINs nowhere.
    let open = file_bytes(t.dir.path());
    let t = t.reopen();
    drop(t.book);
    for bytes in [open, file_bytes(t.dir.path())] {
        assert!(contains(&bytes, "$argon2id$"), "the hashes are in the file read");
        for pin in [CASHIER_PIN, MANAGER_PIN] {
            assert!(!contains(&bytes, pin), "the book file holds PIN {pin} in clear");
        }
    }
}

/// A manager made in the back office reaches the till by pull, with her hash only: her PIN signs
/// in and approves at the till, offline; the demo's local manager steps down; the back office
/// never shows the hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_office_staff_reach_the_till_as_hashes_and_sign_in_offline() {
    const ADMIN: &str = "pins-admin";
    let dir = tempfile::tempdir().unwrap();
    let store = tillbook_server::open(&format!("sqlite:{}", dir.path().join("server.db").display())).await.unwrap();
    store.seed_demo().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(tillbook_server::serve(listener, tillbook_server::AppState::new(store, ADMIN)));
    let http = reqwest::Client::new();
    let admin = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http.request(method, format!("{base}{path}")).bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(status.is_success(), "{status} {text}");
            text
        }
    };
    let created = admin(reqwest::Method::POST, "/v1/admin/staff", Some(json!({"name": "Mia", "role": "manager", "pin": MANAGER_PIN}))).await;
    let listed = admin(reqwest::Method::GET, "/v1/admin/staff", None).await;
    for text in [&created, &listed] {
        assert!(!text.contains("argon2") && !text.contains(MANAGER_PIN) && text.contains("Mia"), "{text}");
    }
    let code = admin(reqwest::Method::POST, "/v1/admin/terminals", Some(json!({"name": "Till"}))).await;
    let code: Value = serde_json::from_str(&code).unwrap();

    let till_dir = tempfile::tempdir().unwrap();
    let mut book = Book::init(&till_dir.path().join(BOOK_FILE), InitOptions { demo: true, ..InitOptions::default() }).unwrap();
    tillbook_sync::enroll(&mut book, &base, code["enrollment_code"].as_str().unwrap()).await.unwrap();
    let opts = tillbook_sync::Options { attempts: 2, min_delay: Duration::from_millis(20), max_delay: Duration::from_millis(100), ..Default::default() };
    tillbook_sync::run(&mut book, &opts).await.unwrap();
    let mia = book.staff_list().unwrap().into_iter().find(|s| s.name == "Mia").expect("the back office's manager was pulled");
    assert_eq!((mia.role, mia.origin.as_str(), mia.active, mia.has_pin), (Role::Manager, "server", true, true));
    assert!(hashes(&book).iter().any(|(n, h)| n == "Mia" && h.as_deref().is_some_and(|h| h.starts_with("$argon2id$"))));
    // From now on the back office decides: the demo's local manager is no longer active.
    assert_eq!(book.staff_login(DEMO_MANAGER_PIN).unwrap_err().code, ErrorCode::InvalidPin);

    // Offline: the server is gone, the PIN still approves and signs in. (The demo's orders
    // went with demo mode at enrolment: the till opens its first real shift and sells.)
    task.abort();
    book.open_shift(0).unwrap();
    let s = book.open_session(None, None).unwrap().session_key;
    book.add_line(&s, "LATTE", 1, None).unwrap();
    let r = book.commit(&s, "offline-sale", tillbook_orderbook::CommitOptions::default()).unwrap().order_ref;
    book.pay(&r, &[cash(10_000)], tillbook_orderbook::PayOptions::default()).unwrap();
    assert_eq!(book.refund(&r, refund("off", RefundBy::Amount(100), false)).unwrap_err().code, ErrorCode::PermissionDenied);
    book.set_approval_pin(Some(MANAGER_PIN.into()));
    assert_eq!(book.refund(&r, refund("off", RefundBy::Amount(100), false)).unwrap().refund.approved_by, Some(mia.staff_id));
    assert_eq!(book.staff_login(MANAGER_PIN).unwrap().staff_id, mia.staff_id);
    assert_eq!(book.whoami().unwrap().name, "Mia");
    assert_no_pin_in_outbox(&book, &[MANAGER_PIN]);
    drop(book);
    assert!(!contains(&file_bytes(till_dir.path()), MANAGER_PIN), "the till's book holds the PIN in clear");
}
