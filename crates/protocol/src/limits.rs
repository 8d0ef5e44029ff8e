//! Bounds every event must keep, checked by the till on input and again by the server on
//! every pushed event (the server trusts no till). With these bounds no sum of an order's
//! lines can overflow `i64`; both sides still add with checked arithmetic.

/// Most units of one line.
pub const MAX_QTY: i64 = 100_000;
/// Largest unit price in minor units (100 million in a two-decimal currency).
pub const MAX_PRICE_Q: i64 = 10_000_000_000;
/// Most lines one order carries.
pub const MAX_LINES: usize = 500;
/// Largest stock movement or count of one SKU in one delta.
pub const MAX_STOCK_DELTA: i64 = 1_000_000_000;
/// Longest SKU, order reference, status, channel, actor, location, source (in characters).
pub const MAX_CODE: usize = 100;
/// Longest name, note or reason (in characters).
pub const MAX_TEXT: usize = 500;

/// Largest single payment, tendered cash or refund, in minor units. An order's total stays
/// below `MAX_QTY × MAX_PRICE_Q × MAX_LINES` (plus tax), far below this bound.
pub const MAX_AMOUNT_Q: i64 = 1_000_000_000_000_000;
/// Most payment attempts and most refunds one order carries.
pub const MAX_PAYMENTS: usize = 200;
/// Largest fixed fee per payment, in minor units.
pub const MAX_FEE_Q: i64 = 1_000_000_000;

/// Why a text field is not acceptable, or `None`.
pub fn check_text(field: &str, value: &str, max: usize, allow_empty: bool) -> Option<String> {
    if !allow_empty && value.trim().is_empty() {
        return Some(format!("{field} is empty"));
    }
    if value.chars().count() > max {
        return Some(format!("{field} is longer than {max} characters"));
    }
    if value.contains('\0') {
        return Some(format!("{field} contains a NUL character"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_keep_an_order_inside_i64() {
        let line = MAX_QTY.checked_mul(MAX_PRICE_Q).unwrap();
        assert!(line.checked_mul(MAX_LINES as i64).is_some());
    }

    #[test]
    fn text_checks() {
        assert_eq!(check_text("sku", "A", MAX_CODE, false), None);
        assert!(check_text("sku", " ", MAX_CODE, false).is_some());
        assert!(check_text("note", "a\0b", MAX_TEXT, true).is_some());
        assert!(check_text("sku", &"x".repeat(MAX_CODE + 1), MAX_CODE, false).is_some());
        assert_eq!(check_text("note", "", MAX_TEXT, true), None);
    }
}
