//! The golden receipt, compared byte for byte with `tests/golden/`.
//!
//! After an intended change, regenerate the files and review the diff:
//!
//! ```sh
//! TILLBOOK_BLESS=1 cargo test -p tillbook-receipt --test golden
//! ```

mod fixtures;

use std::path::PathBuf;

use tillbook_receipt::{escpos, text, Paper};

fn golden(name: &str, actual: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("TILLBOOK_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with TILLBOOK_BLESS=1 to create it)", path.display()));
    if expected != actual {
        let at = expected.iter().zip(actual).position(|(a, b)| a != b).unwrap_or(expected.len().min(actual.len()));
        let window = |b: &[u8]| format!("{:02x?}", &b[at.saturating_sub(8)..(at + 8).min(b.len())]);
        panic!(
            "{name} differs from the golden file at byte {at} (golden {} bytes, got {}):\n golden …{}\n got    …{}\n\
             if the change is intended, run with TILLBOOK_BLESS=1 and review the diff",
            expected.len(),
            actual.len(),
            window(&expected),
            window(actual),
        );
    }
}

#[test]
fn sale_receipt_58mm_escpos_matches_golden() {
    golden("sale_58mm.bin", &escpos(&fixtures::sale(), Paper::Mm58).unwrap());
}

#[test]
fn sale_receipt_80mm_escpos_matches_golden() {
    golden("sale_80mm.bin", &escpos(&fixtures::sale(), Paper::Mm80).unwrap());
}

#[test]
fn sale_receipt_32_columns_text_matches_golden() {
    golden("sale_32.txt", text(&fixtures::sale(), 32).as_bytes());
}

#[test]
fn sale_receipt_48_columns_text_matches_golden() {
    golden("sale_48.txt", text(&fixtures::sale(), 48).as_bytes());
}
