//! One-of-a-kind items across tills: who sold them, as the server judges it.
//!
//! The server decides what is unique from its own catalog (`products.is_unique`), never from
//! the flag a till put on its line: a line of such a SKU is stored with `is_unique = 1`. When
//! a line sells a unique SKU, or such an order or line is cancelled (order status cancelled
//! or refunded, item status cancelled), the store's log gets a `UniqueItem` change naming the
//! earliest live order that sold it (`None` when none does), so the other tills of the store
//! pull it. Two live orders of one store selling the same unique SKU are a conflict (see
//! [`crate::service::backoffice::alerts`]), flagged for staff, never merged.
//!
//! A till also reports when an open basket holds such an item (`unique.hold`, until a time at
//! most a day off) and when it no longer does (`until: None`); the order that sells it ends
//! that terminal's holds of it (a cancel gives none back). Holds live in `unique_holds`, one
//! row per store, SKU, terminal and basket. The same `UniqueItem` change says who holds it:
//! `reserved` is the live hold (its end after the server's now) that ends last, across the
//! store's tills; the other tills compare its end to their own clock, so nothing is logged
//! when a hold runs out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tillbook_protocol::sync::{Change, UniqueReservation, UniqueSale};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{unique_key, ChangeWriter};
use crate::service::terminals::parse_uuid;
use crate::storage::sql::{timestamp_text, Tx};

/// The SQL condition of a live line (`l`) of a live order (`o`).
pub const LIVE: &str = "(l.status IS NULL OR l.status <> 'cancelled') \
     AND o.status <> 'cancelled' AND o.status <> 'refunded'";

/// The earliest live order of the store that sold `sku`, if any.
pub async fn sold_by<T: Tx>(tx: &mut T, store_id: i64, sku: &str) -> Result<Option<UniqueSale>> {
    let sql = format!(
        "SELECT o.order_id, o.order_ref, o.terminal_id FROM order_lines l \
         JOIN orders o ON o.order_id = l.order_id \
         WHERE l.store_id = $1 AND l.sku = $2 AND l.is_unique = 1 AND {LIVE} \
         ORDER BY o.committed_at, o.order_id LIMIT 1"
    );
    let row = tx.query_opt(&sql, params![store_id, sku]).await?;
    row.map(|r| {
        Ok(UniqueSale {
            order_id: parse_uuid(&r.text(0)?)?,
            order_ref: r.text(1)?,
            terminal_id: parse_uuid(&r.text(2)?)?,
        })
    })
    .transpose()
}

/// The live hold of `sku` in the store (ending after `now`, stored text) that ends last.
pub async fn reserved<T: Tx>(
    tx: &mut T,
    store_id: i64,
    sku: &str,
    now: &str,
) -> Result<Option<UniqueReservation>> {
    let row = tx
        .query_opt(
            "SELECT terminal_id, until FROM unique_holds \
             WHERE store_id = $1 AND sku = $2 AND until > $3 \
             ORDER BY until DESC, terminal_id LIMIT 1",
            params![store_id, sku, now],
        )
        .await?;
    row.map(|r| {
        let until = r.text(1)?;
        let until = DateTime::parse_from_rfc3339(&until)
            .map_err(|e| Error::Internal(format!("stored hold end {until:?}: {e}")))?
            .with_timezone(&Utc);
        Ok(UniqueReservation {
            terminal_id: parse_uuid(&r.text(0)?)?,
            until,
        })
    })
    .transpose()
}

/// Logs where each of `skus` stands now in the store: who sold it, who holds it (live at
/// `now`, the server's clock as stored text). `writer` holds the store's lock.
pub async fn log<T: Tx>(
    tx: &mut T,
    writer: &mut ChangeWriter,
    store_id: i64,
    skus: impl IntoIterator<Item = String>,
    now: &str,
) -> Result<()> {
    let mut changes = Vec::new();
    for sku in skus {
        let sold_by = sold_by(tx, store_id, &sku).await?;
        let reserved = reserved(tx, store_id, &sku, now).await?;
        changes.push((
            unique_key(&sku),
            Change::UniqueItem {
                version: 0,
                sku,
                sold_by,
                reserved,
            },
        ));
    }
    if !changes.is_empty() {
        writer.append_all(tx, changes).await?;
    }
    Ok(())
}

/// One SKU's hold changes of a page, as applying them one by one would leave them.
#[derive(Debug, Default)]
struct SkuHolds {
    /// A sale ended every hold the terminal had of it (before `baskets`).
    sold: bool,
    /// Each basket's last word: held until, or released.
    baskets: BTreeMap<String, Option<String>>,
}

/// The hold changes one push page makes for its terminal, written with the page's other
/// rows, before the store's lock (they touch only the terminal's own rows, which its row lock
/// already serialises).
#[derive(Debug, Default)]
pub struct Holds {
    skus: BTreeMap<String, SkuHolds>,
}

impl Holds {
    /// A basket holds `sku` until `until`, or (`None`) no longer holds it.
    pub fn hold(&mut self, sku: &str, session_key: &str, until: Option<DateTime<Utc>>) {
        self.skus
            .entry(sku.to_string())
            .or_default()
            .baskets
            .insert(session_key.to_string(), until.map(timestamp_text));
    }

    /// An order of the terminal sold `sku`: its holds of it end.
    pub fn sold(&mut self, sku: &str) {
        let s = self.skus.entry(sku.to_string()).or_default();
        s.sold = true;
        s.baskets.clear();
    }

    /// Writes the changes: the terminal's sold SKUs' holds and released baskets deleted, the
    /// others inserted or moved; and the terminal's holds that ran out by `now` pruned.
    pub async fn flush<T: Tx>(
        self,
        tx: &mut T,
        store_id: i64,
        terminal: Uuid,
        now: &str,
    ) -> Result<()> {
        if self.skus.is_empty() {
            return Ok(());
        }
        tx.exec(
            "DELETE FROM unique_holds WHERE store_id = $1 AND terminal_id = $2 AND until <= $3",
            params![store_id, terminal, now],
        )
        .await?;
        for (sku, holds) in self.skus {
            if holds.sold {
                tx.exec(
                    "DELETE FROM unique_holds WHERE store_id = $1 AND sku = $2 \
                     AND terminal_id = $3",
                    params![store_id, sku.as_str(), terminal],
                )
                .await?;
            }
            for (basket, until) in holds.baskets {
                match until {
                    Some(until) => {
                        tx.exec(
                            "INSERT INTO unique_holds (store_id, sku, terminal_id, session_key, \
                             until) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (store_id, sku, terminal_id, session_key) \
                             DO UPDATE SET until = excluded.until",
                            params![store_id, sku.as_str(), terminal, basket, until],
                        )
                        .await?;
                    }
                    None => {
                        tx.exec(
                            "DELETE FROM unique_holds WHERE store_id = $1 AND sku = $2 \
                             AND terminal_id = $3 AND session_key = $4",
                            params![store_id, sku.as_str(), terminal, basket],
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }
}
