//! A demo till enrolled with a real server (on 127.0.0.1) leaves demo mode: nothing it did
//! before the enrolment (the demo's orders, payments and shift, and the sales, refunds, cash
//! and stock moves rung up on it since) ever reaches the back office, and the till starts as a
//! real till with no open shift. A book that never was a demo keeps its pre-enrolment sales.

use serde_json::Value;
use tillbook_orderbook::{
    Book, CashMoveKind, CommitOptions, ErrorCode, InitOptions, PayOptions, RefundBy, RefundRequest, StockReason, Tender,
    BOOK_FILE,
};

use super::{opts, sell, till, Server};

impl Server {
    async fn get(&self, path: &str) -> Value {
        self.admin(reqwest::Method::GET, path, None).await
    }

    /// The back office's view of one terminal (`GET /v1/admin/terminals`).
    async fn terminal(&self, terminal_id: &str) -> Value {
        let v = self.get("/v1/admin/terminals").await;
        v["terminals"].as_array().unwrap().iter().find(|t| t["terminal_id"] == terminal_id).cloned().expect("the terminal is listed")
    }

    /// The store's shifts (`GET /v1/admin/shifts?store=`).
    async fn shifts(&self, store: &str) -> Vec<Value> {
        self.get(&format!("/v1/admin/shifts?store={store}")).await["shifts"].as_array().unwrap().clone()
    }

    /// The store's daily report for today (the till's business date).
    async fn daily(&self, store: &str) -> Value {
        let date = chrono::Local::now().date_naive();
        self.get(&format!("/v1/admin/reports/daily?store={store}&date={date}")).await
    }
}

/// The back office's orders made by `terminal_id`.
fn of_terminal(orders: &[Value], terminal_id: &str) -> Vec<Value> {
    orders.iter().filter(|o| o["terminal_id"] == terminal_id).cloned().collect()
}

fn pay_cash(book: &mut Book, order_ref: &str) {
    let paid = book.pay(order_ref, &[Tender::Cash { tendered_q: 100_000 }], PayOptions::default()).unwrap();
    assert_eq!(paid.amount_due_q, 0, "{paid:?}");
}

fn count(book: &Book, table: &str) -> i64 {
    book.connection().query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_till_enrolled_with_a_server_sends_no_demo_data() {
    let server = Server::start().await;
    let mut t = till();
    // What the user does on the demo till before enrolling is demo too: a sale paid in cash and
    // partly refunded (the demo manager approves), cash put in, a delivery, a basket left open.
    let extra = sell(&mut t.book, "LATTE", 2, "demo-extra");
    pay_cash(&mut t.book, &extra);
    t.book.set_approval_pin(Some(tillbook_orderbook::staff::DEMO_MANAGER_PIN.into()));
    let refund = RefundRequest {
        by: RefundBy::Lines(vec![(1, 1)]),
        restock: true,
        idempotency_key: "demo-refund".into(),
        actor: "demo".into(),
        reason: None,
    };
    t.book.refund(&extra, refund).unwrap();
    t.book.set_approval_pin(None);
    t.book.cash_move(CashMoveKind::In, 5_000, "change for the day").unwrap();
    t.book.adjust_stock("CROISSANT", 12, StockReason::Receiving, "delivery").unwrap();
    let basket = t.book.open_session(None, None).unwrap().session_key;
    t.book.add_line(&basket, "ESPRESSO", 1, None).unwrap();
    let demo_orders = t.book.orders(None, 100).unwrap().len();
    assert_eq!(demo_orders, 7, "the six demo orders and the extra sale");
    let written = t.book.sync_status().unwrap().last_seq;
    assert!(written > 0);
    let shop_name = t.book.settings().shop_name.clone();

    assert!(t.book.is_demo().unwrap());
    let e = tillbook_sync::enroll(&mut t.book, &server.base, &server.code("Counter").await).await.unwrap();
    assert!(!t.book.is_demo().unwrap(), "the first enrolment ends demo mode");
    let terminal_id = e.terminal_id.to_string();
    let store = e.store.clone().expect("enrolled in a store");
    let report = tillbook_sync::run(&mut t.book, &opts()).await.unwrap();

    // The back office heard nothing of the demo.
    let orders = of_terminal(&server.orders().await, &terminal_id);
    assert!(orders.is_empty(), "{} demo orders reached the back office: {:?}", orders.len(), orders.iter().map(|o| &o["ref"]).collect::<Vec<_>>());
    assert_eq!(server.orders().await.len(), 0, "no orders at all");
    assert_eq!(server.shifts(&store).await, Vec::<Value>::new(), "no demo shift on the server");
    let daily = server.daily(&store).await;
    assert_eq!(daily["tenders"], serde_json::json!([]), "no demo payments: {daily}");
    assert_eq!(daily["refunds"]["count"].as_i64().unwrap_or(0), 0, "no demo refunds: {daily}");
    assert_eq!(report.pushed, 0, "{report:?}");
    let term = server.terminal(&terminal_id).await;
    assert_eq!((term["last_applied_seq"].as_u64(), term["rejected"].as_u64()), (Some(0), Some(0)), "{term}");

    // The till starts clean: no orders, no basket, no shift (it asks for a float), nothing
    // queued; the catalog, the shop's settings and its staff stay.
    assert!(t.book.orders(None, 100).unwrap().is_empty());
    assert!(t.book.current_shift().unwrap().is_none(), "no open shift after enrolment");
    assert_eq!(t.book.session(&basket).unwrap_err().code, ErrorCode::UnknownSession);
    let s = t.book.sync_status().unwrap();
    assert_eq!((s.pending, s.rejected), (0, 0), "{s:?}");
    assert_eq!(s.last_seq, written, "the outbox counter never goes backwards");
    assert_eq!(s.seq_base, written, "wire seq 1 is the first real event");
    for table in ["outbox", "payments", "refunds", "refund_tenders", "refund_lines", "order_lines", "order_events",
        "order_taxes", "shifts", "cash_movements", "sessions", "session_lines", "stock_holds", "stock_ledger"]
    {
        assert_eq!(count(&t.book, table), 0, "{table} keeps demo rows");
    }
    assert_eq!(t.book.product("ESPRESSO").unwrap().sku, "ESPRESSO");
    assert_eq!(t.book.settings().shop_name, shop_name);
    assert!(t.book.settings().tender_methods.iter().any(|m| m == "pix"));
    let s = t.book.open_session(None, None).unwrap().session_key;
    t.book.add_line(&s, "LATTE", 1, None).unwrap();
    assert_eq!(t.book.commit(&s, "no-shift", CommitOptions::default()).unwrap_err().code, ErrorCode::NoOpenShift);
    // Its stock is the server's snapshot (the demo's sales and delivery never counted).
    assert_eq!(t.book.stock(Some("CROISSANT")).unwrap()[0].on_hand, server.on_hand("CROISSANT").await);

    // A real shift and a real sale: exactly those reach the server, from wire seq 1.
    t.book.open_shift(10_000).unwrap();
    t.book.add_line(&s, "LATTE", 1, None).unwrap();
    let real = t.book.commit(&s, "real-1", CommitOptions::default()).unwrap().order_ref;
    pay_cash(&mut t.book, &real);
    let page = t.book.push_page(100).unwrap();
    let seqs: Vec<u64> = page.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=page.len() as u64).collect::<Vec<_>>(), "wire seqs start at 1");
    assert_eq!(page[0].kind, "shift.opened");
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    let s = t.book.sync_status().unwrap();
    assert_eq!((s.pending, s.rejected), (0, 0), "{s:?}");
    let orders = server.orders().await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["ref"], real.as_str());
    assert_eq!(orders[0]["terminal_id"], terminal_id.as_str());
    let shifts = server.shifts(&store).await;
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    assert_eq!(shifts[0]["terminal_id"], terminal_id.as_str());
    assert_eq!(shifts[0]["status"], "open");
    let term = server.terminal(&terminal_id).await;
    assert_eq!(term["last_applied_seq"].as_u64(), Some(page.len() as u64), "{term}");
    assert_eq!(term["rejected"].as_u64(), Some(0), "{term}");
    let daily = server.daily(&store).await;
    let tenders = daily["tenders"].as_array().unwrap();
    assert_eq!(tenders.len(), 1, "{daily}");
    assert_eq!(tenders[0]["method"], "cash", "{daily}");
    assert_eq!(tenders[0]["amount_q"].as_i64(), Some(t.book.order(&real).unwrap().total_q), "{daily}");
}

/// A book that never was a demo: what it sold before the enrolment is real and reaches the
/// back office, from wire seq 1 (the shift it opened first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_tills_sales_before_enrolment_reach_the_server() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut book = Book::init(&dir.path().join(BOOK_FILE), InitOptions::default()).unwrap();
    book.upsert_products(
        &tillbook_protocol::catalog::demo_products()
            .into_iter()
            .map(|p| tillbook_orderbook::ProductRecord { currency: Some("BRL".into()), ..p })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!book.is_demo().unwrap());
    book.open_shift(5_000).unwrap();
    let before = sell(&mut book, "ESPRESSO", 1, "before");
    pay_cash(&mut book, &before);
    let written = book.sync_status().unwrap().last_seq;
    let e = tillbook_sync::enroll(&mut book, &server.base, &server.code("Real").await).await.unwrap();
    assert_eq!(book.sync_status().unwrap().pending, written, "nothing is dropped");
    assert!(book.current_shift().unwrap().is_some(), "the shift stays open");
    let after = sell(&mut book, "LATTE", 1, "after");
    tillbook_sync::run(&mut book, &opts()).await.unwrap();
    let s = book.sync_status().unwrap();
    assert_eq!((s.pending, s.rejected), (0, 0), "{s:?}");
    let refs: Vec<Value> = server.orders().await.iter().map(|o| o["ref"].clone()).collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    assert!(refs.contains(&Value::from(before.as_str())) && refs.contains(&Value::from(after.as_str())), "{refs:?}");
    let store = e.store.unwrap();
    assert_eq!(server.shifts(&store).await.len(), 1);
}
