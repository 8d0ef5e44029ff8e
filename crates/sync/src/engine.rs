//! The sync engine: runs rounds of push and pull against the server, keeps every result in the
//! book, and retries passing faults with exponential backoff and jitter.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use serde::Serialize;
use tillbook_orderbook::Book;
use tillbook_protocol::sync::{PullRequest, PushRequest};
use tillbook_protocol::PROTOCOL_VERSION;

use crate::client::Client;
use crate::plan::{self, Action, Answer, Fault, Local};

/// How a sync run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Outbox rows per push request.
    pub push_page: usize,
    /// Changes per pull request.
    pub pull_page: u32,
    /// Attempts of one round before `run` gives up on passing faults.
    pub attempts: usize,
    /// Backoff bounds between attempts.
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            push_page: 200,
            pull_page: 500,
            attempts: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// A sync failure with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SyncError {}

impl From<tillbook_orderbook::Error> for SyncError {
    fn from(e: tillbook_orderbook::Error) -> Self {
        SyncError { code: e.code.as_str().to_string(), message: e.message }
    }
}

impl SyncError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        SyncError { code: code.to_string(), message: message.into() }
    }

    /// True for faults worth retrying later (the server was unreachable or busy).
    pub fn is_transient(&self) -> bool {
        self.code == "server_unreachable"
    }
}

/// What one completed round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub pushed: i64,
    pub rejected: i64,
    pub pulled: i64,
    pub requests: i64,
}

fn local(book: &Book, pulled_to_head: bool) -> Result<Local, SyncError> {
    let s = book.sync_status()?;
    Ok(Local {
        last_seq: (s.last_seq - s.seq_base).max(0) as u64,
        acked_seq: (s.acked_seq - s.seq_base).max(0) as u64,
        pulled_to_head,
    })
}

/// Saves a halt in the book (unless one is kept already, with its own reason).
fn keep_halt(book: &mut Book, reason: &str) -> Result<(), SyncError> {
    if book.sync_status()?.halted.is_none() {
        book.halt_sync(reason)?;
    }
    Ok(())
}

/// One round: push until the queue is empty, pull until the cursor is current.
async fn round(book: &mut Book, client: &Client, opts: &Options) -> Result<Report, (SyncError, bool)> {
    let enrollment = book.enrollment().map_err(|e| (e.into(), false))?;
    let mut report = Report::default();
    let mut pulled_to_head = false;
    let mut fault: Option<Fault> = None;
    let mut push_answer;
    let mut pull_answer;
    let mut answer = Answer::Start;
    loop {
        let l = local(book, pulled_to_head).map_err(|e| (e, false))?;
        match plan::step(&l, &answer) {
            Action::Done => return Ok(report),
            Action::Retry { reason } => return Err((SyncError::new("server_unreachable", reason), true)),
            Action::Halt { code, reason } => {
                if code == "reenroll_required" {
                    keep_halt(book, &reason).map_err(|e| (e, false))?;
                }
                return Err((SyncError::new(code, reason), false));
            }
            Action::Push { after } => {
                let events = book.push_page(opts.push_page).map_err(|e| (e.into(), false))?;
                let req = PushRequest {
                    protocol: PROTOCOL_VERSION,
                    terminal_id: enrollment.terminal_id,
                    store: enrollment.store.clone(),
                    events,
                };
                report.requests += 1;
                match client.push(&req).await {
                    Ok(resp) => {
                        match book.ack_push(&resp) {
                            Ok(ack) => {
                                report.pushed += ack.acknowledged;
                                report.rejected += ack.rejected;
                            }
                            // The book halted (kept in it): nothing more under this identity.
                            Err(e) => return Err((e.into(), false)),
                        }
                        push_answer = resp;
                        answer = Answer::Pushed { after, answer: &push_answer };
                    }
                    Err(f) => answer = Answer::Failed(fault.insert(f)),
                }
            }
            Action::Pull => {
                let from = book.pull_cursor().map_err(|e| (e.into(), false))?;
                let req = PullRequest {
                    protocol: PROTOCOL_VERSION,
                    terminal_id: enrollment.terminal_id,
                    store: enrollment.store.clone(),
                    cursor: from,
                    limit: opts.pull_page,
                };
                report.requests += 1;
                match client.pull(&req).await {
                    Ok(resp) => {
                        match book.apply_pull(&resp) {
                            Ok(()) => report.pulled += resp.changes.len() as i64,
                            // The book halted (kept in it): nothing more under this identity.
                            Err(e) => return Err((e.into(), false)),
                        }
                        pulled_to_head = !resp.has_more;
                        pull_answer = resp;
                        answer = Answer::Pulled { from, answer: &pull_answer };
                    }
                    Err(f) => answer = Answer::Failed(fault.insert(f)),
                }
            }
        }
    }
}

fn backoff(opts: &Options) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(opts.min_delay)
        .with_max_delay(opts.max_delay)
        .with_jitter()
        .without_max_times()
        .build()
}

/// Syncs until the queue is empty and the cursor current, retrying passing faults (and rounds
/// that make no progress) up to `opts.attempts` times, each after a backoff delay with jitter.
/// Every outcome is recorded in the book (`sync status`). A halted book fails at once with
/// `reenroll_required`.
pub async fn run(book: &mut Book, opts: &Options) -> Result<Report, SyncError> {
    let enrollment = book.enrollment()?;
    let client = Client::new(&enrollment.server_url, Some(&enrollment.token)).map_err(fault_error)?;
    let mut delays = backoff(opts);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match round(book, &client, opts).await {
            Ok(report) => {
                book.record_sync_result(None)?;
                return Ok(report);
            }
            Err((e, transient)) => {
                book.record_sync_result(Some(&e.to_string()))?;
                if !transient || attempt >= opts.attempts {
                    return Err(e);
                }
                let delay = delays.next().unwrap_or(opts.max_delay);
                tracing::warn!(error = %e, ?delay, "sync round failed; retrying");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Keeps syncing: a round every `interval` while all is well, backoff with jitter while the
/// server is unreachable; each round first sweeps the payment window. Returns only on a fault
/// that needs a person (or `stop`).
pub async fn watch(
    book: &mut Book,
    opts: &Options,
    interval: Duration,
    mut on_round: impl FnMut(&Result<Report, SyncError>),
) -> SyncError {
    let mut delays = backoff(opts);
    loop {
        // A till that keeps syncing is a till that runs: the payment window is checked every
        // round, online or not (its cancellations are pushed in this very round).
        if let Err(e) = book.sweep_payment_window() {
            return e.into();
        }
        let once = Options { attempts: 1, ..opts.clone() };
        let result = run(book, &once).await;
        on_round(&result);
        match result {
            Ok(_) => {
                delays = backoff(opts);
                tokio::time::sleep(interval).await;
            }
            Err(e) if e.is_transient() => {
                tokio::time::sleep(delays.next().unwrap_or(opts.max_delay)).await;
            }
            Err(e) => return e,
        }
    }
}

/// Enrols the book with a server using a one-time code.
pub async fn enroll(book: &mut Book, server_url: &str, code: &str) -> Result<tillbook_orderbook::Enrollment, SyncError> {
    let client = Client::new(server_url, None).map_err(fault_error)?;
    let resp = client.enroll(code).await.map_err(fault_error)?;
    Ok(book.enroll(server_url, &resp)?)
}

fn fault_error(f: Fault) -> SyncError {
    match f {
        Fault::Unreachable(why) => SyncError::new("server_unreachable", format!("cannot reach the server: {why}")),
        Fault::Status { status, code, message } => SyncError::new(&code, format!("the server answered {status}: {message}")),
    }
}
