//! Money in the chaos test: what every book says it took, refunded and taxed, added up per
//! store, against the server's daily reports for every business date the books used.

use std::collections::{BTreeMap, BTreeSet};

use tillbook_orderbook::Book;

use super::admin::Admin;

/// Sums per store: tenders and refunds by method, taxes by rate (base, tax, gross).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sums {
    pub tenders: BTreeMap<(String, String), i64>,
    pub refunds: BTreeMap<(String, String), i64>,
    pub taxes: BTreeMap<(String, i64), (i64, i64, i64)>,
    pub declines: BTreeMap<String, i64>,
}

impl Sums {
    /// Drops the zero entries (a report may list a method or rate with nothing in it).
    fn trimmed(mut self) -> Sums {
        self.tenders.retain(|_, v| *v != 0);
        self.refunds.retain(|_, v| *v != 0);
        self.taxes.retain(|_, v| *v != (0, 0, 0));
        self.declines.retain(|_, v| *v != 0);
        self
    }
}

fn rows<T>(book: &Book, sql: &str, f: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>) -> Vec<T> {
    let conn = book.connection();
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let out = stmt.query_map([], |r| f(r)).unwrap().collect::<Result<Vec<T>, _>>().unwrap();
    out
}

/// Adds one book of `store` to the sums; returns the business dates it used.
pub fn add_book(book: &Book, store: &str, sums: &mut Sums) -> BTreeSet<String> {
    let s = store.to_string();
    let approved = "SELECT method, SUM(amount_q) FROM payments WHERE outcome = 'approved' GROUP BY method";
    for (method, amount) in rows(book, approved, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))) {
        *sums.tenders.entry((s.clone(), method)).or_default() += amount;
    }
    let declined = "SELECT COUNT(*) FROM payments WHERE outcome = 'declined'";
    for n in rows(book, declined, |r| r.get::<_, i64>(0)) {
        *sums.declines.entry(s.clone()).or_default() += n;
    }
    let refunds = "SELECT method, SUM(amount_q) FROM refund_tenders GROUP BY method";
    for (method, amount) in rows(book, refunds, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))) {
        *sums.refunds.entry((s.clone(), method)).or_default() += amount;
    }
    // Sales: every order not cancelled; a line's gross is what the customer paid for it.
    let taxes = "SELECT l.tax_rate_bp, l.total_q - l.order_discount_q, l.tax_q, o.tax_mode
                 FROM order_lines l JOIN orders o USING (order_ref) WHERE o.status <> 'cancelled'";
    for (rate, amount, tax, mode) in
        rows(book, taxes, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?)))
    {
        let (base, gross) = if mode.as_deref() == Some("exclusive") { (amount, amount + tax) } else { (amount - tax, amount) };
        let e = sums.taxes.entry((s.clone(), rate)).or_default();
        e.0 += base;
        e.1 += tax;
        e.2 += gross;
    }
    let dates = "SELECT business_date FROM orders UNION SELECT business_date FROM payments
                 UNION SELECT business_date FROM refunds";
    rows(book, dates, |r| r.get::<_, String>(0)).into_iter().collect()
}

/// The same sums from the server's daily reports of each store and date.
pub async fn from_reports(admin: &Admin, dates: &BTreeMap<String, BTreeSet<String>>) -> Sums {
    let mut sums = Sums::default();
    for (store, days) in dates {
        for day in days {
            let r = admin.get(&format!("/v1/admin/reports/daily?store={store}&date={day}")).await;
            let list = |k: &str| r[k].as_array().unwrap_or_else(|| panic!("report without {k}: {r}")).clone();
            for t in list("tenders") {
                let method = t["method"].as_str().unwrap().to_string();
                *sums.tenders.entry((store.clone(), method)).or_default() += t["amount_q"].as_i64().unwrap();
            }
            for t in r["refunds"]["by_method"].as_array().unwrap_or_else(|| panic!("report refunds: {r}")) {
                let method = t["method"].as_str().unwrap().to_string();
                *sums.refunds.entry((store.clone(), method)).or_default() += t["amount_q"].as_i64().unwrap();
            }
            for t in list("taxes") {
                let n = |k: &str| t[k].as_i64().unwrap_or_else(|| panic!("tax row without {k}: {t}"));
                let e = sums.taxes.entry((store.clone(), n("rate_bp"))).or_default();
                e.0 += n("base_q");
                e.1 += n("tax_q");
                e.2 += n("gross_q");
            }
            *sums.declines.entry(store.clone()).or_default() += r["declines"]["count"].as_i64().unwrap_or(0);
        }
    }
    sums
}

/// Asserts that the server's reports add up to exactly what the books hold.
pub async fn check(admin: &Admin, books: &[(&Book, &str)], db: &str) {
    let mut want = Sums::default();
    let mut dates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (book, store) in books {
        let used = add_book(book, store, &mut want);
        dates.entry(store.to_string()).or_default().extend(used);
    }
    let want = want.trimmed();
    let got = from_reports(admin, &dates).await.trimmed();
    eprintln!(
        "chaos ({db}): tenders {:?}; refunds {:?}; {} tax rates; declines {:?}",
        want.tenders, want.refunds, want.taxes.len(), want.declines
    );
    assert!(!want.tenders.is_empty() && !want.refunds.is_empty(), "the tills took payments and refunded some: {want:?}");
    assert!(want.taxes.keys().map(|k| k.1).collect::<BTreeSet<_>>().len() >= 2, "more than one tax rate was sold: {want:?}");
    assert_eq!(got.tenders, want.tenders, "tenders per store and method");
    assert_eq!(got.refunds, want.refunds, "refunds per store and method");
    assert_eq!(got.taxes, want.taxes, "taxes per store and rate (base, tax, gross)");
    assert_eq!(got.declines, want.declines, "declined card attempts per store");
}
