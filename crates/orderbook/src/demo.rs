//! Demo data: the café catalog, its stock, and one order in each status of the in-store flow.

use tillbook_protocol::events::StockReason;

use crate::catalog::{OversellPolicy, ProductRecord};
use crate::commit::CommitOptions;
use crate::error::Result;
use crate::{db, stock, Book};

/// The demo catalog: `(sku, name, price_q, category)`, prices in BRL.
pub const DEMO_PRODUCTS: [(&str, &str, i64, &str); 6] = [
    ("ESPRESSO", "Espresso", 500, "Coffee"),
    ("CAPPUCCINO", "Cappuccino", 700, "Coffee"),
    ("LATTE", "Latte", 750, "Coffee"),
    ("CROISSANT", "Croissant", 650, "Bakery"),
    ("PAIN_AU_CHOCOLAT", "Pain au Chocolat", 750, "Bakery"),
    ("CARROT_CAKE", "Carrot Cake", 800, "Bakery"),
];

/// Opening stock of every demo product.
pub const DEMO_STOCK: i64 = 100;

impl Book {
    pub(crate) fn load_demo(&mut self) -> Result<()> {
        let records: Vec<ProductRecord> = DEMO_PRODUCTS
            .iter()
            .enumerate()
            .map(|(i, (sku, name, price_q, category))| ProductRecord {
                sku: sku.to_string(),
                name: name.to_string(),
                price_q: *price_q,
                currency: Some(self.settings.currency.clone()),
                category: Some(category.to_string()),
                barcodes: vec![format!("789{:010}", i + 1)],
                active: true,
                parent_sku: None,
                variant: None,
                unique: false,
                oversell: OversellPolicy::Allow,
            })
            .collect();
        self.upsert_products(&records)?;
        // Opening stock is local: the server seeds its own with `--demo`.
        let now = self.now();
        let location = self.settings.location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        for (sku, ..) in DEMO_PRODUCTS {
            let opening = stock::Movement {
                sku,
                location: &location,
                delta: DEMO_STOCK,
                reason: StockReason::Receiving,
                source: "demo",
                at: now,
                outbox_seq: None,
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
