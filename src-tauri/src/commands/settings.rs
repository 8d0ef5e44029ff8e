//! The settings screen: what the till is and what a shop sets, kept in the book (one
//! transaction, backed up with it), never in a separate file.

use tauri::State;
use tillbook_orderbook::Book;

use crate::error::AppResult;
use crate::state::{is_demo, AppState};
use crate::transport::{SettingsInfo, SettingsInput};

fn settings_of(book: &Book) -> AppResult<SettingsInfo> {
    let s = book.settings();
    let sync = book.sync_status()?;
    Ok(SettingsInfo {
        shop_name: s.shop_name.clone(),
        locale: s.locale.clone(),
        currency: s.currency.clone(),
        terminal_code: s.terminal_code.clone(),
        server_url: sync.server_url,
        enrolled: sync.enrolled,
        demo: is_demo(book)?,
    })
}

#[tauri::command]
#[specta::specta]
pub fn settings_get(state: State<'_, AppState>) -> AppResult<SettingsInfo> {
    settings_of(&state.book())
}

/// Saves the shop's name and the locale together: both or (`invalid_setting`) neither.
#[tauri::command]
#[specta::specta]
pub fn settings_save(state: State<'_, AppState>, settings: SettingsInput) -> AppResult<SettingsInfo> {
    let mut book = state.book();
    book.set_settings(&[("shop_name", settings.shop_name.trim()), ("locale", settings.locale.trim())])?;
    settings_of(&book)
}
