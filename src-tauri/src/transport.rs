//! The boundary types: what the UI sends and receives, as generated into
//! `ui/src/lib/bindings.ts`. Each is built from an order-book view by a plain `From`, so a
//! command stays parse → one call → map.
//!
//! How values cross:
//! - **Money** is integer minor units in fields ending `_q`; counts and quantities are
//!   integers. They are `i64` in Rust and `number` in TypeScript: the exporter is told to
//!   write 64-bit integers as `number` (`dangerously_cast_bigints_to_number` in
//!   `bindings.rs`). That is safe here because every amount and count the book holds is
//!   bounded by `tillbook_protocol::limits` (a quantity ≤ `MAX_QTY`, a price ≤
//!   `MAX_PRICE_Q`, an order ≤ `MAX_LINES` lines, any amount ≤ `MAX_AMOUNT_Q`), far below
//!   2^53, the largest integer a JavaScript number holds exactly. Never floats.
//! - **Ids** (UUIDs, session keys, line ids, order references) are strings.
//! - **Timestamps** are RFC 3339 strings in UTC (`2026-11-26T14:05:00.000Z`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use specta::Type;
use tillbook_orderbook as book;
use tillbook_protocol::events::PaymentOutcome;

/// A time as it crosses: RFC 3339 in UTC, to the millisecond.
pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What the shell shows on every screen: the till, who acts and its shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct AppInfo {
    /// A demo book (made on first start): demo catalog, demo float, demo orders.
    pub demo: bool,
    pub enrolled: bool,
    pub shop_name: String,
    pub locale: String,
    pub currency: String,
    pub terminal_code: String,
    pub store_name: Option<String>,
    /// The staff member acting (the default cashier when nobody signed in).
    pub cashier: String,
    /// The open cash-drawer shift; `null`: ask for the float before selling.
    pub shift: Option<ShiftInfo>,
    /// Methods besides cash and card (`pix`, `voucher`…).
    pub tender_methods: Vec<String>,
    /// Where the book (`book.sqlite`) and the logs (`logs/`) are.
    pub data_dir: String,
    pub version: String,
}

/// The open shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ShiftInfo {
    pub shift_id: String,
    pub float_q: i64,
    pub opened_at: String,
    pub opened_by: String,
    /// `YYYY-MM-DD`.
    pub business_date: String,
}

impl From<&book::ShiftView> for ShiftInfo {
    fn from(s: &book::ShiftView) -> Self {
        ShiftInfo {
            shift_id: s.shift_id.to_string(),
            float_q: s.float_q,
            opened_at: ts(s.opened_at),
            opened_by: s.opened_by.clone(),
            business_date: s.business_date.to_string(),
        }
    }
}

/// One product of the catalog grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct CatalogItem {
    pub sku: String,
    pub name: String,
    pub price_q: i64,
    pub category: Option<String>,
    pub barcodes: Vec<String>,
    pub variant: Option<String>,
    /// One of a kind (quantity 1 only).
    pub unique: bool,
    /// False for a one-of-a-kind item already sold or held by another till's basket.
    pub available: bool,
}

impl CatalogItem {
    pub fn of(p: &book::Product, now: DateTime<Utc>) -> CatalogItem {
        CatalogItem {
            sku: p.sku.clone(),
            name: p.name.clone(),
            price_q: p.price_q,
            category: p.category.clone(),
            barcodes: p.barcodes.clone(),
            variant: p.variant.clone(),
            unique: p.unique,
            available: p.active && !(p.unique && (p.sold_by.is_some() || p.reserved_elsewhere(now))),
        }
    }
}

/// The basket being rung up (an open session of the book).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Basket {
    /// The session key: every basket command takes it.
    pub key: String,
    /// The tab's handle (`tab:Ana`, `table:4`), if it was named.
    pub handle: Option<String>,
    pub lines: Vec<BasketLine>,
    /// After line discounts.
    pub subtotal_q: i64,
    /// The order discount.
    pub discount_q: i64,
    /// The tax the basket would carry if paid now (inside the total with inclusive prices).
    pub tax_q: i64,
    /// What the customer pays.
    pub total_q: i64,
    pub total_items: i64,
    pub note: Option<String>,
    /// What the checks found: a `blocking` issue stops the checkout.
    pub issues: Vec<BasketIssue>,
    pub currency: String,
}

/// One line of the basket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct BasketLine {
    pub line_id: String,
    pub sku: String,
    pub name: String,
    pub unit_price_q: i64,
    pub qty: i64,
    pub discount_q: i64,
    pub total_q: i64,
    /// Marks left when the catalog changed under the basket (`price_changed`, `product_gone`).
    pub flags: Vec<LineFlag>,
}

/// Why a line is marked, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct LineFlag {
    pub code: String,
    pub message: String,
}

/// How much an issue matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Blocking,
    Warning,
}

/// Something the checks found (stock short, price changed, product gone…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct BasketIssue {
    pub code: String,
    pub severity: Severity,
    pub line_id: Option<String>,
    pub message: String,
}

impl From<book::SessionView> for Basket {
    fn from(s: book::SessionView) -> Self {
        Basket {
            key: s.session_key,
            handle: s.handle,
            lines: s
                .lines
                .into_iter()
                .map(|l| BasketLine {
                    line_id: l.line_id,
                    sku: l.sku,
                    name: l.name,
                    unit_price_q: l.unit_price_q,
                    qty: l.qty,
                    discount_q: l.discount_q,
                    total_q: l.total_q,
                    flags: l.flags.into_iter().map(|f| LineFlag { code: f.code, message: f.message }).collect(),
                })
                .collect(),
            subtotal_q: s.subtotal_q,
            discount_q: s.discount_q,
            tax_q: s.tax_q,
            total_q: s.total_q,
            total_items: s.total_items,
            note: s.note,
            issues: s
                .issues
                .into_iter()
                .map(|i| BasketIssue {
                    code: i.code,
                    severity: match i.severity {
                        book::Severity::Blocking => Severity::Blocking,
                        book::Severity::Warning => Severity::Warning,
                    },
                    line_id: i.line_id,
                    message: i.message,
                })
                .collect(),
            currency: s.currency,
        }
    }
}

/// The prefix a bare tab name gets: the book's handles are `KIND:REF`.
pub const TAB_PREFIX: &str = "tab:";

/// The handle a tab name stands for: `Ana` is `tab:Ana`; `table:4` stays as typed.
pub fn tab_handle(name: &str) -> String {
    let name = name.trim();
    if name.contains(':') {
        name.to_string()
    } else {
        format!("{TAB_PREFIX}{name}")
    }
}

/// An open basket parked as a tab (or any open basket with lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TabSummary {
    pub key: String,
    /// The stored handle (`tab:Ana`, `table:4`), `null` for an unnamed basket.
    pub handle: Option<String>,
    /// What to show: the handle without `tab:` (`Ana`, `table:4`), or `""` when unnamed.
    pub label: String,
    pub lines: i64,
    pub total_items: i64,
    pub total_q: i64,
    pub updated_at: String,
}

impl From<book::SessionSummary> for TabSummary {
    fn from(s: book::SessionSummary) -> Self {
        let label = s.handle.as_deref().map(|h| h.strip_prefix(TAB_PREFIX).unwrap_or(h).to_string()).unwrap_or_default();
        TabSummary {
            key: s.session_key,
            handle: s.handle,
            label,
            lines: s.lines,
            total_items: s.total_items,
            total_q: s.total_q,
            updated_at: ts(s.updated_at),
        }
    }
}

/// A basket committed as an order, ready to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Checkout {
    pub order_ref: String,
    pub total_q: i64,
    /// What is still due (the total, unless a retried checkout finds it partly paid).
    pub amount_due_q: i64,
    pub currency: String,
}

/// One tender, as the Pay screen sends it (`kind` tells which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TenderInput {
    /// Cash handed over; `null` is exact cash (what is due).
    Cash { tendered_q: Option<i64> },
    /// A card through the payment gateway; `null` amount is whatever is due.
    Card { number: String, amount_q: Option<i64> },
    /// A configured method (`pix`, `voucher`); `null` amount is whatever is due.
    Method { name: String, amount_q: Option<i64> },
}

impl TenderInput {
    /// The book's tender (no amount for cash: exact cash, which the book works out).
    pub fn to_tender(self) -> book::Tender {
        match self {
            TenderInput::Cash { tendered_q: Some(tendered_q) } => book::Tender::Cash { tendered_q },
            TenderInput::Cash { tendered_q: None } => book::Tender::ExactCash,
            TenderInput::Card { number, amount_q } => book::Tender::Card { number, amount_q },
            TenderInput::Method { name, amount_q } => book::Tender::Method { name, amount_q },
        }
    }
}

/// A declined card, in words (`card_declined`, `insufficient_funds`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct DeclineInfo {
    pub code: String,
    pub message: String,
}

/// One payment attempt made by a `pay` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PaymentLine {
    pub payment_id: String,
    /// `cash`, `card` or a configured method.
    pub method: String,
    pub approved: bool,
    pub decline_code: Option<String>,
    /// What it paid of the order (a declined attempt: what was asked).
    pub amount_q: i64,
    pub tendered_q: i64,
    pub change_q: i64,
    pub last4: Option<String>,
    pub at: String,
}

/// What a `pay` call did. A declined card is not an error: `declined` says why and the order
/// stays payable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PayResult {
    pub order_ref: String,
    pub total_q: i64,
    pub paid_q: i64,
    pub amount_due_q: i64,
    pub change_due_q: i64,
    /// Nothing is left to pay.
    pub paid: bool,
    pub declined: Option<DeclineInfo>,
    pub payments: Vec<PaymentLine>,
}

impl From<book::PayOutcome> for PayResult {
    fn from(p: book::PayOutcome) -> Self {
        PayResult {
            paid: p.amount_due_q == 0,
            order_ref: p.order_ref,
            total_q: p.total_q,
            paid_q: p.paid_q,
            amount_due_q: p.amount_due_q,
            change_due_q: p.change_due_q,
            declined: p.declined.map(|d| DeclineInfo { code: d.code, message: d.message }),
            payments: p
                .payments
                .into_iter()
                .map(|v| PaymentLine {
                    payment_id: v.payment_id.to_string(),
                    method: v.method,
                    approved: v.outcome == PaymentOutcome::Approved,
                    decline_code: v.decline_code,
                    amount_q: v.amount_q,
                    tendered_q: v.tendered_q,
                    change_q: v.change_q,
                    last4: v.last4,
                    at: ts(v.at),
                })
                .collect(),
        }
    }
}

/// The receipt on screen: the 48-column text `tillbook receipt REF` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ReceiptInfo {
    pub order_ref: String,
    pub text: String,
}

/// The sync badge and its details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SyncInfo {
    pub enrolled: bool,
    /// The last round reached the server (`true`) or not (`false`); `null`: not tried yet or
    /// not enrolled.
    pub online: Option<bool>,
    /// Events not acknowledged by the server yet.
    pub pending: i64,
    /// Events the server rejected (see `rejections`).
    pub rejected: i64,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    /// Why syncing stopped until the till is enrolled again.
    pub halted: Option<String>,
    /// The rejected events with the server's reasons, newest first.
    pub rejections: Vec<Rejection>,
    /// The latest orders, newest first, each with how far it has got to the server.
    pub orders: Vec<OrderSync>,
}

/// One order's sync state: `pending` (kept on this till, not sent yet), `sent` (not yet
/// acknowledged), `synced` (the server applied it) or `rejected` (see `rejections`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct OrderSync {
    pub order_ref: String,
    pub state: String,
}

impl From<&book::OrderSummary> for OrderSync {
    fn from(o: &book::OrderSummary) -> Self {
        let state = match o.sync_state {
            book::SyncState::Pending => "pending",
            book::SyncState::Sent => "sent",
            book::SyncState::Applied => "synced",
            book::SyncState::Rejected => "rejected",
        };
        OrderSync { order_ref: o.order_ref.clone(), state: state.into() }
    }
}

/// An event the server rejected, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Rejection {
    pub seq: i64,
    pub kind: String,
    pub reason: String,
    pub order_ref: Option<String>,
}

impl SyncInfo {
    pub fn of(
        s: &book::SyncStatus,
        rejected: &[book::OutboxRow],
        orders: &[book::OrderSummary],
        online: Option<bool>,
    ) -> SyncInfo {
        SyncInfo {
            enrolled: s.enrolled,
            online: if s.enrolled { online } else { None },
            pending: s.pending,
            rejected: s.rejected,
            last_success_at: s.last_success_at.map(ts),
            last_error: s.last_error.clone(),
            halted: s.halted.clone(),
            rejections: rejected
                .iter()
                .map(|r| Rejection {
                    seq: r.seq,
                    kind: r.kind.clone(),
                    reason: r.reason.clone().unwrap_or_else(|| "rejected".into()),
                    order_ref: r.order_ref.clone(),
                })
                .collect(),
            orders: orders.iter().map(OrderSync::from).collect(),
        }
    }
}

/// The till's settings as the settings screen shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SettingsInfo {
    pub shop_name: String,
    pub locale: String,
    pub currency: String,
    pub terminal_code: String,
    pub server_url: Option<String>,
    pub enrolled: bool,
    pub demo: bool,
}

/// What the settings screen saves (in one transaction of the book).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SettingsInput {
    pub shop_name: String,
    /// `pt-BR` or `en-US`.
    pub locale: String,
}

/// The event `sync-changed`: sent after every sync round and after every local change that
/// adds to the outbox (a checkout, a payment, a shift opened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, tauri_specta::Event)]
pub struct SyncChanged(pub SyncInfo);
