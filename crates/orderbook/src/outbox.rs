//! The outbox: every change the server must hear of, written in the same transaction as the
//! change, numbered by a gapless per-terminal `seq`.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use tillbook_protocol::events::EventPayload;
use tillbook_protocol::sync::OutboxEvent;
use uuid::Uuid;

use crate::clock::{fmt_time, parse_time};
use crate::error::Result;
use crate::{db, Book};

/// Where an outbox row stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Written, not yet sent.
    Pending,
    /// Sent, not yet acknowledged.
    Sent,
    /// The server applied it.
    Applied,
    /// The server recorded it as rejected (see the reason).
    Rejected,
}

impl SyncState {
    fn parse(s: &str) -> SyncState {
        match s {
            "sent" => SyncState::Sent,
            "applied" => SyncState::Applied,
            "rejected" => SyncState::Rejected,
            _ => SyncState::Pending,
        }
    }
}

/// One outbox row as the book stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub payload_hash: String,
    pub order_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub state: SyncState,
    pub reason: Option<String>,
}

impl OutboxRow {
    /// The row as it goes on the wire.
    pub fn to_wire(&self) -> OutboxEvent {
        OutboxEvent {
            seq: self.seq as u64,
            event_id: self.event_id,
            kind: self.kind.clone(),
            payload: self.payload.clone(),
            payload_hash: self.payload_hash.clone(),
            created_at: self.created_at,
        }
    }
}

/// Takes the next outbox seq. Call inside the write transaction that inserts the row.
pub(crate) fn next_seq(conn: &Connection) -> Result<i64> {
    db::next_counter(conn, "outbox_seq")
}

/// Writes an outbox row with a seq from [`next_seq`].
pub(crate) fn insert(
    conn: &Connection,
    seq: i64,
    payload: &EventPayload,
    order_ref: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let value = payload.to_value();
    let text = tillbook_protocol::canonical_json(&value);
    let hash = tillbook_protocol::text_hash(&text);
    let event_id = Uuid::now_v7();
    conn.prepare_cached(
        "INSERT INTO outbox(seq, event_id, kind, payload, payload_hash, order_ref, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![
        seq,
        event_id.to_string(),
        payload.kind().as_str(),
        text,
        hash,
        order_ref,
        fmt_time(now)
    ])?;
    Ok(event_id)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let payload: String = r.get(3)?;
    let event_id: String = r.get(1)?;
    let created: String = r.get(6)?;
    let state: String = r.get(7)?;
    Ok(OutboxRow {
        seq: r.get(0)?,
        event_id: Uuid::parse_str(&event_id).unwrap_or_default(),
        kind: r.get(2)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        payload_hash: r.get(4)?,
        order_ref: r.get(5)?,
        created_at: parse_time(&created),
        state: SyncState::parse(&state),
        reason: r.get(8)?,
    })
}

const COLUMNS: &str = "seq, event_id, kind, payload, payload_hash, order_ref, created_at, state, reason";

/// The sync state of an order: the least advanced of its outbox rows, rejected first. Every
/// order writes an outbox row when it is committed, so an order with none left had them all
/// applied and pruned after the retention period: applied.
pub(crate) fn order_sync_state(conn: &Connection, order_ref: &str) -> Result<(SyncState, Option<String>)> {
    let mut stmt = conn.prepare_cached("SELECT state, reason FROM outbox WHERE order_ref = ?1 ORDER BY seq")?;
    let rows: Vec<(String, Option<String>)> =
        stmt.query_map([order_ref], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    if let Some((_, reason)) = rows.iter().find(|(s, _)| s == "rejected") {
        return Ok((SyncState::Rejected, reason.clone()));
    }
    for wanted in ["pending", "sent"] {
        if rows.iter().any(|(s, _)| s == wanted) {
            return Ok((SyncState::parse(wanted), None));
        }
    }
    Ok((SyncState::Applied, None))
}

/// Counts of outbox rows by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxSummary {
    pub pending: i64,
    pub sent: i64,
    pub applied: i64,
    pub rejected: i64,
    /// The highest seq ever written (the counter: pruned rows count).
    pub last_seq: i64,
}

impl Book {
    /// Outbox rows with `seq` greater than `after`, oldest first.
    pub fn outbox(&self, after: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
        let rows = stmt.query_map(rusqlite::params![after, limit as i64], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The rows the server rejected, with their reasons, newest first (at most `limit`).
    pub fn rejected_events(&self, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = 'rejected' ORDER BY seq DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many rows are in each state, and the highest seq written.
    pub fn outbox_summary(&self) -> Result<OutboxSummary> {
        let mut s = OutboxSummary::default();
        let mut stmt = self.conn.prepare_cached("SELECT state, COUNT(*) FROM outbox GROUP BY state")?;
        for r in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = r?;
            match SyncState::parse(&state) {
                SyncState::Pending => s.pending = n,
                SyncState::Sent => s.sent = n,
                SyncState::Applied => s.applied = n,
                SyncState::Rejected => s.rejected = n,
            }
        }
        s.last_seq = db::counter(&self.conn, "outbox_seq")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use tillbook_protocol::sync::{EventOutcome, EventResult, PushResponse};

    use crate::testkit::kit;
    use crate::SyncState;

    /// The rows the server rejected are listed with their reasons, newest first.
    #[test]
    fn rejected_events_are_listed_with_their_reasons() {
        let mut k = kit();
        k.enroll("T01");
        let refs: Vec<String> = (0..3).map(|_| k.sell("LATTE", 1)).collect();
        assert!(k.book.rejected_events(10).unwrap().is_empty());
        let page = k.book.push_page(10).unwrap();
        let reject = |i: usize, why: &str| EventResult {
            seq: page[i].seq,
            event_id: page[i].event_id,
            outcome: EventOutcome::Rejected,
            reason: Some(why.into()),
        };
        let answer = PushResponse {
            last_applied_seq: page.last().unwrap().seq,
            results: vec![reject(0, "unknown sku"), reject(2, "bad total")],
            gap: false,
        };
        k.book.ack_push(&answer).unwrap();
        let rejected = k.book.rejected_events(10).unwrap();
        let seen: Vec<(Option<&str>, Option<&str>, SyncState)> =
            rejected.iter().map(|r| (r.order_ref.as_deref(), r.reason.as_deref(), r.state)).collect();
        assert_eq!(
            seen,
            [(Some(refs[2].as_str()), Some("bad total"), SyncState::Rejected), (Some(refs[0].as_str()), Some("unknown sku"), SyncState::Rejected)]
        );
        assert_eq!(k.book.rejected_events(1).unwrap().len(), 1);
        assert_eq!(k.book.sync_status().unwrap().rejected, 2);
    }
}
