//! Push: a page of outbox rows applied in one transaction, exactly once (rules 4 to 7).
//!
//! The terminal's row is locked first, so pages of one terminal are applied one after
//! another even across server replicas; last, when the page brings orders or stock or
//! unique-item changes, its store's change-log head (scope `store:<id>`), which numbers the
//! store's log entries and its orders' feed positions in commit order
//! ([`events::Settle`]). Pushes into different stores take different locks and never wait
//! on each other; pushes into one store wait on each other only for the page's last few
//! statements and its commit. Whatever a page carries lands in the terminal's own store.
//! The inbox keeps each row's payload hash (duplicates are checked against it), and the
//! payload itself only for rejected rows: an applied one lives on in the rows it wrote.
//! For each row: `seq <= last` is a duplicate (checked
//! against the stored inbox row: another payload is a 422 for the whole page), `seq = last+1`
//! is applied or rejected and recorded in the inbox, `seq > last+1` stops the page as a gap.
//!
//! Rows are checked and applied one by one in seq order, but the page reads what they are
//! checked against in a few statements up front and writes their rows with multi-row
//! inserts ([`events::Page`]): a page costs a handful of round trips, not several per row.

use std::collections::{BTreeSet, HashMap};

use tillbook_protocol::canonical_json;
use tillbook_protocol::events::EventPayload;
use tillbook_protocol::sync::{EventOutcome, EventResult, OutboxEvent, PushRequest, PushResponse};

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::check_protocol;
use crate::service::events;
use crate::service::stores;
use crate::service::terminals::{authenticate, ensure_same, to_i64, Authed};
use crate::storage::sql::{now_text, query_keys, Row, Rows, Tx, Val};

/// Most rows one push may carry.
pub const MAX_PAGE: usize = 5000;

fn check_page(events: &[OutboxEvent]) -> Result<()> {
    if events.len() > MAX_PAGE {
        return Err(Error::InvalidPage(format!(
            "a page holds at most {MAX_PAGE} events"
        )));
    }
    let mut ids = BTreeSet::new();
    let mut prev = 0u64;
    for ev in events {
        if ev.seq == 0 || ev.seq <= prev {
            return Err(Error::InvalidPage(format!(
                "seq must start at 1 and ascend strictly; {} after {prev}",
                ev.seq
            )));
        }
        if !ids.insert(ev.event_id) {
            return Err(Error::InvalidPage(format!(
                "event {} appears twice",
                ev.event_id
            )));
        }
        prev = ev.seq;
    }
    Ok(())
}

const INBOX_COLUMNS: &[&str] = &[
    "store_id",
    "terminal_id",
    "seq",
    "event_id",
    "kind",
    "payload",
    "payload_hash",
    "outcome",
    "reason",
    "received_at",
];

/// A row past the cursor, ready to apply: the row, its payload's hash and the payload
/// decoded (or why it cannot be).
struct Fresh<'a> {
    ev: &'a OutboxEvent,
    computed: String,
    decoded: std::result::Result<EventPayload, String>,
}

fn fresh(ev: &OutboxEvent) -> Result<Fresh<'_>> {
    Ok(Fresh {
        ev,
        computed: hash(&ev.payload)?,
        decoded: events::decode(&ev.kind, &ev.payload),
    })
}

/// [`tillbook_protocol::payload_hash`], with the canonical JSON streamed into the hash
/// instead of built as a string first.
fn hash(payload: &serde_json::Value) -> Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    serde_json::to_writer(&mut hasher, payload).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// What applying the run past the cursor did.
struct Run {
    results: Vec<EventResult>,
    last: u64,
    rejected: i64,
}

/// Applies the rows that continue the cursor, in seq order, with their inbox rows.
///
/// Optimistic (`checked == false`, see [`events`]): the order references, stock delta ids and
/// event ids the rows bring are not looked up but inserted skipping taken ones; `None` when
/// one was taken, or when a row fails a check (its error is left to the checked run, which
/// finds the first failure in seq order, as applying the rows one by one would). The caller
/// then rolls back and runs it checked.
///
/// The store's lock is taken last ([`events::Settle`]), after the inbox and every row that
/// needs no position in the store are in.
async fn apply_run<T: Tx>(
    tx: &mut T,
    authed: &Authed,
    new: &[Fresh<'_>],
    checked: bool,
) -> Result<Option<Run>> {
    let terminal = authed.id;
    let used: HashMap<String, Row> = if checked {
        let ids: Vec<Val> = new.iter().map(|f| Val::from(f.ev.event_id)).collect();
        query_keys(
            tx,
            "SELECT i.event_id, i.terminal_id, i.seq, i.payload_hash FROM {keys} CROSS JOIN inbox i \
             WHERE i.event_id = k.column1",
            &[],
            "TEXT",
            &ids,
        )
        .await?
        .into_iter()
        .map(|r| Ok((r.text(0)?, r)))
        .collect::<Result<_>>()?
    } else {
        HashMap::new()
    };
    let payloads = new.iter().filter_map(|f| f.decoded.as_ref().ok());
    let mut page = events::Page::prefetch(tx, terminal, authed.store_id, payloads, checked).await?;
    let mut inbox = Rows::new("inbox", INBOX_COLUMNS);
    let received_at = now_text();
    let mut run = Run {
        results: Vec::with_capacity(new.len()),
        last: 0,
        rejected: 0,
    };
    for f in new {
        if f.computed != f.ev.payload_hash {
            if !checked {
                return Ok(None);
            }
            return Err(Error::PayloadHashInvalid(format!(
                "seq {}: payload_hash {} does not match the payload ({})",
                f.ev.seq, f.ev.payload_hash, f.computed
            )));
        }
        if let Some(row) = used.get(&f.ev.event_id.to_string()) {
            if row.text(3)? == f.computed {
                // The same event, already applied under another identity of this terminal (a
                // restored book enrolled again re-sends what the old identity sent): skipped.
                run.results.push(EventResult {
                    seq: f.ev.seq,
                    event_id: f.ev.event_id,
                    outcome: EventOutcome::Duplicate,
                    reason: None,
                });
                run.last = f.ev.seq;
                continue;
            }
            return Err(Error::PayloadMismatch(format!(
                "event {} was already used by terminal {} seq {}",
                f.ev.event_id,
                row.text(1)?,
                row.i64(2)?
            )));
        }
        let verdict = events::apply(tx, f.ev.event_id, &f.decoded, &mut page).await?;
        if page.conflict() {
            return Ok(None);
        }
        let outcome = if verdict.is_some() {
            "rejected"
        } else {
            "applied"
        };
        // The payload of an applied event lives on in the rows it wrote; a rejected one's is
        // kept for staff.
        let payload = verdict.as_ref().map(|_| canonical_json(&f.ev.payload));
        inbox.push([
            Val::from(authed.store_id),
            Val::from(terminal),
            Val::from(to_i64(f.ev.seq)?),
            Val::from(f.ev.event_id),
            Val::from(&f.ev.kind),
            Val::from(payload),
            Val::from(&f.computed),
            Val::from(outcome),
            Val::from(verdict.clone()),
            Val::from(received_at.as_str()),
        ]);
        if let Some(reason) = &verdict {
            tracing::info!(%terminal, seq = f.ev.seq, kind = %f.ev.kind, "event rejected: {reason}");
            run.rejected += 1;
        }
        run.results.push(EventResult {
            seq: f.ev.seq,
            event_id: f.ev.event_id,
            outcome: if verdict.is_some() {
                EventOutcome::Rejected
            } else {
                EventOutcome::Applied
            },
            reason: verdict,
        });
        run.last = f.ev.seq;
    }
    let Some(settle) = page.finish(tx).await? else {
        return Ok(None);
    };
    if checked {
        inbox.flush(tx).await?;
    } else if !inbox.flush_new(tx, "event_id").await? {
        return Ok(None);
    }
    record_progress(tx, terminal, run.last, run.rejected).await?;
    if !settle.run(tx).await? {
        return Ok(None);
    }
    Ok(Some(run))
}

pub async fn push<T: Tx>(tx: &mut T, token_hash: &str, req: &PushRequest) -> Result<PushResponse> {
    check_protocol(req.protocol)?;
    let authed = authenticate(tx, token_hash, true).await?;
    ensure_same(&authed, req.terminal_id)?;
    stores::ensure_own(tx, authed.store_id, req.store.as_deref()).await?;
    check_page(&req.events)?;
    let terminal = authed.id;
    let mut last = authed.last_applied_seq;
    let events = &req.events;
    // Seqs ascend strictly, so the page is: rows at or below the cursor (duplicates), the
    // run that continues the cursor, and whatever follows a gap (left alone).
    let dups = events.iter().take_while(|ev| ev.seq <= last).count();
    let run = events[dups..]
        .iter()
        .zip(last + 1..)
        .take_while(|(ev, want)| ev.seq == *want)
        .count();
    let gap = dups + run < events.len();
    let (events, new) = events[..dups + run].split_at(dups);
    let mut results = Vec::with_capacity(dups + run);

    if !events.is_empty() {
        let stored = stored_rows(tx, terminal, events).await?;
        for ev in events {
            let computed = hash(&ev.payload)?;
            results.push(duplicate(ev, &computed, stored.get(&to_i64(ev.seq)?))?);
        }
    }

    if !new.is_empty() {
        let new: Vec<Fresh> = new.iter().map(fresh).collect::<Result<_>>()?;
        // Optimistic first; if a key it brings is taken, undone and applied checked. The
        // store's lock, taken after the savepoint, is let go by the rollback and taken again.
        tx.exec("SAVEPOINT push_run", params![]).await?;
        let applied = match apply_run(tx, &authed, &new, false).await? {
            Some(applied) => applied,
            None => {
                tx.exec("ROLLBACK TO SAVEPOINT push_run", params![]).await?;
                apply_run(tx, &authed, &new, true)
                    .await?
                    .ok_or_else(|| Error::Internal("a checked page found a key taken".into()))?
            }
        };
        results.extend(applied.results);
        last = applied.last;
    } else {
        record_progress(tx, terminal, last, 0).await?;
    }
    Ok(PushResponse {
        last_applied_seq: last,
        results,
        gap,
    })
}

/// The inbox rows of `events` (at or below the cursor, seqs ascending) by seq: one range
/// scan of the terminal's inbox when their seqs are dense (a page sent again whole), else
/// a lookup per seq.
async fn stored_rows<T: Tx>(
    tx: &mut T,
    terminal: uuid::Uuid,
    events: &[OutboxEvent],
) -> Result<HashMap<i64, Row>> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Ok(HashMap::new());
    };
    let (lo, hi) = (to_i64(first.seq)?, to_i64(last.seq)?);
    let rows = if hi - lo < 2 * events.len() as i64 {
        tx.query(
            "SELECT seq, event_id, payload_hash, outcome, reason FROM inbox \
             WHERE terminal_id = $1 AND seq >= $2 AND seq <= $3",
            params![terminal, lo, hi],
        )
        .await?
    } else {
        let seqs: Vec<Val> = events
            .iter()
            .map(|ev| to_i64(ev.seq).map(Val::from))
            .collect::<Result<_>>()?;
        query_keys(
            tx,
            "SELECT i.seq, i.event_id, i.payload_hash, i.outcome, i.reason FROM {keys} \
             CROSS JOIN inbox i WHERE i.seq = k.column1 AND i.terminal_id = $1",
            params![terminal],
            "BIGINT",
            &seqs,
        )
        .await?
    };
    rows.into_iter().map(|r| Ok((r.i64(0)?, r))).collect()
}

/// Moves the terminal's cursor to `last` (its row is locked) and counts its rejections.
async fn record_progress<T: Tx>(
    tx: &mut T,
    terminal: uuid::Uuid,
    last: u64,
    rejected: i64,
) -> Result<()> {
    tx.exec(
        "UPDATE terminals SET last_applied_seq = $1, last_seen_at = $2, \
         rejected_count = rejected_count + $3 WHERE id = $4",
        params![to_i64(last)?, now_text(), rejected, terminal],
    )
    .await?;
    Ok(())
}

/// A row at or below the cursor: the stored row must be the same event with the same payload.
/// A row rejected before is reported as rejected again, with its reason, so a terminal that
/// lost the first answer still learns why.
fn duplicate(ev: &OutboxEvent, computed: &str, stored: Option<&Row>) -> Result<EventResult> {
    let Some(row) = stored else {
        return Ok(EventResult {
            seq: ev.seq,
            event_id: ev.event_id,
            outcome: EventOutcome::Duplicate,
            reason: None,
        });
    };
    let (event_id, hash) = (row.text(1)?, row.text(2)?);
    if event_id != ev.event_id.to_string() || hash != ev.payload_hash || hash != computed {
        return Err(Error::PayloadMismatch(format!(
            "seq {} was applied as event {event_id} with payload hash {hash}; this page sends event {} \
             with hash {}",
            ev.seq, ev.event_id, ev.payload_hash
        )));
    }
    let (outcome, reason) = match row.text(3)?.as_str() {
        "rejected" => (EventOutcome::Rejected, row.opt_text(4)?),
        _ => (EventOutcome::Duplicate, None),
    };
    Ok(EventResult {
        seq: ev.seq,
        event_id: ev.event_id,
        outcome,
        reason,
    })
}
