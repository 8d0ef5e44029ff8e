//! The daily report of one store and business date (`GET /v1/admin/reports/daily`).
//!
//! Every figure is summed by the database (`SUM … GROUP BY`), in a handful of statements that
//! each read one range of an index made for them (see `migrations/*/0003_payments.sql`):
//!
//! - **sales**: the store's orders of that business date whose status is not `cancelled`:
//!   their count, `gross_q = Σ total_q`, `tax_q = Σ tax_q`, `discount_q` = Σ order discounts
//!   + Σ their lines' discounts (kept on the order row at commit), `net_q = gross − tax`.
//! - **taxes**: the lines of those orders by rate: `gross_q = Σ line gross` (total − its share
//!   of the order discount, + its tax when prices exclude tax), `tax_q`, `base_q = gross − tax`.
//!   One range of `order_lines_day`: a cancelling move flags its order's lines, so no line is
//!   looked up one by one.
//! - **tenders**: approved payments with that business date by method (count, amount, fees);
//!   `fees_q` their fees; `declines`: the declined attempts. (Cash handed over, change and
//!   rounding are the drawer's business: the shift's report.)
//! - **refunds**: refunds with that business date (count, amount), by method from their tenders.
//! - **cancellations**: orders of that business date whose status is `cancelled`.
//! - **terminals**: the same figures per terminal that has any (orders, payments or refunds).
//!
//! The only arithmetic in Rust is none: rows are placed into the answer as they come.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::params;
use crate::service::stores;
use crate::storage::sql::{Row, Tx};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sales {
    pub orders: i64,
    pub gross_q: i64,
    pub tax_q: i64,
    pub discount_q: i64,
    pub net_q: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    pub rate_bp: i64,
    pub base_q: i64,
    pub tax_q: i64,
    pub gross_q: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tender {
    pub method: String,
    pub payments: i64,
    pub amount_q: i64,
    pub fee_q: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declines {
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodAmount {
    pub method: String,
    pub amount_q: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunds {
    pub count: i64,
    pub amount_q: i64,
    pub by_method: Vec<MethodAmount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellations {
    pub orders: i64,
    pub amount_q: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalDay {
    pub terminal_id: String,
    pub terminal_code: String,
    pub name: String,
    pub orders: i64,
    pub gross_q: i64,
    pub tax_q: i64,
    pub tenders: Vec<MethodAmount>,
    pub refunds_q: i64,
    pub cancellations: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyReport {
    pub store: String,
    pub date: NaiveDate,
    /// The currency of the day's orders (or payments, or refunds); `null` on a day without any.
    pub currency: Option<String>,
    pub sales: Sales,
    pub taxes: Vec<RateTotal>,
    pub tenders: Vec<Tender>,
    pub declines: Declines,
    pub refunds: Refunds,
    pub cancellations: Cancellations,
    pub fees_q: i64,
    pub terminals: Vec<TerminalDay>,
}

/// `SUM` as a BIGINT on both engines (PostgreSQL sums BIGINTs into NUMERIC), 0 when empty.
macro_rules! sum {
    ($e:literal) => {
        concat!("CAST(COALESCE(SUM(", $e, "), 0) AS BIGINT)")
    };
}

/// The store's orders of the date and their lines, in one statement:
/// - kind 0: per terminal and cancelled-or-not (`k` 1 or 0): count, gross, tax;
/// - kind 1: per cancelled-or-not: count, gross, tax, discounts (the orders' and their
///   lines'), gross − tax;
/// - kind 2: the lines of the orders that are not cancelled, by rate (`k`): base, tax, gross
///   (one range of `order_lines_day`: the cancelling move flags its order's lines).
const ORDERS_SQL: &str = concat!(
    "WITH s AS MATERIALIZED (SELECT status, terminal_id, COUNT(*) AS n, SUM(total_q) AS g, ",
    "SUM(tax_q) AS t, SUM(discount_q + line_discount_q) AS d FROM orders ",
    "WHERE store_id = $1 AND business_date = $2 GROUP BY status, terminal_id), ",
    "o AS MATERIALIZED (SELECT terminal_id, ",
    "CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END AS cancelled, SUM(n) AS n, ",
    "SUM(g) AS g, SUM(t) AS t, SUM(d) AS d FROM s ",
    "GROUP BY terminal_id, CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), ",
    "l AS MATERIALIZED (",
    "SELECT tax_rate_bp AS r, SUM(gross_q) AS g, SUM(tax_q) AS t ",
    "FROM order_lines WHERE store_id = $1 AND business_date = $2 ",
    "AND order_cancelled = 0 GROUP BY tax_rate_bp), ",
    "r AS MATERIALIZED (SELECT r, SUM(g) AS g, SUM(t) AS t FROM l GROUP BY r) ",
    "SELECT 0, terminal_id, cancelled, ",
    sum!("n"),
    ", ",
    sum!("g"),
    ", ",
    sum!("t"),
    ", 0, 0 FROM o GROUP BY terminal_id, cancelled ",
    "UNION ALL SELECT 1, '', cancelled, ",
    sum!("n"),
    ", ",
    sum!("g"),
    ", ",
    sum!("t"),
    ", ",
    sum!("d"),
    ", ",
    sum!("g - t"),
    " FROM o GROUP BY cancelled ",
    "UNION ALL SELECT 2, '', r, 0, ",
    sum!("g - t"),
    ", ",
    sum!("t"),
    ", ",
    sum!("g"),
    ", 0 FROM r GROUP BY r ",
    "ORDER BY 1, 2, 3"
);

/// The payments of the date: approved by method (kind 0) and by terminal and method (kind 1),
/// the declined count (kind 2), the approved fees (kind 3).
const PAYMENTS_SQL: &str = concat!(
    "WITH p AS MATERIALIZED (SELECT outcome, method, terminal_id, COUNT(*) AS n, ",
    "SUM(amount_q) AS a, SUM(fee_q) AS f ",
    "FROM payments WHERE store_id = $1 AND business_date = $2 ",
    "GROUP BY outcome, method, terminal_id) ",
    "SELECT 0, method, '', ",
    sum!("n"),
    ", ",
    sum!("a"),
    ", ",
    sum!("f"),
    " FROM p WHERE outcome = 'approved' GROUP BY method ",
    "UNION ALL SELECT 1, method, terminal_id, ",
    sum!("n"),
    ", ",
    sum!("a"),
    ", 0 ",
    "FROM p WHERE outcome = 'approved' GROUP BY method, terminal_id ",
    "UNION ALL SELECT 2, '', '', ",
    sum!("n"),
    ", 0, 0 FROM p WHERE outcome = 'declined' ",
    "UNION ALL SELECT 3, '', '', 0, 0, ",
    sum!("f"),
    " FROM p WHERE outcome = 'approved' ",
    "ORDER BY 1, 2, 3"
);

/// The refunds of the date: count and amount (kind 0), by tender method (kind 1), by
/// terminal (kind 2).
const REFUNDS_SQL: &str = concat!(
    "SELECT 0, '', CAST(COUNT(*) AS BIGINT), ",
    sum!("amount_q"),
    " FROM refunds WHERE store_id = $1 AND business_date = $2 ",
    "UNION ALL SELECT 1, t.method, 0, ",
    sum!("t.amount_q"),
    " FROM refunds r JOIN refund_tenders t ON t.refund_id = r.refund_id ",
    "WHERE r.store_id = $1 AND r.business_date = $2 GROUP BY t.method ",
    "UNION ALL SELECT 2, terminal_id, 0, ",
    sum!("amount_q"),
    " FROM refunds WHERE store_id = $1 AND business_date = $2 GROUP BY terminal_id ",
    "ORDER BY 1, 2"
);

/// The currency of the day: of an order, else a payment, else a refund.
const CURRENCY_SQL: &str = "SELECT currency FROM (\
    SELECT 1 AS k, (SELECT currency FROM orders WHERE store_id = $1 AND business_date = $2 LIMIT 1) AS currency \
    UNION ALL SELECT 2, (SELECT currency FROM payments WHERE store_id = $1 AND business_date = $2 LIMIT 1) \
    UNION ALL SELECT 3, (SELECT currency FROM refunds WHERE store_id = $1 AND business_date = $2 LIMIT 1)) c \
    WHERE currency IS NOT NULL ORDER BY k LIMIT 1";

/// A terminal's figures of the day, created empty the first time it is named.
fn terminal(terminals: &mut BTreeMap<String, TerminalDay>, id: String) -> &mut TerminalDay {
    terminals.entry(id.clone()).or_insert_with(|| TerminalDay {
        terminal_id: id,
        ..TerminalDay::default()
    })
}

/// The daily report of a store (its code; `main` when `None`) for one business date.
pub async fn daily<T: Tx>(tx: &mut T, store: Option<&str>, date: NaiveDate) -> Result<DailyReport> {
    let store = stores::by_code(tx, store.unwrap_or(stores::DEFAULT_STORE)).await?;
    let day = date.to_string();
    let mut terminals: BTreeMap<String, TerminalDay> = BTreeMap::new();
    let mut report = DailyReport {
        store: store.code.clone(),
        date,
        currency: None,
        sales: Sales::default(),
        taxes: Vec::new(),
        tenders: Vec::new(),
        declines: Declines::default(),
        refunds: Refunds::default(),
        cancellations: Cancellations::default(),
        fees_q: 0,
        terminals: Vec::new(),
    };
    for r in tx
        .query(ORDERS_SQL, params![store.id, day.as_str()])
        .await?
    {
        let (k, a, b, c, d, e) = (
            r.i64(2)?,
            r.i64(3)?,
            r.i64(4)?,
            r.i64(5)?,
            r.i64(6)?,
            r.i64(7)?,
        );
        match (r.i64(0)?, k) {
            (0, 0) => {
                let t = terminal(&mut terminals, r.text(1)?);
                (t.orders, t.gross_q, t.tax_q) = (a, b, c);
            }
            (0, _) => terminal(&mut terminals, r.text(1)?).cancellations = a,
            (1, 0) => {
                report.sales = Sales {
                    orders: a,
                    gross_q: b,
                    tax_q: c,
                    discount_q: d,
                    net_q: e,
                }
            }
            (1, _) => {
                report.cancellations = Cancellations {
                    orders: a,
                    amount_q: b,
                }
            }
            _ => report.taxes.push(RateTotal {
                rate_bp: k,
                base_q: b,
                tax_q: c,
                gross_q: d,
            }),
        }
    }
    for r in tx
        .query(PAYMENTS_SQL, params![store.id, day.as_str()])
        .await?
    {
        match r.i64(0)? {
            0 => report.tenders.push(Tender {
                method: r.text(1)?,
                payments: r.i64(3)?,
                amount_q: r.i64(4)?,
                fee_q: r.i64(5)?,
            }),
            1 => terminal(&mut terminals, r.text(2)?)
                .tenders
                .push(MethodAmount {
                    method: r.text(1)?,
                    amount_q: r.i64(4)?,
                }),
            2 => report.declines.count = r.i64(3)?,
            _ => report.fees_q = r.i64(5)?,
        }
    }
    for r in tx
        .query(REFUNDS_SQL, params![store.id, day.as_str()])
        .await?
    {
        match r.i64(0)? {
            0 => (report.refunds.count, report.refunds.amount_q) = (r.i64(2)?, r.i64(3)?),
            1 => report.refunds.by_method.push(MethodAmount {
                method: r.text(1)?,
                amount_q: r.i64(3)?,
            }),
            _ => terminal(&mut terminals, r.text(1)?).refunds_q = r.i64(3)?,
        }
    }
    report.currency = tx
        .query_opt(CURRENCY_SQL, params![store.id, day.as_str()])
        .await?
        .map(|r: Row| r.text(0))
        .transpose()?;
    if !terminals.is_empty() {
        for r in tx
            .query(
                "SELECT id, terminal_code, name FROM terminals WHERE store_id = $1",
                params![store.id],
            )
            .await?
        {
            if let Some(t) = terminals.get_mut(&r.text(0)?) {
                (t.terminal_code, t.name) = (r.text(1)?, r.text(2)?);
            }
        }
    }
    report.terminals = terminals.into_values().collect();
    report.terminals.sort_by(|a, b| {
        (&a.terminal_code, &a.terminal_id).cmp(&(&b.terminal_code, &b.terminal_id))
    });
    Ok(report)
}
