//! Checkout, payment and the receipt on screen.
//!
//! `checkout` commits the basket with the idempotency key `checkout:<session key>`, made once
//! per basket: a double F12 or a retry returns the same order. `pay` takes one tender; a
//! declined card is an answer (`declined`), not an error, and the order stays payable.

use tauri::{AppHandle, Runtime, State};
use tillbook_orderbook::{CommitOptions, PayOptions};
use tillbook_receipt::book::sale_receipt;
use tillbook_receipt::Paper;

use crate::commands::outbox_changed;
use crate::error::AppResult;
use crate::state::AppState;
use crate::transport::{Checkout, PayResult, ReceiptInfo, TenderInput};

/// The idempotency key of a basket's checkout.
pub fn checkout_key(session_key: &str) -> String {
    format!("checkout:{session_key}")
}

/// Commits the basket as an order (once: the same basket always gives the same order).
#[tauri::command]
#[specta::specta]
pub fn checkout<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, key: String) -> AppResult<Checkout> {
    let out = {
        let mut book = state.book();
        let c = book.commit(&key, &checkout_key(&key), CommitOptions::default())?;
        // A retried checkout may find the order partly paid already.
        let amount_due_q = if c.replayed { book.order(&c.order_ref)?.amount_due_q } else { c.total_q };
        tracing::info!(order_ref = %c.order_ref, total_q = c.total_q, replayed = c.replayed, "checkout");
        Checkout { order_ref: c.order_ref, total_q: c.total_q, amount_due_q, currency: c.currency }
    };
    outbox_changed(&app, &state);
    Ok(out)
}

/// Pays the order with one tender (cash with change, a card through the gateway, a method).
#[tauri::command]
#[specta::specta]
pub fn pay<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, order_ref: String, tender: TenderInput) -> AppResult<PayResult> {
    let out = state.book().pay(&order_ref, &[tender.to_tender()], PayOptions::default())?;
    let declined = out.declined.as_ref().map(|d| d.code.as_str());
    tracing::info!(order_ref = %out.order_ref, paid_q = out.paid_q, amount_due_q = out.amount_due_q, ?declined, "payment");
    outbox_changed(&app, &state);
    Ok(out.into())
}

/// The sale's receipt as the 48-column text `tillbook receipt REF` prints.
#[tauri::command]
#[specta::specta]
pub fn receipt(state: State<'_, AppState>, order_ref: String) -> AppResult<ReceiptInfo> {
    let book = state.book();
    let order = book.order(&order_ref)?;
    let text = tillbook_receipt::text(&sale_receipt(book.settings(), &order, false), Paper::Mm80.columns());
    Ok(ReceiptInfo { order_ref: order.order_ref, text })
}
