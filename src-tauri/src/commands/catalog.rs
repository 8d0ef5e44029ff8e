//! `catalog`: every active product, for the grid and search-as-you-type (the UI filters).

use tauri::State;

use crate::error::AppResult;
use crate::state::AppState;
use crate::transport::CatalogItem;

/// All active products, by category and name.
#[tauri::command]
#[specta::specta]
pub fn catalog(state: State<'_, AppState>) -> AppResult<Vec<CatalogItem>> {
    let book = state.book();
    let now = book.now();
    Ok(book.products(None)?.iter().filter(|p| p.active).map(|p| CatalogItem::of(p, now)).collect())
}
