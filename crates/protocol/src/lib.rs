//! Wire protocol shared by terminals and the central server.
//!
//! Two families of types live here and nowhere else:
//! - [`events`]: the payloads a terminal writes to its outbox (an order committed, a status
//!   change, a stock adjustment). The order book writes them; the server applies them.
//! - [`sync`]: the JSON bodies of enrolment, push and pull.
//!
//! Every type is plain serde: no I/O, no async. Money is integer minor units in fields ending
//! `_q`, always next to a currency.

pub mod catalog;
pub mod channel;
pub mod events;
pub mod limits;
pub mod money;
pub mod shift;
pub mod staff;
pub mod sync;
pub mod tax;

/// The protocol version a terminal and a server speak. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 2;

/// The `{code, message}` body every error answer carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// Canonical JSON text of a value: object keys sorted, no insignificant white space.
///
/// Both sides hash this text, so a payload re-serialised by the server hashes the same as the
/// one the terminal stored.
pub fn canonical_json(value: &serde_json::Value) -> String {
    // serde_json's `Value` keeps objects in a BTreeMap (no `preserve_order` feature is
    // enabled anywhere in the workspace), so `to_string` is already sorted and compact.
    serde_json::to_string(value).expect("a serde_json::Value always serialises")
}

/// Hex SHA-256 of the canonical JSON of a payload.
pub fn payload_hash(value: &serde_json::Value) -> String {
    text_hash(&canonical_json(value))
}

/// Hex SHA-256 of a payload's canonical JSON text (from [`canonical_json`]).
pub fn text_hash(canonical: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_so_hash_is_order_independent() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"d":2,"c":3}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{ "a": {"c":3, "d":2}, "b": 1 }"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"c":3,"d":2},"b":1}"#);
        assert_eq!(payload_hash(&a), payload_hash(&b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a":{"c":3,"d":2},"b":2}"#).unwrap();
        assert_ne!(payload_hash(&a), payload_hash(&c));
        let v: serde_json::Value = serde_json::json!({"b": [1, 2, {"z": "é", "a": null}], "a": "x\"y"});
        assert_eq!(text_hash(&canonical_json(&v)), payload_hash(&v));
    }
}
