//! Shifts in the chaos test: every shift of every book, open or closed, has the same figures at
//! the server as in the book (a closed shift: its Z-report; an open one: its X-report now).

use std::collections::BTreeMap;

use serde_json::Value;
use tillbook_orderbook::Book;

use super::admin::Admin;

/// The figures without their instants (each side formats time its own way; the instants are
/// the till's and are compared as such by the server's own tests).
fn comparable(mut figures: Value) -> Value {
    if let Value::Object(m) = &mut figures {
        m.remove("opened_at");
        m.remove("closed_at");
        if let Some(Value::Array(moves)) = m.get_mut("movements") {
            for mv in moves {
                if let Value::Object(mm) = mv {
                    mm.remove("at");
                }
            }
        }
    }
    figures
}

/// Asserts that the server lists every book's shifts with the book's figures.
pub async fn check(admin: &Admin, books: &[(&Book, &str)], db: &str) {
    let mut listed: BTreeMap<String, Value> = BTreeMap::new();
    let stores: std::collections::BTreeSet<&str> = books.iter().map(|(_, s)| *s).collect();
    for store in stores {
        let v = admin.get(&format!("/v1/admin/shifts?store={store}&limit=1000")).await;
        assert_eq!(v["has_more"], false, "{store}: more than 1000 shifts");
        for s in v["shifts"].as_array().unwrap_or_else(|| panic!("shift list: {v}")) {
            let id = s["shift_id"].as_str().unwrap().to_string();
            assert!(listed.insert(id.clone(), s.clone()).is_none(), "shift {id} listed twice");
        }
    }
    let (mut closed, mut open, mut movements) = (0, 0, 0);
    let mut ours = 0;
    for (book, store) in books {
        for shift in book.shifts(1_000_000).unwrap() {
            ours += 1;
            let id = shift.shift_id.to_string();
            let at_server = listed.get(&id).unwrap_or_else(|| panic!("{store}: shift {id} is not at the server"));
            assert_eq!(at_server["status"], shift.status.as_str(), "shift {id}: {at_server}");
            let want = serde_json::to_value(book.shift_figures(shift.shift_id).unwrap()).unwrap();
            movements += want["movements"].as_array().map_or(0, |m| m.len());
            assert_eq!(comparable(at_server["figures"].clone()), comparable(want), "shift {id} ({})", shift.status);
            assert_eq!(at_server["mismatch"], false, "shift {id}: {at_server}");
            if shift.status == "closed" {
                closed += 1;
                let till = &at_server["till"];
                assert_eq!(till["counted_q"].as_i64(), shift.counted_q, "shift {id}: {at_server}");
                assert_eq!(till["difference_q"].as_i64(), shift.difference_q, "shift {id}: {at_server}");
            } else {
                open += 1;
            }
        }
    }
    eprintln!("chaos ({db}): {closed} closed shifts, {open} open, {movements} cash movements: the server's figures equal the books'");
    assert_eq!(ours, listed.len(), "the server lists exactly the books' shifts");
    assert_eq!(open, books.len(), "every book ends with one shift open");
    assert!(closed > 0, "some shift was closed during the chaos");
}
