//! `ui/src/lib/bindings.ts`: the commands, types and events of [`crate::specta_builder`] as
//! TypeScript, written by `cargo run -p tillbook-app --bin export-bindings`. A test fails when
//! the committed file differs from what the Rust types generate.

use std::path::{Path, PathBuf};

use specta_typescript::Typescript;

/// How to bring the committed file up to date.
pub const REGENERATE: &str = "cargo run -p tillbook-app --bin export-bindings";

/// Where the UI imports the bindings from.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts")
}

/// Writes the bindings to `path`.
pub fn export(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let header = format!("// Generated from the Rust types of src-tauri by `{REGENERATE}`. Do not edit.\n");
    crate::specta_builder::<tauri::Wry>()
        .export(Typescript::default().header(header), path)
        .map_err(|e| format!("cannot export the TypeScript bindings: {e}"))
}
