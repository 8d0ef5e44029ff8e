//! Back-office reads: stock levels, alerts (shortages, unique-item conflicts, rejections).
//! Orders are in [`crate::service::orders`].

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::params;
use crate::service::stores;
use crate::service::unique::LIVE;
use crate::storage::sql::Tx;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockItem {
    pub store: String,
    pub sku: String,
    pub location: String,
    pub on_hand: i64,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockList {
    pub items: Vec<StockItem>,
}

/// One store's unique item sold by more than one live order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub store: String,
    pub sku: String,
    /// The live orders' references, earliest first.
    pub orders: Vec<String>,
    /// The same orders' ids.
    pub order_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedEvent {
    pub store: String,
    pub terminal_id: String,
    pub seq: i64,
    pub event_id: String,
    pub kind: String,
    pub reason: Option<String>,
    pub received_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alerts {
    /// Stock levels below zero.
    pub shortages: Vec<StockItem>,
    pub conflicts: Vec<Conflict>,
    /// The most recent rejected events (at most 1000).
    pub rejected: Vec<RejectedEvent>,
}

async fn stock_items<T: Tx>(tx: &mut T, store: i64, only_short: bool) -> Result<Vec<StockItem>> {
    let sql = format!(
        "SELECT st.code, s.sku, s.location, s.on_hand, p.name FROM stock_levels s \
         JOIN stores st ON st.id = s.store_id LEFT JOIN products p ON p.sku = s.sku \
         WHERE (CAST($1 AS BIGINT) = 0 OR s.store_id = $1){} ORDER BY s.store_id, s.sku, s.location",
        if only_short { " AND s.on_hand < 0" } else { "" }
    );
    tx.query(&sql, params![store])
        .await?
        .iter()
        .map(|r| {
            Ok(StockItem {
                store: r.text(0)?,
                sku: r.text(1)?,
                location: r.text(2)?,
                on_hand: r.i64(3)?,
                name: r.opt_text(4)?,
            })
        })
        .collect()
}

/// Stock levels of one store (its code) or of every store.
pub async fn stock<T: Tx>(tx: &mut T, store: Option<&str>) -> Result<StockList> {
    let store = stores::filter(tx, store).await?.unwrap_or(0);
    Ok(StockList {
        items: stock_items(tx, store, false).await?,
    })
}

/// Shortages, unique-item conflicts and recent rejections, of one store or of every store.
pub async fn alerts<T: Tx>(tx: &mut T, store: Option<&str>) -> Result<Alerts> {
    let store = stores::filter(tx, store).await?.unwrap_or(0);
    let shortages = stock_items(tx, store, true).await?;
    // Unique by the server's catalog (the line's flag is the catalog's word when the order
    // arrived, and the product must still be unique now).
    let sql = format!(
        "SELECT st.code, l.store_id, l.sku, o.order_ref, o.order_id FROM products p \
         JOIN order_lines l ON l.sku = p.sku AND l.is_unique = 1 \
         JOIN orders o ON o.order_id = l.order_id JOIN stores st ON st.id = l.store_id \
         WHERE p.is_unique = 1 AND (CAST($1 AS BIGINT) = 0 OR l.store_id = $1) AND {LIVE} \
         ORDER BY l.store_id, l.sku, o.committed_at, o.order_id"
    );
    let rows = tx.query(&sql, params![store]).await?;
    let mut groups: Vec<(i64, Conflict)> = Vec::new();
    for r in &rows {
        let (store_id, sku, order_id) = (r.i64(1)?, r.text(2)?, r.text(4)?);
        match groups.last_mut() {
            Some((s, c)) if *s == store_id && c.sku == sku => {
                if !c.order_ids.contains(&order_id) {
                    c.orders.push(r.text(3)?);
                    c.order_ids.push(order_id);
                }
            }
            _ => groups.push((
                store_id,
                Conflict {
                    store: r.text(0)?,
                    sku,
                    orders: vec![r.text(3)?],
                    order_ids: vec![order_id],
                },
            )),
        }
    }
    let conflicts = groups
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| c.order_ids.len() > 1)
        .collect();
    let rejected = tx
        .query(
            "SELECT st.code, i.terminal_id, i.seq, i.event_id, i.kind, i.reason, i.received_at \
             FROM inbox i JOIN stores st ON st.id = i.store_id \
             WHERE i.outcome = 'rejected' AND (CAST($1 AS BIGINT) = 0 OR i.store_id = $1) \
             ORDER BY i.received_at DESC, i.seq DESC LIMIT 1000",
            params![store],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(RejectedEvent {
                store: r.text(0)?,
                terminal_id: r.text(1)?,
                seq: r.i64(2)?,
                event_id: r.text(3)?,
                kind: r.text(4)?,
                reason: r.opt_text(5)?,
                received_at: r.text(6)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Alerts {
        shortages,
        conflicts,
        rejected,
    })
}
