//! Demo data: the café catalog, its stock, and one order in each status of the in-store flow.

use tillbook_protocol::events::StockReason;

use tillbook_protocol::catalog::demo_products;

use crate::catalog::ProductRecord;
use crate::commit::CommitOptions;
use crate::error::Result;
use crate::{db, stock, Book};

/// Opening stock of every demo product.
pub const DEMO_STOCK: i64 = 100;

impl Book {
    pub(crate) fn load_demo(&mut self) -> Result<()> {
        let currency = self.settings.currency.clone();
        let records: Vec<ProductRecord> = demo_products()
            .into_iter()
            .map(|p| ProductRecord { currency: Some(currency.clone()), ..p })
            .collect();
        self.upsert_products(&records)?;
        // Opening stock is local: the server seeds its own with `--demo`.
        let now = self.now();
        let location = self.settings.location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        for p in &records {
            let sku = p.sku.as_str();
            let opening = stock::Movement {
                sku,
                location: &location,
                delta: DEMO_STOCK,
                reason: StockReason::Receiving,
                source: "demo",
                at: now,
                outbox_seq: None,
                counted: None,
            };
            stock::record(&tx, opening)?;
        }
        tx.commit()?;

        // Each demo order: its lines, then the moves that bring it to its status.
        type Basket<'a> = (&'a [(&'a str, i64)], &'a [&'a str]);
        let baskets: [Basket<'_>; 6] = [
            (&[("ESPRESSO", 2), ("CROISSANT", 1)], &[]),
            (&[("CAPPUCCINO", 1), ("CARROT_CAKE", 1)], &["confirmed"]),
            (&[("LATTE", 2)], &["confirmed", "processing"]),
            (&[("PAIN_AU_CHOCOLAT", 1), ("ESPRESSO", 1)], &["confirmed", "processing", "ready"]),
            (&[("CROISSANT", 2), ("CAPPUCCINO", 2)], &["confirmed", "processing", "ready", "completed"]),
            (&[("CARROT_CAKE", 1)], &["cancelled"]),
        ];
        for (i, (lines, moves)) in baskets.iter().enumerate() {
            let session = self.open_session(None, None)?;
            for (sku, qty) in lines.iter() {
                self.add_line(&session.session_key, sku, *qty, None)?;
            }
            let key = format!("demo-{}", i + 1);
            let out = self.commit(&session.session_key, &key, CommitOptions::default())?;
            for to in moves.iter() {
                self.transition(&out.order_ref, to, "demo", None)?;
            }
        }
        Ok(())
    }
}
