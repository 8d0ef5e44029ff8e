//! Helpers of the story: backends to run on, an in-process server, event builders.
#![allow(dead_code)]

use chrono::{NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tillbook_protocol::events::{
    EventPayload, OrderCommitted, OrderItemStatusChanged, OrderLine, OrderStatusChanged,
    StockAdjusted, StockDelta, StockReason, UniqueHold,
};
use tillbook_protocol::sync::{EnrollResponse, OutboxEvent, PushRequest, TerminalCreated};
use tillbook_protocol::{payload_hash, ErrorBody, PROTOCOL_VERSION};
use tillbook_server::{AppState, Store};
use uuid::Uuid;

pub const ADMIN: &str = "test-admin-token";
pub const PG_ENV: &str = "TILLBOOK_TEST_POSTGRES_URL";

/// A database to run a story on; the temp dir lives as long as the SQLite file is needed.
pub struct Db {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn sqlite_db() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("server.db").display());
    Db {
        name: "sqlite",
        url,
        _dir: Some(dir),
    }
}

/// The test PostgreSQL's URL; panics when it is not set, so a `_postgres` test run without
/// PostgreSQL fails loudly instead of passing (they are `#[ignore]`d by default).
pub fn postgres_url() -> String {
    std::env::var(PG_ENV).unwrap_or_else(|_| {
        panic!("{PG_ENV} is not set: run the PostgreSQL tests under scripts/with-postgres.sh")
    })
}

/// A fresh, empty database on the test PostgreSQL.
pub async fn postgres_db() -> Db {
    let base = postgres_url();
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to test postgres");
    tokio::spawn(conn);
    let name = format!("tillbook_{}", Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    Db {
        name: "postgres",
        url: format!("{prefix}/{name}"),
        _dir: None,
    }
}

/// A real server on 127.0.0.1, port 0, with its store for direct checks.
pub struct Server {
    pub base: String,
    pub store: Store,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start(url: &str) -> Server {
        let store = tillbook_server::open(url).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(tillbook_server::serve(
            listener,
            AppState::new(store.clone(), ADMIN),
        ));
        Server {
            base,
            store,
            http: reqwest::Client::new(),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `body` (JSON) with an optional bearer token; returns status and JSON answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, Some(ADMIN), body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    /// Creates and enrols a terminal over HTTP, in the default store.
    pub async fn terminal(&self, name: &str) -> EnrollResponse {
        self.terminal_in(name, None).await
    }

    /// Creates and enrols a terminal over HTTP, in `store` (the default when `None`).
    pub async fn terminal_in(&self, name: &str, store: Option<&str>) -> EnrollResponse {
        let mut body = json!({"name": name});
        if let Some(s) = store {
            body["store"] = json!(s);
        }
        let created: TerminalCreated =
            serde_json::from_value(self.admin("POST", "/v1/admin/terminals", Some(body)).await)
                .unwrap();
        let (status, v) = self
            .call(
                "POST",
                "/v1/enroll",
                None,
                Some(json!({"enrollment_code": created.enrollment_code})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        serde_json::from_value(v).unwrap()
    }
}

/// Asserts an error answer: status and stable code.
pub fn assert_error(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "answer {}", got.1);
    let body: ErrorBody = serde_json::from_value(got.1.clone())
        .unwrap_or_else(|_| panic!("not an error body: {}", got.1));
    assert_eq!(body.code, code, "answer {}", got.1);
    assert!(!body.message.is_empty());
}

pub fn outbox(seq: u64, payload: &EventPayload) -> OutboxEvent {
    let value = payload.to_value();
    OutboxEvent {
        seq,
        event_id: Uuid::now_v7(),
        kind: payload.kind().as_str().to_string(),
        payload_hash: payload_hash(&value),
        payload: value,
        created_at: Utc::now(),
    }
}

pub fn delta(sku: &str, qty: i64, reason: StockReason, source: &str) -> StockDelta {
    StockDelta {
        delta_id: Uuid::now_v7(),
        sku: sku.into(),
        location: "main".into(),
        delta: qty,
        reason,
        source: source.into(),
        at: Utc::now(),
        counted: None,
    }
}

/// `order.committed` selling `qty` of `sku` at 500 each, with a fresh order id.
pub fn order(order_ref: &str, sku: &str, qty: i64, unique: bool) -> EventPayload {
    EventPayload::OrderCommitted(OrderCommitted {
        order_id: Uuid::now_v7(),
        order_ref: order_ref.into(),
        channel: "pos".into(),
        status: "new".into(),
        currency: "BRL".into(),
        subtotal_q: 500 * qty,
        discount_q: 0,
        total_q: 500 * qty,
        business_date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        committed_at: Utc::now(),
        handle: None,
        lines: vec![OrderLine {
            line_no: 1,
            sku: sku.into(),
            name: sku.into(),
            unit_price_q: 500,
            qty,
            discount_q: 0,
            total_q: 500 * qty,
            unique,
            tax_rate_bp: 0,
            order_discount_q: 0,
            tax_q: 0,
            category: None,
        }],
        stock_deltas: vec![delta(sku, -qty, StockReason::Sale, order_ref)],
        tax_mode: None,
        tax_q: 0,
        taxes: Vec::new(),
        actor: None,
        staff_id: None,
        approved_by: None,
        shift_id: None,
    })
}

/// The order an `order.committed` payload carries.
pub fn committed(p: &EventPayload) -> &OrderCommitted {
    match p {
        EventPayload::OrderCommitted(o) => o,
        other => panic!("not an order.committed: {other:?}"),
    }
}

/// `order.status_changed` of the order `of` commits; a cancel gives the stock back.
pub fn status(
    of: &EventPayload,
    from: &str,
    to: &str,
    give_back: Option<(&str, i64)>,
) -> EventPayload {
    let o = committed(of);
    status_of(o.order_id, &o.order_ref, from, to, give_back)
}

/// `order.status_changed` of an order known by id and reference.
pub fn status_of(
    order_id: Uuid,
    order_ref: &str,
    from: &str,
    to: &str,
    give_back: Option<(&str, i64)>,
) -> EventPayload {
    EventPayload::OrderStatusChanged(OrderStatusChanged {
        order_id,
        order_ref: order_ref.into(),
        from: from.into(),
        to: to.into(),
        actor: "cashier".into(),
        at: Utc::now(),
        reason: None,
        stock_deltas: give_back
            .map(|(sku, q)| vec![delta(sku, q, StockReason::Cancel, order_ref)])
            .unwrap_or_default(),
        staff_id: None,
        approved_by: None,
        shift_id: None,
    })
}

/// `order.item_status_changed` of line `line_no` of the order `of` commits.
pub fn item(of: &EventPayload, line_no: u32, from: Option<&str>, to: &str) -> EventPayload {
    let o = committed(of);
    EventPayload::OrderItemStatusChanged(OrderItemStatusChanged {
        order_id: o.order_id,
        order_ref: o.order_ref.clone(),
        line_no,
        from: from.map(str::to_string),
        to: to.into(),
        actor: "kitchen".into(),
        at: Utc::now(),
        stock_deltas: vec![],
        staff_id: None,
    })
}

pub fn adjusted(sku: &str, qty: i64) -> EventPayload {
    EventPayload::StockAdjusted(StockAdjusted {
        note: "shelf".into(),
        stock_deltas: vec![delta(sku, qty, StockReason::Adjustment, "adjust")],
        staff_id: None,
    })
}

/// `stock.adjusted` moving `qty` of `sku` at `at` (as the till's clock says).
pub fn adjusted_at(sku: &str, qty: i64, at: chrono::DateTime<Utc>) -> EventPayload {
    let mut d = delta(sku, qty, StockReason::Adjustment, "adjust");
    d.at = at;
    EventPayload::StockAdjusted(StockAdjusted {
        note: "shelf".into(),
        stock_deltas: vec![d],
        staff_id: None,
    })
}

/// `stock.adjusted` carrying a count of `counted` taken at `at`, with the given delta id.
pub fn counted_at(sku: &str, counted: i64, at: chrono::DateTime<Utc>, id: Uuid) -> EventPayload {
    let mut d = delta(sku, 0, StockReason::Count, "count");
    d.at = at;
    d.counted = Some(counted);
    d.delta_id = id;
    EventPayload::StockAdjusted(StockAdjusted {
        note: "count".into(),
        stock_deltas: vec![d],
        staff_id: None,
    })
}

pub fn page(terminal: Uuid, events: &[OutboxEvent]) -> PushRequest {
    PushRequest {
        protocol: PROTOCOL_VERSION,
        terminal_id: terminal,
        store: None,
        events: events.to_vec(),
    }
}

/// On-hand of a SKU at location `main` of store `main` as the back office sees it.
pub async fn on_hand(store: &Store, sku: &str) -> i64 {
    on_hand_in(store, "main", sku).await
}

/// On-hand of a SKU at location `main` of a store (its code).
pub async fn on_hand_in(store: &Store, code: &str, sku: &str) -> i64 {
    let stock = store.stock(Some(code)).await.expect("stock");
    stock
        .items
        .iter()
        .find(|i| i.sku == sku && i.location == "main")
        .map(|i| i.on_hand)
        .unwrap_or(0)
}

/// `unique.hold`: basket `session_key` holds `sku` until `until` (`None`: released), at `at`.
pub fn hold(
    sku: &str,
    session_key: &str,
    until: Option<chrono::DateTime<Utc>>,
    at: chrono::DateTime<Utc>,
) -> EventPayload {
    EventPayload::UniqueHold(UniqueHold {
        sku: sku.into(),
        session_key: session_key.into(),
        until,
        at,
    })
}
