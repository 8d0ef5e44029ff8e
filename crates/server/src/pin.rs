//! Staff PINs: their form, their argon2id hash (a random salt each), and checking a PIN
//! against stored hashes.
//!
//! Hashing and verifying are slow by design (tens of milliseconds each): callers run them on a
//! blocking thread and never inside a database transaction ([`crate::storage::Store`]'s staff
//! methods).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

use crate::error::{Error, Result};

/// Fewest and most digits of a PIN.
pub const MIN_PIN: usize = 4;
pub const MAX_PIN: usize = 8;

/// A PIN is 4 to 8 ASCII digits (400 `invalid_pin` otherwise).
pub fn check(pin: &str) -> Result<()> {
    if !(MIN_PIN..=MAX_PIN).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidPin(format!(
            "a PIN is {MIN_PIN} to {MAX_PIN} digits (0-9)"
        )));
    }
    Ok(())
}

/// The PIN's argon2id hash in PHC format (`$argon2id$v=19$…`), with a fresh random salt.
pub fn hash(pin: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

/// Whether `pin` is the PIN `hash` was made from (an unreadable hash matches nothing).
pub fn matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

/// Off the async threads: [`Error::PinInUse`] when `pin` matches one of `taken`, else its
/// new hash.
pub async fn hash_unless_taken(pin: String, taken: Vec<String>) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        if taken.iter().any(|h| matches(&pin, h)) {
            return Err(Error::PinInUse);
        }
        hash(&pin)
    })
    .await
    .map_err(|e| Error::Internal(format!("pin worker: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_digits_and_hash_with_a_fresh_salt() {
        for ok in ["1234", "00000000", "0042"] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in ["", "123", "123456789", "12a4", " 1234", "１２３４"] {
            assert_eq!(check(bad).unwrap_err().code(), "invalid_pin", "{bad}");
        }
        let (a, b) = (hash("1234").unwrap(), hash("1234").unwrap());
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(matches("1234", &a) && matches("1234", &b));
        assert!(!matches("1235", &a));
        assert!(!matches("1234", "not a hash"));
    }
}
