//! Staff members, managed in the back office and pulled by every till.
//!
//! A staff member is chain-wide reference data, like a product: each creation or change is
//! written to the chain's change log (`staff:<id>`, a [`Change::Staff`] carrying the PIN's
//! hash so a till can check a PIN offline). The back office never sees a hash.
//!
//! A PIN must not be the PIN of another active staff member, which can only be known by
//! verifying it against their hashes: slow, so it happens outside any transaction
//! ([`crate::storage::Store::create_staff`]). The write then checks, under the chain log's
//! lock (which every staff write takes first), that the active hashes it was checked against
//! are still the active hashes; when they are not, it writes nothing and the caller checks
//! again.

use serde::{Deserialize, Serialize};
use tillbook_protocol::limits::{check_text, MAX_TEXT};
use tillbook_protocol::staff::{Role, StaffRecord};
use tillbook_protocol::sync::Change;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::{staff_key, ChangeWriter, CHAIN_SCOPE};
use crate::service::terminals::parse_uuid;
use crate::storage::sql::{now_text, Row, Tx};

/// `POST /v1/admin/staff` body. `role` and `pin` are read as any JSON value so a wrong one
/// gets its own code (`invalid_role`, `invalid_pin`), not a generic shape error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    pub name: String,
    pub role: serde_json::Value,
    pub pin: serde_json::Value,
}

/// `PATCH /v1/admin/staff/{id}` body: what changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchStaff {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<serde_json::Value>,
    #[serde(default)]
    pub pin: Option<serde_json::Value>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// A staff member as the back office sees it (never the PIN's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInfo {
    pub staff_id: Uuid,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The active staff's PIN hashes a new PIN was checked against, by staff id.
pub type ActivePins = Vec<(Uuid, String)>;

/// A staff member to create: the PIN already hashed and checked against `checked`.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub staff_id: Uuid,
    pub name: String,
    pub role: Role,
    pub pin_hash: String,
    pub checked: ActivePins,
}

/// A change to a staff member; with a new PIN, its hash and the hashes it was checked against.
#[derive(Debug, Clone)]
pub struct StaffChange {
    pub staff_id: Uuid,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub pin: Option<(String, ActivePins)>,
    pub active: Option<bool>,
}

/// A name: 1 to 500 characters, trimmed (422 `invalid_body` otherwise, as a store's name).
pub fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if let Some(why) = check_text("name", name, MAX_TEXT, false) {
        return Err(Error::InvalidBody(why));
    }
    Ok(name.to_string())
}

/// `cashier` or `manager` (400 `invalid_role` otherwise).
pub fn parse_role(v: &serde_json::Value) -> Result<Role> {
    v.as_str()
        .and_then(Role::parse)
        .ok_or_else(|| Error::InvalidRole(v.as_str().map_or_else(|| v.to_string(), String::from)))
}

/// A PIN given as a JSON string of 4 to 8 digits (400 `invalid_pin` otherwise).
pub fn parse_pin(v: &serde_json::Value) -> Result<String> {
    let Some(pin) = v.as_str() else {
        return Err(Error::InvalidPin(
            "a PIN is a string of 4 to 8 digits (0-9)".into(),
        ));
    };
    crate::pin::check(pin)?;
    Ok(pin.to_string())
}

/// A staff id from a path: not a UUID is an unknown staff member.
pub fn parse_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| Error::UnknownStaff(id.to_string()))
}

const COLUMNS: &str = "staff_id, name, role, pin_hash, active, created_at, updated_at";

/// A stored row with its hash.
struct Stored {
    record: StaffRecord,
    created_at: String,
    updated_at: String,
}

impl Stored {
    fn from_row(r: &Row) -> Result<Stored> {
        let role = r.text(2)?;
        Ok(Stored {
            record: StaffRecord {
                staff_id: parse_uuid(&r.text(0)?)?,
                name: r.text(1)?,
                role: Role::parse(&role)
                    .ok_or_else(|| Error::Internal(format!("stored role {role:?}")))?,
                pin_hash: r.text(3)?,
                active: r.bool(4)?,
            },
            created_at: r.text(5)?,
            updated_at: r.text(6)?,
        })
    }

    fn info(&self) -> StaffInfo {
        StaffInfo {
            staff_id: self.record.staff_id,
            name: self.record.name.clone(),
            role: self.record.role,
            active: self.record.active,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

/// Every staff member, by name then id.
pub async fn list<T: Tx>(tx: &mut T) -> Result<Vec<StaffInfo>> {
    let sql = format!("SELECT {COLUMNS} FROM staff ORDER BY name, staff_id");
    tx.query(&sql, params![])
        .await?
        .iter()
        .map(|r| Stored::from_row(r).map(|s| s.info()))
        .collect()
}

/// The PIN hashes of the active staff, but `except`'s (which must exist: 404
/// `unknown_staff`), by staff id.
pub async fn active_pins<T: Tx>(tx: &mut T, except: Option<Uuid>) -> Result<ActivePins> {
    if let Some(id) = except {
        let known = tx
            .query_opt("SELECT 1 FROM staff WHERE staff_id = $1", params![id])
            .await?;
        if known.is_none() {
            return Err(Error::UnknownStaff(id.to_string()));
        }
    }
    let rows = tx
        .query(
            "SELECT staff_id, pin_hash FROM staff WHERE active = 1 ORDER BY staff_id",
            params![],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id = parse_uuid(&r.text(0)?)?;
        if Some(id) != except {
            out.push((id, r.text(1)?));
        }
    }
    Ok(out)
}

/// Writes `s` and its change-log entry: `None` (nothing written) when the active PINs are no
/// longer those it was checked against.
pub async fn create<T: Tx>(tx: &mut T, s: &NewStaff) -> Result<Option<StaffInfo>> {
    let mut writer = ChangeWriter::begin(tx, CHAIN_SCOPE).await?;
    if active_pins(tx, None).await? != s.checked {
        return Ok(None);
    }
    let now = now_text();
    let stored = Stored {
        record: StaffRecord {
            staff_id: s.staff_id,
            name: s.name.clone(),
            role: s.role,
            pin_hash: s.pin_hash.clone(),
            active: true,
        },
        created_at: now.clone(),
        updated_at: now,
    };
    tx.exec(
        &format!("INSERT INTO staff ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        params![
            s.staff_id,
            &s.name,
            s.role.as_str(),
            &s.pin_hash,
            true,
            &stored.created_at,
            &stored.updated_at
        ],
    )
    .await?;
    log(tx, &mut writer, &stored.record).await?;
    writer.finish(tx).await?;
    Ok(Some(stored.info()))
}

/// Applies `c` (404 `unknown_staff` when there is no such member): `None` (nothing written)
/// when a new PIN's check is stale. A change that changes nothing is not logged again.
pub async fn update<T: Tx>(tx: &mut T, c: &StaffChange) -> Result<Option<StaffInfo>> {
    let mut writer = ChangeWriter::begin(tx, CHAIN_SCOPE).await?;
    let row = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM staff WHERE staff_id = $1"),
            params![c.staff_id],
        )
        .await?
        .ok_or_else(|| Error::UnknownStaff(c.staff_id.to_string()))?;
    let mut stored = Stored::from_row(&row)?;
    if let Some((_, checked)) = &c.pin {
        if active_pins(tx, Some(c.staff_id)).await? != *checked {
            return Ok(None);
        }
    }
    let before = stored.record.clone();
    let r = &mut stored.record;
    if let Some(name) = &c.name {
        r.name = name.clone();
    }
    if let Some(role) = c.role {
        r.role = role;
    }
    if let Some((hash, _)) = &c.pin {
        r.pin_hash = hash.clone();
    }
    if let Some(active) = c.active {
        r.active = active;
    }
    if stored.record != before {
        stored.updated_at = now_text();
        let r = &stored.record;
        tx.exec(
            "UPDATE staff SET name = $1, role = $2, pin_hash = $3, active = $4, updated_at = $5 \
             WHERE staff_id = $6",
            params![
                &r.name,
                r.role.as_str(),
                &r.pin_hash,
                r.active,
                &stored.updated_at,
                r.staff_id
            ],
        )
        .await?;
        log(tx, &mut writer, &stored.record).await?;
    }
    writer.finish(tx).await?;
    Ok(Some(stored.info()))
}

async fn log<T: Tx>(tx: &mut T, writer: &mut ChangeWriter, r: &StaffRecord) -> Result<()> {
    let change = Change::Staff {
        version: 0,
        staff: r.clone(),
    };
    writer.append(tx, &staff_key(r.staff_id), change).await?;
    Ok(())
}

/// Names of the staff members among `ids` that the server knows, by id (for listings that
/// show who did something: the name when known, else what the till recorded).
pub async fn names<T: Tx>(
    tx: &mut T,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>> {
    let keys: std::collections::BTreeSet<Uuid> = ids.into_iter().collect();
    let keys: Vec<crate::storage::sql::Val> = keys.into_iter().map(Into::into).collect();
    crate::storage::sql::query_keys(
        tx,
        "SELECT s.staff_id, s.name FROM {keys} CROSS JOIN staff s WHERE s.staff_id = k.column1",
        &[],
        "TEXT",
        &keys,
    )
    .await?
    .iter()
    .map(|r| Ok((parse_uuid(&r.text(0)?)?, r.text(1)?)))
    .collect()
}
