//! Push: a page of outbox rows applied in one transaction, exactly once (rules 4 to 7).
//!
//! The terminal's row is locked first, so pages of one terminal are applied one after
//! another even across server replicas. For each row: `seq <= last` is a duplicate (checked
//! against the stored inbox row: another payload is a 422 for the whole page), `seq = last+1`
//! is applied or rejected and recorded in the inbox, `seq > last+1` stops the page as a gap.

use std::collections::BTreeSet;

use tillbook_protocol::payload_hash;
use tillbook_protocol::sync::{EventOutcome, EventResult, OutboxEvent, PushRequest, PushResponse};

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{check_protocol, ChangeWriter};
use crate::service::events;
use crate::service::stock::StockBatch;
use crate::service::terminals::{authenticate, ensure_same, to_i64};
use crate::storage::sql::{now_text, Tx};

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

pub async fn push<T: Tx>(tx: &mut T, token_hash: &str, req: PushRequest) -> Result<PushResponse> {
    check_protocol(req.protocol)?;
    let authed = authenticate(tx, token_hash, true).await?;
    ensure_same(&authed, req.terminal_id)?;
    check_page(&req.events)?;
    let terminal = authed.id;
    let mut last = authed.last_applied_seq;
    let mut results = Vec::with_capacity(req.events.len());
    let mut gap = false;
    let mut rejected = 0i64;
    let mut batch = StockBatch::default();

    for ev in &req.events {
        let computed = payload_hash(&ev.payload);
        if ev.seq <= last {
            results.push(duplicate(tx, terminal, ev, &computed).await?);
            continue;
        }
        if ev.seq > last + 1 {
            gap = true;
            break;
        }
        if computed != ev.payload_hash {
            return Err(Error::PayloadHashInvalid(format!(
                "seq {}: payload_hash {} does not match the payload ({computed})",
                ev.seq, ev.payload_hash
            )));
        }
        let used = tx
            .query_opt(
                "SELECT terminal_id, seq FROM inbox WHERE event_id = $1",
                params![ev.event_id],
            )
            .await?;
        if let Some(row) = used {
            return Err(Error::PayloadMismatch(format!(
                "event {} was already used by terminal {} seq {}",
                ev.event_id,
                row.text(0)?,
                row.i64(1)?
            )));
        }
        let verdict = events::apply(tx, terminal, ev, &mut batch).await?;
        let payload =
            serde_json::to_string(&ev.payload).map_err(|e| Error::Internal(e.to_string()))?;
        let outcome = if verdict.is_some() {
            "rejected"
        } else {
            "applied"
        };
        tx.exec(
            "INSERT INTO inbox (terminal_id, seq, event_id, kind, payload, payload_hash, outcome, \
             reason, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![
                terminal,
                to_i64(ev.seq)?,
                ev.event_id,
                &ev.kind,
                payload,
                computed,
                outcome,
                verdict.clone(),
                now_text()
            ],
        )
        .await?;
        if let Some(reason) = &verdict {
            tracing::info!(%terminal, seq = ev.seq, kind = %ev.kind, "event rejected: {reason}");
            rejected += 1;
        }
        results.push(EventResult {
            seq: ev.seq,
            event_id: ev.event_id,
            outcome: if verdict.is_some() {
                EventOutcome::Rejected
            } else {
                EventOutcome::Applied
            },
            reason: verdict,
        });
        last = ev.seq;
    }

    if !batch.is_empty() {
        let mut writer = ChangeWriter::begin(tx).await?;
        batch.flush(tx, &mut writer).await?;
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
async fn duplicate<T: Tx>(
    tx: &mut T,
    terminal: uuid::Uuid,
    ev: &OutboxEvent,
    computed: &str,
) -> Result<EventResult> {
    let stored = tx
        .query_opt(
            "SELECT event_id, payload_hash, outcome, reason FROM inbox WHERE terminal_id = $1 AND seq = $2",
            params![terminal, to_i64(ev.seq)?],
        )
        .await?;
    let Some(row) = stored else {
        return Ok(EventResult {
            seq: ev.seq,
            event_id: ev.event_id,
            outcome: EventOutcome::Duplicate,
            reason: None,
        });
    };
    let (event_id, hash) = (row.text(0)?, row.text(1)?);
    if event_id != ev.event_id.to_string() || hash != ev.payload_hash || hash != computed {
        return Err(Error::PayloadMismatch(format!(
            "seq {} was applied as event {event_id} with payload hash {hash}; this page sends event {} \
             with hash {}",
            ev.seq, ev.event_id, ev.payload_hash
        )));
    }
    let (outcome, reason) = match row.text(2)?.as_str() {
        "rejected" => (EventOutcome::Rejected, row.opt_text(3)?),
        _ => (EventOutcome::Duplicate, None),
    };
    Ok(EventResult {
        seq: ev.seq,
        event_id: ev.event_id,
        outcome,
        reason,
    })
}
