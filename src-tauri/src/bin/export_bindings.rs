//! Writes `ui/src/lib/bindings.ts` (or the path given) from the app's Rust types.

fn main() {
    let path = std::env::args_os().nth(1).map(std::path::PathBuf::from).unwrap_or_else(tillbook_app::bindings::default_path);
    match tillbook_app::bindings::export(&path) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => {
            eprintln!("export-bindings: {e}");
            std::process::exit(1);
        }
    }
}
