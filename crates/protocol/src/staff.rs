//! Staff members, their roles and what each role may do.
//!
//! Staff are managed in the back office and pulled by the tills ([`crate::sync::Change::Staff`]),
//! PIN hashes included so a till can check a PIN offline. A PIN only ever travels as an argon2
//! PHC string (`$argon2id$…`), never in clear, and never in an outbox event: events name the
//! staff member by id.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A staff member as the back office publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRecord {
    pub staff_id: Uuid,
    pub name: String,
    pub role: Role,
    /// The PIN's argon2id hash in PHC format; the PIN itself is never stored.
    pub pin_hash: String,
    pub active: bool,
}

/// A role: a named permission set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    Manager,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Cashier, Role::Manager];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The permissions a role has unless the store configures otherwise: a manager may do
    /// everything, a cashier none of the sensitive actions.
    pub fn default_permissions(self) -> &'static [Permission] {
        match self {
            Role::Manager => &Permission::ALL,
            Role::Cashier => &[],
        }
    }
}

/// A sensitive action that needs a permission (a manager's PIN for a cashier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Give money back on an order.
    Refund,
    /// Cancel an order that has approved payments.
    CancelPaid,
    /// An order discount above the store's configured percentage.
    LargeDiscount,
    /// Take cash out of the drawer.
    CashOut,
    /// Open the drawer without a sale.
    NoSale,
    /// Close a shift whose counted cash differs from the expected by more than the threshold.
    CloseWithDifference,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::Refund,
        Permission::CancelPaid,
        Permission::LargeDiscount,
        Permission::CashOut,
        Permission::NoSale,
        Permission::CloseWithDifference,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Refund => "refund",
            Permission::CancelPaid => "cancel_paid",
            Permission::LargeDiscount => "large_discount",
            Permission::CashOut => "cash_out",
            Permission::NoSale => "no_sale",
            Permission::CloseWithDifference => "close_with_difference",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
