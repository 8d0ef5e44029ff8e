//! The terminal's side of sync, as state in the book: enrolment, what to push next, what the
//! server acknowledged, and applying what was pulled. No network here: the sync client
//! (`tillbook-sync`) moves these values over HTTP.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use tillbook_protocol::sync::{Change, EventOutcome, OutboxEvent, PullResponse, PushResponse};
use uuid::Uuid;

use crate::clock::{fmt_time, parse_time};
use crate::error::{err, ErrorCode, Result};
use crate::{catalog, channel, db, session, Book};

/// Where this terminal is enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    pub server_url: String,
    pub terminal_id: Uuid,
    pub terminal_name: String,
    #[serde(skip_serializing)]
    pub token: String,
}

/// What `sync status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub server_url: Option<String>,
    pub terminal_id: Uuid,
    /// Outbox rows the server has not acknowledged yet.
    pub pending: i64,
    pub rejected: i64,
    /// Highest local outbox seq, and the highest the server acknowledged.
    pub last_seq: i64,
    pub acked_seq: i64,
    /// Local seq that wire seq 0 stands for (moves at each enrolment).
    pub seq_base: i64,
    pub pull_cursor: Option<i64>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Set when the terminal must be enrolled again before it syncs.
    pub halted: Option<String>,
}

/// What acknowledging a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushAck {
    pub acknowledged: i64,
    pub rejected: i64,
    /// True when the server reported a gap: the next push starts where it said.
    pub gap: bool,
}

struct State {
    server_url: Option<String>,
    token: Option<String>,
    terminal_name: Option<String>,
    seq_base: i64,
    acked_seq: i64,
    pull_cursor: Option<i64>,
    last_success_at: Option<String>,
    last_error: Option<String>,
    last_error_at: Option<String>,
    halted: Option<String>,
}

fn state(conn: &Connection) -> Result<State> {
    Ok(conn.query_row(
        "SELECT server_url, token, terminal_name, seq_base, acked_seq, pull_cursor, last_success_at,
                last_error, last_error_at, halted FROM sync_state WHERE id = 1",
        [],
        |r| {
            Ok(State {
                server_url: r.get(0)?,
                token: r.get(1)?,
                terminal_name: r.get(2)?,
                seq_base: r.get(3)?,
                acked_seq: r.get(4)?,
                pull_cursor: r.get(5)?,
                last_success_at: r.get(6)?,
                last_error: r.get(7)?,
                last_error_at: r.get(8)?,
                halted: r.get(9)?,
            })
        },
    )?)
}

fn last_seq(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM outbox", [], |r| r.get(0))?)
}

fn halt(conn: &Connection, why: &str) -> Result<()> {
    conn.execute("UPDATE sync_state SET halted = ?1 WHERE id = 1", [why])?;
    Ok(())
}

fn check_not_ahead(conn: &Connection, s: &State, server_seq: u64) -> Result<Option<String>> {
    let ours = last_seq(conn)? - s.seq_base;
    if server_seq as i64 > ours {
        let why = format!(
            "the server has applied seq {server_seq} from this terminal but this book only holds {ours}: \
             it was restored or copied. Enrol it again with a new code (`tillbook enroll`)"
        );
        halt(conn, &why)?;
        return Ok(Some(why));
    }
    Ok(None)
}

impl Book {
    /// Records a successful enrolment. The server's terminal id becomes this book's; rows
    /// already acknowledged under an earlier enrolment are not sent again, and the next pull
    /// takes a full snapshot.
    pub fn enroll(&mut self, server_url: &str, terminal_id: Uuid, terminal_name: &str, token: &str) -> Result<Enrollment> {
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        db::meta_set(&tx, "terminal_id", &terminal_id.to_string())?;
        tx.execute(
            "UPDATE sync_state SET server_url = ?1, token = ?2, terminal_name = ?3, seq_base = ?4,
                 pull_cursor = NULL, halted = NULL, last_error = NULL, last_error_at = NULL WHERE id = 1",
            rusqlite::params![server_url, token, terminal_name, s.acked_seq],
        )?;
        tx.execute("DELETE FROM server_stock", [])?;
        tx.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sent'", [])?;
        tx.commit()?;
        self.settings.terminal_id = terminal_id;
        Ok(Enrollment {
            server_url: server_url.to_string(),
            terminal_id,
            terminal_name: terminal_name.to_string(),
            token: token.to_string(),
        })
    }

    /// The enrolment, or `not_enrolled`; `reenroll_required` when syncing was halted.
    pub fn enrollment(&self) -> Result<Enrollment> {
        let s = state(&self.conn)?;
        if let Some(why) = s.halted {
            return err(ErrorCode::ReenrollRequired, why);
        }
        match (s.server_url, s.token) {
            (Some(server_url), Some(token)) => Ok(Enrollment {
                server_url,
                terminal_id: self.settings.terminal_id,
                terminal_name: s.terminal_name.unwrap_or_default(),
                token,
            }),
            _ => err(ErrorCode::NotEnrolled, "this terminal is not enrolled: run `tillbook enroll --server URL --code CODE`"),
        }
    }

    /// The next page of unacknowledged outbox rows, with wire seqs.
    pub fn push_page(&mut self, limit: usize) -> Result<Vec<OutboxEvent>> {
        let s = state(&self.conn)?;
        let rows = self.outbox(s.acked_seq.max(s.seq_base), limit)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let tx = db::write_tx(&mut self.conn)?;
        tx.execute(
            "UPDATE outbox SET state = 'sent' WHERE state = 'pending' AND seq BETWEEN ?1 AND ?2",
            [rows[0].seq, rows[rows.len() - 1].seq],
        )?;
        tx.commit()?;
        Ok(rows
            .iter()
            .map(|r| {
                let mut e = r.to_wire();
                e.seq = (r.seq - s.seq_base) as u64;
                e
            })
            .collect())
    }

    /// Applies a push answer: rows up to the server's `last_applied_seq` are acknowledged
    /// (applied or rejected with the server's reason), never further.
    pub fn ack_push(&mut self, answer: &PushResponse) -> Result<PushAck> {
        let now = self.now();
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        if let Some(why) = check_not_ahead(&tx, &s, answer.last_applied_seq)? {
            tx.commit()?;
            return err(ErrorCode::ReenrollRequired, why);
        }
        let upto = s.seq_base + answer.last_applied_seq as i64;
        let mut ack = PushAck { gap: answer.gap, ..PushAck::default() };
        if upto > s.acked_seq {
            for r in &answer.results {
                let local = s.seq_base + r.seq as i64;
                if r.outcome == EventOutcome::Rejected && local <= upto {
                    tx.execute(
                        "UPDATE outbox SET state = 'rejected', reason = ?2, acked_at = ?3 WHERE seq = ?1",
                        rusqlite::params![local, r.reason.as_deref().unwrap_or("rejected"), fmt_time(now)],
                    )?;
                    ack.rejected += 1;
                }
            }
            ack.acknowledged = tx.execute(
                "UPDATE outbox SET state = 'applied', acked_at = ?3 WHERE seq > ?1 AND seq <= ?2 AND state <> 'rejected'",
                rusqlite::params![s.acked_seq, upto, fmt_time(now)],
            )? as i64
                + ack.rejected;
            tx.execute("UPDATE sync_state SET acked_seq = ?1 WHERE id = 1", [upto])?;
        }
        if answer.gap {
            // Rows past the server's cursor go back to pending: they are sent again as they are.
            tx.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sent' AND seq > ?1", [upto])?;
        }
        tx.commit()?;
        Ok(ack)
    }

    /// The change-log cursor to pull from (`None`: take a full snapshot).
    pub fn pull_cursor(&self) -> Result<Option<u64>> {
        Ok(state(&self.conn)?.pull_cursor.map(|c| c as u64))
    }

    /// Applies a pulled page and stores its cursor, in one transaction.
    pub fn apply_pull(&mut self, page: &PullResponse) -> Result<()> {
        let now = self.now();
        let currency = self.settings.currency.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        if let Some(why) = check_not_ahead(&tx, &s, page.last_applied_seq)? {
            tx.commit()?;
            return err(ErrorCode::ReenrollRequired, why);
        }
        if page.reset {
            tx.execute("DELETE FROM server_stock", [])?;
        }
        let mut products = Vec::new();
        for change in &page.changes {
            match change {
                Change::Product { product, .. } => products.push(product.clone()),
                Change::StockLevel { sku, location, on_hand, .. } => {
                    tx.execute(
                        "INSERT INTO server_stock(sku, location, on_hand, as_of_seq) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(sku, location) DO UPDATE SET on_hand = excluded.on_hand, as_of_seq = excluded.as_of_seq",
                        rusqlite::params![sku, location, on_hand, page.last_applied_seq as i64],
                    )?;
                }
                Change::Channel { channel: ch, .. } => channel::upsert(&tx, ch)?,
            }
        }
        // A level in this page was read with the seq the server reported. Once the last page is
        // in, every level the server changed since the cursor has arrived, so the rest are
        // current as of that seq too; before that, they keep the seq they were read with.
        if !page.has_more {
            tx.execute("UPDATE server_stock SET as_of_seq = ?1", [page.last_applied_seq as i64])?;
        }
        if !products.is_empty() {
            let changed = catalog::upsert(&tx, &products, &currency, &fmt_time(now))?;
            session::on_catalog_change(&tx, &changed, now)?;
        }
        tx.execute("UPDATE sync_state SET pull_cursor = ?1 WHERE id = 1", [page.cursor as i64])?;
        tx.commit()?;
        Ok(())
    }

    /// Records the outcome of a sync round.
    pub fn record_sync_result(&mut self, error: Option<&str>) -> Result<()> {
        let now = fmt_time(self.now());
        let tx = db::write_tx(&mut self.conn)?;
        match error {
            None => tx.execute("UPDATE sync_state SET last_success_at = ?1, last_error = NULL WHERE id = 1", [now])?,
            Some(e) => tx.execute("UPDATE sync_state SET last_error = ?1, last_error_at = ?2 WHERE id = 1", [e, &now])?,
        };
        tx.commit()?;
        Ok(())
    }

    /// Queue length, last success and last error.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let s = state(&self.conn)?;
        let last = last_seq(&self.conn)?;
        let rejected: i64 = self.conn.query_row("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'", [], |r| r.get(0))?;
        let acked = s.acked_seq.max(s.seq_base);
        Ok(SyncStatus {
            enrolled: s.server_url.is_some() && s.token.is_some(),
            server_url: s.server_url,
            terminal_id: self.settings.terminal_id,
            pending: last - acked,
            rejected,
            last_seq: last,
            acked_seq: acked,
            seq_base: s.seq_base,
            pull_cursor: s.pull_cursor,
            last_success_at: s.last_success_at.as_deref().map(parse_time),
            last_error: s.last_error,
            last_error_at: s.last_error_at.as_deref().map(parse_time),
            halted: s.halted,
        })
    }
}

