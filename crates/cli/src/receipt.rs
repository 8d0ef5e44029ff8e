//! `tillbook receipt` and the shift reports' printing: the book's orders, refunds and shift
//! figures turned into `tillbook_receipt` documents, shown as text and, when asked, written as
//! ESC/POS bytes to a file or printer device.

use std::path::Path;

use chrono::{DateTime, Local, Offset, Utc};
use serde_json::{json, Value};
use tillbook_orderbook::{Book, Error, ErrorCode, OrderView, RefundView, Result, Settings};
use tillbook_protocol::events::PaymentOutcome;
use tillbook_protocol::shift::ShiftFigures;
use tillbook_protocol::tax::TaxMode;
use tillbook_receipt::{Document, Header, Paper, Receipt, ReceiptKind, ReceiptLine, ReportKind, ShiftReport, TenderLine};

use crate::args::{PrintArgs, ReceiptArgs};
use crate::run::{Failed, Out};

fn header(s: &Settings) -> Header {
    Header { shop_name: s.shop_name.clone(), address_lines: s.shop_address.clone(), tax_id: s.tax_id.clone() }
}

fn footer(s: &Settings) -> Vec<String> {
    s.receipt_footer
        .as_deref()
        .map(|f| f.split(['|', '\n']).map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default()
}

fn local(at: DateTime<Utc>) -> chrono::NaiveDateTime {
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
        open_drawer: !copy && approved.iter().any(|p| p.method == tillbook_protocol::events::CASH),
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
        open_drawer: !copy && r.tenders.iter().any(|t| t.method == tillbook_protocol::events::CASH),
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

fn paper(width: u32) -> Paper {
    if width == 58 {
        Paper::Mm58
    } else {
        Paper::Mm80
    }
}

/// The document as text at the paper's width; its ESC/POS bytes written where asked. A printer
/// that is missing or not writable is a failure with the receipt's code (`printer_not_found`,
/// `printer_not_writable`…), and the text is still shown.
pub fn print<'a>(doc: impl Into<Document<'a>> + Copy, p: &PrintArgs) -> (String, Value, Option<Failed>) {
    let paper = paper(p.width);
    let text = tillbook_receipt::text(doc, paper.columns());
    let Some(path) = &p.escpos else { return (text, Value::Null, None) };
    let written = tillbook_receipt::escpos(doc, paper).and_then(|bytes| {
        tillbook_receipt::write_to(Path::new(path), &bytes)?;
        Ok(bytes.len())
    });
    match written {
        Ok(n) => (text, json!({"path": path, "bytes": n, "width_mm": p.width}), None),
        Err(e) => (text, Value::Null, Some(Failed { code: e.code_str().to_string(), message: e.message })),
    }
}

/// Prints the document and wraps it as a command's output, with `extra` in the JSON.
pub fn printed<'a>(doc: impl Into<Document<'a>> + Copy, p: &PrintArgs, mut extra: Value, prefix: &str) -> Out {
    let (text, escpos, failed) = print(doc, p);
    let mut t = format!("{prefix}{text}");
    if let Some(path) = escpos["path"].as_str() {
        t.push_str(&format!("\nESC/POS written to {path} ({} bytes)", escpos["bytes"]));
    }
    if let Value::Object(m) = &mut extra {
        m.insert("text".into(), text.into());
        m.insert("escpos".into(), escpos);
    }
    Out { json: extra, text: t, failed }
}

pub fn receipt(book: &mut Book, a: ReceiptArgs) -> Result<Out> {
    let o = book.order(&a.order_ref)?;
    let s = book.settings().clone();
    let doc = match &a.refund {
        None => sale_receipt(&s, &o, a.copy),
        Some(which) => {
            let r = o.refunds.iter().find(|r| r.refund_id.to_string() == *which || r.idempotency_key == *which).ok_or_else(|| {
                Error::new(ErrorCode::InvalidArgument, format!("order {} has no refund {which:?}", o.order_ref))
            })?;
            refund_receipt(&s, &o, r, a.copy)
        }
    };
    Ok(printed(&doc, &a.print, json!({"ref": o.order_ref, "copy": a.copy}), ""))
}
