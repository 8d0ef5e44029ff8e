//! The book's identity and preferences, kept in the `meta` table.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;
use tillbook_protocol::events::{CARD, CASH};
use tillbook_protocol::staff::{Permission, Role};
use tillbook_protocol::tax::{self, TaxMode};
use uuid::Uuid;

use crate::db::{meta_get, meta_set};
use crate::error::{err, Error, ErrorCode, Result};

/// What `tillbook init` asks.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Short terminal code used in order references, e.g. `T01`.
    pub terminal_code: String,
    /// ISO-4217 code of every price in the book.
    pub currency: String,
    /// Display locale, e.g. `pt-BR`.
    pub locale: String,
    /// Order reference prefix, e.g. `ORD-`.
    pub order_prefix: String,
    /// Load the demo catalog, stock and orders.
    pub demo: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            terminal_code: "T01".into(),
            currency: "BRL".into(),
            locale: "pt-BR".into(),
            order_prefix: "ORD-".into(),
            demo: false,
        }
    }
}

/// The book's settings, read once when it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub terminal_id: Uuid,
    pub terminal_code: String,
    pub currency: String,
    pub locale: String,
    pub order_prefix: String,
    pub location: String,
    pub hold_ttl_secs: i64,
    /// Days acknowledged outbox rows are kept, so a server restored from a backup gets them again.
    pub outbox_retention_days: i64,
    /// The store this terminal is enrolled in (code and name), once enrolled.
    pub store: Option<String>,
    pub store_name: Option<String>,
    /// The shop's name, for receipts and the app's header.
    pub shop_name: String,
    /// Minutes an order may stay unpaid before it is cancelled and its stock released.
    pub payment_window_mins: i64,
    /// Tender methods beyond cash and card (`pix`, `voucher`…), in the order the till offers them.
    pub tender_methods: Vec<String>,
    /// Fees per tender method: fixed minor units plus basis points of the amount.
    pub fees: BTreeMap<String, Fee>,
    /// The smallest coin in minor units: cash change is rounded to it (1: no rounding).
    pub cash_rounding_q: i64,
    /// Whether prices include tax.
    pub tax_mode: TaxMode,
    /// The store's default tax rate in basis points.
    pub tax_rate_bp: i64,
    /// Tax rates by product category, in basis points (a product's own rate comes first).
    pub category_tax: BTreeMap<String, i64>,
    /// What a cashier may do without a manager's PIN (`cashier_permissions`).
    pub cashier_permissions: Vec<Permission>,
    /// What a manager may do (`manager_permissions`).
    pub manager_permissions: Vec<Permission>,
    /// An order discount above this share of the subtotal (basis points) needs `large_discount`
    /// (`max_discount_pct`).
    pub max_discount_bp: i64,
    /// Closing a shift whose counted cash is off the expected by more than this (minor units)
    /// needs `close_with_difference` (`close_difference_threshold`).
    pub close_difference_threshold_q: i64,
    /// The shop's address on receipts, one entry per printed line.
    pub shop_address: Vec<String>,
    /// The shop's tax id on receipts.
    pub tax_id: Option<String>,
    /// The text at the foot of every receipt.
    pub receipt_footer: Option<String>,
}

impl Settings {
    /// The permissions a role has here.
    pub fn permissions(&self, role: Role) -> &[Permission] {
        match role {
            Role::Cashier => &self.cashier_permissions,
            Role::Manager => &self.manager_permissions,
        }
    }
}

/// A payment provider's fee: `fixed_q + amount × bp / 10000`, rounded half-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fee {
    pub fixed_q: i64,
    pub bp: i64,
}

impl Fee {
    /// The fee on an amount, or `None` on overflow.
    pub fn on(&self, amount_q: i64) -> Option<i64> {
        tillbook_protocol::tax::mul_div_half_up(amount_q, self.bp, tillbook_protocol::tax::RATE_SCALE)?.checked_add(self.fixed_q)
    }
}

/// Default of `outbox_retention_days`.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
/// Default of `payment_window_mins`.
pub const DEFAULT_PAYMENT_WINDOW_MINS: i64 = 15;
/// Default of `max_discount_pct`, in basis points (10 %).
pub const DEFAULT_MAX_DISCOUNT_BP: i64 = 1000;
/// Default of `close_difference_threshold`, in minor units.
pub const DEFAULT_CLOSE_DIFFERENCE_Q: i64 = 500;

/// The settings `tillbook settings set` may change, with what each takes.
pub const SETTABLE: [(&str, &str); 18] = [
    ("outbox_retention_days", "days acknowledged sync events are kept, 1-3650"),
    ("hold_ttl_secs", "seconds a basket holds stock, 1-604800"),
    ("payment_window_mins", "minutes an order may stay unpaid before it is cancelled, 1-10080"),
    ("shop_name", "the shop's name on receipts, 1-100 characters"),
    ("tender_methods", "tender methods besides cash and card, comma-separated names such as pix,voucher (empty: none)"),
    ("fees", "fees per method as method=FIXED+PERCENT%, comma-separated, e.g. card=30+2.5%,pix=0+0.99% (empty: none)"),
    ("cash_rounding", "the smallest coin in minor units, change is rounded to it: 1 (none) to 1000"),
    ("tax_mode", "inclusive (prices include tax) or exclusive (tax is added)"),
    ("tax_rate", "the store's default tax rate as a percentage, e.g. 18 or 7.6"),
    ("category_tax", "tax rates by category as Category=PERCENT, comma-separated, e.g. Bakery=7,Coffee=18 (empty: none)"),
    ("locale", "display locale: en-US or pt-BR"),
    ("cashier_permissions", "what a cashier may do without a manager's PIN: comma-separated refund, cancel_paid, large_discount, cash_out, no_sale, close_with_difference (empty or none: nothing)"),
    ("manager_permissions", "what a manager may do, as cashier_permissions (default: everything)"),
    ("max_discount_pct", "an order discount above this percentage of the subtotal needs large_discount, 0-100 (default 10)"),
    ("close_difference_threshold", "closing a shift with counted cash off by more than this (minor units) needs close_with_difference, 0 or more (default 500)"),
    ("shop_address", "the shop's address on receipts, lines separated by | (empty: none)"),
    ("tax_id", "the shop's tax id on receipts, up to 50 characters (empty: none)"),
    ("receipt_footer", "the text at the foot of receipts, up to 500 characters (empty: none)"),
];

fn validate(o: &InitOptions) -> Result<()> {
    let code_ok = !o.terminal_code.is_empty()
        && o.terminal_code.len() <= 16
        && o.terminal_code.chars().all(|c| c.is_ascii_alphanumeric());
    if !code_ok {
        return err(ErrorCode::InvalidArgument, format!("terminal code {:?} must be 1-16 letters or digits", o.terminal_code));
    }
    if o.currency.len() != 3 || !o.currency.chars().all(|c| c.is_ascii_uppercase()) {
        return err(ErrorCode::InvalidArgument, format!("currency {:?} is not an ISO-4217 code such as BRL", o.currency));
    }
    if o.locale.is_empty() || !o.locale.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return err(ErrorCode::InvalidArgument, format!("locale {:?} is not a locale such as pt-BR", o.locale));
    }
    if o.order_prefix.len() > 16 || o.order_prefix.chars().any(char::is_whitespace) {
        return err(ErrorCode::InvalidArgument, format!("order prefix {:?} must be at most 16 characters, no spaces", o.order_prefix));
    }
    Ok(())
}

pub(crate) fn write_initial(conn: &Connection, o: &InitOptions) -> Result<()> {
    validate(o)?;
    meta_set(conn, "terminal_id", &Uuid::now_v7().to_string())?;
    meta_set(conn, "terminal_code", &o.terminal_code)?;
    meta_set(conn, "currency", &o.currency)?;
    meta_set(conn, "locale", &o.locale)?;
    meta_set(conn, "order_prefix", &o.order_prefix)?;
    meta_set(conn, "location", "main")?;
    meta_set(conn, "hold_ttl_secs", "900")?;
    meta_set(conn, "outbox_retention_days", &DEFAULT_RETENTION_DAYS.to_string())?;
    Ok(())
}

/// A terminal code handed out by the server: it goes into order references.
pub(crate) fn validate_terminal_code(code: &str) -> Result<()> {
    let ok = !code.is_empty()
        && code.chars().count() <= tillbook_protocol::limits::MAX_CODE
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return err(ErrorCode::InvalidArgument, format!("terminal code {code:?} must be letters, digits, - or _"));
    }
    Ok(())
}

fn bad<T>(key: &str, value: &str, why: impl std::fmt::Display) -> Result<T> {
    err(ErrorCode::InvalidSetting, format!("{key} {value:?}: {why}"))
}

fn whole(key: &str, value: &str, min: i64, max: i64) -> Result<String> {
    match value.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
        _ => bad(key, value, format!("must be a whole number from {min} to {max}")),
    }
}

/// A tender method's name: lower-case letters, digits and `_`, 1-32 long.
pub fn valid_method_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `a=b,c=d` pairs, trimmed; an empty text is no pairs.
fn pairs(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

fn parse_methods(text: &str) -> std::result::Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for m in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        if !valid_method_name(m) {
            return Err(format!("{m:?} is not a method name (lower-case letters, digits, _)"));
        }
        if m == CASH || m == CARD {
            return Err(format!("{m} is always offered; list only the other methods"));
        }
        if !out.iter().any(|o| o == m) {
            out.push(m.to_string());
        }
    }
    Ok(out)
}

fn parse_fees(text: &str) -> std::result::Result<BTreeMap<String, Fee>, String> {
    let mut out = BTreeMap::new();
    for (method, v) in pairs(text) {
        if !valid_method_name(&method) {
            return Err(format!("{method:?} is not a method name"));
        }
        let (fixed, pct) = v.split_once('+').ok_or_else(|| format!("{method}: write FIXED+PERCENT%, e.g. 30+2.5%"))?;
        let fixed_q: i64 = fixed.trim().parse().ok().filter(|f| (0..=tillbook_protocol::limits::MAX_FEE_Q).contains(f))
            .ok_or_else(|| format!("{method}: the fixed part {fixed:?} must be whole minor units"))?;
        let bp = tax::parse_percent(pct).ok_or_else(|| format!("{method}: {pct:?} is not a percentage from 0 to 100"))?;
        out.insert(method, Fee { fixed_q, bp });
    }
    Ok(out)
}

fn parse_category_tax(text: &str) -> std::result::Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for (cat, v) in pairs(text) {
        if cat.is_empty() || cat.chars().count() > tillbook_protocol::limits::MAX_CODE {
            return Err(format!("{cat:?} is not a category"));
        }
        let bp = tax::parse_percent(&v).ok_or_else(|| format!("{cat}: {v:?} is not a percentage from 0 to 100"))?;
        out.insert(cat, bp);
    }
    Ok(out)
}

fn fmt_fees(fees: &BTreeMap<String, Fee>) -> String {
    let parts: Vec<String> = fees.iter().map(|(m, f)| format!("{m}={}+{}", f.fixed_q, tax::format_percent(f.bp))).collect();
    parts.join(",")
}

fn fmt_category_tax(rates: &BTreeMap<String, i64>) -> String {
    let parts: Vec<String> = rates.iter().map(|(c, bp)| format!("{c}={}", tax::format_percent(*bp).trim_end_matches('%'))).collect();
    parts.join(",")
}

/// A comma-separated list of permission names (`none` or empty: none), in `Permission::ALL` order.
fn parse_permissions(text: &str) -> std::result::Result<Vec<Permission>, String> {
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty() && *n != "none") {
        let p = Permission::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
            format!("{name:?} is not a permission (known: {})", known.join(", "))
        })?;
        out.push(p);
    }
    Ok(Permission::ALL.into_iter().filter(|p| out.contains(p)).collect())
}

fn fmt_permissions(perms: &[Permission]) -> String {
    let names: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    names.join(",")
}

/// Address lines separated by `|` or new lines, trimmed, empty lines dropped.
fn parse_lines(key: &str, text: &str) -> std::result::Result<Vec<String>, String> {
    let lines: Vec<String> = text.split(['|', '\n']).map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    if lines.len() > 6 {
        return Err("at most 6 lines".into());
    }
    for l in &lines {
        if let Some(why) = tillbook_protocol::limits::check_text(key, l, 100, false) {
            return Err(why);
        }
    }
    Ok(lines)
}

fn optional_text(key: &str, value: &str, max: usize) -> Result<String> {
    match tillbook_protocol::limits::check_text(key, value, max, true) {
        Some(why) => bad(key, value, why),
        None => Ok(value.to_string()),
    }
}

/// Checks and writes one settable setting in the caller's transaction; the stored text.
pub(crate) fn set(conn: &Connection, key: &str, value: &str) -> Result<String> {
    let v = value.trim();
    let stored = match key {
        "outbox_retention_days" => whole(key, value, 1, 3650)?,
        "hold_ttl_secs" => whole(key, value, 1, 604_800)?,
        "payment_window_mins" => whole(key, value, 1, 10_080)?,
        "cash_rounding" => whole(key, value, 1, 1000)?,
        "shop_name" => {
            if let Some(why) = tillbook_protocol::limits::check_text("shop_name", v, 100, false) {
                return bad(key, value, why);
            }
            v.to_string()
        }
        "tender_methods" => parse_methods(v).map_err(|why| Error::new(ErrorCode::InvalidSetting, format!("{key}: {why}")))?.join(","),
        "fees" => fmt_fees(&parse_fees(v).map_err(|why| Error::new(ErrorCode::InvalidSetting, format!("{key}: {why}")))?),
        "tax_mode" => match TaxMode::parse(v) {
            Some(m) => m.as_str().to_string(),
            None => return bad(key, value, "must be inclusive or exclusive"),
        },
        "tax_rate" => match tax::parse_percent(v) {
            Some(bp) => bp.to_string(),
            None => return bad(key, value, "must be a percentage from 0 to 100 with at most two decimals"),
        },
        "category_tax" => fmt_category_tax(
            &parse_category_tax(v).map_err(|why| Error::new(ErrorCode::InvalidSetting, format!("{key}: {why}")))?,
        ),
        "locale" => match v {
            "en-US" | "pt-BR" => v.to_string(),
            _ => return bad(key, value, "must be en-US or pt-BR"),
        },
        "cashier_permissions" | "manager_permissions" => {
            fmt_permissions(&parse_permissions(v).map_err(|why| Error::new(ErrorCode::InvalidSetting, format!("{key}: {why}")))?)
        }
        "max_discount_pct" => match tax::parse_percent(v) {
            Some(bp) => bp.to_string(),
            None => return bad(key, value, "must be a percentage from 0 to 100 with at most two decimals"),
        },
        "close_difference_threshold" => whole(key, value, 0, tillbook_protocol::limits::MAX_AMOUNT_Q)?,
        "shop_address" => parse_lines(key, v).map_err(|why| Error::new(ErrorCode::InvalidSetting, format!("{key}: {why}")))?.join("\n"),
        "tax_id" => optional_text(key, v, 50)?,
        "receipt_footer" => optional_text(key, v, 500)?,
        _ => {
            let keys: Vec<&str> = SETTABLE.iter().map(|(k, _)| *k).collect();
            return err(ErrorCode::InvalidSetting, format!("no setting {key:?} (settable: {})", keys.join(", ")));
        }
    };
    let meta_key = match key {
        "tax_rate" => "tax_rate_bp",
        "cash_rounding" => "cash_rounding_q",
        "max_discount_pct" => "max_discount_bp",
        "close_difference_threshold" => "close_difference_threshold_q",
        k => k,
    };
    meta_set(conn, meta_key, &stored)?;
    Ok(stored)
}

pub(crate) fn read(conn: &Connection) -> Result<Settings> {
    let get = |k: &str| -> Result<String> {
        meta_get(conn, k)?.ok_or_else(|| Error::new(ErrorCode::NotABook, format!("the book has no {k} setting")))
    };
    Ok(Settings {
        terminal_id: Uuid::parse_str(&get("terminal_id")?)
            .map_err(|e| Error::new(ErrorCode::NotABook, format!("bad terminal_id: {e}")))?,
        terminal_code: get("terminal_code")?,
        currency: get("currency")?,
        locale: get("locale")?,
        order_prefix: get("order_prefix")?,
        location: get("location")?,
        hold_ttl_secs: get("hold_ttl_secs")?.parse().unwrap_or(900),
        outbox_retention_days: meta_get(conn, "outbox_retention_days")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_RETENTION_DAYS),
        store: meta_get(conn, "store")?,
        store_name: meta_get(conn, "store_name")?,
        shop_name: meta_get(conn, "shop_name")?.unwrap_or_else(|| "Tillbook".to_string()),
        payment_window_mins: meta_get(conn, "payment_window_mins")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_PAYMENT_WINDOW_MINS),
        tender_methods: parse_methods(&meta_get(conn, "tender_methods")?.unwrap_or_default()).unwrap_or_default(),
        fees: parse_fees(&meta_get(conn, "fees")?.unwrap_or_default()).unwrap_or_default(),
        cash_rounding_q: meta_get(conn, "cash_rounding_q")?.and_then(|v| v.parse().ok()).unwrap_or(1),
        tax_mode: meta_get(conn, "tax_mode")?.and_then(|v| TaxMode::parse(&v)).unwrap_or_default(),
        tax_rate_bp: meta_get(conn, "tax_rate_bp")?.and_then(|v| v.parse().ok()).unwrap_or(0),
        category_tax: parse_category_tax(&meta_get(conn, "category_tax")?.unwrap_or_default()).unwrap_or_default(),
        cashier_permissions: permissions(conn, Role::Cashier)?,
        manager_permissions: permissions(conn, Role::Manager)?,
        max_discount_bp: meta_get(conn, "max_discount_bp")?.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MAX_DISCOUNT_BP),
        close_difference_threshold_q: meta_get(conn, "close_difference_threshold_q")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_CLOSE_DIFFERENCE_Q),
        shop_address: meta_get(conn, "shop_address")?
            .map(|a| a.lines().map(str::to_string).collect())
            .unwrap_or_default(),
        tax_id: meta_get(conn, "tax_id")?.filter(|t| !t.is_empty()),
        receipt_footer: meta_get(conn, "receipt_footer")?.filter(|t| !t.is_empty()),
    })
}

/// What a role may do, as the book says now (read in the caller's transaction, so a change by
/// another process counts at once).
pub(crate) fn permissions(conn: &Connection, role: Role) -> Result<Vec<Permission>> {
    let key = format!("{}_permissions", role.as_str());
    Ok(match meta_get(conn, &key)? {
        Some(text) => parse_permissions(&text).unwrap_or_default(),
        None => role.default_permissions().to_vec(),
    })
}

impl crate::Book {
    /// Changes one setting (see [`SETTABLE`]); a bad key or value is `invalid_setting` and
    /// nothing is written.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<Settings> {
        let tx = crate::db::write_tx(&mut self.conn)?;
        set(&tx, key, value)?;
        let settings = read(&tx)?;
        tx.commit()?;
        self.settings = settings.clone();
        Ok(settings)
    }

    /// Changes several settings in one transaction: all of them, or (on the first bad key or
    /// value, `invalid_setting`) none.
    pub fn set_settings(&mut self, changes: &[(&str, &str)]) -> Result<Settings> {
        let tx = crate::db::write_tx(&mut self.conn)?;
        for (key, value) in changes {
            set(&tx, key, value)?;
        }
        let settings = read(&tx)?;
        tx.commit()?;
        self.settings = settings.clone();
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Book, ErrorCode};

    #[test]
    fn settings_are_checked_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sqlite");
        let mut book = Book::init(&path, InitOptions::default()).unwrap();
        assert_eq!(book.settings().outbox_retention_days, 30);
        assert_eq!(book.set_setting("outbox_retention_days", "7").unwrap().outbox_retention_days, 7);
        assert_eq!(book.set_setting("hold_ttl_secs", "60").unwrap().hold_ttl_secs, 60);
        let s = book.set_setting("fees", " card=30+2.5% , pix=0+0.99%").unwrap();
        assert_eq!(s.fees["card"], Fee { fixed_q: 30, bp: 250 });
        assert_eq!(s.fees["pix"].on(10_000), Some(99));
        assert_eq!(book.set_setting("tender_methods", "pix, voucher,pix").unwrap().tender_methods, ["pix", "voucher"]);
        assert_eq!(book.set_setting("category_tax", "Bakery=7,Coffee=18").unwrap().category_tax["Coffee"], 1800);
        assert_eq!(book.set_setting("tax_rate", "7.6%").unwrap().tax_rate_bp, 760);
        assert_eq!(book.set_setting("tax_mode", "exclusive").unwrap().tax_mode, TaxMode::Exclusive);
        assert_eq!(book.set_setting("cash_rounding", "5").unwrap().cash_rounding_q, 5);
        assert_eq!(book.set_setting("tender_methods", "").unwrap().tender_methods, Vec::<String>::new());
        // Staff and receipts.
        assert_eq!(book.settings().cashier_permissions, Vec::<Permission>::new());
        assert_eq!(book.settings().manager_permissions, Permission::ALL.to_vec());
        assert_eq!((book.settings().max_discount_bp, book.settings().close_difference_threshold_q), (1000, 500));
        let s = book.set_setting("cashier_permissions", " no_sale , refund,refund").unwrap();
        assert_eq!(s.cashier_permissions, [Permission::Refund, Permission::NoSale]);
        assert_eq!(s.permissions(Role::Cashier), [Permission::Refund, Permission::NoSale]);
        assert_eq!(book.set_setting("manager_permissions", "none").unwrap().manager_permissions, Vec::<Permission>::new());
        assert_eq!(book.set_setting("max_discount_pct", "12.5").unwrap().max_discount_bp, 1250);
        assert_eq!(book.set_setting("close_difference_threshold", "0").unwrap().close_difference_threshold_q, 0);
        let s = book.set_setting("shop_address", "Rua A, 1 | São Paulo\nBrasil").unwrap();
        assert_eq!(s.shop_address, ["Rua A, 1", "São Paulo", "Brasil"]);
        assert_eq!(book.set_setting("tax_id", "12.345.678/0001-90").unwrap().tax_id.as_deref(), Some("12.345.678/0001-90"));
        assert_eq!(book.set_setting("receipt_footer", "Volte sempre!").unwrap().receipt_footer.as_deref(), Some("Volte sempre!"));
        assert_eq!(book.set_setting("tax_id", "").unwrap().tax_id, None);
        for (k, v) in [
            ("outbox_retention_days", "0"),
            ("outbox_retention_days", "3651"),
            ("hold_ttl_secs", "x"),
            ("nope", "1"),
            ("payment_window_mins", "0"),
            ("tender_methods", "cash"),
            ("tender_methods", "Pix!"),
            ("fees", "card=2.5%"),
            ("fees", "card=-1+2%"),
            ("tax_mode", "both"),
            ("tax_rate", "101"),
            ("category_tax", "Bakery=abc"),
            ("cash_rounding", "0"),
            ("shop_name", " "),
            ("locale", "xx"),
            ("cashier_permissions", "refund,teleport"),
            ("max_discount_pct", "-1"),
            ("close_difference_threshold", "x"),
            ("shop_address", "1|2|3|4|5|6|7"),
            ("shop_address", &"a".repeat(101)),
            ("tax_id", &"1".repeat(51)),
            ("receipt_footer", "a\0b"),
        ] {
            assert_eq!(book.set_setting(k, v).unwrap_err().code, ErrorCode::InvalidSetting, "{k}={v}");
        }
        drop(book);
        let book = Book::open(&path).unwrap();
        assert_eq!((book.settings().outbox_retention_days, book.settings().hold_ttl_secs), (7, 60));
        assert_eq!(book.settings().max_discount_bp, 1250);
        assert_eq!(book.settings().shop_address.len(), 3);
    }

    #[test]
    fn several_settings_change_in_one_transaction_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sqlite");
        let mut book = Book::init(&path, InitOptions::default()).unwrap();
        let s = book.set_settings(&[("shop_name", "Padaria Sol"), ("locale", "en-US")]).unwrap();
        assert_eq!((s.shop_name.as_str(), s.locale.as_str()), ("Padaria Sol", "en-US"));
        let e = book.set_settings(&[("shop_name", "Other"), ("locale", "xx")]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSetting);
        assert_eq!(book.settings().shop_name, "Padaria Sol", "nothing of a refused change is kept");
        drop(book);
        let book = Book::open(&path).unwrap();
        assert_eq!((book.settings().shop_name.as_str(), book.settings().locale.as_str()), ("Padaria Sol", "en-US"));
    }
}
