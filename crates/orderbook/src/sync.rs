//! The terminal's side of sync, as state in the book: enrolment, the halt that asks for a new
//! enrolment, and what `sync status` shows. Pushing lives in `push`, pulling in `pull`. No
//! network here: the sync client (`tillbook-sync`) moves these values over HTTP.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use tillbook_protocol::sync::{EnrollResponse, PullCursor};
use uuid::Uuid;

use crate::clock::{fmt_time, parse_time};
use crate::error::{err, ErrorCode, Result};
use crate::{bounds, db, settings, Book};

pub use crate::push::PushAck;

/// Where this terminal is enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    pub server_url: String,
    pub terminal_id: Uuid,
    pub terminal_name: String,
    /// The store's code and name (`None` for a book enrolled before stores existed).
    pub store: Option<String>,
    pub store_name: Option<String>,
    /// The code in this terminal's order references.
    pub terminal_code: String,
    #[serde(skip_serializing)]
    pub token: String,
}

/// What `sync status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub server_url: Option<String>,
    pub terminal_id: Uuid,
    /// The store this terminal is enrolled in, and its code in order references.
    pub store: Option<String>,
    pub terminal_code: String,
    /// Outbox rows the server has not acknowledged yet.
    pub pending: i64,
    pub rejected: i64,
    /// Highest local outbox seq written (from the seq counter), and the highest the server
    /// acknowledged.
    pub last_seq: i64,
    pub acked_seq: i64,
    /// Local seq that wire seq 0 stands for (moves at each enrolment).
    pub seq_base: i64,
    /// The two change-log cursors; `None` until the first full snapshot is in.
    pub pull_cursor: Option<PullCursor>,
    /// Days acknowledged outbox rows are kept.
    pub retention_days: i64,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Why syncing stopped until the terminal is enrolled again.
    pub halted: Option<String>,
    /// True when `halted`: run `tillbook enroll` with a new code.
    pub reenroll_required: bool,
}

pub(crate) struct State {
    pub server_url: Option<String>,
    pub token: Option<String>,
    pub terminal_name: Option<String>,
    pub seq_base: i64,
    pub acked_seq: i64,
    pub pull_cursor: Option<i64>,
    pub pull_cursor_store: Option<i64>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub halted: Option<String>,
}

pub(crate) fn state(conn: &Connection) -> Result<State> {
    Ok(conn.query_row(
        "SELECT server_url, token, terminal_name, seq_base, acked_seq, pull_cursor, last_success_at,
                last_error, last_error_at, halted, pull_cursor_store FROM sync_state WHERE id = 1",
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
                pull_cursor_store: r.get(10)?,
            })
        },
    )?)
}

/// The highest outbox seq ever written: the counter, never `MAX(seq)` of a pruned table.
pub(crate) fn last_seq(conn: &Connection) -> Result<i64> {
    db::counter(conn, "outbox_seq")
}

/// Stops syncing until the terminal is enrolled again (kept in the book).
pub(crate) fn halt(conn: &Connection, why: &str) -> Result<()> {
    conn.execute("UPDATE sync_state SET halted = ?1 WHERE id = 1", [why])?;
    Ok(())
}

/// Halts when the server has applied more of this terminal than the book holds: the book was
/// restored or copied.
pub(crate) fn check_not_ahead(conn: &Connection, s: &State, server_seq: u64) -> Result<Option<String>> {
    let ours = last_seq(conn)? - s.seq_base;
    if i64::try_from(server_seq).map_or(true, |v| v > ours) {
        let why = format!(
            "the server has applied seq {server_seq} from this terminal but this book only holds {ours}: \
             it was restored or copied. Enrol it again with a new code (`tillbook enroll`)"
        );
        halt(conn, &why)?;
        return Ok(Some(why));
    }
    Ok(None)
}

/// The server's wire seq as a local seq.
pub(crate) fn local_seq(s: &State, wire: u64) -> Result<i64> {
    i64::try_from(wire)
        .ok()
        .and_then(|w| w.checked_add(s.seq_base))
        .ok_or_else(|| crate::Error::new(ErrorCode::SyncRejected, format!("the server sent an impossible seq {wire}")))
}

impl Book {
    /// Records a successful enrolment: the server's terminal id, store and terminal code become
    /// this book's (orders rung up before keep their references; new ones use the new code).
    /// Rows already acknowledged under an earlier enrolment are not sent again, unsent ones go
    /// under the new identity, a halt is cleared, and the next pull takes a full snapshot.
    pub fn enroll(&mut self, server_url: &str, resp: &EnrollResponse) -> Result<Enrollment> {
        settings::validate_terminal_code(&resp.terminal_code)?;
        bounds::text("store", &resp.store, bounds::MAX_CODE, false)?;
        bounds::text("store name", &resp.store_name, bounds::MAX_TEXT, true)?;
        bounds::text("terminal name", &resp.name, bounds::MAX_TEXT, true)?;
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        db::meta_set(&tx, "terminal_id", &resp.terminal_id.to_string())?;
        db::meta_set(&tx, "terminal_code", &resp.terminal_code)?;
        db::meta_set(&tx, "store", &resp.store)?;
        db::meta_set(&tx, "store_name", &resp.store_name)?;
        tx.execute(
            "UPDATE sync_state SET server_url = ?1, token = ?2, terminal_name = ?3, seq_base = ?4,
                 pull_cursor = NULL, pull_cursor_store = NULL, halted = NULL, last_error = NULL,
                 last_error_at = NULL WHERE id = 1",
            rusqlite::params![server_url, resp.token, resp.name, s.acked_seq.max(s.seq_base)],
        )?;
        tx.execute("DELETE FROM server_stock", [])?;
        tx.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sent'", [])?;
        let fresh = settings::read(&tx)?;
        tx.commit()?;
        self.settings = fresh;
        self.enrollment()
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
                store: self.settings.store.clone(),
                store_name: self.settings.store_name.clone(),
                terminal_code: self.settings.terminal_code.clone(),
                token,
            }),
            _ => err(ErrorCode::NotEnrolled, "this terminal is not enrolled: run `tillbook enroll --server URL --code CODE`"),
        }
    }

    /// Stops syncing under this identity until the terminal is enrolled again (for an answer
    /// only the sync client sees, such as a 422 `payload_mismatch`). Kept in the book.
    pub fn halt_sync(&mut self, why: &str) -> Result<()> {
        let tx = db::write_tx(&mut self.conn)?;
        halt(&tx, why)?;
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

    /// Queue length, last success and last error, and whether syncing stopped.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let s = state(&self.conn)?;
        let last = last_seq(&self.conn)?;
        let rejected: i64 = self.conn.query_row("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'", [], |r| r.get(0))?;
        let acked = s.acked_seq.max(s.seq_base);
        let pull_cursor = match (s.pull_cursor, s.pull_cursor_store) {
            (Some(chain), Some(store)) => Some(PullCursor { chain: chain as u64, store: store as u64 }),
            _ => None,
        };
        Ok(SyncStatus {
            enrolled: s.server_url.is_some() && s.token.is_some(),
            server_url: s.server_url,
            terminal_id: self.settings.terminal_id,
            store: self.settings.store.clone(),
            terminal_code: self.settings.terminal_code.clone(),
            pending: last - acked,
            rejected,
            last_seq: last,
            acked_seq: acked,
            seq_base: s.seq_base,
            pull_cursor,
            retention_days: settings::read(&self.conn)?.outbox_retention_days,
            last_success_at: s.last_success_at.as_deref().map(parse_time),
            last_error: s.last_error,
            last_error_at: s.last_error_at.as_deref().map(parse_time),
            reenroll_required: s.halted.is_some(),
            halted: s.halted,
        })
    }
}
