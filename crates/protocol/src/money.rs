//! Money: integer minor units with an ISO-4217 currency, and its display per locale.

use serde::{Deserialize, Serialize};

/// An amount in minor units (cents) of a currency. Never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount_q: i64,
    pub currency: String,
}

/// Number of minor-unit digits of a currency (ISO 4217 exponent).
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "CLP" | "ISK" | "VND" | "PYG" | "UGX" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    }
}

fn symbol(currency: &str) -> &str {
    match currency {
        "BRL" => "R$",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        other => other,
    }
}

/// Formats an amount for a locale: `R$ 16,50` for pt-BR, `$16.50` for en-US.
pub fn format_money(amount_q: i64, currency: &str, locale: &str) -> String {
    let digits = minor_digits(currency);
    let scale = 10i64.pow(digits);
    let neg = amount_q < 0;
    let abs = amount_q.unsigned_abs();
    let major = abs / scale as u64;
    let minor = abs % scale as u64;
    let (group, decimal, space, symbol_after) = match locale.split(['-', '_']).next().unwrap_or("") {
        "pt" | "es" | "it" | "nl" | "id" => (".", ",", true, false),
        "de" => (".", ",", false, true),
        "fr" => ("\u{202f}", ",", false, true),
        _ => (",", ".", false, false),
    };
    let mut int = major.to_string();
    let mut grouped = String::new();
    while int.len() > 3 {
        let tail = int.split_off(int.len() - 3);
        grouped = format!("{group}{tail}{grouped}");
    }
    grouped = format!("{int}{grouped}");
    let number = if digits == 0 {
        grouped
    } else {
        format!("{grouped}{decimal}{minor:0width$}", width = digits as usize)
    };
    let sym = symbol(currency);
    let body = if symbol_after {
        format!("{number} {sym}")
    } else if space {
        format!("{sym} {number}")
    } else {
        format!("{sym}{number}")
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_per_locale() {
        assert_eq!(format_money(1650, "BRL", "pt-BR"), "R$ 16,50");
        assert_eq!(format_money(1650, "USD", "en-US"), "$16.50");
        assert_eq!(format_money(123456789, "BRL", "pt-BR"), "R$ 1.234.567,89");
        assert_eq!(format_money(-5, "USD", "en-US"), "-$0.05");
        assert_eq!(format_money(1500, "JPY", "en-US"), "¥1,500");
        assert_eq!(format_money(1650, "EUR", "de-DE"), "16,50 €");
    }
}
