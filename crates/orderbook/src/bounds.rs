//! Input bounds of the book (the protocol's [`limits`]), checked before anything is written, so
//! no event the book writes is one the server must refuse and no sum can overflow.

use tillbook_protocol::limits::{self, MAX_PRICE_Q, MAX_QTY, MAX_STOCK_DELTA};

use crate::error::{err, Error, ErrorCode, Result};

pub(crate) use limits::{MAX_CODE, MAX_LINES, MAX_TEXT};

/// A text input (note, handle, reason, actor…) within `max` characters and without NUL.
pub(crate) fn text(field: &str, value: &str, max: usize, allow_empty: bool) -> Result<()> {
    match limits::check_text(field, value, max, allow_empty) {
        Some(why) => err(ErrorCode::InvalidArgument, why),
        None => Ok(()),
    }
}

/// A line quantity: 1..=MAX_QTY.
pub(crate) fn qty(qty: i64) -> Result<()> {
    if !(1..=MAX_QTY).contains(&qty) {
        return err(ErrorCode::InvalidQuantity, format!("quantity must be between 1 and {MAX_QTY} (got {qty})"));
    }
    Ok(())
}

/// A unit price in minor units: 0..=MAX_PRICE_Q.
pub(crate) fn price(price_q: i64) -> Result<()> {
    if !(0..=MAX_PRICE_Q).contains(&price_q) {
        return err(ErrorCode::InvalidPrice, format!("unit price must be between 0 and {MAX_PRICE_Q} (got {price_q})"));
    }
    Ok(())
}

/// A stock movement or counted quantity: |n| ≤ MAX_STOCK_DELTA.
pub(crate) fn stock(n: i64) -> Result<()> {
    if n.checked_abs().is_none_or(|a| a > MAX_STOCK_DELTA) {
        return err(ErrorCode::InvalidQuantity, format!("stock quantities are at most {MAX_STOCK_DELTA} (got {n})"));
    }
    Ok(())
}

/// The error of a sum that does not fit.
pub(crate) fn overflow(what: &str) -> Error {
    Error::new(ErrorCode::AmountOverflow, format!("{what} is too large"))
}

/// `a + b`, or `amount_overflow`.
pub(crate) fn add(a: i64, b: i64, what: &str) -> Result<i64> {
    a.checked_add(b).ok_or_else(|| overflow(what))
}

/// `a - b`, or `amount_overflow`.
pub(crate) fn sub(a: i64, b: i64, what: &str) -> Result<i64> {
    a.checked_sub(b).ok_or_else(|| overflow(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(qty(0).unwrap_err().code, ErrorCode::InvalidQuantity);
        assert!(qty(MAX_QTY).is_ok());
        assert_eq!(qty(MAX_QTY + 1).unwrap_err().code, ErrorCode::InvalidQuantity);
        assert_eq!(price(-1).unwrap_err().code, ErrorCode::InvalidPrice);
        assert!(price(MAX_PRICE_Q).is_ok());
        assert_eq!(price(MAX_PRICE_Q + 1).unwrap_err().code, ErrorCode::InvalidPrice);
        assert!(stock(-MAX_STOCK_DELTA).is_ok());
        assert_eq!(stock(i64::MIN).unwrap_err().code, ErrorCode::InvalidQuantity);
        assert_eq!(text("note", "a\0", MAX_TEXT, true).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(add(i64::MAX, 1, "x").unwrap_err().code, ErrorCode::AmountOverflow);
        assert_eq!(sub(i64::MIN, 1, "x").unwrap_err().code, ErrorCode::AmountOverflow);
    }
}
