//! Payments on committed orders: tenders ([`tender`]), the card backend ([`gateway`]), refunds
//! ([`refund`]) and the payment window ([`window`]).
//!
//! An order's `paid_q` is the sum of its approved payments and `refunded_q` the sum of its
//! refunds, both kept in the transaction that records each payment or refund; every attempt
//! and every refund writes one outbox row (`payment.recorded`, `refund.recorded`) in that same
//! transaction. An order is paid when its approved payments cover its total.
//!
//! Payments and refunds are taken in the open shift (`no_open_shift` without one) and carry its
//! `shift_id` and the staff member acting; a refund needs the `refund` permission (or a
//! manager's approval PIN, recorded as `approved_by`).

pub mod gateway;
mod refund;
mod tender;
pub mod window;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use tillbook_protocol::events::PaymentOutcome;
use uuid::Uuid;

use crate::clock::parse_time;
use crate::error::Result;

pub use gateway::{card_digits, decline_message, GatewayAnswer, PaymentBackend, TestGateway, TEST_DECLINES};
pub use refund::{RefundBy, RefundLineView, RefundOutcome, RefundRequest, RefundTenderView, RefundView};
pub use tender::{cash_due, cash_split, CashSplit, Declined, PayOptions, PayOutcome, Tender};

pub(crate) use refund::refunds_of;

pub use tillbook_protocol::events::PaymentStatus;

/// What is still due on an order in `status`: its total less its approved payments, never
/// negative; nothing on a cancelled or refunded order (it can no longer be paid).
pub fn amount_due(status: &str, total_q: i64, paid_q: i64) -> i64 {
    if NOT_PAYABLE.contains(&status) {
        return 0;
    }
    total_q.saturating_sub(paid_q).max(0)
}

/// Statuses in which an order takes no payment.
pub const NOT_PAYABLE: [&str; 2] = ["cancelled", "refunded"];

/// One payment attempt on an order, approved or declined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    pub payment_id: Uuid,
    /// `cash`, `card` or a configured method.
    pub method: String,
    pub outcome: PaymentOutcome,
    pub decline_code: Option<String>,
    /// What it paid of the order (a declined attempt: what was asked).
    pub amount_q: i64,
    pub tendered_q: i64,
    pub change_q: i64,
    pub rounding_q: i64,
    pub fee_q: i64,
    /// How much of it was given back since.
    pub refunded_q: i64,
    /// The last four digits of the card, never more.
    pub last4: Option<String>,
    /// The provider's or external terminal's reference.
    pub reference: Option<String>,
    pub at: DateTime<Utc>,
    /// The staff member who took it (name) and their id.
    pub actor: String,
    pub staff_id: Option<Uuid>,
    /// The shift it was taken in.
    pub shift_id: Option<Uuid>,
}

pub(crate) const PAYMENT_COLUMNS: &str = "payment_id, method, outcome, decline_code, amount_q, tendered_q, change_q, rounding_q,
     fee_q, refunded_q, card_last4, reference, at, actor, shift_id, staff_id";

pub(crate) fn payment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PaymentView> {
    let id: String = r.get(0)?;
    let outcome: String = r.get(2)?;
    let at: String = r.get(12)?;
    let shift: Option<String> = r.get(14)?;
    let staff: Option<String> = r.get(15)?;
    Ok(PaymentView {
        payment_id: Uuid::parse_str(&id).unwrap_or_default(),
        method: r.get(1)?,
        outcome: if outcome == "approved" { PaymentOutcome::Approved } else { PaymentOutcome::Declined },
        decline_code: r.get(3)?,
        amount_q: r.get(4)?,
        tendered_q: r.get(5)?,
        change_q: r.get(6)?,
        rounding_q: r.get(7)?,
        fee_q: r.get(8)?,
        refunded_q: r.get(9)?,
        last4: r.get(10)?,
        reference: r.get(11)?,
        at: parse_time(&at),
        actor: r.get(13)?,
        staff_id: staff.and_then(|s| Uuid::parse_str(&s).ok()),
        shift_id: shift.and_then(|s| Uuid::parse_str(&s).ok()),
    })
}

/// Every payment attempt of an order, in the order they were made.
pub(crate) fn payments_of(conn: &Connection, order_ref: &str) -> Result<Vec<PaymentView>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_ref = ?1 ORDER BY rowid"))?;
    let rows = stmt.query_map([order_ref], payment_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_status_is_derived_from_the_sums() {
        use PaymentStatus::*;
        assert_eq!(PaymentStatus::of(1000, 0, 0), Unpaid);
        assert_eq!(PaymentStatus::of(1000, 400, 0), PartlyPaid);
        assert_eq!(PaymentStatus::of(1000, 1000, 0), Paid);
        assert_eq!(PaymentStatus::of(0, 0, 0), Paid, "nothing is due on an order of zero");
        assert_eq!(PaymentStatus::of(1000, 1000, 1), PartlyRefunded);
        assert_eq!(PaymentStatus::of(1000, 1000, 1000), Refunded);
        assert_eq!(PaymentStatus::of(1000, 400, 400), Refunded);
        assert_eq!(amount_due("new", 1000, 400), 600);
        assert_eq!(amount_due("cancelled", 1000, 0), 0);
        assert_eq!(amount_due("new", 1000, 1200), 0);
        assert_eq!(serde_json::to_value(PartlyRefunded).unwrap(), "partly_refunded");
        assert_eq!(PartlyPaid.as_str(), "partly_paid");
    }
}

#[cfg(test)]
mod book_tests;
