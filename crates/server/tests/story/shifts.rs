//! A day at the till, as the server sees it: a shift opened with a float, sales taxed and
//! untaxed, split tenders, a declined card, a payment on an order from before shifts,
//! refunds, a cancellation, cash in and out and a no-sale, then the close. The listing's
//! figures must equal sums computed here, independently, from the events pushed; a close
//! whose figures differ from the server's is stored and flagged; who did what shows in the
//! listing and on the orders.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tillbook_protocol::events::{
    EventPayload, OrderCommitted, PaymentOutcome, PaymentRecorded, RefundRecorded,
};
use tillbook_protocol::shift::{CashMoveKind, ShiftFigures, ShiftOpened};
use tillbook_protocol::tax::TaxMode;
use uuid::Uuid;

use crate::payments::{c, cash, day, detail, p, pay, r, refund, refund_lines, sale, Till};
use crate::shift_kit::{closed, expect, micros, moved, opened, sc, sm, so, Pushed};
use crate::staff;
use crate::support::*;

/// A sale in `shift`, committed at `at`, by `who`, with a category per line.
#[allow(clippy::too_many_arguments)]
fn sold(
    r: &str,
    mode: Option<TaxMode>,
    lines: &[crate::payments::Sell],
    discount: i64,
    categories: &[Option<&str>],
    shift: &ShiftOpened,
    at: DateTime<Utc>,
    who: (&str, Option<Uuid>),
) -> OrderCommitted {
    let mut o = sale(r, mode, lines, discount, day());
    for (l, cat) in o.lines.iter_mut().zip(categories) {
        l.category = cat.map(str::to_string);
    }
    o.committed_at = micros(at);
    o.shift_id = Some(shift.shift_id);
    o.actor = Some(who.0.into());
    o.staff_id = who.1;
    o
}

fn in_shift(mut p: PaymentRecorded, shift: &ShiftOpened, staff: Option<Uuid>) -> PaymentRecorded {
    p.shift_id = Some(shift.shift_id);
    p.staff_id = staff;
    p
}

fn refund_in(
    mut r: RefundRecorded,
    shift: &ShiftOpened,
    staff: Option<Uuid>,
    approved: Option<Uuid>,
) -> RefundRecorded {
    r.shift_id = Some(shift.shift_id);
    r.staff_id = staff;
    r.approved_by = approved;
    r
}

async fn list(s: &Server, query: &str) -> Value {
    s.admin("GET", &format!("/v1/admin/shifts?{query}"), None)
        .await
}

fn figures_of(v: &Value) -> ShiftFigures {
    serde_json::from_value(v["figures"].clone()).unwrap()
}

pub async fn figures(db: Db) {
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    let ana = staff::id_of(&staff::create(&s, "Ana", "cashier", "1234").await);
    let marta = staff::id_of(&staff::create(&s, "Marta", "manager", "9876").await);
    // The till's own default cashier, never enrolled at the server.
    let bob = Uuid::now_v7();
    let mut till = Till::new(&s, "Front", None).await;
    let t0 = micros(Utc::now()) - Duration::hours(2);
    let at = |secs: i64| t0 + Duration::seconds(secs);

    // An order from before shifts, unpaid, then the shift opens.
    let old = sale("OLD", None, &[("LATTE", 750, 1, 0, 0)], 0, day());
    let s1 = opened(10_000, at(0), "Ana", Some(ana));
    till.apply(&s, &[c(&old), so(&s1)]).await;

    // Sales: taxed inclusive paid in cash (rounded, with change); taxed exclusive split
    // between cash and card; untaxed with discounts, approved by a manager, by the till's
    // own cashier, paid by pix; a sale cancelled unpaid; a card declined then approved.
    let a = sold(
        "A",
        Some(TaxMode::Inclusive),
        &[
            ("ESPRESSO", 500, 2, 0, 1800),
            ("CROISSANT", 650, 1, 50, 500),
        ],
        101,
        &[Some("Coffee"), Some("Bakery")],
        &s1,
        at(10),
        ("Ana", Some(ana)),
    );
    let mut a_cash = in_shift(cash(&a, a.total_q, 2000), &s1, Some(ana));
    a_cash.rounding_q = 1;
    a_cash.change_q = 2000 - a.total_q - 1;
    let b = sold(
        "B",
        Some(TaxMode::Exclusive),
        &[("LATTE", 750, 2, 0, 1000), ("CARROT_CAKE", 800, 1, 0, 725)],
        0,
        &[Some("Coffee"), None],
        &s1,
        at(20),
        ("Ana", Some(ana)),
    );
    let b_cash = in_shift(cash(&b, 1000, 1000), &s1, Some(ana));
    let mut b_card = in_shift(pay(&b, "card", b.total_q - 1000), &s1, Some(ana));
    b_card.fee_q = 30;
    let mut cc = sold(
        "C",
        None,
        &[("PAIN_AU_CHOCOLAT", 750, 2, 100, 0)],
        50,
        &[Some("Bakery")],
        &s1,
        at(30),
        ("Bob", Some(bob)),
    );
    cc.approved_by = Some(marta);
    let c_pix = in_shift(pay(&cc, "pix", cc.total_q), &s1, Some(bob));
    let d = sold(
        "D",
        None,
        &[("CROISSANT", 650, 1, 0, 0)],
        0,
        &[Some("Bakery")],
        &s1,
        at(40),
        ("Ana", Some(ana)),
    );
    let mut d_cancel = status(&c(&d), "new", "cancelled", Some(("CROISSANT", 1)));
    if let EventPayload::OrderStatusChanged(x) = &mut d_cancel {
        x.staff_id = Some(ana);
        x.approved_by = Some(marta);
        x.shift_id = Some(s1.shift_id);
    }
    let mut e = sold(
        "E",
        Some(TaxMode::Inclusive),
        &[("LATTE", 750, 1, 0, 1800)],
        0,
        &[Some("Coffee")],
        &s1,
        at(50),
        ("Ana", Some(ana)),
    );
    // Sold under another spelling than B's LATTE: the name shown is the greatest, byte by byte.
    e.lines[0].name = "latte".into();
    let mut e_declined = in_shift(pay(&e, "card", e.total_q), &s1, Some(ana));
    e_declined.outcome = PaymentOutcome::Declined;
    e_declined.decline_code = Some("insufficient_funds".into());
    let e_card = in_shift(pay(&e, "card", e.total_q), &s1, Some(ana));
    // The order from before shifts is paid in this shift: its money is the shift's.
    let old_cash = in_shift(cash(&old, 750, 1000), &s1, Some(ana));
    till.apply(
        &s,
        &[
            c(&a),
            p(&a_cash),
            c(&b),
            p(&b_cash),
            p(&b_card),
            c(&cc),
            p(&c_pix),
            c(&d),
            d_cancel,
            c(&e),
            p(&e_declined),
            p(&e_card),
            p(&old_cash),
        ],
    )
    .await;

    // Refunds (cash by amount; card by line, restocked, approved by the manager) and cash.
    let a_back = refund_in(refund(&a, "a-1", &[(&a_cash, 300)]), &s1, Some(ana), None);
    let b_back = refund_in(
        refund_lines(&b, "b-1", &b_card, &[(1, 0, 1)]),
        &s1,
        Some(ana),
        Some(marta),
    );
    let cash_in = moved(&s1, CashMoveKind::In, 5_000, "change from the safe", at(60));
    let no_sale = moved(
        &s1,
        CashMoveKind::NoSale,
        0,
        "customer needed change",
        at(65),
    );
    let mut cash_out = moved(&s1, CashMoveKind::Out, 2_000, "bank drop", at(70));
    cash_out.approved_by = Some(marta);
    till.apply(
        &s,
        &[
            r(&a_back),
            r(&b_back),
            sm(&cash_in),
            sm(&no_sale),
            sm(&cash_out),
        ],
    )
    .await;

    let pushed = Pushed {
        shift: &s1,
        orders: vec![
            (&a, false),
            (&b, false),
            (&cc, false),
            (&d, true),
            (&e, false),
        ],
        payments: vec![
            &a_cash,
            &b_cash,
            &b_card,
            &c_pix,
            &e_declined,
            &e_card,
            &old_cash,
        ],
        refunds: vec![&a_back, &b_back],
        moves: vec![&cash_in, &no_sale, &cash_out],
    };

    // Open: the X-report, no count, nothing from the till yet.
    let v = list(&s, "store=main").await;
    let one = &v["shifts"][0];
    assert_eq!(
        (one["status"].as_str(), one["mismatch"].as_bool()),
        (Some("open"), Some(false))
    );
    assert!(one["till"].is_null() && one["closed_at"].is_null());
    let x_report = expect(&pushed, None, None);
    assert_eq!(figures_of(one), x_report);
    // The sums are what they should be, not only equal to each other.
    assert_eq!(x_report.order_count, 4);
    assert_eq!(
        x_report.sales_q,
        a.total_q + b.total_q + cc.total_q + e.total_q
    );
    assert_eq!((x_report.cancelled_count, x_report.cancelled_q), (1, 650));
    assert_eq!(
        (x_report.first_ref.as_deref(), x_report.last_ref.as_deref()),
        (Some("A"), Some("E"))
    );
    assert_eq!(x_report.cash_sales_q, a.total_q + 1 + 1000 + 750);
    assert_eq!(x_report.cash_refunds_q, 300);
    assert_eq!(
        x_report.expected_cash_q,
        10_000 + a.total_q + 1 + 1000 + 750 - 300 + 5_000 - 2_000
    );
    let card = x_report
        .tenders
        .iter()
        .find(|t| t.method == "card")
        .unwrap();
    assert_eq!(
        (card.count, card.declined, card.fee_q, card.refunded_q),
        (2, 1, 30, b_back.amount_q)
    );
    assert_eq!(
        x_report.taxes.iter().map(|t| t.gross_q).sum::<i64>(),
        a.total_q + b.total_q + e.total_q
    );
    assert_eq!(
        x_report
            .by_category
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        ["", "Bakery", "Coffee"]
    );
    assert_eq!(x_report.movements.len(), 3);
    let latte = x_report.by_product.iter().find(|p| p.key == "LATTE").unwrap();
    assert_eq!((latte.name.as_str(), latte.qty), ("latte", 3));

    // Closed 150 short, approved by the manager: the Z-report is the till's, equal to the
    // server's.
    let close_at = at(100);
    let z = expect(
        &pushed,
        Some(close_at),
        Some(x_report.expected_cash_q - 150),
    );
    assert_eq!(z.difference_q, Some(-150));
    let close = closed(z.clone(), Some(marta));
    till.apply(&s, &[sc(&close)]).await;

    // Another till's shift, closed with figures that do not add up to the server's: stored,
    // and flagged.
    let mut front2 = Till::new(&s, "Back", None).await;
    let s2 = opened(0, at(5), "Bob", None);
    let f = sold(
        "F",
        None,
        &[("ESPRESSO", 500, 1, 0, 0)],
        0,
        &[None],
        &s2,
        at(15),
        ("Bob", None),
    );
    let f_cash = in_shift(cash(&f, 500, 500), &s2, None);
    let mut wrong = expect(
        &Pushed {
            shift: &s2,
            orders: vec![(&f, false)],
            payments: vec![&f_cash],
            refunds: vec![],
            moves: vec![],
        },
        Some(at(90)),
        Some(480),
    );
    let right = wrong.clone();
    wrong.sales_q += 100;
    front2
        .apply(&s, &[so(&s2), c(&f), p(&f_cash), sc(&closed(wrong, None))])
        .await;
    // And the first till's next shift, still open and empty.
    let s3 = opened(5_000, at(200), "Ana", Some(ana));
    till.apply(&s, &[so(&s3)]).await;

    let v = list(&s, "store=main").await;
    assert_eq!(v["has_more"], false);
    let shifts = v["shifts"].as_array().unwrap();
    let ids: Vec<&str> = shifts
        .iter()
        .map(|x| x["shift_id"].as_str().unwrap())
        .collect();
    let want = [
        s3.shift_id.to_string(),
        s2.shift_id.to_string(),
        s1.shift_id.to_string(),
    ];
    assert_eq!(ids, want, "newest first");
    let (v3, v2, v1) = (&shifts[0], &shifts[1], &shifts[2]);

    assert_eq!(figures_of(v1), z);
    assert_eq!(v1["status"], "closed");
    assert_eq!(v1["mismatch"], false);
    assert_eq!(
        v1["till"],
        json!({"counted_q": z.counted_q, "expected_q": z.expected_cash_q, "difference_q": -150})
    );
    assert_eq!(
        (v1["opened_by"].as_str(), v1["closed_by"].as_str()),
        (Some("Ana"), Some("Ana"))
    );
    assert_eq!(v1["opened_by_staff_id"], ana.to_string());
    assert_eq!(
        (v1["approved_by"].as_str(), v1["approved_by_name"].as_str()),
        (Some(marta.to_string().as_str()), Some("Marta"))
    );
    assert_eq!(
        (
            v1["terminal_code"].as_str(),
            v1["currency"].as_str(),
            v1["business_date"].as_str()
        ),
        (Some("T01"), Some("BRL"), Some("2026-11-21"))
    );

    assert_eq!(v2["mismatch"], true);
    assert_eq!(figures_of(v2), right);
    assert_eq!(v2["till"]["difference_q"], right.difference_q.unwrap());
    assert_eq!(
        (v2["opened_by"].as_str(), v2["terminal_code"].as_str()),
        (Some("Bob"), Some("T02"))
    );

    assert_eq!(
        (v3["status"].as_str(), v3["mismatch"].as_bool()),
        (Some("open"), Some(false))
    );
    let empty = expect(
        &Pushed {
            shift: &s3,
            orders: vec![],
            payments: vec![],
            refunds: vec![],
            moves: vec![],
        },
        None,
        None,
    );
    assert_eq!(figures_of(v3), empty);
    assert_eq!(empty.expected_cash_q, 5_000);

    // Filters, a limit, and bad queries.
    let v = list(&s, "store=main&terminal=T02").await;
    assert_eq!(v["shifts"].as_array().unwrap().len(), 1);
    assert_eq!(v["shifts"][0]["shift_id"], s2.shift_id.to_string());
    assert_eq!(
        list(&s, "store=main&date=2026-11-21").await["shifts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(list(&s, "store=main&date=2026-11-22").await["shifts"]
        .as_array()
        .unwrap()
        .is_empty());
    let v = list(&s, "store=main&terminal=T01&limit=1").await;
    assert_eq!(
        (
            v["shifts"].as_array().unwrap().len(),
            v["has_more"].as_bool()
        ),
        (1, Some(true))
    );
    assert_eq!(v["shifts"][0]["shift_id"], s3.shift_id.to_string());
    let get = |q: &'static str| s.call("GET", q, Some(ADMIN), None);
    assert_error(&get("/v1/admin/shifts").await, 400, "invalid_query");
    assert_error(
        &get("/v1/admin/shifts?store=nowhere").await,
        422,
        "unknown_store",
    );
    assert_error(
        &get("/v1/admin/shifts?store=main&terminal=T09").await,
        422,
        "unknown_terminal",
    );
    assert_error(
        &get("/v1/admin/shifts?store=main&date=2026-13-01").await,
        400,
        "invalid_date",
    );
    assert_error(
        &get("/v1/admin/shifts?store=main&limit=0").await,
        400,
        "invalid_query",
    );
    assert_error(
        &s.call(
            "GET",
            "/v1/admin/shifts?store=main",
            Some(&till.enrolled.token),
            None,
        )
        .await,
        403,
        "forbidden",
    );

    // A cancellation after the close (no shift open at the till) leaves the closed shift's
    // figures as its Z-report said: a Z-report never changes.
    let before = figures_of(&list(&s, "store=main&terminal=T01&date=2026-11-21").await["shifts"][1]);
    till.apply(
        &s,
        &[status(&c(&e), "new", "cancelled", Some(("LATTE", 1)))],
    )
    .await;
    let v = list(&s, "store=main&terminal=T01&date=2026-11-21").await;
    let v1 = &v["shifts"][1];
    assert_eq!(v1["shift_id"], s1.shift_id.to_string());
    assert_eq!(v1["mismatch"], false);
    assert_eq!(figures_of(v1), before);
    assert_eq!(figures_of(v1).cancelled_count, 1);

    // Who did what, on the orders.
    let va = detail(&s, &a).await;
    assert_eq!(
        (va["actor"].as_str(), va["staff_name"].as_str()),
        (Some("Ana"), Some("Ana"))
    );
    assert_eq!(
        (va["staff_id"].as_str(), va["shift_id"].as_str()),
        (
            Some(ana.to_string().as_str()),
            Some(s1.shift_id.to_string().as_str())
        )
    );
    assert_eq!(va["events"][0]["actor"], "Ana");
    assert_eq!(va["lines"][0]["category"], "Coffee");
    assert_eq!(
        (
            va["payments"][0]["staff_name"].as_str(),
            va["payments"][0]["shift_id"].as_str()
        ),
        (Some("Ana"), Some(s1.shift_id.to_string().as_str()))
    );
    assert_eq!(va["refunds"][0]["staff_name"], "Ana");
    assert!(va["refunds"][0]["approved_by"].is_null());
    let vb = detail(&s, &b).await;
    assert_eq!(
        (
            vb["refunds"][0]["approved_by_name"].as_str(),
            vb["lines"][1]["category"].as_str()
        ),
        (Some("Marta"), None)
    );
    // A staff member the server does not know (the till's default cashier) is kept as given.
    let vc = detail(&s, &cc).await;
    assert_eq!(
        (
            vc["actor"].as_str(),
            vc["staff_id"].as_str(),
            vc["staff_name"].as_str()
        ),
        (Some("Bob"), Some(bob.to_string().as_str()), None)
    );
    assert_eq!(
        (vc["approved_by"].as_str(), vc["approved_by_name"].as_str()),
        (Some(marta.to_string().as_str()), Some("Marta"))
    );
    assert_eq!(vc["payments"][0]["staff_id"], bob.to_string());
    assert!(vc["payments"][0]["staff_name"].is_null());
    let vd = detail(&s, &d).await;
    assert_eq!(
        (
            vd["events"][1]["staff_id"].as_str(),
            vd["events"][1]["approved_by"].as_str()
        ),
        (
            Some(ana.to_string().as_str()),
            Some(marta.to_string().as_str())
        )
    );
    // An order from before shifts and staff.
    let vo = detail(&s, &old).await;
    assert!(vo["shift_id"].is_null() && vo["staff_id"].is_null());
    assert_eq!(vo["actor"], format!("terminal:{}", till.id()));

    // The OpenAPI document names the new routes.
    let (_, doc) = s.call("GET", "/v1/openapi.json", None, None).await;
    for (path, method) in [
        ("/v1/admin/shifts", "get"),
        ("/v1/admin/staff", "get"),
        ("/v1/admin/staff", "post"),
        ("/v1/admin/staff/{id}", "patch"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(doc["components"]["schemas"]["ShiftFigures"].is_object());
}
