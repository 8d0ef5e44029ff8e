//! Opening the cash-drawer shift with its float (a real till with no open shift asks for it
//! before selling).

use tauri::{AppHandle, Runtime, State};

use crate::commands::app::app_info_of;
use crate::commands::outbox_changed;
use crate::error::AppResult;
use crate::state::AppState;
use crate::transport::AppInfo;

/// Opens a shift with `float_q` in the drawer; `shift_already_open` when one is.
#[tauri::command]
#[specta::specta]
pub fn shift_open<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, float_q: i64) -> AppResult<AppInfo> {
    let info = {
        let mut book = state.book();
        book.open_shift(float_q)?;
        app_info_of(&book, &state)?
    };
    outbox_changed(&app, &state);
    Ok(info)
}
