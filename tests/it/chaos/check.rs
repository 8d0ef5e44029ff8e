//! What the chaos test expects, computed on its own: the count rule for on-hand, and an order
//! as the book holds it in the shape the server's detail shows it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tillbook_orderbook::OrderView;
use tillbook_protocol::events::{StockDelta, StockReason};
use uuid::Uuid;

/// One movement of a (store, SKU) as the count rule sees it.
#[derive(Debug, Clone)]
pub struct Move {
    pub at: DateTime<Utc>,
    pub delta: i64,
    /// `Some(quantity counted)` for a count.
    pub counted: Option<i64>,
    pub delta_id: Uuid,
}

impl Move {
    /// A delta as a till wrote it. Times are compared at the microsecond the server keeps.
    pub fn from_delta(d: &StockDelta) -> Move {
        let counted = match d.reason {
            StockReason::Count => Some(d.counted.unwrap_or_else(|| panic!("a count carries the counted quantity: {d:?}"))),
            _ => None,
        };
        Move { at: micros(d.at), delta: d.delta, counted, delta_id: d.delta_id }
    }

    /// Stock that was there before anything the test did (the server's demo opening stock).
    pub fn opening(on_hand: i64) -> Move {
        Move { at: DateTime::<Utc>::MIN_UTC, delta: on_hand, counted: None, delta_id: Uuid::nil() }
    }
}

pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

/// On-hand by the count rule: the latest count (by time; a count comes after the deltas of
/// its own time; between counts of one time the greater delta id wins) plus the non-count
/// deltas that occurred strictly after it; with no count, the sum of every delta. (On one
/// host a till's time is never after the server's receive time, so ordering by
/// min(at, received) is ordering by `at`.)
pub fn count_rule(moves: &[Move]) -> i64 {
    let latest = moves.iter().filter(|m| m.counted.is_some()).max_by_key(|m| (m.at, m.delta_id));
    match latest {
        None => moves.iter().map(|m| m.delta).sum(),
        Some(c) => c.counted.unwrap() + moves.iter().filter(|m| m.counted.is_none() && m.at > c.at).map(|m| m.delta).sum::<i64>(),
    }
}

/// An order as the book holds it, in the server's words.
pub fn book_order(view: &OrderView, terminal_id: &str, store: &str) -> Value {
    let lines: Vec<Value> = view
        .lines
        .iter()
        .map(|l| {
            json!({
                "line_no": l.line_no, "sku": l.sku, "name": l.name, "unit_price_q": l.unit_price_q, "qty": l.qty,
                "discount_q": l.discount_q, "total_q": l.total_q, "unique": l.unique, "status": l.item_status,
                "tax_rate_bp": l.tax_rate_bp, "tax_q": l.tax_q, "refunded_qty": l.refunded_qty,
            })
        })
        .collect();
    json!({
        "ref": view.order_ref, "terminal_id": terminal_id, "store": store, "status": view.status,
        "currency": view.currency, "subtotal_q": view.subtotal_q, "discount_q": view.discount_q,
        "total_q": view.total_q, "lines": lines, "tax_q": view.tax_q, "paid_q": view.paid_q,
        "refunded_q": view.refunded_q, "payment_status": view.payment_status.as_str(),
    })
}

/// The same fields of the server's order detail.
pub fn server_order(detail: &Value) -> Value {
    let lines: Vec<Value> = detail["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("order detail without lines: {detail}"))
        .iter()
        .map(|l| {
            json!({
                "line_no": l["line_no"], "sku": l["sku"], "name": l["name"], "unit_price_q": l["unit_price_q"],
                "qty": l["qty"], "discount_q": l["discount_q"], "total_q": l["total_q"], "unique": l["unique"],
                "status": l["status"], "tax_rate_bp": l["tax_rate_bp"], "tax_q": l["tax_q"],
                "refunded_qty": l["refunded_qty"],
            })
        })
        .collect();
    json!({
        "ref": detail["ref"], "terminal_id": detail["terminal_id"], "store": detail["store"], "status": detail["status"],
        "currency": detail["currency"], "subtotal_q": detail["subtotal_q"], "discount_q": detail["discount_q"],
        "total_q": detail["total_q"], "lines": lines, "tax_q": detail["tax_q"], "paid_q": detail["paid_q"],
        "refunded_q": detail["refunded_q"], "payment_status": detail["payment_status"],
    })
}

#[test]
fn the_count_rule_takes_the_latest_count_and_what_came_after() {
    let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap();
    let id = |n: u128| Uuid::from_u128(n);
    let mv = |at, delta, counted, n| Move { at: t(at), delta, counted, delta_id: id(n) };
    assert_eq!(count_rule(&[Move::opening(100), mv(1, -2, None, 1)]), 98);
    // A sale that reaches the server after a later count is not counted again.
    assert_eq!(count_rule(&[Move::opening(100), mv(5, 0, Some(40), 2), mv(3, -2, None, 1), mv(6, -1, None, 3)]), 39);
    // Equal times: the count comes after the deltas of its time.
    assert_eq!(count_rule(&[mv(5, 0, Some(40), 1), mv(5, -3, None, 9)]), 40);
    // Counts of one time: the greater delta id wins.
    assert_eq!(count_rule(&[mv(5, 0, Some(40), 2), mv(5, 0, Some(30), 1), mv(7, 1, None, 3)]), 41);
}
