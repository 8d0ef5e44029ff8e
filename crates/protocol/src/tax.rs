//! Taxes and pro-rata money: the arithmetic the till uses to price an order and the server
//! uses to check it, written once.
//!
//! **Rates** are basis points (hundredths of a percent): 18% is `1800`, 7.6% is `760`, at most
//! [`MAX_RATE_BP`] (100%).
//!
//! **The rounding rule: per line, half-up.** Each line's tax is computed from that line's
//! taxable amount and rounded to the minor unit, halves away from zero (every amount here is
//! non-negative, so halves round up). Order totals are sums of the rounded line taxes, never
//! a tax of the sum.
//!
//! - Tax-exclusive prices: `tax = round_half_up(base × rate / 10000)`, the line's gross is
//!   `base + tax`.
//! - Tax-inclusive prices: `tax = round_half_up(gross × rate / (10000 + rate))`, the line's
//!   base (net) is `gross − tax`.
//!
//! The taxable amount of a line is its total after its own discount, less its share of the
//! order discount. The order discount is shared out in proportion to the line totals, each
//! share rounded down, and the minor units left over go one each to the lines with the
//! largest remainders (ties: the earlier line). So the shares always add up to the discount.

use serde::{Deserialize, Serialize};

/// Basis points in 100%.
pub const RATE_SCALE: i64 = 10_000;
/// The highest rate accepted (100%).
pub const MAX_RATE_BP: i64 = RATE_SCALE;

/// Whether catalog prices include tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    /// Prices include tax (Brazil, most of Europe): the total is the sum of the prices.
    #[default]
    Inclusive,
    /// Prices exclude tax (much of North America): tax is added on top.
    Exclusive,
}

impl TaxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TaxMode::Inclusive => "inclusive",
            TaxMode::Exclusive => "exclusive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inclusive" => Some(TaxMode::Inclusive),
            "exclusive" => Some(TaxMode::Exclusive),
            _ => None,
        }
    }
}

/// One rate's share of an order: taxable base (net of tax), the tax, and base + tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    pub rate_bp: i64,
    pub base_q: i64,
    pub tax_q: i64,
    pub gross_q: i64,
}

/// A line's tax, as [`compute`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTax {
    /// The line's share of the order discount.
    pub order_discount_q: i64,
    /// Base (net of tax) of the line after every discount.
    pub base_q: i64,
    pub tax_q: i64,
    /// What the customer pays for the line: base + tax.
    pub gross_q: i64,
}

/// An order's taxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTax {
    pub lines: Vec<LineTax>,
    /// Per rate, ascending by rate.
    pub taxes: Vec<TaxLine>,
    pub tax_q: i64,
    /// What the order costs: the sum of the lines' gross amounts.
    pub total_q: i64,
}

/// `n × num / den` rounded half-up, for `n, num ≥ 0` and `den > 0`; `None` on overflow.
pub fn mul_div_half_up(n: i64, num: i64, den: i64) -> Option<i64> {
    if n < 0 || num < 0 || den <= 0 {
        return None;
    }
    let p = (n as i128).checked_mul(num as i128)?;
    let q = (p.checked_mul(2)?.checked_add(den as i128)?) / (2 * den as i128);
    i64::try_from(q).ok()
}

/// The tax of one line whose taxable amount is `amount_q` (the net base when exclusive, the
/// gross when inclusive); `None` for a negative amount, a rate out of range or overflow.
pub fn line_tax(mode: TaxMode, amount_q: i64, rate_bp: i64) -> Option<i64> {
    if !(0..=MAX_RATE_BP).contains(&rate_bp) {
        return None;
    }
    match mode {
        TaxMode::Exclusive => mul_div_half_up(amount_q, rate_bp, RATE_SCALE),
        TaxMode::Inclusive => mul_div_half_up(amount_q, rate_bp, RATE_SCALE + rate_bp),
    }
}

/// Shares `discount_q` out over lines in proportion to their totals (see the module).
/// `None` when the discount is negative or above the sum of the totals, or a total is negative.
pub fn allocate(discount_q: i64, totals: &[i64]) -> Option<Vec<i64>> {
    if discount_q < 0 || totals.iter().any(|t| *t < 0) {
        return None;
    }
    let sum = totals.iter().try_fold(0i64, |a, t| a.checked_add(*t))?;
    if discount_q > sum {
        return None;
    }
    if discount_q == 0 || sum == 0 {
        return Some(vec![0; totals.len()]);
    }
    let mut shares = Vec::with_capacity(totals.len());
    let mut rems = Vec::with_capacity(totals.len());
    for (i, t) in totals.iter().enumerate() {
        let p = (*t as i128) * (discount_q as i128);
        shares.push((p / sum as i128) as i64);
        rems.push(((p % sum as i128) as i64, i));
    }
    let mut left = discount_q - shares.iter().sum::<i64>();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    Some(shares)
}

/// Taxes of an order whose lines are `(total after the line's discount, rate_bp)`, less an
/// order discount. `None` when an input is out of range or a sum overflows.
pub fn compute(mode: TaxMode, lines: &[(i64, i64)], order_discount_q: i64) -> Option<OrderTax> {
    let totals: Vec<i64> = lines.iter().map(|l| l.0).collect();
    let shares = allocate(order_discount_q, &totals)?;
    let mut out = Vec::with_capacity(lines.len());
    let mut by_rate: std::collections::BTreeMap<i64, TaxLine> = Default::default();
    let (mut tax_sum, mut total) = (0i64, 0i64);
    for ((line_total, rate), share) in lines.iter().zip(shares) {
        let amount = line_total.checked_sub(share)?;
        let tax = line_tax(mode, amount, *rate)?;
        let (base, gross) = match mode {
            TaxMode::Exclusive => (amount, amount.checked_add(tax)?),
            TaxMode::Inclusive => (amount.checked_sub(tax)?, amount),
        };
        let e = by_rate.entry(*rate).or_insert(TaxLine { rate_bp: *rate, base_q: 0, tax_q: 0, gross_q: 0 });
        e.base_q = e.base_q.checked_add(base)?;
        e.tax_q = e.tax_q.checked_add(tax)?;
        e.gross_q = e.gross_q.checked_add(gross)?;
        tax_sum = tax_sum.checked_add(tax)?;
        total = total.checked_add(gross)?;
        out.push(LineTax { order_discount_q: share, base_q: base, tax_q: tax, gross_q: gross });
    }
    Some(OrderTax { lines: out, taxes: by_rate.into_values().collect(), tax_q: tax_sum, total_q: total })
}

/// What the customer pays for a line: its total (after its own discount) less its share of
/// the order discount, plus its tax when prices exclude tax (`mode` `None`: sold before taxes,
/// untaxed). A refund of every unit gives exactly this back. `None` on overflow.
pub fn line_gross(mode: Option<TaxMode>, total_q: i64, order_discount_q: i64, tax_q: i64) -> Option<i64> {
    let net = total_q.checked_sub(order_discount_q)?;
    match mode {
        Some(TaxMode::Exclusive) => net.checked_add(tax_q),
        _ => Some(net),
    }
}

/// The money for refunding units `from..to` (0-based, cumulative) of a line of `qty` units whose
/// gross is `gross_q`: `⌊gross × to / qty⌋ − ⌊gross × from / qty⌋`, so refunding every unit, in
/// any number of steps, gives back exactly the line's gross. `None` when out of range.
pub fn pro_rata(gross_q: i64, qty: i64, from: i64, to: i64) -> Option<i64> {
    if gross_q < 0 || qty <= 0 || from < 0 || to < from || to > qty {
        return None;
    }
    let at = |k: i64| ((gross_q as i128) * (k as i128) / (qty as i128)) as i64;
    Some(at(to) - at(from))
}

/// Parses a rate written as a percentage (`18`, `18%`, `7.6`, `7,60`) into basis points.
pub fn parse_percent(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches('%').trim().replace(',', ".");
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t.as_str(), ""),
    };
    if whole.is_empty() || whole.len() > 3 || frac.len() > 2 {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    let bp = w * 100 + f;
    (bp <= MAX_RATE_BP).then_some(bp)
}

/// A rate in basis points as a percentage: `1800` → `18%`, `760` → `7.6%`, `925` → `9.25%`.
pub fn format_percent(rate_bp: i64) -> String {
    let (w, f) = (rate_bp / 100, rate_bp % 100);
    match f {
        0 => format!("{w}%"),
        f if f % 10 == 0 => format!("{w}.{}%", f / 10),
        f => format!("{w}.{f:02}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_up_per_line() {
        // 10% of 125 = 12.5 → 13; 10% of 124 = 12.4 → 12.
        assert_eq!(line_tax(TaxMode::Exclusive, 125, 1000), Some(13));
        assert_eq!(line_tax(TaxMode::Exclusive, 124, 1000), Some(12));
        // Inclusive 18% of 700: 700 × 1800 / 11800 = 106.78 → 107.
        assert_eq!(line_tax(TaxMode::Inclusive, 700, 1800), Some(107));
        assert_eq!(line_tax(TaxMode::Inclusive, 0, 1800), Some(0));
        assert_eq!(line_tax(TaxMode::Inclusive, 10, 10_001), None);
        assert_eq!(line_tax(TaxMode::Exclusive, -1, 100), None);
    }

    #[test]
    fn discount_shares_add_up() {
        assert_eq!(allocate(10, &[100, 100, 100]), Some(vec![4, 3, 3]));
        assert_eq!(allocate(0, &[5, 7]), Some(vec![0, 0]));
        assert_eq!(allocate(13, &[5, 7]), None);
        let s = allocate(99, &[333, 1, 666]).unwrap();
        assert_eq!(s.iter().sum::<i64>(), 99);
    }

    #[test]
    fn order_totals() {
        let inc = compute(TaxMode::Inclusive, &[(700, 1800), (650, 500), (500, 1800)], 100).unwrap();
        assert_eq!(inc.total_q, 1750);
        assert_eq!(inc.lines.iter().map(|l| l.gross_q).sum::<i64>(), 1750);
        assert_eq!(inc.taxes.len(), 2);
        assert_eq!(inc.taxes.iter().map(|t| t.tax_q).sum::<i64>(), inc.tax_q);
        let exc = compute(TaxMode::Exclusive, &[(1000, 1000), (125, 1000)], 0).unwrap();
        assert_eq!((exc.tax_q, exc.total_q), (113, 1238));
    }

    #[test]
    fn a_line_gross_adds_the_tax_only_when_prices_exclude_it() {
        assert_eq!(line_gross(Some(TaxMode::Exclusive), 1000, 100, 81), Some(981));
        assert_eq!(line_gross(Some(TaxMode::Inclusive), 1000, 100, 81), Some(900));
        assert_eq!(line_gross(None, 1000, 100, 0), Some(900));
        assert_eq!(line_gross(None, i64::MIN, 1, 0), None);
    }

    #[test]
    fn pro_rata_gives_back_the_whole_line() {
        let g = 1001;
        let parts = [pro_rata(g, 3, 0, 1), pro_rata(g, 3, 1, 2), pro_rata(g, 3, 2, 3)];
        assert_eq!(parts.iter().map(|p| p.unwrap()).sum::<i64>(), g);
        assert_eq!(pro_rata(g, 3, 0, 4), None);
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("18"), Some(1800));
        assert_eq!(parse_percent("7.6%"), Some(760));
        assert_eq!(parse_percent("9,25"), Some(925));
        assert_eq!(parse_percent("100"), Some(10_000));
        for bad in ["", "101", "1.234", "-1", "x"] {
            assert_eq!(parse_percent(bad), None, "{bad}");
        }
        assert_eq!(format_percent(1800), "18%");
        assert_eq!(format_percent(760), "7.6%");
        assert_eq!(format_percent(925), "9.25%");
    }
}
