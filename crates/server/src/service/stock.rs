//! The stock ledger: signed deltas per SKU and location, levels kept as their running sum.
//!
//! Deltas are inserted as events are applied and summed per (sku, location) in a
//! [`StockBatch`]; the batch is flushed once per transaction under the change-log lock, in
//! key order, which updates `stock_levels` and appends a `StockLevel` change per key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tillbook_protocol::events::{StockDelta, StockReason};
use tillbook_protocol::sync::Change;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{stock_key, ChangeWriter};
use crate::storage::sql::{now_text, timestamp_text, Tx};

/// The location used when none is named.
pub const DEFAULT_LOCATION: &str = "main";

/// Net deltas per (sku, location) waiting to reach `stock_levels`.
#[derive(Debug, Default)]
pub struct StockBatch {
    sums: BTreeMap<(String, String), i64>,
}

impl StockBatch {
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    /// Writes a ledger row and counts it in the batch.
    pub async fn record<T: Tx>(
        &mut self,
        tx: &mut T,
        d: &StockDelta,
        terminal: Option<Uuid>,
        event_id: Option<Uuid>,
    ) -> Result<()> {
        tx.exec(
            "INSERT INTO stock_ledger (delta_id, sku, location, delta, reason, source, at, \
             terminal_id, event_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            params![
                d.delta_id,
                &d.sku,
                &d.location,
                d.delta,
                d.reason.as_str(),
                &d.source,
                timestamp_text(d.at),
                terminal.map(|t| t.to_string()),
                event_id.map(|e| e.to_string()),
                now_text()
            ],
        )
        .await?;
        *self
            .sums
            .entry((d.sku.clone(), d.location.clone()))
            .or_insert(0) += d.delta;
        Ok(())
    }

    /// Applies the sums to `stock_levels` and logs the new levels. `writer` must already hold
    /// the change-log lock.
    pub async fn flush<T: Tx>(self, tx: &mut T, writer: &mut ChangeWriter) -> Result<()> {
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
    batch.record(tx, &d, None, None).await?;
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
