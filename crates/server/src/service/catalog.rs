//! The catalog and channel settings the back office edits and terminals pull; demo seeding.

use serde::{Deserialize, Serialize};
use tillbook_protocol::catalog::ProductRecord;
use tillbook_protocol::sync::Change;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{channel_key, product_key, ChangeWriter, CHAIN_SCOPE};
use crate::service::stock::{self, AdjustRequest, DEFAULT_LOCATION};
use crate::service::stores;
use crate::storage::sql::{now_text, Tx};

/// The answer to a catalog upsert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogUpserted {
    /// Products whose record changed (an identical record is not logged again).
    pub changed: u32,
    pub unchanged: u32,
    /// The change-log head after the upsert.
    pub version: u64,
}

fn validate(p: &ProductRecord) -> Result<()> {
    let bad = |m: &str| Err(Error::InvalidBody(format!("product {:?}: {m}", p.sku)));
    use tillbook_protocol::limits::{check_text, MAX_CODE, MAX_PRICE_Q, MAX_TEXT};
    if let Some(why) = check_text("sku", &p.sku, MAX_CODE, false)
        .or_else(|| check_text("name", &p.name, MAX_TEXT, false))
    {
        return bad(&why);
    }
    if !(0..=MAX_PRICE_Q).contains(&p.price_q) {
        return bad(&format!("price_q must be 0 to {MAX_PRICE_Q}"));
    }
    if let Some(c) = &p.currency {
        if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
            return bad("currency must be an ISO-4217 code such as BRL");
        }
    }
    Ok(())
}

/// Inserts or replaces products by SKU; each changed one becomes a `Product` change.
pub async fn upsert<T: Tx>(tx: &mut T, products: &[ProductRecord]) -> Result<CatalogUpserted> {
    let mut seen = std::collections::BTreeSet::new();
    for p in products {
        validate(p)?;
        if !seen.insert(p.sku.as_str()) {
            return Err(Error::InvalidBody(format!("sku {:?} appears twice", p.sku)));
        }
    }
    let mut writer = ChangeWriter::begin(tx, CHAIN_SCOPE).await?;
    let (mut changed, mut unchanged) = (0, 0);
    for p in products {
        let body = serde_json::to_string(p).map_err(|e| Error::Internal(e.to_string()))?;
        let old = tx
            .query_opt("SELECT body FROM products WHERE sku = $1", params![&p.sku])
            .await?;
        if let Some(old) = old {
            if old.text(0)? == body {
                unchanged += 1;
                continue;
            }
        }
        tx.exec(
            "INSERT INTO products (sku, name, price_q, body, updated_at, is_unique) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_q = excluded.price_q, \
             body = excluded.body, updated_at = excluded.updated_at, is_unique = excluded.is_unique",
            params![&p.sku, &p.name, p.price_q, body, now_text(), p.unique],
        )
        .await?;
        writer
            .append(
                tx,
                &product_key(&p.sku),
                Change::Product {
                    version: 0,
                    product: p.clone(),
                },
            )
            .await?;
        changed += 1;
    }
    let version = writer.finish(tx).await?;
    Ok(CatalogUpserted {
        changed,
        unchanged,
        version,
    })
}

/// The default store (with every store's log head) and the default `pos` channel, once
/// (safe when two servers start together).
pub async fn ensure_defaults<T: Tx>(tx: &mut T) -> Result<()> {
    stores::ensure_default(tx).await?;
    let mut writer = ChangeWriter::begin(tx, CHAIN_SCOPE).await?;
    let key = channel_key("pos");
    let known = tx
        .query_opt(
            "SELECT 1 FROM changes WHERE scope = $1 AND change_key = $2",
            params![CHAIN_SCOPE, &key],
        )
        .await?;
    if known.is_none() {
        let change = Change::Channel {
            version: 0,
            channel: tillbook_protocol::channel::Channel::pos(),
        };
        writer.append(tx, &key, change).await?;
    }
    writer.finish(tx).await?;
    Ok(())
}

pub use tillbook_protocol::catalog::demo_products;

/// Stock each demo SKU starts with at the default location of the default store.
pub const DEMO_STOCK: i64 = 100;

/// Adds the demo products that are missing and receives their first stock. Idempotent.
pub async fn seed_demo<T: Tx>(tx: &mut T) -> Result<()> {
    let mut missing = Vec::new();
    for p in demo_products() {
        if !stock::product_exists(tx, &p.sku).await? {
            missing.push(p);
        }
    }
    upsert(tx, &missing).await?;
    for p in &missing {
        let req = AdjustRequest {
            sku: p.sku.clone(),
            store: None,
            location: Some(DEFAULT_LOCATION.into()),
            delta: Some(DEMO_STOCK),
            count: None,
            reason: "receiving".into(),
            note: Some("demo".into()),
        };
        stock::adjust(tx, &req).await?;
    }
    Ok(())
}
