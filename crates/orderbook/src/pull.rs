//! Applying a pulled page: catalog, channels, the server's stock levels and where unique items
//! stand, with the two change-log cursors, in one transaction.

use std::collections::BTreeMap;

use rusqlite::Connection;
use tillbook_protocol::sync::{Change, PullCursor, PullResponse, UniqueSale};

use crate::clock::fmt_time;
use crate::error::{err, ErrorCode, Result};
use crate::push::{prune, reconcile};
use crate::sync::state;
use crate::{catalog, channel, db, session, Book};

/// The newest live order of this book that holds a unique item (not cancelled, its line not
/// cancelled), if any.
pub(crate) fn live_holder(conn: &Connection, sku: &str) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.order_ref, o.status, o.channel FROM order_lines l JOIN orders o USING (order_ref)
         WHERE l.sku = ?1 AND l.is_unique = 1 AND (l.item_status IS NULL OR l.item_status <> 'cancelled')
         ORDER BY o.ref_seq DESC",
    )?;
    let rows: Vec<(String, String, String)> =
        stmt.query_map([sku], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    let mut cancelled: BTreeMap<String, String> = BTreeMap::new();
    for (order_ref, status, ch) in rows {
        if !cancelled.contains_key(&ch) {
            let c = channel::get(conn, &ch).map(|c| c.flow.cancelled).unwrap_or_else(|_| "cancelled".into());
            cancelled.insert(ch.clone(), c);
        }
        if cancelled[&ch] != status {
            return Ok(Some(order_ref));
        }
    }
    Ok(None)
}

/// Where the server says a unique item stands. `None` (available) gives way to a live order of
/// this book that holds it: our own sale the server has not seen yet wins, as with stock.
fn apply_unique(conn: &Connection, sku: &str, sold_by: Option<&UniqueSale>) -> Result<()> {
    let holder = match sold_by {
        Some(sale) => Some(sale.order_ref.clone()),
        None => live_holder(conn, sku)?,
    };
    conn.execute("UPDATE products SET sold_by = ?2 WHERE sku = ?1 AND is_unique = 1", rusqlite::params![sku, holder])?;
    Ok(())
}

impl Book {
    /// The change-log cursors to pull from (`None`: take a full snapshot).
    pub fn pull_cursor(&self) -> Result<Option<PullCursor>> {
        let s = state(&self.conn)?;
        Ok(match (s.pull_cursor, s.pull_cursor_store) {
            (Some(chain), Some(store)) => Some(PullCursor { chain: chain as u64, store: store as u64 }),
            _ => None,
        })
    }

    /// Applies a pulled page and stores its cursor, in one transaction. A `last_applied_seq`
    /// above what the book holds halts (`reenroll_required`); one below what it had
    /// acknowledged rewinds, so the rows the server lost go out again.
    pub fn apply_pull(&mut self, page: &PullResponse) -> Result<()> {
        let now = self.now();
        let currency = self.settings.currency.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        if let Err(why) = reconcile(&tx, &s, page.last_applied_seq)? {
            tx.commit()?;
            return err(ErrorCode::ReenrollRequired, why);
        }
        if page.reset {
            tx.execute("DELETE FROM server_stock", [])?;
            // The snapshot says again which unique items are sold; until then only our own
            // live orders hold one.
            let uniques: Vec<String> = tx
                .prepare("SELECT sku FROM products WHERE is_unique = 1")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for sku in uniques {
                apply_unique(&tx, &sku, None)?;
            }
        }
        let as_of = page.last_applied_seq as i64;
        let mut products = Vec::new();
        let mut uniques = Vec::new();
        for change in &page.changes {
            match change {
                Change::Product { product, .. } => products.push(product.clone()),
                Change::StockLevel { sku, location, on_hand, .. } => {
                    tx.execute(
                        "INSERT INTO server_stock(sku, location, on_hand, as_of_seq) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(sku, location) DO UPDATE SET on_hand = excluded.on_hand, as_of_seq = excluded.as_of_seq",
                        rusqlite::params![sku, location, on_hand, as_of],
                    )?;
                }
                Change::Channel { channel: ch, .. } => channel::upsert(&tx, ch)?,
                Change::UniqueItem { sku, sold_by, .. } => uniques.push((sku, sold_by.as_ref())),
            }
        }
        // A level in this page was read with the seq the server reported. Once the last page is
        // in, every level the server changed since the cursor has arrived, so the rest are
        // current as of that seq too; before that, they keep the seq they were read with.
        if !page.has_more {
            tx.execute("UPDATE server_stock SET as_of_seq = ?1", [as_of])?;
        }
        if !products.is_empty() {
            let changed = catalog::upsert(&tx, &products, &currency, &fmt_time(now))?;
            session::on_catalog_change(&tx, &changed, now)?;
        }
        for (sku, sold_by) in uniques {
            apply_unique(&tx, sku, sold_by)?;
        }
        tx.execute(
            "UPDATE sync_state SET pull_cursor = ?1, pull_cursor_store = ?2 WHERE id = 1",
            [page.cursor.chain as i64, page.cursor.store as i64],
        )?;
        prune(&tx, now)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tillbook_protocol::sync::{Change, PullCursor, UniqueSale};
    use uuid::Uuid;

    use crate::testkit::{kit, page};
    use crate::ErrorCode;

    fn unique(sold_by: Option<UniqueSale>) -> Change {
        Change::UniqueItem { version: 2, sku: "RING".into(), sold_by }
    }

    #[test]
    fn unique_items_follow_the_server_and_our_own_live_sale_wins() {
        let mut k = kit();
        k.enroll("T01");
        assert_eq!(k.book.pull_cursor().unwrap(), None);
        let other = UniqueSale { order_id: Uuid::now_v7(), order_ref: "ORD-20260301-T02-0001".into(), terminal_id: Uuid::now_v7() };
        k.book.apply_pull(&page(vec![unique(Some(other.clone()))], 0)).unwrap();
        assert_eq!(k.book.pull_cursor().unwrap(), Some(PullCursor { chain: 4, store: 7 }));
        assert_eq!(k.book.product("RING").unwrap().sold_by.as_deref(), Some(other.order_ref.as_str()));
        let s = k.book.open_session(None, None).unwrap();
        assert_eq!(k.book.add_line(&s.session_key, "RING", 1, None).unwrap_err().code, ErrorCode::UniqueUnavailable);
        // The other till's order was cancelled: available again.
        k.book.apply_pull(&page(vec![unique(None)], 0)).unwrap();
        assert_eq!(k.book.product("RING").unwrap().sold_by, None);
        let ours = k.sell("RING", 1);
        // A level read before the server saw our sale says available: our sale wins.
        k.book.apply_pull(&page(vec![unique(None)], 0)).unwrap();
        assert_eq!(k.book.product("RING").unwrap().sold_by.as_deref(), Some(ours.as_str()));
        // So does a reset snapshot that does not mention it.
        let mut reset = page(vec![], 0);
        reset.reset = true;
        k.book.apply_pull(&reset).unwrap();
        assert_eq!(k.book.product("RING").unwrap().sold_by.as_deref(), Some(ours.as_str()));
        // Once ours is cancelled, the server's word stands.
        k.book.cancel_order(&ours, "cashier", None).unwrap();
        k.book.apply_pull(&page(vec![unique(None)], 0)).unwrap();
        assert_eq!(k.book.product("RING").unwrap().sold_by, None);
    }
}
