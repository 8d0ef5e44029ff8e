//! Terminals: creation into a store with a one-time code, enrolment, token checks,
//! revocation, health.
//!
//! A terminal belongs to one store and carries a terminal code unique within it (printed in
//! its order references): given by the back office, or the first free `T01`, `T02`, … of
//! the store.

use serde::{Deserialize, Serialize};
use tillbook_protocol::limits::{check_text, MAX_TEXT};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::stores::{self, DEFAULT_STORE};
use crate::storage::sql::{now_text, Row, Tx};

/// The terminal a request acts for, with its push cursor and store.
#[derive(Debug, Clone, Copy)]
pub struct Authed {
    pub id: Uuid,
    pub last_applied_seq: u64,
    pub store_id: i64,
}

/// A terminal just created: where it went and its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub store: String,
    pub terminal_code: String,
}

/// What enrolment hands back besides the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub terminal_id: Uuid,
    pub name: String,
    pub store: String,
    pub store_name: String,
    pub terminal_code: String,
}

/// A terminal and its sync health, for the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalInfo {
    pub terminal_id: Uuid,
    pub name: String,
    pub store: String,
    pub terminal_code: String,
    pub created_at: String,
    pub enrolled_at: Option<String>,
    pub revoked: bool,
    pub last_applied_seq: u64,
    pub last_seen_at: Option<String>,
    /// Events recorded as rejected (business rejections the terminal should show).
    pub rejected: u64,
}

pub fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| Error::Internal(format!("stored uuid {text:?}: {e}")))
}

pub fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::InvalidBody(format!("{v} is out of range")))
}

/// A terminal code: 1 to 16 ASCII letters or digits.
pub fn check_terminal_code(code: &str) -> Result<()> {
    if code.is_empty() || code.len() > 16 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::InvalidBody(format!(
            "terminal_code {code:?} must be 1 to 16 ASCII letters or digits"
        )));
    }
    Ok(())
}

/// The first of `T01`, `T02`, … not in `taken`.
pub fn first_free_code(taken: &std::collections::HashSet<String>) -> String {
    (1u32..)
        .map(|n| format!("T{n:02}"))
        .find(|c| !taken.contains(c))
        .expect("an unbounded range has a free code")
}

pub async fn create<T: Tx>(
    tx: &mut T,
    id: Uuid,
    name: &str,
    code_hash: &str,
    store: Option<&str>,
    terminal_code: Option<&str>,
) -> Result<Created> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::InvalidBody(
            "name must be 1 to 200 characters".into(),
        ));
    }
    if let Some(why) = check_text("name", name, MAX_TEXT, false) {
        return Err(Error::InvalidBody(why));
    }
    if let Some(code) = terminal_code {
        check_terminal_code(code)?;
    }
    let store = stores::by_code(tx, store.unwrap_or(DEFAULT_STORE)).await?;
    let taken: std::collections::HashSet<String> = tx
        .query(
            "SELECT terminal_code FROM terminals WHERE store_id = $1",
            params![store.id],
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_>>()?;
    let code = match terminal_code {
        Some(code) if taken.contains(code) => {
            return Err(Error::TerminalCodeTaken {
                store: store.code,
                code: code.to_string(),
            })
        }
        Some(code) => code.to_string(),
        None => first_free_code(&taken),
    };
    // Two creations racing for one code: the unique key stops the second (PostgreSQL retries
    // it, and the retry finds the code taken).
    tx.exec(
        "INSERT INTO terminals (id, store_id, terminal_code, name, code_hash, created_at, \
         last_applied_seq, rejected_count) VALUES ($1, $2, $3, $4, $5, $6, 0, 0)",
        params![id, store.id, code.as_str(), name, code_hash, now_text()],
    )
    .await?;
    Ok(Created {
        store: store.code,
        terminal_code: code,
    })
}

/// Spends a code: binds the token hash to its terminal. A code works once.
pub async fn enroll<T: Tx>(tx: &mut T, code_hash: &str, token_hash: &str) -> Result<Enrolled> {
    let row = tx
        .query_opt(
            "UPDATE terminals SET token_hash = $1, enrolled_at = $2 \
             WHERE code_hash = $3 AND enrolled_at IS NULL AND revoked_at IS NULL \
             RETURNING id, name, store_id, terminal_code",
            params![token_hash, now_text(), code_hash],
        )
        .await?;
    if let Some(row) = row {
        let store = stores::by_id(tx, row.i64(2)?).await?;
        return Ok(Enrolled {
            terminal_id: parse_uuid(&row.text(0)?)?,
            name: row.text(1)?,
            store: store.code,
            store_name: store.name,
            terminal_code: row.text(3)?,
        });
    }
    let known = tx
        .query_opt(
            "SELECT enrolled_at FROM terminals WHERE code_hash = $1",
            params![code_hash],
        )
        .await?;
    match known {
        Some(row) if row.opt_text(0)?.is_some() => Err(Error::EnrollmentCodeUsed),
        _ => Err(Error::InvalidEnrollmentCode),
    }
}

/// The live terminal behind a token hash; with `lock`, its row stays locked until commit so
/// pushes of one terminal run one after another on every server.
pub async fn authenticate<T: Tx>(tx: &mut T, token_hash: &str, lock: bool) -> Result<Authed> {
    let sql = format!(
        "SELECT id, last_applied_seq, store_id FROM terminals \
         WHERE token_hash = $1 AND revoked_at IS NULL{}",
        if lock { T::FOR_UPDATE } else { "" }
    );
    let row = tx
        .query_opt(&sql, params![token_hash])
        .await?
        .ok_or(Error::InvalidToken)?;
    Ok(Authed {
        id: parse_uuid(&row.text(0)?)?,
        last_applied_seq: to_u64(row.i64(1)?),
        store_id: row.i64(2)?,
    })
}

/// A terminal may act only as itself.
pub fn ensure_same(authed: &Authed, claimed: Uuid) -> Result<()> {
    if authed.id != claimed {
        return Err(Error::TerminalMismatch {
            body: claimed.to_string(),
            token: authed.id.to_string(),
        });
    }
    Ok(())
}

pub async fn for_token<T: Tx>(tx: &mut T, token_hash: &str) -> Result<Option<Uuid>> {
    let row = tx
        .query_opt(
            "SELECT id FROM terminals WHERE token_hash = $1",
            params![token_hash],
        )
        .await?;
    row.map(|r| parse_uuid(&r.text(0)?)).transpose()
}

pub async fn revoke<T: Tx>(tx: &mut T, id: Uuid) -> Result<()> {
    let changed = tx
        .exec(
            "UPDATE terminals SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            params![id, now_text()],
        )
        .await?;
    if changed == 0 {
        return Err(Error::not_found(format!("terminal {id}")));
    }
    Ok(())
}

/// Terminals of one store (its code) or of every store.
pub async fn list<T: Tx>(tx: &mut T, store: Option<&str>) -> Result<Vec<TerminalInfo>> {
    let store_id = stores::filter(tx, store).await?;
    let rows = tx
        .query(
            "SELECT t.id, t.name, s.code, t.terminal_code, t.created_at, t.enrolled_at, \
             t.revoked_at, t.last_applied_seq, t.last_seen_at, t.rejected_count \
             FROM terminals t JOIN stores s ON s.id = t.store_id \
             WHERE CAST($1 AS BIGINT) = 0 OR t.store_id = $1 ORDER BY t.created_at, t.id",
            params![store_id.unwrap_or(0)],
        )
        .await?;
    rows.iter().map(terminal_info).collect()
}

fn terminal_info(row: &Row) -> Result<TerminalInfo> {
    Ok(TerminalInfo {
        terminal_id: parse_uuid(&row.text(0)?)?,
        name: row.text(1)?,
        store: row.text(2)?,
        terminal_code: row.text(3)?,
        created_at: row.text(4)?,
        enrolled_at: row.opt_text(5)?,
        revoked: row.opt_text(6)?.is_some(),
        last_applied_seq: to_u64(row.i64(7)?),
        last_seen_at: row.opt_text(8)?,
        rejected: to_u64(row.i64(9)?),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_checked_and_picked_in_order() {
        assert!(super::check_terminal_code("T01").is_ok());
        assert!(super::check_terminal_code("").is_err());
        assert!(super::check_terminal_code("T-1").is_err());
        assert!(super::check_terminal_code(&"A".repeat(17)).is_err());
        let taken = ["T01", "T03"].iter().map(|s| s.to_string()).collect();
        assert_eq!(super::first_free_code(&taken), "T02");
    }
}
