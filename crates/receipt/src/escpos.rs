//! ESC/POS bytes for thermal receipt printers, through the `escpos` crate.
//!
//! A document becomes a [`program`]: a list of [`EscPosOp`], one printer command each, which
//! [`escpos()`](escpos()) hands to the crate's `Printer` (an in-memory driver collects the bytes):
//!
//! 1. `ESC @` (initialise), then `ESC t 3`: code page PC860 (Portuguese), which holds every
//!    letter Portuguese needs (`ç ã õ é ê á à ó ô ú í Ç Ã É ª º`). Text is encoded into it
//!    by the crate's PC860 table; `R$` is plain ASCII.
//! 2. The cash-drawer kick when the document asks for it, early, so the drawer opens while
//!    the receipt prints.
//! 3. The lines: alignment (`ESC a`), bold (`ESC E`) and size (`GS !`) only when they change,
//!    then the text and `LF`.
//! 4. A native QR code (`GS ( k`, model 2, error correction M) with the order reference.
//! 5. `ESC d 6` (feed the last line past the cutter), then `GS V 0` (full cut).
//!
//! Two commands are written through the crate's raw-command API (`Printer::custom`), each for
//! a reason:
//! - **The drawer kick**, [`DRAWER_KICK`] = `ESC p 0 50 50`. The command is five bytes,
//!   `ESC p m t1 t2` (pin, on time, off time in 2 ms units), but `escpos` 0.20's
//!   `cash_drawer()` writes only `ESC p 0`: a printer then takes the next two bytes of the
//!   receipt (here the `ESC a` of the next line) as the pulse times. Pin 2, 100 ms on and
//!   100 ms off are the values python-escpos's `cashdraw(2)` sends.
//! - **The cut**, `GS V 0`: the crate offers only `GS V 65 n` (feed and cut); `ESC d 6` +
//!   `GS V 0` is the classic full cut every cutter model accepts, and the exact sequence of
//!   python-escpos's `cut()`, which the tests compare against.
//!
//! **Why PC860 and not PC858/PC850:** `escpos` 0.20's PC858 and PC850 tables map the ASCII
//! hyphen `-` to `0xF0` (the soft hyphen's slot), so every `-` of a receipt (`ORD-…`, rules,
//! negative amounts) would be sent as `0xF0`; its PC858 table also misplaces `¿ ® Ò`. Its
//! PC860 table matches the IBM code page.
//!
//! A character PC860 lacks (`€`, `ä`, emoji…) is replaced before encoding, one character for
//! one so columns stay aligned: typographic dashes, quotes and spaces by their ASCII look-alike,
//! accented letters by the bare letter, anything else by `?`. (The crate itself would send
//! such a character as UTF-8 bytes, which print as garbage.)

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{JustifyMode, PageCode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use crate::error::{ErrorCode, ReceiptError};
use crate::layout::{layout, Align, Block};
use crate::model::Document;

/// The printer code page: name as python-escpos and printer manuals spell it, and its `ESC t n`
/// number.
pub const CODE_PAGE: (&str, u8) = ("CP860", 3);

/// The cash-drawer kick: `ESC p m t1 t2` with pin 2 (`m = 0`), 50 × 2 ms on, 50 × 2 ms off.
pub const DRAWER_KICK: [u8; 5] = [0x1B, b'p', 0, 50, 50];

/// `GS V 0`: full cut at the current position (after `ESC d 6`).
const CUT: [u8; 3] = [0x1D, b'V', 0];

/// Lines fed before the cut, so the last printed line clears the cutter.
pub const CUT_FEED_LINES: u8 = 6;

/// Thermal roll width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 58 mm roll: 32 columns of font A.
    Mm58,
    /// 80 mm roll: 48 columns of font A.
    Mm80,
}

impl Paper {
    /// Characters per line in font A.
    pub fn columns(self) -> usize {
        match self {
            Paper::Mm58 => 32,
            Paper::Mm80 => 48,
        }
    }

    /// QR module size in dots.
    pub fn qr_module_size(self) -> u8 {
        match self {
            Paper::Mm58 => 5,
            Paper::Mm80 => 6,
        }
    }
}

/// Horizontal alignment of the lines that follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Justify {
    Left,
    Center,
}

/// One printer command of a [`program`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscPosOp {
    /// `ESC @`.
    Init,
    /// `ESC t n`: select [`CODE_PAGE`]; later text is encoded into it.
    CodePage,
    /// [`DRAWER_KICK`].
    DrawerKick,
    /// `ESC a n`.
    Justify(Justify),
    /// `ESC E n`.
    Bold(bool),
    /// `GS ! n`: character width and height multipliers (1–8).
    Size { width: u8, height: u8 },
    /// Text, line feeds included, already limited to characters of the code page.
    Text(String),
    /// A native QR code (model 2, error correction M) of `data`, modules of `size` dots.
    Qr { data: String, size: u8 },
    /// `ESC d 6` then `GS V 0`.
    Cut,
}

/// The printer commands [`escpos()`](escpos()) sends for `doc`, in order. For inspecting or replaying a
/// receipt through another ESC/POS implementation.
pub fn program<'a>(doc: impl Into<Document<'a>>, paper: Paper) -> Vec<EscPosOp> {
    let l = layout(doc.into(), paper.columns());
    let mut enc = Encodable::default();
    let mut ops = vec![EscPosOp::Init, EscPosOp::CodePage];
    if l.kick {
        ops.push(EscPosOp::DrawerKick);
    }
    let (mut justify, mut bold, mut tall) = (Justify::Left, false, false);
    let mut set_justify = |ops: &mut Vec<EscPosOp>, j: Justify| {
        if j != justify {
            justify = j;
            ops.push(EscPosOp::Justify(j));
        }
    };
    for b in &l.blocks {
        match b {
            Block::Line { text, align, bold: b, tall: t } => {
                let j = match align {
                    Align::Left => Justify::Left,
                    Align::Center => Justify::Center,
                };
                set_justify(&mut ops, j);
                if *b != bold {
                    bold = *b;
                    ops.push(EscPosOp::Bold(bold));
                }
                if *t != tall {
                    tall = *t;
                    ops.push(EscPosOp::Size { width: 1, height: if tall { 2 } else { 1 } });
                }
                ops.push(EscPosOp::Text(format!("{}\n", enc.sanitize(text))));
            }
            Block::Qr(data) => {
                set_justify(&mut ops, Justify::Center);
                ops.push(EscPosOp::Qr { data: data.clone(), size: paper.qr_module_size() });
            }
        }
    }
    ops.push(EscPosOp::Cut);
    ops
}

/// The document as ESC/POS bytes for a `paper`-wide printer (see the module for the commands).
pub fn escpos<'a>(doc: impl Into<Document<'a>>, paper: Paper) -> Result<Vec<u8>, ReceiptError> {
    render(&program(doc, paper))
}

/// Sends a program through the `escpos` crate and returns the bytes.
pub fn render(ops: &[EscPosOp]) -> Result<Vec<u8>, ReceiptError> {
    let fail = |e: escpos::errors::PrinterError| ReceiptError::new(ErrorCode::RenderFailed, e.to_string());
    let driver = MemoryDriver::default();
    let mut p = Printer::new(driver.clone(), Protocol::default(), Some(PrinterOptions::default()));
    for op in ops {
        match op {
            EscPosOp::Init => p.init(),
            EscPosOp::CodePage => p.page_code(PageCode::PC860),
            // The crate's `cash_drawer()` writes 3 bytes; see DRAWER_KICK.
            EscPosOp::DrawerKick => p.custom(&DRAWER_KICK),
            EscPosOp::Justify(Justify::Left) => p.justify(JustifyMode::LEFT),
            EscPosOp::Justify(Justify::Center) => p.justify(JustifyMode::CENTER),
            EscPosOp::Bold(on) => p.bold(*on),
            EscPosOp::Size { width, height } => p.size(*width, *height),
            EscPosOp::Text(t) => p.write(t),
            EscPosOp::Qr { data, size } => {
                p.qrcode_option(data, QRCodeOption::new(QRCodeModel::Model2, *size, QRCodeCorrectionLevel::M))
            }
            EscPosOp::Cut => p.feeds(CUT_FEED_LINES).and_then(|p| p.custom(&CUT)),
        }
        .map_err(fail)?;
    }
    p.print().map_err(fail)?;
    let bytes = driver.0.borrow().clone();
    Ok(bytes)
}

/// Collects what the printer would send.
#[derive(Clone, Default)]
struct MemoryDriver(Rc<RefCell<Vec<u8>>>);

impl Driver for MemoryDriver {
    fn name(&self) -> String {
        "memory".to_string()
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// Which characters the crate encodes into one byte of the code page (asked of the crate
/// itself, once per character).
#[derive(Default)]
struct Encodable(HashMap<char, bool>);

impl Encodable {
    fn check(&mut self, c: char) -> bool {
        if c.is_ascii() {
            return !c.is_ascii_control();
        }
        *self.0.entry(c).or_insert_with(|| {
            let mut buf = [0u8; 4];
            let ops = [EscPosOp::CodePage, EscPosOp::Text(c.encode_utf8(&mut buf).to_string())];
            // ESC t n is 3 bytes; an encoded character adds exactly one.
            matches!(render(&ops), Ok(b) if b.len() == 4)
        })
    }

    /// Each character the code page lacks replaced by one that it has.
    fn sanitize(&mut self, text: &str) -> String {
        text.chars()
            .map(|c| {
                if self.check(c) {
                    return c;
                }
                let s = substitute(c);
                if self.check(s) {
                    s
                } else {
                    '?'
                }
            })
            .collect()
    }
}

/// A look-alike for a character a code page may lack.
fn substitute(c: char) -> char {
    const FROM: &str = "ÀÁÂÃÄÅĀàáâãäåāÈÉÊËĒèéêëēÌÍÎÏìíîïÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿÑñÇçŠšŽž";
    const TO: &str = "AAAAAAAaaaaaaaEEEEEeeeeeIIIIiiiiOOOOOOooooooUUUUuuuuYyyNnCcSsZz";
    if let Some(i) = FROM.chars().position(|f| f == c) {
        return TO.chars().nth(i).unwrap_or('?');
    }
    match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => '"',
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => ' ',
        '\u{2026}' | '\u{2022}' | '\u{00B7}' => '.',
        '€' => 'E',
        _ => '?',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_bytes(s: &str) -> Vec<u8> {
        let b = render(&[EscPosOp::CodePage, EscPosOp::Text(s.to_string())]).unwrap();
        assert_eq!(b[..3], [0x1B, b't', CODE_PAGE.1]);
        b[3..].to_vec()
    }

    #[test]
    fn portuguese_letters_are_code_page_860_bytes_not_utf8() {
        // IBM code page 860: ç 0x87, ã 0x84, é 0x82, õ 0x94, Ç 0x80, Ã 0x8E, ª 0xA6, ê 0x88.
        assert_eq!(text_bytes("ç"), [0x87]);
        assert_eq!(text_bytes("ã"), [0x84]);
        assert_eq!(text_bytes("é"), [0x82]);
        assert_eq!(
            text_bytes("Devolução R$ 2ª Ç Ã õ ê"),
            [
                b'D', b'e', b'v', b'o', b'l', b'u', 0x87, 0x84, b'o', b' ', b'R', b'$', b' ', b'2', 0xA6, b' ', 0x80,
                b' ', 0x8E, b' ', 0x94, b' ', 0x88
            ]
        );
    }

    #[test]
    fn every_printable_ascii_character_is_sent_as_itself() {
        // The crate's PC858/PC850 tables turn '-' into 0xF0; PC860's must not.
        let ascii: String = (0x20u8..0x7F).map(char::from).collect();
        assert_eq!(text_bytes(&ascii), ascii.as_bytes());
    }

    #[test]
    fn characters_the_code_page_lacks_are_replaced_one_for_one() {
        let mut enc = Encodable::default();
        assert_eq!(enc.sanitize("Crème – “brûlée” 5 €"), "Crème - \"brulée\" 5 E");
        assert_eq!(enc.sanitize("Bäckerei Ø 🍞"), "Backerei O ?");
        assert_eq!(enc.sanitize("Pão de queijo"), "Pão de queijo");
        for s in ["Bäckerei 🍞 € “x”", "ñ ü œ ß"] {
            let clean = enc.sanitize(s);
            assert_eq!(clean.chars().count(), s.chars().count());
            assert_eq!(text_bytes(&clean).len(), clean.chars().count(), "{clean}: one byte per character");
        }
    }

    #[test]
    fn the_drawer_kick_is_five_bytes_and_the_cut_follows_a_feed() {
        let b = render(&[EscPosOp::DrawerKick, EscPosOp::Cut]).unwrap();
        assert_eq!(b, [0x1B, 0x70, 0x00, 0x32, 0x32, 0x1B, b'd', 6, 0x1D, b'V', 0]);
    }
}
