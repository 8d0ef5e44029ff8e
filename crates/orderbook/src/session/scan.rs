//! What a barcode scanner (or the scan field) sends: `CODE` or `N*CODE`, Enter.
//!
//! A scanner is a keyboard: the till reads one line, trims it and adds one unit of the product
//! whose SKU or barcode it is (`3*CODE` adds three). The code is looked up as a SKU, then as a
//! barcode, then as a SKU in any letter case (`latte` finds `LATTE`). A code that is none of
//! these is `unknown_product` with a message a cashier can read, and nothing changes; a bad
//! `N` (`0*X`, `*X`, `x*Y`, above `MAX_QTY`) is `invalid_quantity`. The line itself is added by
//! [`Book::add_line`], one transaction.

use rusqlite::OptionalExtension;
use tillbook_protocol::limits::MAX_QTY;

use super::LineView;
use crate::error::{err, Error, ErrorCode, Result};
use crate::{catalog, Book};

/// A scan line taken apart: how many, and the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub qty: i64,
    pub code: String,
}

/// Parses `CODE` or `N*CODE` (spaces around either part are ignored).
pub fn parse_scan(input: &str) -> Result<Scan> {
    let input = input.trim();
    let (qty, code) = match input.split_once('*') {
        None => (1, input),
        Some((n, code)) => {
            let n = n.trim();
            let bad = |why: &str| {
                Error::new(
                    ErrorCode::InvalidQuantity,
                    format!("{why}: type a quantity from 1 to {MAX_QTY}, then * and the code (e.g. 3*{})", code.trim()),
                )
            };
            if n.is_empty() {
                return Err(bad("no quantity before *"));
            }
            if !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!("{n:?} is not a quantity")));
            }
            let qty = n.parse::<i64>().ok().filter(|q| (1..=MAX_QTY).contains(q));
            match qty {
                Some(q) => (q, code.trim()),
                None => return Err(bad(&format!("quantity {n} is out of range"))),
            }
        }
    };
    if code.is_empty() {
        return err(ErrorCode::InvalidArgument, "nothing was scanned: type or scan a SKU or barcode");
    }
    Ok(Scan { qty, code: code.to_string() })
}

impl Book {
    /// The SKU a scanned code stands for: the SKU itself, a barcode's product, or a SKU in
    /// another letter case. `unknown_product` when it is none of these.
    pub fn scan_code(&self, code: &str) -> Result<String> {
        match catalog::resolve(&self.conn, code) {
            Ok(p) => return Ok(p.sku),
            Err(e) if e.code != ErrorCode::UnknownSku => return Err(e),
            Err(_) => {}
        }
        let folded: Option<String> = self
            .conn
            .prepare_cached("SELECT sku FROM products WHERE sku = ?1 COLLATE NOCASE ORDER BY sku LIMIT 1")?
            .query_row([code], |r| r.get(0))
            .optional()?;
        folded.ok_or_else(|| {
            Error::new(ErrorCode::UnknownProduct, format!("No product has the code {code:?}: check the SKU or barcode"))
        })
    }

    /// Adds what was scanned (`CODE` or `N*CODE`, see the module) to an open session and
    /// returns the line. Errors: `invalid_quantity`, `unknown_product`, `invalid_argument`
    /// (nothing scanned), and those of [`Book::add_line`]. On any error nothing changes.
    pub fn scan(&mut self, key: &str, input: &str) -> Result<LineView> {
        let Scan { qty, code } = parse_scan(input)?;
        let sku = self.scan_code(&code)?;
        self.add_line(key, &sku, qty, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::kit;

    #[test]
    fn scan_lines_are_parsed() {
        assert_eq!(parse_scan(" LATTE ").unwrap(), Scan { qty: 1, code: "LATTE".into() });
        assert_eq!(parse_scan("3*LATTE").unwrap(), Scan { qty: 3, code: "LATTE".into() });
        assert_eq!(parse_scan(" 12 * 7890000000001 ").unwrap(), Scan { qty: 12, code: "7890000000001".into() });
        assert_eq!(parse_scan(&format!("{MAX_QTY}*X")).unwrap().qty, MAX_QTY);
        for bad in ["0*X", "*X", "x*Y", "-1*X", "1.5*X", "100001*X", "99999999999999999999999*X"] {
            let e = parse_scan(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidQuantity, "{bad}: {e}");
        }
        for empty in ["", "   ", "3*", "3* "] {
            assert_eq!(parse_scan(empty).unwrap_err().code, ErrorCode::InvalidArgument, "{empty:?}");
        }
    }

    #[test]
    fn scanning_adds_by_sku_barcode_or_folded_sku() {
        let mut k = kit();
        let s = k.book.open_session(None, None).unwrap().session_key;
        let l = k.book.scan(&s, "LATTE").unwrap();
        assert_eq!((l.sku.as_str(), l.qty), ("LATTE", 1));
        let l = k.book.scan(&s, "3*latte").unwrap();
        assert_eq!((l.sku.as_str(), l.qty), ("LATTE", 4), "the same product raises its line");
        let l = k.book.scan(&s, "2*7890000000001").unwrap();
        assert_eq!((l.sku.as_str(), l.qty), ("ESPRESSO", 2));
        let view = k.book.session(&s).unwrap();
        assert_eq!((view.lines.len(), view.total_items), (2, 6));
    }

    #[test]
    fn a_bad_scan_changes_nothing() {
        let mut k = kit();
        let s = k.book.open_session(None, None).unwrap().session_key;
        k.book.scan(&s, "LATTE").unwrap();
        let before = k.book.session(&s).unwrap();
        let e = k.book.scan(&s, "NOPE-123").unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownProduct);
        assert_eq!(e.code.as_str(), "unknown_product");
        assert!(e.message.contains("NOPE-123"), "{e}");
        for (bad, code) in [("0*LATTE", ErrorCode::InvalidQuantity), ("*LATTE", ErrorCode::InvalidQuantity), ("x*LATTE", ErrorCode::InvalidQuantity), ("200000*LATTE", ErrorCode::InvalidQuantity), ("2*RING", ErrorCode::InvalidQuantity)] {
            assert_eq!(k.book.scan(&s, bad).unwrap_err().code, code, "{bad}");
        }
        assert_eq!(k.book.session(&s).unwrap(), before, "nothing changed");
    }
}
