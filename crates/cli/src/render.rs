//! Human output: aligned columns and money in the book's locale.

use tillbook_orderbook::money::format_money;
use tillbook_orderbook::{OrderView, PaymentView, SessionView, Settings};
use tillbook_protocol::events::PaymentOutcome;
use tillbook_protocol::tax::{format_percent, TaxMode};

/// A plain text table with a header row; columns are padded to their widest cell.
/// Columns listed in `right` are right-aligned (amounts, quantities).
pub fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                out.push_str("  ");
            }
            if right.contains(&i) {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.trim_end().to_string()
    };
    let mut out = vec![line(header.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    if rows.is_empty() {
        out.push("(none)".into());
    }
    out.join("\n")
}

/// The wire name of a serde enum value (`pending`, `blocking`…).
pub fn word<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub fn money(s: &Settings, amount_q: i64) -> String {
    format_money(amount_q, &s.currency, &s.locale)
}

pub fn session(s: &Settings, v: &SessionView) -> String {
    let mut out = format!("Session {} ({})", v.session_key, v.state);
    if let Some(h) = &v.handle {
        out.push_str(&format!("  handle {h}"));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = v
        .lines
        .iter()
        .map(|l| {
            let flags: Vec<&str> = l.flags.iter().map(|f| f.code.as_str()).collect();
            vec![
                l.line_id.clone(),
                l.sku.clone(),
                l.name.clone(),
                l.qty.to_string(),
                money(s, l.unit_price_q),
                if l.discount_q > 0 { money(s, -l.discount_q) } else { String::new() },
                money(s, l.total_q),
                flags.join(","),
            ]
        })
        .collect();
    out.push_str(&table(&["LINE", "SKU", "NAME", "QTY", "UNIT", "DISC", "TOTAL", "FLAGS"], &rows, &[3, 4, 5, 6]));
    out.push_str(&format!("\nItems: {}   Subtotal: {}", v.total_items, money(s, v.subtotal_q)));
    if v.discount_q > 0 {
        out.push_str(&format!("   Discount: {}", money(s, -v.discount_q)));
    }
    if v.tax_q > 0 {
        let how = match s.tax_mode {
            tillbook_protocol::tax::TaxMode::Inclusive => "included",
            tillbook_protocol::tax::TaxMode::Exclusive => "added",
        };
        out.push_str(&format!("   Tax ({how}): {}", money(s, v.tax_q)));
    }
    out.push_str(&format!("   Total: {}", money(s, v.total_q)));
    if let Some(n) = &v.note {
        out.push_str(&format!("\nNote: {n}"));
    }
    for i in &v.issues {
        out.push_str(&format!("\n{}: {} ({})", word(&i.severity), i.message, i.code));
    }
    out
}

pub fn order(s: &Settings, v: &OrderView) -> String {
    let mut out = format!(
        "Order {}  {}  {}  sync: {}",
        v.order_ref,
        v.status,
        v.committed_at.format("%Y-%m-%d %H:%M"),
        word(&v.sync_state)
    );
    if let Some(r) = &v.sync_reason {
        out.push_str(&format!(" ({r})"));
    }
    out.push_str(&format!("\nOrder id: {}\n", v.order_id));
    let rows: Vec<Vec<String>> = v
        .lines
        .iter()
        .map(|l| {
            vec![
                l.line_no.to_string(),
                l.sku.clone(),
                l.name.clone(),
                l.qty.to_string(),
                money(s, l.unit_price_q),
                money(s, l.total_q),
                l.item_status.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table(&["#", "SKU", "NAME", "QTY", "UNIT", "TOTAL", "ITEM"], &rows, &[0, 3, 4, 5]));
    out.push_str(&format!("\nSubtotal: {}", money(s, v.subtotal_q)));
    if v.discount_q > 0 {
        out.push_str(&format!("   Discount: {}", money(s, -v.discount_q)));
    }
    out.push_str(&format!("   Total: {}", money(s, v.total_q)));
    out.push_str(&order_money(s, v));
    out.push_str("\n\nHistory:\n");
    let events: Vec<Vec<String>> = v
        .events
        .iter()
        .map(|e| {
            let what = match (&e.from, e.line_no) {
                (_, Some(n)) => format!("line {n}: {} → {}", e.from.clone().unwrap_or("-".into()), e.to),
                (Some(f), None) => format!("{f} → {}", e.to),
                (None, None) => e.to.clone(),
            };
            vec![e.at.format("%Y-%m-%d %H:%M:%S").to_string(), e.actor.clone(), what, e.reason.clone().unwrap_or_default()]
        })
        .collect();
    out.push_str(&table(&["AT", "ACTOR", "CHANGE", "REASON"], &events, &[]));
    out
}


/// One payment attempt on one line: method, amount, outcome, cash details, card and reference.
pub fn payment_line(s: &Settings, p: &PaymentView) -> String {
    let mut line = format!("{}  {}", p.method, money(s, p.amount_q));
    match p.outcome {
        PaymentOutcome::Approved => line.push_str("  approved"),
        PaymentOutcome::Declined => line.push_str(&format!("  DECLINED {}", p.decline_code.as_deref().unwrap_or(""))),
    }
    if p.method == "cash" && (p.tendered_q != p.amount_q || p.rounding_q != 0) {
        line.push_str(&format!("  tendered {}  change {}", money(s, p.tendered_q), money(s, p.change_q)));
        if p.rounding_q != 0 {
            line.push_str(&format!("  rounding {}", money(s, p.rounding_q)));
        }
    }
    if p.fee_q > 0 {
        line.push_str(&format!("  fee {}", money(s, p.fee_q)));
    }
    if let Some(l4) = &p.last4 {
        line.push_str(&format!("  card ****{l4}"));
    }
    if let Some(r) = &p.reference {
        line.push_str(&format!("  ref {r}"));
    }
    if p.refunded_q > 0 {
        line.push_str(&format!("  refunded {}", money(s, p.refunded_q)));
    }
    line
}

/// Taxes per rate, what was paid and refunded, what is due, payments and refunds.
fn order_money(s: &Settings, v: &OrderView) -> String {
    let mut out = String::new();
    if !v.taxes.is_empty() {
        let how = match v.tax_mode {
            Some(TaxMode::Exclusive) => "added",
            _ => "included",
        };
        for t in v.taxes.iter().filter(|t| t.rate_bp > 0) {
            out.push_str(&format!(
                "\nTax {} ({how}): {} on {}",
                format_percent(t.rate_bp),
                money(s, t.tax_q),
                money(s, t.base_q)
            ));
        }
    }
    out.push_str(&format!(
        "\nPayment: {}   paid {}   due {}",
        word(&v.payment_status),
        money(s, v.paid_q),
        money(s, v.amount_due_q)
    ));
    if v.refunded_q > 0 {
        out.push_str(&format!("   refunded {}", money(s, v.refunded_q)));
    }
    if let (Some(by), true) = (v.pay_by, v.paid_q == 0 && v.amount_due_q > 0) {
        out.push_str(&format!("\nPay by {} or it is cancelled", by.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")));
    }
    if !v.payments.is_empty() {
        out.push_str("\n\nPayments:");
        for p in &v.payments {
            out.push_str(&format!("\n  {}  {}", p.at.format("%Y-%m-%d %H:%M:%S"), payment_line(s, p)));
        }
    }
    if !v.refunds.is_empty() {
        out.push_str("\n\nRefunds:");
        for r in &v.refunds {
            let tenders: Vec<String> = r.tenders.iter().map(|t| format!("{} {}", t.method, money(s, t.amount_q))).collect();
            let lines: Vec<String> = r.lines.iter().map(|l| format!("line {} x{}", l.line_no, l.qty)).collect();
            out.push_str(&format!(
                "\n  {}  {}  {}{}{}{}",
                r.at.format("%Y-%m-%d %H:%M:%S"),
                money(s, r.amount_q),
                tenders.join(" + "),
                if lines.is_empty() { String::new() } else { format!("  ({})", lines.join(", ")) },
                if r.restock && !r.lines.is_empty() { "  restocked" } else { "" },
                r.reason.as_deref().map(|x| format!("  reason: {x}")).unwrap_or_default()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "AMOUNT"], &[vec!["xyz".into(), "1".into()], vec!["q".into(), "100".into()]], &[1]);
        assert_eq!(t, "A    AMOUNT\nxyz       1\nq       100");
    }
}
