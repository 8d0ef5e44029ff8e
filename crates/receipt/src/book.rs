//! The order book's views turned into documents: a sale or refund receipt from an
//! [`OrderView`], an X/Z-report from a shift's figures, with the shop's header and footer from
//! the book's [`Settings`]. The `tillbook` CLI and the app share these builders, so the receipt
//! on screen is the one `tillbook receipt` prints.

use chrono::{DateTime, Local, Offset, Utc};
use tillbook_orderbook::{OrderView, RefundView, Settings};
use tillbook_protocol::events::{PaymentOutcome, CASH};
use tillbook_protocol::shift::ShiftFigures;
use tillbook_protocol::tax::TaxMode;

use crate::model::{Header, Receipt, ReceiptKind, ReceiptLine, ReportKind, ShiftReport, TenderLine};

/// The shop's name, address and tax id, as the book's settings say.
pub fn header(s: &Settings) -> Header {
    Header { shop_name: s.shop_name.clone(), address_lines: s.shop_address.clone(), tax_id: s.tax_id.clone() }
}

/// The receipt footer's lines (`|` or a new line separates them).
pub fn footer(s: &Settings) -> Vec<String> {
    s.receipt_footer
        .as_deref()
        .map(|f| f.split(['|', '\n']).map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default()
}

/// A time as the till's local wall clock shows it.
pub fn local(at: DateTime<Utc>) -> chrono::NaiveDateTime {
    at.with_timezone(&Local).naive_local()
}

/// The receipt of a sale: its lines, taxes, approved tenders and the change given.
pub fn sale_receipt(s: &Settings, o: &OrderView, copy: bool) -> Receipt {
    let approved: Vec<_> = o.payments.iter().filter(|p| p.outcome == PaymentOutcome::Approved).collect();
    Receipt {
        header: header(s),
        kind: ReceiptKind::Sale,
        order_ref: o.order_ref.clone(),
        terminal: s.terminal_code.clone(),
        cashier: o.cashier.clone().unwrap_or_default(),
        at: local(o.committed_at),
        locale: s.locale.clone(),
        currency: o.currency.clone(),
        lines: o
            .lines
            .iter()
            .map(|l| ReceiptLine {
                name: l.name.clone(),
                qty: l.qty,
                unit_price_q: l.unit_price_q,
                discount_q: l.discount_q,
                total_q: l.total_q,
            })
            .collect(),
        subtotal_q: o.subtotal_q,
        discount_q: o.discount_q,
        tax_inclusive: o.tax_mode != Some(TaxMode::Exclusive),
        taxes: o.taxes.clone(),
        tax_q: o.tax_q,
        total_q: o.total_q,
        tenders: approved
            .iter()
            .map(|p| TenderLine { method: p.method.clone(), amount_q: p.tendered_q, card_last4: p.last4.clone() })
            .collect(),
        change_q: approved.iter().map(|p| p.change_q).sum(),
        copy,
        open_drawer: !copy && approved.iter().any(|p| p.method == CASH),
        footer: footer(s),
    }
}

/// The receipt of a refund: the units it gave back (or its amount) and where the money went.
pub fn refund_receipt(s: &Settings, o: &OrderView, r: &RefundView, copy: bool) -> Receipt {
    let lines: Vec<ReceiptLine> = r
        .lines
        .iter()
        .map(|rl| {
            let line = o.lines.iter().find(|l| l.line_no == rl.line_no);
            ReceiptLine {
                name: line.map(|l| l.name.clone()).unwrap_or_else(|| format!("#{}", rl.line_no)),
                qty: rl.qty,
                unit_price_q: line.map(|l| l.unit_price_q).unwrap_or(0),
                discount_q: 0,
                total_q: rl.amount_q,
            }
        })
        .collect();
    Receipt {
        header: header(s),
        kind: ReceiptKind::Refund { of_ref: o.order_ref.clone() },
        order_ref: o.order_ref.clone(),
        terminal: s.terminal_code.clone(),
        cashier: r.actor.clone(),
        at: local(r.at),
        locale: s.locale.clone(),
        currency: o.currency.clone(),
        lines,
        subtotal_q: r.amount_q,
        discount_q: 0,
        tax_inclusive: true,
        taxes: Vec::new(),
        tax_q: 0,
        total_q: r.amount_q,
        tenders: r.tenders.iter().map(|t| TenderLine { method: t.method.clone(), amount_q: t.amount_q, card_last4: None }).collect(),
        change_q: 0,
        copy,
        open_drawer: !copy && r.tenders.iter().any(|t| t.method == CASH),
        footer: footer(s),
    }
}

/// A shift's X- or Z-report document.
pub fn shift_report(s: &Settings, kind: ReportKind, cashier: &str, figures: ShiftFigures) -> ShiftReport {
    ShiftReport {
        header: header(s),
        kind,
        terminal: s.terminal_code.clone(),
        cashier: cashier.to_string(),
        printed_at: Local::now().naive_local(),
        utc_offset: Local::now().offset().fix(),
        locale: s.locale.clone(),
        figures,
        footer: Vec::new(),
    }
}
