//! Stock: a signed-delta ledger per SKU and location, and holds that open sessions take.
//!
//! On-hand is the sum of the ledger. Available is on-hand minus live holds (holds whose TTL
//! has not run out). A count is written as the delta that brings on-hand to the counted value,
//! so on-hand stays exactly the sum of deltas.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::events::{EventPayload, StockAdjusted, StockDelta, StockReason};
use uuid::Uuid;

use crate::catalog::{self, OversellPolicy};
use crate::clock::fmt_time;
use crate::error::{err, ErrorCode, Result};
use crate::{db, outbox, Book};

/// Where a unique (one-of-a-kind) item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UniqueState {
    Available,
    Reserved,
    Sold,
}

/// One SKU's stock at the terminal's location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLevel {
    pub sku: String,
    pub name: String,
    pub location: String,
    pub on_hand: i64,
    pub held: i64,
    pub available: i64,
    pub oversell: OversellPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_state: Option<UniqueState>,
}

/// A movement to write to the ledger.
pub(crate) struct Movement<'a> {
    pub sku: &'a str,
    pub location: &'a str,
    pub delta: i64,
    pub reason: StockReason,
    /// What caused it: an order reference, a note.
    pub source: &'a str,
    pub at: DateTime<Utc>,
    /// The outbox row that carries it to the server; `None` for local-only stock (the demo's).
    pub outbox_seq: Option<i64>,
}

/// Writes a movement to the ledger in the caller's transaction.
pub(crate) fn record(conn: &Connection, m: Movement<'_>) -> Result<StockDelta> {
    let Movement { sku, location, delta, reason, source, at, outbox_seq } = m;
    let d = StockDelta {
        delta_id: Uuid::now_v7(),
        sku: sku.to_string(),
        location: location.to_string(),
        delta,
        reason,
        source: source.to_string(),
        at,
    };
    conn.prepare_cached(
        "INSERT INTO stock_ledger(delta_id, sku, location, delta, reason, source, at, outbox_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        d.delta_id.to_string(),
        d.sku,
        d.location,
        d.delta,
        reason.as_str(),
        d.source,
        fmt_time(at),
        outbox_seq
    ])?;
    Ok(d)
}

/// On-hand as this terminal sees it: the server's last snapshot plus our own deltas the
/// server had not applied yet; before any snapshot, the sum of the local ledger.
pub(crate) fn on_hand(conn: &Connection, sku: &str, location: &str) -> Result<i64> {
    let snapshot: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT ss.on_hand, ss.as_of_seq + st.seq_base FROM server_stock ss, sync_state st
             WHERE ss.sku = ?1 AND ss.location = ?2",
        )?
        .query_row([sku, location], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match snapshot {
        None => conn
            .prepare_cached("SELECT COALESCE(SUM(delta), 0) FROM stock_ledger WHERE sku = ?1 AND location = ?2")?
            .query_row([sku, location], |r| r.get(0))?,
        Some((server, after)) => {
            let own: i64 = conn
                .prepare_cached(
                    "SELECT COALESCE(SUM(delta), 0) FROM stock_ledger
                     WHERE sku = ?1 AND location = ?2 AND outbox_seq > ?3",
                )?
                .query_row(rusqlite::params![sku, location, after], |r| r.get(0))?;
            server + own
        }
    })
}

/// Quantity held by live holds on a SKU, leaving out one session's own holds if asked.
pub(crate) fn held(
    conn: &Connection,
    sku: &str,
    location: &str,
    now: DateTime<Utc>,
    except_session: Option<&str>,
) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(SUM(qty), 0) FROM stock_holds
             WHERE sku = ?1 AND location = ?2 AND expires_at > ?3
               AND (?4 IS NULL OR session_key <> ?4)",
        )?
        .query_row(rusqlite::params![sku, location, fmt_time(now), except_session], |r| r.get(0))?)
}

/// Sets (or replaces) the hold of one session line.
pub(crate) fn hold(
    conn: &Connection,
    session_key: &str,
    line_id: &str,
    sku: &str,
    location: &str,
    qty: i64,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO stock_holds(session_key, line_id, sku, location, qty, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(session_key, line_id) DO UPDATE SET qty = excluded.qty, expires_at = excluded.expires_at",
    )?
    .execute(rusqlite::params![session_key, line_id, sku, location, qty, fmt_time(expires_at)])?;
    Ok(())
}

/// Moves every hold of a session to a new expiry (the session was touched).
pub(crate) fn renew_holds(conn: &Connection, session_key: &str, expires_at: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE stock_holds SET expires_at = ?2 WHERE session_key = ?1")?
        .execute([session_key, &fmt_time(expires_at)])?;
    Ok(())
}

pub(crate) fn release_holds(conn: &Connection, session_key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM stock_holds WHERE session_key = ?1")?.execute([session_key])?;
    Ok(())
}

/// A session's holds that have run out.
pub(crate) fn expired_holds(conn: &Connection, session_key: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT line_id FROM stock_holds WHERE session_key = ?1 AND expires_at <= ?2 ORDER BY line_id",
    )?;
    let rows = stmt.query_map([session_key, &fmt_time(now)], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn unique_state(
    conn: &Connection,
    product: &catalog::Product,
    location: &str,
    now: DateTime<Utc>,
    except_session: Option<&str>,
) -> Result<UniqueState> {
    if product.sold_by.is_some() {
        return Ok(UniqueState::Sold);
    }
    if held(conn, &product.sku, location, now, except_session)? > 0 {
        return Ok(UniqueState::Reserved);
    }
    Ok(UniqueState::Available)
}

pub(crate) fn level(conn: &Connection, p: &catalog::Product, location: &str, now: DateTime<Utc>) -> Result<StockLevel> {
    let on_hand = on_hand(conn, &p.sku, location)?;
    let held = held(conn, &p.sku, location, now, None)?;
    Ok(StockLevel {
        sku: p.sku.clone(),
        name: p.name.clone(),
        location: location.to_string(),
        on_hand,
        held,
        available: on_hand - held,
        oversell: p.oversell,
        unique_state: if p.unique { Some(unique_state(conn, p, location, now, None)?) } else { None },
    })
}

impl Book {
    /// Stock of one SKU, or of every product.
    pub fn stock(&self, sku: Option<&str>) -> Result<Vec<StockLevel>> {
        let now = self.now();
        let location = self.settings().location.clone();
        let products = match sku {
            Some(s) => vec![catalog::resolve(&self.conn, s)?],
            None => catalog::list(&self.conn, None)?,
        };
        products.iter().map(|p| level(&self.conn, p, &location, now)).collect()
    }

    /// Records a receiving or adjustment (`delta` ≠ 0), or a count (`reason` = count:
    /// `amount` is the counted quantity). Goes to the outbox.
    pub fn adjust_stock(&mut self, sku: &str, amount: i64, reason: StockReason, note: &str) -> Result<StockLevel> {
        let now = self.now();
        let location = self.settings().location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let p = catalog::resolve(&tx, sku)?;
        let delta = match reason {
            StockReason::Count => {
                if amount < 0 {
                    return err(ErrorCode::InvalidQuantity, format!("a count cannot be negative ({amount})"));
                }
                amount - on_hand(&tx, &p.sku, &location)?
            }
            StockReason::Receiving | StockReason::Adjustment => {
                if amount == 0 {
                    return err(ErrorCode::InvalidQuantity, "an adjustment of 0 changes nothing");
                }
                amount
            }
            other => {
                return err(
                    ErrorCode::InvalidArgument,
                    format!("reason {} is written by orders, not by hand (use receiving, adjustment or count)", other.as_str()),
                )
            }
        };
        let seq = outbox::next_seq(&tx)?;
        let source = if note.trim().is_empty() { reason.as_str().to_string() } else { note.to_string() };
        let d = record(
            &tx,
            Movement { sku: &p.sku, location: &location, delta, reason, source: &source, at: now, outbox_seq: Some(seq) },
        )?;
        let payload = EventPayload::StockAdjusted(StockAdjusted { note: note.to_string(), stock_deltas: vec![d] });
        outbox::insert(&tx, seq, &payload, None, now)?;
        let lvl = level(&tx, &p, &location, now)?;
        tx.commit()?;
        Ok(lvl)
    }
}
