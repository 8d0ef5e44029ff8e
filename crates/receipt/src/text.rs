//! Plain text for the screen.

use crate::layout::{centered, layout, Align, Block};
use crate::model::Document;

/// The document as plain text, `columns` characters wide (at least
/// [`MIN_COLUMNS`](crate::MIN_COLUMNS)): names left, amounts right-aligned, headings centred,
/// one `\n` after every line. Use 32 for a 58 mm roll and 48 for an 80 mm roll to see what the
/// printer prints. Bold, double height, the QR code and the drawer kick exist only in
/// [`escpos`](crate::escpos()); the order reference is printed as text under the QR code in
/// both.
pub fn text<'a>(doc: impl Into<Document<'a>>, columns: usize) -> String {
    let l = layout(doc.into(), columns);
    let mut out = String::new();
    for b in &l.blocks {
        if let Block::Line { text, align, .. } = b {
            match align {
                Align::Left => out.push_str(text),
                Align::Center => out.push_str(&centered(text, l.columns)),
            }
            out.push('\n');
        }
    }
    out
}
