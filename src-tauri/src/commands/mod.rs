//! The commands the UI calls, one module per concept. Each is thin: parse the arguments, make
//! one call into the order book (or the sync client) under the book's lock, map the view to its
//! transport type and the error to `{code, message}`. Commands that add to the outbox wake the
//! sync task and send `sync-changed` so the badge's pending count moves at once.

pub mod app;
pub mod basket;
pub mod catalog;
pub mod pay;
pub mod settings;
pub mod shift;
pub mod sync;

use tauri::{AppHandle, Runtime};

use crate::state::AppState;

/// After a change that wrote to the outbox: wake the sync task and tell the UI.
pub(crate) fn outbox_changed<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    state.sync.wake.notify_one();
    match state.sync_info() {
        Ok(info) => crate::sync_task::emit(app, info),
        Err(e) => tracing::warn!(error = %e, "cannot read the sync state"),
    }
}
