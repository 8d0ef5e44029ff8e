//! The `tillbook` command: JSON on stdout, `{code, message}` and a non-zero status on failure,
//! readable tables otherwise.

use serde_json::Value;
use tempfile::TempDir;

struct Till {
    dir: TempDir,
}

impl Till {
    fn new() -> Till {
        Till { dir: tempfile::tempdir().unwrap() }
    }

    fn run(&self, args: &[&str]) -> tillbook_cli::Outcome {
        let dir = self.dir.path().to_str().unwrap().to_string();
        let mut all = vec!["--data-dir".to_string(), dir];
        all.extend(args.iter().map(|a| a.to_string()));
        tillbook_cli::execute(all)
    }

    /// Runs with `--json` and expects success.
    fn ok(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(out.status, 0, "{args:?} failed: {}{}", out.stdout, out.stderr);
        assert_eq!(out.stdout.lines().count(), 1, "one JSON object per command");
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// Runs with `--json` and expects failure with `code`.
    fn fails(&self, args: &[&str], code: &str) -> String {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_ne!(out.status, 0, "{args:?} should fail");
        let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", out.stdout));
        assert_eq!(v["code"], code, "{args:?}: {v}");
        v["message"].as_str().unwrap().to_string()
    }
}

#[test]
fn walkthrough_from_init_to_cancel() {
    let t = Till::new();
    t.ok(&["init", "--demo", "--terminal-code", "T07"]);
    assert_eq!(t.ok(&["order", "list"])["orders"].as_array().unwrap().len(), 6);
    let key = t.ok(&["session", "open", "--handle", "table:4"])["session_key"].as_str().unwrap().to_string();
    let l1 = t.ok(&["session", "add", &key, "ESPRESSO", "--qty", "2"]);
    assert_eq!(l1["line_id"], "L1");
    let l2 = t.ok(&["session", "add", &key, "CROISSANT"]);
    t.ok(&["session", "set-qty", &key, l2["line_id"].as_str().unwrap(), "3"]);
    let show = t.ok(&["session", "show", &key]);
    assert_eq!(show["subtotal_q"], 2 * 500 + 3 * 650);
    assert_eq!(show["total_items"], 5);
    assert_eq!(show["lines"].as_array().unwrap().len(), 2);
    let c = t.ok(&["commit", &key, "--idempotency-key", "pay-1"]);
    assert_eq!(c["replayed"], false);
    let r = c["order_ref"].as_str().unwrap().to_string();
    assert!(r.contains("-T07-0007"), "{r}");
    let again = t.ok(&["commit", &key, "--idempotency-key", "pay-1"]);
    assert_eq!((again["order_ref"].as_str(), again["replayed"].as_bool()), (Some(r.as_str()), Some(true)));
    let order = t.ok(&["order", "show", &r]);
    assert_eq!((order["ref"].as_str(), order["status"].as_str(), order["total_q"].as_i64()), (Some(r.as_str()), Some("new"), Some(2950)));
    assert_eq!(order["sync_state"], "pending");
    t.ok(&["order", "transition", &r, "confirmed", "--actor", "ana"]);
    let before = t.ok(&["stock", "show", "ESPRESSO"])["items"][0]["on_hand"].as_i64().unwrap();
    let cancelled = t.ok(&["order", "cancel", &r, "--reason", "customer left"]);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["events"].as_array().unwrap().len(), 3);
    let after = t.ok(&["stock", "show", "ESPRESSO"])["items"][0]["on_hand"].as_i64().unwrap();
    assert_eq!(after, before + 2);
    let outbox = t.ok(&["outbox", "list"]);
    let seqs: Vec<i64> = outbox["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
}

#[test]
fn every_failure_is_a_code_and_a_message() {
    let t = Till::new();
    t.fails(&["order", "list"], "not_initialized");
    t.ok(&["init"]);
    t.fails(&["init"], "already_initialized");
    let f = t.dir.path().join("cat.csv");
    std::fs::write(&f, "sku,name,price_q\nA,Apple,100\nB,Banana,-1\n").unwrap();
    let msg = t.fails(&["catalog", "import", f.to_str().unwrap()], "import_invalid");
    assert!(msg.contains("line 3"), "{msg}");
    assert_eq!(t.ok(&["catalog", "list"])["products"].as_array().unwrap().len(), 0);
    std::fs::write(&f, "sku,name,price_q\nA,Apple,100\nB,Banana,250\n").unwrap();
    assert_eq!(t.ok(&["catalog", "import", f.to_str().unwrap()])["imported"], 2);
    assert_eq!(t.ok(&["catalog", "list", "--search", "ban"])["products"][0]["sku"], "B");
    let key = t.ok(&["session", "open"])["session_key"].as_str().unwrap().to_string();
    // A new book has no shift open: nothing is sold until one is (shifts are a later rule).
    t.fails(&["commit", &key, "--idempotency-key", "x"], "no_open_shift");
    t.ok(&["shift", "open", "--float", "0"]);
    t.fails(&["commit", &key, "--idempotency-key", "x"], "empty_session");
    t.fails(&["session", "add", &key, "ZZZ"], "unknown_sku");
    t.fails(&["session", "add", &key, "A", "--qty", "0"], "invalid_quantity");
    t.fails(&["session", "add", &key, "A", "--qty", "-3"], "invalid_quantity");
    t.fails(&["session", "add", &key, "A", "--unit-price", "-1"], "invalid_price");
    t.fails(&["session", "add", "no-such-session", "A"], "unknown_session");
    t.fails(&["session", "remove", &key, "L42"], "unknown_line");
    t.fails(&["session", "add", &key, "A", "--qty", "many"], "invalid_arguments");
    t.fails(&["session", "frobnicate"], "invalid_arguments");
    t.fails(&["commit", &key], "invalid_arguments");
    t.ok(&["session", "add", &key, "A"]);
    let r = t.ok(&["commit", &key, "--idempotency-key", "x"])["order_ref"].as_str().unwrap().to_string();
    t.fails(&["commit", &key, "--idempotency-key", "y"], "session_not_open");
    let other = t.ok(&["session", "open"])["session_key"].as_str().unwrap().to_string();
    t.ok(&["session", "add", &other, "B"]);
    t.fails(&["commit", &other, "--idempotency-key", "x"], "idempotency_conflict");
    t.fails(&["order", "transition", &r, "completed"], "invalid_transition");
    t.fails(&["order", "show", "ORD-NOPE"], "unknown_order");
    t.fails(&["stock", "adjust", "ZZZ", "5", "--reason", "receiving"], "unknown_sku");
    let s = t.ok(&["stock", "adjust", "A", "-2", "--reason", "broken cup"]);
    assert_eq!(s["items"][0]["on_hand"], -3);
    t.ok(&["session", "abandon", &other]);
    t.fails(&["session", "abandon", &other], "session_not_open");
}

#[test]
fn data_dirs_that_are_not_books_are_refused() {
    let t = Till::new();
    std::fs::write(t.dir.path().join("book.sqlite"), "not a database, just some text that is long enough....").unwrap();
    t.fails(&["order", "list"], "not_a_book");
    let file = t.dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let out = tillbook_cli::execute(["--json", "--data-dir", file.to_str().unwrap(), "order", "list"]);
    assert_eq!(out.status, 1);
    assert!(out.stdout.contains("\"not_a_book\""), "{}", out.stdout);
}

#[test]
fn human_output_is_aligned_and_in_the_locale() {
    let t = Till::new();
    let out = t.run(&["init", "--demo"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let list = t.run(&["catalog", "list"]).stdout;
    assert!(list.contains("R$ 7,50"), "{list}");
    let lines: Vec<&str> = list.lines().collect();
    let price_end = lines[0].find("PRICE").unwrap() + "PRICE".len();
    for l in &lines[1..] {
        assert_eq!(&l[price_end - 1..price_end], "0", "prices right-aligned under PRICE: {l:?}");
    }
    let err = t.run(&["session", "show", "nope"]);
    assert_eq!(err.status, 1);
    assert!(err.stderr.starts_with("error [unknown_session]"), "{}", err.stderr);
    let usd = Till::new();
    usd.run(&["init", "--currency", "USD", "--locale", "en-US"]);
    let f = usd.dir.path().join("c.json");
    std::fs::write(&f, r#"[{"sku":"TEA","name":"Tea","price_q":1650}]"#).unwrap();
    usd.run(&["catalog", "import", f.to_str().unwrap()]);
    assert!(usd.run(&["catalog", "list"]).stdout.contains("$16.50"));
}
