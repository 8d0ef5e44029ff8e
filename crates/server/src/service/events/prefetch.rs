//! Reading what a push page's events are checked against, in a few statements, before the
//! first of them is applied ([`Page::prefetch`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::Utc;
use tillbook_protocol::events::EventPayload;
use tillbook_protocol::sync::Change;
use uuid::Uuid;

use super::{
    order_id, payments, shifts, stored_uuid, unique, LineState, OrderState, Page, EVENT_COLUMNS,
    LINE_COLUMNS, ORDER_COLUMNS,
};
use crate::error::{Error, Result};
use crate::params;
use crate::service::changelog::CHAIN_SCOPE;
use crate::service::stock::StockBatch;
use crate::storage::sql::{query_keys, query_tuples, timestamp_text, Rows, Tx, Val};

impl Page {
    /// Reads, in a few statements, what `payloads` (the page's decodable events) will be
    /// checked against: everything when `checked`, else what an optimistic page needs.
    pub async fn prefetch<'a, T: Tx>(
        tx: &mut T,
        terminal: Uuid,
        store_id: i64,
        payloads: impl Iterator<Item = &'a EventPayload> + Clone,
        checked: bool,
    ) -> Result<Page> {
        let mut skus: BTreeSet<&str> = BTreeSet::new();
        for p in payloads.clone() {
            skus.extend(p.stock_deltas().iter().map(|d| d.sku.as_str()));
            match p {
                EventPayload::OrderCommitted(o) => {
                    skus.extend(o.lines.iter().map(|l| l.sku.as_str()));
                }
                EventPayload::UniqueHold(h) => {
                    skus.insert(h.sku.as_str());
                }
                _ => {}
            }
        }
        let deltas: BTreeSet<(&str, &str, Uuid)> = if checked {
            payloads
                .clone()
                .flat_map(|p| {
                    p.stock_deltas()
                        .iter()
                        .map(|d| (d.sku.as_str(), d.location.as_str(), d.delta_id))
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        let ids: BTreeSet<Uuid> = payloads
            .clone()
            .filter(|p| checked || !matches!(p, EventPayload::OrderCommitted(_)))
            .filter_map(order_id)
            .collect();
        let new_refs: BTreeSet<&str> = if checked {
            payloads
                .clone()
                .filter_map(|p| match p {
                    EventPayload::OrderCommitted(o) => Some(o.order_ref.as_str()),
                    _ => None,
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        let has_orders = payloads.clone().any(|p| order_id(p).is_some());

        let keys: Vec<Val> = skus.into_iter().map(Val::from).collect();
        let skus = query_keys(
            tx,
            "SELECT p.sku, p.is_unique FROM {keys} CROSS JOIN products p WHERE p.sku = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.bool(1)?)))
        .collect::<Result<_>>()?;
        let keys: Vec<Val> = deltas
            .into_iter()
            .flat_map(|(sku, location, id)| [Val::from(sku), Val::from(location), Val::from(id)])
            .collect();
        let used_deltas = query_tuples(
            tx,
            "SELECT s.sku, s.location, s.delta_id FROM {keys} CROSS JOIN stock_ledger s \
             WHERE s.store_id = $1 AND s.sku = k.column1 AND s.location = k.column2 \
             AND s.delta_id = k.column3",
            params![store_id],
            &["TEXT", "TEXT", "TEXT"],
            &keys,
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, stored_uuid(&r.text(2)?)?)))
        .collect::<Result<_>>()?;

        // Payments and refunds change an order's sums: its row is locked first, so two
        // pages paying or refunding one order are checked one after the other.
        payments::lock_orders(tx, payloads.clone()).await?;
        let keys: Vec<Val> = ids.into_iter().map(Val::from).collect();
        let mut orders: HashMap<Uuid, OrderState> = HashMap::new();
        for r in query_keys(
            tx,
            "SELECT o.order_id, o.store_id, o.order_ref, o.channel, o.status, o.currency, \
             o.total_q, o.paid_q, o.refunded_q FROM {keys} \
             CROSS JOIN orders o WHERE o.order_id = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        {
            orders.insert(
                stored_uuid(&r.text(0)?)?,
                OrderState {
                    store_id: r.i64(1)?,
                    order_ref: r.text(2)?,
                    channel: r.text(3)?,
                    status: r.text(4)?,
                    currency: r.text(5)?,
                    total_q: r.i64(6)?,
                    paid_q: r.i64(7)?,
                    refunded_q: r.i64(8)?,
                    lines: BTreeMap::new(),
                },
            );
        }
        let keys: Vec<Val> = orders.keys().map(|id| Val::from(*id)).collect();
        for r in query_keys(
            tx,
            "SELECT l.order_id, l.line_no, l.sku, l.is_unique, l.status, l.qty, l.gross_q, \
             l.refunded_qty FROM {keys} \
             CROSS JOIN order_lines l WHERE l.order_id = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        {
            if let Some(o) = orders.get_mut(&stored_uuid(&r.text(0)?)?) {
                o.lines.insert(
                    r.i64(1)?,
                    LineState {
                        sku: r.text(2)?,
                        unique: r.bool(3)?,
                        status: r.opt_text(4)?,
                        qty: r.i64(5)?,
                        gross_q: r.i64(6)?,
                        refunded_qty: r.i64(7)?,
                    },
                );
            }
        }
        let money = payments::Money::prefetch(tx, payloads.clone(), checked).await?;
        let shifts =
            shifts::Shifts::prefetch(tx, terminal, store_id, payloads.clone(), checked).await?;
        let keys: Vec<Val> = new_refs.into_iter().map(Val::from).collect();
        let refs = query_keys(
            tx,
            "SELECT o.order_ref, o.order_id FROM {keys} CROSS JOIN orders o \
             WHERE o.terminal_id = $1 AND o.order_ref = k.column1",
            params![terminal],
            "TEXT",
            &keys,
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, stored_uuid(&r.text(1)?)?)))
        .collect::<Result<_>>()?;

        let mut flows = HashMap::new();
        if has_orders {
            for r in tx
                .query(
                    "SELECT body FROM changes WHERE scope = $1 AND change_key LIKE 'channel:%'",
                    params![CHAIN_SCOPE],
                )
                .await?
            {
                let change: Change = serde_json::from_str(&r.text(0)?)
                    .map_err(|e| Error::Internal(format!("stored channel: {e}")))?;
                if let Change::Channel { channel, .. } = change {
                    flows.insert(channel.code, channel.flow);
                }
            }
        }
        let received = Utc::now();
        Ok(Page {
            checked,
            conflict: false,
            store_id,
            skus,
            flows,
            used_deltas,
            orders,
            refs,
            writer: None,
            pending: HashMap::new(),
            order_rows: Rows::new("orders", ORDER_COLUMNS),
            lines: Rows::new("order_lines", LINE_COLUMNS),
            events: Rows::new("order_events", EVENT_COLUMNS),
            money,
            shifts,
            stock: StockBatch::new(store_id),
            unique_touched: BTreeSet::new(),
            holds: unique::Holds::default(),
            received,
            received_at: timestamp_text(received),
            terminal_id: terminal,
            terminal: terminal.to_string(),
            actor: format!("terminal:{terminal}"),
        })
    }
}
