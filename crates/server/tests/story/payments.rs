//! Taxes, payments and refunds over HTTP: taxed orders checked against the protocol's tax
//! arithmetic, payments (split, declined, in the same page as their order) and refunds (by
//! line, by amount, in full), every rejection with its reason, and the order as the back
//! office shows it.

use chrono::{NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use tillbook_protocol::events::{
    EventPayload, OrderCommitted, OrderLine, PaymentOutcome, PaymentRecorded, RefundLine,
    RefundRecorded, RefundTender, StockReason,
};
use tillbook_protocol::sync::{EnrollResponse, EventOutcome, EventResult, PushResponse};
use tillbook_protocol::tax::{self, TaxMode};
use uuid::Uuid;

use crate::support::*;

pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

/// A line to sell: (sku, unit price, qty, line discount, rate in bp).
pub type Sell<'a> = (&'a str, i64, i64, i64, i64);

/// `order.committed` of `lines` with an order discount, priced as a till would: with
/// `mode`, its taxes from [`tax::compute`]; without, untaxed.
pub fn sale(
    order_ref: &str,
    mode: Option<TaxMode>,
    lines: &[Sell],
    discount_q: i64,
    date: NaiveDate,
) -> OrderCommitted {
    let mut out: Vec<OrderLine> = lines
        .iter()
        .enumerate()
        .map(|(i, (sku, price, qty, disc, rate))| OrderLine {
            line_no: i as u32 + 1,
            sku: sku.to_string(),
            name: sku.to_string(),
            unit_price_q: *price,
            qty: *qty,
            discount_q: *disc,
            total_q: price * qty - disc,
            unique: false,
            tax_rate_bp: if mode.is_some() { *rate } else { 0 },
            order_discount_q: 0,
            tax_q: 0,
            category: None,
        })
        .collect();
    let subtotal: i64 = out.iter().map(|l| l.total_q).sum();
    let (total, tax_q, taxes) = match mode {
        None => (subtotal - discount_q, 0, Vec::new()),
        Some(mode) => {
            let inputs: Vec<(i64, i64)> = out.iter().map(|l| (l.total_q, l.tax_rate_bp)).collect();
            let t = tax::compute(mode, &inputs, discount_q).unwrap();
            for (l, lt) in out.iter_mut().zip(&t.lines) {
                l.order_discount_q = lt.order_discount_q;
                l.tax_q = lt.tax_q;
            }
            (t.total_q, t.tax_q, t.taxes)
        }
    };
    let stock_deltas = out
        .iter()
        .map(|l| delta(&l.sku, -l.qty, StockReason::Sale, order_ref))
        .collect();
    OrderCommitted {
        order_id: Uuid::now_v7(),
        order_ref: order_ref.into(),
        channel: "pos".into(),
        status: "new".into(),
        currency: "BRL".into(),
        subtotal_q: subtotal,
        discount_q,
        total_q: total,
        business_date: date,
        committed_at: Utc::now(),
        handle: None,
        lines: out,
        stock_deltas,
        tax_mode: mode,
        tax_q,
        taxes,
        actor: None,
        staff_id: None,
        approved_by: None,
        shift_id: None,
    }
}

/// An approved payment of `amount` by `method` (tendering exactly it).
pub fn pay(o: &OrderCommitted, method: &str, amount: i64) -> PaymentRecorded {
    PaymentRecorded {
        payment_id: Uuid::now_v7(),
        order_id: o.order_id,
        order_ref: o.order_ref.clone(),
        method: method.into(),
        outcome: PaymentOutcome::Approved,
        decline_code: None,
        currency: o.currency.clone(),
        amount_q: amount,
        tendered_q: amount,
        change_q: 0,
        rounding_q: 0,
        fee_q: 0,
        card_last4: None,
        reference: None,
        business_date: o.business_date,
        at: Utc::now(),
        actor: "ana".into(),
        shift_id: None,
        staff_id: None,
    }
}

/// An approved cash payment of `amount` handed `tendered` (the rest is change).
pub fn cash(o: &OrderCommitted, amount: i64, tendered: i64) -> PaymentRecorded {
    PaymentRecorded {
        tendered_q: tendered,
        change_q: tendered - amount,
        ..pay(o, "cash", amount)
    }
}

/// A refund of `amount` through `tenders` (payment, amount), by amount (no lines).
pub fn refund(
    o: &OrderCommitted,
    key: &str,
    tenders: &[(&PaymentRecorded, i64)],
) -> RefundRecorded {
    RefundRecorded {
        refund_id: Uuid::now_v7(),
        order_id: o.order_id,
        order_ref: o.order_ref.clone(),
        idempotency_key: key.into(),
        currency: o.currency.clone(),
        amount_q: tenders.iter().map(|t| t.1).sum(),
        tenders: tenders
            .iter()
            .map(|(p, a)| RefundTender {
                payment_id: p.payment_id,
                method: p.method.clone(),
                amount_q: *a,
                reference: None,
            })
            .collect(),
        lines: Vec::new(),
        restock: false,
        reason: Some("customer".into()),
        business_date: o.business_date,
        at: Utc::now(),
        actor: "ana".into(),
        shift_id: None,
        stock_deltas: Vec::new(),
        staff_id: None,
        approved_by: None,
    }
}

/// What refunding units `from..to` of line `line_no` gives back, by the rule the test reads
/// off the protocol: the line's gross (total − its order-discount share, + tax when exclusive),
/// pro rata.
pub fn line_share(o: &OrderCommitted, line_no: u32, from: i64, to: i64) -> i64 {
    let l = &o.lines[line_no as usize - 1];
    let excl = if o.tax_mode == Some(TaxMode::Exclusive) {
        l.tax_q
    } else {
        0
    };
    tax::pro_rata(l.total_q - l.order_discount_q + excl, l.qty, from, to).unwrap()
}

/// A refund by line: `lines` (line_no, from, qty) given back through one payment, restocked.
pub fn refund_lines(
    o: &OrderCommitted,
    key: &str,
    through: &PaymentRecorded,
    lines: &[(u32, i64, i64)],
) -> RefundRecorded {
    let lines: Vec<RefundLine> = lines
        .iter()
        .map(|(n, from, qty)| RefundLine {
            line_no: *n,
            qty: *qty,
            amount_q: line_share(o, *n, *from, from + qty),
        })
        .collect();
    let amount: i64 = lines.iter().map(|l| l.amount_q).sum();
    let mut r = refund(o, key, &[(through, amount)]);
    r.restock = true;
    r.stock_deltas = lines
        .iter()
        .map(|l| {
            let sku = &o.lines[l.line_no as usize - 1].sku;
            delta(sku, l.qty, StockReason::Refund, &o.order_ref)
        })
        .collect();
    r.lines = lines;
    r
}

/// A till pushing over HTTP, its seq counted here.
pub struct Till {
    pub enrolled: EnrollResponse,
    pub seq: u64,
}

impl Till {
    pub async fn new(s: &Server, name: &str, store: Option<&str>) -> Till {
        Till {
            enrolled: s.terminal_in(name, store).await,
            seq: 0,
        }
    }

    pub fn id(&self) -> String {
        self.enrolled.terminal_id.to_string()
    }

    /// Pushes `events` as one page; every one is answered (applied or rejected).
    pub async fn push(&mut self, s: &Server, events: &[EventPayload]) -> Vec<EventResult> {
        let rows: Vec<_> = events
            .iter()
            .map(|e| {
                self.seq += 1;
                outbox(self.seq, e)
            })
            .collect();
        let body = serde_json::to_value(page(self.enrolled.terminal_id, &rows)).unwrap();
        let (code, v) = s
            .call(
                "POST",
                "/v1/sync/push",
                Some(&self.enrolled.token),
                Some(body),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{v}");
        let r: PushResponse = serde_json::from_value(v).unwrap();
        assert_eq!(r.last_applied_seq, self.seq);
        assert_eq!(r.results.len(), events.len());
        r.results
    }

    /// Pushes `events` and asserts every one was applied.
    pub async fn apply(&mut self, s: &Server, events: &[EventPayload]) {
        for (r, e) in self.push(s, events).await.iter().zip(events) {
            assert_eq!(r.outcome, EventOutcome::Applied, "{:?} for {e:?}", r.reason);
        }
    }

    /// Pushes one event and asserts it is rejected with a reason containing `why`.
    pub async fn reject(&mut self, s: &Server, event: EventPayload, why: &str) {
        let r = self.push(s, std::slice::from_ref(&event)).await.remove(0);
        assert_eq!(r.outcome, EventOutcome::Rejected, "{event:?} was applied");
        let reason = r.reason.unwrap_or_default();
        assert!(reason.contains(why), "reason {reason:?} lacks {why:?}");
    }
}

pub fn c(o: &OrderCommitted) -> EventPayload {
    EventPayload::OrderCommitted(o.clone())
}
pub fn p(p: &PaymentRecorded) -> EventPayload {
    EventPayload::PaymentRecorded(p.clone())
}
pub fn r(r: &RefundRecorded) -> EventPayload {
    EventPayload::RefundRecorded(r.clone())
}

pub async fn detail(s: &Server, o: &OrderCommitted) -> Value {
    s.admin("GET", &format!("/v1/admin/orders/{}", o.order_id), None)
        .await
}

fn money(v: &Value) -> (i64, i64, &str) {
    (
        v["paid_q"].as_i64().unwrap(),
        v["refunded_q"].as_i64().unwrap(),
        v["payment_status"].as_str().unwrap(),
    )
}

pub async fn payments(db: Db) {
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    let mut till = Till::new(&s, "Front", None).await;
    let d = day();

    // Taxes: inclusive with an order discount shared out, exclusive on top; as computed.
    let a = sale(
        "A",
        Some(TaxMode::Inclusive),
        &[
            ("ESPRESSO", 500, 2, 0, 1800),
            ("CROISSANT", 650, 1, 50, 500),
        ],
        101,
        d,
    );
    let b = sale(
        "B",
        Some(TaxMode::Exclusive),
        &[("LATTE", 750, 2, 0, 1000), ("CARROT_CAKE", 800, 1, 0, 725)],
        0,
        d,
    );
    assert_eq!(b.total_q, 1500 + 150 + 800 + 58);
    // Tampered: a line's tax, the order's tax, the breakdown, the total, a rate, tax fields
    // on an untaxed order.
    let mut bad = sale(
        "X1",
        Some(TaxMode::Inclusive),
        &[("ESPRESSO", 500, 1, 0, 1800)],
        0,
        d,
    );
    bad.lines[0].tax_q += 1;
    bad.tax_q += 1;
    bad.taxes[0].tax_q += 1;
    bad.taxes[0].base_q -= 1;
    till.reject(&s, c(&bad), "line 1: tax 77 is not 76").await;
    let mut bad = sale(
        "X2",
        Some(TaxMode::Exclusive),
        &[("ESPRESSO", 500, 1, 0, 1800)],
        0,
        d,
    );
    bad.total_q -= 90;
    till.reject(&s, c(&bad), "total 500 is not 590").await;
    let mut bad = sale(
        "X3",
        Some(TaxMode::Inclusive),
        &[("ESPRESSO", 500, 1, 0, 1800), ("LATTE", 750, 1, 0, 500)],
        0,
        d,
    );
    bad.taxes.swap(0, 1);
    till.reject(&s, c(&bad), "breakdown").await;
    let mut bad = sale(
        "X4",
        Some(TaxMode::Inclusive),
        &[("ESPRESSO", 500, 1, 0, 0)],
        0,
        d,
    );
    bad.lines[0].tax_rate_bp = 10_001;
    till.reject(&s, c(&bad), "tax rate 10001").await;
    let mut bad = sale("X5", None, &[("ESPRESSO", 500, 1, 0, 0)], 0, d);
    bad.lines[0].tax_q = 10;
    till.reject(&s, c(&bad), "no tax mode").await;
    let mut bad = sale(
        "X6",
        Some(TaxMode::Inclusive),
        &[("ESPRESSO", 500, 2, 0, 1800), ("LATTE", 750, 1, 0, 1800)],
        100,
        d,
    );
    bad.lines[0].order_discount_q += 1;
    bad.lines[1].order_discount_q -= 1;
    till.reject(&s, c(&bad), "order discount share").await;

    // A split payment in the same page as the commit: cash with change, then card.
    let a_cash = cash(&a, 1000, 2000);
    let mut a_card = pay(&a, "card", a.total_q - 1000);
    a_card.card_last4 = Some("4242".into());
    a_card.fee_q = 30;
    a_card.reference = Some("auth-1".into());
    till.apply(&s, &[c(&a), p(&a_cash), p(&a_card), c(&b)])
        .await;
    let va = detail(&s, &a).await;
    assert_eq!(money(&va), (a.total_q, 0, "paid"));
    assert_eq!(va["tax_mode"], "inclusive");
    assert_eq!(va["tax_q"], a.tax_q);
    assert_eq!(va["taxes"], serde_json::to_value(&a.taxes).unwrap());
    for (got, want) in va["lines"].as_array().unwrap().iter().zip(&a.lines) {
        assert_eq!(got["tax_rate_bp"], want.tax_rate_bp);
        assert_eq!(got["order_discount_q"], want.order_discount_q);
        assert_eq!(got["tax_q"], want.tax_q);
        assert_eq!(got["refunded_qty"], 0);
    }
    let pays = va["payments"].as_array().unwrap();
    assert_eq!(pays.len(), 2);
    assert_eq!(pays[0]["method"], "cash");
    assert_eq!(
        (pays[0]["tendered_q"].as_i64(), pays[0]["change_q"].as_i64()),
        (Some(2000), Some(1000))
    );
    assert_eq!(pays[1]["card_last4"], "4242");
    assert_eq!(pays[1]["fee_q"], 30);
    assert_eq!(pays[1]["reference"], "auth-1");
    assert_eq!(pays[1]["terminal_code"], "T01");
    assert_eq!(pays[1]["actor"], "ana");
    let vb = detail(&s, &b).await;
    assert_eq!(vb["taxes"], serde_json::to_value(&b.taxes).unwrap());
    assert_eq!(vb["tax_mode"], "exclusive");
    assert_eq!(money(&vb), (0, 0, "unpaid"));

    // A declined attempt is stored and changes nothing; then a configured method pays.
    let mut declined = pay(&b, "card", b.total_q);
    declined.outcome = PaymentOutcome::Declined;
    declined.decline_code = Some("insufficient_funds".into());
    till.apply(&s, &[p(&declined)]).await;
    let vb = detail(&s, &b).await;
    assert_eq!(money(&vb), (0, 0, "unpaid"));
    assert_eq!(vb["payments"][0]["outcome"], "declined");
    assert_eq!(vb["payments"][0]["decline_code"], "insufficient_funds");
    let b_half = pay(&b, "pix", 1000);
    till.apply(&s, &[p(&b_half)]).await;
    assert_eq!(money(&detail(&s, &b).await), (1000, 0, "partly_paid"));

    // Payment rejections.
    let mut ghost = sale("GHOST", None, &[("ESPRESSO", 500, 1, 0, 0)], 0, d);
    ghost.order_id = Uuid::now_v7();
    till.reject(&s, p(&pay(&ghost, "card", 500)), "unknown order")
        .await;
    till.reject(
        &s,
        p(&pay(&b, "card", b.total_q - 999)),
        "payment above what is due",
    )
    .await;
    till.reject(
        &s,
        p(&cash(&b, b.total_q, b.total_q + 5000)),
        "payment above what is due",
    )
    .await;
    till.reject(&s, p(&pay(&b, "Cash!", 100)), "method").await;
    till.reject(&s, p(&pay(&b, &"x".repeat(33), 100)), "method")
        .await;
    till.reject(&s, p(&pay(&b, "card", 0)), "amount 0").await;
    till.reject(&s, p(&pay(&b, "card", -5)), "amount -5").await;
    let mut usd = pay(&b, "card", 100);
    usd.currency = "USD".into();
    till.reject(&s, p(&usd), "which is in BRL").await;
    let mut change = pay(&b, "card", 100);
    change.tendered_q = 200;
    change.change_q = 100;
    till.reject(&s, p(&change), "tenders exactly").await;
    let mut sums = cash(&b, 100, 500);
    sums.change_q = 300;
    till.reject(&s, p(&sums), "tendered 500 is not").await;
    let mut no_code = pay(&b, "card", 100);
    no_code.outcome = PaymentOutcome::Declined;
    till.reject(&s, p(&no_code), "decline code").await;
    let mut l4 = pay(&b, "card", 100);
    l4.card_last4 = Some("42a2".into());
    till.reject(&s, p(&l4), "four digits").await;
    let mut fee = pay(&b, "card", 100);
    fee.fee_q = 101;
    till.reject(&s, p(&fee), "fee 101").await;
    // The same payment id twice: the page is retried checked, the second one refused.
    let mut again = pay(&b, "pix", 1);
    again.payment_id = b_half.payment_id;
    till.reject(&s, p(&again), "already recorded").await;
    assert_eq!(money(&detail(&s, &b).await), (1000, 0, "partly_paid"));

    // A cancelled order takes no payment; a cancel after a payment is accepted as before.
    let e = sale("E", None, &[("LATTE", 750, 1, 0, 0)], 0, d);
    let e_cash = cash(&e, 300, 300);
    let mut window = status(&c(&e), "new", "cancelled", Some(("LATTE", 1)));
    if let EventPayload::OrderStatusChanged(x) = &mut window {
        x.reason = Some("payment window".into());
    }
    till.apply(&s, &[c(&e), p(&e_cash), window]).await;
    till.reject(&s, p(&pay(&e, "card", 100)), "payment on a cancelled order")
        .await;
    // Its money goes back; paid less than the total, so it stays cancelled.
    till.apply(&s, &[r(&refund(&e, "e-1", &[(&e_cash, 300)]))])
        .await;
    let ve = detail(&s, &e).await;
    assert_eq!(ve["status"], "cancelled");
    assert_eq!(money(&ve), (300, 300, "refunded"));

    // Refund by amount through the cash payment; by line, restocked.
    let espresso = on_hand(&s.store, "ESPRESSO").await;
    till.apply(&s, &[r(&refund(&a, "a-1", &[(&a_cash, 300)]))])
        .await;
    let by_line = refund_lines(&a, "a-2", &a_card, &[(1, 0, 1)]);
    assert_eq!(by_line.amount_q, line_share(&a, 1, 0, 1));
    till.apply(&s, &[r(&by_line)]).await;
    assert_eq!(on_hand(&s.store, "ESPRESSO").await, espresso + 1);
    let va = detail(&s, &a).await;
    assert_eq!(
        money(&va),
        (a.total_q, 300 + by_line.amount_q, "partly_refunded")
    );
    assert_eq!(va["lines"][0]["refunded_qty"], 1);
    assert_eq!(va["payments"][0]["refunded_q"], 300);
    assert_eq!(va["payments"][1]["refunded_q"], by_line.amount_q);
    let refunds = va["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2);
    assert_eq!(refunds[1]["lines"][0]["qty"], 1);
    assert_eq!(refunds[1]["lines"][0]["amount_q"], by_line.amount_q);
    assert_eq!(
        refunds[1]["tenders"][0]["payment_id"],
        a_card.payment_id.to_string()
    );
    assert_eq!(refunds[1]["restock"], true);
    assert_eq!(refunds[0]["tenders"][0]["method"], "cash");
    assert_eq!(refunds[0]["idempotency_key"], "a-1");
    assert_eq!(va["status"], "new");

    // Refund rejections.
    let unpaid = sale("U", None, &[("LATTE", 750, 1, 0, 0)], 0, d);
    till.apply(&s, &[c(&unpaid)]).await;
    let phantom = cash(&unpaid, 100, 100);
    till.reject(
        &s,
        r(&refund(&unpaid, "u-1", &[(&phantom, 100)])),
        "refund on an unpaid order",
    )
    .await;
    let left_a = a.total_q - 300 - by_line.amount_q;
    let mut over = refund(&a, "a-3", &[(&a_card, left_a + 1)]);
    over.amount_q = left_a + 1;
    till.reject(&s, r(&over), "refund above what was paid")
        .await;
    till.reject(
        &s,
        r(&refund(&a, "a-3", &[(&a_cash, 701)])),
        "which has 700 left",
    )
    .await;
    let mut wrong_method = refund(&a, "a-3", &[(&a_cash, 10)]);
    wrong_method.tenders[0].method = "card".into();
    till.reject(&s, r(&wrong_method), "was cash, not card")
        .await;
    till.reject(
        &s,
        r(&refund(&a, "a-3", &[(&declined, 10)])),
        "not an approved payment of order A",
    )
    .await;
    till.reject(
        &s,
        r(&refund(&a, "a-1", &[(&a_cash, 10)])),
        "refund key \"a-1\" was already used",
    )
    .await;
    let mut too_many = refund(&a, "a-3", &[(&a_cash, 10)]);
    too_many.lines = vec![RefundLine {
        line_no: 1,
        qty: 2,
        amount_q: 10,
    }];
    till.reject(&s, r(&too_many), "which has 1 left of 2 sold")
        .await;
    too_many.lines[0] = RefundLine {
        line_no: 3,
        qty: 1,
        amount_q: 10,
    };
    till.reject(&s, r(&too_many), "has no line 3").await;
    let mut share = refund_lines(&a, "a-3", &a_cash, &[(2, 0, 1)]);
    share.lines[0].amount_q -= 1;
    share.amount_q -= 1;
    share.tenders[0].amount_q -= 1;
    till.reject(&s, r(&share), "line 2 gives back").await;
    let mut stock = refund_lines(&a, "a-3", &a_cash, &[(2, 0, 1)]);
    stock.stock_deltas[0].delta = 2;
    till.reject(&s, r(&stock), "stock deltas").await;
    let mut unstocked = refund_lines(&a, "a-3", &a_cash, &[(2, 0, 1)]);
    unstocked.restock = false;
    till.reject(&s, r(&unstocked), "moves stock without restock")
        .await;
    let mut sums = refund(&a, "a-3", &[(&a_cash, 10)]);
    sums.amount_q = 11;
    till.reject(&s, r(&sums), "tenders add up to 10").await;
    let mut none = refund(&a, "a-3", &[(&a_cash, 10)]);
    none.tenders.clear();
    till.reject(&s, r(&none), "0 tenders").await;
    let mut key = refund(&a, "", &[(&a_cash, 10)]);
    key.idempotency_key = "k".repeat(201);
    till.reject(&s, r(&key), "idempotency_key").await;
    assert_eq!(
        money(&detail(&s, &a).await),
        (a.total_q, 300 + by_line.amount_q, "partly_refunded")
    );

    // Paid in full, refunded in full (by line, in two steps): the order is refunded.
    let b_rest = pay(&b, "card", b.total_q - 1000);
    till.apply(&s, &[p(&b_rest)]).await;
    assert_eq!(money(&detail(&s, &b).await), (b.total_q, 0, "paid"));
    let first = refund_lines(&b, "b-1", &b_half, &[(1, 0, 1)]);
    till.apply(&s, &[r(&first)]).await;
    let mut rest = refund_lines(&b, "b-2", &b_rest, &[(1, 1, 1), (2, 0, 1)]);
    // Through both payments: what is left of each.
    let half_left = 1000 - first.amount_q;
    rest.tenders[0].amount_q -= half_left;
    rest.tenders.push(RefundTender {
        payment_id: b_half.payment_id,
        method: "pix".into(),
        amount_q: half_left,
        reference: Some("pix-back".into()),
    });
    assert_eq!(first.amount_q + rest.amount_q, b.total_q);
    till.apply(&s, &[r(&rest)]).await;
    let vb = detail(&s, &b).await;
    assert_eq!(vb["status"], "refunded");
    assert_eq!(money(&vb), (b.total_q, b.total_q, "refunded"));
    let last = vb["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["kind"].as_str(),
            last["from"].as_str(),
            last["to"].as_str()
        ),
        (Some("order.status_changed"), Some("new"), Some("refunded"))
    );
    assert_eq!(
        (last["actor"].as_str(), last["reason"].as_str()),
        (Some("ana"), Some("fully refunded"))
    );
    assert_eq!(vb["lines"][0]["refunded_qty"], 2);
    assert_eq!(vb["lines"][1]["refunded_qty"], 1);
    till.reject(&s, p(&pay(&b, "card", 1)), "payment on a refunded order")
        .await;
    till.reject(
        &s,
        r(&refund(&b, "b-3", &[(&b_rest, 1)])),
        "refund above what was paid",
    )
    .await;

    // All in one page: commit, pay in full, refund in full.
    let f = sale(
        "F",
        Some(TaxMode::Exclusive),
        &[("CROISSANT", 650, 3, 0, 1200)],
        0,
        d,
    );
    let f_card = pay(&f, "card", f.total_q);
    let f_back = refund_lines(&f, "f-1", &f_card, &[(1, 0, 3)]);
    assert_eq!(f_back.amount_q, f.total_q);
    till.apply(&s, &[c(&f), p(&f_card), r(&f_back)]).await;
    let vf = detail(&s, &f).await;
    assert_eq!(
        (vf["status"].as_str(), money(&vf)),
        (Some("refunded"), (f.total_q, f.total_q, "refunded"))
    );
    assert_eq!(vf["lines"][0]["refunded_qty"], 3);
    assert_eq!(vf["payments"][0]["refunded_q"], f.total_q);

    // Another store's till cannot pay this store's order.
    s.admin(
        "POST",
        "/v1/admin/stores",
        Some(serde_json::json!({"code": "north", "name": "North"})),
    )
    .await;
    let mut north = Till::new(&s, "North", Some("north")).await;
    north
        .reject(&s, p(&pay(&unpaid, "card", 100)), "unknown order")
        .await;
}
