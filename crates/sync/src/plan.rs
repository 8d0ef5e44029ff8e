//! Sync planning as a pure step: from the terminal's local state and the server's last answer
//! to the next action. No network, no clock, no book: the engine feeds it and obeys it.

use tillbook_protocol::sync::{PullCursor, PullResponse, PushResponse};

/// What the terminal knows of its own queue and cursor, in wire seqs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    /// Highest seq written to the outbox.
    pub last_seq: u64,
    /// Highest seq the server has acknowledged (after the last answer was applied to the book:
    /// an answer below the acknowledgement has rewound it).
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
    /// The push of the rows after wire seq `after` got `answer`.
    Pushed { after: u64, answer: &'a PushResponse },
    /// The pull from cursor `from` got `answer`.
    Pulled { from: Option<PullCursor>, answer: &'a PullResponse },
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
    /// A passing fault, or a round that makes no progress: wait (with backoff) and start the
    /// round again. Never loop on it.
    Retry { reason: String },
    /// Stop syncing until a person acts (enrol again, fix the token); `code` is stable.
    Halt { code: &'static str, reason: String },
}

fn ahead(server: u64, local: &Local) -> Action {
    Action::Halt {
        code: "reenroll_required",
        reason: format!(
            "the server has applied seq {server} but this terminal only wrote {}: enrol it again",
            local.last_seq
        ),
    }
}

/// The next action.
pub fn step(local: &Local, answer: &Answer<'_>) -> Action {
    match answer {
        Answer::Failed(Fault::Unreachable(why)) => return Action::Retry { reason: why.clone() },
        Answer::Failed(Fault::Status { status, code, message }) => {
            return match (status, code.as_str()) {
                (422, "payload_mismatch") => Action::Halt {
                    code: "reenroll_required",
                    reason: format!(
                        "the server holds different events at sequence numbers this book holds ({message}): \
                         the book was copied or restored. Enrol it again with a new code (`tillbook enroll`)"
                    ),
                },
                (500..=599 | 408 | 429, _) => Action::Retry { reason: format!("{status} {code}: {message}") },
                (401 | 403, _) => {
                    Action::Halt { code: "unauthorized", reason: format!("the server refused this terminal ({code}): {message}") }
                }
                _ => Action::Halt { code: "rejected_by_server", reason: format!("{status} {code}: {message}") },
            };
        }
        Answer::Pushed { answer: r, .. } if r.last_applied_seq > local.last_seq => return ahead(r.last_applied_seq, local),
        Answer::Pulled { answer: r, .. } if r.last_applied_seq > local.last_seq => return ahead(r.last_applied_seq, local),
        // The server took nothing of the page: a repeated gap, or an answer that does not
        // advance. Sending the same page at once would loop: back off instead.
        Answer::Pushed { after, answer: r } if r.last_applied_seq == *after && local.acked_seq < local.last_seq => {
            let what = if r.gap { "reported a gap again" } else { "applied nothing" };
            return Action::Retry { reason: format!("the server {what} at seq {after}: trying again later") };
        }
        Answer::Pulled { from, answer: r } if r.has_more && !r.reset && *from == Some(r.cursor) => {
            return Action::Retry { reason: "the server's change log did not move past the cursor: trying again later".into() };
        }
        _ => {}
    }
    // An answer below what was acknowledged has rewound the book: this resends from there.
    if local.acked_seq < local.last_seq {
        return Action::Push { after: local.acked_seq };
    }
    match answer {
        Answer::Pulled { answer: r, .. } if !r.has_more => Action::Done,
        Answer::Pulled { .. } => Action::Pull,
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
        PullResponse { reset: false, changes: vec![], cursor: cur(9), has_more, last_applied_seq }
    }

    fn cur(n: u64) -> PullCursor {
        PullCursor { chain: n, store: n }
    }

    fn local(last_seq: u64, acked_seq: u64, pulled_to_head: bool) -> Local {
        Local { last_seq, acked_seq, pulled_to_head }
    }

    fn pushed(after: u64, answer: &PushResponse) -> Answer<'_> {
        Answer::Pushed { after, answer }
    }

    fn pulled(from: u64, answer: &PullResponse) -> Answer<'_> {
        Answer::Pulled { from: Some(cur(from)), answer }
    }

    #[test]
    fn case_table() {
        let p_ok = push(5, false);
        let p_gap = push(2, true);
        let p_ahead = push(9, false);
        let p_behind = push(1, false);
        let p_zero = push(0, true);
        let pl_more = pull(true, 5);
        let pl_done = pull(false, 5);
        let pl_ahead = pull(false, 7);
        let pl_behind = pull(false, 2);
        let down = Fault::Unreachable("connection refused".into());
        let busy = Fault::Status { status: 503, code: "storage_unavailable".into(), message: "busy".into() };
        let mismatch = Fault::Status { status: 422, code: "payload_mismatch".into(), message: "seq 3 differs".into() };
        let retry = |s: &str| Action::Retry { reason: s.into() };
        let cases: Vec<(Local, Answer<'_>, Action)> = vec![
            // A round starts: push what is pending, else pull, else done.
            (local(5, 0, false), Answer::Start, Action::Push { after: 0 }),
            (local(0, 0, false), Answer::Start, Action::Pull),
            (local(0, 0, true), Answer::Start, Action::Done),
            // Pushes that advance.
            (local(5, 5, false), pushed(0, &p_ok), Action::Pull),
            (local(8, 5, false), pushed(0, &p_ok), Action::Push { after: 5 }),
            (local(5, 5, true), pushed(3, &p_ok), Action::Done),
            // A gap below what was sent: the book rewound to 2, resend from there.
            (local(5, 2, false), pushed(4, &p_gap), Action::Push { after: 2 }),
            // The same gap again, or an answer that does not move: back off, never loop.
            (local(5, 2, false), pushed(2, &p_gap), retry("the server reported a gap again at seq 2: trying again later")),
            (local(8, 5, false), pushed(5, &p_ok), retry("the server applied nothing at seq 5: trying again later")),
            // A server restored from a backup: below the acknowledgement, the book rewound.
            (local(6, 1, false), pushed(6, &p_behind), Action::Push { after: 1 }),
            (local(6, 0, false), pushed(6, &p_zero), Action::Push { after: 0 }),
            (local(6, 2, false), pulled(9, &pl_behind), Action::Push { after: 2 }),
            // A server ahead of the book: halt.
            (local(5, 0, false), pushed(0, &p_ahead), ahead(9, &local(5, 0, false))),
            (local(5, 5, false), pulled(1, &pl_ahead), ahead(7, &local(5, 5, false))),
            // Pulls.
            (local(5, 5, false), pulled(1, &pl_more), Action::Pull),
            (local(5, 5, false), pulled(9, &pl_more), retry("the server's change log did not move past the cursor: trying again later")),
            (local(5, 5, false), pulled(1, &pl_done), Action::Done),
            (local(5, 5, false), Answer::Pulled { from: None, answer: &pl_done }, Action::Done),
            (local(6, 5, false), pulled(1, &pl_done), Action::Push { after: 5 }),
            // Faults.
            (local(5, 0, false), Answer::Failed(&down), retry("connection refused")),
            (local(5, 0, false), Answer::Failed(&busy), retry("503 storage_unavailable: busy")),
        ];
        for (i, (l, a, want)) in cases.into_iter().enumerate() {
            assert_eq!(step(&l, &a), want, "case {i}");
        }
        let auth = Fault::Status { status: 401, code: "invalid_token".into(), message: "no".into() };
        let bad = Fault::Status { status: 422, code: "invalid_event".into(), message: "changed".into() };
        assert!(matches!(step(&local(5, 0, false), &Answer::Failed(&auth)), Action::Halt { code: "unauthorized", .. }));
        assert!(matches!(step(&local(5, 0, false), &Answer::Failed(&bad)), Action::Halt { code: "rejected_by_server", .. }));
        match step(&local(5, 0, false), &Answer::Failed(&mismatch)) {
            Action::Halt { code: "reenroll_required", reason } => assert!(reason.contains("seq 3 differs"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
