//! The commands through Tauri's IPC on the mock runtime, each test with its own data dir: the
//! real command fns, argument parsing and error mapping, with no window and no display.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::{Listener, Manager, WebviewWindow, WebviewWindowBuilder};

use crate::error::AppError;
use crate::state::AppState;
use crate::transport::*;

/// A till on the mock runtime, on a fresh data dir (first start: the demo book).
pub struct Till {
    pub app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    pub dir: tempfile::TempDir,
}

impl Till {
    pub fn new() -> Till {
        let dir = tempfile::tempdir().unwrap();
        let builder = crate::specta_builder::<MockRuntime>();
        let app = mock_builder().invoke_handler(builder.invoke_handler()).build(mock_context(noop_assets())).unwrap();
        builder.mount_events(&app);
        app.manage(AppState::open(dir.path()).unwrap());
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        Till { app, webview, dir }
    }

    /// Invokes `cmd` with `args` as the UI does; the error is the `{code, message}` the UI gets.
    pub fn call<T: DeserializeOwned>(&self, cmd: &str, args: Value) -> Result<T, AppError> {
        let request = tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        match get_ipc_response(&self.webview, request) {
            Ok(body) => Ok(body.deserialize::<T>().unwrap_or_else(|e| panic!("{cmd}: unexpected answer: {e}"))),
            Err(v) => Err(serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{cmd}: error {v} is not {{code, message}}: {e}"))),
        }
    }

    pub fn ok<T: DeserializeOwned>(&self, cmd: &str, args: Value) -> T {
        self.call(cmd, args).unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    pub fn err(&self, cmd: &str, args: Value) -> AppError {
        match self.call::<Value>(cmd, args) {
            Ok(v) => panic!("{cmd} succeeded: {v}"),
            Err(e) => e,
        }
    }

    pub fn basket(&self) -> Basket {
        self.ok("basket_open", json!({"handle": null}))
    }

    pub fn scan(&self, key: &str, input: &str) -> Result<Basket, AppError> {
        self.call("basket_scan", json!({"key": key, "input": input}))
    }

    /// A basket of `items` (scan lines), checked out.
    pub fn sale(&self, items: &[&str]) -> Checkout {
        let b = self.basket();
        for i in items {
            self.scan(&b.key, i).unwrap();
        }
        self.ok("checkout", json!({"key": b.key}))
    }

    pub fn pay(&self, order_ref: &str, tender: Value) -> Result<PayResult, AppError> {
        self.call("pay", json!({"orderRef": order_ref, "tender": tender}))
    }
}

#[test]
fn first_start_is_a_demo_till_with_an_open_shift() {
    let till = Till::new();
    assert!(till.dir.path().join("book.sqlite").exists(), "the book is book.sqlite in the data dir");
    let info: AppInfo = till.ok("app_info", json!({}));
    assert!(info.demo, "{info:?}");
    assert!(!info.enrolled);
    assert_eq!((info.terminal_code.as_str(), info.currency.as_str(), info.locale.as_str()), ("T01", "BRL", "pt-BR"));
    let shift = info.shift.expect("the demo opens a shift");
    assert_eq!(shift.float_q, 20_000, "the demo float");
    assert!(!info.cashier.is_empty());
    assert_eq!(info.tender_methods, ["pix", "voucher"]);
    assert_eq!(info.data_dir, till.dir.path().display().to_string());
    assert!(chrono::DateTime::parse_from_rfc3339(&shift.opened_at).is_ok(), "{}", shift.opened_at);
    let catalog: Vec<CatalogItem> = till.ok("catalog", json!({}));
    assert!(catalog.iter().any(|p| p.sku == "LATTE" && p.price_q == 750 && p.available && !p.barcodes.is_empty()));
    // Opening the same data dir again keeps the book (no second demo).
    let orders = till_orders(&till.app.state::<AppState>());
    assert!(orders > 0, "the demo's orders");
    drop(till.app);
    let again = AppState::open(till.dir.path()).unwrap();
    assert_eq!(till_orders(&again), orders);
}

fn till_orders(state: &AppState) -> usize {
    state.book().orders(None, 1000).unwrap().len()
}

#[test]
fn scanning_adds_and_an_unknown_code_changes_nothing() {
    let till = Till::new();
    let b = till.basket();
    let after = till.scan(&b.key, "LATTE").unwrap();
    assert_eq!((after.lines.len(), after.total_items, after.total_q), (1, 1, 750));
    let after = till.scan(&b.key, "3*7890000000001").unwrap();
    let espresso = after.lines.iter().find(|l| l.sku == "ESPRESSO").unwrap();
    assert_eq!((espresso.qty, espresso.total_q), (3, 1500));
    let after = till.scan(&b.key, " 2*latte ").unwrap();
    assert_eq!(after.lines.iter().find(|l| l.sku == "LATTE").unwrap().qty, 3);

    let e = till.scan(&b.key, "NOPE-42").unwrap_err();
    assert_eq!(e.code, "unknown_product");
    assert!(e.message.contains("NOPE-42"), "a readable message naming the code: {e}");
    for bad in ["0*LATTE", "*LATTE", "x*LATTE", "999999999*LATTE"] {
        assert_eq!(till.scan(&b.key, bad).unwrap_err().code, "invalid_quantity", "{bad}");
    }
    let unchanged: Basket = till.ok("basket_get", json!({"key": b.key}));
    assert_eq!(unchanged, after, "nothing changed");
}

#[test]
fn basket_lines_quantities_discounts_and_note() {
    let till = Till::new();
    let b = till.basket();
    let added: Basket = till.ok("basket_add", json!({"key": b.key, "sku": "CROISSANT", "qty": 2}));
    let line = added.lines[0].line_id.clone();
    let b2: Basket = till.ok("basket_set_qty", json!({"key": b.key, "lineId": line, "qty": 4}));
    assert_eq!(b2.lines[0].qty, 4);
    let b3: Basket = till.ok("basket_line_discount", json!({"key": b.key, "lineId": line, "discountQ": 100}));
    assert_eq!(b3.lines[0].total_q, 4 * 650 - 100);
    let b4: Basket = till.ok("basket_discount", json!({"key": b.key, "discountQ": 200}));
    assert_eq!((b4.discount_q, b4.total_q), (200, 4 * 650 - 300));
    let b5: Basket = till.ok("basket_note", json!({"key": b.key, "note": "no sugar"}));
    assert_eq!(b5.note.as_deref(), Some("no sugar"));
    let b6: Basket = till.ok("basket_set_qty", json!({"key": b.key, "lineId": line, "qty": 0}));
    assert!(b6.lines.is_empty(), "qty 0 removes the line");
    till.scan(&b.key, "LATTE").unwrap();
    let l = till.scan(&b.key, "ESPRESSO").unwrap().lines[1].line_id.clone();
    let b7: Basket = till.ok("basket_remove", json!({"key": b.key, "lineId": l}));
    assert_eq!(b7.lines.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>(), ["LATTE"]);
    let e = till.err("basket_line_discount", json!({"key": b.key, "lineId": "L99", "discountQ": 1}));
    assert_eq!(e.code, "unknown_line");
    till.ok::<()>("basket_abandon", json!({"key": b.key}));
    assert_eq!(till.scan(&b.key, "LATTE").unwrap_err().code, "session_not_open");
}

#[test]
fn checkout_twice_is_one_order() {
    let till = Till::new();
    let before = till_orders(&till.app.state::<AppState>());
    let b = till.basket();
    till.scan(&b.key, "2*LATTE").unwrap();
    let first: Checkout = till.ok("checkout", json!({"key": b.key}));
    let again: Checkout = till.ok("checkout", json!({"key": b.key}));
    assert_eq!(first, again, "a double F12 returns the same order");
    assert_eq!((first.total_q, first.amount_due_q, first.currency.as_str()), (1500, 1500, "BRL"));
    assert_eq!(till_orders(&till.app.state::<AppState>()), before + 1, "one order");
    // Partly paid, a retry says what is still due.
    till.pay(&first.order_ref, json!({"kind": "method", "name": "pix", "amount_q": 500})).unwrap();
    let retried: Checkout = till.ok("checkout", json!({"key": b.key}));
    assert_eq!((retried.order_ref.as_str(), retried.amount_due_q), (first.order_ref.as_str(), 1000));
    let empty = till.basket();
    assert_eq!(till.err("checkout", json!({"key": empty.key})).code, "empty_session");
}

#[test]
fn cash_pays_with_change_and_exact_cash() {
    let till = Till::new();
    let order = till.sale(&["LATTE", "CROISSANT", "ESPRESSO"]);
    assert_eq!(order.total_q, 750 + 650 + 500);
    let paid = till.pay(&order.order_ref, json!({"kind": "cash", "tendered_q": 5000})).unwrap();
    assert!(paid.paid);
    assert_eq!((paid.paid_q, paid.amount_due_q, paid.change_due_q), (1900, 0, 3100));
    assert_eq!(paid.payments.len(), 1);
    assert!(paid.payments[0].approved && paid.payments[0].method == "cash");
    assert_eq!(till.pay(&order.order_ref, json!({"kind": "cash", "tendered_q": null})).unwrap_err().code, "already_paid");

    let exact = till.sale(&["3*LATTE"]);
    let paid = till.pay(&exact.order_ref, json!({"kind": "cash", "tendered_q": null})).unwrap();
    assert_eq!((paid.paid, paid.paid_q, paid.change_due_q), (true, 2250, 0), "null is exact cash");
}

#[test]
fn a_declined_card_leaves_the_order_payable_then_a_good_card_pays() {
    let till = Till::new();
    let order = till.sale(&["2*CAPPUCCINO"]);
    let declined = till.pay(&order.order_ref, json!({"kind": "card", "number": "4000000000000002", "amount_q": null})).unwrap();
    assert!(!declined.paid);
    let why = declined.declined.expect("the decline is reported");
    assert_eq!(why.code, "card_declined");
    assert!(!why.message.is_empty());
    assert_eq!((declined.paid_q, declined.amount_due_q), (0, 1400));
    assert_eq!(declined.payments[0].decline_code.as_deref(), Some("card_declined"));
    let paid = till.pay(&order.order_ref, json!({"kind": "card", "number": "4242 4242 4242 4242", "amount_q": null})).unwrap();
    assert!(paid.paid && paid.declined.is_none());
    assert_eq!(paid.payments[0].last4.as_deref(), Some("4242"));
    let bad = till.pay(&order.order_ref, json!({"kind": "card", "number": "1234", "amount_q": null}));
    assert_eq!(bad.unwrap_err().code, "already_paid");
}

#[test]
fn split_tender_card_method_and_cash() {
    let till = Till::new();
    let order = till.sale(&["LATTE", "CARROT_CAKE", "PAIN_AU_CHOCOLAT"]);
    assert_eq!(order.total_q, 750 + 800 + 750);
    let part = till.pay(&order.order_ref, json!({"kind": "card", "number": "4242424242424242", "amount_q": 1000})).unwrap();
    assert_eq!((part.paid, part.amount_due_q), (false, 1300));
    let part = till.pay(&order.order_ref, json!({"kind": "method", "name": "voucher", "amount_q": 300})).unwrap();
    assert_eq!(part.amount_due_q, 1000);
    let done = till.pay(&order.order_ref, json!({"kind": "cash", "tendered_q": 2000})).unwrap();
    assert_eq!((done.paid, done.paid_q, done.change_due_q), (true, 2300, 1000));
    let e = till.pay(&order.order_ref, json!({"kind": "method", "name": "bitcoin", "amount_q": null})).unwrap_err();
    assert_eq!(e.code, "already_paid");
    let other = till.sale(&["LATTE"]);
    let e = till.pay(&other.order_ref, json!({"kind": "method", "name": "bitcoin", "amount_q": null})).unwrap_err();
    assert_eq!(e.code, "unknown_tender");
    let e = till.pay(&other.order_ref, json!({"kind": "card", "number": "4242424242424242", "amount_q": 99999})).unwrap_err();
    assert_eq!(e.code, "overpayment");
}

#[test]
fn baskets_park_as_tabs_and_resume() {
    let till = Till::new();
    let a = till.basket();
    till.scan(&a.key, "2*LATTE").unwrap();
    let tab: TabSummary = till.ok("basket_park", json!({"key": a.key, "handle": "Ana"}));
    assert_eq!((tab.handle.as_deref(), tab.label.as_str(), tab.total_items, tab.total_q), (Some("tab:Ana"), "Ana", 2, 1500));
    let table: Basket = till.ok("basket_open", json!({"handle": "table:4"}));
    assert_eq!(table.handle.as_deref(), Some("table:4"));
    let empty = till.basket();
    let tabs: Vec<TabSummary> = till.ok("tabs", json!({}));
    let keys: Vec<&str> = tabs.iter().map(|t| t.key.as_str()).collect();
    assert!(keys.contains(&a.key.as_str()) && keys.contains(&table.key.as_str()), "{tabs:?}");
    assert!(!keys.contains(&empty.key.as_str()), "an empty unnamed basket is no tab");
    let e = till.err("basket_park", json!({"key": empty.key, "handle": "Ana"}));
    assert_eq!(e.code, "handle_in_use");
    assert_eq!(till.err("basket_park", json!({"key": empty.key, "handle": "  "})).code, "invalid_argument");
    // Resume: the parked basket is all there, and sells.
    let resumed: Basket = till.ok("basket_get", json!({"key": tab.key}));
    assert_eq!((resumed.handle.as_deref(), resumed.total_q), (Some("tab:Ana"), 1500));
    let order: Checkout = till.ok("checkout", json!({"key": tab.key}));
    assert_eq!(order.total_q, 1500);
    let tabs: Vec<TabSummary> = till.ok("tabs", json!({}));
    assert!(tabs.iter().all(|t| t.key != tab.key), "a sold tab is closed");
}

#[test]
fn errors_are_code_and_message() {
    let till = Till::new();
    let raw = get_ipc_response(
        &till.webview,
        tauri::webview::InvokeRequest {
            cmd: "basket_get".into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(json!({"key": "no-such-basket"})),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .unwrap_err();
    let fields: Vec<&String> = raw.as_object().expect("an object, never a bare string").keys().collect();
    assert_eq!(fields, ["code", "message"]);
    assert_eq!(raw["code"], "unknown_session");
    assert_eq!(till.err("receipt", json!({"orderRef": "NOPE"})).code, "unknown_order");
    assert_eq!(till.err("shift_open", json!({"floatQ": 100})).code, "shift_already_open");
    assert_eq!(till.err("settings_save", json!({"settings": {"shop_name": "X", "locale": "xx-XX"}})).code, "invalid_setting");
    assert_eq!(till.err("enroll", json!({"serverUrl": " ", "code": "C"})).code, "invalid_argument");
}

#[test]
fn the_receipt_is_the_text_the_cli_prints() {
    let till = Till::new();
    let order = till.sale(&["LATTE", "2*CROISSANT"]);
    till.pay(&order.order_ref, json!({"kind": "cash", "tendered_q": 5000})).unwrap();
    let r: ReceiptInfo = till.ok("receipt", json!({"orderRef": order.order_ref}));
    assert_eq!(r.order_ref, order.order_ref);
    assert!(r.text.lines().all(|l| l.chars().count() <= 48), "48 columns:\n{}", r.text);
    assert!(r.text.contains(&order.order_ref), "{}", r.text);
    let dir = till.dir.path().to_str().unwrap().to_string();
    let cli = tillbook_cli::execute(["--data-dir", dir.as_str(), "receipt", order.order_ref.as_str()]);
    assert_eq!(cli.status, 0, "{}", cli.stderr);
    assert_eq!(cli.stdout.trim_end(), r.text.trim_end(), "the app shows what `tillbook receipt` prints");
}

#[test]
fn settings_are_saved_in_the_book() {
    let till = Till::new();
    let s: SettingsInfo = till.ok("settings_get", json!({}));
    assert_eq!((s.demo, s.enrolled, s.server_url.as_deref(), s.currency.as_str()), (true, false, None, "BRL"));
    let saved: SettingsInfo = till.ok("settings_save", json!({"settings": {"shop_name": "Padaria Sol", "locale": "en-US"}}));
    assert_eq!((saved.shop_name.as_str(), saved.locale.as_str()), ("Padaria Sol", "en-US"));
    let info: AppInfo = till.ok("app_info", json!({}));
    assert_eq!(info.shop_name, "Padaria Sol");
    let book = tillbook_orderbook::Book::open(&till.dir.path().join("book.sqlite")).unwrap();
    assert_eq!(book.settings().locale, "en-US", "kept in the book, where the CLI sees it");
}

#[test]
fn a_real_till_opens_its_shift_with_a_float() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = tillbook_orderbook::Book::init(&dir.path().join("book.sqlite"), tillbook_orderbook::InitOptions::default()).unwrap();
    book.upsert_products(&tillbook_protocol::catalog::demo_products()).unwrap();
    drop(book);
    let builder = crate::specta_builder::<MockRuntime>();
    let app = mock_builder().invoke_handler(builder.invoke_handler()).build(mock_context(noop_assets())).unwrap();
    builder.mount_events(&app);
    app.manage(AppState::open(dir.path()).unwrap());
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    let till = Till { app, webview, dir };
    let info: AppInfo = till.ok("app_info", json!({}));
    assert!(!info.demo && info.shift.is_none(), "{info:?}");
    let b = till.basket();
    till.scan(&b.key, "LATTE").unwrap();
    assert_eq!(till.err("checkout", json!({"key": b.key})).code, "no_open_shift");
    let (tx, rx) = std::sync::mpsc::channel();
    till.app.listen_any("sync-changed", move |e| {
        let _ = tx.send(e.payload().to_string());
    });
    let info: AppInfo = till.ok("shift_open", json!({"floatQ": 15000}));
    assert_eq!(info.shift.map(|s| s.float_q), Some(15000));
    let event: SyncInfo = serde_json::from_str(&rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap()).unwrap();
    assert_eq!(event.pending, 1, "the shift.opened event waits to sync");
    let order: Checkout = till.ok("checkout", json!({"key": b.key}));
    let event: SyncInfo = serde_json::from_str(&rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap()).unwrap();
    assert_eq!(event.pending, 2, "a checkout sends sync-changed with the pending count up at once");
    assert_eq!(order.total_q, 750);
}
