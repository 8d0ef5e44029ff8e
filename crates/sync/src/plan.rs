//! Sync planning as a pure step: from the terminal's local state and the server's last answer
//! to the next action. No network, no clock, no book: the engine feeds it and obeys it.

use tillbook_protocol::sync::{PullResponse, PushResponse};

/// What the terminal knows of its own queue and cursor, in wire seqs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    /// Highest seq written to the outbox.
    pub last_seq: u64,
    /// Highest seq the server has acknowledged.
    pub acked_seq: u64,
    /// Whether the last pull reached the head of the change log.
    pub pulled_to_head: bool,
}

/// Why a request did not get an answer the client can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No connection, a timeout, or a connection dropped before the answer.
    Unreachable(String),
    /// The server answered with a status and a `{code, message}` body.
    Status { status: u16, code: String, message: String },
}

/// The answer the last action got.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'a> {
    /// Nothing yet: the round is starting.
    Start,
    Pushed(&'a PushResponse),
    Pulled(&'a PullResponse),
    Failed(&'a Fault),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send the outbox rows after `after`.
    Push { after: u64 },
    /// Ask for changes after the stored cursor.
    Pull,
    /// The queue is empty and the cursor current.
    Done,
    /// A passing fault: wait (with backoff) and start the round again.
    Retry { reason: String },
    /// Stop syncing until a person acts (enrol again, fix the token); `code` is stable.
    Halt { code: &'static str, reason: String },
}

/// The next action.
pub fn step(local: &Local, answer: &Answer<'_>) -> Action {
    match answer {
        Answer::Failed(Fault::Unreachable(why)) => return Action::Retry { reason: why.clone() },
        Answer::Failed(Fault::Status { status, code, message }) => {
            return match status {
                500..=599 | 408 | 429 => Action::Retry { reason: format!("{status} {code}: {message}") },
                401 | 403 => Action::Halt { code: "unauthorized", reason: format!("the server refused this terminal ({code}): {message}") },
                _ => Action::Halt { code: "rejected_by_server", reason: format!("{status} {code}: {message}") },
            };
        }
        Answer::Pushed(r) if r.last_applied_seq > local.last_seq => {
            return Action::Halt {
                code: "reenroll_required",
                reason: format!(
                    "the server has applied seq {} but this terminal only wrote {}: enrol it again",
                    r.last_applied_seq, local.last_seq
                ),
            }
        }
        Answer::Pulled(r) if r.last_applied_seq > local.last_seq => {
            return Action::Halt {
                code: "reenroll_required",
                reason: format!(
                    "the server has applied seq {} but this terminal only wrote {}: enrol it again",
                    r.last_applied_seq, local.last_seq
                ),
            }
        }
        Answer::Pushed(r) if r.gap => return Action::Push { after: r.last_applied_seq },
        _ => {}
    }
    if local.acked_seq < local.last_seq {
        return Action::Push { after: local.acked_seq };
    }
    match answer {
        Answer::Pulled(r) if !r.has_more => Action::Done,
        Answer::Pulled(_) => Action::Pull,
        _ if local.pulled_to_head => Action::Done,
        _ => Action::Pull,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(last_applied_seq: u64, gap: bool) -> PushResponse {
        PushResponse { last_applied_seq, results: vec![], gap }
    }

    fn pull(has_more: bool, last_applied_seq: u64) -> PullResponse {
        PullResponse { reset: false, changes: vec![], cursor: 9, has_more, last_applied_seq }
    }

    fn local(last_seq: u64, acked_seq: u64, pulled_to_head: bool) -> Local {
        Local { last_seq, acked_seq, pulled_to_head }
    }

    #[test]
    fn case_table() {
        let p_ok = push(5, false);
        let p_gap = push(2, true);
        let p_ahead = push(9, false);
        let pl_more = pull(true, 5);
        let pl_done = pull(false, 5);
        let pl_ahead = pull(false, 7);
        let down = Fault::Unreachable("connection refused".into());
        let busy = Fault::Status { status: 503, code: "storage_unavailable".into(), message: "busy".into() };
        let auth = Fault::Status { status: 401, code: "invalid_token".into(), message: "no".into() };
        let bad = Fault::Status { status: 422, code: "payload_mismatch".into(), message: "changed".into() };
        let cases: Vec<(Local, Answer<'_>, Action)> = vec![
            (local(5, 0, false), Answer::Start, Action::Push { after: 0 }),
            (local(0, 0, false), Answer::Start, Action::Pull),
            (local(0, 0, true), Answer::Start, Action::Done),
            (local(5, 5, false), Answer::Pushed(&p_ok), Action::Pull),
            (local(8, 5, false), Answer::Pushed(&p_ok), Action::Push { after: 5 }),
            (local(5, 2, false), Answer::Pushed(&p_gap), Action::Push { after: 2 }),
            (local(5, 0, false), Answer::Pushed(&p_ahead), Action::Halt { code: "reenroll_required", reason: "the server has applied seq 9 but this terminal only wrote 5: enrol it again".into() }),
            (local(5, 5, false), Answer::Pulled(&pl_more), Action::Pull),
            (local(5, 5, false), Answer::Pulled(&pl_done), Action::Done),
            (local(6, 5, false), Answer::Pulled(&pl_done), Action::Push { after: 5 }),
            (local(5, 5, false), Answer::Pulled(&pl_ahead), Action::Halt { code: "reenroll_required", reason: "the server has applied seq 7 but this terminal only wrote 5: enrol it again".into() }),
            (local(5, 0, false), Answer::Failed(&down), Action::Retry { reason: "connection refused".into() }),
            (local(5, 0, false), Answer::Failed(&busy), Action::Retry { reason: "503 storage_unavailable: busy".into() }),
        ];
        for (i, (l, a, want)) in cases.into_iter().enumerate() {
            assert_eq!(step(&l, &a), want, "case {i}");
        }
        assert!(matches!(step(&local(5, 0, false), &Answer::Failed(&auth)), Action::Halt { code: "unauthorized", .. }));
        assert!(matches!(step(&local(5, 0, false), &Answer::Failed(&bad)), Action::Halt { code: "rejected_by_server", .. }));
    }
}
