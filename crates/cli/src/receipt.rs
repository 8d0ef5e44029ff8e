//! `tillbook receipt` and the shift reports' printing: the book's orders, refunds and shift
//! figures turned into `tillbook_receipt` documents (the builders are `tillbook_receipt::book`,
//! shared with the app), shown as text and, when asked, written as ESC/POS bytes to a file or
//! printer device.

use std::path::Path;

use serde_json::{json, Value};
use tillbook_orderbook::{Book, Error, ErrorCode, Result};
pub use tillbook_receipt::book::{refund_receipt, sale_receipt, shift_report};
use tillbook_receipt::{Document, Paper};

use crate::args::{PrintArgs, ReceiptArgs};
use crate::run::{Failed, Out};

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
