//! The committed `ui/src/lib/bindings.ts` is what the Rust types generate.

use crate::bindings::{default_path, export, REGENERATE};

#[test]
fn committed_bindings_are_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("bindings.ts");
    export(&fresh).unwrap();
    let fresh = std::fs::read_to_string(&fresh).unwrap();
    let committed = std::fs::read_to_string(default_path()).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/lib/bindings.ts is stale (or missing): the Rust types of src-tauri changed. Regenerate it with `{REGENERATE}` and commit it."
    );
}
