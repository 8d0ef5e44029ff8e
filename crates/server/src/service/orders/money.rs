//! An order's money as the back office shows it: its taxes by rate, its payments (approved
//! or declined) and its refunds with their tenders and lines, each with who took it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::params;
use crate::service::report::RateTotal;
use crate::service::terminals::parse_uuid;
use crate::storage::sql::{Row, Tx};

/// A stored id column that may be NULL.
pub(super) fn opt_uuid(row: &Row, i: usize) -> Result<Option<Uuid>> {
    row.opt_text(i)?.map(|t| parse_uuid(&t)).transpose()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInfo {
    pub payment_id: String,
    pub terminal_id: String,
    pub terminal_code: Option<String>,
    pub method: String,
    pub outcome: String,
    pub decline_code: Option<String>,
    pub currency: String,
    pub amount_q: i64,
    pub tendered_q: i64,
    pub change_q: i64,
    pub rounding_q: i64,
    pub fee_q: i64,
    pub refunded_q: i64,
    pub card_last4: Option<String>,
    pub reference: Option<String>,
    pub business_date: String,
    pub at: String,
    pub actor: String,
    pub shift_id: Option<Uuid>,
    /// Who took it (a staff id as the till gave it), and their name when the server knows them.
    pub staff_id: Option<Uuid>,
    pub staff_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTenderInfo {
    pub payment_id: String,
    pub method: String,
    pub amount_q: i64,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLineInfo {
    pub line_no: i64,
    pub qty: i64,
    pub amount_q: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundInfo {
    pub refund_id: String,
    pub terminal_id: String,
    pub terminal_code: Option<String>,
    pub idempotency_key: String,
    pub currency: String,
    pub amount_q: i64,
    pub restock: bool,
    pub reason: Option<String>,
    pub business_date: String,
    pub at: String,
    pub actor: String,
    pub shift_id: Option<Uuid>,
    /// Who gave it back, and the manager whose PIN allowed it (names when known).
    pub staff_id: Option<Uuid>,
    pub staff_name: Option<String>,
    pub approved_by: Option<Uuid>,
    pub approved_by_name: Option<String>,
    pub tenders: Vec<RefundTenderInfo>,
    pub lines: Vec<RefundLineInfo>,
}

/// An order's taxes by rate, payments and refunds.
pub(super) struct Money {
    pub(super) taxes: Vec<RateTotal>,
    pub(super) payments: Vec<PaymentInfo>,
    pub(super) refunds: Vec<RefundInfo>,
}

pub(super) async fn money<T: Tx>(tx: &mut T, order_id: &str) -> Result<Money> {
    let taxes = tx
        .query(
            "SELECT tax_rate_bp, CAST(SUM(gross_q - tax_q) AS BIGINT), CAST(SUM(tax_q) AS BIGINT), \
             CAST(SUM(gross_q) AS BIGINT) FROM order_lines WHERE order_id = $1 \
             GROUP BY tax_rate_bp ORDER BY tax_rate_bp",
            params![order_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(RateTotal {
                rate_bp: r.i64(0)?,
                base_q: r.i64(1)?,
                tax_q: r.i64(2)?,
                gross_q: r.i64(3)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let payments = tx
        .query(
            "SELECT p.payment_id, p.terminal_id, t.terminal_code, p.method, p.outcome, \
             p.decline_code, p.currency, p.amount_q, p.tendered_q, p.change_q, p.rounding_q, \
             p.fee_q, p.refunded_q, p.card_last4, p.reference, p.business_date, p.at, p.actor, \
             p.shift_id, p.staff_id, st.name \
             FROM payments p LEFT JOIN terminals t ON t.id = p.terminal_id \
             LEFT JOIN staff st ON st.staff_id = p.staff_id \
             WHERE p.order_id = $1 ORDER BY p.at, p.payment_id",
            params![order_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(PaymentInfo {
                payment_id: r.text(0)?,
                terminal_id: r.text(1)?,
                terminal_code: r.opt_text(2)?,
                method: r.text(3)?,
                outcome: r.text(4)?,
                decline_code: r.opt_text(5)?,
                currency: r.text(6)?,
                amount_q: r.i64(7)?,
                tendered_q: r.i64(8)?,
                change_q: r.i64(9)?,
                rounding_q: r.i64(10)?,
                fee_q: r.i64(11)?,
                refunded_q: r.i64(12)?,
                card_last4: r.opt_text(13)?,
                reference: r.opt_text(14)?,
                business_date: r.text(15)?,
                at: r.text(16)?,
                actor: r.text(17)?,
                shift_id: opt_uuid(r, 18)?,
                staff_id: opt_uuid(r, 19)?,
                staff_name: r.opt_text(20)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut refunds = tx
        .query(
            "SELECT r.refund_id, r.terminal_id, t.terminal_code, r.idempotency_key, r.currency, \
             r.amount_q, r.restock, r.reason, r.business_date, r.at, r.actor, r.shift_id, \
             r.staff_id, st.name, r.approved_by, ap.name \
             FROM refunds r LEFT JOIN terminals t ON t.id = r.terminal_id \
             LEFT JOIN staff st ON st.staff_id = r.staff_id \
             LEFT JOIN staff ap ON ap.staff_id = r.approved_by \
             WHERE r.order_id = $1 ORDER BY r.at, r.refund_id",
            params![order_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(RefundInfo {
                refund_id: r.text(0)?,
                terminal_id: r.text(1)?,
                terminal_code: r.opt_text(2)?,
                idempotency_key: r.text(3)?,
                currency: r.text(4)?,
                amount_q: r.i64(5)?,
                restock: r.bool(6)?,
                reason: r.opt_text(7)?,
                business_date: r.text(8)?,
                at: r.text(9)?,
                actor: r.text(10)?,
                shift_id: opt_uuid(r, 11)?,
                staff_id: opt_uuid(r, 12)?,
                staff_name: r.opt_text(13)?,
                approved_by: opt_uuid(r, 14)?,
                approved_by_name: r.opt_text(15)?,
                tenders: Vec::new(),
                lines: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if !refunds.is_empty() {
        let by_id: HashMap<String, usize> = refunds
            .iter()
            .enumerate()
            .map(|(i, r)| (r.refund_id.clone(), i))
            .collect();
        for r in tx
            .query(
                "SELECT t.refund_id, t.payment_id, t.method, t.amount_q, t.reference \
                 FROM refunds r JOIN refund_tenders t ON t.refund_id = r.refund_id \
                 WHERE r.order_id = $1 ORDER BY t.refund_id, t.payment_id",
                params![order_id],
            )
            .await?
        {
            if let Some(&i) = by_id.get(&r.text(0)?) {
                refunds[i].tenders.push(RefundTenderInfo {
                    payment_id: r.text(1)?,
                    method: r.text(2)?,
                    amount_q: r.i64(3)?,
                    reference: r.opt_text(4)?,
                });
            }
        }
        for r in tx
            .query(
                "SELECT l.refund_id, l.line_no, l.qty, l.amount_q \
                 FROM refunds r JOIN refund_lines l ON l.refund_id = r.refund_id \
                 WHERE r.order_id = $1 ORDER BY l.refund_id, l.line_no",
                params![order_id],
            )
            .await?
        {
            if let Some(&i) = by_id.get(&r.text(0)?) {
                refunds[i].lines.push(RefundLineInfo {
                    line_no: r.i64(1)?,
                    qty: r.i64(2)?,
                    amount_q: r.i64(3)?,
                });
            }
        }
    }
    Ok(Money {
        taxes,
        payments,
        refunds,
    })
}
