//! Our ESC/POS bytes checked against python-escpos, an implementation this project did not
//! write. Needs `TILLBOOK_PYESCPOS` (a Python with python-escpos), which
//! `scripts/with-escpos.sh` provides:
//!
//! ```sh
//! scripts/with-escpos.sh cargo test -p tillbook-receipt --test pyescpos -- --include-ignored
//! ```
//!
//! `tests/pyescpos_check.py` prints, from python-escpos's `Dummy` printer, the drawer kick
//! (`cashdraw(2)`), the cut, bold on and off, centring, the code-page selection, the native QR
//! code of the order reference, Portuguese samples in the code page, and the whole receipt
//! replayed from our [`program`] through python-escpos's own methods. Each command must appear
//! in our bytes exactly as python-escpos made it, and the whole receipt must be equal.

mod fixtures;

use std::collections::HashMap;
use std::process::Command;

use tillbook_receipt::{escpos, program, EscPosOp, Justify, Paper, Receipt, CODE_PAGE};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// One line per operation, as `pyescpos_check.py` reads them.
fn script(ops: &[EscPosOp]) -> String {
    let mut s = String::new();
    for op in ops {
        let line = match op {
            EscPosOp::Init => "init".to_string(),
            EscPosOp::CodePage => format!("codepage {}", CODE_PAGE.0),
            EscPosOp::DrawerKick => "kick".to_string(),
            EscPosOp::Justify(Justify::Left) => "justify left".to_string(),
            EscPosOp::Justify(Justify::Center) => "justify center".to_string(),
            EscPosOp::Bold(b) => format!("bold {}", u8::from(*b)),
            EscPosOp::Size { width, height } => format!("size {width} {height}"),
            EscPosOp::Text(t) => format!("text {}", hex(t.as_bytes())),
            EscPosOp::Qr { data, size } => format!("qr {size} {}", hex(data.as_bytes())),
            EscPosOp::Cut => "cut".to_string(),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}

fn python(receipt: &Receipt, paper: Paper) -> HashMap<String, Vec<u8>> {
    let py = std::env::var("TILLBOOK_PYESCPOS").unwrap_or_else(|_| {
        panic!(
            "TILLBOOK_PYESCPOS is not set: it must name a Python with python-escpos installed. \
             Run: scripts/with-escpos.sh cargo test -p tillbook-receipt -- --include-ignored"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let ops = dir.path().join("ops.txt");
    std::fs::write(&ops, script(&program(receipt, paper))).unwrap();
    let check = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyescpos_check.py");
    let out = Command::new(&py)
        .arg(check)
        .arg(&ops)
        .arg(&receipt.order_ref)
        .arg(paper.qr_module_size().to_string())
        .arg(CODE_PAGE.0)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {py}: {e}"));
    assert!(out.status.success(), "pyescpos_check.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (name, h) = l.split_once(' ').unwrap_or((l, ""));
            (name.to_string(), unhex(h))
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Every `ESC p` in `bytes` is python-escpos's whole kick, and there is at least one.
fn kicks_match(bytes: &[u8], kick: &[u8]) -> Result<usize, String> {
    let starts: Vec<usize> = bytes.windows(2).enumerate().filter(|(_, w)| *w == [0x1B, b'p']).map(|(i, _)| i).collect();
    if starts.is_empty() {
        return Err("no drawer kick (ESC p) in the bytes".into());
    }
    for &i in &starts {
        let got = &bytes[i..(i + kick.len()).min(bytes.len())];
        if got != kick {
            return Err(format!("drawer kick at byte {i} is {got:02x?}, python-escpos sends {kick:02x?}"));
        }
    }
    Ok(starts.len())
}

fn check(paper: Paper) {
    let receipt = fixtures::sale();
    let ours = escpos(&receipt, paper).unwrap();
    let py = python(&receipt, paper);
    let get = |k: &str| py.get(k).unwrap_or_else(|| panic!("pyescpos_check.py gave no {k}")).clone();
    eprintln!("python-escpos {}", String::from_utf8_lossy(&get("version")));

    // The kick: python-escpos's five bytes, the only ESC p in the receipt.
    let kick = get("cashdraw");
    assert_eq!(kick.len(), 5, "python-escpos's kick: {kick:02x?}");
    assert_eq!(kicks_match(&ours, &kick), Ok(1));

    // The 3-byte kick the escpos crate writes by itself is caught by the same comparison.
    let mut trap = escpos::printer::Printer::new(Collect::default(), escpos::utils::Protocol::default(), None);
    trap.cash_drawer(escpos::utils::CashDrawer::Pin2).unwrap().print().unwrap();
    let three = trap.driver().0.borrow().clone();
    assert_eq!(three.len(), 3, "the crate's own kick: {three:02x?}");
    let at = find(&ours, &kick).unwrap();
    let trapped = [&ours[..at], &three[..], &ours[at + kick.len()..]].concat();
    assert!(kicks_match(&trapped, &kick).is_err(), "a 3-byte kick must not pass");

    // Init and code page first, cut last.
    let start = [get("init"), get("codepage")].concat();
    assert!(ours.starts_with(&start), "starts {:02x?}, python-escpos {start:02x?}", &ours[..start.len()]);
    assert!(ours.ends_with(&get("cut")), "ends {:02x?}", &ours[ours.len() - 8..]);

    for name in ["bold_on", "bold_off", "center", "qr", "text_0", "text_1", "text_2", "text_3"] {
        let cmd = get(name);
        assert!(find(&ours, &cmd).is_some(), "python-escpos's {name} ({cmd:02x?}) is not in our bytes");
    }
    // Portuguese letters are code page bytes, not UTF-8.
    let sample = get("text_4");
    let ours_sample =
        tillbook_receipt::render(&[EscPosOp::CodePage, EscPosOp::Text("2ª VIA ç ã é õ Ç Ã É".into())]).unwrap();
    assert_eq!(ours_sample, [get("codepage"), sample].concat());
    assert!(find(&ours, "ção".as_bytes()).is_none(), "UTF-8 in the receipt");

    // The whole receipt, replayed through python-escpos.
    let replay = get("receipt");
    if replay != ours {
        let i = replay.iter().zip(&ours).position(|(a, b)| a != b).unwrap_or(replay.len().min(ours.len()));
        panic!(
            "receipt differs from python-escpos's at byte {i} (python {} bytes, ours {}):\n python …{:02x?}\n ours   …{:02x?}",
            replay.len(),
            ours.len(),
            &replay[i.saturating_sub(8)..(i + 8).min(replay.len())],
            &ours[i.saturating_sub(8)..(i + 8).min(ours.len())],
        );
    }
}

#[derive(Clone, Default)]
struct Collect(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl escpos::driver::Driver for Collect {
    fn name(&self) -> String {
        "collect".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

#[test]
#[ignore = "needs python-escpos: scripts/with-escpos.sh cargo test -p tillbook-receipt -- --include-ignored"]
fn receipt_58mm_matches_pyescpos() {
    check(Paper::Mm58);
}

#[test]
#[ignore = "needs python-escpos: scripts/with-escpos.sh cargo test -p tillbook-receipt -- --include-ignored"]
fn receipt_80mm_matches_pyescpos() {
    check(Paper::Mm80);
}
