//! Channels as they travel: status flow, pricing policy and edit policy. The order book
//! stores them; the server hands them out in pull answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "internal" => Some(PricingPolicy::Internal),
            "external" => Some(PricingPolicy::External),
            "mixed" => Some(PricingPolicy::Mixed),
            _ => None,
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
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "free" => Some(EditPolicy::Free),
            "append_only" => Some(EditPolicy::AppendOnly),
            _ => None,
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
