//! The server's own figures of a set of shifts ([`ShiftFigures`], the X- or Z-report), summed
//! by the database: six statements for the whole set, each grouped by shift (and by rate,
//! SKU, category or method), each reading the shifts' rows through an index by `shift_id`
//! (`orders_shift`, `payments_shift`, `refunds_shift`, `cash_movements_shift`; lines by
//! their order's key). Rust only places the rows, sorts the lists by key (byte order, as the
//! till does) and works out the expected cash (checked). Text is ordered and compared byte by
//! byte on both engines ([`Tx::BYTE_ORDER`]), as the till's SQLite does.
//!
//! What counts, as the till counts it:
//! - **orders**: those with the shift's id not cancelled in that shift (a cancel stamps the
//!   shift open at the till in `cancelled_shift_id`; one after the close leaves the Z-report
//!   as it was) (count, totals,
//!   discounts = order discount + its lines' discounts, tax); `first_ref`/`last_ref` over
//!   all of them (cancelled too), by `committed_at` then reference; `cancelled_*`: those
//!   cancelled in the shift.
//! - **taxes**: the counted taxed orders' lines by rate (base = gross − tax): the sum of the
//!   orders' per-rate rows. Untaxed orders (sold before taxes) have none.
//! - **by product / by category**: the counted orders' lines by SKU (name: the greatest
//!   name sold under it) and by category (`""` for none): units and gross
//!   ([`tillbook_protocol::tax::line_gross`], kept on each line).
//! - **tenders**: the shift's payments by method (approved: count, amount, fees; declined
//!   attempts) and the shift's refunds' tenders by method (`refunded_q`); a method with only
//!   refunds in the shift is listed with zero payments.
//! - **refunds**, **cash movements**: the shift's own.
//! - **cash**: approved cash payments as the drawer kept them (`amount + rounding`), cash
//!   refund tenders, cash in and out; `expected = float + sales − refunds + in − out`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use tillbook_protocol::shift::{
    CashMoveKind, CashMovementFigure, SalesFigure, ShiftFigures, TenderFigure,
};
use tillbook_protocol::tax::TaxLine;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::service::terminals::parse_uuid;
use crate::storage::sql::{query_keys, Row, Tx, Val};

/// `SUM` as a BIGINT on both engines (PostgreSQL sums BIGINTs into NUMERIC), 0 when empty.
macro_rules! sum {
    ($e:literal) => {
        concat!("CAST(COALESCE(SUM(", $e, "), 0) AS BIGINT)")
    };
}

/// The shifts of the set: `{keys}` is their ids.
const IN_SET: &str = "IN (SELECT k.column1 FROM {keys})";

/// Per shift: counted orders (count, sales, discounts, tax) and cancelled ones (count, sum).
const ORDERS_SQL: &str = concat!(
    "SELECT o.shift_id, ",
    sum!("CASE WHEN NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) THEN 1 ELSE 0 END"),
    ", ",
    sum!("CASE WHEN NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) THEN o.total_q ELSE 0 END"),
    ", ",
    sum!("CASE WHEN NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) THEN o.discount_q + o.line_discount_q ELSE 0 END"),
    ", ",
    sum!("CASE WHEN NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) THEN o.tax_q ELSE 0 END"),
    ", ",
    sum!("CASE WHEN (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) THEN 1 ELSE 0 END"),
    ", ",
    sum!("CASE WHEN (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) THEN o.total_q ELSE 0 END"),
    " FROM orders o WHERE o.shift_id {in} GROUP BY o.shift_id"
);

/// Per shift: the first and the last reference (by commit time, then reference).
const REFS_SQL: &str =
    "SELECT x.shift_id, x.order_ref, x.a, x.b FROM (SELECT o.shift_id, o.order_ref, \
     ROW_NUMBER() OVER (PARTITION BY o.shift_id \
     ORDER BY o.committed_at{bytes}, o.order_ref{bytes}) AS a, \
     ROW_NUMBER() OVER (PARTITION BY o.shift_id \
     ORDER BY o.committed_at{bytes} DESC, o.order_ref{bytes} DESC) AS b \
     FROM orders o WHERE o.shift_id {in}) x WHERE x.a = 1 OR x.b = 1";

/// The counted orders' lines: by rate of the taxed ones (kind 0: rate, base, tax, gross), by
/// SKU (kind 1: sku, qty, gross, greatest name), by category (kind 2: category, qty, gross).
const LINES_SQL: &str = concat!(
    "SELECT 0, o.shift_id, '', l.tax_rate_bp, ",
    sum!("l.gross_q - l.tax_q"),
    ", ",
    sum!("l.tax_q"),
    ", ",
    sum!("l.gross_q"),
    ", '' FROM orders o JOIN order_lines l ON l.order_id = o.order_id ",
    "WHERE o.shift_id {in} AND NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) AND o.tax_mode IS NOT NULL ",
    "GROUP BY o.shift_id, l.tax_rate_bp ",
    "UNION ALL SELECT 1, o.shift_id, l.sku, 0, ",
    sum!("l.qty"),
    ", ",
    sum!("l.gross_q"),
    ", 0, MAX(l.name{bytes}) FROM orders o JOIN order_lines l ON l.order_id = o.order_id ",
    "WHERE o.shift_id {in} AND NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) GROUP BY o.shift_id, l.sku ",
    "UNION ALL SELECT 2, o.shift_id, COALESCE(l.category, ''), 0, ",
    sum!("l.qty"),
    ", ",
    sum!("l.gross_q"),
    ", 0, '' FROM orders o JOIN order_lines l ON l.order_id = o.order_id ",
    "WHERE o.shift_id {in} AND NOT (o.status = 'cancelled' AND COALESCE(o.cancelled_shift_id, '') = o.shift_id) ",
    "GROUP BY o.shift_id, COALESCE(l.category, '')"
);

/// Per shift and method: approved count, amount, fees; declined attempts; approved amount
/// plus cash rounding (what the drawer kept, read for `cash`).
const PAYMENTS_SQL: &str = concat!(
    "SELECT p.shift_id, p.method, ",
    sum!("CASE WHEN p.outcome = 'approved' THEN 1 ELSE 0 END"),
    ", ",
    sum!("CASE WHEN p.outcome = 'approved' THEN p.amount_q ELSE 0 END"),
    ", ",
    sum!("CASE WHEN p.outcome = 'approved' THEN p.fee_q ELSE 0 END"),
    ", ",
    sum!("CASE WHEN p.outcome = 'declined' THEN 1 ELSE 0 END"),
    ", ",
    sum!("CASE WHEN p.outcome = 'approved' THEN p.amount_q + p.rounding_q ELSE 0 END"),
    " FROM payments p WHERE p.shift_id {in} GROUP BY p.shift_id, p.method"
);

/// Per shift: refunds (kind 0: count, amount) and their tenders by method (kind 1: amount).
const REFUNDS_SQL: &str = concat!(
    "SELECT 0, r.shift_id, '', CAST(COUNT(*) AS BIGINT), ",
    sum!("r.amount_q"),
    " FROM refunds r WHERE r.shift_id {in} GROUP BY r.shift_id ",
    "UNION ALL SELECT 1, r.shift_id, t.method, 0, ",
    sum!("t.amount_q"),
    " FROM refunds r JOIN refund_tenders t ON t.refund_id = r.refund_id ",
    "WHERE r.shift_id {in} GROUP BY r.shift_id, t.method"
);

/// Per shift: cash in and cash out.
const CASH_SQL: &str = concat!(
    "SELECT m.shift_id, ",
    sum!("CASE WHEN m.kind = 'in' THEN m.amount_q ELSE 0 END"),
    ", ",
    sum!("CASE WHEN m.kind = 'out' THEN m.amount_q ELSE 0 END"),
    " FROM cash_movements m WHERE m.shift_id {in} GROUP BY m.shift_id"
);

/// The movements themselves, in order.
const MOVEMENTS_SQL: &str = "SELECT m.shift_id, m.kind, m.amount_q, m.reason, m.at, m.actor \
     FROM cash_movements m WHERE m.shift_id {in} ORDER BY m.shift_id, m.at, m.movement_id";

/// Runs one of the statements over the set's ids.
async fn run<T: Tx>(tx: &mut T, keys: &[Val], sql: &str) -> Result<Vec<Row>> {
    let sql = sql
        .replace("{in}", IN_SET)
        .replace("{bytes}", T::BYTE_ORDER);
    query_keys(tx, &sql, &[], "TEXT", keys).await
}

/// Tender figures per shift, by method (sorted).
type Tenders = HashMap<Uuid, BTreeMap<String, TenderFigure>>;

/// A shift's figure for `method`, created empty the first time it is named.
fn tender(tenders: &mut Tenders, id: Uuid, method: String) -> &mut TenderFigure {
    tenders
        .entry(id)
        .or_default()
        .entry(method.clone())
        .or_insert(TenderFigure {
            method,
            count: 0,
            amount_q: 0,
            refunded_q: 0,
            declined: 0,
            fee_q: 0,
        })
}

/// What the shift row says: the figures' frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub shift_id: Uuid,
    pub currency: String,
    pub business_date: NaiveDate,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub float_q: i64,
    pub counted_q: Option<i64>,
}

pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Internal(format!("stored time {text:?}: {e}")))
}

fn empty(f: &Frame) -> ShiftFigures {
    ShiftFigures {
        shift_id: f.shift_id,
        currency: f.currency.clone(),
        business_date: f.business_date,
        opened_at: f.opened_at,
        closed_at: f.closed_at,
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
        float_q: f.float_q,
        cash_sales_q: 0,
        cash_refunds_q: 0,
        cash_in_q: 0,
        cash_out_q: 0,
        expected_cash_q: 0,
        counted_q: f.counted_q,
        difference_q: None,
    }
}

/// The figures of each shift of `frames`, by shift id.
pub async fn compute<T: Tx>(tx: &mut T, frames: &[Frame]) -> Result<HashMap<Uuid, ShiftFigures>> {
    let mut out: HashMap<Uuid, ShiftFigures> =
        frames.iter().map(|f| (f.shift_id, empty(f))).collect();
    if frames.is_empty() {
        return Ok(out);
    }
    let keys: Vec<Val> = frames.iter().map(|f| Val::from(f.shift_id)).collect();
    macro_rules! shift {
        ($row:expr, $i:expr) => {
            out.get_mut(&parse_uuid(&$row.text($i)?)?)
                .ok_or_else(|| Error::Internal("a figure of a shift not asked for".into()))?
        };
    }
    for r in run(tx, &keys, ORDERS_SQL).await? {
        let f = shift!(r, 0);
        (f.order_count, f.sales_q, f.discounts_q, f.tax_q) =
            (r.i64(1)?, r.i64(2)?, r.i64(3)?, r.i64(4)?);
        (f.cancelled_count, f.cancelled_q) = (r.i64(5)?, r.i64(6)?);
    }
    for r in run(tx, &keys, REFS_SQL).await? {
        let f = shift!(r, 0);
        if r.i64(2)? == 1 {
            f.first_ref = Some(r.text(1)?);
        }
        if r.i64(3)? == 1 {
            f.last_ref = Some(r.text(1)?);
        }
    }
    for r in run(tx, &keys, LINES_SQL).await? {
        let f = shift!(r, 1);
        let (a, b, c) = (r.i64(4)?, r.i64(5)?, r.i64(6)?);
        match r.i64(0)? {
            0 => f.taxes.push(TaxLine {
                rate_bp: r.i64(3)?,
                base_q: a,
                tax_q: b,
                gross_q: c,
            }),
            1 => f.by_product.push(SalesFigure {
                key: r.text(2)?,
                name: r.text(7)?,
                qty: a,
                gross_q: b,
            }),
            _ => f.by_category.push(SalesFigure {
                key: r.text(2)?,
                name: String::new(),
                qty: a,
                gross_q: b,
            }),
        }
    }
    let mut tenders = Tenders::new();
    for r in run(tx, &keys, PAYMENTS_SQL).await? {
        let id = parse_uuid(&r.text(0)?)?;
        let method = r.text(1)?;
        if method == tillbook_protocol::events::CASH {
            shift!(r, 0).cash_sales_q = r.i64(6)?;
        }
        let t = tender(&mut tenders, id, method);
        (t.count, t.amount_q, t.fee_q, t.declined) = (r.i64(2)?, r.i64(3)?, r.i64(4)?, r.i64(5)?);
    }
    for r in run(tx, &keys, REFUNDS_SQL).await? {
        let id = parse_uuid(&r.text(1)?)?;
        if r.i64(0)? == 0 {
            let f = shift!(r, 1);
            (f.refund_count, f.refunds_q) = (r.i64(3)?, r.i64(4)?);
            continue;
        }
        let method = r.text(2)?;
        if method == tillbook_protocol::events::CASH {
            shift!(r, 1).cash_refunds_q = r.i64(4)?;
        }
        tender(&mut tenders, id, method).refunded_q = r.i64(4)?;
    }
    for r in run(tx, &keys, CASH_SQL).await? {
        let f = shift!(r, 0);
        (f.cash_in_q, f.cash_out_q) = (r.i64(1)?, r.i64(2)?);
    }
    for r in run(tx, &keys, MOVEMENTS_SQL).await? {
        let kind = r.text(1)?;
        let movement = CashMovementFigure {
            kind: CashMoveKind::parse(&kind)
                .ok_or_else(|| Error::Internal(format!("stored movement kind {kind:?}")))?,
            amount_q: r.i64(2)?,
            reason: r.text(3)?,
            at: parse_time(&r.text(4)?)?,
            actor: r.text(5)?,
        };
        shift!(r, 0).movements.push(movement);
    }
    for (id, f) in out.iter_mut() {
        f.tenders = tenders
            .remove(id)
            .unwrap_or_default()
            .into_values()
            .collect();
        f.taxes.sort_by_key(|t| t.rate_bp);
        f.by_product.sort_by(|a, b| a.key.cmp(&b.key));
        f.by_category.sort_by(|a, b| a.key.cmp(&b.key));
        f.expected_cash_q = f
            .expected_cash()
            .ok_or_else(|| Error::Internal(format!("shift {id}: expected cash overflows")))?;
        f.difference_q =
            match f.counted_q {
                Some(c) => Some(c.checked_sub(f.expected_cash_q).ok_or_else(|| {
                    Error::Internal(format!("shift {id}: the difference overflows"))
                })?),
                None => None,
            };
    }
    Ok(out)
}

/// Whether the till's figures say something else than the server's: every field compared,
/// times to the microsecond (what the server keeps of them).
pub fn differ(till: &ShiftFigures, server: &ShiftFigures) -> bool {
    fn micros(f: &ShiftFigures) -> ShiftFigures {
        use chrono::SubsecRound;
        let mut f = f.clone();
        f.opened_at = f.opened_at.trunc_subsecs(6);
        f.closed_at = f.closed_at.map(|t| t.trunc_subsecs(6));
        for m in &mut f.movements {
            m.at = m.at.trunc_subsecs(6);
        }
        f
    }
    micros(till) != micros(server)
}
