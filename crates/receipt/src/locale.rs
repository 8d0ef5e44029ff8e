//! Words, money and dates in the document's locale.
//!
//! Labels are Portuguese for any `pt-*` locale and English for everything else.
//! Money is `tillbook_protocol::money::format_money` (`R$ 16,50`, `$16.50`).
//! Dates and times:
//! - `pt-*`: `26/11/2026 14:05` (day first, 24-hour clock);
//! - `en-US`: `11/26/2026 2:05 PM` (month first, 12-hour clock);
//! - any other locale: ISO 8601, `2026-11-26 14:05`.

use chrono::NaiveDateTime;
use tillbook_protocol::money::format_money;
use tillbook_protocol::shift::CashMoveKind;

/// The words of one language.
pub(crate) struct Labels {
    pub sale: &'static str,
    pub refund: &'static str,
    pub copy: &'static str,
    pub receipt_no: &'static str,
    pub refund_of: &'static str,
    pub terminal: &'static str,
    pub cashier: &'static str,
    pub date: &'static str,
    pub discount: &'static str,
    pub subtotal: &'static str,
    pub total: &'static str,
    pub total_refunded: &'static str,
    pub taxes_included: &'static str,
    pub taxes: &'static str,
    /// Between a rate and its base: `18% of $10.00`.
    pub on: &'static str,
    pub change: &'static str,
    pub cash: &'static str,
    pub card: &'static str,
    pub x_report: &'static str,
    pub z_report: &'static str,
    pub business_date: &'static str,
    pub opened: &'static str,
    pub closed: &'static str,
    pub printed: &'static str,
    pub sales: &'static str,
    pub orders: &'static str,
    pub first_receipt: &'static str,
    pub last_receipt: &'static str,
    pub net_sales: &'static str,
    pub discounts: &'static str,
    pub by_tender: &'static str,
    pub refunded: &'static str,
    pub declined: &'static str,
    pub fees: &'static str,
    pub by_product: &'static str,
    pub by_category: &'static str,
    pub no_category: &'static str,
    pub tax_by_rate: &'static str,
    pub total_tax: &'static str,
    pub refunds: &'static str,
    pub refund_count: &'static str,
    pub cancellations: &'static str,
    pub cancelled_count: &'static str,
    pub cash_movements: &'static str,
    pub cash_in: &'static str,
    pub cash_out: &'static str,
    pub no_sale: &'static str,
    pub drawer: &'static str,
    pub float: &'static str,
    pub cash_sales: &'static str,
    pub cash_refunds: &'static str,
    pub expected: &'static str,
    pub counted: &'static str,
    pub difference: &'static str,
    pub none: &'static str,
}

const EN: Labels = Labels {
    sale: "SALE RECEIPT",
    refund: "REFUND RECEIPT",
    copy: "*** COPY ***",
    receipt_no: "Receipt",
    refund_of: "Refund of",
    terminal: "Terminal",
    cashier: "Cashier",
    date: "Date",
    discount: "Discount",
    subtotal: "Subtotal",
    total: "TOTAL",
    total_refunded: "TOTAL REFUNDED",
    taxes_included: "Taxes included",
    taxes: "Taxes",
    on: "of",
    change: "Change",
    cash: "Cash",
    card: "Card",
    x_report: "X REPORT",
    z_report: "Z REPORT",
    business_date: "Business date",
    opened: "Opened",
    closed: "Closed",
    printed: "Printed",
    sales: "SALES",
    orders: "Orders",
    first_receipt: "First receipt",
    last_receipt: "Last receipt",
    net_sales: "Sales",
    discounts: "Discounts",
    by_tender: "BY TENDER",
    refunded: "Refunded",
    declined: "Declined",
    fees: "Fees",
    by_product: "BY PRODUCT",
    by_category: "BY CATEGORY",
    no_category: "(no category)",
    tax_by_rate: "TAX BY RATE",
    total_tax: "Total tax",
    refunds: "REFUNDS",
    refund_count: "Refunds",
    cancellations: "CANCELLATIONS",
    cancelled_count: "Cancelled orders",
    cash_movements: "CASH MOVEMENTS",
    cash_in: "Cash in",
    cash_out: "Cash out",
    no_sale: "No sale",
    drawer: "CASH DRAWER",
    float: "Float",
    cash_sales: "Cash sales",
    cash_refunds: "Cash refunds",
    expected: "Expected",
    counted: "Counted",
    difference: "Difference",
    none: "(none)",
};

const PT: Labels = Labels {
    sale: "CUPOM DE VENDA",
    refund: "COMPROVANTE DE DEVOLUÇÃO",
    copy: "*** 2ª VIA ***",
    receipt_no: "Recibo",
    refund_of: "Devolução de",
    terminal: "Terminal",
    cashier: "Operador",
    date: "Data",
    discount: "Desconto",
    subtotal: "Subtotal",
    total: "TOTAL",
    total_refunded: "TOTAL DEVOLVIDO",
    taxes_included: "Impostos inclusos",
    taxes: "Impostos",
    on: "sobre",
    change: "Troco",
    cash: "Dinheiro",
    card: "Cartão",
    x_report: "RELATÓRIO X",
    z_report: "RELATÓRIO Z",
    business_date: "Data do movimento",
    opened: "Abertura",
    closed: "Fechamento",
    printed: "Impresso em",
    sales: "VENDAS",
    orders: "Pedidos",
    first_receipt: "Primeiro recibo",
    last_receipt: "Último recibo",
    net_sales: "Vendas",
    discounts: "Descontos",
    by_tender: "POR FORMA DE PAGAMENTO",
    refunded: "Devolvido",
    declined: "Recusados",
    fees: "Taxas",
    by_product: "POR PRODUTO",
    by_category: "POR CATEGORIA",
    no_category: "(sem categoria)",
    tax_by_rate: "IMPOSTOS POR ALÍQUOTA",
    total_tax: "Total de impostos",
    refunds: "DEVOLUÇÕES",
    refund_count: "Devoluções",
    cancellations: "CANCELAMENTOS",
    cancelled_count: "Pedidos cancelados",
    cash_movements: "MOVIMENTOS DE CAIXA",
    cash_in: "Suprimento",
    cash_out: "Sangria",
    no_sale: "Abertura sem venda",
    drawer: "CAIXA",
    float: "Fundo de troco",
    cash_sales: "Vendas em dinheiro",
    cash_refunds: "Devoluções em dinheiro",
    expected: "Esperado",
    counted: "Contado",
    difference: "Diferença",
    none: "(nenhum)",
};

/// A document's locale: its language, date style and money format.
pub(crate) struct Locale<'a> {
    tag: &'a str,
    pub labels: &'static Labels,
}

impl<'a> Locale<'a> {
    pub fn new(tag: &'a str) -> Self {
        let labels = if is_portuguese(tag) { &PT } else { &EN };
        Locale { tag, labels }
    }

    /// An amount of `currency` in this locale.
    pub fn money(&self, amount_q: i64, currency: &str) -> String {
        format_money(amount_q, currency, self.tag)
    }

    /// An amount taken off (a discount): always printed with a minus sign.
    pub fn minus(&self, amount_q: i64, currency: &str) -> String {
        self.money(-amount_q.saturating_abs(), currency)
    }

    /// A signed amount with an explicit `+` when positive (a cash difference).
    pub fn signed(&self, amount_q: i64, currency: &str) -> String {
        let m = self.money(amount_q, currency);
        if amount_q > 0 {
            format!("+{m}")
        } else {
            m
        }
    }

    /// A local date and time (see the module for the formats).
    pub fn datetime(&self, at: NaiveDateTime) -> String {
        let fmt = match self.style() {
            Style::Pt => "%d/%m/%Y %H:%M",
            Style::Us => "%m/%d/%Y %-I:%M %p",
            Style::Iso => "%Y-%m-%d %H:%M",
        };
        at.format(fmt).to_string()
    }

    /// A date alone.
    pub fn date(&self, d: chrono::NaiveDate) -> String {
        let fmt = match self.style() {
            Style::Pt => "%d/%m/%Y",
            Style::Us => "%m/%d/%Y",
            Style::Iso => "%Y-%m-%d",
        };
        d.format(fmt).to_string()
    }

    /// A time of day alone.
    pub fn time(&self, at: NaiveDateTime) -> String {
        let fmt = match self.style() {
            Style::Us => "%-I:%M %p",
            Style::Pt | Style::Iso => "%H:%M",
        };
        at.format(fmt).to_string()
    }

    /// The label of the shop's tax id: CNPJ in Brazil, NIF in other Portuguese locales.
    pub fn tax_id_label(&self) -> &'static str {
        match self.style() {
            Style::Pt if region(self.tag).eq_ignore_ascii_case("br") => "CNPJ",
            Style::Pt => "NIF",
            _ => "Tax ID",
        }
    }

    /// A tender method's printed name: `cash` and `card` in this language, others as given.
    pub fn tender(&self, method: &str) -> String {
        match method {
            "cash" => self.labels.cash.to_string(),
            "card" => self.labels.card.to_string(),
            other => other.to_string(),
        }
    }

    pub fn cash_move(&self, kind: CashMoveKind) -> &'static str {
        match kind {
            CashMoveKind::In => self.labels.cash_in,
            CashMoveKind::Out => self.labels.cash_out,
            CashMoveKind::NoSale => self.labels.no_sale,
        }
    }

    fn style(&self) -> Style {
        if is_portuguese(self.tag) {
            Style::Pt
        } else if language(self.tag).eq_ignore_ascii_case("en") && region(self.tag).eq_ignore_ascii_case("us") {
            Style::Us
        } else {
            Style::Iso
        }
    }
}

enum Style {
    Pt,
    Us,
    Iso,
}

fn language(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or("")
}

fn region(tag: &str) -> &str {
    tag.split(['-', '_']).nth(1).unwrap_or("")
}

fn is_portuguese(tag: &str) -> bool {
    language(tag).eq_ignore_ascii_case("pt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap().and_hms_opt(14, 5, 0).unwrap()
    }

    #[test]
    fn dates_follow_the_locale() {
        assert_eq!(Locale::new("pt-BR").datetime(at()), "26/11/2026 14:05");
        assert_eq!(Locale::new("en-US").datetime(at()), "11/26/2026 2:05 PM");
        assert_eq!(Locale::new("en_us").datetime(at()), "11/26/2026 2:05 PM");
        assert_eq!(Locale::new("en-GB").datetime(at()), "2026-11-26 14:05");
        assert_eq!(Locale::new("de-DE").datetime(at()), "2026-11-26 14:05");
        let morning = at().date().and_hms_opt(0, 30, 0).unwrap();
        assert_eq!(Locale::new("en-US").datetime(morning), "11/26/2026 12:30 AM");
        assert_eq!(Locale::new("pt-PT").time(morning), "00:30");
    }

    #[test]
    fn labels_and_money_follow_the_locale() {
        let pt = Locale::new("pt-BR");
        let en = Locale::new("en-US");
        assert_eq!(pt.labels.change, "Troco");
        assert_eq!(en.labels.change, "Change");
        assert_eq!(pt.tender("cash"), "Dinheiro");
        assert_eq!(pt.tender("card"), "Cartão");
        assert_eq!(en.tender("card"), "Card");
        assert_eq!(en.tender("voucher"), "voucher");
        assert_eq!(pt.money(1650, "BRL"), "R$ 16,50");
        assert_eq!(en.money(1650, "USD"), "$16.50");
        assert_eq!(pt.minus(200, "BRL"), "-R$ 2,00");
        assert_eq!(en.signed(5, "USD"), "+$0.05");
        assert_eq!(en.signed(-5, "USD"), "-$0.05");
        assert_eq!(en.signed(0, "USD"), "$0.00");
        assert_eq!(pt.tax_id_label(), "CNPJ");
        assert_eq!(Locale::new("pt-PT").tax_id_label(), "NIF");
        assert_eq!(en.tax_id_label(), "Tax ID");
        // Anything that is not Portuguese reads English.
        assert_eq!(Locale::new("fr-FR").labels.subtotal, "Subtotal");
        assert_eq!(Locale::new("").labels.total, "TOTAL");
    }
}
