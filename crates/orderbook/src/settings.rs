//! The book's identity and preferences, kept in the `meta` table.

use rusqlite::Connection;
use serde::Serialize;
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
}

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
    Ok(())
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
    })
}
