//! `tillbook init --demo`, a sale on the demo till, then `tillbook enroll` and `tillbook sync
//! run` against a `tillbook-server` process: the back office never sees a demo order, shift or
//! payment; the till asks for a float, and its first real shift and sale arrive from wire seq 1.

use super::*;

#[test]
fn a_demo_till_enrolled_by_the_cli_sends_nothing_of_the_demo() {
    let server = Server::start();
    let till = Till { name: "demo till".into(), root: tempfile::tempdir().unwrap() };
    till.run(&["init", "--demo"]);
    // A sale rung up on the demo till (its demo shift is open), paid in cash.
    let demo_sale = till.sell(&[("LATTE", 1)], "demo-sale");
    till.run(&["pay", &demo_sale, "--cash", "100000"]);
    assert_eq!(till.orders().len(), 7, "six demo orders and the sale");
    let written = till.status()["last_seq"].as_i64().unwrap();

    let e = till.enroll(&server, &server.code("Demo counter"));
    let terminal_id = text(&e, "terminal_id", "enroll").to_string();
    let store = text(&e, "store", "enroll").to_string();
    assert_eq!(e["left_demo"], true, "{e}");
    let synced = till.sync();

    let orders = server.orders(None);
    assert!(orders.is_empty(), "{} demo orders reached the back office: {:?}", orders.len(), refs(&orders));
    assert_eq!(synced["report"]["pushed"], 0, "{synced}");
    let shifts = server.get(&format!("/v1/admin/shifts?store={store}"));
    assert_eq!(array(&shifts, "shifts", "shifts"), &Vec::<Value>::new(), "the demo shift reached the back office");
    let date = chrono::Local::now().date_naive();
    let daily = server.get(&format!("/v1/admin/reports/daily?store={store}&date={date}"));
    assert_eq!(array(&daily, "tenders", "daily report"), &Vec::<Value>::new(), "demo payments reached the back office");

    // The till starts clean: no orders, nothing queued, no shift: selling asks for a float.
    assert!(till.orders().is_empty(), "{:?}", till.orders());
    let status = till.status();
    assert_eq!((status["pending"].as_i64(), status["rejected"].as_i64()), (Some(0), Some(0)), "{status}");
    assert_eq!(status["last_seq"].as_i64(), Some(written), "the outbox counter never goes backwards");
    assert_eq!(status["seq_base"].as_i64(), Some(written));
    let s = till.open_session();
    till.run(&["session", "add", &s, "LATTE"]);
    let refused = till.try_run(&["commit", &s, "--idempotency-key", "no-shift"]).unwrap_err();
    assert_eq!(refused["code"], "no_open_shift", "{refused}");

    // A real shift and sale: exactly those reach the server, nothing rejected.
    till.run(&["shift", "open", "--float", "10000"]);
    let real = text(&till.run(&["commit", &s, "--idempotency-key", "real-1"]), "order_ref", "commit").to_string();
    till.run(&["pay", &real, "--cash", "100000"]);
    till.sync();
    let status = till.status();
    assert_eq!((status["pending"].as_i64(), status["rejected"].as_i64()), (Some(0), Some(0)), "{status}");
    let orders = server.orders(None);
    assert_eq!(refs(&orders), vec![real.clone()]);
    assert_eq!(orders[0]["terminal_id"], terminal_id.as_str());
    let shifts = server.get(&format!("/v1/admin/shifts?store={store}"));
    let shifts = array(&shifts, "shifts", "shifts");
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    assert_eq!(shifts[0]["terminal_id"], terminal_id.as_str());
    let terminals = server.get("/v1/admin/terminals");
    let me = array(&terminals, "terminals", "terminals").iter().find(|t| t["terminal_id"] == terminal_id.as_str()).unwrap();
    // shift.opened, order.committed, payment.recorded: wire seqs 1, 2, 3.
    assert_eq!((me["last_applied_seq"].as_u64(), me["rejected"].as_u64()), (Some(3), Some(0)), "{me}");
    assert_eq!(status["last_seq"].as_i64(), Some(written + 3));
    assert_all_applied(&till);
}
