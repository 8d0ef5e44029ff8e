//! Checks of a pushed event on its own, as if the till were wrong: bounds, sums, texts and
//! stock reasons. Each failure is a business rejection with a reason (the event is recorded
//! as rejected and the queue moves on), never an error of the whole page.
//!
//! What needs the server's state (known SKUs and channels, the current status of an order)
//! is checked by [`crate::service::events`].

use std::collections::BTreeSet;

use tillbook_protocol::events::{
    EventPayload, OrderCommitted, OrderItemStatusChanged, OrderStatusChanged, StockAdjusted,
    StockDelta, StockReason, UniqueHold,
};
use tillbook_protocol::limits::{
    check_text, MAX_CODE, MAX_LINES, MAX_PRICE_Q, MAX_QTY, MAX_STOCK_DELTA, MAX_TEXT,
};
use tillbook_protocol::tax::{self, TaxMode, MAX_RATE_BP};

/// `None` when the event passes, `Some(reason)` when it is rejected.
pub type Verdict = Option<String>;

/// The item statuses a line may move to.
pub const ITEM_STATUSES: [&str; 4] = ["processing", "ready", "delivered", "cancelled"];
/// Item statuses a line never leaves.
pub const FINAL_ITEM_STATUSES: [&str; 2] = ["delivered", "cancelled"];

macro_rules! reject {
    ($($arg:tt)*) => { return Some(format!($($arg)*)) };
}

mod money;
mod shifts;
use money::currency;
pub use money::{method, MAX_CASH_ROUNDING_Q, MAX_IDEMPOTENCY_KEY};
pub use shifts::MAX_CASH_REASON;

fn text(field: &str, value: &str, max: usize, allow_empty: bool) -> Verdict {
    check_text(field, value, max, allow_empty)
}

/// Which stock movements an event may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fits {
    /// `order.committed`: sales, delta < 0.
    Sale,
    /// A cancel (or refund) move gives stock back: delta > 0, reason cancel (or refund).
    GiveBack { refund: bool },
    /// `stock.adjusted`: receiving, adjustment or count.
    Adjust,
    /// `refund.recorded` with restock: the refunded units back on the shelf, delta > 0.
    Refund,
    /// Any other status or item move: no stock moves.
    Nothing,
}

/// Each delta on its own (texts, bounds, `counted` on counts only) and for the event it
/// rides on.
pub fn deltas(deltas: &[StockDelta], fits: Fits) -> Verdict {
    for d in deltas {
        let id = d.delta_id;
        for (field, value) in [("sku", &d.sku), ("location", &d.location)] {
            if let Some(why) = text(field, value, MAX_CODE, false) {
                reject!("stock delta {id}: {why}");
            }
        }
        if let Some(why) = text("source", &d.source, MAX_CODE, true) {
            reject!("stock delta {id}: {why}");
        }
        if d.delta.checked_abs().is_none_or(|a| a > MAX_STOCK_DELTA) {
            reject!("stock delta {id}: {} is beyond ±{MAX_STOCK_DELTA}", d.delta);
        }
        match (d.reason, d.counted) {
            (StockReason::Count, Some(c)) if (0..=MAX_STOCK_DELTA).contains(&c) => {}
            (StockReason::Count, Some(c)) => {
                reject!("stock delta {id}: counted {c} is outside 0..={MAX_STOCK_DELTA}")
            }
            (StockReason::Count, None) => reject!("stock delta {id}: a count carries no `counted`"),
            (_, Some(_)) => reject!(
                "stock delta {id}: only a count carries `counted` (reason {})",
                d.reason.as_str()
            ),
            (_, None) if d.delta == 0 => reject!("stock delta {id}: a movement of 0"),
            (_, None) => {}
        }
        let ok = match fits {
            Fits::Sale => d.reason == StockReason::Sale && d.delta < 0,
            Fits::GiveBack { refund } => {
                (d.reason == StockReason::Cancel || (refund && d.reason == StockReason::Refund))
                    && d.delta > 0
            }
            Fits::Adjust => matches!(
                d.reason,
                StockReason::Receiving | StockReason::Adjustment | StockReason::Count
            ),
            Fits::Refund => d.reason == StockReason::Refund && d.delta > 0,
            Fits::Nothing => false,
        };
        if !ok {
            let want = match fits {
                Fits::Sale => "a sale with a negative delta",
                Fits::GiveBack { refund: false } => "a cancel with a positive delta",
                Fits::GiveBack { refund: true } => "a cancel or refund with a positive delta",
                Fits::Adjust => "receiving, adjustment or count",
                Fits::Refund => "a refund with a positive delta",
                Fits::Nothing => "no stock movement",
            };
            reject!(
                "stock delta {id} ({} {}) does not fit this event: it takes {want}",
                d.reason.as_str(),
                d.delta
            );
        }
    }
    None
}

/// An event on its own (what needs the server's state is checked later).
pub fn payload(p: &EventPayload) -> Verdict {
    match p {
        EventPayload::OrderCommitted(o) => order(o),
        EventPayload::OrderStatusChanged(c) => status(c),
        EventPayload::OrderItemStatusChanged(c) => item(c),
        EventPayload::StockAdjusted(a) => adjusted(a),
        EventPayload::UniqueHold(h) => hold(h),
        EventPayload::PaymentRecorded(p) => money::payment(p),
        EventPayload::RefundRecorded(r) => money::refund(r),
        EventPayload::ShiftOpened(o) => shifts::opened(o),
        EventPayload::CashMoved(m) => shifts::cash_moved(m),
        EventPayload::ShiftClosed(c) => shifts::closed(c),
    }
}

/// Longest a basket may hold a unique item, counted from the hold's `at`.
pub fn max_hold() -> chrono::Duration {
    chrono::Duration::days(1)
}

/// A hold on its own: texts, and an end after its start, at most [`max_hold`] later. (That
/// the SKU is one of a kind is the server's catalog's say: [`crate::service::events`].)
fn hold(h: &UniqueHold) -> Verdict {
    for (field, value) in [("sku", &h.sku), ("session_key", &h.session_key)] {
        if let Some(why) = text(field, value, MAX_CODE, false) {
            reject!("hold of {:?}: {why}", h.sku);
        }
    }
    if let Some(until) = h.until {
        if until <= h.at {
            reject!(
                "hold of {}: until {until} is not after its time {}",
                h.sku,
                h.at
            );
        }
        if until - h.at > max_hold() {
            reject!(
                "hold of {}: until {until} is more than a day after its time {}",
                h.sku,
                h.at
            );
        }
    }
    None
}

fn order(o: &OrderCommitted) -> Verdict {
    let r = &o.order_ref;
    for (field, value) in [
        ("order_ref", &o.order_ref),
        ("channel", &o.channel),
        ("status", &o.status),
    ] {
        if let Some(why) = text(field, value, MAX_CODE, false) {
            reject!("order {}: {why}", o.order_id);
        }
    }
    if o.currency.len() != 3 || !o.currency.chars().all(|c| c.is_ascii_uppercase()) {
        reject!(
            "order {r}: currency {:?} is not three capital letters",
            o.currency
        );
    }
    if let Some(why) = o
        .handle
        .as_deref()
        .and_then(|h| text("handle", h, MAX_TEXT, true))
        .or_else(|| {
            o.actor
                .as_deref()
                .and_then(|a| text("actor", a, MAX_CODE, false))
        })
    {
        reject!("order {r}: {why}");
    }
    if o.lines.is_empty() || o.lines.len() > MAX_LINES {
        reject!("order {r} has {} lines (1 to {MAX_LINES})", o.lines.len());
    }
    let mut line_nos = BTreeSet::new();
    let mut subtotal: i64 = 0;
    for l in &o.lines {
        let n = l.line_no;
        if n == 0 {
            reject!("order {r}: line numbers start at 1");
        }
        if !line_nos.insert(n) {
            reject!("order {r} repeats line {n}");
        }
        if let Some(why) = text("sku", &l.sku, MAX_CODE, false)
            .or_else(|| text("name", &l.name, MAX_TEXT, false))
            .or_else(|| {
                l.category
                    .as_deref()
                    .and_then(|c| text("category", c, MAX_TEXT, true))
            })
        {
            reject!("order {r} line {n}: {why}");
        }
        if !(1..=MAX_QTY).contains(&l.qty) {
            reject!(
                "order {r} line {n}: quantity {} is outside 1..={MAX_QTY}",
                l.qty
            );
        }
        if !(0..=MAX_PRICE_Q).contains(&l.unit_price_q) {
            reject!(
                "order {r} line {n}: unit price {} is outside 0..={MAX_PRICE_Q}",
                l.unit_price_q
            );
        }
        let Some(gross) = l.unit_price_q.checked_mul(l.qty) else {
            reject!("order {r} line {n}: unit price × quantity overflows");
        };
        if !(0..=gross).contains(&l.discount_q) {
            reject!(
                "order {r} line {n}: discount {} is outside 0..={gross}",
                l.discount_q
            );
        }
        if gross.checked_sub(l.discount_q) != Some(l.total_q) {
            reject!(
                "order {r} line {n}: total {} is not {} × {} − {}",
                l.total_q,
                l.unit_price_q,
                l.qty,
                l.discount_q
            );
        }
        let Some(sum) = subtotal.checked_add(l.total_q) else {
            reject!("order {r}: the lines' totals overflow");
        };
        subtotal = sum;
    }
    if o.subtotal_q != subtotal {
        reject!(
            "order {r}: subtotal {} is not the sum of its lines ({subtotal})",
            o.subtotal_q
        );
    }
    if !(0..=subtotal).contains(&o.discount_q) {
        reject!(
            "order {r}: discount {} is outside 0..={subtotal}",
            o.discount_q
        );
    }
    match o.tax_mode {
        None => {
            if let Some(why) = untaxed(o) {
                reject!("order {r}: {why}");
            }
            if subtotal.checked_sub(o.discount_q) != Some(o.total_q) {
                reject!(
                    "order {r}: total {} is not subtotal {subtotal} − discount {}",
                    o.total_q,
                    o.discount_q
                );
            }
        }
        Some(mode) => {
            if let Some(why) = taxed(o, mode) {
                reject!("order {r}: {why}");
            }
        }
    }
    deltas(&o.stock_deltas, Fits::Sale)
}

/// An order sold without taxes carries no tax field.
fn untaxed(o: &OrderCommitted) -> Verdict {
    for l in &o.lines {
        if l.tax_rate_bp != 0 || l.order_discount_q != 0 || l.tax_q != 0 {
            reject!(
                "line {} carries tax fields (rate {}, order discount {}, tax {}) but the order has no tax mode",
                l.line_no,
                l.tax_rate_bp,
                l.order_discount_q,
                l.tax_q
            );
        }
    }
    if o.tax_q != 0 || !o.taxes.is_empty() {
        reject!("tax {} and a tax breakdown without a tax mode", o.tax_q);
    }
    None
}

/// A taxed order's tax fields and total are exactly what [`tax::compute`] gives (the till's
/// arithmetic, written once in the protocol crate).
fn taxed(o: &OrderCommitted, mode: TaxMode) -> Verdict {
    for l in &o.lines {
        if !(0..=MAX_RATE_BP).contains(&l.tax_rate_bp) {
            reject!(
                "line {}: tax rate {} is outside 0..={MAX_RATE_BP}",
                l.line_no,
                l.tax_rate_bp
            );
        }
    }
    let inputs: Vec<(i64, i64)> = o.lines.iter().map(|l| (l.total_q, l.tax_rate_bp)).collect();
    let Some(want) = tax::compute(mode, &inputs, o.discount_q) else {
        reject!("its taxes cannot be computed (out of range)");
    };
    for (l, w) in o.lines.iter().zip(&want.lines) {
        if l.order_discount_q != w.order_discount_q {
            reject!(
                "line {}: order discount share {} is not {}",
                l.line_no,
                l.order_discount_q,
                w.order_discount_q
            );
        }
        if l.tax_q != w.tax_q {
            reject!(
                "line {}: tax {} is not {} ({} {} at {} bp)",
                l.line_no,
                l.tax_q,
                w.tax_q,
                mode.as_str(),
                l.total_q - w.order_discount_q,
                l.tax_rate_bp
            );
        }
    }
    if o.tax_q != want.tax_q {
        reject!(
            "tax {} is not the sum of its lines' taxes {}",
            o.tax_q,
            want.tax_q
        );
    }
    if o.taxes != want.taxes {
        reject!("the tax breakdown by rate is not what its lines give");
    }
    if o.total_q != want.total_q {
        reject!(
            "total {} is not {} ({} prices, subtotal {} − discount {})",
            o.total_q,
            want.total_q,
            mode.as_str(),
            o.subtotal_q,
            o.discount_q
        );
    }
    None
}

fn status(c: &OrderStatusChanged) -> Verdict {
    for (field, value, max, empty) in [
        ("order_ref", c.order_ref.as_str(), MAX_CODE, false),
        ("from", &c.from, MAX_CODE, false),
        ("to", &c.to, MAX_CODE, false),
        ("actor", &c.actor, MAX_CODE, false),
        ("reason", c.reason.as_deref().unwrap_or(""), MAX_TEXT, true),
    ] {
        if let Some(why) = text(field, value, max, empty) {
            reject!("status change of order {}: {why}", c.order_id);
        }
    }
    None
}

fn item(c: &OrderItemStatusChanged) -> Verdict {
    for (field, value, empty) in [
        ("order_ref", c.order_ref.as_str(), false),
        ("from", c.from.as_deref().unwrap_or(""), true),
        ("to", &c.to, false),
        ("actor", &c.actor, false),
    ] {
        if let Some(why) = text(field, value, MAX_CODE, empty) {
            reject!("item status change of order {}: {why}", c.order_id);
        }
    }
    if c.line_no == 0 {
        reject!(
            "item status change of order {}: line numbers start at 1",
            c.order_id
        );
    }
    if !ITEM_STATUSES.contains(&c.to.as_str()) {
        reject!(
            "item status {:?} is not one of {}",
            c.to,
            ITEM_STATUSES.join(", ")
        );
    }
    let fits = if c.to == "cancelled" {
        Fits::GiveBack { refund: false }
    } else {
        Fits::Nothing
    };
    deltas(&c.stock_deltas, fits)
}

fn adjusted(a: &StockAdjusted) -> Verdict {
    if let Some(why) = text("note", &a.note, MAX_TEXT, true) {
        reject!("stock adjustment: {why}");
    }
    deltas(&a.stock_deltas, Fits::Adjust)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn delta(reason: StockReason, delta: i64, counted: Option<i64>) -> StockDelta {
        StockDelta {
            delta_id: Uuid::now_v7(),
            sku: "A".into(),
            location: "main".into(),
            delta,
            reason,
            source: "x".into(),
            at: Utc::now(),
            counted,
        }
    }

    #[test]
    fn deltas_must_fit_their_event() {
        use StockReason::*;
        assert_eq!(deltas(&[delta(Sale, -1, None)], Fits::Sale), None);
        assert!(deltas(&[delta(Sale, 1, None)], Fits::Sale).is_some());
        assert!(deltas(&[delta(Adjustment, -1, None)], Fits::Sale).is_some());
        assert_eq!(
            deltas(&[delta(Cancel, 2, None)], Fits::GiveBack { refund: false }),
            None
        );
        assert!(deltas(&[delta(Cancel, -2, None)], Fits::GiveBack { refund: false }).is_some());
        assert!(deltas(&[delta(Refund, 2, None)], Fits::GiveBack { refund: false }).is_some());
        assert_eq!(
            deltas(&[delta(Refund, 2, None)], Fits::GiveBack { refund: true }),
            None
        );
        assert_eq!(deltas(&[delta(Count, 0, Some(5))], Fits::Adjust), None);
        assert!(deltas(&[delta(Count, 0, None)], Fits::Adjust).is_some());
        assert!(deltas(&[delta(Count, 0, Some(-1))], Fits::Adjust).is_some());
        assert!(deltas(&[delta(Receiving, 3, Some(3))], Fits::Adjust).is_some());
        assert!(deltas(&[delta(Receiving, 0, None)], Fits::Adjust).is_some());
        assert!(deltas(&[delta(Receiving, MAX_STOCK_DELTA + 1, None)], Fits::Adjust).is_some());
        assert!(deltas(&[delta(Receiving, i64::MIN, None)], Fits::Adjust).is_some());
        assert!(deltas(&[delta(Cancel, 1, None)], Fits::Nothing).is_some());
    }

    #[test]
    fn holds_are_bounded() {
        let at = Utc::now();
        let h = |sku: &str, key: &str, until: Option<chrono::Duration>| {
            hold(&UniqueHold {
                sku: sku.into(),
                session_key: key.into(),
                until: until.map(|d| at + d),
                at,
            })
        };
        let day = chrono::Duration::days(1);
        assert_eq!(h("VASE", "s1", Some(chrono::Duration::minutes(15))), None);
        assert_eq!(h("VASE", "s1", Some(day)), None);
        assert_eq!(h("VASE", "s1", None), None);
        assert!(h("VASE", "s1", Some(day + chrono::Duration::seconds(1))).is_some());
        assert!(h("VASE", "s1", Some(chrono::Duration::zero())).is_some());
        assert!(h("VASE", "s1", Some(-chrono::Duration::minutes(1))).is_some());
        assert!(h("VASE", "", None).is_some());
        assert!(h("VASE", "s\u{0}1", None).is_some());
        assert!(h("", "s1", None).is_some());
        assert!(h("VASE", &"k".repeat(MAX_CODE + 1), None).is_some());
    }
}
