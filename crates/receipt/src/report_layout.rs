//! The layout of a shift's X- or Z-report.
//!
//! After the shop header and the report's title, terminal, cashier and times, one section per
//! group of figures, each under a bold heading and always printed (an empty list reads
//! "(none)"): sales (order count, first and last receipt, sales, discounts), by tender, by
//! product, by category, tax by rate, refunds, cancellations, cash movements, and the cash
//! drawer (float, cash sales, cash refunds, cash in, cash out, expected, counted, difference).

use chrono::{DateTime, Utc};
use tillbook_protocol::shift::SalesFigure;
use tillbook_protocol::tax::format_percent;

use crate::layout::Layout;
use crate::locale::Locale;
use crate::model::{ReportKind, ShiftReport};
use crate::receipt_layout::header;

pub(crate) fn layout(r: &ShiftReport, columns: usize) -> Layout {
    let loc = Locale::new(&r.locale);
    let l = loc.labels;
    let f = &r.figures;
    let cur = f.currency.as_str();
    let local = |t: DateTime<Utc>| t.with_timezone(&r.utc_offset).naive_local();
    let money = |q: i64| loc.money(q, cur);
    let mut out = Layout::new(columns);

    header(&mut out, &r.header, &loc);
    out.rule();
    out.center(if r.kind == ReportKind::Z { l.z_report } else { l.x_report }, true);
    out.pair(&format!("{} {}", l.terminal, r.terminal), &format!("{} {}", l.cashier, r.cashier));
    out.pair(l.business_date, &loc.date(f.business_date));
    out.pair(l.opened, &loc.datetime(local(f.opened_at)));
    if let Some(c) = f.closed_at {
        out.pair(l.closed, &loc.datetime(local(c)));
    }
    out.pair(l.printed, &loc.datetime(r.printed_at));

    section(&mut out, l.sales);
    out.pair(l.orders, &f.order_count.to_string());
    out.pair(l.first_receipt, f.first_ref.as_deref().unwrap_or("-"));
    out.pair(l.last_receipt, f.last_ref.as_deref().unwrap_or("-"));
    out.pair(l.net_sales, &money(f.sales_q));
    out.pair(l.discounts, &money(f.discounts_q));

    section(&mut out, l.by_tender);
    if f.tenders.is_empty() {
        out.left(l.none);
    }
    for t in &f.tenders {
        out.pair(&format!("{} ({})", loc.tender(&t.method), t.count), &money(t.amount_q));
        if t.refunded_q != 0 {
            out.pair(&format!("  {}", l.refunded), &money(t.refunded_q));
        }
        if t.declined != 0 {
            out.pair(&format!("  {}", l.declined), &t.declined.to_string());
        }
        if t.fee_q != 0 {
            out.pair(&format!("  {}", l.fees), &money(t.fee_q));
        }
    }

    section(&mut out, l.by_product);
    sales_figures(&mut out, &f.by_product, &loc, cur, |s| if s.name.is_empty() { &s.key } else { &s.name });

    section(&mut out, l.by_category);
    sales_figures(&mut out, &f.by_category, &loc, cur, |s| if s.key.is_empty() { l.no_category } else { &s.key });

    section(&mut out, l.tax_by_rate);
    if f.taxes.is_empty() {
        out.left(l.none);
    }
    for t in &f.taxes {
        let left = format!("{} {} {}", format_percent(t.rate_bp), l.on, money(t.base_q));
        out.pair(&left, &money(t.tax_q));
    }
    out.pair_styled(l.total_tax, &money(f.tax_q), true);

    section(&mut out, l.refunds);
    out.pair(&format!("{} ({})", l.refund_count, f.refund_count), &money(f.refunds_q));

    section(&mut out, l.cancellations);
    out.pair(&format!("{} ({})", l.cancelled_count, f.cancelled_count), &money(f.cancelled_q));

    section(&mut out, l.cash_movements);
    if f.movements.is_empty() {
        out.left(l.none);
    }
    for m in &f.movements {
        let left = format!("{} {}", loc.time(local(m.at)), loc.cash_move(m.kind));
        out.pair(&left, &money(m.amount_q));
        let who = if m.reason.is_empty() { m.actor.clone() } else { format!("{} ({})", m.reason, m.actor) };
        out.left(&format!("  {who}"));
    }

    section(&mut out, l.drawer);
    out.pair(l.float, &money(f.float_q));
    out.pair(&format!("+ {}", l.cash_sales), &money(f.cash_sales_q));
    out.pair(&format!("- {}", l.cash_refunds), &money(f.cash_refunds_q));
    out.pair(&format!("+ {}", l.cash_in), &money(f.cash_in_q));
    out.pair(&format!("- {}", l.cash_out), &money(f.cash_out_q));
    out.pair_styled(l.expected, &money(f.expected_cash_q), true);
    if let Some(c) = f.counted_q {
        out.pair(l.counted, &money(c));
    }
    if let Some(d) = f.difference_q {
        out.pair_styled(l.difference, &loc.signed(d, cur), true);
    }
    out.rule();

    for line in &r.footer {
        out.center(line, false);
    }
    out
}

fn section(out: &mut Layout, title: &str) {
    out.rule();
    out.center(title, true);
}

/// `qty name ..... gross` per figure, or "(none)".
fn sales_figures<'f>(
    out: &mut Layout,
    figures: &'f [SalesFigure],
    loc: &Locale<'_>,
    cur: &str,
    name: impl Fn(&'f SalesFigure) -> &'f str,
) {
    if figures.is_empty() {
        out.left(loc.labels.none);
    }
    for s in figures {
        out.pair(&format!("{} {}", s.qty, name(s)), &loc.money(s.gross_q, cur));
    }
}
