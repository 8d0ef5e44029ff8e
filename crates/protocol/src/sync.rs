//! Bodies of the sync endpoints: enrolment, push, pull.
//!
//! Push carries outbox rows in `seq` order; the server answers with the last `seq` it has
//! durably applied for the terminal, and the terminal acknowledges rows up to that and no
//! further. Pull carries a change-log cursor; the answer holds commit-ordered changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::ProductRecord;

/// `POST /v1/admin/stores` body: a store of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateStore {
    /// Short code, 1-16 letters, digits, `-` or `_`, unique in the chain (e.g. `downtown`).
    pub code: String,
    pub name: String,
}

/// A store as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInfo {
    pub code: String,
    pub name: String,
    pub created_at: String,
}

/// `POST /v1/admin/terminals` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTerminal {
    /// What the back office calls the till (e.g. `Counter 1`).
    pub name: String,
    /// The store's code; the default store when absent.
    #[serde(default)]
    pub store: Option<String>,
    /// The terminal code printed in order references; checked unique within the store. When
    /// absent the server picks the first free `T01`, `T02`, … of the store.
    #[serde(default)]
    pub terminal_code: Option<String>,
}

/// `POST /v1/admin/terminals` answer: the one-time code the terminal enrols with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalCreated {
    pub terminal_id: Uuid,
    pub enrollment_code: String,
    pub store: String,
    pub terminal_code: String,
}

/// `POST /v1/enroll` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub enrollment_code: String,
}

/// `POST /v1/enroll` answer. The token is shown once; the server keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub terminal_id: Uuid,
    pub name: String,
    pub token: String,
    pub protocol: u32,
    /// The store the terminal belongs to (its code and name).
    pub store: String,
    pub store_name: String,
    /// The terminal's code, unique within its store: the book uses it in every order
    /// reference from now on (orders rung up before keep theirs).
    pub terminal_code: String,
}

/// One outbox row on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub seq: u64,
    pub event_id: Uuid,
    /// An [`crate::events::EventKind`] wire name.
    pub kind: String,
    pub payload: serde_json::Value,
    /// [`crate::payload_hash`] of `payload`.
    pub payload_hash: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/sync/push` body: a page of outbox rows, ascending `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol: u32,
    pub terminal_id: Uuid,
    /// The store the terminal believes it belongs to; another store than its own is a 403.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    pub events: Vec<OutboxEvent>,
}

/// What became of one pushed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// Applied now, exactly once.
    Applied,
    /// Already applied before (a retry); skipped.
    Duplicate,
    /// Recorded as rejected with a reason; the cursor advanced past it.
    Rejected,
}

/// Per-row result in a push answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventResult {
    pub seq: u64,
    pub event_id: Uuid,
    pub outcome: EventOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /v1/sync/push` answer, sent only after a durable commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// The highest seq the server has applied (or rejected) for this terminal.
    pub last_applied_seq: u64,
    pub results: Vec<EventResult>,
    /// Set when the page started past `last_applied_seq + 1`: resend from there.
    #[serde(default)]
    pub gap: bool,
}

/// Where a terminal stands in the two change logs it reads: the chain's (catalog, channels)
/// and its own store's (stock levels, unique items). Each is commit-ordered on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PullCursor {
    pub chain: u64,
    pub store: u64,
}

/// `POST /v1/sync/pull` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub protocol: u32,
    pub terminal_id: Uuid,
    /// The store whose data is asked for; another store than the terminal's own is a 403.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// The last versions applied; `None` asks for a full snapshot.
    pub cursor: Option<PullCursor>,
    pub limit: u32,
}

/// One change-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A product was created or changed (deactivation included).
    Product { version: u64, product: ProductRecord },
    /// The server's on-hand for a SKU at a location.
    StockLevel { version: u64, sku: String, location: String, on_hand: i64 },
    /// A channel: its status flow, pricing and edit policy.
    Channel { version: u64, channel: crate::channel::Channel },
    /// A staff member (deactivation included), with the PIN's hash for offline sign-in.
    Staff { version: u64, staff: crate::staff::StaffRecord },
    /// Where a one-of-a-kind item stands in the store, judged by the server from every
    /// terminal's orders: `sold_by` names the live order that sold it, `None` when available.
    UniqueItem {
        version: u64,
        sku: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sold_by: Option<UniqueSale>,
        /// An open basket at a till holds it (reported by that till's `unique.hold`): other
        /// tills treat it as reserved until `until`, by their own clock.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reserved: Option<UniqueReservation>,
    },
}

/// An open basket that holds a unique item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueReservation {
    pub terminal_id: Uuid,
    pub until: DateTime<Utc>,
}

/// The live order that sold a unique item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueSale {
    pub order_id: Uuid,
    pub order_ref: String,
    pub terminal_id: Uuid,
}

/// Which change log an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogScope {
    /// Catalog and channels: the whole chain's.
    Chain,
    /// Stock levels and unique items: one store's.
    Store,
}

impl Change {
    pub fn version(&self) -> u64 {
        match self {
            Change::Product { version, .. }
            | Change::StockLevel { version, .. }
            | Change::Channel { version, .. }
            | Change::Staff { version, .. }
            | Change::UniqueItem { version, .. } => *version,
        }
    }

    /// The log this change is kept in (its version counts in that log's cursor).
    pub fn scope(&self) -> LogScope {
        match self {
            Change::Product { .. } | Change::Channel { .. } | Change::Staff { .. } => LogScope::Chain,
            Change::StockLevel { .. } | Change::UniqueItem { .. } => LogScope::Store,
        }
    }
}

/// `POST /v1/sync/pull` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    /// When true the terminal drops what it pulled before and takes `changes` as a snapshot.
    pub reset: bool,
    pub changes: Vec<Change>,
    /// The cursor to send next time.
    pub cursor: PullCursor,
    /// More changes wait past `cursor`.
    pub has_more: bool,
    /// The highest seq the server has applied for this terminal, read in the same
    /// transaction as the stock levels: the terminal adds its own deltas after it.
    pub last_applied_seq: u64,
}
