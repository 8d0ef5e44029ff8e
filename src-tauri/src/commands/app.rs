//! `app_info`: the till, who acts and its shift, for the shell.

use tauri::State;
use tillbook_orderbook::Book;

use crate::error::AppResult;
use crate::state::{is_demo, AppState};
use crate::transport::{AppInfo, ShiftInfo};

/// The shell's view of the till as `book` sees it now.
pub(crate) fn app_info_of(book: &Book, state: &AppState) -> AppResult<AppInfo> {
    let s = book.settings();
    Ok(AppInfo {
        demo: is_demo(book)?,
        enrolled: book.sync_status()?.enrolled,
        shop_name: s.shop_name.clone(),
        locale: s.locale.clone(),
        currency: s.currency.clone(),
        terminal_code: s.terminal_code.clone(),
        store_name: s.store_name.clone(),
        cashier: book.whoami()?.name,
        shift: book.current_shift()?.as_ref().map(ShiftInfo::from),
        tender_methods: s.tender_methods.clone(),
        data_dir: state.data_dir.display().to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// The till, who acts and its open shift (`shift: null`: ask for the float first).
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> AppResult<AppInfo> {
    app_info_of(&state.book(), &state)
}
