//! The background sync task: a tokio task on Tauri's async runtime with its OWN `Book` on the
//! same file (the UI's book lock is never held across an await).
//!
//! Each round sweeps the payment window, runs one sync round when the till is enrolled
//! (`tillbook_sync::run` with one attempt) and emits `sync-changed` with the new
//! [`SyncInfo`]. The next round comes after [`ONLINE_INTERVAL`] when the round succeeded or
//! failed for good (rejected, halted: reported, never a tight loop), after a backoff with
//! jitter ([`MIN_BACKOFF`]..[`MAX_BACKOFF`]) while the server is unreachable, or at once when
//! a command wakes it (checkout, pay, enroll, shift_open, sync_now).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;
use tillbook_orderbook::Book;

use crate::state::{sync_info, SyncShared};
use crate::transport::{SyncChanged, SyncInfo};

/// Between rounds while all is well (or after a failure that needs a person).
pub const ONLINE_INTERVAL: Duration = Duration::from_secs(5);
/// Backoff bounds while the server is unreachable.
pub const MIN_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How one round ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// Not enrolled: only the sweep ran.
    Local,
    /// Synced.
    Synced,
    /// The server could not be reached (retry with backoff).
    Unreachable,
    /// A failure that retrying soon will not fix (rejected, halted, unauthorized…).
    Failed(String),
}

impl Round {
    /// What the badge says about the connection after this round.
    pub fn online(&self) -> Option<bool> {
        match self {
            Round::Local => None,
            Round::Synced => Some(true),
            Round::Unreachable => Some(false),
            // The server answered (or the book refuses to sync): it was reached, or there is
            // nothing to say about the connection.
            Round::Failed(_) => Some(true),
        }
    }
}

fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(MIN_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_jitter()
        .without_max_times()
        .build()
}

/// One round on the task's own book: sweep, then sync if enrolled.
pub async fn round(book: &mut Book) -> Round {
    match book.sweep_payment_window() {
        Ok(cancelled) if !cancelled.is_empty() => tracing::info!(?cancelled, "payment window: cancelled unpaid orders"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "payment window sweep failed"),
    }
    match book.sync_status() {
        Ok(s) if !s.enrolled => return Round::Local,
        Ok(_) => {}
        Err(e) => return Round::Failed(e.to_string()),
    }
    let once = tillbook_sync::Options { attempts: 1, ..tillbook_sync::Options::default() };
    match tillbook_sync::run(book, &once).await {
        Ok(report) => {
            if report.pushed + report.pulled + report.rejected > 0 {
                tracing::info!(pushed = report.pushed, rejected = report.rejected, pulled = report.pulled, "synced");
            }
            Round::Synced
        }
        Err(e) if e.is_transient() => {
            tracing::debug!(error = %e, "server unreachable");
            Round::Unreachable
        }
        Err(e) => {
            tracing::warn!(error = %e, "sync failed");
            Round::Failed(e.to_string())
        }
    }
}

/// Sends `sync-changed` with `info` to every window.
pub fn emit<R: Runtime>(app: &AppHandle<R>, info: SyncInfo) {
    if let Err(e) = SyncChanged(info).emit(app) {
        tracing::warn!(error = %e, "cannot emit sync-changed");
    }
}

/// Runs until the app exits.
pub async fn run<R: Runtime>(app: AppHandle<R>, path: PathBuf, shared: Arc<SyncShared>) {
    let mut book: Option<(u64, Book)> = None;
    let mut delays = backoff();
    loop {
        let epoch = shared.epoch();
        if book.as_ref().is_none_or(|(seen, _)| *seen != epoch) {
            // Open (again, after an enrolment changed the book's identity).
            book = match Book::open(&path) {
                Ok(b) => Some((epoch, b)),
                Err(e) => {
                    tracing::error!(error = %e, path = %path.display(), "sync task cannot open the book");
                    None
                }
            };
        }
        let wait = match book.as_mut() {
            None => ONLINE_INTERVAL,
            Some((_, b)) => {
                let outcome = round(b).await;
                shared.set_online(outcome.online());
                match sync_info(b, shared.online()) {
                    Ok(info) => emit(&app, info),
                    Err(e) => tracing::warn!(error = %e, "cannot read the sync state"),
                }
                match outcome {
                    Round::Unreachable => delays.next().unwrap_or(MAX_BACKOFF),
                    _ => {
                        delays = backoff();
                        ONLINE_INTERVAL
                    }
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shared.wake.notified() => {}
        }
    }
}
