//! Permissions: may the staff member acting do this, or has a manager approved it by PIN?
//!
//! A check (`authorize`) runs inside the transaction of the action it guards, so no caller
//! can skip it: when the acting member's role has the permission (`cashier_permissions`,
//! `manager_permissions`) the action goes ahead with no approver; else the approval PIN offered
//! to the handle ([`crate::Book::set_approval_pin`]) must belong to an active member whose role
//! has it, who is then recorded as `approved_by`; else `permission_denied`, naming the
//! permission. A PIN that is nobody's is `invalid_pin` and counts as a wrong PIN ([`super::pin`]);
//! while PINs are locked, `pin_locked`.
//!
//! Guarded: refunds (`refund`), cancelling an order with approved payments (`cancel_paid`), an
//! order discount above `max_discount_pct` of the subtotal (`large_discount`, at
//! `set_discount` and again at commit), cash out (`cash_out`), opening the drawer without a
//! sale (`no_sale`), closing a shift with a difference above `close_difference_threshold`
//! (`close_with_difference`).

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tillbook_protocol::staff::{Permission, Role};
use uuid::Uuid;

use super::{pin, Who};
use crate::error::{Error, ErrorCode, Result};
use crate::settings;

/// What each permission allows, for messages.
fn action(p: Permission) -> &'static str {
    match p {
        Permission::Refund => "giving money back",
        Permission::CancelPaid => "cancelling a paid order",
        Permission::LargeDiscount => "a discount this large",
        Permission::CashOut => "taking cash out of the drawer",
        Permission::NoSale => "opening the drawer without a sale",
        Permission::CloseWithDifference => "closing with this difference",
    }
}

fn denied(p: Permission, who: &str) -> Error {
    Error::new(
        ErrorCode::PermissionDenied,
        format!("{} needs the {} permission (a manager's PIN); {who} does not have it", action(p), p.as_str()),
    )
}

/// Whether an order discount is above `max_bp` of the subtotal (and so needs `large_discount`).
pub(crate) fn large_discount(subtotal_q: i64, discount_q: i64, max_bp: i64) -> bool {
    (discount_q as i128) * (tillbook_protocol::tax::RATE_SCALE as i128) > (subtotal_q as i128) * (max_bp as i128)
}

/// Whether a role has a permission here, read in the caller's transaction.
pub(crate) fn has(conn: &Connection, role: Role, p: Permission) -> Result<bool> {
    Ok(settings::permissions(conn, role)?.contains(&p))
}

/// Checks a permission for `who` (see the module): `Ok(None)` when their role has it,
/// `Ok(Some(approver))` when the approval PIN is an active member's whose role has it.
pub(crate) fn authorize(
    conn: &Connection,
    who: &Who,
    p: Permission,
    approval_pin: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    if has(conn, who.role, p)? {
        return Ok(None);
    }
    let Some(pin) = approval_pin else {
        return Err(denied(p, &who.name));
    };
    pin::check_unlocked(conn, now)?;
    let allowed: Vec<Role> = Role::ALL.into_iter().filter(|r| has(conn, *r, p).unwrap_or(false)).collect();
    match pin::holder(conn, pin, &allowed)? {
        None => Err(Error::new(ErrorCode::InvalidPin, "wrong PIN")),
        Some(h) => {
            pin::reset(conn)?;
            if allowed.contains(&h.role) {
                Ok(Some(h.staff_id))
            } else {
                Err(denied(p, &format!("{} (whose PIN was given)", h.name)))
            }
        }
    }
}
