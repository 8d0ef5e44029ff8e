//! The basket (an open session of the book) and tabs: open, scan, add, quantities, discounts,
//! note, park as a tab, list tabs, abandon. Each change is one book call (one transaction);
//! the basket returned is the book's view after it.

use tauri::State;
use tillbook_orderbook::Book;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::transport::{tab_handle, Basket, TabSummary};

fn basket(book: &Book, key: &str) -> AppResult<Basket> {
    Ok(book.session(key)?.into())
}

/// A new basket; `handle` names it as a tab (`Ana` is stored as `tab:Ana`).
#[tauri::command]
#[specta::specta]
pub fn basket_open(state: State<'_, AppState>, handle: Option<String>) -> AppResult<Basket> {
    let handle = handle.filter(|h| !h.trim().is_empty()).map(|h| tab_handle(&h));
    Ok(state.book().open_session(handle.as_deref(), None)?.into())
}

#[tauri::command]
#[specta::specta]
pub fn basket_get(state: State<'_, AppState>, key: String) -> AppResult<Basket> {
    basket(&state.book(), &key)
}

/// What the scan field sends: `CODE` or `N*CODE` (SKU or barcode). An unknown code is
/// `unknown_product` and the basket is unchanged; a bad `N` is `invalid_quantity`.
#[tauri::command]
#[specta::specta]
pub fn basket_scan(state: State<'_, AppState>, key: String, input: String) -> AppResult<Basket> {
    let mut book = state.book();
    book.scan(&key, &input)?;
    basket(&book, &key)
}

/// Adds `qty` of a product (a catalog tile).
#[tauri::command]
#[specta::specta]
pub fn basket_add(state: State<'_, AppState>, key: String, sku: String, qty: i64) -> AppResult<Basket> {
    let mut book = state.book();
    book.add_line(&key, &sku, qty, None)?;
    basket(&book, &key)
}

/// Sets a line's quantity; 0 removes the line.
#[tauri::command]
#[specta::specta]
pub fn basket_set_qty(state: State<'_, AppState>, key: String, line_id: String, qty: i64) -> AppResult<Basket> {
    let mut book = state.book();
    if qty == 0 {
        book.remove_line(&key, &line_id)?;
    } else {
        book.set_quantity(&key, &line_id, qty)?;
    }
    basket(&book, &key)
}

#[tauri::command]
#[specta::specta]
pub fn basket_remove(state: State<'_, AppState>, key: String, line_id: String) -> AppResult<Basket> {
    let mut book = state.book();
    book.remove_line(&key, &line_id)?;
    basket(&book, &key)
}

/// Sets the basket's note (empty clears it).
#[tauri::command]
#[specta::specta]
pub fn basket_note(state: State<'_, AppState>, key: String, note: String) -> AppResult<Basket> {
    let mut book = state.book();
    book.set_note(&key, &note)?;
    basket(&book, &key)
}

/// Sets a line's discount in minor units (0 removes it).
#[tauri::command]
#[specta::specta]
pub fn basket_line_discount(state: State<'_, AppState>, key: String, line_id: String, discount_q: i64) -> AppResult<Basket> {
    let mut book = state.book();
    book.set_line_discount(&key, &line_id, discount_q)?;
    basket(&book, &key)
}

/// Sets the order discount in minor units (0 removes it); a large one needs a manager
/// (`permission_denied`).
#[tauri::command]
#[specta::specta]
pub fn basket_discount(state: State<'_, AppState>, key: String, discount_q: i64) -> AppResult<Basket> {
    let mut book = state.book();
    book.set_discount(&key, discount_q)?;
    basket(&book, &key)
}

/// Names the basket as a tab and leaves it open (`Ana` is stored as `tab:Ana`).
#[tauri::command]
#[specta::specta]
pub fn basket_park(state: State<'_, AppState>, key: String, handle: String) -> AppResult<TabSummary> {
    if handle.trim().is_empty() {
        return Err(AppError::new("invalid_argument", "give the tab a name"));
    }
    let mut book = state.book();
    book.set_handle(&key, &tab_handle(&handle))?;
    let tab = book.sessions(None)?.into_iter().find(|s| s.session_key == key);
    tab.map(TabSummary::from).ok_or_else(|| AppError::new("unknown_session", format!("no open session {key:?}")))
}

/// Open baskets that are tabs (named) or hold at least one line, newest first.
#[tauri::command]
#[specta::specta]
pub fn tabs(state: State<'_, AppState>) -> AppResult<Vec<TabSummary>> {
    let sessions = state.book().sessions(None)?;
    Ok(sessions.into_iter().filter(|s| s.handle.is_some() || s.lines > 0).map(TabSummary::from).collect())
}

/// Abandons the basket (its holds are released).
#[tauri::command]
#[specta::specta]
pub fn basket_abandon(state: State<'_, AppState>, key: String) -> AppResult<()> {
    Ok(state.book().abandon_session(&key)?)
}
