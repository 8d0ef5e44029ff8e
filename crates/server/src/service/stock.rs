//! The stock ledger: signed deltas per (store, SKU, location), and counts as baselines.
//!
//! # Counts
//!
//! A count is a baseline at the moment it was taken, not a movement: on-hand = the latest
//! count + the non-count deltas that occurred after it, whatever order the events reach the
//! server in (so another till's sale is never counted twice, nor lost).
//!
//! - Each movement's **ordering time** is `min(at reported by the till, time the server
//!   received it)`: a till clock running ahead cannot put a movement in the future.
//! - "After" means strictly later. At equal times a count comes after every delta stamped
//!   with the same time: a count at `t` includes every movement at or before `t`.
//! - Between two counts at the same time, the one with the greater `delta_id` (UUIDv7,
//!   minted later) wins.
//! - Back-office counts (`/v1/admin/stock/adjust` with `count`) are baselines at the
//!   server's now.
//! - Clock skew: a till clock running *behind* makes its movements look older than they
//!   are, so a count taken meanwhile (by a correct clock) may swallow them: they are recorded
//!   in the ledger but not added to on-hand. Keep till clocks synchronised (NTP).
//!
//! `stock_levels` keeps per key `on_hand` with the baseline it stands on (`count_at`,
//! `count_id`). A non-count delta whose ordering time is after `count_at` (or with no count
//! yet) adds to `on_hand`; an earlier one is only recorded in the ledger. A newer count sets
//! the baseline: `on_hand = counted + Σ ledger non-count deltas after it` (one query; counts
//! are rare). An older count is only recorded. Every sum is checked arithmetic.
//!
//! # The ledger's key
//!
//! `stock_ledger` has one btree, its primary key `(store_id, sku, location, delta_id)`: one
//! index entry per delta. A delta id is unique per (store, sku, location), not across keys:
//! the key refuses one recorded twice for the same (store, sku, location) (the push rejects
//! the event: "stock delta X was already recorded"; a checked page looks deltas up by the
//! whole key). No index on `order_at`: recomputing on-hand at a newer count reads the
//! key's rows by the primary key's prefix `(store_id, sku, location)`, so it never scans
//! another key's rows, and filters them by ordering time. That reads the key's whole history,
//! but only at a new count, which is rare; a second index (or `order_at` in the key, which
//! would no longer refuse a reused delta id) would cost every delta a btree insert instead.
//!
//! Deltas are queued as events apply, in a [`StockBatch`]. Its ledger rows are inserted
//! before the store's change-log lock is taken (they need no position); then, under the
//! lock, the levels are read, brought up to date and logged, a `StockLevel` change per key,
//! in one statement each.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tillbook_protocol::events::{StockDelta, StockReason};
use tillbook_protocol::limits::{check_text, MAX_CODE, MAX_STOCK_DELTA, MAX_TEXT};
use tillbook_protocol::sync::Change;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{stock_key, store_scope, ChangeWriter};
use crate::service::stores::{self, DEFAULT_STORE};
use crate::storage::sql::{now_text, query_keys, timestamp_text, Rows, Tx, Val};

/// The location used when none is named.
pub const DEFAULT_LOCATION: &str = "main";

const LEDGER_COLUMNS: &[&str] = &[
    "store_id",
    "delta_id",
    "sku",
    "location",
    "delta",
    "reason",
    "source",
    "at",
    "order_at",
    "counted",
    "terminal_id",
    "event_id",
    "recorded_at",
];

const LEVEL_COLUMNS: &[&str] = &[
    "store_id", "sku", "location", "on_hand", "count_at", "count_id",
];

/// One movement of a key in the batch: its ordering time, id, delta and (a count) counted.
#[derive(Debug)]
struct Move {
    order_at: String,
    id: String,
    delta: i64,
    counted: Option<i64>,
}

/// A stored level: on-hand, and the baseline it stands on (`count_at`, `count_id`).
type Level = (i64, Option<String>, Option<String>);

fn overflow(sku: &str, location: &str) -> Error {
    Error::Internal(format!("stock of {sku}@{location} overflows"))
}

/// Ledger rows and movements per (sku, location) of one store waiting to reach the database.
#[derive(Debug)]
pub struct StockBatch {
    store_id: i64,
    ledger: Rows,
    moves: BTreeMap<(String, String), Vec<Move>>,
    recorded_at: String,
}

impl StockBatch {
    pub fn new(store_id: i64) -> Self {
        StockBatch {
            store_id,
            ledger: Rows::new("stock_ledger", LEDGER_COLUMNS),
            moves: BTreeMap::new(),
            recorded_at: now_text(),
        }
    }

    /// How many (sku, location) keys move.
    pub fn keys(&self) -> usize {
        self.moves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.moves.is_empty() && self.ledger.is_empty()
    }

    /// Queues a ledger row for `d`, ordered at `min(d.at, received)`.
    pub fn record(
        &mut self,
        d: &StockDelta,
        received: DateTime<Utc>,
        terminal: Option<Uuid>,
        event_id: Option<Uuid>,
    ) {
        let order_at = timestamp_text(d.at.min(received));
        let counted = if d.reason == StockReason::Count {
            d.counted
        } else {
            None
        };
        self.ledger.push([
            Val::from(self.store_id),
            Val::from(d.delta_id),
            Val::from(&d.sku),
            Val::from(&d.location),
            Val::from(d.delta),
            Val::from(d.reason.as_str()),
            Val::from(&d.source),
            Val::from(timestamp_text(d.at)),
            Val::from(order_at.as_str()),
            Val::from(counted),
            Val::from(terminal.map(|t| t.to_string())),
            Val::from(event_id.map(|e| e.to_string())),
            Val::from(self.recorded_at.as_str()),
        ]);
        self.moves
            .entry((d.sku.clone(), d.location.clone()))
            .or_default()
            .push(Move {
                order_at,
                id: d.delta_id.to_string(),
                delta: d.delta,
                counted,
            });
    }

    /// Inserts the queued ledger rows now. With `skip_taken`, a row whose delta id is already
    /// recorded for its (store, sku, location) is skipped instead of failing: false when any
    /// was.
    pub async fn flush_ledger<T: Tx>(&mut self, tx: &mut T, skip_taken: bool) -> Result<bool> {
        if skip_taken {
            self.ledger
                .flush_new(tx, "store_id, sku, location, delta_id")
                .await
        } else {
            self.ledger.flush(tx).await.map(|()| true)
        }
    }

    /// Inserts the ledger rows not yet written, brings `stock_levels` up to date and logs the
    /// new levels (one statement each for every key); returns them per key. `writer` must
    /// hold the store's change-log lock: the levels are read under it.
    pub async fn flush<T: Tx>(
        mut self,
        tx: &mut T,
        writer: &mut ChangeWriter,
    ) -> Result<BTreeMap<(String, String), i64>> {
        self.ledger.flush(tx).await?;
        let skus: BTreeSet<&str> = self.moves.keys().map(|(s, _)| s.as_str()).collect();
        let keys: Vec<Val> = skus.into_iter().map(Val::from).collect();
        let mut levels: HashMap<(String, String), Level> = HashMap::new();
        for r in query_keys(
            tx,
            "SELECT s.sku, s.location, s.on_hand, s.count_at, s.count_id FROM {keys} \
             CROSS JOIN stock_levels s WHERE s.store_id = $1 AND s.sku = k.column1",
            params![self.store_id],
            "TEXT",
            &keys,
        )
        .await?
        {
            levels.insert(
                (r.text(0)?, r.text(1)?),
                (r.i64(2)?, r.opt_text(3)?, r.opt_text(4)?),
            );
        }
        let mut out = BTreeMap::new();
        let mut rows = Rows::new("stock_levels", LEVEL_COLUMNS);
        let mut changes = Vec::with_capacity(self.moves.len());
        for ((sku, location), moves) in std::mem::take(&mut self.moves) {
            let (mut on_hand, mut count_at, mut count_id) = levels
                .remove(&(sku.clone(), location.clone()))
                .unwrap_or((0, None, None));
            let newest = moves
                .iter()
                .filter(|m| m.counted.is_some())
                .max_by(|a, b| (&a.order_at, &a.id).cmp(&(&b.order_at, &b.id)));
            let baseline = match (newest, &count_at, &count_id) {
                (Some(c), Some(at), Some(id)) => (&c.order_at, &c.id) > (at, id),
                (Some(_), _, _) => true,
                (None, _, _) => false,
            };
            if let (true, Some(c)) = (baseline, newest) {
                // A newer baseline: what was counted plus every delta ordered after it.
                let after = tx
                    .query(
                        "SELECT delta FROM stock_ledger WHERE store_id = $1 AND sku = $2 \
                         AND location = $3 AND order_at > $4 AND counted IS NULL",
                        params![self.store_id, &sku, &location, c.order_at.as_str()],
                    )
                    .await?;
                let mut sum = c.counted.unwrap_or(0);
                for r in after {
                    sum = sum
                        .checked_add(r.i64(0)?)
                        .ok_or_else(|| overflow(&sku, &location))?;
                }
                on_hand = sum;
                count_at = Some(c.order_at.clone());
                count_id = Some(c.id.clone());
            } else {
                for m in moves.iter().filter(|m| m.counted.is_none()) {
                    if count_at.as_ref().is_none_or(|at| m.order_at > *at) {
                        on_hand = on_hand
                            .checked_add(m.delta)
                            .ok_or_else(|| overflow(&sku, &location))?;
                    }
                }
            }
            rows.push([
                Val::from(self.store_id),
                Val::from(&sku),
                Val::from(&location),
                Val::from(on_hand),
                Val::from(count_at),
                Val::from(count_id),
            ]);
            changes.push((
                stock_key(&sku, &location),
                Change::StockLevel {
                    version: 0,
                    sku: sku.clone(),
                    location: location.clone(),
                    on_hand,
                },
            ));
            out.insert((sku, location), on_hand);
        }
        rows.upsert(
            tx,
            " ON CONFLICT (store_id, sku, location) DO UPDATE SET on_hand = excluded.on_hand, \
             count_at = excluded.count_at, count_id = excluded.count_id",
        )
        .await?;
        writer.append_all(tx, changes).await?;
        Ok(out)
    }
}

pub async fn on_hand<T: Tx>(tx: &mut T, store_id: i64, sku: &str, location: &str) -> Result<i64> {
    let row = tx
        .query_opt(
            "SELECT on_hand FROM stock_levels WHERE store_id = $1 AND sku = $2 AND location = $3",
            params![store_id, sku, location],
        )
        .await?;
    row.map(|r| r.i64(0)).transpose().map(|v| v.unwrap_or(0))
}

pub async fn product_exists<T: Tx>(tx: &mut T, sku: &str) -> Result<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM products WHERE sku = $1", params![sku])
        .await?
        .is_some())
}

/// `POST /v1/admin/stock/adjust` body: a `delta` (receiving, adjustment) or a `count`, in a
/// store (`main` when absent) at a location of it (`main` when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    pub sku: String,
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub delta: Option<i64>,
    #[serde(default)]
    pub count: Option<i64>,
    pub reason: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// What an adjustment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjusted {
    pub delta_id: Uuid,
    pub store: String,
    pub sku: String,
    pub location: String,
    /// The movement recorded; for a count, the difference to the on-hand before it.
    pub delta: i64,
    pub on_hand: i64,
}

/// Records one back-office movement; a count is a baseline at the server's now.
pub async fn adjust<T: Tx>(tx: &mut T, req: &AdjustRequest) -> Result<Adjusted> {
    let reason = StockReason::parse(&req.reason)
        .filter(|r| {
            matches!(
                r,
                StockReason::Receiving | StockReason::Adjustment | StockReason::Count
            )
        })
        .ok_or_else(|| {
            Error::InvalidBody("reason must be receiving, adjustment or count".into())
        })?;
    let location = req
        .location
        .clone()
        .unwrap_or_else(|| DEFAULT_LOCATION.to_string());
    for (field, value, max) in [
        ("sku", req.sku.as_str(), MAX_CODE),
        ("location", location.as_str(), MAX_CODE),
    ] {
        if let Some(why) = check_text(field, value, max, false) {
            return Err(Error::InvalidBody(why));
        }
    }
    if let Some(why) = req
        .note
        .as_deref()
        .and_then(|n| check_text("note", n, MAX_TEXT, true))
    {
        return Err(Error::InvalidBody(why));
    }
    match (reason, req.delta, req.count) {
        (StockReason::Count, None, Some(c)) if (0..=MAX_STOCK_DELTA).contains(&c) => {}
        (StockReason::Count, _, _) => {
            return Err(Error::InvalidBody(format!(
                "a count needs `count` (0 to {MAX_STOCK_DELTA}) and no `delta`"
            )))
        }
        (_, Some(d), None) if d != 0 && d.checked_abs().is_some_and(|a| a <= MAX_STOCK_DELTA) => {}
        _ => {
            return Err(Error::InvalidBody(format!(
                "needs a non-zero `delta` (at most {MAX_STOCK_DELTA} either way) and no `count`"
            )))
        }
    }
    let store = stores::by_code(tx, req.store.as_deref().unwrap_or(DEFAULT_STORE)).await?;
    if !product_exists(tx, &req.sku).await? {
        return Err(Error::UnknownSku(req.sku.clone()));
    }
    let mut writer = ChangeWriter::begin(tx, &store_scope(store.id)).await?;
    let current = on_hand(tx, store.id, &req.sku, &location).await?;
    let delta = match req.count {
        Some(c) => c
            .checked_sub(current)
            .ok_or_else(|| overflow(&req.sku, &location))?,
        None => req.delta.unwrap_or(0),
    };
    let now = Utc::now();
    let d = StockDelta {
        delta_id: Uuid::now_v7(),
        sku: req.sku.clone(),
        location: location.clone(),
        delta,
        reason,
        source: req
            .note
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "back-office".into()),
        at: now,
        counted: req.count,
    };
    let mut batch = StockBatch::new(store.id);
    batch.record(&d, now, None, None);
    let levels = batch.flush(tx, &mut writer).await?;
    writer.finish(tx).await?;
    let on_hand = levels
        .get(&(d.sku.clone(), location.clone()))
        .copied()
        .unwrap_or(current);
    Ok(Adjusted {
        delta_id: d.delta_id,
        store: store.code,
        sku: d.sku,
        location,
        delta,
        on_hand,
    })
}
