//! Reads the Tauri config at the repository root (`../tauri.conf.json`; `src-tauri/tauri.conf.json`
//! is a symlink to it for the Tauri CLI).

fn main() {
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    println!("cargo:rerun-if-changed=../ui/dist");
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json")) {
        panic!("tauri-build failed: {e:#}");
    }
}
