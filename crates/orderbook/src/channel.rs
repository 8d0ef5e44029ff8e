//! Channels: each carries its order status flow, pricing policy and edit policy.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{err, Error, ErrorCode, Result};

/// Where a line's unit price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingPolicy {
    /// The caller gives the price on every line.
    Internal,
    /// The catalog gives the price; a caller's price is refused.
    External,
    /// The caller may give a price; otherwise the catalog's.
    Mixed,
}

impl PricingPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PricingPolicy::Internal => "internal",
            PricingPolicy::External => "external",
            PricingPolicy::Mixed => "mixed",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "internal" => Ok(PricingPolicy::Internal),
            "external" => Ok(PricingPolicy::External),
            "mixed" => Ok(PricingPolicy::Mixed),
            _ => err(ErrorCode::Storage, format!("unknown pricing policy {s:?}")),
        }
    }
}

/// What may change in an open session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditPolicy {
    /// Lines may be added, changed and removed.
    Free,
    /// Lines may be added and quantities raised, never lowered or removed (a kitchen tab).
    AppendOnly,
}

impl EditPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            EditPolicy::Free => "free",
            EditPolicy::AppendOnly => "append_only",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "free" => Ok(EditPolicy::Free),
            "append_only" => Ok(EditPolicy::AppendOnly),
            _ => err(ErrorCode::Storage, format!("unknown edit policy {s:?}")),
        }
    }
}

/// An order status flow: the statuses, the allowed moves, and the statuses that end an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub initial: String,
    pub transitions: BTreeMap<String, Vec<String>>,
    pub terminal: Vec<String>,
    /// The status an order reaches by itself when every item is final.
    pub completed: String,
    /// The status of a cancelled order.
    pub cancelled: String,
}

impl Flow {
    /// The default in-store flow: new → confirmed → processing → ready → completed, cancelled
    /// from any non-terminal status; completed, cancelled and refunded end an order.
    pub fn in_store() -> Self {
        let chain = ["new", "confirmed", "processing", "ready", "completed"];
        let mut transitions = BTreeMap::new();
        for pair in chain.windows(2) {
            transitions.insert(pair[0].to_string(), vec![pair[1].to_string(), "cancelled".to_string()]);
        }
        Flow {
            initial: "new".into(),
            transitions,
            terminal: vec!["completed".into(), "cancelled".into(), "refunded".into()],
            completed: "completed".into(),
            cancelled: "cancelled".into(),
        }
    }

    pub fn is_terminal(&self, status: &str) -> bool {
        self.terminal.iter().any(|s| s == status)
    }

    pub fn allows(&self, from: &str, to: &str) -> bool {
        !self.is_terminal(from)
            && self.transitions.get(from).is_some_and(|tos| tos.iter().any(|t| t == to))
    }

    /// Every status the flow names, in the order a walk from the initial status meets them.
    pub fn statuses(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![self.initial.clone()];
        let mut i = 0;
        while i < out.len() {
            for to in self.transitions.get(&out[i]).into_iter().flatten() {
                if !out.contains(to) {
                    out.push(to.clone());
                }
            }
            i += 1;
        }
        for s in self.transitions.keys().chain(self.terminal.iter()) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// A sales channel (`pos`, `delivery`, `web`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub code: String,
    pub name: String,
    pub flow: Flow,
    pub pricing: PricingPolicy,
    pub edit_policy: EditPolicy,
}

impl Channel {
    /// The in-store channel every book starts with.
    pub fn pos() -> Self {
        Channel {
            code: "pos".into(),
            name: "In store".into(),
            flow: Flow::in_store(),
            pricing: PricingPolicy::Mixed,
            edit_policy: EditPolicy::Free,
        }
    }
}

pub(crate) fn upsert(conn: &Connection, ch: &Channel) -> Result<()> {
    let flow = serde_json::to_string(&ch.flow).expect("flow serialises");
    conn.execute(
        "INSERT INTO channels(code, name, flow, pricing, edit_policy) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(code) DO UPDATE SET name = excluded.name, flow = excluded.flow,
             pricing = excluded.pricing, edit_policy = excluded.edit_policy",
        (&ch.code, &ch.name, flow, ch.pricing.as_str(), ch.edit_policy.as_str()),
    )?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, code: &str) -> Result<Channel> {
    let row = conn
        .query_row(
            "SELECT code, name, flow, pricing, edit_policy FROM channels WHERE code = ?1",
            [code],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((code, name, flow, pricing, edit)) = row else {
        return err(ErrorCode::UnknownChannel, format!("no channel {code:?}"));
    };
    let flow: Flow = serde_json::from_str(&flow)
        .map_err(|e| Error::new(ErrorCode::Storage, format!("channel {code}: bad flow: {e}")))?;
    Ok(Channel {
        code,
        name,
        flow,
        pricing: PricingPolicy::parse(&pricing)?,
        edit_policy: EditPolicy::parse(&edit)?,
    })
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<Channel>> {
    let mut stmt = conn.prepare("SELECT code FROM channels ORDER BY code")?;
    let codes: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    codes.iter().map(|c| get(conn, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_store_flow_moves_forward_and_cancels_from_any_open_status() {
        let f = Flow::in_store();
        assert!(f.allows("new", "confirmed"));
        assert!(f.allows("ready", "completed"));
        assert!(f.allows("processing", "cancelled"));
        assert!(!f.allows("new", "ready"));
        assert!(!f.allows("completed", "cancelled"));
        assert!(!f.allows("cancelled", "new"));
        assert!(f.is_terminal("refunded"));
        assert_eq!(
            f.statuses(),
            ["new", "confirmed", "cancelled", "processing", "ready", "completed", "refunded"]
        );
    }
}
