//! The Tillbook till as a Tauri 2 app: thin commands over the order book
//! (`tillbook-orderbook`), the sync client (`tillbook-sync`) and the receipt builders
//! (`tillbook-receipt`). It never touches SQL.
//!
//! - [`commands`]: what the UI calls, one module per concept; parse → one book call → map.
//! - [`transport`]: the boundary types (money `i64` minor units as `number`, ids and times as
//!   strings) and the `sync-changed` event; [`error`]: `{code, message}`.
//! - [`state`]: the data dir (`TILLBOOK_DATA_DIR` or the app data dir), the UI's `Book`
//!   behind a mutex, first start as a demo till.
//! - [`sync_task`]: the background sync loop with its own `Book`; [`logging`]: the daily log
//!   file; [`bindings`]: `ui/src/lib/bindings.ts`, generated from these types.

pub mod bindings;
pub mod commands;
pub mod error;
pub mod logging;
pub mod state;
pub mod sync_task;
pub mod transport;
pub mod window;

#[cfg(test)]
mod tests;

use tauri::{Manager, Runtime};
use tauri_specta::{collect_commands, collect_events};

use crate::state::AppState;

/// Every command and event of the app, for the invoke handler and the TypeScript bindings.
///
/// The runtime-generic commands are named with `tauri::Wry` for their types only (`AppHandle`
/// is not part of the bindings); the invoke handler serves them on any runtime `R` (the mock
/// runtime in tests).
pub fn specta_builder<R: Runtime>() -> tauri_specta::Builder<R> {
    use commands::{app, basket, catalog, pay, settings, shift, sync};
    tauri_specta::Builder::<R>::new()
        .commands(collect_commands![
            app::app_info,
            catalog::catalog,
            basket::basket_open,
            basket::basket_get,
            basket::basket_scan,
            basket::basket_add,
            basket::basket_set_qty,
            basket::basket_remove,
            basket::basket_note,
            basket::basket_line_discount,
            basket::basket_discount,
            basket::basket_park,
            basket::tabs,
            basket::basket_abandon,
            pay::checkout::<tauri::Wry>,
            pay::pay::<tauri::Wry>,
            pay::receipt,
            sync::sync_info,
            sync::sync_now,
            sync::enroll::<tauri::Wry>,
            settings::settings_get,
            settings::settings_save,
            shift::shift_open::<tauri::Wry>,
        ])
        .events(collect_events![transport::SyncChanged])
        .dangerously_cast_bigints_to_number()
        .disable_serde_phases()
}

/// Opens the book in the data dir (a demo till on first start), starts logging and the sync
/// task, and manages the state the commands use.
pub fn setup<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = state::data_dir(app)?;
    if let Some(guard) = logging::init(&dir) {
        app.manage(guard);
    }
    let state = AppState::open(&dir).inspect_err(|e| tracing::error!(error = %e, dir = %dir.display(), "cannot open the book"))?;
    tracing::info!(book = %state.book_path.display(), version = env!("CARGO_PKG_VERSION"), "till started");
    let (path, shared) = (state.book_path.clone(), state.sync.clone());
    app.manage(state);
    tauri::async_runtime::spawn(sync_task::run(app.clone(), path, shared));
    window::fit_main_window(app);
    Ok(())
}

/// Runs the app until its window closes.
pub fn run() {
    let builder = specta_builder::<tauri::Wry>();
    let result = tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            setup(app.handle())
        })
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped");
        eprintln!("tillbook-app: {e}");
        std::process::exit(1);
    }
}
