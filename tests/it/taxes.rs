//! Taxes of committed orders, checked against a computation written here from the rule in
//! `tillbook_protocol::tax` (per line, half-up; the order discount shared in proportion to the
//! line totals, leftover units to the largest remainders), not by calling it.

use proptest::prelude::*;
use serde_json::Value;
use tillbook_orderbook::{CommitOptions, ProductRecord};

use crate::support::{book, manager_approves, product, TempBook};

/// `n / d` rounded half-up, for n ≥ 0, d > 0 (done as quotient and remainder).
fn half_up(n: u128, d: u128) -> i64 {
    let (q, r) = (n / d, n % d);
    (q + u128::from(2 * r >= d)) as i64
}

struct Expected {
    shares: Vec<i64>,
    taxes: Vec<i64>,
    gross: Vec<i64>,
    tax: i64,
    total: i64,
    /// rate → (base, tax, gross)
    by_rate: std::collections::BTreeMap<i64, (i64, i64, i64)>,
}

/// The independent computation: lines are `(total after the line discount, rate_bp)`.
fn expected(inclusive: bool, lines: &[(i64, i64)], discount: i64) -> Expected {
    let sum: i64 = lines.iter().map(|l| l.0).sum();
    let mut shares: Vec<i64> = vec![0; lines.len()];
    if discount > 0 && sum > 0 {
        let mut order: Vec<(i64, usize)> = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            shares[i] = l.0 * discount / sum;
            order.push(((l.0 * discount) % sum, i));
        }
        let mut left = discount - shares.iter().sum::<i64>();
        // Largest remainder first; at equal remainders the earlier line.
        order.sort_by_key(|(rem, i)| (-rem, *i));
        for (_, i) in order {
            if left == 0 {
                break;
            }
            shares[i] += 1;
            left -= 1;
        }
    }
    let mut e = Expected { shares: shares.clone(), taxes: vec![], gross: vec![], tax: 0, total: 0, by_rate: Default::default() };
    for (i, (total, rate)) in lines.iter().enumerate() {
        let amount = total - shares[i];
        let (tax, base, gross) = if inclusive {
            let t = half_up(amount as u128 * *rate as u128, 10_000 + *rate as u128);
            (t, amount - t, amount)
        } else {
            let t = half_up(amount as u128 * *rate as u128, 10_000);
            (t, amount, amount + t)
        };
        e.taxes.push(tax);
        e.gross.push(gross);
        e.tax += tax;
        e.total += gross;
        let r = e.by_rate.entry(*rate).or_default();
        r.0 += base;
        r.1 += tax;
        r.2 += gross;
    }
    e
}

/// A book selling A (rate of its own), B (category Coffee), C (category Bakery), D (store default).
/// A manager approves the order discounts above `max_discount_pct` the cases give.
fn taxed_book(mode: &str) -> TempBook {
    let mut t = book();
    manager_approves(&mut t.book);
    let mut a = product("A", 1299);
    a.tax_rate_bp = Some(1200);
    let b = ProductRecord { category: Some("Coffee".into()), ..product("B", 700) };
    let c = ProductRecord { category: Some("Bakery".into()), ..product("C", 650) };
    let d = product("D", 333);
    t.book.upsert_products(&[a, b, c, d]).unwrap();
    t.book.set_setting("tax_mode", mode).unwrap();
    t.book.set_setting("tax_rate", "5").unwrap();
    t.book.set_setting("category_tax", "Coffee=18,Bakery=7.5").unwrap();
    t
}

fn rate_of(sku: &str) -> i64 {
    match sku {
        "A" => 1200,
        "B" => 1800,
        "C" => 750,
        _ => 500,
    }
}

/// Sells `(sku, qty, line discount)` lines with an order discount; the order.committed payload.
fn sell(t: &mut TempBook, lines: &[(&str, i64, i64)], discount: i64, key: &str) -> Value {
    let s = t.book.open_session(None, None).unwrap();
    for (sku, qty, line_discount) in lines {
        let l = t.book.add_line(&s.session_key, sku, *qty, None).unwrap();
        if *line_discount > 0 {
            t.book.set_line_discount(&s.session_key, &l.line_id, *line_discount).unwrap();
        }
    }
    if discount > 0 {
        t.book.set_discount(&s.session_key, discount).unwrap();
    }
    let view = t.book.session(&s.session_key).unwrap();
    let out = t.book.commit(&s.session_key, key, CommitOptions::default()).unwrap();
    assert_eq!(view.total_q, out.total_q, "the basket showed what the order charges");
    let rows = t.book.outbox(0, 10_000).unwrap();
    let row = rows.iter().rev().find(|r| r.kind == "order.committed").unwrap();
    assert_eq!(row.payload["order_ref"], out.order_ref);
    row.payload.clone()
}

fn check(payload: &Value, inclusive: bool, lines: &[(&str, i64, i64)], unit: impl Fn(&str) -> i64, discount: i64) {
    let input: Vec<(i64, i64)> = lines.iter().map(|(sku, qty, d)| (unit(sku) * qty - d, rate_of(sku))).collect();
    let e = expected(inclusive, &input, discount);
    assert_eq!(payload["tax_mode"], if inclusive { "inclusive" } else { "exclusive" });
    let wire = payload["lines"].as_array().unwrap();
    for (i, l) in wire.iter().enumerate() {
        assert_eq!(l["tax_rate_bp"].as_i64().unwrap_or(0), input[i].1, "line {i} rate");
        assert_eq!(l["order_discount_q"].as_i64().unwrap_or(0), e.shares[i], "line {i} discount share");
        assert_eq!(l["tax_q"].as_i64().unwrap_or(0), e.taxes[i], "line {i} tax");
    }
    assert_eq!(payload["tax_q"].as_i64().unwrap_or(0), e.tax, "order tax");
    assert_eq!(payload["total_q"].as_i64().unwrap(), e.total, "order total");
    let subtotal: i64 = input.iter().map(|l| l.0).sum();
    assert_eq!(payload["subtotal_q"].as_i64().unwrap(), subtotal);
    if inclusive {
        assert_eq!(e.total, subtotal - discount, "inclusive prices: the total is what the lines say");
    } else {
        assert_eq!(e.total, subtotal - discount + e.tax, "exclusive prices: tax on top");
    }
    let taxes = payload["taxes"].as_array().cloned().unwrap_or_default();
    let got: Vec<(i64, (i64, i64, i64))> = taxes
        .iter()
        .map(|t| {
            let n = |k: &str| t[k].as_i64().unwrap();
            (n("rate_bp"), (n("base_q"), n("tax_q"), n("gross_q")))
        })
        .collect();
    let want: Vec<(i64, (i64, i64, i64))> = e.by_rate.into_iter().collect();
    assert_eq!(got, want, "per-rate breakdown");
}

fn catalog_price(sku: &str) -> i64 {
    match sku {
        "A" => 1299,
        "B" => 700,
        "C" => 650,
        _ => 333,
    }
}

#[test]
fn inclusive_prices_keep_the_total_and_carry_the_tax_inside() {
    let mut t = taxed_book("inclusive");
    let lines = [("A", 3, 0), ("B", 2, 100), ("C", 1, 0), ("D", 7, 1)];
    let p = sell(&mut t, &lines, 250, "k1");
    check(&p, true, &lines, catalog_price, 250);
}

#[test]
fn exclusive_prices_add_the_tax_on_top() {
    let mut t = taxed_book("exclusive");
    let lines = [("A", 1, 0), ("B", 3, 0), ("C", 2, 55), ("D", 1, 0)];
    let p = sell(&mut t, &lines, 99, "k1");
    check(&p, false, &lines, catalog_price, 99);
    // A product's own rate wins over its category's and the store's.
    assert_eq!(p["lines"][0]["tax_rate_bp"], 1200);
}

#[test]
fn a_half_rounds_up_per_line_not_per_order() {
    // 10% of 125 is 12.5 → 13 on each line: 26 for two lines, where a tax of the sum
    // (250 → 25) would be one less.
    let mut t = book();
    t.book.upsert_products(&[product("H", 125), product("I", 125)]).unwrap();
    t.book.set_setting("tax_mode", "exclusive").unwrap();
    t.book.set_setting("tax_rate", "10").unwrap();
    let p = sell(&mut t, &[("H", 1, 0), ("I", 1, 0)], 0, "k");
    assert_eq!(p["tax_q"], 26);
    assert_eq!(p["total_q"], 276);
}

#[test]
fn a_rate_change_never_changes_a_sold_order() {
    let mut t = taxed_book("inclusive");
    let p = sell(&mut t, &[("B", 1, 0)], 0, "k1");
    t.book.set_setting("category_tax", "Coffee=25").unwrap();
    let rows = t.book.outbox(0, 100).unwrap();
    let sold = rows.iter().find(|r| r.kind == "order.committed" && r.payload["order_ref"] == p["order_ref"]).unwrap();
    assert_eq!(sold.payload, p);
    let q = sell(&mut t, &[("B", 1, 0)], 0, "k2");
    assert_eq!(q["lines"][0]["tax_rate_bp"], 2500);
    assert_eq!(p["lines"][0]["tax_rate_bp"], 1800);
}

#[test]
fn csv_import_takes_a_tax_rate_and_refuses_a_bad_one() {
    let mut t = book();
    let csv = tillbook_orderbook::import::Format::Csv;
    let ok = "sku,name,price,tax_rate\nX,Thing,10.00,7.6\n";
    let records = tillbook_orderbook::import::parse(ok, csv, "BRL").unwrap();
    t.book.upsert_products(&records).unwrap();
    assert_eq!(t.book.product("X").unwrap().tax_rate_bp, Some(760));
    let bad = "sku,name,price,tax_rate\nY,Thing,10.00,150\n";
    let e = tillbook_orderbook::import::parse(bad, csv, "BRL").unwrap_err();
    assert_eq!(e.code, tillbook_orderbook::ErrorCode::ImportInvalid);
    assert!(e.message.contains("tax_rate"), "{}", e.message);
}

fn cases() -> u32 {
    std::env::var("TILLBOOK_PROP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Any basket, either tax mode: the book's taxes equal the independent computation.
    #[test]
    fn taxes_equal_an_independent_computation(
        inclusive in any::<bool>(),
        lines in prop::collection::vec((0usize..4, 1i64..20, 0i64..300), 1..8),
        discount_pct in 0i64..100,
    ) {
        let mut t = taxed_book(if inclusive { "inclusive" } else { "exclusive" });
        let skus = ["A", "B", "C", "D"];
        // A product added twice is one line of both quantities, so each product once.
        let mut seen = [false; 4];
        let lines: Vec<(&str, i64, i64)> = lines
            .into_iter()
            .filter(|(i, _, _)| !std::mem::replace(&mut seen[*i], true))
            .map(|(i, qty, d)| (skus[i], qty, d.min(catalog_price(skus[i]) * qty)))
            .collect();
        let subtotal: i64 = lines.iter().map(|(s, q, d)| catalog_price(s) * q - d).sum();
        let discount = subtotal * discount_pct / 100;
        let p = sell(&mut t, &lines, discount, "k");
        check(&p, inclusive, &lines, catalog_price, discount);
    }
}
