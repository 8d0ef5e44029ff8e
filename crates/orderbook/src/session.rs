//! Sessions: the open basket (tab, draft order) a cashier builds before committing.
//!
//! A session is keyed by a session key, optionally owned by a handle (`table:4`), and is
//! `open` until it is committed or abandoned. Every change bumps its revision, renews its
//! stock holds and is one transaction. Lines have stable ids (`L1`, `L2`…).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::{self, OversellPolicy};
use crate::channel::{self, EditPolicy, PricingPolicy};
use crate::clock::{fmt_time, parse_time};
use crate::error::{err, Error, ErrorCode, Result};
use crate::stock::{self, UniqueState};
use crate::{db, Book};

/// How much an issue matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The session cannot be committed until this is fixed.
    Blocking,
    /// The cashier should see it; the commit may go ahead.
    Warning,
}

/// Something a check found wrong with a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub code: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub message: String,
}

/// A mark left on a line when the catalog changed under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFlag {
    /// `price_changed` or `product_gone`.
    pub code: String,
    pub message: String,
}

/// A session line as shown to the cashier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    pub line_id: String,
    pub sku: String,
    pub name: String,
    pub unit_price_q: i64,
    pub qty: i64,
    pub discount_q: i64,
    pub total_q: i64,
    /// `catalog` or `caller`.
    pub price_source: String,
    pub flags: Vec<LineFlag>,
}

/// A whole session with its lines, totals and current issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    pub session_key: String,
    pub channel: String,
    pub handle: Option<String>,
    pub state: String,
    pub note: Option<String>,
    pub currency: String,
    pub lines: Vec<LineView>,
    pub subtotal_q: i64,
    pub discount_q: i64,
    pub total_q: i64,
    pub total_items: i64,
    pub issues: Vec<Issue>,
    pub revision: i64,
    pub checked_revision: Option<i64>,
    pub order_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of `session list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSummary {
    pub session_key: String,
    pub handle: Option<String>,
    pub state: String,
    pub lines: i64,
    pub total_items: i64,
    pub total_q: i64,
    pub updated_at: DateTime<Utc>,
}

/// The result of `check`: the issues at a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub session_key: String,
    pub revision: i64,
    pub blocking: bool,
    pub issues: Vec<Issue>,
}

pub(crate) struct SessionRow {
    pub key: String,
    pub channel: String,
    pub handle: Option<String>,
    pub state: String,
    pub note: Option<String>,
    pub discount_q: i64,
    pub revision: i64,
    pub checked_revision: Option<i64>,
    pub next_line: i64,
    pub created_at: String,
    pub updated_at: String,
    pub order_ref: Option<String>,
}

#[derive(Clone)]
pub(crate) struct LineRow {
    pub line_id: String,
    pub sku: String,
    pub name: String,
    pub unit_price_q: i64,
    pub price_source: String,
    pub qty: i64,
    pub discount_q: i64,
    pub flags: Vec<LineFlag>,
}

impl LineRow {
    pub fn gross_q(&self) -> Result<i64> {
        self.unit_price_q
            .checked_mul(self.qty)
            .ok_or_else(|| Error::new(ErrorCode::AmountOverflow, format!("line {} is too large", self.line_id)))
    }
    pub fn total_q(&self) -> Result<i64> {
        Ok(self.gross_q()? - self.discount_q)
    }
}

pub(crate) fn load_row(conn: &Connection, key: &str) -> Result<SessionRow> {
    conn.prepare_cached(
        "SELECT session_key, channel, handle, state, note, discount_q, revision, checked_revision,
                next_line, created_at, updated_at, order_ref
         FROM sessions WHERE session_key = ?1",
    )?
    .query_row([key], |r| {
        Ok(SessionRow {
            key: r.get(0)?,
            channel: r.get(1)?,
            handle: r.get(2)?,
            state: r.get(3)?,
            note: r.get(4)?,
            discount_q: r.get(5)?,
            revision: r.get(6)?,
            checked_revision: r.get(7)?,
            next_line: r.get(8)?,
            created_at: r.get(9)?,
            updated_at: r.get(10)?,
            order_ref: r.get(11)?,
        })
    })
    .optional()?
    .ok_or_else(|| Error::new(ErrorCode::UnknownSession, format!("no session {key:?}")))
}

pub(crate) fn load_lines(conn: &Connection, key: &str) -> Result<Vec<LineRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT line_id, sku, name, unit_price_q, price_source, qty, discount_q, flags
         FROM session_lines WHERE session_key = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([key], |r| {
        let flags: String = r.get(7)?;
        Ok(LineRow {
            line_id: r.get(0)?,
            sku: r.get(1)?,
            name: r.get(2)?,
            unit_price_q: r.get(3)?,
            price_source: r.get(4)?,
            qty: r.get(5)?,
            discount_q: r.get(6)?,
            flags: serde_json::from_str(&flags).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn require_open(row: &SessionRow) -> Result<()> {
    if row.state != "open" {
        return err(ErrorCode::SessionNotOpen, format!("session {} is {}", row.key, row.state));
    }
    Ok(())
}

fn find_line(lines: &[LineRow], line_id: &str, key: &str) -> Result<LineRow> {
    lines
        .iter()
        .find(|l| l.line_id == line_id)
        .cloned()
        .ok_or_else(|| Error::new(ErrorCode::UnknownLine, format!("session {key} has no line {line_id:?}")))
}

/// Subtotal (after line discounts), total (after the order discount) and item count.
pub(crate) fn totals(lines: &[LineRow], discount_q: i64) -> Result<(i64, i64, i64)> {
    let overflow = || Error::new(ErrorCode::AmountOverflow, "the session total is too large");
    let mut subtotal: i64 = 0;
    let mut items: i64 = 0;
    for l in lines {
        subtotal = subtotal.checked_add(l.total_q()?).ok_or_else(overflow)?;
        items = items.checked_add(l.qty).ok_or_else(overflow)?;
    }
    Ok((subtotal, subtotal - discount_q, items))
}

/// The issues of a session as things stand now.
pub(crate) fn issues(
    conn: &Connection,
    row: &SessionRow,
    lines: &[LineRow],
    location: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Issue>> {
    let mut out = Vec::new();
    let mut per_sku: BTreeMap<&str, i64> = BTreeMap::new();
    for l in lines {
        *per_sku.entry(l.sku.as_str()).or_default() += l.qty;
        for f in &l.flags {
            let severity = if f.code == "product_gone" { Severity::Blocking } else { Severity::Warning };
            out.push(Issue {
                code: f.code.clone(),
                severity,
                line_id: Some(l.line_id.clone()),
                sku: Some(l.sku.clone()),
                message: f.message.clone(),
            });
        }
        if l.total_q()? < 0 {
            out.push(Issue {
                code: "invalid_discount".into(),
                severity: Severity::Blocking,
                line_id: Some(l.line_id.clone()),
                sku: Some(l.sku.clone()),
                message: format!("line {} discount {} exceeds its amount", l.line_id, l.discount_q),
            });
        }
    }
    for (sku, qty) in per_sku {
        let Some(p) = catalog::get(conn, sku)? else { continue };
        if p.unique {
            let state = stock::unique_state(conn, &p, location, now, Some(&row.key))?;
            if state != UniqueState::Available {
                out.push(Issue {
                    code: "unique_unavailable".into(),
                    severity: Severity::Blocking,
                    line_id: None,
                    sku: Some(sku.to_string()),
                    message: format!("{} is one of a kind and is {}", p.name, if state == UniqueState::Sold { "sold" } else { "reserved elsewhere" }),
                });
            }
            continue;
        }
        let severity = match p.oversell {
            OversellPolicy::Allow => continue,
            OversellPolicy::Warn => Severity::Warning,
            OversellPolicy::Block => Severity::Blocking,
        };
        let available = stock::on_hand(conn, sku, location)? - stock::held(conn, sku, location, now, Some(&row.key))?;
        if qty > available {
            out.push(Issue {
                code: "insufficient_stock".into(),
                severity,
                line_id: None,
                sku: Some(sku.to_string()),
                message: format!("{}: {qty} wanted, {} available", p.name, available.max(0)),
            });
        }
    }
    let (subtotal, _, _) = totals(lines, 0)?;
    if row.discount_q > subtotal.max(0) {
        out.push(Issue {
            code: "invalid_discount".into(),
            severity: Severity::Blocking,
            line_id: None,
            sku: None,
            message: format!("order discount {} exceeds the subtotal {subtotal}", row.discount_q),
        });
    }
    Ok(out)
}

/// Records a change: bumps the revision and renews the session's holds.
fn touch(conn: &Connection, key: &str, now: DateTime<Utc>, ttl: i64) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET revision = revision + 1, updated_at = ?2 WHERE session_key = ?1")?
        .execute([key, &fmt_time(now)])?;
    stock::renew_holds(conn, key, now + Duration::seconds(ttl))
}

fn save_flags(conn: &Connection, key: &str, line_id: &str, flags: &[LineFlag]) -> Result<()> {
    conn.prepare_cached("UPDATE session_lines SET flags = ?3 WHERE session_key = ?1 AND line_id = ?2")?
        .execute([key, line_id, &serde_json::to_string(flags).expect("flags serialise")])?;
    Ok(())
}

/// Re-prices or flags the lines of open sessions after a catalog change, in the caller's
/// transaction.
pub(crate) fn on_catalog_change(conn: &Connection, skus: &BTreeSet<String>, now: DateTime<Utc>) -> Result<()> {
    if skus.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare(
        "SELECT l.session_key, l.line_id FROM session_lines l JOIN sessions s USING (session_key)
         WHERE s.state = 'open' AND l.sku = ?1",
    )?;
    let mut touched = BTreeSet::new();
    for sku in skus {
        let affected: Vec<(String, String)> =
            stmt.query_map([sku], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let product = catalog::get(conn, sku)?;
        for (key, line_id) in affected {
            let lines = load_lines(conn, &key)?;
            let mut line = find_line(&lines, &line_id, &key)?;
            line.flags.retain(|f| f.code != "product_gone");
            match &product {
                Some(p) if p.active => {
                    if line.price_source == "catalog" && line.unit_price_q != p.price_q {
                        line.flags.retain(|f| f.code != "price_changed");
                        line.flags.push(LineFlag {
                            code: "price_changed".into(),
                            message: format!("{}: price changed from {} to {}", p.name, line.unit_price_q, p.price_q),
                        });
                        conn.execute(
                            "UPDATE session_lines SET unit_price_q = ?3, name = ?4 WHERE session_key = ?1 AND line_id = ?2",
                            rusqlite::params![key, line_id, p.price_q, p.name],
                        )?;
                    }
                }
                _ => line.flags.push(LineFlag {
                    code: "product_gone".into(),
                    message: format!("{} is no longer sold", line.name),
                }),
            }
            save_flags(conn, &key, &line_id, &line.flags)?;
            touched.insert(key);
        }
    }
    for key in touched {
        conn.execute(
            "UPDATE sessions SET revision = revision + 1, updated_at = ?2 WHERE session_key = ?1",
            [&key, &fmt_time(now)],
        )?;
    }
    Ok(())
}

fn validate_handle(handle: &str) -> Result<()> {
    match handle.split_once(':') {
        Some((kind, reference)) if !kind.trim().is_empty() && !reference.trim().is_empty() => Ok(()),
        _ => err(ErrorCode::InvalidArgument, format!("handle {handle:?} must look like KIND:REF, e.g. table:4")),
    }
}

impl Book {
    /// Opens a session on a channel (default `pos`), optionally owned by a handle.
    pub fn open_session(&mut self, handle: Option<&str>, channel: Option<&str>) -> Result<SessionView> {
        if let Some(h) = handle {
            validate_handle(h)?;
        }
        let now = self.now();
        let key = Uuid::now_v7().to_string();
        let tx = db::write_tx(&mut self.conn)?;
        let ch = channel::get(&tx, channel.unwrap_or("pos"))?;
        if let Some(h) = handle {
            let holder: Option<String> = tx
                .query_row("SELECT session_key FROM sessions WHERE handle = ?1 AND state = 'open'", [h], |r| r.get(0))
                .optional()?;
            if let Some(holder) = holder {
                return err(ErrorCode::HandleInUse, format!("{h} already has open session {holder}"));
            }
        }
        tx.execute(
            "INSERT INTO sessions(session_key, channel, handle, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'open', ?4, ?4)",
            rusqlite::params![key, ch.code, handle, fmt_time(now)],
        )?;
        tx.commit()?;
        self.session(&key)
    }

    /// Adds `qty` of a product (by SKU or barcode). The price comes from the caller or the
    /// catalog as the channel's pricing policy says. Scanning the same product again raises
    /// the quantity of its line.
    pub fn add_line(&mut self, key: &str, sku: &str, qty: i64, unit_price_q: Option<i64>) -> Result<LineView> {
        if qty <= 0 {
            return err(ErrorCode::InvalidQuantity, format!("quantity must be at least 1 (got {qty})"));
        }
        if let Some(p) = unit_price_q {
            if p < 0 {
                return err(ErrorCode::InvalidPrice, format!("unit price cannot be negative (got {p})"));
            }
        }
        let now = self.now();
        let (location, ttl) = (self.settings.location.clone(), self.settings.hold_ttl_secs);
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        let ch = channel::get(&tx, &row.channel)?;
        let p = catalog::resolve(&tx, sku)?;
        if !p.active {
            return err(ErrorCode::ProductInactive, format!("{} ({}) is not for sale", p.name, p.sku));
        }
        let (price, source) = match (ch.pricing, unit_price_q) {
            (PricingPolicy::Internal, None) => {
                return err(ErrorCode::PriceRequired, format!("channel {} needs a unit price on every line", ch.code))
            }
            (PricingPolicy::External, Some(_)) => {
                return err(ErrorCode::PriceNotAllowed, format!("channel {} takes prices from the catalog only", ch.code))
            }
            (_, Some(given)) => (given, "caller"),
            (_, None) => (p.price_q, "catalog"),
        };
        let lines = load_lines(&tx, key)?;
        if p.unique {
            if qty != 1 || lines.iter().any(|l| l.sku == p.sku) {
                return err(ErrorCode::InvalidQuantity, format!("{} is one of a kind: one per session", p.name));
            }
            let state = stock::unique_state(&tx, &p, &location, now, Some(key))?;
            if state != UniqueState::Available {
                let what = if state == UniqueState::Sold { "already sold" } else { "reserved by another session" };
                return err(ErrorCode::UniqueUnavailable, format!("{} is {what}", p.name));
            }
        }
        let same = lines.iter().position(|l| {
            l.sku == p.sku && l.price_source == source && l.unit_price_q == price && l.discount_q == 0 && l.flags.is_empty()
        });
        let mut after = lines;
        let line = match same {
            Some(i) => {
                let l = &mut after[i];
                l.qty = l.qty.checked_add(qty).ok_or_else(|| Error::new(ErrorCode::InvalidQuantity, "quantity too large"))?;
                l.clone()
            }
            None => {
                after.push(LineRow {
                    line_id: format!("L{}", row.next_line),
                    sku: p.sku.clone(),
                    name: p.name.clone(),
                    unit_price_q: price,
                    price_source: source.to_string(),
                    qty,
                    discount_q: 0,
                    flags: Vec::new(),
                });
                after[after.len() - 1].clone()
            }
        };
        // Refuse amounts that do not fit before writing anything.
        line.gross_q()?;
        totals(&after, 0)?;
        if same.is_some() {
            tx.execute(
                "UPDATE session_lines SET qty = ?3 WHERE session_key = ?1 AND line_id = ?2",
                rusqlite::params![key, line.line_id, line.qty],
            )?;
        } else {
            tx.execute(
                "INSERT INTO session_lines(session_key, line_id, position, sku, name, unit_price_q, price_source, qty)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![key, line.line_id, row.next_line, p.sku, p.name, price, source, qty],
            )?;
            tx.execute("UPDATE sessions SET next_line = next_line + 1 WHERE session_key = ?1", [key])?;
        }
        stock::hold(&tx, key, &line.line_id, &p.sku, &location, line.qty, now + Duration::seconds(ttl))?;
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        line_view(&line)
    }

    /// Sets a line's quantity (at least 1; use [`Book::remove_line`] to drop it).
    pub fn set_quantity(&mut self, key: &str, line_id: &str, qty: i64) -> Result<LineView> {
        if qty <= 0 {
            return err(ErrorCode::InvalidQuantity, format!("quantity must be at least 1 (got {qty}); remove the line instead"));
        }
        self.edit_line(key, line_id, |line, edit| {
            if qty < line.qty && edit == EditPolicy::AppendOnly {
                return err(ErrorCode::EditNotAllowed, "this channel does not allow lowering a quantity");
            }
            line.qty = qty;
            Ok(())
        })
    }

    /// Sets a line's discount in minor units (0 removes it).
    pub fn set_line_discount(&mut self, key: &str, line_id: &str, discount_q: i64) -> Result<LineView> {
        self.edit_line(key, line_id, |line, _| {
            if discount_q < 0 || discount_q > line.gross_q()? {
                return err(ErrorCode::InvalidDiscount, format!("discount must be between 0 and {} (got {discount_q})", line.gross_q()?));
            }
            line.discount_q = discount_q;
            Ok(())
        })
    }

    fn edit_line(
        &mut self,
        key: &str,
        line_id: &str,
        change: impl FnOnce(&mut LineRow, EditPolicy) -> Result<()>,
    ) -> Result<LineView> {
        let now = self.now();
        let (location, ttl) = (self.settings.location.clone(), self.settings.hold_ttl_secs);
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        let ch = channel::get(&tx, &row.channel)?;
        let mut line = find_line(&load_lines(&tx, key)?, line_id, key)?;
        change(&mut line, ch.edit_policy)?;
        if line.qty != 1 && catalog::get(&tx, &line.sku)?.is_some_and(|p| p.unique) {
            return err(ErrorCode::InvalidQuantity, format!("{} is one of a kind: quantity 1 only", line.name));
        }
        line.gross_q()?;
        if line.discount_q > line.gross_q()? {
            return err(ErrorCode::InvalidDiscount, format!("line discount {} would exceed the line's amount", line.discount_q));
        }
        tx.execute(
            "UPDATE session_lines SET qty = ?3, discount_q = ?4 WHERE session_key = ?1 AND line_id = ?2",
            rusqlite::params![key, line_id, line.qty, line.discount_q],
        )?;
        stock::hold(&tx, key, line_id, &line.sku, &location, line.qty, now + Duration::seconds(ttl))?;
        totals(&load_lines(&tx, key)?, 0)?;
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        line_view(&line)
    }

    /// Removes a line and its hold.
    pub fn remove_line(&mut self, key: &str, line_id: &str) -> Result<()> {
        let now = self.now();
        let ttl = self.settings.hold_ttl_secs;
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        find_line(&load_lines(&tx, key)?, line_id, key)?;
        if channel::get(&tx, &row.channel)?.edit_policy == EditPolicy::AppendOnly {
            return err(ErrorCode::EditNotAllowed, "this channel does not allow removing lines");
        }
        tx.execute("DELETE FROM session_lines WHERE session_key = ?1 AND line_id = ?2", [key, line_id])?;
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets (or clears, with an empty text) the session's note.
    pub fn set_note(&mut self, key: &str, note: &str) -> Result<()> {
        self.edit_session(key, |tx| {
            let note = Some(note.trim()).filter(|n| !n.is_empty());
            tx.execute("UPDATE sessions SET note = ?2 WHERE session_key = ?1", rusqlite::params![key, note])?;
            Ok(())
        })
    }

    /// Sets the order-level discount in minor units (0 removes it).
    pub fn set_discount(&mut self, key: &str, discount_q: i64) -> Result<()> {
        self.edit_session(key, |tx| {
            let (subtotal, _, _) = totals(&load_lines(tx, key)?, 0)?;
            if discount_q < 0 || discount_q > subtotal {
                return err(ErrorCode::InvalidDiscount, format!("discount must be between 0 and the subtotal {subtotal} (got {discount_q})"));
            }
            tx.execute("UPDATE sessions SET discount_q = ?2 WHERE session_key = ?1", rusqlite::params![key, discount_q])?;
            Ok(())
        })
    }

    fn edit_session(&mut self, key: &str, change: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
        let now = self.now();
        let ttl = self.settings.hold_ttl_secs;
        let tx = db::write_tx(&mut self.conn)?;
        require_open(&load_row(&tx, key)?)?;
        change(&tx)?;
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        Ok(())
    }

    /// Abandons an open session and releases its holds.
    pub fn abandon_session(&mut self, key: &str) -> Result<()> {
        let now = self.now();
        let tx = db::write_tx(&mut self.conn)?;
        require_open(&load_row(&tx, key)?)?;
        stock::release_holds(&tx, key)?;
        tx.execute(
            "UPDATE sessions SET state = 'abandoned', revision = revision + 1, updated_at = ?2 WHERE session_key = ?1",
            [key, &fmt_time(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Runs the checks and records the revision they saw.
    pub fn check_session(&mut self, key: &str) -> Result<CheckResult> {
        let now = self.now();
        let location = self.settings.location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        let found = issues(&tx, &row, &load_lines(&tx, key)?, &location, now)?;
        tx.execute("UPDATE sessions SET checked_revision = revision WHERE session_key = ?1", [key])?;
        tx.commit()?;
        Ok(CheckResult {
            session_key: key.to_string(),
            revision: row.revision,
            blocking: found.iter().any(|i| i.severity == Severity::Blocking),
            issues: found,
        })
    }

    /// A session with its lines, totals and current issues.
    pub fn session(&self, key: &str) -> Result<SessionView> {
        let row = load_row(&self.conn, key)?;
        let lines = load_lines(&self.conn, key)?;
        let (subtotal, total, items) = totals(&lines, row.discount_q)?;
        let found = if row.state == "open" {
            issues(&self.conn, &row, &lines, &self.settings.location, self.now())?
        } else {
            Vec::new()
        };
        Ok(SessionView {
            session_key: row.key,
            channel: row.channel,
            handle: row.handle,
            state: row.state,
            note: row.note,
            currency: self.settings.currency.clone(),
            lines: lines.iter().map(line_view).collect::<Result<_>>()?,
            subtotal_q: subtotal,
            discount_q: row.discount_q,
            total_q: total,
            total_items: items,
            issues: found,
            revision: row.revision,
            checked_revision: row.checked_revision,
            order_ref: row.order_ref,
            created_at: parse_time(&row.created_at),
            updated_at: parse_time(&row.updated_at),
        })
    }

    /// Sessions in a state (`open` when `None`), newest first.
    pub fn sessions(&self, state: Option<&str>) -> Result<Vec<SessionSummary>> {
        let state = state.unwrap_or("open");
        if !["open", "committed", "abandoned", "all"].contains(&state) {
            return err(ErrorCode::InvalidArgument, format!("state {state:?} is not open, committed, abandoned or all"));
        }
        let mut stmt = self.conn.prepare(
            "SELECT s.session_key, s.handle, s.state, s.updated_at, s.discount_q,
                    COUNT(l.line_id), COALESCE(SUM(l.qty), 0),
                    COALESCE(SUM(l.unit_price_q * l.qty - l.discount_q), 0)
             FROM sessions s LEFT JOIN session_lines l USING (session_key)
             WHERE ?1 = 'all' OR s.state = ?1
             GROUP BY s.session_key ORDER BY s.updated_at DESC, s.session_key DESC",
        )?;
        let rows = stmt.query_map([state], |r| {
            let updated: String = r.get(3)?;
            let discount: i64 = r.get(4)?;
            let subtotal: i64 = r.get(7)?;
            Ok(SessionSummary {
                session_key: r.get(0)?,
                handle: r.get(1)?,
                state: r.get(2)?,
                lines: r.get(5)?,
                total_items: r.get(6)?,
                total_q: subtotal - discount,
                updated_at: parse_time(&updated),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn line_view(l: &LineRow) -> Result<LineView> {
    Ok(LineView {
        line_id: l.line_id.clone(),
        sku: l.sku.clone(),
        name: l.name.clone(),
        unit_price_q: l.unit_price_q,
        qty: l.qty,
        discount_q: l.discount_q,
        total_q: l.total_q()?,
        price_source: l.price_source.clone(),
        flags: l.flags.clone(),
    })
}
