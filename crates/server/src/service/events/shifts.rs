//! `shift.opened`, `shift.cash_moved` and `shift.closed` applied to a [`Page`], and the shift
//! that a sale, a payment or a refund names.
//!
//! A shift is its terminal's: only the terminal that opened it moves cash in it, sells,
//! takes payments or refunds in it, or closes it (`unknown_shift` otherwise), and only while
//! it is open at the server (`shift_closed`): the till writes a shift's close after its
//! sales, so anything after the close is a till's mistake. A terminal has at most one open
//! shift (`shift_already_open`; a unique index holds it too) and a shift opens in its store's
//! currency (`currency_mismatch`): the currency of the store's orders, or the one its first
//! shift opened in, which fixes it (a page that may fix it locks the store's row first, before
//! any change-log lock: every push takes its locks in one order). Events without a `shift_id` (from tills before shifts)
//! belong to no shift and are accepted as before.
//!
//! Only the terminal that owns a shift writes its row, and a terminal's pushes are applied
//! one after another under its row lock, so the checks here need no lock of their own.
//! A close is stored whatever its figures say, as long as they are well formed: the server
//! computes its own figures when asked and shows where they differ ([`crate::service::shifts`]).
//!
//! Rejections begin with a stable code (`unknown_shift: …`), which tills may match on.

use std::collections::{BTreeSet, HashMap, HashSet};

use tillbook_protocol::events::EventPayload;
use tillbook_protocol::shift::{CashMoved, ShiftClosed, ShiftOpened};
use uuid::Uuid;

use super::{stored_uuid, Page};
use crate::error::{Error, Result};
use crate::params;
use crate::service::validate::Verdict;
use crate::storage::sql::{query_keys, timestamp_text, Rows, Tx, Val};

const SHIFT_COLUMNS: &[&str] = &[
    "shift_id",
    "store_id",
    "terminal_id",
    "event_id",
    "currency",
    "float_q",
    "business_date",
    "opened_at",
    "opened_by",
    "opened_actor",
    "closed_at",
    "closed_by",
    "closed_actor",
    "approved_by",
    "close_event_id",
    "z_report",
    "counted_q",
    "expected_q",
    "difference_q",
    "received_at",
];
/// The first of the close's columns of a queued shift row (`closed_at` … `difference_q`).
const SHIFT_CLOSE: usize = 10;
const MOVEMENT_COLUMNS: &[&str] = &[
    "movement_id",
    "store_id",
    "shift_id",
    "terminal_id",
    "event_id",
    "kind",
    "currency",
    "amount_q",
    "reason",
    "at",
    "actor",
    "staff_id",
    "approved_by",
];

/// A shift as the checks need it.
#[derive(Debug, Clone)]
struct ShiftState {
    terminal_id: Uuid,
    store_id: i64,
    open: bool,
    currency: String,
}

/// The page's shifts: what their checks need, and their queued rows.
pub struct Shifts {
    /// The shifts the page's events name, and those it opened.
    known: HashMap<Uuid, ShiftState>,
    /// This terminal's open shift at the server, as the page goes.
    open: Option<Uuid>,
    /// The store's currency, when fixed (read when the page opens a shift).
    store_currency: Option<String>,
    /// (Checked) cash movement ids the page brings that are taken, and those it recorded.
    used_movements: HashSet<Uuid>,
    /// Queued shift rows by shift id (until flushed).
    queued: HashMap<Uuid, usize>,
    shift_rows: Rows,
    movement_rows: Rows,
}

fn named(p: &EventPayload) -> Option<Uuid> {
    match p {
        EventPayload::ShiftOpened(o) => Some(o.shift_id),
        EventPayload::CashMoved(m) => Some(m.shift_id),
        EventPayload::ShiftClosed(c) => Some(c.shift_id),
        EventPayload::OrderCommitted(o) => o.shift_id,
        EventPayload::PaymentRecorded(p) => p.shift_id,
        EventPayload::RefundRecorded(r) => r.shift_id,
        _ => None,
    }
}

impl Shifts {
    /// Reads the shifts the page's events name (and, when it opens one, the terminal's open
    /// shift and the store's currency); (checked) which cash movement ids it brings are taken.
    pub async fn prefetch<'a, T: Tx>(
        tx: &mut T,
        terminal: Uuid,
        store_id: i64,
        payloads: impl Iterator<Item = &'a EventPayload> + Clone,
        checked: bool,
    ) -> Result<Shifts> {
        let mut shifts = Shifts {
            known: HashMap::new(),
            open: None,
            store_currency: None,
            used_movements: HashSet::new(),
            queued: HashMap::new(),
            shift_rows: Rows::new("shifts", SHIFT_COLUMNS),
            movement_rows: Rows::new("cash_movements", MOVEMENT_COLUMNS),
        };
        let ids: BTreeSet<Uuid> = payloads.clone().filter_map(named).collect();
        if ids.is_empty() {
            return Ok(shifts);
        }
        let keys: Vec<Val> = ids.into_iter().map(Val::from).collect();
        let rows = query_keys(
            tx,
            "SELECT s.shift_id, s.terminal_id, s.closed_at, s.currency, s.store_id FROM {keys} \
             CROSS JOIN shifts s WHERE s.shift_id = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?;
        for r in rows {
            shifts.known.insert(
                stored_uuid(&r.text(0)?)?,
                ShiftState {
                    terminal_id: stored_uuid(&r.text(1)?)?,
                    store_id: r.i64(4)?,
                    open: r.opt_text(2)?.is_none(),
                    currency: r.text(3)?,
                },
            );
        }
        if payloads
            .clone()
            .any(|p| matches!(p, EventPayload::ShiftOpened(_)))
        {
            let open = tx
                .query_opt(
                    "SELECT shift_id, currency FROM shifts WHERE terminal_id = $1 AND closed_at IS NULL",
                    params![terminal],
                )
                .await?;
            if let Some(r) = open {
                let id = stored_uuid(&r.text(0)?)?;
                shifts.open = Some(id);
                shifts.known.insert(
                    id,
                    ShiftState {
                        terminal_id: terminal,
                        store_id,
                        open: true,
                        currency: r.text(1)?,
                    },
                );
            }
            shifts.store_currency = store_currency(tx, store_id, false).await?;
            if shifts.store_currency.is_none() {
                // The page may fix it: the store's row is locked now, before any change-log
                // lock (pushes take their locks in one order), and read again.
                shifts.store_currency = store_currency(tx, store_id, true).await?;
            }
        }
        if checked {
            let moves: Vec<Val> = payloads
                .filter_map(|p| match p {
                    EventPayload::CashMoved(m) => Some(Val::from(m.movement_id)),
                    _ => None,
                })
                .collect();
            for r in query_keys(
                tx,
                "SELECT m.movement_id FROM {keys} CROSS JOIN cash_movements m \
                 WHERE m.movement_id = k.column1",
                &[],
                "TEXT",
                &moves,
            )
            .await?
            {
                shifts.used_movements.insert(stored_uuid(&r.text(0)?)?);
            }
        }
        Ok(shifts)
    }

    /// Inserts the queued rows; false when an optimistic page found a shift or movement id
    /// (or a second open shift of the terminal) taken: roll back, apply it checked.
    pub async fn flush<T: Tx>(&mut self, tx: &mut T, checked: bool) -> Result<bool> {
        self.queued.clear();
        if checked {
            self.shift_rows.flush(tx).await?;
            self.movement_rows.flush(tx).await?;
            Ok(true)
        } else {
            Ok(self.shift_rows.flush_new(tx, "").await?
                && self.movement_rows.flush_new(tx, "").await?)
        }
    }

    /// Why a shift named by `what` cannot take it: unknown or another terminal's, closed, or
    /// in another currency.
    /// For a sale, payment or refund: like [`Shifts::usable`], except that a shift of another
    /// terminal of the same store takes it, open or closed. That is a copied book re-enrolled
    /// under a new identity, still selling in the shift its original opened: its sales must
    /// reach the back office (sync rule 1), and the original's figures then differ from its
    /// Z-report, which the shift listing flags.
    fn takes_sale(&self, terminal: Uuid, store_id: i64, shift_id: Uuid, currency: &str, what: &str) -> Verdict {
        match self.known.get(&shift_id) {
            Some(s) if s.terminal_id != terminal && s.store_id == store_id => {
                if s.currency != currency {
                    return Some(format!(
                        "currency_mismatch: {what} in {currency}, shift {shift_id} is in {}",
                        s.currency
                    ));
                }
                None
            }
            _ => self.usable(terminal, shift_id, currency, what),
        }
    }

    fn usable(&self, terminal: Uuid, shift_id: Uuid, currency: &str, what: &str) -> Verdict {
        let Some(s) = self
            .known
            .get(&shift_id)
            .filter(|s| s.terminal_id == terminal)
        else {
            return Some(format!(
                "unknown_shift: {what}: shift {shift_id} is not a shift of this terminal"
            ));
        };
        if !s.open {
            return Some(format!("shift_closed: {what}: shift {shift_id} is closed"));
        }
        if s.currency != currency {
            return Some(format!(
                "currency_mismatch: {what} in {currency}, shift {shift_id} is in {}",
                s.currency
            ));
        }
        None
    }
}

/// The store's currency, when fixed; `lock`: its row is locked (where rows lock).
async fn store_currency<T: Tx>(tx: &mut T, store_id: i64, lock: bool) -> Result<Option<String>> {
    let sql = format!(
        "SELECT currency FROM stores WHERE id = $1{}",
        if lock { T::FOR_UPDATE } else { "" }
    );
    tx.query_one(&sql, params![store_id]).await?.opt_text(0)
}

/// The shift a sale, payment or refund names (if any) must be this terminal's, open, and in
/// its currency.
pub(super) fn member(page: &Page, payload: &EventPayload) -> Verdict {
    let (shift, currency, what) = match payload {
        EventPayload::OrderCommitted(o) => {
            (o.shift_id, &o.currency, format!("order {}", o.order_ref))
        }
        EventPayload::PaymentRecorded(p) => {
            (p.shift_id, &p.currency, format!("payment {}", p.payment_id))
        }
        EventPayload::RefundRecorded(r) => {
            (r.shift_id, &r.currency, format!("refund {}", r.refund_id))
        }
        _ => return None,
    };
    let shift = shift?;
    page.shifts.takes_sale(page.terminal_id, page.store_id, shift, currency, &what)
}

/// `shift.opened`: a new shift id, no other shift of the terminal open, the store's currency
/// (fixing it when the store has none yet).
pub(super) async fn open<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    o: &ShiftOpened,
) -> Result<Verdict> {
    let id = o.shift_id;
    let terminal = page.terminal_id;
    let s = &mut page.shifts;
    if let Some(known) = s.known.get(&id) {
        return Ok(Some(if known.terminal_id != terminal {
            format!("shift_exists: shift {id} was opened by another terminal")
        } else if known.open {
            format!("shift_already_open: shift {id} is already open")
        } else {
            format!("shift_closed: shift {id} was opened and closed before")
        }));
    }
    if let Some(other) = s.open {
        return Ok(Some(format!(
            "shift_already_open: shift {other} of this terminal is still open"
        )));
    }
    match &s.store_currency {
        Some(c) if *c != o.currency => {
            return Ok(Some(format!(
                "currency_mismatch: shift {id} opens in {}, the store sells in {c}",
                o.currency
            )));
        }
        Some(_) => {}
        None => {
            // The store's first shift fixes its currency (the page locked the store's row
            // when it read it unfixed).
            tx.exec(
                "UPDATE stores SET currency = $1 WHERE id = $2",
                params![&o.currency, page.store_id],
            )
            .await?;
            page.shifts.store_currency = Some(o.currency.clone());
        }
    }
    let s = &mut page.shifts;
    s.queued.insert(id, s.shift_rows.len());
    s.shift_rows.push([
        Val::from(id),
        Val::from(page.store_id),
        Val::from(terminal),
        Val::from(event_id),
        Val::from(&o.currency),
        Val::from(o.float_q),
        Val::from(o.business_date.to_string()),
        Val::from(timestamp_text(o.opened_at)),
        Val::from(o.staff_id.map(|u| u.to_string())),
        Val::from(&o.actor),
        // The close, patched in when it comes in the same page.
        Val::Text(None),
        Val::Text(None),
        Val::Text(None),
        Val::Text(None),
        Val::Text(None),
        Val::Text(None),
        Val::Int(None),
        Val::Int(None),
        Val::Int(None),
        Val::from(page.received_at.as_str()),
    ]);
    s.known.insert(
        id,
        ShiftState {
            terminal_id: terminal,
            store_id: page.store_id,
            open: true,
            currency: o.currency.clone(),
        },
    );
    s.open = Some(id);
    Ok(None)
}

/// `shift.cash_moved`: cash in or out of (or a no-sale opening of) this terminal's open shift.
pub(super) fn cash_moved(page: &mut Page, event_id: Uuid, m: &CashMoved) -> Verdict {
    let what = format!("cash movement {}", m.movement_id);
    if let Some(why) = page
        .shifts
        .usable(page.terminal_id, m.shift_id, &m.currency, &what)
    {
        return Some(why);
    }
    let s = &mut page.shifts;
    if !s.used_movements.insert(m.movement_id) {
        return Some(format!("{what} was already recorded"));
    }
    s.movement_rows.push([
        Val::from(m.movement_id),
        Val::from(page.store_id),
        Val::from(m.shift_id),
        Val::from(page.terminal_id),
        Val::from(event_id),
        Val::from(m.kind.as_str()),
        Val::from(&m.currency),
        Val::from(m.amount_q),
        Val::from(&m.reason),
        Val::from(timestamp_text(m.at)),
        Val::from(&m.actor),
        Val::from(m.staff_id.map(|u| u.to_string())),
        Val::from(m.approved_by.map(|u| u.to_string())),
    ]);
    None
}

/// `shift.closed`: this terminal's open shift, counted. Stored with the till's Z-report as
/// sent, whatever the server's own figures say.
pub(super) async fn close<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    c: &ShiftClosed,
) -> Result<Verdict> {
    let id = c.shift_id;
    let currency = match page.shifts.known.get(&id) {
        Some(s) => s.currency.clone(),
        None => String::new(),
    };
    let what = format!("close of shift {id}");
    if let Some(why) = page.shifts.usable(page.terminal_id, id, &currency, &what) {
        return Ok(Some(why));
    }
    let report =
        serde_json::to_string(&c.figures).map_err(|e| Error::Internal(format!("z-report: {e}")))?;
    let f = &c.figures;
    let close = [
        Val::from(timestamp_text(c.closed_at)),
        Val::from(c.staff_id.map(|u| u.to_string())),
        Val::from(&c.actor),
        Val::from(c.approved_by.map(|u| u.to_string())),
        Val::from(event_id),
        Val::from(report),
        Val::from(f.counted_q),
        Val::from(f.expected_cash_q),
        Val::from(f.difference_q),
    ];
    let s = &mut page.shifts;
    match s.queued.get(&id) {
        Some(row) => {
            for (i, v) in close.into_iter().enumerate() {
                s.shift_rows.set(*row, SHIFT_CLOSE + i, v);
            }
        }
        None => {
            tx.exec(
                "UPDATE shifts SET closed_at = $1, closed_by = $2, closed_actor = $3, \
                 approved_by = $4, close_event_id = $5, z_report = $6, counted_q = $7, \
                 expected_q = $8, difference_q = $9 WHERE shift_id = $10",
                &[&close[..], &[Val::from(id)]].concat(),
            )
            .await?;
        }
    }
    if let Some(state) = s.known.get_mut(&id) {
        state.open = false;
    }
    if s.open == Some(id) {
        s.open = None;
    }
    Ok(None)
}
