//! The payment window: an order left unpaid past its `pay_by` is cancelled and its stock
//! released.
//!
//! `orders.pay_by` is set at commit to `committed_at + payment_window_mins`; orders written
//! before payments existed have none and never expire. [`Book::sweep_payment_window`] cancels,
//! as `system` with reason `payment window`, every order whose `pay_by` has passed, with
//! nothing paid (`paid_q = 0`) and something due, and whose status does not end it in its
//! channel's flow: the same status move as a cancel (an `order.status_changed` outbox row, its
//! stock returned, its one-of-a-kind items released), all in one transaction. An order paid in
//! full or in part is never swept. The book does not sweep by itself (not even when it
//! opens): the `tillbook` command sweeps before each command and the app on a timer.
//!
//! **Clocks that jump.** The book knows time only from its clock. When the clock reads
//! earlier than an order's `committed_at`, it was set back: waiting for the old deadline
//! would keep the order for the window plus however far the clock went back, so the sweep
//! resets that order's `pay_by` to now + the window instead. A clock that jumps forward
//! cancels at once: as far as the till can know, the time has passed.

use chrono::Duration;

use crate::clock::{fmt_time, parse_time};
use crate::error::Result;
use crate::order::{move_status, StatusMove};
use crate::{channel, db, Book};

/// The end of an order's payment window.
pub fn deadline(committed_at: chrono::DateTime<chrono::Utc>, window_mins: i64) -> chrono::DateTime<chrono::Utc> {
    committed_at + Duration::minutes(window_mins)
}

/// The actor and reason of a cancel by the sweep.
pub const SWEEP_ACTOR: &str = "system";
pub const SWEEP_REASON: &str = "payment window";

impl Book {
    /// Cancels the orders left unpaid past their payment window (see the module) and returns
    /// their references, oldest first.
    pub fn sweep_payment_window(&mut self) -> Result<Vec<String>> {
        let now = self.now();
        let now_text = fmt_time(now);
        let window = self.settings.payment_window_mins;
        let location = self.settings.location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let candidates: Vec<(String, Option<String>, String, String, String)> = tx
            .prepare_cached(
                "SELECT order_ref, order_id, status, channel, committed_at FROM orders
                 WHERE pay_by IS NOT NULL AND paid_q = 0 AND total_q > 0 AND (pay_by <= ?1 OR committed_at > ?1)
                 ORDER BY ref_seq",
            )?
            .query_map([&now_text], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
            .collect::<Result<_, _>>()?;
        let mut cancelled = Vec::new();
        for (order_ref, order_id, status, ch, committed_at) in candidates {
            let flow = channel::get(&tx, &ch)?.flow;
            if flow.is_terminal(&status) || status == "refunded" {
                continue;
            }
            if parse_time(&committed_at) > now {
                tx.prepare_cached("UPDATE orders SET pay_by = ?2 WHERE order_ref = ?1")?
                    .execute([&order_ref, &fmt_time(deadline(now, window))])?;
                continue;
            }
            if !flow.allows(&status, &flow.cancelled) {
                // A flow that cannot cancel from here keeps the order; staff decide.
                continue;
            }
            let order_id = order_id.and_then(|i| uuid::Uuid::parse_str(&i).ok()).unwrap_or_default();
            let m = StatusMove {
                order_id,
                order_ref: &order_ref,
                from: &status,
                to: &flow.cancelled,
                actor: SWEEP_ACTOR,
                reason: Some(SWEEP_REASON),
                staff_id: None,
                approved_by: None,
            };
            move_status(&tx, m, &flow, &location, now)?;
            cancelled.push(order_ref);
        }
        tx.commit()?;
        Ok(cancelled)
    }
}
