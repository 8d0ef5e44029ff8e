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
    /// Days acknowledged outbox rows are kept, so a server restored from a backup gets them again.
    pub outbox_retention_days: i64,
    /// The store this terminal is enrolled in (code and name), once enrolled.
    pub store: Option<String>,
    pub store_name: Option<String>,
}

/// Default of `outbox_retention_days`.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

/// The settings `tillbook settings set` may change, with their bounds.
pub const SETTABLE: [(&str, i64, i64); 2] = [("outbox_retention_days", 1, 3650), ("hold_ttl_secs", 1, 604_800)];

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

/// Checks and writes one settable setting in the caller's transaction.
pub(crate) fn set(conn: &Connection, key: &str, value: &str) -> Result<i64> {
    let Some((_, min, max)) = SETTABLE.iter().find(|(k, _, _)| *k == key) else {
        let keys: Vec<&str> = SETTABLE.iter().map(|(k, _, _)| *k).collect();
        return err(ErrorCode::InvalidSetting, format!("no setting {key:?} (settable: {})", keys.join(", ")));
    };
    let n: i64 = match value.trim().parse() {
        Ok(n) if (*min..=*max).contains(&n) => n,
        _ => return err(ErrorCode::InvalidSetting, format!("{key} must be a whole number from {min} to {max} (got {value:?})")),
    };
    meta_set(conn, key, &n.to_string())?;
    Ok(n)
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
    })
}

impl crate::Book {
    /// Changes one setting (`outbox_retention_days`, `hold_ttl_secs`); a bad key or value is
    /// `invalid_setting` and nothing is written.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<Settings> {
        let tx = crate::db::write_tx(&mut self.conn)?;
        set(&tx, key, value)?;
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
        for (k, v) in [("outbox_retention_days", "0"), ("outbox_retention_days", "3651"), ("hold_ttl_secs", "x"), ("nope", "1")] {
            assert_eq!(book.set_setting(k, v).unwrap_err().code, ErrorCode::InvalidSetting, "{k}={v}");
        }
        drop(book);
        let book = Book::open(&path).unwrap();
        assert_eq!((book.settings().outbox_retention_days, book.settings().hold_ttl_secs), (7, 60));
    }
}
