//! The stock ledger: signed deltas per SKU and location, levels kept as their running sum.
//!
//! Deltas are queued as events are applied and summed per (sku, location) in a
//! [`StockBatch`]; the batch is flushed once per transaction under the change-log lock: the
//! ledger rows in multi-row inserts, then, in key order, `stock_levels` and a `StockLevel`
//! change per key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tillbook_protocol::events::{StockDelta, StockReason};
use tillbook_protocol::sync::Change;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{stock_key, ChangeWriter};
use crate::storage::sql::{now_text, timestamp_text, Rows, Tx, Val};

/// The location used when none is named.
pub const DEFAULT_LOCATION: &str = "main";

const LEDGER_COLUMNS: &[&str] = &[
    "delta_id",
    "sku",
    "location",
    "delta",
    "reason",
    "source",
    "at",
    "terminal_id",
    "event_id",
    "recorded_at",
];

/// Ledger rows and net deltas per (sku, location) waiting to reach the database.
#[derive(Debug)]
pub struct StockBatch {
    ledger: Rows,
    sums: BTreeMap<(String, String), i64>,
    recorded_at: String,
}

impl Default for StockBatch {
    fn default() -> Self {
        StockBatch {
            ledger: Rows::new("stock_ledger", LEDGER_COLUMNS),
            sums: BTreeMap::new(),
            recorded_at: now_text(),
        }
    }
}

impl StockBatch {
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty() && self.ledger.is_empty()
    }

    /// Queues a ledger row and counts it in the batch.
    pub fn record(&mut self, d: &StockDelta, terminal: Option<Uuid>, event_id: Option<Uuid>) {
        self.ledger.push([
            Val::from(d.delta_id),
            Val::from(&d.sku),
            Val::from(&d.location),
            Val::from(d.delta),
            Val::from(d.reason.as_str()),
            Val::from(&d.source),
            Val::from(timestamp_text(d.at)),
            Val::from(terminal.map(|t| t.to_string())),
            Val::from(event_id.map(|e| e.to_string())),
            Val::from(self.recorded_at.as_str()),
        ]);
        *self
            .sums
            .entry((d.sku.clone(), d.location.clone()))
            .or_insert(0) += d.delta;
    }

    /// Inserts the queued ledger rows now. With `skip_taken`, a row whose delta id is already
    /// recorded is skipped instead of failing: false when any was.
    pub async fn flush_ledger<T: Tx>(&mut self, tx: &mut T, skip_taken: bool) -> Result<bool> {
        if skip_taken {
            self.ledger.flush_new(tx, "delta_id").await
        } else {
            self.ledger.flush(tx).await.map(|()| true)
        }
    }

    /// Inserts the ledger rows not yet written, applies the sums to `stock_levels` and logs
    /// the new levels. `writer` must already hold the change-log lock.
    pub async fn flush<T: Tx>(mut self, tx: &mut T, writer: &mut ChangeWriter) -> Result<()> {
        self.ledger.flush(tx).await?;
        for ((sku, location), delta) in self.sums {
            let on_hand = tx
                .query_one(
                    "INSERT INTO stock_levels (sku, location, on_hand) VALUES ($1, $2, $3) \
                     ON CONFLICT (sku, location) DO UPDATE \
                     SET on_hand = stock_levels.on_hand + excluded.on_hand RETURNING on_hand",
                    params![&sku, &location, delta],
                )
                .await?
                .i64(0)?;
            let key = stock_key(&sku, &location);
            writer
                .append(
                    tx,
                    &key,
                    Change::StockLevel {
                        version: 0,
                        sku,
                        location,
                        on_hand,
                    },
                )
                .await?;
        }
        Ok(())
    }
}

pub async fn on_hand<T: Tx>(tx: &mut T, sku: &str, location: &str) -> Result<i64> {
    let row = tx
        .query_opt(
            "SELECT on_hand FROM stock_levels WHERE sku = $1 AND location = $2",
            params![sku, location],
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

/// `POST /v1/admin/stock/adjust` body: a `delta` (receiving, adjustment) or a `count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    pub sku: String,
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
    pub sku: String,
    pub location: String,
    pub delta: i64,
    pub on_hand: i64,
}

/// Records one back-office movement; a count records the difference to the counted value.
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
    if location.trim().is_empty() {
        return Err(Error::InvalidBody("location must not be empty".into()));
    }
    match (reason, req.delta, req.count) {
        (StockReason::Count, None, Some(c)) if c >= 0 => {}
        (StockReason::Count, _, _) => {
            return Err(Error::InvalidBody(
                "a count needs `count` (>= 0) and no `delta`".into(),
            ))
        }
        (_, Some(d), None) if d != 0 => {}
        _ => {
            return Err(Error::InvalidBody(
                "needs a non-zero `delta` and no `count`".into(),
            ))
        }
    }
    if !product_exists(tx, &req.sku).await? {
        return Err(Error::UnknownSku(req.sku.clone()));
    }
    let mut writer = ChangeWriter::begin(tx).await?;
    let current = on_hand(tx, &req.sku, &location).await?;
    let delta = match req.count {
        Some(c) => c - current,
        None => req.delta.unwrap_or(0),
    };
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
        at: chrono::Utc::now(),
    };
    let mut batch = StockBatch::default();
    batch.record(&d, None, None);
    batch.flush(tx, &mut writer).await?;
    writer.finish(tx).await?;
    Ok(Adjusted {
        delta_id: d.delta_id,
        sku: d.sku,
        location,
        delta,
        on_hand: current + delta,
    })
}
