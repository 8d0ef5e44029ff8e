//! `tillbook shift`: open with a float, cash in and out, no sale, X-report, close with a count.

use serde_json::json;
use tillbook_orderbook::{Book, Error, ErrorCode, Result, ShiftView};
use tillbook_protocol::shift::CashMoveKind;
use tillbook_receipt::ReportKind;

use crate::args::ShiftCmd;
use crate::receipt::{printed, shift_report};
use crate::render::{money, table};
use crate::run::Out;

fn summary(book: &Book, v: &ShiftView) -> String {
    let s = book.settings();
    let mut out = format!(
        "Shift {} ({})  opened {} by {}  float {}",
        v.shift_id,
        v.status,
        v.opened_at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M"),
        v.opened_by,
        money(s, v.float_q)
    );
    if let (Some(closed), Some(counted), Some(expected), Some(diff)) = (v.closed_at, v.counted_q, v.expected_q, v.difference_q) {
        out.push_str(&format!(
            "\nClosed {} by {}  expected {}  counted {}  difference {}",
            closed.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M"),
            v.closed_by.as_deref().unwrap_or(""),
            money(s, expected),
            money(s, counted),
            money(s, diff)
        ));
    }
    out
}

fn moved(book: &mut Book, kind: CashMoveKind, amount: i64, reason: &str) -> Result<Out> {
    let v = book.cash_move(kind, amount, reason)?;
    let figures = book.x_report()?;
    let s = book.settings();
    let what = match kind {
        CashMoveKind::In => format!("Cash in {}", money(s, amount)),
        CashMoveKind::Out => format!("Cash out {}", money(s, amount)),
        CashMoveKind::NoSale => "Drawer opened (no sale)".to_string(),
    };
    let text = format!("{what}: {reason}\nExpected in the drawer: {}", money(s, figures.expected_cash_q));
    Ok(Out {
        json: json!({"shift": v, "kind": kind, "amount_q": amount, "reason": reason, "expected_cash_q": figures.expected_cash_q}),
        text,
        failed: None,
    })
}

pub fn shift(book: &mut Book, c: ShiftCmd) -> Result<Out> {
    match c {
        ShiftCmd::Open { float } => {
            let v = book.open_shift(float)?;
            let text = summary(book, &v);
            Ok(Out { json: json!({"shift": v}), text, failed: None })
        }
        ShiftCmd::CashIn { amount, reason } => moved(book, CashMoveKind::In, amount, &reason),
        ShiftCmd::CashOut { amount, reason } => moved(book, CashMoveKind::Out, amount, &reason),
        ShiftCmd::NoSale { reason } => moved(book, CashMoveKind::NoSale, 0, &reason),
        ShiftCmd::XReport { print } => {
            let figures = book.x_report()?;
            let cashier = book.whoami()?.name;
            let doc = shift_report(book.settings(), ReportKind::X, &cashier, figures.clone());
            Ok(printed(&doc, &print, json!({"figures": figures}), ""))
        }
        ShiftCmd::Close { counted, print } => {
            let closed = book.close_shift(counted)?;
            let cashier = book.whoami()?.name;
            let doc = shift_report(book.settings(), ReportKind::Z, &cashier, closed.figures.clone());
            let pending = if closed.pending > 0 {
                format!("{} changes are still waiting for the server (the close among them)\n\n", closed.pending)
            } else {
                String::new()
            };
            let extra = json!({"figures": closed.figures, "shift": closed.shift, "pending": closed.pending});
            Ok(printed(&doc, &print, extra, &pending))
        }
        ShiftCmd::Show { shift_id } => {
            let v = match shift_id {
                Some(id) => {
                    let id = uuid::Uuid::parse_str(&id)
                        .map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{id:?} is not a shift id")))?;
                    book.shift(id)?
                }
                None => book
                    .current_shift()?
                    .ok_or_else(|| Error::new(ErrorCode::NoOpenShift, "no shift is open: open one with `tillbook shift open --float N`"))?,
            };
            let figures = book.shift_figures(v.shift_id)?;
            let s = book.settings();
            let text = format!(
                "{}\nOrders {}  sales {}  expected cash {}",
                summary(book, &v),
                figures.order_count,
                money(s, figures.sales_q),
                money(s, figures.expected_cash_q)
            );
            Ok(Out { json: json!({"shift": v, "figures": figures}), text, failed: None })
        }
        ShiftCmd::List { limit } => {
            let list = book.shifts(limit)?;
            let s = book.settings();
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|v| {
                    vec![
                        v.shift_id.to_string(),
                        v.status.clone(),
                        v.business_date.to_string(),
                        v.opened_by.clone(),
                        money(s, v.float_q),
                        v.counted_q.map(|q| money(s, q)).unwrap_or_default(),
                        v.difference_q.map(|q| money(s, q)).unwrap_or_default(),
                    ]
                })
                .collect();
            let text = table(&["SHIFT", "STATUS", "DATE", "OPENED BY", "FLOAT", "COUNTED", "DIFFERENCE"], &rows, &[4, 5, 6]);
            Ok(Out { json: json!({"shifts": list}), text, failed: None })
        }
    }
}
