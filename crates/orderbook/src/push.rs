//! Pushing the outbox: the next page (wire seq = local seq − the enrolment's base), and what
//! the server's answer means for the book.
//!
//! Rows are acknowledged up to the server's `last_applied_seq`, never further. Acknowledged
//! rows are kept for `outbox_retention_days`; an answer below what the book had acknowledged
//! (a server restored from a backup) rewinds the acknowledgement and the same rows, with the
//! same event ids, are sent again. If the rows it needs were pruned, or the server is ahead of
//! the book, syncing halts until the terminal is enrolled again.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde::Serialize;
use tillbook_protocol::sync::{EventOutcome, OutboxEvent, PushResponse};

use crate::clock::fmt_time;
use crate::error::{err, ErrorCode, Result};
use crate::sync::{check_not_ahead, halt, local_seq, state, State};
use crate::{db, settings, Book};

/// What acknowledging a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushAck {
    pub acknowledged: i64,
    pub rejected: i64,
    /// True when the server reported a gap: the next push starts where it said.
    pub gap: bool,
    /// Rows acknowledged before that the server no longer holds (it was restored from a
    /// backup): they are pending again and go out as they were.
    pub rewound: i64,
}

/// Takes the acknowledgement back to local seq `upto` (below `acked_seq`): the server lost
/// what came after. `Ok(n)`: n rows are pending again; `Err(why)`: some were pruned, halted.
pub(crate) fn rewind(conn: &Connection, s: &State, upto: i64) -> Result<std::result::Result<i64, String>> {
    let lost = s.acked_seq - upto;
    let held: i64 = conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE seq > ?1 AND seq <= ?2",
        [upto, s.acked_seq],
        |r| r.get(0),
    )?;
    if held < lost {
        let days = settings::read(conn)?.outbox_retention_days;
        let why = format!(
            "the server lost seqs {} to {} of this terminal (restored from a backup?) but this book no longer \
             keeps them (acknowledged rows are kept {days} days): enrol it again with a new code (`tillbook enroll`)",
            upto - s.seq_base + 1,
            s.acked_seq - s.seq_base
        );
        halt(conn, &why)?;
        return Ok(Err(why));
    }
    conn.execute(
        "UPDATE outbox SET state = 'pending', reason = NULL, acked_at = NULL WHERE seq > ?1 AND seq <= ?2",
        [upto, s.acked_seq],
    )?;
    conn.execute("UPDATE sync_state SET acked_seq = ?1 WHERE id = 1", [upto])?;
    Ok(Ok(lost))
}

/// Deletes applied rows acknowledged longer ago than the retention period. Rejected rows stay
/// (the order keeps showing why); the seq counter, not the table, says what was written.
pub(crate) fn prune(conn: &Connection, now: DateTime<Utc>) -> Result<i64> {
    let days = settings::read(conn)?.outbox_retention_days;
    let cutoff = now - Duration::days(days);
    Ok(conn.execute(
        "DELETE FROM outbox WHERE state = 'applied' AND acked_at IS NOT NULL AND acked_at < ?1
           AND seq <= (SELECT MAX(acked_seq, seq_base) FROM sync_state WHERE id = 1)",
        [fmt_time(cutoff)],
    )? as i64)
}

/// Handles a `last_applied_seq` the server reported: halts when it is ahead of the book,
/// rewinds when it is behind what the book had acknowledged. Returns the rows rewound, or
/// the halt's reason.
pub(crate) fn reconcile(conn: &Connection, s: &State, server_seq: u64) -> Result<std::result::Result<i64, String>> {
    if let Some(why) = check_not_ahead(conn, s, server_seq)? {
        return Ok(Err(why));
    }
    let upto = local_seq(s, server_seq)?;
    if upto < s.acked_seq {
        return rewind(conn, s, upto);
    }
    Ok(Ok(0))
}

impl Book {
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
    /// (applied or rejected with the server's reason), never further. An answer below what
    /// was acknowledged rewinds (see the module); one above what the book holds halts with
    /// `reenroll_required`, kept in the book.
    pub fn ack_push(&mut self, answer: &PushResponse) -> Result<PushAck> {
        let now = self.now();
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        let mut ack = PushAck { gap: answer.gap, ..PushAck::default() };
        match reconcile(&tx, &s, answer.last_applied_seq)? {
            Err(why) => {
                tx.commit()?;
                return err(ErrorCode::ReenrollRequired, why);
            }
            Ok(n) => ack.rewound = n,
        }
        let upto = local_seq(&s, answer.last_applied_seq)?;
        if upto > s.acked_seq {
            for r in &answer.results {
                let local = local_seq(&s, r.seq)?;
                if r.outcome == EventOutcome::Rejected && local > s.acked_seq && local <= upto {
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
        prune(&tx, now)?;
        tx.commit()?;
        Ok(ack)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::testkit::{answer, kit, page};
    use crate::{ErrorCode, SyncState};

    #[test]
    fn enrolment_gives_the_terminal_its_code_and_old_references_stay() {
        let mut k = kit();
        let before = k.sell("ESPRESSO", 1);
        assert!(before.contains("-T01-"), "{before}");
        let resp = k.enroll("T07");
        let e = k.book.enrollment().unwrap();
        assert_eq!((e.store.as_deref(), e.store_name.as_deref(), e.terminal_code.as_str()), (Some("downtown"), Some("Downtown"), "T07"));
        assert_eq!(e.terminal_id, resp.terminal_id);
        let after = k.sell("ESPRESSO", 1);
        assert!(after.contains("-T07-"), "{after}");
        assert_eq!(k.book.order(&before).unwrap().order_ref, before);
        let s = k.book.sync_status().unwrap();
        assert_eq!((s.store.as_deref(), s.terminal_code.as_str(), s.retention_days), (Some("downtown"), "T07", 30));
        assert!(!s.reenroll_required);
        // A code that cannot go into a reference is refused, and nothing changes.
        let mut bad = resp.clone();
        bad.terminal_code = "T 9".into();
        assert_eq!(k.book.enroll("http://server", &bad).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(k.book.settings().terminal_code, "T07");
    }

    #[test]
    fn a_server_behind_the_book_gets_the_same_rows_again() {
        let mut k = kit();
        k.enroll("T01");
        let refs: Vec<String> = (0..3).map(|_| k.sell("LATTE", 1)).collect();
        let first = k.book.push_page(10).unwrap();
        assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        let ack = k.book.ack_push(&answer(3, false)).unwrap();
        assert_eq!((ack.acknowledged, ack.rewound), (3, 0));
        assert_eq!(k.book.sync_status().unwrap().pending, 0);
        // Restored from a backup that had only seq 1.
        let ack = k.book.ack_push(&answer(1, true)).unwrap();
        assert_eq!(ack.rewound, 2);
        let s = k.book.sync_status().unwrap();
        // Local seqs: the kit's shift.opened is local seq 1, acknowledged before the test.
        assert_eq!((s.acked_seq, s.pending, s.halted), (2, 2, None));
        assert_eq!(k.book.order(&refs[0]).unwrap().sync_state, SyncState::Applied);
        assert_eq!(k.book.order(&refs[2]).unwrap().sync_state, SyncState::Pending);
        let again = k.book.push_page(10).unwrap();
        assert_eq!(again, first[1..].to_vec(), "the same rows, the same event ids");
        k.book.ack_push(&answer(3, false)).unwrap();
        assert_eq!(k.book.sync_status().unwrap().pending, 0);
        // A pull answer below the acknowledgement rewinds too.
        k.book.apply_pull(&page(vec![], 0)).unwrap();
        assert_eq!(k.book.sync_status().unwrap().pending, 3);
        assert_eq!(k.book.push_page(10).unwrap(), first);
    }

    #[test]
    fn acknowledged_rows_are_pruned_after_the_retention_period_and_cannot_be_resent() {
        let mut k = kit();
        k.enroll("T01");
        k.book.set_setting("outbox_retention_days", "1").unwrap();
        let old = k.sell("LATTE", 1);
        k.book.push_page(10).unwrap();
        k.book.ack_push(&answer(1, false)).unwrap();
        k.time.advance(Duration::hours(23));
        let recent = k.sell("LATTE", 1);
        k.book.push_page(10).unwrap();
        k.book.ack_push(&answer(2, false)).unwrap();
        // Local seqs: the kit's shift.opened is local seq 1, acknowledged at the start.
        assert_eq!(k.book.outbox(0, 10).unwrap().len(), 3, "nothing is older than a day yet");
        k.time.advance(Duration::hours(2));
        k.book.apply_pull(&page(vec![], 2)).unwrap();
        let rows = k.book.outbox(0, 10).unwrap();
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [3], "only the rows acknowledged a day ago went");
        assert_eq!(k.book.order(&old).unwrap().sync_state, SyncState::Applied);
        assert_eq!(k.book.outbox_summary().unwrap().last_seq, 3);
        let s = k.book.sync_status().unwrap();
        assert_eq!((s.last_seq, s.pending, s.retention_days), (3, 0, 1));
        // The next row still gets seq 3: the counter, not the table, numbers the outbox.
        k.sell("LATTE", 1);
        assert_eq!(k.book.push_page(10).unwrap()[0].seq, 3);
        // A server that lost seq 1 cannot get it again: halt, kept in the book.
        let e = k.book.ack_push(&answer(0, true)).unwrap_err();
        assert_eq!(e.code, ErrorCode::ReenrollRequired);
        assert!(e.message.contains("no longer"), "{}", e.message);
        let s = k.book.sync_status().unwrap();
        assert!(s.reenroll_required && s.halted.is_some());
        assert_eq!(k.book.enrollment().unwrap_err().code, ErrorCode::ReenrollRequired);
        assert_eq!(k.book.order(&recent).unwrap().sync_state, SyncState::Applied);
    }

    #[test]
    fn a_server_ahead_of_the_book_halts_it() {
        let mut k = kit();
        k.enroll("T01");
        k.sell("LATTE", 1);
        k.book.push_page(10).unwrap();
        assert_eq!(k.book.ack_push(&answer(5, false)).unwrap_err().code, ErrorCode::ReenrollRequired);
        assert!(k.book.sync_status().unwrap().reenroll_required);
    }

    #[test]
    fn a_halted_book_keeps_its_sales_and_sends_them_under_its_new_identity() {
        let mut k = kit();
        k.enroll("T01");
        let acked = k.sell("LATTE", 1);
        let unsent = k.sell("LATTE", 2);
        k.book.push_page(1).unwrap();
        k.book.ack_push(&answer(1, false)).unwrap();
        // A 422 payload_mismatch: the sync client halts the book.
        k.book.halt_sync("the server holds different events").unwrap();
        assert_eq!(k.book.enrollment().unwrap_err().code, ErrorCode::ReenrollRequired);
        assert_eq!(k.book.sync_status().unwrap().pending, 1);
        let resp = k.enroll("T09");
        let s = k.book.sync_status().unwrap();
        // seq_base is local: the kit's shift.opened (local 1) and the acknowledged sale (local 2).
        assert_eq!((s.halted, s.reenroll_required, s.seq_base, s.pending), (None, false, 2, 1));
        let events = k.book.push_page(10).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].seq, 1, "wire seq 1 of the new identity");
        assert_eq!(events[0].payload["order_ref"], unsent.as_str());
        assert_eq!(k.book.enrollment().unwrap().terminal_id, resp.terminal_id);
        assert!(k.sell("LATTE", 1).contains("-T09-"));
        assert!(acked.contains("-T01-") && unsent.contains("-T01-"));
    }
}
