//! Reading catalog files (CSV and JSON) into product records, with line-numbered errors.
//!
//! Parsing is all-or-nothing: every bad row is reported, and nothing is imported when any
//! row is bad.

use serde::Deserialize;
use serde_json::value::RawValue;
use tillbook_protocol::catalog::{OversellPolicy, ProductRecord};

use crate::catalog::validate;
use crate::error::{Error, ErrorCode, Result};

/// File formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// Guesses the format from a file name.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Parses a catalog file's text. `currency` is the book's: prices in another are refused.
pub fn parse(text: &str, format: Format, currency: &str) -> Result<Vec<ProductRecord>> {
    let rows = match format {
        Format::Csv => parse_csv(text, currency),
        Format::Json => parse_json(text),
    }?;
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    for (line, rec) in &rows {
        if let Err(m) = validate(rec, currency) {
            problems.push(format!("line {line}: {m}"));
        }
        if let Some(first) = seen.insert(rec.sku.clone(), *line) {
            problems.push(format!("line {line}: sku {} already on line {first}", rec.sku));
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

fn invalid(problems: Vec<String>) -> Error {
    let n = problems.len();
    let shown: Vec<String> = problems.into_iter().take(20).collect();
    let more = if n > 20 { format!(" (and {} more)", n - 20) } else { String::new() };
    Error::new(
        ErrorCode::ImportInvalid,
        format!("{n} bad row(s), nothing imported: {}{more}", shown.join("; ")),
    )
}

/// A decimal amount such as `7.50` or `7,5` to minor units, exactly (no floats).
pub fn parse_decimal_minor(s: &str, digits: u32) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match s.split_once(['.', ',']) {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > digits as usize {
        return None;
    }
    let scale = 10i64.checked_pow(digits)?;
    let int_v: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_v: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10i64.pow(digits - frac.len() as u32)
    };
    let v = int_v.checked_mul(scale)?.checked_add(frac_v)?;
    Some(if neg { -v } else { v })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "y" => Some(true),
        "0" | "false" | "no" | "n" => Some(false),
        _ => None,
    }
}

fn parse_csv(text: &str, currency: &str) -> Result<Vec<(u64, ProductRecord)>> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| invalid(vec![format!("line 1: {e}")]))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let known = [
        "sku", "name", "price_q", "price", "currency", "category", "barcodes", "active",
        "parent_sku", "variant", "unique", "oversell", "tax_rate",
    ];
    let mut problems = Vec::new();
    for h in headers.iter() {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(h)) {
            problems.push(format!("line 1: unknown column {h:?}"));
        }
    }
    if col("sku").is_none() || col("name").is_none() {
        problems.push("line 1: the header must name at least sku, name and price_q (or price)".into());
    }
    if col("price_q").is_none() && col("price").is_none() {
        problems.push("line 1: no price_q or price column".into());
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let digits = crate::money::minor_digits(currency);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let field = |name: &str| col(name).and_then(|i| rec.get(i)).unwrap_or("");
        let opt = |name: &str| Some(field(name).to_string()).filter(|s| !s.is_empty());
        let price_q = if col("price_q").is_some() && !field("price_q").is_empty() {
            field("price_q").parse::<i64>().ok()
        } else {
            parse_decimal_minor(field("price"), digits)
        };
        let Some(price_q) = price_q else {
            problems.push(format!("line {line}: price {:?} is not an amount", field(if col("price_q").is_some() { "price_q" } else { "price" })));
            continue;
        };
        let Some(active) = parse_bool(field("active")) else {
            problems.push(format!("line {line}: active {:?} is not yes/no", field("active")));
            continue;
        };
        let unique = match field("unique") {
            "" => Some(false),
            s => parse_bool(s),
        };
        let Some(unique) = unique else {
            problems.push(format!("line {line}: unique {:?} is not yes/no", field("unique")));
            continue;
        };
        let oversell = match field("oversell") {
            "" => Some(OversellPolicy::Allow),
            s => OversellPolicy::parse(&s.to_ascii_lowercase()),
        };
        let Some(oversell) = oversell else {
            problems.push(format!("line {line}: oversell {:?} is not allow, warn or block", field("oversell")));
            continue;
        };
        let tax_rate_bp = match field("tax_rate") {
            "" => None,
            s => match tillbook_protocol::tax::parse_percent(s) {
                Some(bp) => Some(bp),
                None => {
                    problems.push(format!("line {line}: tax_rate {s:?} is not a percentage from 0 to 100 (e.g. 18 or 7.6)"));
                    continue;
                }
            },
        };
        let barcodes = field("barcodes")
            .split(['|', ';', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        rows.push((
            line,
            ProductRecord {
                sku: field("sku").to_string(),
                name: field("name").to_string(),
                price_q,
                currency: opt("currency"),
                category: opt("category"),
                barcodes,
                active,
                parent_sku: opt("parent_sku"),
                variant: opt("variant"),
                unique,
                oversell,
                tax_rate_bp,
            },
        ));
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    Ok(rows)
}

#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    products: Vec<&'a RawValue>,
}

fn line_of(text: &str, part: &str) -> u64 {
    let offset = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize).min(text.len());
    text[..offset].bytes().filter(|b| *b == b'\n').count() as u64 + 1
}

fn parse_json(text: &str) -> Result<Vec<(u64, ProductRecord)>> {
    let items: Vec<&RawValue> = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Wrapped<'_>>(text)
            .map_err(|e| invalid(vec![format!("line {}: {e}", e.line())]))?
            .products
    } else {
        serde_json::from_str(text).map_err(|e| invalid(vec![format!("line {}: {e}", e.line())]))?
    };
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for raw in items {
        let line = line_of(text, raw.get());
        match serde_json::from_str::<ProductRecord>(raw.get()) {
            Ok(r) => rows.push((line, r)),
            Err(e) => problems.push(format!("line {}: {e}", line + e.line() as u64 - 1)),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_prices_parse_exactly() {
        assert_eq!(parse_decimal_minor("7.50", 2), Some(750));
        assert_eq!(parse_decimal_minor("7,5", 2), Some(750));
        assert_eq!(parse_decimal_minor("12", 2), Some(1200));
        assert_eq!(parse_decimal_minor("0.01", 2), Some(1));
        assert_eq!(parse_decimal_minor("1.234", 2), None);
        assert_eq!(parse_decimal_minor("abc", 2), None);
        assert_eq!(parse_decimal_minor("", 2), None);
        assert_eq!(parse_decimal_minor("1500", 0), Some(1500));
    }

    #[test]
    fn csv_errors_name_their_lines() {
        let text = "sku,name,price_q\nA,Apple,100\nB,,200\nC,Cake,-5\nD,Donut,x\n";
        let e = parse(text, Format::Csv, "BRL").unwrap_err();
        assert_eq!(e.code, ErrorCode::ImportInvalid);
        assert!(e.message.contains("line 5: price"), "{}", e.message);
        let text = "sku,name,price_q\nA,Apple,100\nB,,200\nC,Cake,-5\n";
        let e = parse(text, Format::Csv, "BRL").unwrap_err();
        assert!(e.message.contains("line 3: B: name is empty"), "{}", e.message);
        assert!(e.message.contains("line 4: C: price_q is negative"), "{}", e.message);
    }

    #[test]
    fn json_errors_name_their_lines() {
        let text = "[\n {\"sku\": \"A\", \"name\": \"Apple\", \"price_q\": 100},\n {\"sku\": \"B\", \"name\": \"Bun\", \"price_q\": \"x\"}\n]";
        let e = parse(text, Format::Json, "BRL").unwrap_err();
        assert!(e.message.contains("line 3"), "{}", e.message);
        let ok = parse("{\"products\": [{\"sku\": \"A\", \"name\": \"Apple\", \"price_q\": 100, \"barcodes\": [\"789\"]}]}", Format::Json, "BRL").unwrap();
        assert_eq!(ok[0].barcodes, vec!["789".to_string()]);
        assert!(ok[0].active);
    }
}
