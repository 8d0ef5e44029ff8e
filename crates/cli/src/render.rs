//! Human output: aligned columns and money in the book's locale.

use tillbook_orderbook::money::format_money;
use tillbook_orderbook::{OrderView, SessionView, Settings};

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
    out.push_str(&format!("   Total: {}\n\nHistory:\n", money(s, v.total_q)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "AMOUNT"], &[vec!["xyz".into(), "1".into()], vec!["q".into(), "100".into()]], &[1]);
        assert_eq!(t, "A    AMOUNT\nxyz       1\nq       100");
    }
}
