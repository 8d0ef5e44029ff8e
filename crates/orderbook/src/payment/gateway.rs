//! The payment backend: what the book asks a card provider, and the built-in test gateway.
//!
//! Every call is synchronous and carries an idempotency key: asking again with the same key
//! gives the same answer and moves no more money (the book passes the payment's id when it
//! takes a card, and the refund's key with the payment's id when it gives money back). The
//! book stores the reference a backend answers with and never knows which provider it was.
//!
//! A backend that cannot reach its provider answers [`GatewayAnswer::Declined`] with
//! `processing_error` (one of [`DECLINE_CODES`]): the attempt is recorded and took no money.

use std::collections::BTreeMap;

use tillbook_protocol::events::DECLINE_CODES;

use crate::error::{err, ErrorCode, Result};

/// A payment backend's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayAnswer {
    /// Done; `reference` is the provider's name for it (stored with the payment or refund).
    Approved { reference: String },
    /// Refused; `code` is one of [`DECLINE_CODES`].
    Declined { code: String },
}

impl GatewayAnswer {
    pub fn declined(code: &str) -> GatewayAnswer {
        GatewayAnswer::Declined { code: code.to_string() }
    }
}

/// A card provider, as the book sees it. Implementations must be idempotent by key.
pub trait PaymentBackend {
    /// Reserves `amount_q` on a card (the full number is passed here and nowhere else).
    fn authorize(&mut self, card_number: &str, amount_q: i64, currency: &str, idempotency_key: &str) -> GatewayAnswer;
    /// Takes the money of an authorization.
    fn capture(&mut self, reference: &str, amount_q: i64, idempotency_key: &str) -> GatewayAnswer;
    /// Cancels an authorization or a capture the book could not record.
    fn void(&mut self, reference: &str, idempotency_key: &str) -> GatewayAnswer;
    /// Gives `amount_q` of a captured payment back to the card.
    fn refund(&mut self, reference: &str, amount_q: i64, idempotency_key: &str) -> GatewayAnswer;
}

/// What a decline code means, for the cashier.
pub fn decline_message(code: &str) -> String {
    match code {
        "card_declined" => "the card was declined".into(),
        "insufficient_funds" => "the card has insufficient funds".into(),
        "expired_card" => "the card has expired".into(),
        "incorrect_cvc" => "the card's security code is incorrect".into(),
        "processing_error" => "the payment provider could not process the card; try again".into(),
        other => format!("the card was declined ({other})"),
    }
}

/// The card number's digits (spaces and dashes dropped), or `invalid_card_number`: 12 to 19
/// digits passing the Luhn check.
pub fn card_digits(number: &str) -> Result<String> {
    let digits: String = number.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return err(ErrorCode::InvalidCardNumber, "a card number is 12 to 19 digits");
    }
    if !luhn(&digits) {
        return err(ErrorCode::InvalidCardNumber, "the card number fails its check digit (Luhn)");
    }
    Ok(digits)
}

/// The Luhn check of a string of ASCII digits.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of is newer than the workspace's rust-version
    let valid = sum % 10 == 0;
    valid
}

/// The built-in test gateway. Card `4242424242424242` succeeds; `4000000000000002` is
/// `card_declined`, `4000000000009995` `insufficient_funds`, `4000000000000069`
/// `expired_card`, `4000000000000127` `incorrect_cvc`; any other valid number succeeds.
/// It keeps what it authorized, captured and refunded, and its answers by idempotency key, in
/// memory: a new instance (the next `tillbook` command) still refunds any `test_` reference.
#[derive(Debug, Default)]
pub struct TestGateway {
    /// Reference → (authorized amount, captured, voided, refunded so far).
    payments: BTreeMap<String, TestPayment>,
    /// Idempotency key → the answer given.
    answers: BTreeMap<String, GatewayAnswer>,
}

#[derive(Debug, Default, Clone)]
struct TestPayment {
    amount_q: i64,
    captured: bool,
    voided: bool,
    refunded_q: i64,
}

/// The test cards that do not succeed, with their decline codes.
pub const TEST_DECLINES: [(&str, &str); 4] = [
    ("4000000000000002", "card_declined"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000000069", "expired_card"),
    ("4000000000000127", "incorrect_cvc"),
];

impl TestGateway {
    pub fn new() -> TestGateway {
        TestGateway::default()
    }

    fn once(&mut self, op: &str, key: &str, f: impl FnOnce(&mut Self) -> GatewayAnswer) -> GatewayAnswer {
        let k = format!("{op}:{key}");
        if let Some(a) = self.answers.get(&k) {
            return a.clone();
        }
        let a = f(self);
        self.answers.insert(k, a.clone());
        a
    }
}

impl PaymentBackend for TestGateway {
    fn authorize(&mut self, card_number: &str, amount_q: i64, _currency: &str, key: &str) -> GatewayAnswer {
        self.once("authorize", key, |g| {
            let Ok(digits) = card_digits(card_number) else {
                return GatewayAnswer::declined("card_declined");
            };
            if let Some((_, code)) = TEST_DECLINES.iter().find(|(n, _)| *n == digits) {
                return GatewayAnswer::declined(code);
            }
            if amount_q <= 0 {
                return GatewayAnswer::declined("processing_error");
            }
            let reference = format!("test_ch_{}", uuid::Uuid::now_v7().simple());
            g.payments.insert(reference.clone(), TestPayment { amount_q, ..Default::default() });
            GatewayAnswer::Approved { reference }
        })
    }

    fn capture(&mut self, reference: &str, amount_q: i64, key: &str) -> GatewayAnswer {
        self.once("capture", key, |g| match g.payments.get_mut(reference) {
            Some(p) if !p.voided && amount_q == p.amount_q => {
                p.captured = true;
                GatewayAnswer::Approved { reference: reference.to_string() }
            }
            _ => GatewayAnswer::declined("processing_error"),
        })
    }

    fn void(&mut self, reference: &str, key: &str) -> GatewayAnswer {
        self.once("void", key, |g| match g.payments.get_mut(reference) {
            Some(p) if p.refunded_q == 0 => {
                p.voided = true;
                GatewayAnswer::Approved { reference: reference.to_string() }
            }
            _ => GatewayAnswer::declined("processing_error"),
        })
    }

    fn refund(&mut self, reference: &str, amount_q: i64, key: &str) -> GatewayAnswer {
        self.once("refund", key, |g| {
            let id = uuid::Uuid::now_v7().simple();
            match g.payments.get_mut(reference) {
                // A book reopened with a fresh gateway still refunds its test payments.
                None if reference.starts_with("test_") && amount_q > 0 => {
                    GatewayAnswer::Approved { reference: format!("test_re_{id}") }
                }
                Some(p) if p.captured && !p.voided && amount_q > 0 && p.refunded_q + amount_q <= p.amount_q => {
                    p.refunded_q += amount_q;
                    GatewayAnswer::Approved { reference: format!("test_re_{id}") }
                }
                _ => GatewayAnswer::declined("processing_error"),
            }
        })
    }
}

/// Whether a decline code is one Tillbook knows.
pub fn known_decline(code: &str) -> bool {
    DECLINE_CODES.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_lengths() {
        assert_eq!(card_digits("4242 4242 4242 4242").unwrap(), "4242424242424242");
        assert!(card_digits("4242-4242-4242-4242").is_ok());
        assert_eq!(card_digits("4242424242424241").unwrap_err().code, ErrorCode::InvalidCardNumber);
        assert_eq!(card_digits("42424242424").unwrap_err().code, ErrorCode::InvalidCardNumber, "11 digits");
        assert_eq!(card_digits("4242x42424242424").unwrap_err().code, ErrorCode::InvalidCardNumber);
        assert_eq!(card_digits("").unwrap_err().code, ErrorCode::InvalidCardNumber);
        assert_eq!(card_digits(&"0".repeat(20)).unwrap_err().code, ErrorCode::InvalidCardNumber, "20 digits");
        assert!(card_digits("000000000000").is_ok(), "12 zeros pass Luhn");
        for (n, _) in TEST_DECLINES {
            assert!(luhn(n), "{n}");
        }
    }

    #[test]
    fn test_cards_answer_as_documented_and_keys_are_idempotent() {
        let mut g = TestGateway::new();
        for (n, code) in TEST_DECLINES {
            assert_eq!(g.authorize(n, 100, "BRL", n), GatewayAnswer::declined(code));
            assert!(known_decline(code));
        }
        let GatewayAnswer::Approved { reference } = g.authorize("4242424242424242", 500, "BRL", "k1") else { panic!() };
        assert!(reference.starts_with("test_ch_"), "{reference}");
        assert_eq!(g.authorize("4242424242424242", 500, "BRL", "k1"), GatewayAnswer::Approved { reference: reference.clone() });
        assert!(matches!(g.authorize("5555555555554444", 500, "BRL", "k2"), GatewayAnswer::Approved { .. }));
        assert!(matches!(g.capture(&reference, 500, "k1"), GatewayAnswer::Approved { .. }));
        assert!(matches!(g.refund(&reference, 300, "r1"), GatewayAnswer::Approved { .. }));
        assert_eq!(g.refund(&reference, 300, "r1"), g.refund(&reference, 300, "r1"), "same key, same answer");
        assert_eq!(g.refund(&reference, 201, "r2"), GatewayAnswer::declined("processing_error"), "more than is left");
        assert!(matches!(g.refund(&reference, 200, "r3"), GatewayAnswer::Approved { .. }));
        assert_eq!(g.refund("nope", 1, "r4"), GatewayAnswer::declined("processing_error"));
        assert_eq!(decline_message("expired_card"), "the card has expired");
    }
}
