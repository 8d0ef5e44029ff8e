//! Applying a pulled page: catalog, channels, staff, the server's stock levels and where unique
//! items stand, with the two change-log cursors, in one transaction.

use std::collections::BTreeMap;

use rusqlite::Connection;
use tillbook_protocol::sync::{Change, PullCursor, PullResponse, UniqueReservation, UniqueSale};
use uuid::Uuid;

use crate::clock::fmt_time;
use crate::error::{err, Error, ErrorCode, Result};
use crate::push::{prune, reconcile};
use crate::sync::state;
use crate::{catalog, channel, db, session, staff, Book};

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
///
/// `reserved` (another till's open basket holds it, until a time) is stored as the server says,
/// except that a reservation by `own` (this book's terminal id) is not: this book's own holds
/// are local (`stock_holds`), so it counts as no reservation by another till. `None` clears it.
/// A reservation by an earlier identity of this book (a hold reported before a re-enrolment)
/// is another terminal's to this book: it counts until it runs out (at most one hold TTL).
fn apply_unique(
    conn: &Connection,
    sku: &str,
    sold_by: Option<&UniqueSale>,
    reserved: Option<&UniqueReservation>,
    own: Uuid,
) -> Result<()> {
    let holder = match sold_by {
        Some(sale) => Some(sale.order_ref.clone()),
        None => live_holder(conn, sku)?,
    };
    let other = reserved.filter(|r| r.terminal_id != own);
    conn.prepare_cached(
        "UPDATE products SET sold_by = ?2, reserved_by = ?3, reserved_until = ?4 WHERE sku = ?1 AND is_unique = 1",
    )?
    .execute(rusqlite::params![
        sku,
        holder,
        other.map(|r| r.terminal_id.to_string()),
        other.map(|r| fmt_time(r.until))
    ])?;
    Ok(())
}

/// A number from the server as the book stores it; one past `i64` is a broken answer, refused
/// whole (nothing of the page is applied).
fn wire_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::new(ErrorCode::SyncRejected, format!("the server sent an impossible {what} {v}")))
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
        let own = self.settings.terminal_id;
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        if let Err(why) = reconcile(&tx, &s, page.last_applied_seq)? {
            tx.commit()?;
            return err(ErrorCode::ReenrollRequired, why);
        }
        if page.reset {
            tx.execute("DELETE FROM server_stock", [])?;
            // The snapshot says again which unique items are sold or reserved at other tills;
            // until then only our own live orders hold one, and no other till's basket does.
            let uniques: Vec<String> = tx
                .prepare("SELECT sku FROM products WHERE is_unique = 1")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for sku in uniques {
                apply_unique(&tx, &sku, None, None, own)?;
            }
        }
        let as_of = wire_i64(page.last_applied_seq, "last applied seq")?;
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
                Change::Staff { staff, .. } => staff::apply_pulled(&tx, staff, now)?,
                Change::UniqueItem { sku, sold_by, reserved, .. } => {
                    uniques.push((sku, sold_by.as_ref(), reserved.as_ref()))
                }
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
        for (sku, sold_by, reserved) in uniques {
            apply_unique(&tx, sku, sold_by, reserved, own)?;
        }
        tx.execute(
            "UPDATE sync_state SET pull_cursor = ?1, pull_cursor_store = ?2 WHERE id = 1",
            [wire_i64(page.cursor.chain, "chain cursor")?, wire_i64(page.cursor.store, "store cursor")?],
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

    use chrono::Duration;

    use crate::testkit::{kit, page, reserved};
    use crate::{CommitOptions, ErrorCode, Severity, UniqueState};

    fn unique(sold_by: Option<UniqueSale>) -> Change {
        Change::UniqueItem { version: 2, sku: "RING".into(), sold_by, reserved: None }
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

    /// Another till's basket holds the item: this till refuses it (add and commit) while the
    /// reservation is live, by its own clock; `None` or a reset snapshot without it clears it.
    #[test]
    fn another_tills_reservation_makes_the_item_unavailable_until_it_ends() {
        let mut k = kit();
        k.enroll("T01");
        let state = |k: &crate::testkit::Kit| k.book.stock(Some("RING")).unwrap()[0].unique_state.unwrap();
        // Our basket took it before the reservation reached us (both tills put it in a basket).
        let ours = k.book.open_session(None, None).unwrap().session_key;
        let line = k.book.add_line(&ours, "RING", 1, None).unwrap();
        let other = Uuid::now_v7();
        let until = k.book.now() + Duration::minutes(10);
        k.book.apply_pull(&page(vec![reserved("RING", Some((other, until)))], 0)).unwrap();
        let p = k.book.product("RING").unwrap();
        assert_eq!((p.reserved_by, p.reserved_until), (Some(other.to_string()), Some(until)));
        assert_eq!(p.sold_by, None);
        let check = k.book.check_session(&ours).unwrap();
        let issue = check.issues.iter().find(|i| i.code == "unique_unavailable").expect("unique_unavailable issue");
        assert_eq!(issue.severity, Severity::Blocking);
        assert!(issue.message.contains("reserved at another till"), "{}", issue.message);
        let e = k.book.commit(&ours, "k1", CommitOptions::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BlockingIssues, "{e}");
        k.book.remove_line(&ours, &line.line_id).unwrap();

        // Nobody here holds it now, yet it is reserved.
        assert_eq!(state(&k), UniqueState::Reserved);
        let e = k.book.add_line(&ours, "RING", 1, None).unwrap_err();
        assert_eq!(e.code, ErrorCode::UniqueUnavailable);
        assert!(e.message.contains("reserved at another till"), "{e}");

        // The other till's hold runs out by our clock: available again.
        k.time.advance(Duration::minutes(10));
        assert_eq!(state(&k), UniqueState::Available);
        let line = k.book.add_line(&ours, "RING", 1, None).unwrap();
        k.book.remove_line(&ours, &line.line_id).unwrap();

        // A live reservation cleared by the server (`None`).
        let until = k.book.now() + Duration::minutes(15);
        k.book.apply_pull(&page(vec![reserved("RING", Some((other, until)))], 0)).unwrap();
        assert_eq!(k.book.add_line(&ours, "RING", 1, None).unwrap_err().code, ErrorCode::UniqueUnavailable);
        k.book.apply_pull(&page(vec![reserved("RING", None)], 0)).unwrap();
        let p = k.book.product("RING").unwrap();
        assert_eq!((p.reserved_by, p.reserved_until), (None, None));
        let line = k.book.add_line(&ours, "RING", 1, None).unwrap();
        k.book.remove_line(&ours, &line.line_id).unwrap();

        // A reset snapshot that does not mention it clears it too.
        k.book.apply_pull(&page(vec![reserved("RING", Some((other, until)))], 0)).unwrap();
        assert_eq!(state(&k), UniqueState::Reserved);
        let mut reset = page(vec![], 0);
        reset.reset = true;
        k.book.apply_pull(&reset).unwrap();
        assert_eq!(state(&k), UniqueState::Available);
        // And a reset that does mention it keeps it.
        let mut reset = page(vec![reserved("RING", Some((other, until)))], 0);
        reset.reset = true;
        k.book.apply_pull(&reset).unwrap();
        assert_eq!(state(&k), UniqueState::Reserved);
        // Sold wins over reserved.
        let sale = UniqueSale { order_id: Uuid::now_v7(), order_ref: "ORD-X".into(), terminal_id: other };
        let both = Change::UniqueItem {
            version: 9,
            sku: "RING".into(),
            sold_by: Some(sale),
            reserved: Some(tillbook_protocol::sync::UniqueReservation { terminal_id: other, until }),
        };
        k.book.apply_pull(&page(vec![both], 0)).unwrap();
        assert_eq!(state(&k), UniqueState::Sold);
    }

    /// The server echoes this till's own basket as a reservation: ignored, the basket commits.
    #[test]
    fn a_reservation_by_this_books_own_terminal_is_ignored() {
        let mut k = kit();
        let me = k.enroll("T01").terminal_id;
        let s = k.book.open_session(None, None).unwrap().session_key;
        k.book.add_line(&s, "RING", 1, None).unwrap();
        let until = k.book.now() + Duration::minutes(15);
        // An earlier reservation by another till is replaced by ours.
        k.book.apply_pull(&page(vec![reserved("RING", Some((Uuid::now_v7(), until)))], 0)).unwrap();
        k.book.apply_pull(&page(vec![reserved("RING", Some((me, until)))], 0)).unwrap();
        let p = k.book.product("RING").unwrap();
        assert_eq!((p.reserved_by, p.reserved_until), (None, None));
        assert!(k.book.check_session(&s).unwrap().issues.is_empty());
        k.book.commit(&s, "k1", CommitOptions::default()).unwrap();
        // Also when no basket here holds it any more (the server has not heard of the sale).
        k.book.apply_pull(&page(vec![reserved("RING", Some((me, until)))], 0)).unwrap();
        assert_eq!(k.book.product("RING").unwrap().reserved_by, None);
        assert_eq!(k.book.stock(Some("RING")).unwrap()[0].unique_state, Some(UniqueState::Sold));
    }
}
