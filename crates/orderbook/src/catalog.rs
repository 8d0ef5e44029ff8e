//! The catalog: products, variants, unique items and barcodes.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
pub use tillbook_protocol::catalog::{OversellPolicy, ProductRecord};

use tillbook_protocol::limits::{check_text, MAX_CODE, MAX_PRICE_Q, MAX_TEXT};

use crate::clock::parse_time;
use crate::error::{err, Error, ErrorCode, Result};

/// A product as the book knows it now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub price_q: i64,
    pub currency: String,
    pub category: Option<String>,
    pub barcodes: Vec<String>,
    pub active: bool,
    pub parent_sku: Option<String>,
    pub variant: Option<String>,
    pub unique: bool,
    /// For a unique item: the order that sold it.
    pub sold_by: Option<String>,
    /// For a unique item: the terminal id of another till whose open basket holds it (pulled
    /// from the server), and until when. Reserved here only while `reserved_until` is after
    /// the book's clock; see [`Product::reserved_elsewhere`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_until: Option<DateTime<Utc>>,
    pub oversell: OversellPolicy,
    /// The product's own tax rate in basis points (else its category's, else the store's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_rate_bp: Option<i64>,
}

impl Product {
    /// Another till's basket holds this unique item at `now` (its pulled reservation is live).
    pub fn reserved_elsewhere(&self, now: DateTime<Utc>) -> bool {
        self.reserved_by.is_some() && self.reserved_until.is_some_and(|until| until > now)
    }

    pub fn to_record(&self) -> ProductRecord {
        ProductRecord {
            sku: self.sku.clone(),
            name: self.name.clone(),
            price_q: self.price_q,
            currency: Some(self.currency.clone()),
            category: self.category.clone(),
            barcodes: self.barcodes.clone(),
            active: self.active,
            parent_sku: self.parent_sku.clone(),
            variant: self.variant.clone(),
            unique: self.unique,
            oversell: self.oversell,
            tax_rate_bp: self.tax_rate_bp,
        }
    }
}

/// Checks one record against the book's rules; the message names the field.
pub(crate) fn validate(rec: &ProductRecord, currency: &str) -> std::result::Result<(), String> {
    if rec.sku.trim().is_empty() {
        return Err("sku is empty".into());
    }
    if rec.sku.chars().any(char::is_whitespace) {
        return Err(format!("sku {:?} contains white space", rec.sku));
    }
    if rec.name.trim().is_empty() {
        return Err(format!("{}: name is empty", rec.sku));
    }
    if rec.price_q < 0 {
        return Err(format!("{}: price_q is negative ({})", rec.sku, rec.price_q));
    }
    if rec.price_q > MAX_PRICE_Q {
        return Err(format!("{}: price_q is above {MAX_PRICE_Q} ({})", rec.sku, rec.price_q));
    }
    for (field, value, max) in [("sku", rec.sku.as_str(), MAX_CODE), ("name", rec.name.as_str(), MAX_TEXT)] {
        if let Some(why) = check_text(field, value, max, false) {
            return Err(format!("{}: {why}", rec.sku.chars().take(MAX_CODE).collect::<String>()));
        }
    }
    if let Some(c) = &rec.currency {
        if c != currency {
            return Err(format!("{}: currency {c} is not the book's currency {currency}", rec.sku));
        }
    }
    if rec.parent_sku.as_deref() == Some(rec.sku.as_str()) {
        return Err(format!("{}: a product cannot be a variant of itself", rec.sku));
    }
    if let Some(bp) = rec.tax_rate_bp {
        if !(0..=tillbook_protocol::tax::MAX_RATE_BP).contains(&bp) {
            return Err(format!("{}: tax_rate_bp {bp} is not from 0 to {}", rec.sku, tillbook_protocol::tax::MAX_RATE_BP));
        }
    }
    Ok(())
}

/// Inserts or updates products in the caller's transaction. Returns the SKUs whose price,
/// name or availability changed (for re-pricing open sessions).
pub(crate) fn upsert(
    conn: &Connection,
    records: &[ProductRecord],
    currency: &str,
    now: &str,
) -> Result<BTreeSet<String>> {
    let mut changed = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (i, rec) in records.iter().enumerate() {
        validate(rec, currency)
            .map_err(|m| Error::new(ErrorCode::ImportInvalid, format!("record {}: {m}", i + 1)))?;
        if !seen.insert(rec.sku.clone()) {
            return err(ErrorCode::ImportInvalid, format!("record {}: sku {} appears twice", i + 1, rec.sku));
        }
        let before = get(conn, &rec.sku)?;
        conn.execute(
            "INSERT INTO products(sku, name, price_q, currency, category, active, parent_sku,
                                  variant, is_unique, oversell, updated_at, tax_rate_bp)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(sku) DO UPDATE SET name = excluded.name, price_q = excluded.price_q,
                 category = excluded.category, active = excluded.active,
                 parent_sku = excluded.parent_sku, variant = excluded.variant,
                 is_unique = excluded.is_unique, oversell = excluded.oversell,
                 updated_at = excluded.updated_at, tax_rate_bp = excluded.tax_rate_bp",
            rusqlite::params![
                rec.sku,
                rec.name,
                rec.price_q,
                currency,
                rec.category,
                rec.active,
                rec.parent_sku,
                rec.variant,
                rec.unique,
                rec.oversell.as_str(),
                now,
                rec.tax_rate_bp
            ],
        )?;
        conn.execute("DELETE FROM barcodes WHERE sku = ?1", [&rec.sku])?;
        for code in &rec.barcodes {
            let owner: Option<String> = conn
                .query_row("SELECT sku FROM barcodes WHERE code = ?1", [code], |r| r.get(0))
                .optional()?;
            if let Some(owner) = owner {
                return err(
                    ErrorCode::ImportInvalid,
                    format!("record {}: barcode {code} already belongs to {owner}", i + 1),
                );
            }
            conn.execute("INSERT INTO barcodes(code, sku) VALUES (?1, ?2)", [code, &rec.sku])?;
        }
        let differs = match &before {
            None => false,
            Some(p) => p.price_q != rec.price_q || p.active != rec.active || p.name != rec.name,
        };
        if differs {
            changed.insert(rec.sku.clone());
        }
    }
    for rec in records {
        if let Some(parent) = &rec.parent_sku {
            if get(conn, parent)?.is_none() {
                return err(
                    ErrorCode::ImportInvalid,
                    format!("{}: parent sku {parent} is not in the catalog", rec.sku),
                );
            }
        }
    }
    Ok(changed)
}

fn row_to_product(r: &rusqlite::Row<'_>) -> rusqlite::Result<Product> {
    let oversell: String = r.get(10)?;
    Ok(Product {
        sku: r.get(0)?,
        name: r.get(1)?,
        price_q: r.get(2)?,
        currency: r.get(3)?,
        category: r.get(4)?,
        active: r.get(5)?,
        parent_sku: r.get(6)?,
        variant: r.get(7)?,
        unique: r.get(8)?,
        sold_by: r.get(9)?,
        reserved_by: r.get(11)?,
        reserved_until: r.get::<_, Option<String>>(12)?.map(|t| parse_time(&t)),
        oversell: OversellPolicy::parse(&oversell).unwrap_or_default(),
        tax_rate_bp: r.get(13)?,
        barcodes: Vec::new(),
    })
}

const COLUMNS: &str =
    "sku, name, price_q, currency, category, active, parent_sku, variant, is_unique, sold_by, oversell, reserved_by, reserved_until, tax_rate_bp";

fn with_barcodes(conn: &Connection, mut p: Product) -> Result<Product> {
    let mut stmt = conn.prepare_cached("SELECT code FROM barcodes WHERE sku = ?1 ORDER BY code")?;
    p.barcodes = stmt.query_map([&p.sku], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(p)
}

/// A product by SKU.
pub(crate) fn get(conn: &Connection, sku: &str) -> Result<Option<Product>> {
    let p = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM products WHERE sku = ?1"))?
        .query_row([sku], row_to_product)
        .optional()?;
    p.map(|p| with_barcodes(conn, p)).transpose()
}

/// `(unique, active)` of a SKU; `(false, false)` when the catalog no longer has it.
pub(crate) fn flags(conn: &Connection, sku: &str) -> Result<(bool, bool)> {
    Ok(conn
        .prepare_cached("SELECT is_unique, active FROM products WHERE sku = ?1")?
        .query_row([sku], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((false, false)))
}

/// A product by SKU or barcode, or `unknown_sku`.
pub(crate) fn resolve(conn: &Connection, sku_or_barcode: &str) -> Result<Product> {
    if let Some(p) = get(conn, sku_or_barcode)? {
        return Ok(p);
    }
    let by_code: Option<String> = conn
        .query_row("SELECT sku FROM barcodes WHERE code = ?1", [sku_or_barcode], |r| r.get(0))
        .optional()?;
    match by_code {
        Some(sku) => get(conn, &sku)?.ok_or_else(|| unknown(sku_or_barcode)),
        None => Err(unknown(sku_or_barcode)),
    }
}

fn unknown(sku: &str) -> Error {
    Error::new(ErrorCode::UnknownSku, format!("no product with SKU or barcode {sku:?}"))
}

/// Products whose SKU, name, category or barcode contains `search` (case-insensitive).
pub(crate) fn list(conn: &Connection, search: Option<&str>) -> Result<Vec<Product>> {
    let pattern = search.map(|s| format!("%{}%", s.replace(['%', '_'], "")));
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM products p
         WHERE ?1 IS NULL OR p.sku LIKE ?1 OR p.name LIKE ?1 OR p.category LIKE ?1
            OR EXISTS (SELECT 1 FROM barcodes b WHERE b.sku = p.sku AND b.code LIKE ?1)
         ORDER BY p.category, p.name, p.sku"
    ))?;
    let mut products: Vec<Product> =
        stmt.query_map([pattern], row_to_product)?.collect::<Result<_, _>>()?;
    // Every barcode in one statement, not one per product: a 50,000-SKU catalog loads at once.
    let mut codes: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT sku, code FROM barcodes ORDER BY sku, code")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        codes.entry(r.get(0)?).or_default().push(r.get(1)?);
    }
    for p in &mut products {
        p.barcodes = codes.remove(&p.sku).unwrap_or_default();
    }
    Ok(products)
}
