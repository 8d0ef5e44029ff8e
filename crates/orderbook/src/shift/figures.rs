//! A shift's figures (X- and Z-report), straight from the ledger.
//!
//! Seven aggregate statements over the caller's transaction (one snapshot), each a range of an
//! index by `shift_id` (`orders_shift`, `payments_shift`, `refunds_shift`, `cash_movements_shift`;
//! lines and taxes by their order's primary key). Rust only places the rows in the answer and
//! adds the few per-SKU rows into categories. The server computes the same figures from its own
//! tables by the same definition (`tillbook_protocol::shift`):
//!
//! - **Counted orders**: the shift's orders not cancelled while it was open (a cancellation
//!   stamps the shift open then in `orders.cancelled_shift_id`; one after the close leaves the
//!   Z-report as it was): `order_count`,
//!   `sales_q` (Σ total), `discounts_q` (Σ line discounts + Σ order discounts), `tax_q`, taxes
//!   per rate (from each order's per-rate totals, ascending rate), `by_product` (per SKU: the
//!   greatest name sold under it, Σ qty, Σ line gross as `tax::line_gross`) and `by_category`
//!   (the line's category as sold, `""` without one).
//! - `first_ref` / `last_ref`: over every order of the shift, cancelled ones included, by
//!   commit time then reference. `cancelled_count` / `cancelled_q`: the shift's orders
//!   cancelled in it.
//! - **Tenders** per method, over the payments recorded in the shift: approved count, Σ amount,
//!   Σ fee; declined attempts; refunded = Σ refund tenders of that method of the refunds
//!   recorded in the shift (a method only refunded in the shift is listed with no payments).
//! - `refund_count` / `refunds_q`: refunds recorded in the shift. Cash movements by time, then
//!   id. `cash_sales_q` = Σ (amount + rounding) of approved cash payments; `cash_refunds_q` =
//!   Σ refund tenders in cash; `expected_cash_q` = float + cash sales − cash refunds + cash in −
//!   cash out (checked); at the close `difference_q` = counted − expected.
//!
//! SQLite's `SUM` of integers fails on overflow rather than wrapping (a storage error).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tillbook_protocol::shift::{CashMoveKind, CashMovementFigure, SalesFigure, ShiftFigures, TenderFigure};
use tillbook_protocol::tax::TaxLine;

use super::ShiftView;
use crate::bounds;
use crate::clock::parse_time;
use crate::error::Result;

const ORDERS: &str = "
SELECT COUNT(*) FILTER (WHERE NOT (status = 'cancelled' AND COALESCE(cancelled_shift_id, '') = ?1)),
       COALESCE(SUM(total_q) FILTER (WHERE NOT (status = 'cancelled' AND COALESCE(cancelled_shift_id, '') = ?1)), 0),
       COALESCE(SUM(discount_q) FILTER (WHERE NOT (status = 'cancelled' AND COALESCE(cancelled_shift_id, '') = ?1)), 0),
       COALESCE(SUM(tax_q) FILTER (WHERE NOT (status = 'cancelled' AND COALESCE(cancelled_shift_id, '') = ?1)), 0),
       COUNT(*) FILTER (WHERE (status = 'cancelled' AND COALESCE(cancelled_shift_id, '') = ?1)),
       COALESCE(SUM(total_q) FILTER (WHERE (status = 'cancelled' AND COALESCE(cancelled_shift_id, '') = ?1)), 0),
       (SELECT order_ref FROM orders WHERE shift_id = ?1 ORDER BY committed_at, order_ref LIMIT 1),
       (SELECT order_ref FROM orders WHERE shift_id = ?1 ORDER BY committed_at DESC, order_ref DESC LIMIT 1)
FROM orders WHERE shift_id = ?1";

const LINES: &str = "
SELECT l.sku, COALESCE(l.category, ''), MAX(l.name), SUM(l.qty), SUM(l.discount_q),
       SUM(l.total_q - l.order_discount_q + CASE WHEN o.tax_mode = 'exclusive' THEN l.tax_q ELSE 0 END)
FROM orders o JOIN order_lines l ON l.order_ref = o.order_ref
WHERE o.shift_id = ?1 AND NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = ?1)
GROUP BY l.sku, COALESCE(l.category, '')";

const TAXES: &str = "
SELECT t.rate_bp, SUM(t.base_q), SUM(t.tax_q), SUM(t.gross_q)
FROM orders o JOIN order_taxes t ON t.order_ref = o.order_ref
WHERE o.shift_id = ?1 AND NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = ?1)
GROUP BY t.rate_bp ORDER BY t.rate_bp";

const PAYMENTS: &str = "
SELECT method,
       COUNT(*) FILTER (WHERE outcome = 'approved'),
       COALESCE(SUM(amount_q) FILTER (WHERE outcome = 'approved'), 0),
       COALESCE(SUM(fee_q) FILTER (WHERE outcome = 'approved'), 0),
       COUNT(*) FILTER (WHERE outcome = 'declined'),
       COALESCE(SUM(amount_q + rounding_q) FILTER (WHERE outcome = 'approved' AND method = 'cash'), 0)
FROM payments WHERE shift_id = ?1 GROUP BY method";

const REFUND_TENDERS: &str = "
SELECT t.method, SUM(t.amount_q)
FROM refunds r JOIN refund_tenders t ON t.refund_id = r.refund_id
WHERE r.shift_id = ?1 GROUP BY t.method";

const REFUNDS: &str = "SELECT COUNT(*), COALESCE(SUM(amount_q), 0) FROM refunds WHERE shift_id = ?1";

const MOVEMENTS: &str = "
SELECT kind, amount_q, reason, at, actor FROM cash_movements WHERE shift_id = ?1 ORDER BY at, movement_id";

fn add(a: &mut i64, b: i64, what: &str) -> Result<()> {
    *a = bounds::add(*a, b, what)?;
    Ok(())
}

/// The figures of `shift` from the ledger, as of the caller's transaction. With `closed_at`
/// and `counted_q` (the close) they are the Z-report, with the difference.
pub(crate) fn compute(
    conn: &Connection,
    shift: &ShiftView,
    closed_at: Option<DateTime<Utc>>,
    counted_q: Option<i64>,
) -> Result<ShiftFigures> {
    let id = shift.shift_id.to_string();
    let mut f = ShiftFigures {
        shift_id: shift.shift_id,
        currency: shift.currency.clone(),
        business_date: shift.business_date,
        opened_at: shift.opened_at,
        closed_at,
        order_count: 0,
        first_ref: None,
        last_ref: None,
        sales_q: 0,
        discounts_q: 0,
        tax_q: 0,
        taxes: Vec::new(),
        by_product: Vec::new(),
        by_category: Vec::new(),
        tenders: Vec::new(),
        refund_count: 0,
        refunds_q: 0,
        cancelled_count: 0,
        cancelled_q: 0,
        movements: Vec::new(),
        float_q: shift.float_q,
        cash_sales_q: 0,
        cash_refunds_q: 0,
        cash_in_q: 0,
        cash_out_q: 0,
        expected_cash_q: 0,
        counted_q: None,
        difference_q: None,
    };

    let order_discounts: i64;
    (f.order_count, f.sales_q, order_discounts, f.tax_q, f.cancelled_count, f.cancelled_q, f.first_ref, f.last_ref) =
        conn.prepare_cached(ORDERS)?.query_row([&id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })?;
    f.discounts_q = order_discounts;

    let mut products: BTreeMap<String, SalesFigure> = BTreeMap::new();
    let mut categories: BTreeMap<String, SalesFigure> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(LINES)?;
    let mut rows = stmt.query([&id])?;
    while let Some(r) = rows.next()? {
        let (sku, category, name, qty, discount, gross): (String, String, String, i64, i64, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        add(&mut f.discounts_q, discount, "the shift's discounts")?;
        let p = products.entry(sku.clone()).or_insert_with(|| SalesFigure { key: sku, name: String::new(), qty: 0, gross_q: 0 });
        p.name = p.name.clone().max(name);
        add(&mut p.qty, qty, "a product's units")?;
        add(&mut p.gross_q, gross, "a product's sales")?;
        let c = categories
            .entry(category.clone())
            .or_insert_with(|| SalesFigure { key: category, name: String::new(), qty: 0, gross_q: 0 });
        add(&mut c.qty, qty, "a category's units")?;
        add(&mut c.gross_q, gross, "a category's sales")?;
    }
    drop(rows);
    f.by_product = products.into_values().collect();
    f.by_category = categories.into_values().collect();

    f.taxes = conn
        .prepare_cached(TAXES)?
        .query_map([&id], |r| Ok(TaxLine { rate_bp: r.get(0)?, base_q: r.get(1)?, tax_q: r.get(2)?, gross_q: r.get(3)? }))?
        .collect::<Result<_, _>>()?;

    let mut tenders: BTreeMap<String, TenderFigure> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(PAYMENTS)?;
    let mut rows = stmt.query([&id])?;
    while let Some(r) = rows.next()? {
        let method: String = r.get(0)?;
        let cash: i64 = r.get(5)?;
        add(&mut f.cash_sales_q, cash, "the cash taken")?;
        let t = TenderFigure { method: method.clone(), count: r.get(1)?, amount_q: r.get(2)?, refunded_q: 0, declined: r.get(4)?, fee_q: r.get(3)? };
        tenders.insert(method, t);
    }
    drop(rows);
    let mut stmt = conn.prepare_cached(REFUND_TENDERS)?;
    let mut rows = stmt.query([&id])?;
    while let Some(r) = rows.next()? {
        let (method, refunded): (String, i64) = (r.get(0)?, r.get(1)?);
        if method == tillbook_protocol::events::CASH {
            f.cash_refunds_q = refunded;
        }
        let t = tenders.entry(method.clone()).or_insert_with(|| TenderFigure {
            method,
            count: 0,
            amount_q: 0,
            refunded_q: 0,
            declined: 0,
            fee_q: 0,
        });
        t.refunded_q = refunded;
    }
    drop(rows);
    f.tenders = tenders.into_values().collect();
    (f.refund_count, f.refunds_q) = conn.prepare_cached(REFUNDS)?.query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))?;

    let mut stmt = conn.prepare_cached(MOVEMENTS)?;
    let mut rows = stmt.query([&id])?;
    while let Some(r) = rows.next()? {
        let (kind, amount_q, at): (String, i64, String) = (r.get(0)?, r.get(1)?, r.get(3)?);
        let kind = CashMoveKind::parse(&kind).unwrap_or(CashMoveKind::NoSale);
        match kind {
            CashMoveKind::In => add(&mut f.cash_in_q, amount_q, "the cash put in")?,
            CashMoveKind::Out => add(&mut f.cash_out_q, amount_q, "the cash taken out")?,
            CashMoveKind::NoSale => {}
        }
        f.movements.push(CashMovementFigure { kind, amount_q, reason: r.get(2)?, at: parse_time(&at), actor: r.get(4)? });
    }
    drop(rows);

    f.expected_cash_q = f.expected_cash().ok_or_else(|| bounds::overflow("the cash expected in the drawer"))?;
    if let Some(counted) = counted_q {
        f.counted_q = Some(counted);
        f.difference_q = Some(bounds::sub(counted, f.expected_cash_q, "the difference")?);
    }
    Ok(f)
}
