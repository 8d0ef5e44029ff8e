//! Helpers every test module shares: a fresh book in a temp dir, and a demo catalog.

use std::path::PathBuf;

use tempfile::TempDir;
use tillbook_orderbook::{Book, InitOptions, OversellPolicy, ProductRecord, Role, StaffView, BOOK_FILE};

/// The PIN of the local manager [`manager_approves`] adds.
pub const MANAGER_PIN: &str = "9090";

/// A book in its own temporary directory (removed on drop).
pub struct TempBook {
    pub dir: TempDir,
    pub book: Book,
}

impl TempBook {
    pub fn path(&self) -> PathBuf {
        self.dir.path().join(BOOK_FILE)
    }

    /// Re-opens the same file, as after a restart.
    pub fn reopen(self) -> TempBook {
        let path = self.path();
        drop(self.book);
        TempBook { book: Book::open(&path).expect("reopen"), dir: self.dir }
    }

    /// The same book on another clock (a manual one in tests that move time).
    pub fn with_clock(self, clock: tillbook_orderbook::Clock) -> TempBook {
        TempBook { book: self.book.with_clock(clock), dir: self.dir }
    }

    /// Closes the book and opens the file again on `clock`, as after a restart.
    pub fn reopen_with_clock(self, clock: tillbook_orderbook::Clock) -> TempBook {
        self.reopen().with_clock(clock)
    }
}

/// A new empty book (BRL, pt-BR, terminal T01) with a shift open on an empty drawer, so it
/// sells at once.
pub fn book() -> TempBook {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut book = Book::init(&dir.path().join(BOOK_FILE), InitOptions::default()).expect("init");
    book.open_shift(0).expect("open a shift");
    TempBook { dir, book }
}

/// Adds a local manager ("Mia") and offers her PIN as the approval for what the staff member
/// acting may not do alone (refunds, cancelling a paid order, a large discount…), as a manager
/// standing by the till would. Returns her.
pub fn manager_approves(book: &mut Book) -> StaffView {
    let mia = book.add_local_staff("Mia", Role::Manager, MANAGER_PIN).expect("add the manager");
    book.set_approval_pin(Some(MANAGER_PIN.into()));
    mia
}

/// Adds a local cashier `name` with `pin` and signs them in: every event from then on records
/// them as the actor.
pub fn sign_in_cashier(book: &mut Book, name: &str, pin: &str) -> StaffView {
    let v = book.add_local_staff(name, Role::Cashier, pin).expect("add the cashier");
    assert_eq!(book.staff_login(pin).expect("sign in").staff_id, v.staff_id);
    v
}

/// A product record with the usual defaults.
pub fn product(sku: &str, price_q: i64) -> ProductRecord {
    ProductRecord {
        sku: sku.into(),
        name: format!("Product {sku}"),
        price_q,
        currency: None,
        category: None,
        barcodes: vec![],
        active: true,
        parent_sku: None,
        variant: None,
        unique: false,
        oversell: OversellPolicy::Allow,
        tax_rate_bp: None,
    }
}

/// A book with products A (500), B (700), C (650), each with `stock` on hand.
pub fn stocked_book(stock: i64) -> TempBook {
    let mut t = book();
    t.book.upsert_products(&[product("A", 500), product("B", 700), product("C", 650)]).unwrap();
    for sku in ["A", "B", "C"] {
        t.book.adjust_stock(sku, stock, tillbook_orderbook::StockReason::Receiving, "opening").unwrap();
    }
    t
}

/// Checks that the outbox `seq`s are exactly `1..=N` and that every row's `payload_hash` is the
/// hash of its payload. Returns N.
pub fn assert_outbox_sound(book: &Book) -> i64 {
    let conn = book.connection();
    let mut stmt = conn.prepare("SELECT seq, payload, payload_hash FROM outbox ORDER BY seq").expect("outbox query");
    let rows: Vec<(i64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("outbox rows")
        .collect::<Result<_, _>>()
        .expect("outbox row");
    for (i, (seq, payload, hash)) in rows.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "outbox seq has a gap or does not start at 1: {:?}", rows.iter().map(|r| r.0).collect::<Vec<_>>());
        let value: serde_json::Value = serde_json::from_str(payload).expect("outbox payload is JSON");
        assert_eq!(&tillbook_protocol::payload_hash(&value), hash, "payload_hash of outbox seq {seq}");
    }
    rows.len() as i64
}

/// Checks that every order has exactly one `order.committed` outbox row and that no such row
/// names a missing order. Returns the number of orders.
pub fn assert_one_committed_event_per_order(book: &Book) -> i64 {
    let conn = book.connection();
    let bad: Vec<(String, i64)> = conn
        .prepare(
            "SELECT o.order_ref, (SELECT COUNT(*) FROM outbox x WHERE x.order_ref = o.order_ref AND x.kind = 'order.committed')
             FROM orders o",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<(String, i64)>, _>>()
        .unwrap()
        .into_iter()
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(bad.is_empty(), "orders without exactly one order.committed outbox row: {bad:?}");
    let orphans: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM outbox x WHERE x.kind = 'order.committed'
               AND (x.order_ref IS NULL OR NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_ref = x.order_ref))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "order.committed outbox rows without their order");
    conn.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0)).unwrap()
}
