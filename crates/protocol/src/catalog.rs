//! Catalog records as they travel: imported from files, pulled from the server.

use serde::{Deserialize, Serialize};

/// What a terminal does when a sale would take a SKU's available stock below zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OversellPolicy {
    /// The sale goes through; the server flags a shortage for staff.
    #[default]
    Allow,
    /// The sale goes through with a warning on the session.
    Warn,
    /// The session cannot be committed while stock is short.
    Block,
}

impl OversellPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            OversellPolicy::Allow => "allow",
            OversellPolicy::Warn => "warn",
            OversellPolicy::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allow" => Some(OversellPolicy::Allow),
            "warn" => Some(OversellPolicy::Warn),
            "block" => Some(OversellPolicy::Block),
            _ => None,
        }
    }
}

/// One sellable SKU. A variant (a size, a colour) is its own record naming its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRecord {
    pub sku: String,
    pub name: String,
    pub price_q: i64,
    /// ISO-4217 code; when absent the book's currency is assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub barcodes: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// The SKU this record is a variant of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_sku: Option<String>,
    /// The variant's label, e.g. `Large`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// A one-of-a-kind item: available → reserved → sold.
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub oversell: OversellPolicy,
    /// The product's own tax rate in basis points (18% = 1800); when absent, its category's
    /// rate, else the store's default (see [`crate::tax`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate_bp: Option<i64>,
}

fn yes() -> bool {
    true
}

/// The demo café's catalog, prices in BRL minor units: the till's `init --demo` and the
/// server's `--demo` seed the same records.
pub fn demo_products() -> Vec<ProductRecord> {
    [
        ("ESPRESSO", "Espresso", 500, "Coffee"),
        ("CAPPUCCINO", "Cappuccino", 700, "Coffee"),
        ("LATTE", "Latte", 750, "Coffee"),
        ("CROISSANT", "Croissant", 650, "Bakery"),
        ("PAIN_AU_CHOCOLAT", "Pain au Chocolat", 750, "Bakery"),
        ("CARROT_CAKE", "Carrot Cake", 800, "Bakery"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (sku, name, price_q, category))| ProductRecord {
        sku: sku.into(),
        name: name.into(),
        price_q,
        currency: Some("BRL".into()),
        category: Some(category.into()),
        barcodes: vec![format!("789{:010}", i + 1)],
        active: true,
        parent_sku: None,
        variant: None,
        unique: false,
        oversell: OversellPolicy::Allow,
        tax_rate_bp: None,
    })
    .collect()
}
