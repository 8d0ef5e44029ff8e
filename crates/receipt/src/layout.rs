//! A document laid out for a column count: lines already wrapped and padded, shared by the
//! plain-text and the ESC/POS output so both print the same thing.
//!
//! A column is one character (`char`): with a single-byte printer code page each prints one
//! cell wide. Control characters in the caller's text (tabs, newlines, ESC…) become spaces, so
//! no field can break the layout or smuggle printer commands in.

use crate::model::Document;

/// The narrowest layout: anything smaller is widened to this.
pub const MIN_COLUMNS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
}

/// One printed element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A line of at most `columns` characters, without the line feed.
    Line { text: String, align: Align, bold: bool, tall: bool },
    /// A QR code holding this text (printed, not shown on screen).
    Qr(String),
}

/// A laid-out document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub columns: usize,
    pub blocks: Vec<Block>,
    /// Kick the cash drawer.
    pub kick: bool,
}

impl Layout {
    pub fn new(columns: usize) -> Self {
        Layout { columns: columns.max(MIN_COLUMNS), blocks: Vec::new(), kick: false }
    }

    fn push(&mut self, text: String, align: Align, bold: bool, tall: bool) {
        self.blocks.push(Block::Line { text, align, bold, tall });
    }

    /// Left-aligned text, wrapped to the width.
    pub fn left(&mut self, text: &str) {
        for l in wrap(text, self.columns) {
            self.push(l, Align::Left, false, false);
        }
    }

    /// Centred text, wrapped to the width.
    pub fn center(&mut self, text: &str, bold: bool) {
        self.center_sized(text, bold, false);
    }

    /// Centred text, double height when `tall` (ESC/POS only).
    pub fn center_sized(&mut self, text: &str, bold: bool, tall: bool) {
        for l in wrap(text, self.columns) {
            self.push(l, Align::Center, bold, tall);
        }
    }

    /// `left` at the left edge and `right` against the right edge (see [`pair`]).
    pub fn pair(&mut self, left: &str, right: &str) {
        self.pair_styled(left, right, false);
    }

    /// [`Layout::pair`] in bold.
    pub fn pair_styled(&mut self, left: &str, right: &str, bold: bool) {
        for l in pair(left, right, self.columns) {
            self.push(l, Align::Left, bold, false);
        }
    }

    /// A rule of dashes across the width.
    pub fn rule(&mut self) {
        self.push("-".repeat(self.columns), Align::Left, false, false);
    }

    pub fn qr(&mut self, data: &str) {
        self.blocks.push(Block::Qr(clean(data)));
    }
}

/// Lays a document out for `columns` characters per line.
pub(crate) fn layout(doc: Document<'_>, columns: usize) -> Layout {
    match doc {
        Document::Receipt(r) => crate::receipt_layout::layout(r, columns),
        Document::ShiftReport(r) => crate::report_layout::layout(r, columns),
    }
}

/// The caller's text with control characters as spaces.
pub(crate) fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Word-wraps `text` to lines of at most `columns` characters; a word longer than a line is
/// cut. Leading spaces are an indent kept on every line; runs of spaces between words become
/// one; an empty text gives one empty line.
pub(crate) fn wrap(text: &str, columns: usize) -> Vec<String> {
    let text = clean(text);
    let body = text.trim_start_matches(' ');
    let indent = (text.len() - body.len()).min(columns.saturating_sub(1) / 2);
    let pad = " ".repeat(indent);
    let columns = (columns - indent).max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in body.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        let cur_w = width(&cur);
        if cur_w > 0 && cur_w + 1 + word.len() <= columns {
            cur.push(' ');
            cur.extend(word.iter());
            continue;
        }
        if cur_w > 0 {
            lines.push(std::mem::take(&mut cur));
        }
        while word.len() > columns {
            lines.push(word.drain(..columns).collect());
        }
        cur = word.into_iter().collect();
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines.into_iter().map(|l| if l.is_empty() { l } else { format!("{pad}{l}") }).collect()
}

/// `left` flush left and `right` flush right on one line when both fit with a space between.
/// Otherwise `left` is wrapped, and `right` goes on its last line: wrapped to the full width if
/// the last line leaves room, else to the width left of `right` (when `right` takes at most
/// half the line and no word is longer than that width), else `right` gets a line of its own,
/// right-aligned.
pub(crate) fn pair(left: &str, right: &str, columns: usize) -> Vec<String> {
    let right = clean(right);
    let rw = width(&right);
    let fits = |lines: &[String]| lines.last().is_some_and(|l| width(l) == 0 || width(l) + 1 + rw <= columns);
    let mut lines = wrap(left, columns);
    if !fits(&lines) && (columns - 1) / 2 >= rw {
        let narrow = columns - rw - 1;
        let left_clean = clean(left);
        let indent = left_clean.len() - left_clean.trim_start_matches(' ').len();
        if left_clean.split(' ').all(|w| width(w) + indent <= narrow) {
            lines = wrap(left, narrow);
        }
    }
    if fits(&lines) && rw <= columns {
        let last = lines.pop().unwrap_or_default();
        let gap = columns - width(&last) - rw;
        lines.push(format!("{last}{}{right}", " ".repeat(gap)));
    } else {
        for r in wrap(&right, columns) {
            lines.push(format!("{}{r}", " ".repeat(columns - width(&r))));
        }
    }
    lines
}

/// A line centred in `columns` (extra space on the right, not printed).
pub(crate) fn centered(text: &str, columns: usize) -> String {
    let pad = columns.saturating_sub(width(text)) / 2;
    format!("{}{text}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_words_and_cuts_long_words() {
        assert_eq!(wrap("Pain au Chocolat aux amandes", 12), ["Pain au", "Chocolat aux", "amandes"]);
        assert_eq!(wrap("Supercalifragilistic", 8), ["Supercal", "ifragili", "stic"]);
        assert_eq!(wrap("a  b\tc\nd", 32), ["a b c d"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("  2 x R$ 7,00 each one", 12), ["  2 x R$", "  7,00 each", "  one"]);
        for l in wrap("Bolo de cenoura com cobertura de chocolate meio amargo", 16) {
            assert!(l.chars().count() <= 16, "{l}");
        }
    }

    #[test]
    fn pairs_align_right_or_fall_to_their_own_line() {
        assert_eq!(pair("Latte", "R$ 7,50", 16), ["Latte    R$ 7,50"]);
        assert_eq!(pair("Cappuccino grande", "R$ 7,50", 16), ["Cappuccino", "grande   R$ 7,50"]);
        assert_eq!(pair("Pain au Chocolat", "R$ 7,50", 16), ["Pain au", "Chocolat R$ 7,50"]);
        assert_eq!(pair("Carrot Cake Deluxe", "R$ 17,50", 16), ["Carrot Cake", "Deluxe  R$ 17,50"]);
        assert_eq!(pair("Supercalifragilistic", "R$ 17,50", 16), ["Supercalifragili", "stic    R$ 17,50"]);
        assert_eq!(
            pair("Supercalifragilisticexpi", "R$ 17,50", 16),
            ["Supercalifragili", "sticexpi", "        R$ 17,50"]
        );
        assert_eq!(pair("", "R$ 7,50", 16), ["         R$ 7,50"]);
        for l in pair("Um nome de produto muito comprido mesmo", "R$ 1.234,56", 32) {
            assert!(l.chars().count() <= 32, "{l}");
        }
    }

    #[test]
    fn control_characters_never_reach_the_output() {
        assert_eq!(clean("Caf\u{1b}@é\r\n"), "Caf @é  ");
        assert_eq!(pair("A\u{1b}p", "\u{1d}V1", 16), ["A p           V1"]);
    }

    #[test]
    fn centring_pads_the_left() {
        assert_eq!(centered("abc", 8), "  abc");
        assert_eq!(centered("abcdefghij", 8), "abcdefghij");
    }
}
