//! Back-office shifts (`GET /v1/admin/shifts`): each shift of a store, open or closed, with
//! who opened and closed it, the server's own figures ([`figures`]) beside what the till
//! counted and expected, and whether the till's Z-report says something else than the
//! server's figures (`mismatch`: a close is stored whatever it says, and flagged here).
//!
//! The server's figures are computed when asked, from the rows as they are now: a shift's
//! order cancelled after the close changes them (and flags the shift).

pub mod figures;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tillbook_protocol::shift::ShiftFigures;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::staff;
use crate::service::stores;
use crate::service::terminals::parse_uuid;
use crate::storage::sql::{Row, Tx, Val};
use figures::{parse_time, Frame};

/// Default and largest number of shifts one answer lists.
pub const DEFAULT_SHIFTS: u32 = 100;
pub const MAX_SHIFTS: u32 = 1000;

/// Which shifts: a store's (its code), of one terminal (its code) and one business date.
#[derive(Debug, Clone)]
pub struct ShiftQuery {
    pub store: String,
    pub terminal: Option<String>,
    pub date: Option<NaiveDate>,
    pub limit: u32,
}

/// What the till said when it closed the shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillCount {
    pub counted_q: Option<i64>,
    pub expected_q: Option<i64>,
    pub difference_q: Option<i64>,
}

/// A shift as the back office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftInfo {
    pub shift_id: Uuid,
    pub store: String,
    pub terminal_id: Uuid,
    pub terminal_code: String,
    pub terminal_name: String,
    /// `open` or `closed`.
    pub status: String,
    pub business_date: NaiveDate,
    pub currency: String,
    pub opened_at: String,
    /// The staff member's name when the server knows them, else the actor the till recorded.
    pub opened_by: String,
    pub opened_by_staff_id: Option<Uuid>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub closed_by_staff_id: Option<Uuid>,
    /// The manager whose PIN allowed the close, and their name when known.
    pub approved_by: Option<Uuid>,
    pub approved_by_name: Option<String>,
    /// The server's figures, summed from the shift's rows now.
    pub figures: ShiftFigures,
    /// The till's counted, expected and difference, from its close.
    pub till: Option<TillCount>,
    /// The till's Z-report differs from the server's figures.
    pub mismatch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftList {
    pub store: String,
    /// Newest first (by opening time).
    pub shifts: Vec<ShiftInfo>,
    /// More shifts match than `limit`: narrow by date or terminal.
    pub has_more: bool,
}

const SHIFT_SQL: &str = "SELECT sh.shift_id, sh.terminal_id, t.terminal_code, t.name, sh.currency, \
     sh.float_q, sh.business_date, sh.opened_at, sh.opened_by, sh.opened_actor, sh.closed_at, \
     sh.closed_by, sh.closed_actor, sh.approved_by, sh.z_report, sh.counted_q, sh.expected_q, \
     sh.difference_q FROM shifts sh JOIN terminals t ON t.id = sh.terminal_id WHERE sh.store_id = $1";

fn opt_uuid(row: &Row, i: usize) -> Result<Option<Uuid>> {
    row.opt_text(i)?.map(|t| parse_uuid(&t)).transpose()
}

/// The shifts `q` asks for, newest first, with their figures.
pub async fn list<T: Tx>(tx: &mut T, q: &ShiftQuery) -> Result<ShiftList> {
    let store = stores::by_code(tx, &q.store).await?;
    let mut sql = SHIFT_SQL.to_string();
    let mut args = vec![Val::from(store.id)];
    if let Some(code) = &q.terminal {
        let terminal = tx
            .query_opt(
                "SELECT id FROM terminals WHERE store_id = $1 AND terminal_code = $2",
                params![store.id, code.as_str()],
            )
            .await?
            .ok_or_else(|| Error::UnknownTerminal {
                store: store.code.clone(),
                code: code.clone(),
            })?;
        args.push(Val::from(terminal.text(0)?));
        sql.push_str(&format!(" AND sh.terminal_id = ${}", args.len()));
    }
    if let Some(date) = q.date {
        args.push(Val::from(date.to_string()));
        sql.push_str(&format!(" AND sh.business_date = ${}", args.len()));
    }
    let limit = q.limit.clamp(1, MAX_SHIFTS) as usize;
    args.push(Val::from(limit as i64 + 1));
    sql.push_str(&format!(
        " ORDER BY sh.opened_at DESC, sh.shift_id DESC LIMIT ${}",
        args.len()
    ));
    let mut rows = tx.query(&sql, &args).await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);

    let mut frames = Vec::with_capacity(rows.len());
    let mut who = Vec::new();
    for r in &rows {
        let date = r.text(6)?;
        frames.push(Frame {
            shift_id: parse_uuid(&r.text(0)?)?,
            currency: r.text(4)?,
            business_date: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|e| Error::Internal(format!("stored date {date:?}: {e}")))?,
            opened_at: parse_time(&r.text(7)?)?,
            closed_at: r.opt_text(10)?.map(|t| parse_time(&t)).transpose()?,
            float_q: r.i64(5)?,
            counted_q: r.opt_i64(15)?,
        });
        who.extend(
            [opt_uuid(r, 8)?, opt_uuid(r, 11)?, opt_uuid(r, 13)?]
                .into_iter()
                .flatten(),
        );
    }
    let mut figures = figures::compute(tx, &frames).await?;
    let names = staff::names(tx, who).await?;
    let name = |id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned());

    let mut shifts = Vec::with_capacity(rows.len());
    for (r, frame) in rows.iter().zip(&frames) {
        let server = figures
            .remove(&frame.shift_id)
            .ok_or_else(|| Error::Internal(format!("no figures for shift {}", frame.shift_id)))?;
        let report = r.opt_text(14)?;
        let mismatch = match &report {
            Some(json) => {
                let till: ShiftFigures = serde_json::from_str(json)
                    .map_err(|e| Error::Internal(format!("stored z-report: {e}")))?;
                figures::differ(&till, &server)
            }
            None => false,
        };
        let (opened_by, closed_by, approved_by) =
            (opt_uuid(r, 8)?, opt_uuid(r, 11)?, opt_uuid(r, 13)?);
        let closed_at = r.opt_text(10)?;
        shifts.push(ShiftInfo {
            shift_id: frame.shift_id,
            store: store.code.clone(),
            terminal_id: parse_uuid(&r.text(1)?)?,
            terminal_code: r.text(2)?,
            terminal_name: r.text(3)?,
            status: if closed_at.is_some() {
                "closed"
            } else {
                "open"
            }
            .to_string(),
            business_date: frame.business_date,
            currency: frame.currency.clone(),
            opened_at: r.text(7)?,
            opened_by: name(opened_by).unwrap_or(r.text(9)?),
            opened_by_staff_id: opened_by,
            closed_by: name(closed_by).or(r.opt_text(12)?),
            closed_by_staff_id: closed_by,
            approved_by,
            approved_by_name: name(approved_by),
            till: closed_at
                .is_some()
                .then(|| -> Result<TillCount> {
                    Ok(TillCount {
                        counted_q: r.opt_i64(15)?,
                        expected_q: r.opt_i64(16)?,
                        difference_q: r.opt_i64(17)?,
                    })
                })
                .transpose()?,
            closed_at,
            figures: server,
            mismatch,
        });
    }
    Ok(ShiftList {
        store: store.code,
        shifts,
        has_more,
    })
}
