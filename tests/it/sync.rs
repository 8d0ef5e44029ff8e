//! The terminal's sync against a real `tillbook-server` on 127.0.0.1 (port 0): enrolment,
//! push and pull round trips, page boundaries, rejections that do not block, catalog changes
//! reaching the till, an unreachable server, a cloned book, and a sale during a sync.

use std::time::Duration;

use serde_json::{json, Value};
use tillbook_orderbook::{Book, CommitOptions, ErrorCode, InitOptions, StockReason, SyncState, BOOK_FILE};
use tillbook_sync::Options;

use crate::support::product;

mod demo_enrolment;

const ADMIN: &str = "sync-test-admin";

struct Server {
    base: String,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// A server on a SQLite file, seeded with the demo catalog and stock.
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = tillbook_server::open(&format!("sqlite:{}", dir.path().join("server.db").display())).await.unwrap();
        store.seed_demo().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(tillbook_server::serve(listener, tillbook_server::AppState::new(store, ADMIN)));
        Server { base, http: reqwest::Client::new(), task, _dir: dir }
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    async fn code(&self, name: &str) -> String {
        let v = self.admin(reqwest::Method::POST, "/v1/admin/terminals", Some(json!({"name": name}))).await;
        v["enrollment_code"].as_str().unwrap().to_string()
    }

    async fn on_hand(&self, sku: &str) -> i64 {
        let v = self.admin(reqwest::Method::GET, "/v1/admin/stock", None).await;
        v["items"].as_array().unwrap().iter().find(|i| i["sku"] == sku).map(|i| i["on_hand"].as_i64().unwrap()).unwrap()
    }

    async fn orders(&self) -> Vec<Value> {
        let v = self.admin(reqwest::Method::GET, "/v1/admin/orders?limit=1000", None).await;
        v["orders"].as_array().unwrap().clone()
    }
}

struct Till {
    dir: tempfile::TempDir,
    book: Book,
}

/// A demo till (`init --demo`). Enrolling it leaves demo mode: its demo data is removed and
/// never pushed, and it has no shift until one is opened ([`open_shift`]).
fn till() -> Till {
    let dir = tempfile::tempdir().unwrap();
    let book = Book::init(&dir.path().join(BOOK_FILE), InitOptions { demo: true, ..InitOptions::default() }).unwrap();
    Till { dir, book }
}

fn sell(book: &mut Book, sku: &str, qty: i64, key: &str) -> String {
    let s = book.open_session(None, None).unwrap().session_key;
    book.add_line(&s, sku, qty, None).unwrap();
    book.commit(&s, key, CommitOptions::default()).unwrap().order_ref
}

/// Opens the first real shift of a till just enrolled (a demo till has none after enrolment).
fn open_shift(book: &mut Book) {
    book.open_shift(0).unwrap();
}

fn opts() -> Options {
    Options { attempts: 2, min_delay: Duration::from_millis(20), max_delay: Duration::from_millis(100), ..Options::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_round_trip_exactly_once() {
    let server = Server::start().await;
    let mut t = till();
    let code = server.code("Till 1").await;
    let e = tillbook_sync::enroll(&mut t.book, &server.base, &code).await.unwrap();
    assert_eq!(t.book.settings().terminal_id, e.terminal_id, "the server's id becomes the book's");
    open_shift(&mut t.book);
    let espresso_before = server.on_hand("ESPRESSO").await;
    let r = sell(&mut t.book, "ESPRESSO", 3, "k1");
    let queued = t.book.sync_status().unwrap().pending;
    let report = tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    assert_eq!(report.pushed, queued);
    let status = t.book.sync_status().unwrap();
    assert_eq!(status.pending, 0);
    assert!(status.last_success_at.is_some());
    assert_eq!(t.book.order(&r).unwrap().sync_state, SyncState::Applied);
    // The demo's own orders were never sent: only the new one's 3 espressos count.
    assert_eq!(server.on_hand("ESPRESSO").await, espresso_before - 3);
    let refs: Vec<String> = server.orders().await.iter().map(|o| o["ref"].as_str().unwrap().to_string()).collect();
    assert_eq!(refs, vec![r.clone()]);
    // The pulled catalog is the one the till started with: barcodes still scan.
    assert_eq!(t.book.product("7890000000001").unwrap().sku, "ESPRESSO");
    // The terminal's view of stock is now the server's.
    assert_eq!(t.book.stock(Some("ESPRESSO")).unwrap()[0].on_hand, espresso_before - 3);
    // Syncing again sends nothing and counts nothing twice.
    let again = tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    assert_eq!(again.pushed, 0);
    assert_eq!(server.orders().await.len(), 1);
    assert_eq!(server.on_hand("ESPRESSO").await, espresso_before - 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_pages_cross_boundaries_without_loss() {
    let server = Server::start().await;
    let mut t = till();
    tillbook_sync::enroll(&mut t.book, &server.base, &server.code("T").await).await.unwrap();
    open_shift(&mut t.book);
    for i in 0..10 {
        sell(&mut t.book, "LATTE", 1, &format!("k{i}"));
    }
    let total = t.book.sync_status().unwrap().pending;
    let report = tillbook_sync::run(&mut t.book, &Options { push_page: 3, pull_page: 2, ..opts() }).await.unwrap();
    assert_eq!(report.pushed, total);
    assert!(report.requests >= (total + 2) / 3, "{report:?}");
    assert_eq!(server.orders().await.len(), 10);
    assert_eq!(t.book.sync_status().unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_event_does_not_block_the_queue() {
    let server = Server::start().await;
    let mut t = till();
    tillbook_sync::enroll(&mut t.book, &server.base, &server.code("T").await).await.unwrap();
    open_shift(&mut t.book);
    // A product the server has never heard of.
    t.book.upsert_products(&[product("LOCAL", 100)]).unwrap();
    let bad = sell(&mut t.book, "LOCAL", 1, "bad");
    let good = sell(&mut t.book, "LATTE", 1, "good");
    let report = tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    assert!(report.rejected >= 1, "{report:?}");
    let v = t.book.order(&bad).unwrap();
    assert_eq!(v.sync_state, SyncState::Rejected);
    assert!(v.sync_reason.as_deref().is_some_and(|r| !r.is_empty()));
    assert_eq!(t.book.order(&good).unwrap().sync_state, SyncState::Applied);
    let s = t.book.sync_status().unwrap();
    assert_eq!((s.pending, s.rejected), (0, 1));
    let alerts = server.admin(reqwest::Method::GET, "/v1/admin/alerts", None).await;
    assert!(alerts.to_string().contains("LOCAL"), "{alerts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_change_reaches_the_till_and_reprices_open_baskets() {
    let server = Server::start().await;
    let mut t = till();
    tillbook_sync::enroll(&mut t.book, &server.base, &server.code("T").await).await.unwrap();
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    let basket = t.book.open_session(None, None).unwrap().session_key;
    t.book.add_line(&basket, "LATTE", 1, None).unwrap();
    let mut latte = product("LATTE", 800);
    latte.name = "Latte".into();
    let mut muffin = product("MUFFIN", 600);
    muffin.name = "Muffin".into();
    server.admin(reqwest::Method::PUT, "/v1/admin/catalog", Some(json!({"products": [latte, muffin]}))).await;
    let report = tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    assert!(report.pulled >= 2, "{report:?}");
    assert_eq!(t.book.product("MUFFIN").unwrap().price_q, 600);
    let v = t.book.session(&basket).unwrap();
    assert_eq!(v.lines[0].unit_price_q, 800);
    assert_eq!(v.lines[0].flags[0].code, "price_changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_clear_error_and_nothing_is_lost() {
    let mut t = till();
    assert_eq!(tillbook_sync::run(&mut t.book, &opts()).await.unwrap_err().code, "not_enrolled");
    let server = Server::start().await;
    let code = server.code("T").await;
    tillbook_sync::enroll(&mut t.book, &server.base, &code).await.unwrap();
    open_shift(&mut t.book);
    let base = server.base.clone();
    drop(server);
    // Wait (bounded) until the aborted server stops accepting.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = sell(&mut t.book, "ESPRESSO", 1, "offline");
    let e = tillbook_sync::run(&mut t.book, &opts()).await.unwrap_err();
    assert_eq!(e.code, "server_unreachable", "{e}");
    let s = t.book.sync_status().unwrap();
    assert!(s.last_error.is_some());
    assert!(s.pending > 0);
    assert_ne!(t.book.order(&r).unwrap().sync_state, SyncState::Applied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_book_stops_syncing_and_asks_for_enrolment() {
    let server = Server::start().await;
    let mut t = till();
    tillbook_sync::enroll(&mut t.book, &server.base, &server.code("T").await).await.unwrap();
    open_shift(&mut t.book);
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    // The copy (a backup) is taken while one sale is still unsent.
    let shared = sell(&mut t.book, "LATTE", 1, "before-copy");
    let copy_path = t.dir.path().join("copy.sqlite");
    t.book.connection().execute("VACUUM INTO ?1", [copy_path.to_str().unwrap()]).unwrap();
    sell(&mut t.book, "LATTE", 1, "after-copy-1");
    sell(&mut t.book, "LATTE", 1, "after-copy-2");
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    let latte = server.on_hand("LATTE").await;
    let mut copy = Book::open(&copy_path).unwrap();
    let e = tillbook_sync::run(&mut copy, &opts()).await.unwrap_err();
    assert_eq!(e.code, "reenroll_required", "{e}");
    assert!(copy.sync_status().unwrap().halted.is_some());
    assert_eq!(copy.enrollment().unwrap_err().code, ErrorCode::ReenrollRequired);
    // Enrolled again under a new identity, the copy re-sends the sale the original already
    // sent: the server knows the event and skips it, so nothing is counted twice.
    let orders_before = server.orders().await.len();
    tillbook_sync::enroll(&mut copy, &server.base, &server.code("T-copy").await).await.unwrap();
    tillbook_sync::run(&mut copy, &opts()).await.unwrap();
    assert_eq!(copy.sync_status().unwrap().pending, 0);
    let v = copy.order(&shared).unwrap();
    assert_eq!(v.sync_state, SyncState::Applied, "{:?}", v.sync_reason);
    assert_eq!(server.orders().await.len(), orders_before);
    assert_eq!(server.on_hand("LATTE").await, latte);
    // Its next order carries the new terminal code, reaches the server as the new terminal's
    // order, and is never merged with the original's.
    let original_code = t.book.settings().terminal_code.clone();
    let copy_code = copy.settings().terminal_code.clone();
    assert_ne!(copy_code, original_code, "re-enrolment gives the copy its own terminal code");
    let own = sell(&mut copy, "CROISSANT", 1, "copy-sale");
    assert!(own.contains(&format!("-{copy_code}-")), "{own}");
    tillbook_sync::run(&mut copy, &opts()).await.unwrap();
    assert_eq!(copy.sync_status().unwrap().pending, 0);
    let v = copy.order(&own).unwrap();
    assert_eq!(v.sync_state, SyncState::Applied, "{:?}", v.sync_reason);
    let orders = server.orders().await;
    assert_eq!(orders.len(), orders_before + 1);
    let theirs = orders.iter().find(|o| o["ref"] == own.as_str()).expect("the copy's sale is in the back office");
    assert_eq!(theirs["terminal_id"], copy.settings().terminal_id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_and_a_sync_on_the_same_book_both_succeed() {
    let server = Server::start().await;
    let mut t = till();
    tillbook_sync::enroll(&mut t.book, &server.base, &server.code("T").await).await.unwrap();
    open_shift(&mut t.book);
    let path = t.dir.path().join(BOOK_FILE);
    let seller = std::thread::spawn(move || {
        let mut b = Book::open(&path).unwrap();
        (0..30).map(|i| sell(&mut b, "CAPPUCCINO", 1, &format!("c{i}"))).collect::<Vec<_>>()
    });
    let mut rounds = 0;
    while !seller.is_finished() && rounds < 200 {
        tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
        rounds += 1;
    }
    let sold = seller.join().unwrap();
    assert_eq!(sold.len(), 30);
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    assert_eq!(t.book.sync_status().unwrap().pending, 0);
    assert_eq!(server.orders().await.len(), 30);
    t.book.adjust_stock("LATTE", 5, StockReason::Receiving, "delivery").unwrap();
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
}

/// The `tillbook` commands, with the server on its own runtime thread.
#[test]
fn cli_enroll_sync_and_status() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = rt.block_on(Server::start());
    let code = rt.block_on(server.code("Counter 1"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["--json".to_string(), "--data-dir".to_string(), d.clone()];
        all.extend(args.iter().map(|a| a.to_string()));
        let out = tillbook_cli::execute(all);
        (out.status, serde_json::from_str::<Value>(&out.stdout).unwrap_or(Value::Null))
    };
    assert_eq!(run(&["init", "--demo"]).0, 0);
    let (status, v) = run(&["sync", "run"]);
    assert_eq!((status, v["code"].as_str()), (1, Some("not_enrolled")));
    let (status, v) = run(&["enroll", "--server", &server.base, "--code", &code]);
    assert_eq!(status, 0, "{v}");
    assert_eq!(v["name"], "Counter 1");
    assert_eq!(v["left_demo"], true, "the demo's data is removed, never sent: {v}");
    // A real till now: it asks for a float before its first sale.
    assert_eq!(run(&["shift", "open", "--float", "0"]).0, 0);
    let key = run(&["session", "open"]).1["session_key"].as_str().unwrap().to_string();
    run(&["session", "add", &key, "ESPRESSO"]);
    assert_eq!(run(&["commit", &key, "--idempotency-key", "online-1"]).0, 0);
    let (status, v) = run(&["enroll", "--server", &server.base, "--code", &code]);
    assert_eq!((status, v["code"].as_str()), (1, Some("enrollment_code_used")), "{v}");
    let (status, v) = run(&["sync", "status"]);
    assert_eq!(status, 0);
    assert!(v["pending"].as_i64().unwrap() > 0);
    assert!(v["last_success_at"].is_null());
    let (status, v) = run(&["sync", "run"]);
    assert_eq!(status, 0, "{v}");
    assert_eq!(v["pending"], 0);
    let (_, v) = run(&["sync", "status"]);
    assert_eq!(v["pending"], 0);
    assert!(v["last_success_at"].is_string());
    let (_, orders) = run(&["order", "list"]);
    let first = orders["orders"][0]["ref"].as_str().unwrap().to_string();
    assert_eq!(run(&["order", "show", &first]).1["sync_state"], "applied");
    // With the server gone, `sync run` fails with a clear code and the sale stays queued.
    drop(server);
    drop(rt);
    let key = run(&["session", "open"]).1["session_key"].as_str().unwrap().to_string();
    run(&["session", "add", &key, "LATTE"]);
    let r = run(&["commit", &key, "--idempotency-key", "offline-1"]).1["order_ref"].as_str().unwrap().to_string();
    let (status, v) = run(&["sync", "run"]);
    assert_eq!((status, v["code"].as_str()), (1, Some("server_unreachable")), "{v}");
    assert_eq!(run(&["order", "show", &r]).1["sync_state"], "sent");
    let (_, v) = run(&["sync", "status"]);
    assert_eq!(v["pending"], 1);
    assert!(v["last_error"].as_str().unwrap().contains("server_unreachable"));
}

/// `sync run --watch`: keeps trying while the server is away, and drains the queue once it is
/// back on the same address and database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_backs_off_while_offline_and_drains_when_the_server_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.db").display());
    let store = tillbook_server::open(&db).await.unwrap();
    store.seed_demo().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn(tillbook_server::serve_until(
        listener,
        tillbook_server::AppState::new(store, ADMIN),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/v1/admin/terminals"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "W"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut t = till();
    tillbook_sync::enroll(&mut t.book, &base, created["enrollment_code"].as_str().unwrap()).await.unwrap();
    open_shift(&mut t.book);
    sell(&mut t.book, "LATTE", 1, "queued");
    stop_tx.send(()).unwrap();
    first.await.unwrap().unwrap();

    let path = t.dir.path().join(BOOK_FILE);
    let watcher = tokio::spawn(async move {
        let mut book = t.book;
        let opts = Options { min_delay: Duration::from_millis(20), max_delay: Duration::from_millis(200), ..Options::default() };
        tillbook_sync::watch(&mut book, &opts, Duration::from_millis(50), |_| {}).await
    });
    let observer = Book::open(&path).unwrap();
    for _ in 0..200 {
        if observer.sync_status().unwrap().last_error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let offline = observer.sync_status().unwrap();
    assert!(offline.last_error.as_deref().unwrap_or("").contains("server_unreachable"), "{offline:?}");
    assert!(offline.pending > 0);

    let store = tillbook_server::open(&db).await.unwrap();
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let second = tokio::spawn(tillbook_server::serve(listener, tillbook_server::AppState::new(store, ADMIN)));
    let mut drained = false;
    for _ in 0..300 {
        let s = observer.sync_status().unwrap();
        if s.pending == 0 && s.last_success_at.is_some() {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(drained, "{:?}", observer.sync_status().unwrap());
    assert!(!watcher.is_finished(), "watch keeps going");
    watcher.abort();
    second.abort();
}

/// Rule 9 across a pull split into pages: a level not yet pulled keeps counting the till's own
/// deltas the server has applied since, until the page that carries it arrives.
#[test]
fn stock_view_stays_exact_between_pull_pages() {
    use tillbook_protocol::sync::{Change, PullCursor, PullResponse};
    let mut t = crate::support::stocked_book(10);
    let level = |sku: &str, on_hand: i64| Change::StockLevel { version: 1, sku: sku.into(), location: "main".into(), on_hand };
    let page = |changes: Vec<Change>, has_more: bool, last_applied_seq: u64, reset: bool| PullResponse {
        reset,
        changes,
        cursor: PullCursor { chain: 1, store: 1 },
        has_more,
        last_applied_seq,
    };
    let on_hand = |t: &crate::support::TempBook, sku: &str| t.book.stock(Some(sku)).unwrap()[0].on_hand;
    // The server's snapshot after it applied the shift's opening (seq 1) and the three opening
    // adjustments (seqs 2-4).
    let opening = t.book.outbox_summary().unwrap().last_seq as u64;
    assert_eq!(opening, 4);
    t.book.apply_pull(&page(vec![level("A", 10), level("B", 10)], false, opening, true)).unwrap();
    assert_eq!(on_hand(&t, "A"), 10);
    sell(&mut t.book, "A", 2, "s1");
    assert_eq!(on_hand(&t, "A"), 8, "the snapshot plus our unsent sale");
    // The server applied the sale (seq 5); the first page of the next pull carries only B.
    t.book.apply_pull(&page(vec![level("B", 7)], true, opening + 1, false)).unwrap();
    assert_eq!(on_hand(&t, "A"), 8, "A's level has not arrived yet: our sale still counts");
    assert_eq!(on_hand(&t, "B"), 7);
    t.book.apply_pull(&page(vec![level("A", 8)], false, opening + 1, false)).unwrap();
    assert_eq!(on_hand(&t, "A"), 8);
    sell(&mut t.book, "A", 1, "s2");
    assert_eq!(on_hand(&t, "A"), 7);
}

/// An order whose items are all final completes (or, all cancelled, cancels) by itself, from
/// any status that does not end it: the server accepts that move, judged from the items it
/// holds, and a jump the flow does not allow while items are open is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_items_are_all_final_completes_by_itself_on_the_server() {
    let server = Server::start().await;
    let mut t = till();
    tillbook_sync::enroll(&mut t.book, &server.base, &server.code("T").await).await.unwrap();
    open_shift(&mut t.book);
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    let croissant = server.on_hand("CROISSANT").await;
    let done = sell(&mut t.book, "LATTE", 1, "done");
    t.book.set_item_status(&done, 1, "delivered", "kitchen").unwrap();
    assert_eq!(t.book.order(&done).unwrap().status, "completed");
    let gone = sell(&mut t.book, "CROISSANT", 1, "gone");
    t.book.set_item_status(&gone, 1, "cancelled", "kitchen").unwrap();
    assert_eq!(t.book.order(&gone).unwrap().status, "cancelled");
    tillbook_sync::run(&mut t.book, &opts()).await.unwrap();
    let s = t.book.sync_status().unwrap();
    assert_eq!((s.pending, s.rejected), (0, 0), "{s:?}");
    let orders = server.orders().await;
    let status = |r: &str| orders.iter().find(|o| o["ref"] == r).unwrap()["status"].clone();
    assert_eq!(status(&done), "completed");
    assert_eq!(status(&gone), "cancelled");
    assert_eq!(server.on_hand("CROISSANT").await, croissant, "the cancelled item gave its stock back once");
}
