//! Applying one outbox event: orders, their events and stock deltas land in the tables.
//!
//! Every check runs before the first write, so an event is either applied whole or
//! rejected with a reason and leaves no trace but its inbox row (rule 7).
//!
//! A push page is applied event by event, in seq order, but not statement by statement: a
//! [`Page`] reads up front, in a few statements, what its events will be checked against and
//! keeps that view current as its events apply; the rows they write are queued and inserted
//! with multi-row statements (before any statement that reads or updates them, and at the
//! end of the page).
//!
//! A page is first applied *optimistically*: it does not look up the order references and
//! stock delta ids its events bring (new ones, nearly always), and inserts them skipping any
//! already taken. If one was, the caller rolls the page back and applies it again *checked*,
//! every key looked up first, which gives exactly the verdicts of applying the events one by
//! one.

use std::collections::{BTreeSet, HashMap, HashSet};

use tillbook_protocol::events::{
    EventKind, EventPayload, OrderCommitted, OrderItemStatusChanged, OrderStatusChanged, StockDelta,
};
use uuid::Uuid;

use crate::error::Result;
use crate::params;
use crate::service::stock::StockBatch;
use crate::storage::sql::{now_text, query_keys, timestamp_text, Rows, Tx, Val};

/// `None` when applied, `Some(reason)` when the event is a business rejection.
pub type Verdict = Option<String>;

/// An event's payload decoded, or the reason it cannot be (a rejection).
pub fn decode(kind: &str, payload: serde_json::Value) -> std::result::Result<EventPayload, String> {
    let Some(k) = EventKind::parse(kind) else {
        return Err(format!("unknown event kind {kind:?}"));
    };
    EventPayload::from_value(k, payload).map_err(|e| format!("undecodable {kind} payload: {e}"))
}

const ORDER_COLUMNS: &[&str] = &[
    "order_ref",
    "terminal_id",
    "event_id",
    "channel",
    "status",
    "currency",
    "subtotal_q",
    "discount_q",
    "total_q",
    "business_date",
    "committed_at",
    "handle",
    "received_at",
];
const LINE_COLUMNS: &[&str] = &[
    "order_ref",
    "line_no",
    "sku",
    "name",
    "unit_price_q",
    "qty",
    "discount_q",
    "total_q",
    "is_unique",
];
const EVENT_COLUMNS: &[&str] = &[
    "order_ref",
    "event_id",
    "kind",
    "line_no",
    "from_status",
    "to_status",
    "actor",
    "at",
    "reason",
];

/// What the events of one push page are checked against, and the rows they write.
pub struct Page {
    /// Every key looked up first (else optimistic: see the module).
    checked: bool,
    /// Set when an optimistic page found a key taken: its work must be rolled back.
    conflict: bool,
    /// Products that exist, among those the page names (pushes never create products).
    known_skus: HashSet<String>,
    /// Stock delta ids recorded by this page, and (checked) those already in the ledger.
    used_deltas: HashSet<Uuid>,
    /// Owning terminal of each order the page created, and of the existing orders it names
    /// (checked), or that its status changes name (optimistic).
    owners: HashMap<String, String>,
    orders: Rows,
    lines: Rows,
    events: Rows,
    /// Ledger rows and stock sums of the applied events.
    pub stock: StockBatch,
    received_at: String,
    /// The pushing terminal's id as stored, and as the actor of the events it commits.
    terminal: String,
    actor: String,
}

fn order_ref(p: &EventPayload) -> Option<&str> {
    match p {
        EventPayload::OrderCommitted(o) => Some(&o.order_ref),
        EventPayload::OrderStatusChanged(c) => Some(&c.order_ref),
        EventPayload::OrderItemStatusChanged(c) => Some(&c.order_ref),
        EventPayload::StockAdjusted(_) => None,
    }
}

impl Page {
    /// Reads, in a few statements, what `payloads` (the page's decodable events) will be
    /// checked against: everything when `checked`, else what an optimistic page needs.
    pub async fn prefetch<'a, T: Tx>(
        tx: &mut T,
        terminal: Uuid,
        payloads: impl Iterator<Item = &'a EventPayload> + Clone,
        checked: bool,
    ) -> Result<Page> {
        let skus: BTreeSet<&str> = payloads
            .clone()
            .flat_map(|p| p.stock_deltas().iter().map(|d| d.sku.as_str()))
            .collect();
        let deltas: BTreeSet<Uuid> = if checked {
            payloads
                .clone()
                .flat_map(|p| p.stock_deltas().iter().map(|d| d.delta_id))
                .collect()
        } else {
            BTreeSet::new()
        };
        let refs: BTreeSet<&str> = payloads
            .filter(|p| checked || !matches!(p, EventPayload::OrderCommitted(_)))
            .filter_map(order_ref)
            .collect();

        let keys: Vec<Val> = skus.into_iter().map(Val::from).collect();
        let known_skus = query_keys(
            tx,
            "SELECT p.sku FROM {keys} CROSS JOIN products p WHERE p.sku = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_>>()?;
        let keys: Vec<Val> = deltas.into_iter().map(Val::from).collect();
        let used_deltas = query_keys(
            tx,
            "SELECT s.delta_id FROM {keys} CROSS JOIN stock_ledger s WHERE s.delta_id = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        .iter()
        .map(|r| {
            let id = r.text(0)?;
            Uuid::parse_str(&id)
                .map_err(|e| crate::error::Error::Internal(format!("stored delta id {id:?}: {e}")))
        })
        .collect::<Result<_>>()?;
        let keys: Vec<Val> = refs.into_iter().map(Val::from).collect();
        let owners = query_keys(
            tx,
            "SELECT o.order_ref, o.terminal_id FROM {keys} CROSS JOIN orders o \
             WHERE o.order_ref = k.column1",
            &[],
            "TEXT",
            &keys,
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_>>()?;
        Ok(Page {
            checked,
            conflict: false,
            known_skus,
            used_deltas,
            owners,
            orders: Rows::new("orders", ORDER_COLUMNS),
            lines: Rows::new("order_lines", LINE_COLUMNS),
            events: Rows::new("order_events", EVENT_COLUMNS),
            stock: StockBatch::default(),
            received_at: now_text(),
            terminal: terminal.to_string(),
            actor: format!("terminal:{terminal}"),
        })
    }

    /// True when an optimistic page found a key taken: roll back, apply it checked.
    pub fn conflict(&self) -> bool {
        self.conflict
    }

    /// Inserts the queued orders, lines and order events (parents first). An optimistic
    /// page that finds an order reference taken stops there and sets [`Page::conflict`].
    async fn flush_orders<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        if self.conflict {
            return Ok(());
        }
        if self.checked {
            self.orders.flush(tx).await?;
        } else if !self.orders.flush_new(tx, "order_ref").await? {
            self.conflict = true;
            return Ok(());
        }
        self.lines.flush(tx).await?;
        self.events.flush(tx).await
    }

    /// Inserts every queued order and ledger row; the stock levels are left to the caller
    /// (they need the change-log lock). `None` when an optimistic page found a key taken.
    pub async fn finish<T: Tx>(mut self, tx: &mut T) -> Result<Option<StockBatch>> {
        self.flush_orders(tx).await?;
        if self.conflict || !self.stock.flush_ledger(tx, !self.checked).await? {
            return Ok(None);
        }
        Ok(Some(self.stock))
    }

    fn check_deltas(&self, deltas: &[StockDelta]) -> Verdict {
        let mut ids = BTreeSet::new();
        for d in deltas {
            if d.sku.trim().is_empty() || d.location.trim().is_empty() {
                return Some(format!(
                    "stock delta {} has an empty sku or location",
                    d.delta_id
                ));
            }
            if !ids.insert(d.delta_id) {
                return Some(format!("stock delta {} appears twice", d.delta_id));
            }
            if !self.known_skus.contains(&d.sku) {
                return Some(format!("unknown sku {}", d.sku));
            }
            if self.used_deltas.contains(&d.delta_id) {
                return Some(format!("stock delta {} was already recorded", d.delta_id));
            }
        }
        None
    }

    fn owned_order(&self, order_ref: &str) -> Verdict {
        match self.owners.get(order_ref) {
            None => Some(format!("unknown order {order_ref}")),
            Some(owner) if *owner != self.terminal => {
                Some(format!("order {order_ref} belongs to another terminal"))
            }
            Some(_) => None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_event(
        &mut self,
        order_ref: &str,
        event_id: Uuid,
        kind: &str,
        line_no: Option<i64>,
        from: Option<&str>,
        to: Option<&str>,
        actor: &str,
        at: &str,
        reason: Option<&str>,
    ) {
        self.events.push([
            Val::from(order_ref),
            Val::from(event_id),
            Val::from(kind),
            Val::from(line_no),
            Val::from(from),
            Val::from(to),
            Val::from(actor),
            Val::from(at),
            Val::from(reason),
        ]);
    }
}

/// Applies one decoded event of the page (or records why it cannot be).
pub async fn apply<T: Tx>(
    tx: &mut T,
    terminal: Uuid,
    event_id: Uuid,
    decoded: &std::result::Result<EventPayload, String>,
    page: &mut Page,
) -> Result<Verdict> {
    let payload = match decoded {
        Ok(p) => p,
        Err(reason) => return Ok(Some(reason.clone())),
    };
    if let Some(reason) = page.check_deltas(payload.stock_deltas()) {
        return Ok(Some(reason));
    }
    let verdict = match payload {
        EventPayload::OrderCommitted(o) => commit_order(page, event_id, o),
        EventPayload::OrderStatusChanged(c) => change_status(tx, page, event_id, c).await?,
        EventPayload::OrderItemStatusChanged(c) => change_item(tx, page, event_id, c).await?,
        EventPayload::StockAdjusted(_) => None,
    };
    if verdict.is_some() {
        return Ok(verdict);
    }
    for d in payload.stock_deltas() {
        page.used_deltas.insert(d.delta_id);
        page.stock.record(d, Some(terminal), Some(event_id));
    }
    Ok(None)
}

fn commit_order(page: &mut Page, event_id: Uuid, o: &OrderCommitted) -> Verdict {
    if o.order_ref.trim().is_empty() {
        return Some("order_ref is empty".into());
    }
    if o.lines.is_empty() {
        return Some(format!("order {} has no lines", o.order_ref));
    }
    let mut line_nos = BTreeSet::new();
    if let Some(l) = o.lines.iter().find(|l| !line_nos.insert(l.line_no)) {
        return Some(format!("order {} repeats line {}", o.order_ref, l.line_no));
    }
    if page.owners.contains_key(&o.order_ref) {
        return Some(format!(
            "order {} already exists (from another event)",
            o.order_ref
        ));
    }
    let at = timestamp_text(o.committed_at);
    page.orders.push([
        Val::from(&o.order_ref),
        Val::from(page.terminal.as_str()),
        Val::from(event_id),
        Val::from(&o.channel),
        Val::from(&o.status),
        Val::from(&o.currency),
        Val::from(o.subtotal_q),
        Val::from(o.discount_q),
        Val::from(o.total_q),
        Val::from(o.business_date.to_string()),
        Val::from(at.as_str()),
        Val::from(o.handle.clone()),
        Val::from(page.received_at.as_str()),
    ]);
    for l in &o.lines {
        page.lines.push([
            Val::from(&o.order_ref),
            Val::from(i64::from(l.line_no)),
            Val::from(&l.sku),
            Val::from(&l.name),
            Val::from(l.unit_price_q),
            Val::from(l.qty),
            Val::from(l.discount_q),
            Val::from(l.total_q),
            Val::from(l.unique),
        ]);
    }
    page.owners
        .insert(o.order_ref.clone(), page.terminal.clone());
    let actor = std::mem::take(&mut page.actor);
    page.record_event(
        &o.order_ref,
        event_id,
        "order.committed",
        None,
        None,
        Some(&o.status),
        &actor,
        &at,
        None,
    );
    page.actor = actor;
    None
}

async fn change_status<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    c: &OrderStatusChanged,
) -> Result<Verdict> {
    if let Some(reason) = page.owned_order(&c.order_ref) {
        return Ok(Some(reason));
    }
    page.flush_orders(tx).await?;
    tx.exec(
        "UPDATE orders SET status = $1 WHERE order_ref = $2",
        params![&c.to, &c.order_ref],
    )
    .await?;
    let at = timestamp_text(c.at);
    page.record_event(
        &c.order_ref,
        event_id,
        "order.status_changed",
        None,
        Some(&c.from),
        Some(&c.to),
        &c.actor,
        &at,
        c.reason.as_deref(),
    );
    Ok(None)
}

async fn change_item<T: Tx>(
    tx: &mut T,
    page: &mut Page,
    event_id: Uuid,
    c: &OrderItemStatusChanged,
) -> Result<Verdict> {
    if let Some(reason) = page.owned_order(&c.order_ref) {
        return Ok(Some(reason));
    }
    page.flush_orders(tx).await?;
    let line_no = i64::from(c.line_no);
    let changed = tx
        .exec(
            "UPDATE order_lines SET status = $1 WHERE order_ref = $2 AND line_no = $3",
            params![&c.to, &c.order_ref, line_no],
        )
        .await?;
    if changed == 0 {
        return Ok(Some(format!(
            "order {} has no line {}",
            c.order_ref, c.line_no
        )));
    }
    let at = timestamp_text(c.at);
    page.record_event(
        &c.order_ref,
        event_id,
        "order.item_status_changed",
        Some(line_no),
        c.from.as_deref(),
        Some(&c.to),
        &c.actor,
        &at,
        None,
    );
    Ok(None)
}
