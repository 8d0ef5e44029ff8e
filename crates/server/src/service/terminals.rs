//! Terminals: creation with a one-time code, enrolment, token checks, revocation, health.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::storage::sql::{now_text, Row, Tx};

/// The terminal a request acts for, with its push cursor.
#[derive(Debug, Clone, Copy)]
pub struct Authed {
    pub id: Uuid,
    pub last_applied_seq: u64,
}

/// What enrolment hands back besides the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub terminal_id: Uuid,
    pub name: String,
}

/// A terminal and its sync health, for the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalInfo {
    pub terminal_id: Uuid,
    pub name: String,
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

pub async fn create<T: Tx>(tx: &mut T, id: Uuid, name: &str, code_hash: &str) -> Result<()> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::InvalidBody(
            "name must be 1 to 200 characters".into(),
        ));
    }
    tx.exec(
        "INSERT INTO terminals (id, name, code_hash, created_at, last_applied_seq, rejected_count) \
         VALUES ($1, $2, $3, $4, 0, 0)",
        params![id, name, code_hash, now_text()],
    )
    .await?;
    Ok(())
}

/// Spends a code: binds the token hash to its terminal. A code works once.
pub async fn enroll<T: Tx>(tx: &mut T, code_hash: &str, token_hash: &str) -> Result<Enrolled> {
    let row = tx
        .query_opt(
            "UPDATE terminals SET token_hash = $1, enrolled_at = $2 \
             WHERE code_hash = $3 AND enrolled_at IS NULL AND revoked_at IS NULL \
             RETURNING id, name",
            params![token_hash, now_text(), code_hash],
        )
        .await?;
    if let Some(row) = row {
        return Ok(Enrolled {
            terminal_id: parse_uuid(&row.text(0)?)?,
            name: row.text(1)?,
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
        "SELECT id, last_applied_seq FROM terminals \
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

pub async fn list<T: Tx>(tx: &mut T) -> Result<Vec<TerminalInfo>> {
    let rows = tx
        .query(
            "SELECT id, name, created_at, enrolled_at, revoked_at, last_applied_seq, last_seen_at, \
             rejected_count FROM terminals ORDER BY created_at, id",
            params![],
        )
        .await?;
    rows.iter().map(terminal_info).collect()
}

fn terminal_info(row: &Row) -> Result<TerminalInfo> {
    Ok(TerminalInfo {
        terminal_id: parse_uuid(&row.text(0)?)?,
        name: row.text(1)?,
        created_at: row.text(2)?,
        enrolled_at: row.opt_text(3)?,
        revoked: row.opt_text(4)?.is_some(),
        last_applied_seq: to_u64(row.i64(5)?),
        last_seen_at: row.opt_text(6)?,
        rejected: to_u64(row.i64(7)?),
    })
}
