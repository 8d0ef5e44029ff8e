//! The change log terminals pull: commit-ordered versions, latest entry per key, snapshots.
//!
//! Versions come from the single `changelog_head` row. A writer locks that row first and
//! holds it to commit, so versions are handed out in commit order: a reader that has seen
//! version `v` has seen every version below it. The log keeps one entry per key (a product,
//! a stock level, a channel), so the whole table is also the full snapshot.

use tillbook_protocol::sync::{Change, PullRequest, PullResponse};
use tillbook_protocol::PROTOCOL_VERSION;

use crate::error::{Error, Result};
use crate::params;
use crate::service::terminals::{parse_uuid, to_i64, to_u64};
use crate::storage::sql::{now_text, Tx};

/// Most entries one pull page carries.
pub const MAX_PULL: u32 = 1000;

/// An open append to the change log; [`ChangeWriter::finish`] stores the new head.
pub struct ChangeWriter {
    head: i64,
    start: i64,
}

impl ChangeWriter {
    /// Locks the head row: call before reading anything the entries are derived from.
    pub async fn begin<T: Tx>(tx: &mut T) -> Result<Self> {
        let sql = format!(
            "SELECT version FROM changelog_head WHERE id = 1{}",
            T::FOR_UPDATE
        );
        let head = tx.query_one(&sql, params![]).await?.i64(0)?;
        Ok(ChangeWriter { head, start: head })
    }

    /// Records `change` (its version is assigned here) as the latest entry for `key`.
    pub async fn append<T: Tx>(&mut self, tx: &mut T, key: &str, change: Change) -> Result<u64> {
        self.head += 1;
        let change = with_version(change, to_u64(self.head));
        let body = serde_json::to_string(&change).map_err(|e| Error::Internal(e.to_string()))?;
        tx.exec(
            "INSERT INTO changes (change_key, version, body) VALUES ($1, $2, $3) \
             ON CONFLICT (change_key) DO UPDATE SET version = excluded.version, body = excluded.body",
            params![key, self.head, body],
        )
        .await?;
        Ok(to_u64(self.head))
    }

    pub async fn finish<T: Tx>(self, tx: &mut T) -> Result<u64> {
        if self.head != self.start {
            tx.exec(
                "UPDATE changelog_head SET version = $1 WHERE id = 1",
                params![self.head],
            )
            .await?;
        }
        Ok(to_u64(self.head))
    }
}

pub fn product_key(sku: &str) -> String {
    format!("product:{sku}")
}

pub fn stock_key(sku: &str, location: &str) -> String {
    format!("stock:{sku}@{location}")
}

pub fn channel_key(code: &str) -> String {
    format!("channel:{code}")
}

fn with_version(change: Change, v: u64) -> Change {
    match change {
        Change::Product { product, .. } => Change::Product {
            version: v,
            product,
        },
        Change::StockLevel {
            sku,
            location,
            on_hand,
            ..
        } => Change::StockLevel {
            version: v,
            sku,
            location,
            on_hand,
        },
        Change::Channel { channel, .. } => Change::Channel { version: v, channel },
    }
}

pub fn check_protocol(got: u32) -> Result<()> {
    if got != PROTOCOL_VERSION {
        return Err(Error::UnsupportedProtocol {
            got,
            want: PROTOCOL_VERSION,
        });
    }
    Ok(())
}

/// Rule 8: changes after the cursor, or a `reset` snapshot, plus the terminal's own
/// last applied seq read under its row lock (so no push of its own lands in between).
pub async fn pull<T: Tx>(tx: &mut T, token_hash: &str, req: &PullRequest) -> Result<PullResponse> {
    check_protocol(req.protocol)?;
    let row = tx
        .query_opt(
            "UPDATE terminals SET last_seen_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
             RETURNING id, last_applied_seq",
            params![now_text(), token_hash],
        )
        .await?
        .ok_or(Error::InvalidToken)?;
    let id = parse_uuid(&row.text(0)?)?;
    let authed = crate::service::terminals::Authed {
        id,
        last_applied_seq: to_u64(row.i64(1)?),
    };
    crate::service::terminals::ensure_same(&authed, req.terminal_id)?;

    // Head first: whatever is read after it is at least as new.
    let head_row = tx
        .query_one(
            "SELECT version, floor FROM changelog_head WHERE id = 1",
            params![],
        )
        .await?;
    let (head, floor) = (to_u64(head_row.i64(0)?), to_u64(head_row.i64(1)?));
    let incremental = matches!(req.cursor, Some(c) if c >= floor && c <= head);
    let last_applied_seq = authed.last_applied_seq;

    if !incremental {
        let rows = tx
            .query("SELECT body FROM changes ORDER BY version", params![])
            .await?;
        let changes = rows
            .iter()
            .map(|r| decode(&r.text(0)?))
            .collect::<Result<Vec<_>>>()?;
        let cursor = changes
            .iter()
            .map(Change::version)
            .max()
            .unwrap_or(0)
            .max(head);
        return Ok(PullResponse {
            reset: true,
            changes,
            cursor,
            has_more: false,
            last_applied_seq,
        });
    }

    let cursor = req.cursor.unwrap_or(0);
    let limit = req.limit.clamp(1, MAX_PULL);
    let rows = tx
        .query(
            "SELECT body FROM changes WHERE version > $1 ORDER BY version LIMIT $2",
            params![to_i64(cursor)?, i64::from(limit) + 1],
        )
        .await?;
    let mut changes = rows
        .iter()
        .map(|r| decode(&r.text(0)?))
        .collect::<Result<Vec<_>>>()?;
    let has_more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    let cursor = changes
        .last()
        .map(Change::version)
        .unwrap_or(head.max(cursor));
    Ok(PullResponse {
        reset: false,
        changes,
        cursor,
        has_more,
        last_applied_seq,
    })
}

fn decode(body: &str) -> Result<Change> {
    serde_json::from_str(body).map_err(|e| Error::Internal(format!("stored change: {e}")))
}
