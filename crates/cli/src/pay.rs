//! `tillbook pay`, `tillbook refund` and `tillbook sweep`.

use serde_json::json;
use tillbook_orderbook::{Book, Error, ErrorCode, PayOptions, RefundBy, RefundRequest, Result};

use crate::args::{PayArgs, RefundArgs};
use crate::render::{self, money};
use crate::run::{Failed, Out};

fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("views serialise")
}

pub fn pay(book: &mut Book, a: PayArgs) -> Result<Out> {
    let outcome = book.pay(&a.order_ref, &a.tenders, PayOptions { actor: a.actor })?;
    let s = book.settings();
    let mut text = format!("Order {}", outcome.order_ref);
    for p in &outcome.payments {
        text.push_str(&format!("\n  {}", render::payment_line(s, p)));
    }
    text.push_str(&format!(
        "\nPaid {} of {}   due {}   status {}",
        money(s, outcome.paid_q),
        money(s, outcome.total_q),
        money(s, outcome.amount_due_q),
        render::word(&outcome.payment_status)
    ));
    if outcome.change_due_q > 0 {
        text.push_str(&format!("\nCHANGE DUE: {}", money(s, outcome.change_due_q)));
    }
    let failed = outcome.declined.as_ref().map(|d| {
        text.push_str(&format!("\nDECLINED ({}): {}", d.code, d.message));
        Failed { code: d.code.clone(), message: d.message.clone() }
    });
    Ok(Out { json: to_json(&outcome), text, failed })
}

pub fn refund(book: &mut Book, a: RefundArgs) -> Result<Out> {
    let by = match a.amount {
        Some(amount) => RefundBy::Amount(amount),
        None => {
            if a.line.is_empty() {
                return Err(Error::new(ErrorCode::InvalidArgument, "give --amount N, or --line LINE_NO --qty N (repeatable)"));
            }
            if a.line.len() != a.qty.len() {
                return Err(Error::new(ErrorCode::InvalidArgument, "give one --qty after each --line"));
            }
            RefundBy::Lines(a.line.iter().copied().zip(a.qty.iter().copied()).collect())
        }
    };
    let request = RefundRequest {
        by,
        restock: a.restock,
        idempotency_key: a.idempotency_key,
        actor: a.actor,
        reason: a.reason,
    };
    let r = book.refund(&a.order_ref, request)?;
    let s = book.settings();
    let word = if r.replayed { "Already refunded" } else { "Refunded" };
    let mut text = format!("{word} {} on {} (refund {})", money(s, r.refund.amount_q), r.order_ref, r.refund.refund_id);
    for t in &r.refund.tenders {
        let reference = t.reference.as_deref().map(|x| format!("  ref {x}")).unwrap_or_default();
        let how = if t.method == "cash" { "  from the drawer" } else { "" };
        text.push_str(&format!("\n  {}  {}{how}{reference}", t.method, money(s, t.amount_q)));
    }
    for l in &r.refund.lines {
        text.push_str(&format!("\n  line {} x{}  {}", l.line_no, l.qty, money(s, l.amount_q)));
    }
    if r.refund.restock && !r.refund.lines.is_empty() {
        text.push_str("\n  restocked");
    }
    text.push_str(&format!(
        "\nOrder {}: {} (refunded {} of {} paid)",
        r.order_status,
        render::word(&r.payment_status),
        money(s, r.refunded_q),
        money(s, r.paid_q)
    ));
    Ok(Out { json: to_json(&r), text, failed: None })
}

pub fn sweep(book: &mut Book) -> Result<Out> {
    let cancelled = book.sweep_payment_window()?;
    let text = if cancelled.is_empty() {
        "No order is past its payment window".to_string()
    } else {
        let mut t = format!("Cancelled {} unpaid order(s) past the payment window:", cancelled.len());
        for r in &cancelled {
            t.push_str(&format!("\n  {r}"));
        }
        t
    };
    Ok(Out { json: json!({"cancelled": cancelled}), text, failed: None })
}
