//! Stock: a signed-delta ledger per SKU and location, and holds that open sessions take.
//!
//! A count is a baseline at the moment it was taken, not a movement: on-hand is the latest count
//! plus the non-count deltas that occurred strictly after it (a delta stamped with the count's own
//! time came before it; between counts at the same time the greater `delta_id` is the later).
//! Without a count, on-hand is the sum of the deltas. The server applies the same rule, so a
//! count never subtracts another till's sale twice. Available is on-hand minus live holds
//! (holds whose TTL has not run out).
//!
//! A unique item is reserved while a live hold of another session here holds it, or while
//! another till's basket holds it by the server's word (pulled, `products.reserved_until`
//! after the book's clock). Putting one into a basket or taking it out writes a `unique.hold`
//! outbox row ([`report_unique_hold`]) so the other tills hear of it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::events::{EventPayload, StockAdjusted, StockDelta, StockReason, UniqueHold};
use uuid::Uuid;

use tillbook_protocol::limits::MAX_STOCK_DELTA;

use crate::catalog::{self, OversellPolicy};
use crate::clock::fmt_time;
use crate::error::{err, ErrorCode, Result};
use crate::{bounds, db, outbox, Book};

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
    /// For a count: the quantity counted (the baseline); `delta` is then informational.
    pub counted: Option<i64>,
}

/// Writes a movement to the ledger in the caller's transaction.
pub(crate) fn record(conn: &Connection, m: Movement<'_>) -> Result<StockDelta> {
    let Movement { sku, location, delta, reason, source, at, outbox_seq, counted } = m;
    let d = StockDelta {
        delta_id: Uuid::now_v7(),
        sku: sku.to_string(),
        location: location.to_string(),
        delta,
        reason,
        source: source.to_string(),
        at,
        counted,
    };
    conn.prepare_cached(
        "INSERT INTO stock_ledger(delta_id, sku, location, delta, reason, source, at, outbox_seq, counted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(rusqlite::params![
        d.delta_id.to_string(),
        d.sku,
        d.location,
        d.delta,
        reason.as_str(),
        d.source,
        fmt_time(at),
        outbox_seq,
        counted
    ])?;
    Ok(d)
}

/// On-hand from `base` and the ledger rows past local seq `after` (`None`: every row): the
/// latest count among them replaces `base`, and only deltas after that count add to it.
fn fold_ledger(conn: &Connection, sku: &str, location: &str, base: i64, after: Option<i64>) -> Result<i64> {
    // One statement: the latest count among the rows (if any), and the non-count deltas after
    // it (all of them when there is none).
    let (counted, moved): (Option<i64>, i64) = conn
        .prepare_cached(
            "WITH c AS (
                 SELECT counted, at FROM stock_ledger
                 WHERE sku = ?1 AND location = ?2 AND counted IS NOT NULL AND (?3 IS NULL OR outbox_seq > ?3)
                 ORDER BY at DESC, delta_id DESC LIMIT 1)
             SELECT (SELECT counted FROM c), COALESCE(SUM(delta), 0) FROM stock_ledger
             WHERE sku = ?1 AND location = ?2 AND counted IS NULL AND (?3 IS NULL OR outbox_seq > ?3)
               AND (NOT EXISTS (SELECT 1 FROM c) OR at > (SELECT at FROM c))",
        )?
        .query_row(rusqlite::params![sku, location, after], |r| Ok((r.get(0)?, r.get(1)?)))?;
    bounds::add(counted.unwrap_or(base), moved, "on-hand")
}

/// On-hand as this terminal sees it: the server's last snapshot plus our own deltas the
/// server had not applied yet (an own count among them is the newer baseline); before any
/// snapshot, the local ledger by the same rule.
pub(crate) fn on_hand(conn: &Connection, sku: &str, location: &str) -> Result<i64> {
    let snapshot: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT ss.on_hand, ss.as_of_seq + st.seq_base FROM server_stock ss, sync_state st
             WHERE ss.sku = ?1 AND ss.location = ?2",
        )?
        .query_row([sku, location], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match snapshot {
        None => fold_ledger(conn, sku, location, 0, None),
        Some((server, after)) => fold_ledger(conn, sku, location, server, Some(after)),
    }
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
    if product.reserved_elsewhere(now) || held(conn, &product.sku, location, now, except_session)? > 0 {
        return Ok(UniqueState::Reserved);
    }
    Ok(UniqueState::Available)
}

/// Tells the server, through the outbox and in the caller's transaction, that an open basket
/// of this till holds a unique item until `until`, or (`None`) no longer holds it.
///
/// One row per line added or removed (or basket abandoned), never per renewal: a hold that
/// later basket changes renew is reported with its first expiry, so other tills may see the
/// item free again after that time while this basket still holds it. The commit still works
/// here (its local hold is live) and the server flags a conflict if two tills sell it. The
/// `session_key` sent is the book's own session key (a UUIDv7 string), the same on every row
/// of that basket. A sale writes no release: the server ends the selling till's holds when the
/// order arrives.
pub(crate) fn report_unique_hold(
    conn: &Connection,
    sku: &str,
    session_key: &str,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let seq = outbox::next_seq(conn)?;
    let payload = EventPayload::UniqueHold(UniqueHold {
        sku: sku.to_string(),
        session_key: session_key.to_string(),
        until,
        at: now,
    });
    outbox::insert(conn, seq, &payload, None, now)?;
    Ok(())
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
        available: bounds::sub(on_hand, held, "available stock")?,
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
    /// `amount` is the counted quantity). Goes to the outbox, with the staff member acting.
    ///
    /// A count is written with `counted` = the quantity counted: a baseline at this moment, not
    /// a delta the server would add (its `delta` only says what this till believed the
    /// difference to be).
    pub fn adjust_stock(&mut self, sku: &str, amount: i64, reason: StockReason, note: &str) -> Result<StockLevel> {
        bounds::text("note", note, bounds::MAX_TEXT, true)?;
        bounds::stock(amount)?;
        let now = self.now();
        let location = self.settings().location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let p = catalog::resolve(&tx, sku)?;
        let (delta, counted) = match reason {
            StockReason::Count => {
                if amount < 0 {
                    return err(ErrorCode::InvalidQuantity, format!("a count cannot be negative ({amount})"));
                }
                let believed = amount.saturating_sub(on_hand(&tx, &p.sku, &location)?);
                (believed.clamp(-MAX_STOCK_DELTA, MAX_STOCK_DELTA), Some(amount))
            }
            StockReason::Receiving | StockReason::Adjustment => {
                if amount == 0 {
                    return err(ErrorCode::InvalidQuantity, "an adjustment of 0 changes nothing");
                }
                (amount, None)
            }
            other => {
                return err(
                    ErrorCode::InvalidArgument,
                    format!("reason {} is written by orders, not by hand (use receiving, adjustment or count)", other.as_str()),
                )
            }
        };
        let seq = outbox::next_seq(&tx)?;
        let source: String = if note.trim().is_empty() {
            reason.as_str().to_string()
        } else {
            note.trim().chars().take(bounds::MAX_CODE).collect()
        };
        let m = Movement { sku: &p.sku, location: &location, delta, reason, source: &source, at: now, outbox_seq: Some(seq), counted };
        let d = record(&tx, m)?;
        let staff_id = Some(crate::staff::who(&tx)?.staff_id);
        let payload = EventPayload::StockAdjusted(StockAdjusted { note: note.to_string(), stock_deltas: vec![d], staff_id });
        outbox::insert(&tx, seq, &payload, None, now)?;
        let lvl = level(&tx, &p, &location, now)?;
        tx.commit()?;
        Ok(lvl)
    }
}

#[cfg(test)]
mod tests {
    use tillbook_protocol::events::{EventPayload, EventKind, StockReason};

    use crate::testkit::{answer, kit, level, page, Kit};

    fn last_delta(k: &Kit) -> tillbook_protocol::events::StockDelta {
        let row = k.book.outbox(0, 1000).unwrap().pop().unwrap();
        let p = EventPayload::from_value(EventKind::parse(&row.kind).unwrap(), row.payload).unwrap();
        p.stock_deltas()[0].clone()
    }

    #[test]
    fn a_count_is_a_baseline_in_the_local_ledger() {
        let mut k = kit();
        k.book.adjust_stock("LATTE", 10, StockReason::Receiving, "delivery").unwrap();
        k.tick();
        k.sell("LATTE", 2);
        k.tick();
        let lvl = k.book.adjust_stock("LATTE", 5, StockReason::Count, "shelf").unwrap();
        assert_eq!(lvl.on_hand, 5);
        let d = last_delta(&k);
        assert_eq!((d.reason, d.counted, d.delta), (StockReason::Count, Some(5), -3), "a baseline, the delta only informs");
        // A delta stamped with the count's own time came before it.
        assert_eq!(k.book.adjust_stock("LATTE", -1, StockReason::Adjustment, "").unwrap().on_hand, 5);
        k.tick();
        assert_eq!(k.book.adjust_stock("LATTE", -1, StockReason::Adjustment, "").unwrap().on_hand, 4);
        k.sell("LATTE", 1);
        assert_eq!(k.on_hand("LATTE"), 3);
        // Two counts at the same time: the later written (greater delta_id) wins.
        k.tick();
        k.book.adjust_stock("LATTE", 7, StockReason::Count, "").unwrap();
        assert_eq!(k.book.adjust_stock("LATTE", 6, StockReason::Count, "").unwrap().on_hand, 6);
        // Bounds.
        use tillbook_protocol::limits::MAX_STOCK_DELTA;
        let e = k.book.adjust_stock("LATTE", MAX_STOCK_DELTA + 1, StockReason::Receiving, "").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidQuantity);
        let e = k.book.adjust_stock("LATTE", -1, StockReason::Count, "").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidQuantity);
        let e = k.book.adjust_stock("LATTE", 1, StockReason::Receiving, "a\0b").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
    }

    /// The server's snapshot arrives before the count: the count, newer and not yet
    /// acknowledged, is the baseline; once the server has it, its levels count again.
    #[test]
    fn a_count_after_the_snapshot_replaces_it() {
        let mut k = kit();
        k.enroll("T01");
        k.book.apply_pull(&page(vec![level("LATTE", 10)], 0)).unwrap();
        assert_eq!(k.on_hand("LATTE"), 10);
        k.tick();
        k.book.adjust_stock("LATTE", 7, StockReason::Count, "").unwrap();
        assert_eq!(k.on_hand("LATTE"), 7);
        k.tick();
        k.sell("LATTE", 1);
        assert_eq!(k.on_hand("LATTE"), 6);
        // A snapshot the server read before it had our count (another till sold 2): our own
        // count is still the newer baseline.
        k.book.apply_pull(&page(vec![level("LATTE", 8)], 0)).unwrap();
        assert_eq!(k.on_hand("LATTE"), 6);
        // The server applies both rows and answers with its level: count 7, our sale, and
        // the other till's sale made after our count.
        k.book.push_page(10).unwrap();
        k.book.ack_push(&answer(2, false)).unwrap();
        k.book.apply_pull(&page(vec![level("LATTE", 5)], 2)).unwrap();
        assert_eq!(k.on_hand("LATTE"), 5);
    }

    /// The count is taken before the snapshot that carries the other till's sale arrives.
    #[test]
    fn a_count_before_the_snapshot_stays_the_baseline_until_the_server_has_it() {
        let mut k = kit();
        k.enroll("T01");
        k.book.adjust_stock("LATTE", 7, StockReason::Count, "").unwrap();
        assert_eq!(k.on_hand("LATTE"), 7);
        k.book.apply_pull(&page(vec![level("LATTE", 3)], 0)).unwrap();
        assert_eq!(k.on_hand("LATTE"), 7, "the server's level does not know our count yet");
        k.tick();
        k.sell("LATTE", 2);
        assert_eq!(k.on_hand("LATTE"), 5);
        k.book.push_page(10).unwrap();
        k.book.ack_push(&answer(1, false)).unwrap();
        // Acknowledged: the server's level (count 7, nothing after it yet) plus our unsent sale.
        k.book.apply_pull(&page(vec![level("LATTE", 7)], 1)).unwrap();
        assert_eq!(k.on_hand("LATTE"), 5);
        k.book.ack_push(&answer(2, false)).unwrap();
        k.book.apply_pull(&page(vec![level("LATTE", 5)], 2)).unwrap();
        assert_eq!(k.on_hand("LATTE"), 5);
    }
}
