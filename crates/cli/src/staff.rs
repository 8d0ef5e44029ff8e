//! `tillbook staff`: sign in and out, and the till's staff.

use serde_json::json;
use tillbook_orderbook::{Book, Error, ErrorCode, Result, StaffView};
use tillbook_protocol::staff::Role;

use crate::args::StaffCmd;
use crate::render::table;
use crate::run::Out;

fn described(v: &StaffView) -> String {
    format!("{} ({})", v.name, v.role.as_str())
}

pub fn staff(book: &mut Book, c: StaffCmd) -> Result<Out> {
    let (json, text) = match c {
        StaffCmd::Login { pin } => {
            let v = book.staff_login(&pin)?;
            let text = format!("Signed in: {}", described(&v));
            (json!({"staff": v}), text)
        }
        StaffCmd::Logout => {
            book.staff_logout()?;
            let v = book.whoami()?;
            let text = format!("Signed out; {} is at the till", described(&v));
            (json!({"staff": v}), text)
        }
        StaffCmd::Whoami => {
            let v = book.whoami()?;
            let text = described(&v);
            (json!({"staff": v}), text)
        }
        StaffCmd::List => {
            let list = book.staff_list()?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|v| {
                    vec![
                        v.name.clone(),
                        v.role.as_str().to_string(),
                        if v.active { "active" } else { "inactive" }.to_string(),
                        if v.has_pin { "yes" } else { "no" }.to_string(),
                        v.origin.clone(),
                        v.staff_id.to_string(),
                    ]
                })
                .collect();
            let text = table(&["NAME", "ROLE", "STATE", "PIN", "FROM", "ID"], &rows, &[]);
            (json!({"staff": list}), text)
        }
        StaffCmd::Add { name, role, new_pin } => {
            let role = Role::parse(&role)
                .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("role {role:?} is not cashier or manager")))?;
            let v = book.add_local_staff(&name, role, &new_pin)?;
            let text = format!("Added {}", described(&v));
            (json!({"staff": v}), text)
        }
    };
    Ok(Out { json, text, failed: None })
}
