//! One-of-a-kind items across tills: who sold them, as the server judges it.
//!
//! The server decides what is unique from its own catalog (`products.is_unique`), never from
//! the flag a till put on its line: a line of such a SKU is stored with `is_unique = 1`. When
//! a line sells a unique SKU, or such an order or line is cancelled (order status cancelled
//! or refunded, item status cancelled), the store's log gets a `UniqueItem` change naming the
//! earliest live order that sold it (`None` when none does), so the other tills of the store
//! pull it. Two live orders of one store selling the same unique SKU are a conflict (see
//! [`crate::service::backoffice::alerts`]), flagged for staff, never merged.

use tillbook_protocol::sync::{Change, UniqueSale};

use crate::error::Result;
use crate::params;
use crate::service::changelog::{unique_key, ChangeWriter};
use crate::service::terminals::parse_uuid;
use crate::storage::sql::Tx;

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

/// Logs where each of `skus` stands now in the store. `writer` holds the store's lock.
pub async fn log<T: Tx>(
    tx: &mut T,
    writer: &mut ChangeWriter,
    store_id: i64,
    skus: impl IntoIterator<Item = String>,
) -> Result<()> {
    let mut changes = Vec::new();
    for sku in skus {
        let sold_by = sold_by(tx, store_id, &sku).await?;
        changes.push((
            unique_key(&sku),
            Change::UniqueItem {
                version: 0,
                sku,
                sold_by,
            },
        ));
    }
    if !changes.is_empty() {
        writer.append_all(tx, changes).await?;
    }
    Ok(())
}
