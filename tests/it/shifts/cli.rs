//! `tillbook staff`, `shift` and `receipt`: one JSON object per command with `--json`, the
//! stable `{code, message}` on failure, the Z-report printed at the close, a sign-in that lasts
//! across processes, and receipts as text and ESC/POS bytes for 58 and 80 mm printers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tillbook_orderbook::staff::DEMO_MANAGER_PIN;

use super::GOOD_CARD;

struct Till {
    dir: tempfile::TempDir,
}

impl Till {
    fn new(init: &[&str]) -> Till {
        let t = Till { dir: tempfile::tempdir().unwrap() };
        t.ok(&[&["init"], init].concat());
        t
    }

    fn run(&self, args: &[&str]) -> tillbook_cli::Outcome {
        let mut all = vec!["--data-dir", self.dir.path().to_str().unwrap()];
        all.extend_from_slice(args);
        tillbook_cli::execute(all)
    }

    /// `--json`: exactly one JSON object on stdout, status 0.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(&[&["--json"], args].concat());
        assert_eq!(out.status, 0, "{args:?}: {}{}", out.stdout, out.stderr);
        assert_eq!(out.stdout.lines().count(), 1, "{args:?}: one JSON object per command: {}", out.stdout);
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// `--json`, failing with `code` (and a message); the whole answer.
    fn fails(&self, args: &[&str], code: &str) -> Value {
        let out = self.run(&[&["--json"], args].concat());
        assert_ne!(out.status, 0, "{args:?} should fail: {}", out.stdout);
        let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stdout));
        assert_eq!(v["code"], code, "{args:?}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        v
    }

    /// Rings up `sku` and pays it with `tender` (e.g. `["--cash", "1000"]`); the reference.
    fn sell(&self, sku: &str, tender: &[&str]) -> String {
        let key = self.ok(&["session", "open"])["session_key"].as_str().unwrap().to_string();
        self.ok(&["session", "add", &key, sku]);
        let r = self.ok(&["commit", &key, "--idempotency-key", &key])["order_ref"].as_str().unwrap().to_string();
        self.ok(&[&["pay", r.as_str()], tender].concat());
        r
    }

    fn outbox_rows(&self) -> i64 {
        self.ok(&["outbox", "list", "--limit", "100000"])["summary"]["last_seq"].as_i64().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn every_staff_and_shift_command_answers_json() {
    let t = Till::new(&[]);
    let mia = t.ok(&["staff", "add", "Mia", "--role", "manager", "--new-pin", "2468"]);
    assert_eq!((&mia["staff"]["name"], &mia["staff"]["role"], &mia["staff"]["has_pin"]), (&"Mia".into(), &"manager".into(), &true.into()));
    let bia = t.ok(&["staff", "add", "Bia", "--new-pin", "1357"]);
    assert_eq!(bia["staff"]["role"], "cashier");
    t.fails(&["staff", "add", "Caio", "--new-pin", "2468"], "pin_in_use");
    t.fails(&["staff", "add", "Caio", "--new-pin", "12"], "invalid_pin");
    t.fails(&["staff", "add", "Caio", "--role", "boss", "--new-pin", "8642"], "invalid_argument");
    let list = t.ok(&["staff", "list"]);
    let names: Vec<&str> = list["staff"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Bia", "Cashier", "Mia"]);
    assert!(!list.to_string().contains("argon2"), "{list}");
    assert_eq!(t.ok(&["staff", "whoami"])["staff"]["name"], "Cashier");
    assert_eq!(t.ok(&["staff", "login", "1357"])["staff"]["name"], "Bia");
    t.fails(&["staff", "login", "9999"], "invalid_pin");
    assert_eq!(t.ok(&["staff", "whoami"])["staff"]["name"], "Bia", "a wrong PIN signs nobody out");

    t.fails(&["shift", "show"], "no_open_shift");
    t.fails(&["shift", "x-report"], "no_open_shift");
    t.fails(&["shift", "open", "--float", "-1"], "invalid_amount");
    let open = t.ok(&["shift", "open", "--float", "5000"]);
    assert_eq!((&open["shift"]["status"], &open["shift"]["float_q"], &open["shift"]["opened_by"]), (&"open".into(), &5000.into(), &"Bia".into()));
    t.fails(&["shift", "open", "--float", "0"], "shift_already_open");
    let f = t.path("cat.csv");
    std::fs::write(&f, "sku,name,price_q,category\nTEA,Tea,450,Drinks\n").unwrap();
    t.ok(&["catalog", "import", f.to_str().unwrap()]);
    t.sell("TEA", &["--cash", "1000"]);

    let cash_in = t.ok(&["shift", "cash-in", "1000", "--reason", "coins"]);
    assert_eq!((&cash_in["kind"], &cash_in["amount_q"], &cash_in["expected_cash_q"]), (&"in".into(), &1000.into(), &6450.into()));
    t.fails(&["shift", "cash-in", "-5", "--reason", "coins"], "invalid_amount");
    // Cash out and a no-sale need a manager: `--pin` on the command approves it.
    t.fails(&["shift", "cash-out", "500", "--reason", "bank"], "permission_denied");
    t.fails(&["--pin", "0000", "shift", "cash-out", "500", "--reason", "bank"], "invalid_pin");
    t.fails(&["--pin", "1357", "shift", "cash-out", "500", "--reason", "bank"], "permission_denied");
    t.fails(&["--pin", "2468", "shift", "cash-out", "100000", "--reason", "bank"], "insufficient_cash");
    let out = t.ok(&["--pin", "2468", "shift", "cash-out", "500", "--reason", "bank"]);
    assert_eq!((&out["kind"], &out["expected_cash_q"]), (&"out".into(), &5950.into()));
    t.fails(&["shift", "no-sale", "--reason", "peek"], "permission_denied");
    assert_eq!(t.ok(&["shift", "no-sale", "--reason", "peek", "--pin", "2468"])["kind"], "no_sale");

    let x = t.ok(&["shift", "x-report"]);
    assert_eq!((&x["figures"]["order_count"], &x["figures"]["expected_cash_q"], &x["escpos"]), (&1.into(), &5950.into(), &Value::Null));
    assert!(x["text"].as_str().unwrap().contains("RELATÓRIO X"), "{x}");
    let shown = t.ok(&["shift", "show"]);
    assert_eq!(shown["figures"], x["figures"]);
    let id = shown["shift"]["shift_id"].as_str().unwrap().to_string();
    assert_eq!(t.ok(&["shift", "show", &id])["shift"]["shift_id"], id.as_str());
    t.fails(&["shift", "show", "not-a-uuid"], "invalid_argument");
    // 10 short: within the threshold, Bia closes alone.
    t.fails(&["shift", "close", "--counted", "-1"], "invalid_amount");
    t.fails(&["shift", "close", "--counted", "5000"], "permission_denied");
    let close = t.ok(&["shift", "close", "--counted", "5940"]);
    assert_eq!((&close["shift"]["status"], &close["figures"]["difference_q"], &close["figures"]["counted_q"]), (&"closed".into(), &(-10).into(), &5940.into()));
    assert_eq!(close["pending"], t.outbox_rows(), "nothing was sent: every outbox row, the close among them, is pending");
    assert!(close["text"].as_str().unwrap().contains("RELATÓRIO Z"), "{close}");
    t.fails(&["shift", "close", "--counted", "5940"], "no_open_shift");
    let list = t.ok(&["shift", "list"]);
    assert_eq!((list["shifts"].as_array().unwrap().len(), &list["shifts"][0]["closed_by"]), (1, &"Bia".into()));
    assert_eq!(t.ok(&["shift", "show", &id])["figures"], close["figures"], "the Z-report is kept");
    assert_eq!(t.ok(&["staff", "logout"])["staff"]["name"], "Cashier");
    assert_eq!(t.ok(&["staff", "whoami"])["staff"]["name"], "Cashier");
}

#[test]
fn shift_close_prints_the_z_report_and_how_many_changes_are_pending() {
    let t = Till::new(&["--demo"]);
    let expected = t.ok(&["shift", "x-report"])["figures"]["expected_cash_q"].as_i64().unwrap();
    assert_eq!(expected, 20_000 + 2_500, "the demo's float and cash sales");
    let rows = t.outbox_rows() + 1;
    let out = t.run(&["shift", "close", "--counted", &expected.to_string()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let text = out.stdout;
    assert!(text.starts_with(&format!("{rows} changes are still waiting for the server")), "{text}");
    for want in ["RELATÓRIO Z", "Esperado", "R$ 225,00", "Contado", "Diferença", "Primeiro recibo", "Cartão (2)", "Pedidos cancelados (1)"] {
        assert!(text.contains(want), "the Z-report shows {want:?}: {text}");
    }
    assert_eq!(t.outbox_rows(), rows);
}

/// The `tillbook` binary (target/<profile>, or `TILLBOOK_BIN_DIR`).
fn bin() -> PathBuf {
    let dir = match std::env::var_os("TILLBOOK_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::current_exe().unwrap().parent().and_then(Path::parent).unwrap().to_path_buf(),
    };
    let bin = dir.join("tillbook");
    assert!(bin.is_file(), "{} not found: build the workspace binaries (`cargo build --workspace --bins`)", bin.display());
    bin
}

/// One `tillbook --json` process: status, JSON, and how long it took.
fn process(dir: &Path, args: &[&str]) -> (bool, Value, Duration) {
    let started = Instant::now();
    let out = Command::new(bin()).arg("--json").arg("--data-dir").arg(dir).args(args).env_remove("TILLBOOK_DATA_DIR").output().unwrap();
    let took = started.elapsed();
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null), took)
}

/// A sign-in is the data directory's: another process sees it, until one signs out. A wrong
/// PIN is answered late, later each time.
#[test]
fn a_sign_in_lasts_across_processes_and_a_wrong_pin_is_answered_late() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(process(d, &["init"]).0);
    assert!(process(d, &["staff", "add", "Bia", "--new-pin", "1357"]).0);
    let (ok, v, _) = process(d, &["staff", "login", "1357"]);
    assert!(ok, "{v}");
    let (_, who, _) = process(d, &["staff", "whoami"]);
    assert_eq!(who["staff"]["name"], "Bia", "another process sees the sign-in: {who}");
    assert!(process(d, &["shift", "open", "--float", "0"]).0);
    let (_, shift, _) = process(d, &["shift", "show"]);
    assert_eq!(shift["shift"]["opened_by"], "Bia", "{shift}");
    for (i, least) in [(1, 200), (2, 400)] {
        let (ok, v, took) = process(d, &["staff", "login", "0000"]);
        assert!(!ok && v["code"] == "invalid_pin", "{v}");
        assert!(took >= Duration::from_millis(least), "wrong PIN {i} was answered after {took:?}, before its {least} ms delay");
    }
    assert_eq!(process(d, &["staff", "whoami"]).1["staff"]["name"], "Bia");
    assert!(process(d, &["staff", "logout"]).0);
    assert_eq!(process(d, &["staff", "whoami"]).1["staff"]["name"], "Cashier");
}

/// Where an ESC/POS command begins in `bytes`, every time.
fn find(bytes: &[u8], cmd: &[u8]) -> Vec<usize> {
    bytes.windows(cmd.len()).enumerate().filter(|(_, w)| *w == cmd).map(|(i, _)| i).collect()
}

/// Checks what every receipt's ESC/POS bytes hold; whether they kick the drawer.
fn check_escpos(bytes: &[u8], order_ref: &str) -> bool {
    assert_eq!(&bytes[..2], b"\x1b@", "starts with ESC @ (initialise)");
    assert!(bytes.ends_with(b"\x1bd\x06\x1dV\x00"), "ends with ESC d 6 and the cut GS V 0: {:02x?}", &bytes[bytes.len().saturating_sub(8)..]);
    // The QR code's data is the order reference: GS ( k pL pH 49 80 48 + data.
    let mut store = b"\x1d(k".to_vec();
    let n = order_ref.len() + 3;
    store.extend([(n % 256) as u8, (n / 256) as u8, 49, 80, 48]);
    store.extend(order_ref.as_bytes());
    assert_eq!(find(bytes, &store).len(), 1, "the QR code stores the reference {order_ref}");
    assert_eq!(find(bytes, b"\x1d(k\x03\x001Q0").len(), 1, "and is printed");
    let kicks = find(bytes, b"\x1bp\x00");
    assert!(kicks.len() <= 1, "one drawer kick at most");
    if let Some(&k) = kicks.first() {
        // ESC p m t1 t2: five bytes. Two real pulse times follow the pin, not the next command
        // (a 3-byte kick would make the printer eat the next ESC/GS as pulse times).
        let (t1, t2) = (bytes[k + 3], bytes[k + 4]);
        assert!(t1 > 0 && t2 >= t1, "pulse times {t1} {t2}");
        assert!(![0x1b, 0x1d, 0x0a].contains(&t1) && ![0x1b, 0x1d, 0x0a].contains(&t2), "the kick is 3 bytes: {:02x?}", &bytes[k..k + 8]);
        assert!([0x1b, 0x1d].contains(&bytes[k + 5]), "a command follows the kick: {:02x?}", &bytes[k..k + 8]);
    }
    !kicks.is_empty()
}

#[test]
fn receipts_print_as_text_and_as_escpos_at_58_and_80_mm() {
    let t = Till::new(&["--demo"]);
    let cash_sale = t.sell("ESPRESSO", &["--cash", "1000"]);
    let card_sale = t.sell("LATTE", &["--card", GOOD_CARD]);

    let text = t.ok(&["receipt", &cash_sale]);
    let body = text["text"].as_str().unwrap();
    for want in ["Tillbook Café", "Rua das Flores, 123", cash_sale.as_str(), "Espresso", "R$ 5,00", "Troco", "R$ 5,00", "Operador Cashier", "Obrigado"] {
        assert!(body.contains(want), "the receipt shows {want:?}:\n{body}");
    }
    assert!(!body.contains("2ª VIA"));
    let human = t.run(&["receipt", &cash_sale, "--width", "58"]).stdout;
    let widths: Vec<usize> = human.lines().map(|l| l.chars().count()).collect();
    assert_eq!(widths.iter().max(), Some(&32), "58 mm is 32 columns:\n{human}");
    assert_eq!(text["text"].as_str().unwrap().lines().map(|l| l.chars().count()).max(), Some(48), "80 mm (the default) is 48 columns");
    t.fails(&["receipt", &cash_sale, "--width", "76"], "invalid_arguments");

    let mut printed = Vec::new();
    for (r, width, drawer) in [(&cash_sale, "58", true), (&cash_sale, "80", true), (&card_sale, "58", false), (&card_sale, "80", false)] {
        let file = t.path(&format!("{r}-{width}.bin"));
        let out = t.ok(&["receipt", r, "--escpos", file.to_str().unwrap(), "--width", width]);
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!((&out["escpos"]["bytes"], &out["escpos"]["width_mm"]), (&bytes.len().into(), &width.parse::<u64>().unwrap().into()));
        assert_eq!(check_escpos(&bytes, r), drawer, "{r} at {width} mm: a cash sale kicks the drawer, a card sale does not");
        // QR module size: GS ( k 3 0 49 67 n, larger on the wider paper.
        let size = if width == "58" { 5 } else { 6 };
        assert_eq!(find(&bytes, &[0x1d, b'(', b'k', 3, 0, 49, 67, size]).len(), 1, "{width} mm QR module size");
        printed.push(bytes);
    }
    assert_ne!(printed[0], printed[1], "58 and 80 mm lay out differently");

    // A reprint is marked as a copy and opens no drawer.
    let copy_file = t.path("copy.bin");
    let copy = t.ok(&["receipt", &cash_sale, "--copy", "--escpos", copy_file.to_str().unwrap()]);
    assert_eq!(copy["copy"], true);
    assert!(copy["text"].as_str().unwrap().contains("*** 2ª VIA ***"), "{copy}");
    let bytes = std::fs::read(&copy_file).unwrap();
    assert!(!check_escpos(&bytes, &cash_sale), "a copy does not open the drawer");
    assert!(!find(&bytes, b" VIA ***").is_empty(), "the copy mark is printed");
    assert!(find(&printed[1], b" VIA ***").is_empty());

    // A refund's receipt, by its key.
    t.ok(&["--pin", DEMO_MANAGER_PIN, "refund", &cash_sale, "--amount", "100", "--idempotency-key", "r1"]);
    let refund = t.ok(&["receipt", &cash_sale, "--refund", "r1"]);
    let body = refund["text"].as_str().unwrap();
    assert!(body.contains("COMPROVANTE DE DEVOLUÇÃO") && body.contains("R$ 1,00") && body.contains(&cash_sale), "{body}");
    t.fails(&["receipt", &cash_sale, "--refund", "nope"], "invalid_argument");

    // A shift report prints too.
    let z_file = t.path("x.bin");
    t.ok(&["shift", "x-report", "--escpos", z_file.to_str().unwrap(), "--width", "58"]);
    let z = std::fs::read(&z_file).unwrap();
    assert!(z.starts_with(b"\x1b@") && z.ends_with(b"\x1dV\x00"), "{:02x?}", &z[..4]);
}

/// A receipt for an order the till does not know, and printers that are missing or cannot be
/// written: each its own code, no file left behind, the book untouched.
#[test]
fn receipt_failures_have_their_codes() {
    let t = Till::new(&["--demo"]);
    let r = t.sell("ESPRESSO", &["--cash", "500"]);
    let rows = t.outbox_rows();
    t.fails(&["receipt", "ORD-NOPE"], "unknown_order");
    let missing = t.path("no-such-dir").join("r.bin");
    let v = t.fails(&["receipt", &r, "--escpos", missing.to_str().unwrap()], "printer_not_found");
    assert!(v["text"].as_str().unwrap().contains(&r), "the receipt is still shown: {v}");
    assert!(!missing.exists() && !t.path("no-such-dir").exists());
    let device = "/dev/tillbook-test-no-such-printer";
    t.fails(&["receipt", &r, "--escpos", device], "printer_not_found");
    assert!(!Path::new(device).exists(), "no file is made in /dev for a missing printer");
    t.fails(&["receipt", &r, "--escpos", t.dir.path().to_str().unwrap()], "printer_not_writable");
    t.fails(&["shift", "x-report", "--escpos", missing.to_str().unwrap()], "printer_not_found");
    let out = t.run(&["receipt", &r, "--escpos", missing.to_str().unwrap()]);
    assert!(out.stderr.contains("printer_not_found"), "{}", out.stderr);
    assert_eq!(t.outbox_rows(), rows);
}
