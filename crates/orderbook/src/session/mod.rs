//! Sessions: the open basket (tab, draft order) a cashier builds before committing.
//!
//! A session is keyed by a session key, optionally owned by a handle (`table:4`), and is
//! `open` until it is committed or abandoned. Every change bumps its revision, renews its
//! stock holds and is one transaction. Lines have stable ids (`L1`, `L2`…).
//!
//! `edit` holds the operations that change a session, `scan` what a barcode scanner sends
//! (`CODE`, `N*CODE`), `checks` the issues and re-pricing.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::clock::{fmt_time, parse_time};
use crate::error::{err, Error, ErrorCode, Result};
use crate::{bounds, stock, Book};

mod checks;
mod edit;
mod scan;

pub(crate) use checks::{issues, on_catalog_change};
pub use scan::{parse_scan, Scan};

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
    /// The tax the basket would carry if committed now (inside `total_q` with inclusive prices,
    /// added to it with exclusive ones).
    pub tax_q: i64,
    /// What the customer would pay.
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
    /// Who allowed a large order discount while the basket was built, and the revision right
    /// after (the approval holds at commit only if nothing changed since).
    pub discount_approved_by: Option<String>,
    pub discount_approved_rev: Option<i64>,
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
        bounds::sub(self.gross_q()?, self.discount_q, &format!("line {}", self.line_id))
    }
}

pub(crate) fn load_row(conn: &Connection, key: &str) -> Result<SessionRow> {
    conn.prepare_cached(
        "SELECT session_key, channel, handle, state, note, discount_q, revision, checked_revision,
                next_line, created_at, updated_at, order_ref, discount_approved_by, discount_approved_rev
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
            discount_approved_by: r.get(12)?,
            discount_approved_rev: r.get(13)?,
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
    Ok((subtotal, subtotal.checked_sub(discount_q).ok_or_else(overflow)?, items))
}

/// Records a change: bumps the revision and renews the session's holds.
fn touch(conn: &Connection, key: &str, now: DateTime<Utc>, ttl: i64) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET revision = revision + 1, updated_at = ?2 WHERE session_key = ?1")?
        .execute([key, &fmt_time(now)])?;
    stock::renew_holds(conn, key, now + Duration::seconds(ttl))
}

fn validate_handle(handle: &str) -> Result<()> {
    bounds::text("handle", handle, bounds::MAX_CODE, false)?;
    match handle.split_once(':') {
        Some((kind, reference)) if !kind.trim().is_empty() && !reference.trim().is_empty() => Ok(()),
        _ => err(ErrorCode::InvalidArgument, format!("handle {handle:?} must look like KIND:REF, e.g. table:4")),
    }
}

impl Book {
    /// A session with its lines, totals and current issues.
    pub fn session(&self, key: &str) -> Result<SessionView> {
        let row = load_row(&self.conn, key)?;
        let lines = load_lines(&self.conn, key)?;
        let (subtotal, _, items) = totals(&lines, row.discount_q)?;
        // A discount beyond what it applies to is a blocking issue (see checks); the preview
        // of the taxes counts it only up to that amount.
        let line_totals = lines.iter().map(|l| Ok((l.sku.as_str(), l.total_q()?.max(0)))).collect::<Result<Vec<_>>>()?;
        let positive = line_totals.iter().try_fold(0i64, |a, l| a.checked_add(l.1));
        let discount = row.discount_q.min(positive.unwrap_or(i64::MAX));
        let (taxed, _) = crate::tax::of_lines(&self.conn, &self.settings, line_totals, discount)?;
        let total = taxed.total_q;
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
            tax_q: taxed.tax_q,
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
            let summary = SessionSummary {
                session_key: r.get(0)?,
                handle: r.get(1)?,
                state: r.get(2)?,
                lines: r.get(5)?,
                total_items: r.get(6)?,
                total_q: 0,
                updated_at: parse_time(&updated),
            };
            Ok((summary, subtotal, discount))
        })?;
        rows.map(|row| {
            let (mut summary, subtotal, discount) = row?;
            summary.total_q = bounds::sub(subtotal, discount, "the session total")?;
            Ok(summary)
        })
        .collect()
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
