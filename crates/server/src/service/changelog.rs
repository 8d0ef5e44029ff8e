//! The change logs terminals pull: one per scope, commit-ordered, latest entry per key.
//!
//! Two kinds of scope: `chain` (products, channels and staff, the whole chain's) and `store:<id>`
//! (one store's stock levels and unique items: sold, held). Each scope has its own head row
//! in `log_heads`. A writer locks its scope's head row before it reads anything its entries
//! are derived from and holds it to commit, so that scope's versions are handed out in
//! commit order: a reader that has seen version `v` of a scope has seen every version below
//! it. Writers of different scopes never wait on each other, so pushes into different
//! stores run side by side; a push takes its store's lock as late as it can (after writing
//! everything that needs no position), so pushes into one store overlap too and wait on
//! each other only for the last few statements and the commit.
//!
//! A store's head row also carries its order feed counter: each order gets the next position
//! under the same lock, so feed positions are commit-ordered per store too (back-office
//! listings page by them and never skip an order committed during a listing).
//!
//! A log keeps one entry per key, so a scope's whole table is also its full snapshot. A
//! terminal pulls with a [`PullCursor`] `{chain, store}`: the chain's log and its own store's.

use tillbook_protocol::sync::{Change, PullCursor, PullRequest, PullResponse};
use tillbook_protocol::PROTOCOL_VERSION;

use crate::error::{Error, Result};
use crate::params;
use crate::service::terminals::{ensure_same, parse_uuid, to_i64, to_u64, Authed};
use crate::storage::sql::{now_text, Row, Rows, Tx, Val};

const CHANGE_COLUMNS: &[&str] = &["scope", "change_key", "version", "body"];

/// Most entries one pull page carries.
pub const MAX_PULL: u32 = 1000;

/// The scope of the chain-wide log (catalog, channels, staff).
pub const CHAIN_SCOPE: &str = "chain";

/// The scope of one store's log (stock levels, unique items) and order feed.
pub fn store_scope(store_id: i64) -> String {
    format!("store:{store_id}")
}

/// An open append to one scope's log; [`ChangeWriter::finish`] stores the new head.
#[derive(Debug)]
pub struct ChangeWriter {
    scope: String,
    /// The last version and feed position handed out.
    head: i64,
    feed: i64,
    /// What the head row holds now.
    stored_head: i64,
    stored_feed: i64,
}

impl ChangeWriter {
    /// Locks the scope's head row: call before reading anything the entries are derived from.
    pub async fn begin<T: Tx>(tx: &mut T, scope: &str) -> Result<Self> {
        let sql = format!(
            "SELECT version, feed FROM log_heads WHERE scope = $1{}",
            T::FOR_UPDATE
        );
        let row = tx
            .query_opt(&sql, params![scope])
            .await?
            .ok_or_else(|| Error::Internal(format!("no change-log head for scope {scope}")))?;
        let (head, feed) = (row.i64(0)?, row.i64(1)?);
        Ok(ChangeWriter {
            scope: scope.to_string(),
            head,
            feed,
            stored_head: head,
            stored_feed: feed,
        })
    }

    /// [`ChangeWriter::begin`] and the new head in one statement, when the caller knows how
    /// many `versions` and `feeds` (positions) it will take: it updates the head row (which
    /// locks it) and hands out what it reserved. Taking more still works (`finish` stores
    /// it); taking fewer leaves a gap, which readers never mind.
    pub async fn reserve<T: Tx>(
        tx: &mut T,
        scope: &str,
        versions: usize,
        feeds: usize,
    ) -> Result<Self> {
        let (versions, feeds) = (to_i64(versions as u64)?, to_i64(feeds as u64)?);
        let row = tx
            .query_opt(
                "UPDATE log_heads SET version = version + $1, feed = feed + $2 WHERE scope = $3 \
                 RETURNING version, feed",
                params![versions, feeds, scope],
            )
            .await?
            .ok_or_else(|| Error::Internal(format!("no change-log head for scope {scope}")))?;
        let (top, feed_top) = (row.i64(0)?, row.i64(1)?);
        Ok(ChangeWriter {
            scope: scope.to_string(),
            head: top - versions,
            feed: feed_top - feeds,
            stored_head: top,
            stored_feed: feed_top,
        })
    }

    /// The last feed position handed out in this scope.
    pub fn feed(&self) -> i64 {
        self.feed
    }

    /// Records that feed positions up to `last` are taken.
    pub fn set_feed(&mut self, last: i64) {
        self.feed = self.feed.max(last);
    }

    /// Records `change` (its version is assigned here) as the latest entry for `key`.
    pub async fn append<T: Tx>(&mut self, tx: &mut T, key: &str, change: Change) -> Result<u64> {
        self.append_all(tx, [(key.to_string(), change)]).await?;
        Ok(to_u64(self.head))
    }

    /// Records each `(key, change)` as the latest entry for its key, versions assigned in
    /// the order given, in one statement. Keys must be distinct.
    pub async fn append_all<T: Tx>(
        &mut self,
        tx: &mut T,
        entries: impl IntoIterator<Item = (String, Change)>,
    ) -> Result<()> {
        let mut rows = Rows::new("changes", CHANGE_COLUMNS);
        for (key, change) in entries {
            self.head = self
                .head
                .checked_add(1)
                .ok_or_else(|| Error::Internal("change-log version overflow".into()))?;
            let change = with_version(change, to_u64(self.head));
            let body =
                serde_json::to_string(&change).map_err(|e| Error::Internal(e.to_string()))?;
            rows.push([
                Val::from(self.scope.as_str()),
                Val::from(key),
                Val::from(self.head),
                Val::from(body),
            ]);
        }
        rows.upsert(
            tx,
            " ON CONFLICT (scope, change_key) DO UPDATE SET version = excluded.version, \
             body = excluded.body",
        )
        .await
    }

    /// Stores the new head (when it moved past what the row holds); returns the last
    /// version.
    pub async fn finish<T: Tx>(self, tx: &mut T) -> Result<u64> {
        if self.head > self.stored_head || self.feed > self.stored_feed {
            tx.exec(
                "UPDATE log_heads SET version = $1, feed = $2 WHERE scope = $3",
                params![
                    self.head.max(self.stored_head),
                    self.feed.max(self.stored_feed),
                    self.scope.as_str()
                ],
            )
            .await?;
        }
        Ok(to_u64(self.head.max(self.stored_head)))
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

pub fn staff_key(staff_id: uuid::Uuid) -> String {
    format!("staff:{staff_id}")
}

pub fn unique_key(sku: &str) -> String {
    format!("unique:{sku}")
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
        Change::Channel { channel, .. } => Change::Channel {
            version: v,
            channel,
        },
        Change::Staff { staff, .. } => Change::Staff { version: v, staff },
        Change::UniqueItem {
            sku,
            sold_by,
            reserved,
            ..
        } => Change::UniqueItem {
            version: v,
            sku,
            sold_by,
            reserved,
        },
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

/// A scope's head: its latest version and its compaction floor.
struct Head {
    version: u64,
    floor: u64,
}

async fn head<T: Tx>(tx: &mut T, scope: &str) -> Result<Head> {
    let row = tx
        .query_one(
            "SELECT version, floor FROM log_heads WHERE scope = $1",
            params![scope],
        )
        .await?;
    Ok(Head {
        version: to_u64(row.i64(0)?),
        floor: to_u64(row.i64(1)?),
    })
}

impl Head {
    fn usable(&self, cursor: u64) -> bool {
        cursor >= self.floor && cursor <= self.version
    }
}

fn decode_rows(rows: &[Row]) -> Result<Vec<Change>> {
    rows.iter().map(|r| decode(&r.text(0)?)).collect()
}

async fn after<T: Tx>(tx: &mut T, scope: &str, cursor: u64, limit: u32) -> Result<Vec<Change>> {
    let rows = tx
        .query(
            "SELECT body FROM changes WHERE scope = $1 AND version > $2 ORDER BY version LIMIT $3",
            params![scope, to_i64(cursor)?, i64::from(limit)],
        )
        .await?;
    decode_rows(&rows)
}

/// Rule 8: the changes after the cursor in the chain's log and the terminal's store's log,
/// or a `reset` snapshot of both when either cursor is unusable (below the compaction floor,
/// above the head); plus the terminal's own last applied seq read under its row lock (so no
/// push of its own lands in between).
pub async fn pull<T: Tx>(tx: &mut T, token_hash: &str, req: &PullRequest) -> Result<PullResponse> {
    check_protocol(req.protocol)?;
    let row = tx
        .query_opt(
            "UPDATE terminals SET last_seen_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
             RETURNING id, last_applied_seq, store_id",
            params![now_text(), token_hash],
        )
        .await?
        .ok_or(Error::InvalidToken)?;
    let authed = Authed {
        id: parse_uuid(&row.text(0)?)?,
        last_applied_seq: to_u64(row.i64(1)?),
        store_id: row.i64(2)?,
    };
    ensure_same(&authed, req.terminal_id)?;
    crate::service::stores::ensure_own(tx, authed.store_id, req.store.as_deref()).await?;
    let store_scope = store_scope(authed.store_id);

    // Heads first: whatever is read after them is at least as new.
    let chain_head = head(tx, CHAIN_SCOPE).await?;
    let store_head = head(tx, &store_scope).await?;
    let last_applied_seq = authed.last_applied_seq;
    let cursor = req
        .cursor
        .filter(|c| chain_head.usable(c.chain) && store_head.usable(c.store));

    let Some(cursor) = cursor else {
        let mut changes = Vec::new();
        let mut next = PullCursor {
            chain: chain_head.version,
            store: store_head.version,
        };
        for (scope, at) in [
            (CHAIN_SCOPE, &mut next.chain),
            (&store_scope, &mut next.store),
        ] {
            let rows = tx
                .query(
                    "SELECT body FROM changes WHERE scope = $1 ORDER BY version",
                    params![scope],
                )
                .await?;
            let part = decode_rows(&rows)?;
            *at = part.iter().map(Change::version).fold(*at, u64::max);
            changes.extend(part);
        }
        return Ok(PullResponse {
            reset: true,
            changes,
            cursor: next,
            has_more: false,
            last_applied_seq,
        });
    };

    // The chain's entries first, then the store's, `limit` in all.
    let limit = req.limit.clamp(1, MAX_PULL);
    let mut changes = after(tx, CHAIN_SCOPE, cursor.chain, limit + 1).await?;
    let chain_more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    let chain = match (chain_more, changes.last()) {
        (true, Some(last)) => last.version(),
        _ => changes
            .iter()
            .map(Change::version)
            .fold(chain_head.version.max(cursor.chain), u64::max),
    };
    let room = limit - changes.len() as u32;
    let (store, store_more) = if room == 0 {
        (cursor.store, store_head.version > cursor.store)
    } else {
        let mut part = after(tx, &store_scope, cursor.store, room + 1).await?;
        let more = part.len() > room as usize;
        part.truncate(room as usize);
        let at = match (more, part.last()) {
            (true, Some(last)) => last.version(),
            _ => part
                .iter()
                .map(Change::version)
                .fold(store_head.version.max(cursor.store), u64::max),
        };
        changes.extend(part);
        (at, more)
    };
    Ok(PullResponse {
        reset: false,
        changes,
        cursor: PullCursor { chain, store },
        has_more: chain_more || store_more,
        last_applied_seq,
    })
}

fn decode(body: &str) -> Result<Change> {
    serde_json::from_str(body).map_err(|e| Error::Internal(format!("stored change: {e}")))
}
