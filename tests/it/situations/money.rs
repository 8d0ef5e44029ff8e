//! Money taken at the tills, online and offline, as the back office sees it: payments, a
//! declined card, refunds and taxes reach the server exactly once and its daily report adds up
//! to what the tills took.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{array, assert_all_applied, text, Server, Till};

/// The PIN of the back office's manager.
const MANAGER_PIN: &str = "2468";

/// Sums of `field` by `key` over a list of JSON objects.
fn by(list: &[Value], key: &str, field: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for v in list {
        let k = v[key].as_str().map(str::to_string).unwrap_or_else(|| v[key].to_string());
        *out.entry(k).or_default() += v[field].as_i64().unwrap_or_else(|| panic!("{field} in {v}"));
    }
    out.retain(|_, n| *n != 0);
    out
}

fn sync_clean(t: &Till) {
    t.sync();
    let s = t.status();
    assert_eq!(s["pending"], 0, "{}: {s}", t.name);
    assert_eq!(s["rejected"], 0, "{}: {s}", t.name);
    assert_all_applied(t);
}

#[test]
fn money_taken_at_two_tills_adds_up_in_the_back_office() {
    let mut server = Server::start();
    // Refunds need a manager's PIN: the back office's manager, pulled by both tills.
    let mia = json!({"name": "Mia", "role": "manager", "pin": MANAGER_PIN});
    server.admin(reqwest::Method::POST, "/v1/admin/staff", Some(mia));
    let a = Till::init("till A", &[]);
    let b = Till::init("till B", &[]);
    for t in [&a, &b] {
        t.enroll(&server, &server.code(&t.name));
        t.sync(); // the catalog comes from the server
        t.run(&["settings", "set", "tender_methods", "pix,voucher"]);
        t.run(&["settings", "set", "category_tax", "Coffee=18,Bakery=7"]);
        t.run(&["settings", "set", "tax_rate", "12"]);
    }
    b.run(&["settings", "set", "tax_mode", "exclusive"]);
    b.run(&["settings", "set", "cash_rounding", "5"]);

    // Till A, online: a split (Pix and cash with change), a declined card then a good one.
    let a1 = a.sell(&[("LATTE", 2), ("CROISSANT", 1)], "a-1");
    let paid = a.run(&["pay", &a1, "--method", "pix", "--amount", "1000", "--cash", "2000"]);
    assert_eq!(paid["payment_status"], "paid", "{paid}");
    assert_eq!(paid["change_due_q"], 2000 - (2150 - 1000), "{paid}");
    let a2 = a.sell(&[("ESPRESSO", 3)], "a-2");
    let declined = a.try_run(&["pay", &a2, "--card", "4000000000009995"]).expect_err("a declined card fails the command");
    assert_eq!(declined["code"], "insufficient_funds", "{declined}");
    let shown = a.run(&["order", "show", &a2]);
    assert_eq!(shown["payment_status"], "unpaid", "a decline leaves the order payable: {shown}");
    a.run(&["pay", &a2, "--card", "4242424242424242"]);
    a.run(&["--pin", MANAGER_PIN, "refund", &a1, "--line", "2", "--qty", "1", "--restock", "--idempotency-key", "ra-1"]);
    sync_clean(&a);

    // Till B, offline: the server is down while it sells, is paid and refunds.
    server.stop();
    let b1 = b.sell(&[("CARROT_CAKE", 1), ("CAPPUCCINO", 2)], "b-1");
    let total: i64 = b.run(&["order", "show", &b1])["total_q"].as_i64().unwrap();
    b.run(&["pay", &b1, "--cash", &(total + 1003).to_string()]);
    // Offline, the manager's PIN is checked against the hash the till pulled.
    let denied = b.try_run(&["refund", &b1, "--amount", "400", "--idempotency-key", "rb-1"]).unwrap_err();
    assert_eq!(denied["code"], "permission_denied", "{denied}");
    let r1 = b.run(&["--pin", MANAGER_PIN, "refund", &b1, "--amount", "400", "--idempotency-key", "rb-1"]);
    let again = b.run(&["refund", &b1, "--amount", "400", "--idempotency-key", "rb-1"]);
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(again["refund_id"], r1["refund_id"]);
    let over = b.try_run(&["--pin", MANAGER_PIN, "refund", &b1, "--amount", &total.to_string(), "--idempotency-key", "rb-2"]).unwrap_err();
    assert_eq!(over["code"], "refund_exceeds_paid", "{over}");
    assert!(b.try_sync().is_err(), "the server is down");
    server.restart();
    sync_clean(&b);
    // A second round moves nothing.
    sync_clean(&a);
    sync_clean(&b);

    // Each order on the server carries the till's payments, refunds and taxes.
    let mut want_tenders: BTreeMap<String, i64> = BTreeMap::new();
    let mut want_refunds: BTreeMap<String, i64> = BTreeMap::new();
    let mut want_taxes: BTreeMap<String, i64> = BTreeMap::new();
    let mut date = String::new();
    for (t, r) in [(&a, &a1), (&a, &a2), (&b, &b1)] {
        let mine = t.run(&["order", "show", r]);
        let theirs = server.get(&format!("/v1/admin/orders/{}", text(&mine, "order_id", "order show")));
        for f in ["total_q", "tax_q", "paid_q", "refunded_q", "payment_status", "status"] {
            assert_eq!(theirs[f], mine[f], "{r}: {f} on the server: {theirs}");
        }
        let pay = |v: &Value| by(&array(v, "payments", "order")
            .iter().filter(|p| p["outcome"] == "approved").cloned().collect::<Vec<_>>(), "method", "amount_q");
        assert_eq!(pay(&theirs), pay(&mine), "{r}: approved payments");
        assert_eq!(array(&theirs, "payments", "server order").len(), array(&mine, "payments", "order").len(), "{r}: every attempt, the decline too");
        assert_eq!(array(&theirs, "refunds", "server order").len(), array(&mine, "refunds", "order").len(), "{r}: refunds");
        for (m, n) in pay(&mine) {
            *want_tenders.entry(m).or_default() += n;
        }
        for refund in array(&mine, "refunds", "order") {
            for (m, n) in by(array(refund, "tenders", "refund"), "method", "amount_q") {
                *want_refunds.entry(m).or_default() += n;
            }
        }
        for l in array(&mine, "lines", "order") {
            *want_taxes.entry(l["tax_rate_bp"].to_string()).or_default() += l["tax_q"].as_i64().unwrap();
        }
        date = text(&mine, "business_date", "order").to_string();
    }
    want_taxes.retain(|_, n| *n != 0);
    assert!(want_taxes.len() >= 2, "two tax rates were sold: {want_taxes:?}");

    // The daily report of the store adds up to what the tills took.
    let report = server.get(&format!("/v1/admin/reports/daily?store=main&date={date}"));
    assert_eq!(by(array(&report, "tenders", "report"), "method", "amount_q"), want_tenders, "tenders: {report}");
    assert_eq!(by(array(&report["refunds"], "by_method", "report refunds"), "method", "amount_q"), want_refunds, "refunds: {report}");
    let taxes: BTreeMap<String, i64> = by(array(&report, "taxes", "report"), "rate_bp", "tax_q");
    assert_eq!(taxes, want_taxes, "tax by rate: {report}");
    assert_eq!(report["sales"]["orders"], 3, "{report}");
    assert_eq!(report["declines"]["count"], 1, "{report}");
    let terminals = array(&report, "terminals", "report");
    assert_eq!(terminals.len(), 2, "one row per till: {report}");
}
