//! Tokens and enrolment codes: minted at random, kept only as SHA-256 hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A terminal's long-lived bearer token: 32 random bytes, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A one-time enrolment code a person can type: `XXXX-XXXX-XXXX-XXXX` (no 0/O, 1/I).
pub fn new_enrollment_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of an enrolment code: case and separators do not matter.
pub fn hash_enrollment_code(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hash_secret(&normal)
}

/// Hex SHA-256 of a secret: what the database holds instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (ha, hb) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typeable_and_hash_ignores_case_and_dashes() {
        let code = new_enrollment_code();
        assert_eq!(code.len(), 19);
        assert_eq!(
            hash_enrollment_code(&code),
            hash_enrollment_code(&code.to_lowercase().replace('-', ""))
        );
        assert_eq!(new_token().len(), 64);
        assert!(secrets_equal("abc", "abc") && !secrets_equal("abc", "abd"));
    }
}
