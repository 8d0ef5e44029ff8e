//! The layout of a sale or refund receipt.
//!
//! ```text
//!            Shop name (bold, tall)
//!              address lines
//!              CNPJ / Tax ID
//! ------------------------------------------------
//!                  *** 2ª VIA ***        (reprints)
//!                  CUPOM DE VENDA
//! Recibo                   ORD-20261126-T01-0042
//! Devolução de             ORD-…                 (refunds)
//! Terminal T01                   Operador Maria
//! Data                         26/11/2026 14:05
//! ------------------------------------------------
//! Cappuccino                            R$ 14,00
//!   2 x R$ 7,00
//!   Desconto                            -R$ 1,00
//! ------------------------------------------------
//! Subtotal / Desconto / (taxes when added) / TOTAL (bold)
//! tenders, change, (taxes when included)
//! ------------------------------------------------
//!                  footer lines
//!                     [QR]
//!                  order reference
//! ```

use tillbook_protocol::tax::format_percent;

use crate::layout::Layout;
use crate::locale::Locale;
use crate::model::{Header, Receipt, ReceiptKind};

pub(crate) fn layout(r: &Receipt, columns: usize) -> Layout {
    let loc = Locale::new(&r.locale);
    let l = loc.labels;
    let cur = r.currency.as_str();
    let mut out = Layout::new(columns);

    header(&mut out, &r.header, &loc);
    out.rule();
    if r.copy {
        out.center(l.copy, true);
    }
    let title = match r.kind {
        ReceiptKind::Sale => l.sale,
        ReceiptKind::Refund { .. } => l.refund,
    };
    out.center(title, true);
    out.pair(l.receipt_no, &r.order_ref);
    if let ReceiptKind::Refund { of_ref } = &r.kind {
        out.pair(l.refund_of, of_ref);
    }
    out.pair(&format!("{} {}", l.terminal, r.terminal), &format!("{} {}", l.cashier, r.cashier));
    out.pair(l.date, &loc.datetime(r.at));
    out.rule();

    for line in &r.lines {
        out.pair(&line.name, &loc.money(line.total_q, cur));
        out.left(&format!("  {} x {}", line.qty, loc.money(line.unit_price_q, cur)));
        if line.discount_q != 0 {
            out.pair(&format!("  {}", l.discount), &loc.minus(line.discount_q, cur));
        }
    }
    out.rule();

    out.pair(l.subtotal, &loc.money(r.subtotal_q, cur));
    if r.discount_q != 0 {
        out.pair(l.discount, &loc.minus(r.discount_q, cur));
    }
    if !r.tax_inclusive && !r.taxes.is_empty() {
        taxes(&mut out, r, &loc, l.taxes);
    }
    let total = match r.kind {
        ReceiptKind::Sale => l.total,
        ReceiptKind::Refund { .. } => l.total_refunded,
    };
    out.pair_styled(total, &loc.money(r.total_q, cur), true);
    for t in &r.tenders {
        let mut name = loc.tender(&t.method);
        if let Some(last4) = &t.card_last4 {
            name = format!("{name} ****{last4}");
        }
        out.pair(&name, &loc.money(t.amount_q, cur));
    }
    if r.change_q != 0 {
        out.pair(l.change, &loc.money(r.change_q, cur));
    }
    if r.tax_inclusive && !r.taxes.is_empty() {
        out.rule();
        taxes(&mut out, r, &loc, l.taxes_included);
    }
    out.rule();

    for f in &r.footer {
        out.center(f, false);
    }
    if r.copy {
        out.center(l.copy, true);
    }
    out.qr(&r.order_ref);
    out.center(&r.order_ref, false);
    out.kick = r.open_drawer;
    out
}

/// Per-rate taxes under a heading, then their sum.
fn taxes(out: &mut Layout, r: &Receipt, loc: &Locale<'_>, heading: &str) {
    let cur = r.currency.as_str();
    out.pair(heading, &loc.money(r.tax_q, cur));
    for t in &r.taxes {
        let left = format!("  {} {} {}", format_percent(t.rate_bp), loc.labels.on, loc.money(t.base_q, cur));
        out.pair(&left, &loc.money(t.tax_q, cur));
    }
}

/// The shop's heading, centred: name (bold, double height), address, tax id.
pub(crate) fn header(out: &mut Layout, h: &Header, loc: &Locale<'_>) {
    out.center_sized(&h.shop_name, true, true);
    for a in &h.address_lines {
        out.center(a, false);
    }
    if let Some(id) = &h.tax_id {
        out.center(&format!("{} {id}", loc.tax_id_label()), false);
    }
}
