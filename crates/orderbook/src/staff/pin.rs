//! PINs: argon2id hashes, checking a PIN against the till's staff, and the wrong-PIN record.
//!
//! A PIN is 4 to 8 digits and is kept only as its argon2id PHC string with a random salt
//! (`$argon2id$v=19$m=…`); pulled hashes carry their own parameters. Checking a PIN verifies it
//! against every active staff member that has one (PINs are unique among active staff).
//!
//! **Wrong PINs** (signing in, or a manager's approval) are counted till-wide in
//! `pin_attempts`, whatever the PIN was meant for: each is answered after [`delay`] (200 ms per
//! consecutive failure, at most 2 s, waited through the book's [`crate::Clock`]), and after
//! [`MAX_FAILURES`] in a row PINs are refused (`pin_locked`) for [`LOCK_MINUTES`] by the book's
//! clock. The record is in the book, so a restart does not reset it; a right PIN does. When a
//! lock has run out the count starts again from zero.

use std::time::Duration as StdDuration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension};
use tillbook_protocol::staff::Role;
use uuid::Uuid;

use crate::clock::{fmt_time, parse_time};
use crate::error::{err, Error, ErrorCode, Result};

/// Consecutive wrong PINs that lock PIN entry.
pub const MAX_FAILURES: i64 = 5;
/// How long PIN entry stays locked.
pub const LOCK_MINUTES: i64 = 5;

/// The wait before answering the `failures`-th consecutive wrong PIN: 200 ms each, at most 2 s.
pub fn delay(failures: i64) -> StdDuration {
    StdDuration::from_millis(200 * failures.clamp(0, 10) as u64)
}

/// Whether a text has the shape of a PIN: 4 to 8 ASCII digits.
pub fn well_formed(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// `invalid_pin` unless the PIN has the shape of one (for a new PIN).
pub(crate) fn check_new(pin: &str) -> Result<()> {
    if !well_formed(pin) {
        return err(ErrorCode::InvalidPin, "a PIN is 4 to 8 digits");
    }
    Ok(())
}

/// The argon2id PHC hash of a PIN, with a random salt.
pub(crate) fn hash(pin: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::new(ErrorCode::Storage, format!("hashing the PIN failed: {e}")))
}

/// Whether a stored text is an argon2 PHC hash this book can check PINs against.
pub(crate) fn is_hash(text: &str) -> bool {
    PasswordHash::new(text).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"))
}

fn verifies(pin: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(pin.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// An active staff member a PIN belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    pub staff_id: Uuid,
    pub name: String,
    pub role: Role,
}

/// The active staff member whose PIN this is, if any. `prefer` is tried first (the roles that
/// may do what the PIN is for), so the usual case verifies few hashes.
pub(crate) fn holder(conn: &Connection, pin: &str, prefer: &[Role]) -> Result<Option<Holder>> {
    if !well_formed(pin) {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT staff_id, name, role, pin_hash FROM staff WHERE active = 1 AND pin_hash IS NOT NULL ORDER BY staff_id",
    )?;
    let mut rows: Vec<(Holder, String)> = stmt
        .query_map([], |r| {
            let (id, role): (String, String) = (r.get(0)?, r.get(2)?);
            let holder = Holder {
                staff_id: Uuid::parse_str(&id).unwrap_or_default(),
                name: r.get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Cashier),
            };
            Ok((holder, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.sort_by_key(|(h, _)| !prefer.contains(&h.role));
    Ok(rows.into_iter().find(|(_, phc)| verifies(pin, phc)).map(|(h, _)| h))
}

/// `pin_locked` while PIN entry is locked.
pub(crate) fn check_unlocked(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let until: Option<String> =
        conn.prepare_cached("SELECT locked_until FROM pin_attempts WHERE id = 1")?.query_row([], |r| r.get(0)).optional()?.flatten();
    if let Some(until) = until.map(|u| parse_time(&u)).filter(|u| *u > now) {
        return err(
            ErrorCode::PinLocked,
            format!(
                "{MAX_FAILURES} wrong PINs in a row: PINs are refused until {} UTC ({} s from now)",
                until.format("%H:%M:%S"),
                (until - now).num_seconds().max(1)
            ),
        );
    }
    Ok(())
}

/// A right PIN: the count of wrong ones starts again.
pub(crate) fn reset(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE pin_attempts SET failures = 0, locked_until = NULL WHERE id = 1 AND failures <> 0")?
        .execute([])?;
    Ok(())
}

/// Records one wrong PIN in the caller's transaction: the consecutive failures so far, and
/// whether PIN entry is now locked.
pub(crate) fn record_failure(conn: &Connection, now: DateTime<Utc>) -> Result<(i64, bool)> {
    let (failures, until): (i64, Option<String>) =
        conn.query_row("SELECT failures, locked_until FROM pin_attempts WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // A lock that has run out starts the count again.
    let failures = if until.is_some() { 1 } else { failures + 1 };
    let locked = failures >= MAX_FAILURES;
    let until = locked.then(|| fmt_time(now + Duration::minutes(LOCK_MINUTES)));
    conn.execute("UPDATE pin_attempts SET failures = ?1, locked_until = ?2 WHERE id = 1", rusqlite::params![failures, until])?;
    Ok((failures, locked))
}

/// The error a wrong PIN answers with, once recorded.
pub(crate) fn wrong(failures: i64, locked: bool) -> Error {
    let why = if locked {
        format!("wrong PIN: {failures} in a row, PINs are locked for {LOCK_MINUTES} minutes")
    } else {
        format!("wrong PIN ({} more and PINs are locked for {LOCK_MINUTES} minutes)", MAX_FAILURES - failures)
    };
    Error::new(ErrorCode::InvalidPin, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_hashed_with_a_random_salt_and_verified() {
        let a = hash("1234").unwrap();
        let b = hash("1234").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a random salt each time");
        assert!(!a.contains("1234"));
        assert!(verifies("1234", &a) && verifies("1234", &b));
        assert!(!verifies("1235", &a));
        assert!(is_hash(&a) && !is_hash("1234") && !is_hash("$pbkdf2-sha256$x"));
        assert!(well_formed("0000") && well_formed("12345678"));
        assert!(!well_formed("123") && !well_formed("123456789") && !well_formed("12a4") && !well_formed("١٢٣٤"));
        assert_eq!(delay(1), StdDuration::from_millis(200));
        assert_eq!(delay(4), StdDuration::from_millis(800));
        assert_eq!(delay(40), StdDuration::from_secs(2));
    }
}
