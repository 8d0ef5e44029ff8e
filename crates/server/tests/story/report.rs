//! The daily report over HTTP: two tills and another store push a day of sales, payments
//! (split, declined, rounded, taken the next day), refunds and cancellations; every figure
//! of the report is checked against sums this test computes itself from what it pushed.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use tillbook_protocol::events::{
    EventPayload, OrderCommitted, PaymentOutcome, PaymentRecorded, RefundRecorded,
};
use tillbook_protocol::tax::TaxMode;
use uuid::Uuid;

use crate::payments::*;
use crate::support::*;

/// What was applied, as the test pushed it.
#[derive(Default)]
struct Ledger {
    /// Orders with the pushing terminal and their status now.
    orders: Vec<(OrderCommitted, String)>,
    status: HashMap<Uuid, String>,
    payments: Vec<(PaymentRecorded, String)>,
    refunds: Vec<(RefundRecorded, String)>,
}

impl Ledger {
    fn order(&mut self, o: &OrderCommitted, till: &Till) -> EventPayload {
        self.orders.push((o.clone(), till.id()));
        self.status.insert(o.order_id, o.status.clone());
        c(o)
    }
    fn pay(&mut self, x: &PaymentRecorded, till: &Till) -> EventPayload {
        self.payments.push((x.clone(), till.id()));
        p(x)
    }
    fn refund(&mut self, x: &RefundRecorded, till: &Till) -> EventPayload {
        self.refunds.push((x.clone(), till.id()));
        r(x)
    }
    fn cancel(&mut self, o: &OrderCommitted) -> EventPayload {
        self.status.insert(o.order_id, "cancelled".into());
        let back = (o.lines[0].sku.as_str(), o.lines[0].qty);
        assert_eq!(o.lines.len(), 1);
        status(&c(o), "new", "cancelled", Some(back))
    }

    /// The report as this test reckons it, by looping over what it pushed.
    fn expected(&self, store: &str, date: chrono::NaiveDate, tills: &[&Till]) -> Value {
        let ours: Vec<String> = tills.iter().map(|t| t.id()).collect();
        let mine = |t: &String| ours.contains(t);
        #[derive(Default)]
        struct T {
            orders: i64,
            gross: i64,
            tax: i64,
            tenders: BTreeMap<String, i64>,
            refunds: i64,
            cancellations: i64,
            seen: bool,
        }
        let mut per: BTreeMap<String, T> = BTreeMap::new();
        let (mut n, mut gross, mut tax, mut disc) = (0, 0, 0, 0);
        let (mut cn, mut camount) = (0, 0);
        let mut rates: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for (o, t) in self
            .orders
            .iter()
            .filter(|(o, t)| mine(t) && o.business_date == date)
        {
            let e = per.entry(t.clone()).or_default();
            e.seen = true;
            if self.status[&o.order_id] == "cancelled" {
                cn += 1;
                camount += o.total_q;
                e.cancellations += 1;
                continue;
            }
            n += 1;
            gross += o.total_q;
            tax += o.tax_q;
            disc += o.discount_q + o.lines.iter().map(|l| l.discount_q).sum::<i64>();
            e.orders += 1;
            e.gross += o.total_q;
            e.tax += o.tax_q;
            for l in &o.lines {
                let excl = if o.tax_mode == Some(TaxMode::Exclusive) {
                    l.tax_q
                } else {
                    0
                };
                let g = l.total_q - l.order_discount_q + excl;
                let r = rates.entry(l.tax_rate_bp).or_default();
                r.0 += g;
                r.1 += l.tax_q;
            }
        }
        let mut tenders: BTreeMap<String, [i64; 3]> = BTreeMap::new();
        let (mut declines, mut fees) = (0, 0);
        for (x, t) in self
            .payments
            .iter()
            .filter(|(x, t)| mine(t) && x.business_date == date)
        {
            if x.outcome == PaymentOutcome::Declined {
                declines += 1;
                continue;
            }
            let e = tenders.entry(x.method.clone()).or_default();
            e[0] += 1;
            e[1] += x.amount_q;
            e[2] += x.fee_q;
            fees += x.fee_q;
            let pt = per.entry(t.clone()).or_default();
            pt.seen = true;
            *pt.tenders.entry(x.method.clone()).or_default() += x.amount_q;
        }
        let (mut rn, mut ramount) = (0, 0);
        let mut by_method: BTreeMap<String, i64> = BTreeMap::new();
        for (x, t) in self
            .refunds
            .iter()
            .filter(|(x, t)| mine(t) && x.business_date == date)
        {
            rn += 1;
            ramount += x.amount_q;
            for tender in &x.tenders {
                *by_method.entry(tender.method.clone()).or_default() += tender.amount_q;
            }
            let pt = per.entry(t.clone()).or_default();
            pt.seen = true;
            pt.refunds += x.amount_q;
        }
        let mut terminals: Vec<Value> = tills
            .iter()
            .filter_map(|till| {
                let t = per.get(&till.id()).filter(|t| t.seen)?;
                Some(json!({
                    "terminal_id": till.id(), "terminal_code": till.enrolled.terminal_code,
                    "name": till.enrolled.name, "orders": t.orders, "gross_q": t.gross,
                    "tax_q": t.tax,
                    "tenders": t.tenders.iter().map(|(m, a)| json!({"method": m, "amount_q": a})).collect::<Vec<_>>(),
                    "refunds_q": t.refunds, "cancellations": t.cancellations,
                }))
            })
            .collect();
        terminals.sort_by_key(|t| t["terminal_code"].as_str().unwrap().to_string());
        let any = per.values().any(|t| t.seen);
        json!({
            "store": store,
            "date": date.to_string(),
            "currency": if any { json!("BRL") } else { Value::Null },
            "sales": {"orders": n, "gross_q": gross, "tax_q": tax, "discount_q": disc, "net_q": gross - tax},
            "taxes": rates.iter().map(|(r, (g, t))| json!({"rate_bp": r, "base_q": g - t, "tax_q": t, "gross_q": g})).collect::<Vec<_>>(),
            "tenders": tenders.iter().map(|(m, v)| json!({"method": m, "payments": v[0], "amount_q": v[1], "fee_q": v[2]})).collect::<Vec<_>>(),
            "declines": {"count": declines},
            "refunds": {"count": rn, "amount_q": ramount, "by_method": by_method.iter().map(|(m, a)| json!({"method": m, "amount_q": a})).collect::<Vec<_>>()},
            "cancellations": {"orders": cn, "amount_q": camount},
            "fees_q": fees,
            "terminals": terminals,
        })
    }
}

async fn report(s: &Server, query: &str) -> Value {
    s.admin("GET", &format!("/v1/admin/reports/daily?{query}"), None)
        .await
}

pub async fn daily_report(db: Db) {
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    s.admin(
        "POST",
        "/v1/admin/stores",
        Some(json!({"code": "north", "name": "North"})),
    )
    .await;
    let mut front = Till::new(&s, "Front", None).await;
    let mut back = Till::new(&s, "Back", None).await;
    let mut north = Till::new(&s, "North", Some("north")).await;
    let (d, d2) = (day(), day().succ_opt().unwrap());
    let mut l = Ledger::default();

    // Front: a split inclusive sale, refunded by one unit; an exclusive sale declined then
    // paid by pix with a fee, refunded by amount the next day; an untaxed sale in rounded
    // cash; a sale cancelled in the payment window after a partial payment, refunded; a
    // sale of the next day; a sale paid the next day.
    let o1 = sale(
        "F1",
        Some(TaxMode::Inclusive),
        &[
            ("ESPRESSO", 500, 2, 0, 1800),
            ("CROISSANT", 650, 1, 50, 500),
        ],
        101,
        d,
    );
    let o1_cash = cash(&o1, 1000, 2000);
    let mut o1_card = pay(&o1, "card", o1.total_q - 1000);
    o1_card.fee_q = 30;
    let o2 = sale(
        "F2",
        Some(TaxMode::Exclusive),
        &[("LATTE", 750, 2, 0, 1000), ("CARROT_CAKE", 800, 1, 0, 725)],
        0,
        d,
    );
    let mut o2_declined = pay(&o2, "card", o2.total_q);
    o2_declined.outcome = PaymentOutcome::Declined;
    o2_declined.decline_code = Some("card_declined".into());
    let mut o2_pix = pay(&o2, "pix", o2.total_q);
    o2_pix.fee_q = 5;
    let o3 = sale("F3", None, &[("ESPRESSO", 500, 1, 0, 0)], 52, d);
    let mut o3_cash = cash(&o3, 448, 500);
    o3_cash.rounding_q = 2;
    o3_cash.change_q = 50;
    let o4 = sale("F4", None, &[("LATTE", 750, 1, 0, 0)], 0, d);
    let o4_cash = cash(&o4, 300, 300);
    let o5 = sale(
        "F5",
        Some(TaxMode::Inclusive),
        &[("LATTE", 750, 1, 0, 1800)],
        0,
        d2,
    );
    let o5_card = pay(&o5, "card", o5.total_q);
    let o6 = sale(
        "F6",
        Some(TaxMode::Inclusive),
        &[("CROISSANT", 650, 2, 0, 1200)],
        0,
        d,
    );
    let mut o6_card = pay(&o6, "card", o6.total_q);
    o6_card.business_date = d2;
    let events = vec![
        l.order(&o1, &front),
        l.pay(&o1_cash, &front),
        l.pay(&o1_card, &front),
        l.order(&o2, &front),
        l.pay(&o2_declined, &front),
        l.pay(&o2_pix, &front),
        l.order(&o3, &front),
        l.pay(&o3_cash, &front),
        l.order(&o4, &front),
        l.pay(&o4_cash, &front),
        l.cancel(&o4),
        l.order(&o5, &front),
        l.pay(&o5_card, &front),
        l.order(&o6, &front),
        l.pay(&o6_card, &front),
    ];
    front.apply(&s, &events).await;
    let o1_back = refund_lines(&o1, "o1-1", &o1_card, &[(1, 0, 1)]);
    let mut o2_back = refund(&o2, "o2-1", &[(&o2_pix, 500)]);
    o2_back.business_date = d2;
    let o4_back = refund(&o4, "o4-1", &[(&o4_cash, 300)]);
    let events = vec![
        l.refund(&o1_back, &front),
        l.refund(&o2_back, &front),
        l.refund(&o4_back, &front),
    ];
    front.apply(&s, &events).await;

    // Back: a sale at another rate, paid and refunded in full (refunded, still a sale of the
    // day, its refund too); a sale cancelled unpaid; a declined attempt on it first.
    let o7 = sale(
        "B1",
        Some(TaxMode::Inclusive),
        &[("LATTE", 750, 3, 0, 1200)],
        0,
        d,
    );
    let o7_card = pay(&o7, "card", o7.total_q);
    let o7_back = refund_lines(&o7, "o7-1", &o7_card, &[(1, 0, 3)]);
    let o8 = sale("B2", None, &[("ESPRESSO", 500, 4, 0, 0)], 0, d);
    let mut o8_declined = pay(&o8, "card", o8.total_q);
    o8_declined.outcome = PaymentOutcome::Declined;
    o8_declined.decline_code = Some("expired_card".into());
    let events = vec![
        l.order(&o7, &back),
        l.pay(&o7_card, &back),
        l.refund(&o7_back, &back),
        l.order(&o8, &back),
        l.pay(&o8_declined, &back),
        l.cancel(&o8),
    ];
    back.apply(&s, &events).await;
    l.status.insert(o7.order_id, "refunded".into());
    assert_eq!(detail(&s, &o7).await["status"], "refunded");

    // North: its own sale and payment of the same day.
    let n1 = sale(
        "N1",
        Some(TaxMode::Exclusive),
        &[("ESPRESSO", 500, 3, 0, 800)],
        0,
        d,
    );
    let n1_cash = cash(&n1, n1.total_q, n1.total_q + 100);
    let events = vec![l.order(&n1, &north), l.pay(&n1_cash, &north)];
    north.apply(&s, &events).await;

    // Every figure, against the test's own sums.
    let got = report(&s, "date=2026-11-21").await;
    let want = l.expected("main", d, &[&front, &back]);
    assert_eq!(got, want, "\n got {got:#}\nwant {want:#}");
    assert_eq!(report(&s, "store=main&date=2026-11-21").await, want);
    // Figures the test knows by heart, so the comparison above cannot pass for nothing.
    assert_eq!(got["sales"]["orders"], 5);
    assert_eq!(got["cancellations"]["orders"], 2);
    assert_eq!(got["declines"]["count"], 2);
    assert_eq!(got["refunds"]["count"], 3);
    assert_eq!(got["fees_q"], 35);
    assert_eq!(got["taxes"].as_array().unwrap().len(), 6);
    assert_eq!(got["terminals"].as_array().unwrap().len(), 2);
    assert_eq!(got["tenders"][0]["method"], "card");
    assert_eq!(
        got["sales"]["gross_q"],
        o1.total_q + o2.total_q + o3.total_q + o6.total_q + o7.total_q
    );
    let next = report(&s, "date=2026-11-22").await;
    assert_eq!(next, l.expected("main", d2, &[&front, &back]));
    assert_eq!(next["refunds"]["amount_q"], 500);
    assert_eq!(next["tenders"][0]["amount_q"], o5.total_q + o6.total_q);
    let north_day = report(&s, "store=north&date=2026-11-21").await;
    assert_eq!(north_day, l.expected("north", d, &[&north]));
    let empty = report(&s, "date=2026-01-01").await;
    assert_eq!(
        empty,
        l.expected(
            "main",
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            &[&front, &back]
        )
    );
    assert!(empty["currency"].is_null());

    // Bad queries, unknown store, a terminal's token.
    let path = "/v1/admin/reports/daily";
    for bad in ["", "?date=2026-13-01", "?date=21/11/2026", "?store=main"] {
        assert_error(
            &s.call("GET", &format!("{path}{bad}"), Some(ADMIN), None)
                .await,
            400,
            "invalid_date",
        );
    }
    assert_error(
        &s.call(
            "GET",
            &format!("{path}?store=nowhere&date=2026-11-21"),
            Some(ADMIN),
            None,
        )
        .await,
        422,
        "unknown_store",
    );
    assert_error(
        &s.call(
            "GET",
            &format!("{path}?date=2026-11-21"),
            Some(&front.enrolled.token),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &s.call("GET", &format!("{path}?date=2026-11-21"), None, None)
            .await,
        401,
        "unauthorized",
    );
    let (_, doc) = s.call("GET", "/v1/openapi.json", None, None).await;
    assert!(doc["paths"][path]["get"].is_object());
    assert!(doc["components"]["schemas"]["DailyReport"].is_object());
}
