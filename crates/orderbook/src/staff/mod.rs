//! Staff at the till: who is signed in, who did what, and what they may do.
//!
//! Staff members come from the back office (pulled, `origin = server`, PIN hashes included so a
//! PIN is checked offline) or are made at this till (`origin = local`): every book has a
//! **default cashier** ("Cashier", no PIN) who acts whenever nobody is signed in, a demo book
//! also a manager ("Manager", PIN `1234`), and a till that is not enrolled may add its own
//! ([`Book::add_local_staff`]). When the first staff member arrives from the server, the local
//! ones other than the default cashier are deactivated: the back office decides from then on.
//!
//! **Signing in** ([`Book::staff_login`]) keeps the member's id in the book (`meta`), so it is
//! a session for the data directory: every process on the book acts as that member until
//! [`Book::staff_logout`]. A member deactivated meanwhile is signed out.
//!
//! **Every event records who**: the signed-in member's id and name, read in the transaction
//! that writes the event. Sensitive actions check a `Permission` ([`permit`]).
//! PINs: [`pin`].

pub mod permit;
pub mod pin;
#[cfg(test)]
mod tests;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use tillbook_protocol::staff::{Role, StaffRecord};
use uuid::Uuid;

use crate::clock::fmt_time;
use crate::db::{self, meta_get, meta_set};
use crate::error::{err, Error, ErrorCode, Result};
use crate::{bounds, Book};

/// The name of every book's default cashier.
pub const DEFAULT_CASHIER: &str = "Cashier";
/// The demo book's manager and PIN.
pub const DEMO_MANAGER: &str = "Manager";
pub const DEMO_MANAGER_PIN: &str = "1234";

/// `meta` keys: the default cashier's id, and the member signed in (absent: nobody).
const DEFAULT_KEY: &str = "default_cashier";
const SIGNED_IN_KEY: &str = "signed_in_staff";

/// A staff member as the till shows it (never the PIN or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffView {
    pub staff_id: Uuid,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub has_pin: bool,
    /// `local` (made at this till) or `server` (pulled from the back office).
    pub origin: String,
}

/// Who acts: the signed-in member, or the default cashier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Who {
    pub staff_id: Uuid,
    pub name: String,
    pub role: Role,
}

const COLUMNS: &str = "staff_id, name, role, active, pin_hash IS NOT NULL, origin";

fn view(r: &rusqlite::Row<'_>) -> rusqlite::Result<StaffView> {
    let (id, role): (String, String) = (r.get(0)?, r.get(2)?);
    Ok(StaffView {
        staff_id: Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Cashier),
        active: r.get(3)?,
        has_pin: r.get(4)?,
        origin: r.get(5)?,
    })
}

fn get(conn: &Connection, staff_id: &str) -> Result<Option<StaffView>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM staff WHERE staff_id = ?1"))?
        .query_row([staff_id], view)
        .optional()?)
}

fn insert(conn: &Connection, name: &str, role: Role, pin_hash: Option<&str>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    conn.execute(
        "INSERT INTO staff(staff_id, name, role, pin_hash, active, origin, updated_at)
         VALUES (?1, ?2, ?3, ?4, 1, 'local', ?5)",
        rusqlite::params![id.to_string(), name, role.as_str(), pin_hash, fmt_time(chrono::Utc::now())],
    )?;
    Ok(id)
}

/// Makes the default cashier of a book that has none (a new book, or one written before
/// staff existed). Runs when the book is created or opened.
pub(crate) fn ensure_default_cashier(conn: &mut Connection) -> Result<()> {
    if meta_get(conn, DEFAULT_KEY)?.is_some() {
        return Ok(());
    }
    let tx = db::write_tx(conn)?;
    if meta_get(&tx, DEFAULT_KEY)?.is_none() {
        let id = insert(&tx, DEFAULT_CASHIER, Role::Cashier, None)?;
        meta_set(&tx, DEFAULT_KEY, &id.to_string())?;
    }
    tx.commit()?;
    Ok(())
}

/// Who acts now, read in the caller's transaction: the signed-in member while active, else the
/// default cashier.
pub(crate) fn who(conn: &Connection) -> Result<Who> {
    let row: (String, String, String) = conn
        .prepare_cached(
            "SELECT staff_id, name, role FROM staff WHERE staff_id = COALESCE(
                 (SELECT s.staff_id FROM meta m JOIN staff s ON s.staff_id = m.value WHERE m.key = ?1 AND s.active = 1),
                 (SELECT value FROM meta WHERE key = ?2))",
        )?
        .query_row([SIGNED_IN_KEY, DEFAULT_KEY], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .ok_or_else(|| Error::new(ErrorCode::NotABook, "the book has no default cashier"))?;
    Ok(Who { staff_id: Uuid::parse_str(&row.0).unwrap_or_default(), name: row.1, role: Role::parse(&row.2).unwrap_or(Role::Cashier) })
}

/// Adds a local member with a PIN (checked: well formed, not another active member's).
pub(crate) fn add_local(conn: &Connection, name: &str, role: Role, pin: &str) -> Result<StaffView> {
    bounds::text("name", name, 100, false)?;
    pin::check_new(pin)?;
    if pin::holder(conn, pin, &[])?.is_some() {
        return err(ErrorCode::PinInUse, "another active staff member has this PIN: choose another");
    }
    let id = insert(conn, name.trim(), role, Some(&pin::hash(pin)?))?;
    get(conn, &id.to_string())?.ok_or_else(|| Error::new(ErrorCode::Storage, "the new staff member vanished"))
}

/// Applies a staff member pulled from the back office, in the pull's transaction. The first
/// one to arrive deactivates the local staff other than the default cashier. A hash that is not
/// an argon2 PHC string is not kept (the member then has no PIN): nothing but a hash is stored.
pub(crate) fn apply_pulled(conn: &Connection, s: &StaffRecord, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    if bounds::text("staff name", &s.name, 100, false).is_err() {
        return err(ErrorCode::SyncRejected, format!("the server sent staff member {} with an impossible name", s.staff_id));
    }
    let default = meta_get(conn, DEFAULT_KEY)?.unwrap_or_default();
    if s.staff_id.to_string() == default {
        return Ok(());
    }
    let first: bool = conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM staff WHERE origin = 'server')", [], |r| r.get(0))?;
    if first {
        conn.execute("UPDATE staff SET active = 0, updated_at = ?2 WHERE origin = 'local' AND staff_id <> ?1", [&default, &fmt_time(now)])?;
    }
    let hash = Some(s.pin_hash.as_str()).filter(|h| pin::is_hash(h));
    conn.execute(
        "INSERT INTO staff(staff_id, name, role, pin_hash, active, origin, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'server', ?6)
         ON CONFLICT(staff_id) DO UPDATE SET name = excluded.name, role = excluded.role, pin_hash = excluded.pin_hash,
             active = excluded.active, origin = 'server', updated_at = excluded.updated_at",
        rusqlite::params![s.staff_id.to_string(), s.name.trim(), s.role.as_str(), hash, s.active, fmt_time(now)],
    )?;
    Ok(())
}

impl Book {
    /// Signs in the active staff member whose PIN this is, for this data directory (every
    /// process on the book acts as them until [`Book::staff_logout`]).
    ///
    /// Errors: `invalid_pin` (nobody's PIN; answered after a delay that grows with each
    /// consecutive wrong PIN), `pin_locked` (too many wrong PINs in a row; see [`pin`]).
    pub fn staff_login(&mut self, pin: &str) -> Result<StaffView> {
        let now = self.now();
        pin::check_unlocked(&self.conn, now)?;
        let Some(h) = pin::holder(&self.conn, pin, &[])? else {
            return Err(self.pin_failed());
        };
        let tx = db::write_tx(&mut self.conn)?;
        pin::check_unlocked(&tx, now)?;
        meta_set(&tx, SIGNED_IN_KEY, &h.staff_id.to_string())?;
        pin::reset(&tx)?;
        let v = get(&tx, &h.staff_id.to_string())?.ok_or_else(|| Error::new(ErrorCode::Storage, "the staff member vanished"))?;
        tx.commit()?;
        Ok(v)
    }

    /// Signs out: the default cashier acts again.
    pub fn staff_logout(&mut self) -> Result<()> {
        let tx = db::write_tx(&mut self.conn)?;
        tx.execute("DELETE FROM meta WHERE key = ?1", [SIGNED_IN_KEY])?;
        tx.commit()?;
        Ok(())
    }

    /// The staff member who acts now: the one signed in, else the default cashier.
    pub fn whoami(&self) -> Result<StaffView> {
        let w = who(&self.conn)?;
        get(&self.conn, &w.staff_id.to_string())?.ok_or_else(|| Error::new(ErrorCode::Storage, "the staff member vanished"))
    }

    /// Every staff member this till knows, active or not, by name.
    pub fn staff_list(&self) -> Result<Vec<StaffView>> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM staff ORDER BY name, staff_id"))?;
        let rows = stmt.query_map([], view)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds a staff member at a till that is not enrolled (an enrolled till takes its staff from
    /// the back office: `enrolled_till`). Errors: `invalid_pin` (not 4-8 digits), `pin_in_use`
    /// (another active member's PIN), `invalid_argument` (name).
    pub fn add_local_staff(&mut self, name: &str, role: Role, pin: &str) -> Result<StaffView> {
        let tx = db::write_tx(&mut self.conn)?;
        let enrolled: bool = tx.query_row("SELECT server_url IS NOT NULL FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        if enrolled {
            return err(ErrorCode::EnrolledTill, "this till is enrolled: its staff are managed in the back office");
        }
        let v = add_local(&tx, name, role, pin)?;
        tx.commit()?;
        Ok(v)
    }

    /// A manager's PIN offered for the actions this handle performs next (the CLI's `--pin`);
    /// `None` withdraws it. It is checked only when an action needs a permission the staff
    /// member acting lacks (see [`permit`]).
    pub fn set_approval_pin(&mut self, pin: Option<String>) {
        self.approval_pin = pin;
    }

    /// Records a wrong PIN in its own transaction, waits the delay, and returns the error to
    /// answer with (`invalid_pin`).
    pub(crate) fn pin_failed(&mut self) -> Error {
        let now = self.now();
        let recorded = (|| {
            let tx = db::write_tx(&mut self.conn)?;
            let r = pin::record_failure(&tx, now)?;
            tx.commit()?;
            Ok::<_, Error>(r)
        })();
        match recorded {
            Ok((failures, locked)) => {
                self.clock.sleep(pin::delay(failures));
                pin::wrong(failures, locked)
            }
            Err(e) => e,
        }
    }

    /// Runs an action that may check an approval PIN: a wrong one (`invalid_pin` from inside,
    /// where nothing was written) is recorded and answered after the delay.
    pub(crate) fn gated<T>(&mut self, action: impl FnOnce(&mut Book) -> Result<T>) -> Result<T> {
        match action(self) {
            Err(e) if e.code == ErrorCode::InvalidPin => Err(self.pin_failed()),
            other => other,
        }
    }
}
