//! The app's tests: the commands on Tauri's mock runtime (`commands`) and the committed
//! TypeScript bindings (`bindings`).

mod bindings;
mod commands;
mod sync;
