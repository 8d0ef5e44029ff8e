//! The end of a push page, under its store's change-log lock: what needs a position in the
//! store's commit order.
//!
//! Everything else a page writes (inbox, lines, order events, ledger rows) is in before the
//! lock is taken, so pushes into one store do that work side by side and queue only for
//! this: the orders, numbered in the store's feed; the stock levels read, brought up to date
//! and logged; the unique items (sold, held) logged; the new head. The lock is held to
//! commit, so feed positions and log versions become visible in order.

use std::collections::BTreeSet;

use crate::error::Result;
use crate::service::changelog::{store_scope, ChangeWriter};
use crate::service::stock::StockBatch;
use crate::service::unique;
use crate::storage::sql::{Rows, Tx};

/// The `feed` column of the queued order rows.
const FEED: usize = 2;

/// What a page leaves for the store's lock ([`crate::service::events::Page::finish`]).
pub struct Settle {
    pub(super) store_id: i64,
    pub(super) checked: bool,
    /// The lock, when the page already took it (a move of an order it created).
    pub(super) writer: Option<ChangeWriter>,
    pub(super) orders: Rows,
    pub(super) stock: StockBatch,
    pub(super) unique_touched: BTreeSet<String>,
    /// The server's clock when the page began (stored text): holds ending later are live.
    pub(super) now: String,
}

/// Numbers the queued orders after the store's last feed position and inserts them
/// (`writer` holds the store's lock). Unchecked, an order whose id or reference is taken is
/// skipped: false when any was.
pub(super) async fn insert_orders<T: Tx>(
    tx: &mut T,
    writer: &mut ChangeWriter,
    orders: &mut Rows,
    checked: bool,
) -> Result<bool> {
    if orders.is_empty() {
        return Ok(true);
    }
    let last = orders.number(FEED, writer.feed());
    writer.set_feed(last);
    if checked {
        orders.flush(tx).await?;
        Ok(true)
    } else {
        orders.flush_new(tx, "").await
    }
}

impl Settle {
    /// Takes the store's lock (when anything needs it) and writes what needs it; false when
    /// an unchecked page found an order id or reference taken (roll back, apply it checked).
    pub async fn run<T: Tx>(mut self, tx: &mut T) -> Result<bool> {
        if self.orders.is_empty() && self.stock.is_empty() && self.unique_touched.is_empty() {
            // Nothing positioned in the store's log or feed, nothing to wait for (a lock the
            // page took is held to commit all the same).
            return match self.writer {
                Some(writer) => writer.finish(tx).await.map(|_| true),
                None => Ok(true),
            };
        }
        let mut writer = match self.writer.take() {
            Some(w) => w,
            None => {
                // The lock and the new head in one statement: a version per stock key and
                // unique item, a feed position per order.
                let versions = self.stock.keys() + self.unique_touched.len();
                let scope = store_scope(self.store_id);
                ChangeWriter::reserve(tx, &scope, versions, self.orders.len()).await?
            }
        };
        if !insert_orders(tx, &mut writer, &mut self.orders, self.checked).await? {
            return Ok(false);
        }
        if !self.stock.is_empty() {
            self.stock.flush(tx, &mut writer).await?;
        }
        unique::log(
            tx,
            &mut writer,
            self.store_id,
            self.unique_touched,
            &self.now,
        )
        .await?;
        writer.finish(tx).await?;
        Ok(true)
    }
}
