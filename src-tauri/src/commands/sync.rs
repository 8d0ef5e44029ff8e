//! The sync badge and enrolment. Syncing itself runs in the background task (`sync_task`).

use tauri::{AppHandle, Runtime, State};
use tillbook_orderbook::Book;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::transport::SyncInfo;

/// The badge's state now.
#[tauri::command]
#[specta::specta]
pub fn sync_info(state: State<'_, AppState>) -> AppResult<SyncInfo> {
    state.sync_info()
}

/// Wakes the background task for a round now.
#[tauri::command]
#[specta::specta]
pub fn sync_now(state: State<'_, AppState>) -> AppResult<()> {
    state.sync.wake.notify_one();
    Ok(())
}

/// Enrols the till with a server and a one-time code (`tillbook enroll`). The HTTP call runs
/// on a connection of its own, so the UI's book stays free meanwhile; the UI's book is then
/// opened again to take the new identity (terminal code, store).
#[tauri::command]
#[specta::specta]
pub async fn enroll<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server_url: String,
    code: String,
) -> AppResult<SyncInfo> {
    let (server_url, code) = (server_url.trim().to_string(), code.trim().to_string());
    if server_url.is_empty() || code.is_empty() {
        return Err(AppError::new("invalid_argument", "give the server's address and the enrolment code"));
    }
    let mut own = Book::open(&state.book_path)?;
    let enrolled = tillbook_sync::enroll(&mut own, &server_url, &code).await?;
    tracing::info!(terminal = %enrolled.terminal_code, store = ?enrolled.store, server = %server_url, "enrolled");
    drop(own);
    state.replace_book(Book::open(&state.book_path)?);
    state.sync.set_online(Some(true));
    state.sync.identity_changed();
    let info = state.sync_info()?;
    crate::sync_task::emit(&app, info.clone());
    Ok(info)
}
