//! Push: a page of outbox rows applied in one transaction, exactly once (rules 4 to 7).
//!
//! The terminal's row is locked first, so pages of one terminal are applied one after
//! another even across server replicas; then, when the page brings new rows, its store's
//! change-log head (scope `store:<id>`), which numbers the store's log entries and its
//! orders' feed positions in commit order. Pushes into different stores take different
//! locks and never wait on each other. Whatever a page carries lands in the terminal's own
//! store. For each row: `seq <= last` is a duplicate (checked
//! against the stored inbox row: another payload is a 422 for the whole page), `seq = last+1`
//! is applied or rejected and recorded in the inbox, `seq > last+1` stops the page as a gap.
//!
//! Rows are checked and applied one by one in seq order, but the page reads what they are
//! checked against in a few statements up front and writes their rows with multi-row
//! inserts ([`events::Page`]): a page costs a handful of round trips, not several per row.

use std::collections::{BTreeSet, HashMap};

use tillbook_protocol::events::EventPayload;
use tillbook_protocol::sync::{EventOutcome, EventResult, OutboxEvent, PushRequest, PushResponse};
use tillbook_protocol::{canonical_json, payload_hash};

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{check_protocol, store_scope, ChangeWriter};
use crate::service::events::{self, Finished};
use crate::service::terminals::{authenticate, ensure_same, to_i64, Authed};
use crate::service::{stores, unique};
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

/// A row past the cursor, ready to apply: its stored text, the hash of its payload and the
/// payload decoded (or why it cannot be).
struct Fresh {
    seq: u64,
    event_id: uuid::Uuid,
    kind: String,
    claimed_hash: String,
    text: String,
    computed: String,
    decoded: std::result::Result<EventPayload, String>,
}

fn fresh(ev: OutboxEvent) -> Fresh {
    let text = canonical_json(&ev.payload);
    let computed = tillbook_protocol::text_hash(&text);
    let decoded = events::decode(&ev.kind, ev.payload);
    Fresh {
        seq: ev.seq,
        event_id: ev.event_id,
        kind: ev.kind,
        claimed_hash: ev.payload_hash,
        text,
        computed,
        decoded,
    }
}

/// What applying the run past the cursor did.
struct Run {
    results: Vec<EventResult>,
    last: u64,
    rejected: i64,
    /// The stock movements and unique items for the store's log (the ledger rows are
    /// written), and the last feed position taken.
    finished: Option<Finished>,
}

/// Applies the rows that continue the cursor, in seq order, with their inbox rows.
///
/// Optimistic (`checked == false`, see [`events`]): the order references, stock delta ids and
/// event ids the rows bring are not looked up but inserted skipping taken ones; `None` when
/// one was taken, or when a row fails a check (its error is left to the checked run, which
/// finds the first failure in seq order, as applying the rows one by one would). The caller
/// then rolls back and runs it checked.
async fn apply_run<T: Tx>(
    tx: &mut T,
    authed: &Authed,
    feed: i64,
    new: &[Fresh],
    checked: bool,
) -> Result<Option<Run>> {
    let terminal = authed.id;
    let used: HashMap<String, Row> = if checked {
        let ids: Vec<Val> = new.iter().map(|f| Val::from(f.event_id)).collect();
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
    let mut page =
        events::Page::prefetch(tx, terminal, authed.store_id, feed, payloads, checked).await?;
    let mut inbox = Rows::new("inbox", INBOX_COLUMNS);
    let received_at = now_text();
    let mut run = Run {
        results: Vec::with_capacity(new.len()),
        last: 0,
        rejected: 0,
        finished: None,
    };
    for f in new {
        if f.computed != f.claimed_hash {
            if !checked {
                return Ok(None);
            }
            return Err(Error::PayloadHashInvalid(format!(
                "seq {}: payload_hash {} does not match the payload ({})",
                f.seq, f.claimed_hash, f.computed
            )));
        }
        if let Some(row) = used.get(&f.event_id.to_string()) {
            if row.text(3)? == f.computed {
                // The same event, already applied under another identity of this terminal (a
                // restored book enrolled again re-sends what the old identity sent): skipped.
                run.results.push(EventResult {
                    seq: f.seq,
                    event_id: f.event_id,
                    outcome: EventOutcome::Duplicate,
                    reason: None,
                });
                run.last = f.seq;
                continue;
            }
            return Err(Error::PayloadMismatch(format!(
                "event {} was already used by terminal {} seq {}",
                f.event_id,
                row.text(1)?,
                row.i64(2)?
            )));
        }
        let verdict = events::apply(tx, f.event_id, &f.decoded, &mut page).await?;
        if page.conflict() {
            return Ok(None);
        }
        let outcome = if verdict.is_some() {
            "rejected"
        } else {
            "applied"
        };
        inbox.push([
            Val::from(authed.store_id),
            Val::from(terminal),
            Val::from(to_i64(f.seq)?),
            Val::from(f.event_id),
            Val::from(&f.kind),
            Val::from(&f.text),
            Val::from(&f.computed),
            Val::from(outcome),
            Val::from(verdict.clone()),
            Val::from(received_at.as_str()),
        ]);
        if let Some(reason) = &verdict {
            tracing::info!(%terminal, seq = f.seq, kind = %f.kind, "event rejected: {reason}");
            run.rejected += 1;
        }
        run.results.push(EventResult {
            seq: f.seq,
            event_id: f.event_id,
            outcome: if verdict.is_some() {
                EventOutcome::Rejected
            } else {
                EventOutcome::Applied
            },
            reason: verdict,
        });
        run.last = f.seq;
    }
    let Some(finished) = page.finish(tx).await? else {
        return Ok(None);
    };
    run.finished = Some(finished);
    if checked {
        inbox.flush(tx).await?;
    } else if !inbox.flush_new(tx, "event_id").await? {
        return Ok(None);
    }
    Ok(Some(run))
}

pub async fn push<T: Tx>(tx: &mut T, token_hash: &str, req: PushRequest) -> Result<PushResponse> {
    check_protocol(req.protocol)?;
    let authed = authenticate(tx, token_hash, true).await?;
    ensure_same(&authed, req.terminal_id)?;
    stores::ensure_own(tx, authed.store_id, req.store.as_deref()).await?;
    check_page(&req.events)?;
    let terminal = authed.id;
    let mut last = authed.last_applied_seq;
    let mut events = req.events;
    // Seqs ascend strictly, so the page is: rows at or below the cursor (duplicates), the
    // run that continues the cursor, and whatever follows a gap (left alone).
    let dups = events.iter().take_while(|ev| ev.seq <= last).count();
    let run = events[dups..]
        .iter()
        .zip(last + 1..)
        .take_while(|(ev, want)| ev.seq == *want)
        .count();
    let gap = dups + run < events.len();
    events.truncate(dups + run);
    let new: Vec<OutboxEvent> = events.split_off(dups);
    let mut results = Vec::with_capacity(dups + run);
    let mut rejected = 0i64;

    if !events.is_empty() {
        let seqs: Vec<Val> = events
            .iter()
            .map(|ev| to_i64(ev.seq).map(Val::from))
            .collect::<Result<_>>()?;
        let stored: HashMap<i64, Row> = query_keys(
            tx,
            "SELECT i.seq, i.event_id, i.payload_hash, i.outcome, i.reason FROM {keys} \
             CROSS JOIN inbox i WHERE i.seq = k.column1 AND i.terminal_id = $1",
            params![terminal],
            "BIGINT",
            &seqs,
        )
        .await?
        .into_iter()
        .map(|r| Ok((r.i64(0)?, r)))
        .collect::<Result<_>>()?;
        for ev in &events {
            let computed = payload_hash(&ev.payload);
            results.push(duplicate(ev, &computed, stored.get(&to_i64(ev.seq)?))?);
        }
    }

    if !new.is_empty() {
        let new: Vec<Fresh> = new.into_iter().map(fresh).collect();
        // The store's lock before the savepoint (a lock taken after one may be lost when it
        // is rolled back), held to commit: feed positions and log versions in commit order.
        let mut writer = ChangeWriter::begin(tx, &store_scope(authed.store_id)).await?;
        // Optimistic first; if a key it brings is taken, undone and applied checked.
        tx.exec("SAVEPOINT push_run", params![]).await?;
        let applied = match apply_run(tx, &authed, writer.feed(), &new, false).await? {
            Some(applied) => applied,
            None => {
                tx.exec("ROLLBACK TO SAVEPOINT push_run", params![]).await?;
                apply_run(tx, &authed, writer.feed(), &new, true)
                    .await?
                    .ok_or_else(|| Error::Internal("a checked page found a key taken".into()))?
            }
        };
        results.extend(applied.results);
        last = applied.last;
        rejected = applied.rejected;
        if let Some(finished) = applied.finished {
            writer.set_feed(finished.feed);
            if !finished.stock.is_empty() {
                finished.stock.flush(tx, &mut writer).await?;
            }
            unique::log(tx, &mut writer, authed.store_id, finished.unique_touched).await?;
        }
        writer.finish(tx).await?;
    }

    tx.exec(
        "UPDATE terminals SET last_applied_seq = $1, last_seen_at = $2, \
         rejected_count = rejected_count + $3 WHERE id = $4",
        params![to_i64(last)?, now_text(), rejected, terminal],
    )
    .await?;
    Ok(PushResponse {
        last_applied_seq: last,
        results,
        gap,
    })
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
