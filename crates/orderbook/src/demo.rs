//! Demo data: the café catalog, its stock, a manager, an open shift and one order in each status
//! of the in-store flow.
//!
//! Besides the default cashier (who rings everything up: nobody is signed in) the café has a
//! local manager, "Manager", PIN `1234`, for the actions that need a manager's approval. A shift
//! is open with a float of [`DEMO_FLOAT_Q`], and the demo orders are sold in it.
//!
//! The café offers pix and vouchers besides cash and card, and its prices include tax. The
//! orders past `new` were paid at the counter before they moved on (cash with change, a test
//! card, pix, and one split between cash and card); the cancelled one was never paid. The
//! `new` order stays unpaid and has no payment window, so the demo keeps an order in every
//! status however long after `init` it is opened (the window sweep would cancel it otherwise).
//!
//! The book stays a demo (`meta` key `demo`, [`Book::is_demo`]) until it is first enrolled:
//! that enrolment removes the demo's orders, shift, stock and outbox, and whatever was rung up
//! on the demo since, and sends none of it to the server (see [`Book::enroll`]).

use tillbook_protocol::events::StockReason;

use tillbook_protocol::catalog::demo_products;

use crate::catalog::ProductRecord;
use crate::commit::CommitOptions;
use crate::error::Result;
use crate::payment::{PayOptions, Tender};
use crate::staff::{self, DEMO_MANAGER, DEMO_MANAGER_PIN};
use crate::{db, settings, stock, Book};
use tillbook_protocol::staff::Role;

/// The test card every demo card payment uses (the test gateway approves it).
const DEMO_CARD: &str = "4242424242424242";

/// Opening stock of every demo product.
pub const DEMO_STOCK: i64 = 100;
/// The demo shift's cash float (R$ 200,00).
pub const DEMO_FLOAT_Q: i64 = 20_000;

impl Book {
    pub(crate) fn load_demo(&mut self) -> Result<()> {
        {
            let tx = db::write_tx(&mut self.conn)?;
            // A demo until its first enrolment, which removes all of this and sends none of it.
            db::meta_set(&tx, crate::sync::DEMO_KEY, "1")?;
            settings::set(&tx, "tender_methods", "pix,voucher")?;
            settings::set(&tx, "shop_name", "Tillbook Café")?;
            settings::set(&tx, "tax_mode", "inclusive")?;
            // Brazil-style: prices include tax; coffee and bakery carry their own rates.
            settings::set(&tx, "tax_rate", "12")?;
            settings::set(&tx, "category_tax", "Coffee=18,Bakery=7")?;
            settings::set(&tx, "shop_address", "Rua das Flores, 123|São Paulo - SP")?;
            settings::set(&tx, "receipt_footer", "Obrigado pela preferência!")?;
            staff::add_local(&tx, DEMO_MANAGER, Role::Manager, DEMO_MANAGER_PIN)?;
            tx.commit()?;
        }
        self.settings = settings::read(&self.conn)?;
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
        self.open_shift(DEMO_FLOAT_Q)?;

        // Each demo order: its lines, how it was paid, then the moves that bring it to its status.
        type Basket<'a> = (&'a [(&'a str, i64)], Vec<Tender>, &'a [&'a str]);
        let card = |amount_q: Option<i64>| Tender::Card { number: DEMO_CARD.into(), amount_q };
        let baskets: [Basket<'_>; 6] = [
            (&[("ESPRESSO", 2), ("CROISSANT", 1)], vec![], &[]),
            (&[("CAPPUCCINO", 1), ("CARROT_CAKE", 1)], vec![Tender::Cash { tendered_q: 2000 }], &["confirmed"]),
            (&[("LATTE", 2)], vec![card(None)], &["confirmed", "processing"]),
            (
                &[("PAIN_AU_CHOCOLAT", 1), ("ESPRESSO", 1)],
                vec![Tender::Method { name: "pix".into(), amount_q: None }],
                &["confirmed", "processing", "ready"],
            ),
            (
                &[("CROISSANT", 2), ("CAPPUCCINO", 2)],
                vec![Tender::Cash { tendered_q: 1000 }, card(None)],
                &["confirmed", "processing", "ready", "completed"],
            ),
            (&[("CARROT_CAKE", 1)], vec![], &["cancelled"]),
        ];
        for (i, (lines, tenders, moves)) in baskets.iter().enumerate() {
            let session = self.open_session(None, None)?;
            for (sku, qty) in lines.iter() {
                self.add_line(&session.session_key, sku, *qty, None)?;
            }
            let key = format!("demo-{}", i + 1);
            let out = self.commit(&session.session_key, &key, CommitOptions::default())?;
            if moves.is_empty() {
                let tx = db::write_tx(&mut self.conn)?;
                tx.execute("UPDATE orders SET pay_by = NULL WHERE order_ref = ?1", [&out.order_ref])?;
                tx.commit()?;
            }
            if !tenders.is_empty() {
                let paid = self.pay(&out.order_ref, tenders, PayOptions::default())?;
                debug_assert!(paid.declined.is_none() && paid.amount_due_q == 0);
            }
            for to in moves.iter() {
                self.transition(&out.order_ref, to, "demo", None)?;
            }
        }
        Ok(())
    }
}
