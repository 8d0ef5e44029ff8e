//! The staff methods of [`Store`]: a PIN is checked against the other active staff's PIN
//! hashes and hashed on a blocking thread, outside any transaction (argon2 is slow by
//! design); the write then runs in one transaction, which writes nothing when the active
//! hashes changed meanwhile, and the check runs again.

use uuid::Uuid;

use super::Store;
use crate::error::{Error, Result};
use crate::pin;
use crate::service::staff::{self, CreateStaff, PatchStaff};
use crate::service::{NewStaff, Op, Reply, StaffChange, StaffInfo};

/// Times a PIN is checked again when the active staff changed under it.
const ATTEMPTS: usize = 5;

impl Store {
    pub async fn staff(&self) -> Result<Vec<StaffInfo>> {
        expect!(self.run(Op::ListStaff).await?, Staff)
    }

    /// The active staff's PIN hashes but `except`'s (404 `unknown_staff` when it is missing).
    async fn active_pins(&self, except: Option<Uuid>) -> Result<staff::ActivePins> {
        expect!(self.run(Op::ActivePins { except }).await?, Pins)
    }

    /// `pin` hashed, once it is checked against the active staff's PINs (but `except`'s):
    /// the hash and the PIN hashes it was checked against.
    async fn hash_new_pin(
        &self,
        pin: &str,
        except: Option<Uuid>,
    ) -> Result<(String, staff::ActivePins)> {
        let taken = self.active_pins(except).await?;
        let hashes = taken.iter().map(|(_, h)| h.clone()).collect();
        let hash = pin::hash_unless_taken(pin.to_string(), hashes).await?;
        Ok((hash, taken))
    }

    /// `POST /v1/admin/staff`: a new active staff member (400 `invalid_role`, `invalid_pin`;
    /// 409 `pin_in_use`).
    pub async fn create_staff(&self, body: CreateStaff) -> Result<StaffInfo> {
        let name = staff::check_name(&body.name)?;
        let role = staff::parse_role(&body.role)?;
        let pin = staff::parse_pin(&body.pin)?;
        let staff_id = Uuid::now_v7();
        for _ in 0..ATTEMPTS {
            let (pin_hash, checked) = self.hash_new_pin(&pin, None).await?;
            let new = NewStaff {
                staff_id,
                name: name.clone(),
                role,
                pin_hash,
                checked,
            };
            if let Some(info) = expect!(self.run(Op::CreateStaff(new)).await?, StaffWritten)? {
                return Ok(info);
            }
        }
        Err(busy())
    }

    /// `PATCH /v1/admin/staff/{id}`: what the body names changes (404 `unknown_staff`).
    pub async fn update_staff(&self, id: &str, body: PatchStaff) -> Result<StaffInfo> {
        let staff_id = staff::parse_id(id)?;
        let name = body.name.as_deref().map(staff::check_name).transpose()?;
        let role = body.role.as_ref().map(staff::parse_role).transpose()?;
        let pin = body.pin.as_ref().map(staff::parse_pin).transpose()?;
        for _ in 0..ATTEMPTS {
            let pin = match &pin {
                Some(p) => Some(self.hash_new_pin(p, Some(staff_id)).await?),
                None => None,
            };
            let change = StaffChange {
                staff_id,
                name: name.clone(),
                role,
                pin,
                active: body.active,
            };
            if let Some(info) = expect!(self.run(Op::UpdateStaff(change)).await?, StaffWritten)? {
                return Ok(info);
            }
        }
        Err(busy())
    }
}

fn busy() -> Error {
    Error::Storage("the staff list kept changing while a PIN was checked; try again".into())
}
