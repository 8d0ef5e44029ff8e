//! Taxes at the till: which rate each line carries and what an order's taxes are. The
//! arithmetic and its rounding rule (per line, half-up) are `tillbook_protocol::tax`'s, the
//! same the server checks every pushed order with.
//!
//! A line's rate is its product's own rate, else its category's (`category_tax`), else the
//! store's default (`tax_rate`). With inclusive prices (`tax_mode = inclusive`, the default)
//! the order costs the sum of its lines less the order discount, and the tax is inside it;
//! with exclusive prices the tax is added on top.

use rusqlite::{Connection, OptionalExtension};
use tillbook_protocol::tax::{self, OrderTax};

use crate::error::{Error, ErrorCode, Result};
use crate::settings::Settings;

/// The rate of a SKU, in basis points.
pub(crate) fn rate_for(conn: &Connection, s: &Settings, sku: &str) -> Result<i64> {
    let row: Option<(Option<i64>, Option<String>)> = conn
        .prepare_cached("SELECT tax_rate_bp, category FROM products WHERE sku = ?1")?
        .query_row([sku], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (own, category) = row.unwrap_or((None, None));
    Ok(own
        .or_else(|| category.and_then(|c| s.category_tax.get(&c).copied()))
        .unwrap_or(s.tax_rate_bp))
}

/// The taxes of lines `(sku, total after the line's discount)` less an order discount, with
/// each line's rate.
pub(crate) fn of_lines<'a>(
    conn: &Connection,
    s: &Settings,
    lines: impl IntoIterator<Item = (&'a str, i64)>,
    order_discount_q: i64,
) -> Result<(OrderTax, Vec<i64>)> {
    let mut priced = Vec::new();
    for (sku, total) in lines {
        priced.push((total, rate_for(conn, s, sku)?));
    }
    let rates = priced.iter().map(|p| p.1).collect();
    let computed = tax::compute(s.tax_mode, &priced, order_discount_q)
        .ok_or_else(|| Error::new(ErrorCode::AmountOverflow, "the order's taxes are out of range"))?;
    Ok((computed, rates))
}
