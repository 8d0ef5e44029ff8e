//! Stores of the chain: creation, listing, the default store, and resolving a store's code.
//!
//! A store has a small integer id (what every per-store row carries, so a chain can later
//! distribute its tables by store) and a code the API speaks. Creating a store also creates
//! the head row of its change log (scope `store:<id>`), which numbers its log entries and
//! hands out its orders' feed positions.

use tillbook_protocol::limits::{check_text, MAX_TEXT};
use tillbook_protocol::sync::StoreInfo;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::store_scope;
use crate::storage::sql::{now_text, Tx};

/// The store every terminal, order and stock level belongs to unless told otherwise.
pub const DEFAULT_STORE: &str = "main";
pub const DEFAULT_STORE_NAME: &str = "Main store";

/// A store as the service layer uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// A store code: 1 to 16 ASCII letters, digits, `-` or `_`.
pub fn check_code(code: &str) -> Result<()> {
    let ok = !code.is_empty()
        && code.len() <= 16
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(Error::InvalidBody(format!(
            "store code {code:?} must be 1 to 16 letters, digits, '-' or '_'"
        )));
    }
    Ok(())
}

/// Creates a store and its change-log head. A taken code is [`Error::StoreExists`].
pub async fn create<T: Tx>(tx: &mut T, code: &str, name: &str) -> Result<StoreInfo> {
    check_code(code)?;
    let name = name.trim();
    if let Some(why) = check_text("name", name, MAX_TEXT, false) {
        return Err(Error::InvalidBody(why));
    }
    let created_at = now_text();
    let row = tx
        .query_opt(
            "INSERT INTO stores (code, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO NOTHING RETURNING id",
            params![code, name, created_at.as_str()],
        )
        .await?
        .ok_or_else(|| Error::StoreExists(code.to_string()))?;
    ensure_head(tx, row.i64(0)?).await?;
    Ok(StoreInfo {
        code: code.to_string(),
        name: name.to_string(),
        created_at,
    })
}

/// Creates a store's change-log head row if it is missing.
pub async fn ensure_head<T: Tx>(tx: &mut T, store_id: i64) -> Result<()> {
    tx.exec(
        "INSERT INTO log_heads (scope, version, floor, feed) VALUES ($1, 0, 0, 0) \
         ON CONFLICT (scope) DO NOTHING",
        params![store_scope(store_id)],
    )
    .await?;
    Ok(())
}

/// The default store (and every store's head row) exist: run at start-up, idempotent, safe
/// with two servers starting together.
pub async fn ensure_default<T: Tx>(tx: &mut T) -> Result<()> {
    tx.exec(
        "INSERT INTO stores (code, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (code) DO NOTHING",
        params![DEFAULT_STORE, DEFAULT_STORE_NAME, now_text()],
    )
    .await?;
    let ids = tx
        .query("SELECT id FROM stores ORDER BY id", params![])
        .await?;
    for row in ids {
        ensure_head(tx, row.i64(0)?).await?;
    }
    Ok(())
}

pub async fn list<T: Tx>(tx: &mut T) -> Result<Vec<StoreInfo>> {
    tx.query(
        "SELECT code, name, created_at FROM stores ORDER BY id",
        params![],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(StoreInfo {
            code: r.text(0)?,
            name: r.text(1)?,
            created_at: r.text(2)?,
        })
    })
    .collect()
}

/// The store with this code, or [`Error::UnknownStore`].
pub async fn by_code<T: Tx>(tx: &mut T, code: &str) -> Result<StoreRef> {
    let row = tx
        .query_opt(
            "SELECT id, code, name FROM stores WHERE code = $1",
            params![code],
        )
        .await?
        .ok_or_else(|| Error::UnknownStore(code.to_string()))?;
    Ok(StoreRef {
        id: row.i64(0)?,
        code: row.text(1)?,
        name: row.text(2)?,
    })
}

pub async fn by_id<T: Tx>(tx: &mut T, id: i64) -> Result<StoreRef> {
    let row = tx
        .query_one(
            "SELECT id, code, name FROM stores WHERE id = $1",
            params![id],
        )
        .await?;
    Ok(StoreRef {
        id: row.i64(0)?,
        code: row.text(1)?,
        name: row.text(2)?,
    })
}

/// A back-office `?store=CODE` filter: `None` (all stores) or the store's id.
pub async fn filter<T: Tx>(tx: &mut T, code: Option<&str>) -> Result<Option<i64>> {
    match code {
        None => Ok(None),
        Some(code) => Ok(Some(by_code(tx, code).await?.id)),
    }
}

/// A terminal naming a store in its request must name its own (403 `forbidden_store`).
pub async fn ensure_own<T: Tx>(tx: &mut T, own: i64, claimed: Option<&str>) -> Result<()> {
    let Some(claimed) = claimed else {
        return Ok(());
    };
    let store = by_id(tx, own).await?;
    if store.code != claimed {
        return Err(Error::ForbiddenStore {
            own: store.code,
            claimed: claimed.to_string(),
        });
    }
    Ok(())
}
