//! The operations that change a session: open, lines, quantities, discounts, note, abandon,
//! check. Each is one transaction.

use chrono::Duration;
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::{
    find_line, issues, line_view, load_lines, load_row, require_open, totals, touch, validate_handle, CheckResult,
    LineRow, LineView, SessionView, Severity,
};
use crate::catalog;
use crate::channel::{self, EditPolicy, PricingPolicy};
use crate::clock::fmt_time;
use crate::error::{err, Error, ErrorCode, Result};
use crate::staff::{self, permit};
use crate::stock::{self, UniqueState};
use crate::{bounds, db, Book};
use tillbook_protocol::staff::Permission;

impl Book {
    /// Opens a session on a channel (default `pos`), optionally owned by a handle.
    pub fn open_session(&mut self, handle: Option<&str>, channel: Option<&str>) -> Result<SessionView> {
        if let Some(h) = handle {
            validate_handle(h)?;
        }
        let now = self.now();
        let key = Uuid::now_v7().to_string();
        let tx = db::write_tx(&mut self.conn)?;
        let ch = channel::get(&tx, channel.unwrap_or("pos"))?;
        if let Some(h) = handle {
            let holder: Option<String> = tx
                .query_row("SELECT session_key FROM sessions WHERE handle = ?1 AND state = 'open'", [h], |r| r.get(0))
                .optional()?;
            if let Some(holder) = holder {
                return err(ErrorCode::HandleInUse, format!("{h} already has open session {holder}"));
            }
        }
        tx.execute(
            "INSERT INTO sessions(session_key, channel, handle, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'open', ?4, ?4)",
            rusqlite::params![key, ch.code, handle, fmt_time(now)],
        )?;
        tx.commit()?;
        self.session(&key)
    }

    /// Adds `qty` of a product (by SKU or barcode). The price comes from the caller or the
    /// catalog as the channel's pricing policy says. Scanning the same product again raises
    /// the quantity of its line.
    pub fn add_line(&mut self, key: &str, sku: &str, qty: i64, unit_price_q: Option<i64>) -> Result<LineView> {
        bounds::qty(qty)?;
        if let Some(p) = unit_price_q {
            bounds::price(p)?;
        }
        bounds::text("sku", sku, bounds::MAX_CODE, false)?;
        let now = self.now();
        let (location, ttl) = (self.settings.location.clone(), self.settings.hold_ttl_secs);
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        let ch = channel::get(&tx, &row.channel)?;
        let p = catalog::resolve(&tx, sku)?;
        if !p.active {
            return err(ErrorCode::ProductInactive, format!("{} ({}) is not for sale", p.name, p.sku));
        }
        let (price, source) = match (ch.pricing, unit_price_q) {
            (PricingPolicy::Internal, None) => {
                return err(ErrorCode::PriceRequired, format!("channel {} needs a unit price on every line", ch.code))
            }
            (PricingPolicy::External, Some(_)) => {
                return err(ErrorCode::PriceNotAllowed, format!("channel {} takes prices from the catalog only", ch.code))
            }
            (_, Some(given)) => (given, "caller"),
            (_, None) => (p.price_q, "catalog"),
        };
        let lines = load_lines(&tx, key)?;
        if p.unique {
            if qty != 1 || lines.iter().any(|l| l.sku == p.sku) {
                return err(ErrorCode::InvalidQuantity, format!("{} is one of a kind: one per session", p.name));
            }
            let state = stock::unique_state(&tx, &p, &location, now, Some(key))?;
            if state != UniqueState::Available {
                let what = match state {
                    UniqueState::Sold => "already sold",
                    _ if p.reserved_elsewhere(now) => "reserved at another till",
                    _ => "reserved by another session",
                };
                return err(ErrorCode::UniqueUnavailable, format!("{} is {what}", p.name));
            }
        }
        let same = lines.iter().position(|l| {
            l.sku == p.sku && l.price_source == source && l.unit_price_q == price && l.discount_q == 0 && l.flags.is_empty()
        });
        let mut after = lines;
        let line = match same {
            Some(i) => {
                let l = &mut after[i];
                l.qty = l.qty.checked_add(qty).ok_or_else(|| Error::new(ErrorCode::InvalidQuantity, "quantity too large"))?;
                bounds::qty(l.qty)?;
                l.clone()
            }
            None => {
                if after.len() >= bounds::MAX_LINES {
                    return err(ErrorCode::InvalidArgument, format!("a session holds at most {} lines", bounds::MAX_LINES));
                }
                after.push(LineRow {
                    line_id: format!("L{}", row.next_line),
                    sku: p.sku.clone(),
                    name: p.name.clone(),
                    unit_price_q: price,
                    price_source: source.to_string(),
                    qty,
                    discount_q: 0,
                    flags: Vec::new(),
                });
                after[after.len() - 1].clone()
            }
        };
        // Refuse amounts that do not fit before writing anything.
        line.gross_q()?;
        totals(&after, 0)?;
        if same.is_some() {
            tx.execute(
                "UPDATE session_lines SET qty = ?3 WHERE session_key = ?1 AND line_id = ?2",
                rusqlite::params![key, line.line_id, line.qty],
            )?;
        } else {
            tx.execute(
                "INSERT INTO session_lines(session_key, line_id, position, sku, name, unit_price_q, price_source, qty)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![key, line.line_id, row.next_line, p.sku, p.name, price, source, qty],
            )?;
            tx.execute("UPDATE sessions SET next_line = next_line + 1 WHERE session_key = ?1", [key])?;
        }
        let expires_at = now + Duration::seconds(ttl);
        stock::hold(&tx, key, &line.line_id, &p.sku, &location, line.qty, expires_at)?;
        if p.unique {
            // Always a new line (one per session): tell the other tills it is held.
            stock::report_unique_hold(&tx, &p.sku, key, Some(expires_at), now)?;
        }
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        line_view(&line)
    }

    /// Sets a line's quantity (at least 1; use [`Book::remove_line`] to drop it).
    pub fn set_quantity(&mut self, key: &str, line_id: &str, qty: i64) -> Result<LineView> {
        if qty <= 0 {
            return err(ErrorCode::InvalidQuantity, format!("quantity must be at least 1 (got {qty}); remove the line instead"));
        }
        bounds::qty(qty)?;
        self.edit_line(key, line_id, |line, edit| {
            if qty < line.qty && edit == EditPolicy::AppendOnly {
                return err(ErrorCode::EditNotAllowed, "this channel does not allow lowering a quantity");
            }
            line.qty = qty;
            Ok(())
        })
    }

    /// Sets a line's discount in minor units (0 removes it).
    pub fn set_line_discount(&mut self, key: &str, line_id: &str, discount_q: i64) -> Result<LineView> {
        self.edit_line(key, line_id, |line, _| {
            if discount_q < 0 || discount_q > line.gross_q()? {
                return err(ErrorCode::InvalidDiscount, format!("discount must be between 0 and {} (got {discount_q})", line.gross_q()?));
            }
            line.discount_q = discount_q;
            Ok(())
        })
    }

    fn edit_line(
        &mut self,
        key: &str,
        line_id: &str,
        change: impl FnOnce(&mut LineRow, EditPolicy) -> Result<()>,
    ) -> Result<LineView> {
        let now = self.now();
        let (location, ttl) = (self.settings.location.clone(), self.settings.hold_ttl_secs);
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        let ch = channel::get(&tx, &row.channel)?;
        let mut line = find_line(&load_lines(&tx, key)?, line_id, key)?;
        change(&mut line, ch.edit_policy)?;
        if line.qty != 1 && catalog::get(&tx, &line.sku)?.is_some_and(|p| p.unique) {
            return err(ErrorCode::InvalidQuantity, format!("{} is one of a kind: quantity 1 only", line.name));
        }
        line.gross_q()?;
        if line.discount_q > line.gross_q()? {
            return err(ErrorCode::InvalidDiscount, format!("line discount {} would exceed the line's amount", line.discount_q));
        }
        tx.execute(
            "UPDATE session_lines SET qty = ?3, discount_q = ?4 WHERE session_key = ?1 AND line_id = ?2",
            rusqlite::params![key, line_id, line.qty, line.discount_q],
        )?;
        stock::hold(&tx, key, line_id, &line.sku, &location, line.qty, now + Duration::seconds(ttl))?;
        totals(&load_lines(&tx, key)?, 0)?;
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        line_view(&line)
    }

    /// Removes a line and its hold. A unique item's line writes a `unique.hold` release
    /// (`until: None`) to the outbox.
    pub fn remove_line(&mut self, key: &str, line_id: &str) -> Result<()> {
        let now = self.now();
        let ttl = self.settings.hold_ttl_secs;
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        let line = find_line(&load_lines(&tx, key)?, line_id, key)?;
        if channel::get(&tx, &row.channel)?.edit_policy == EditPolicy::AppendOnly {
            return err(ErrorCode::EditNotAllowed, "this channel does not allow removing lines");
        }
        tx.execute("DELETE FROM session_lines WHERE session_key = ?1 AND line_id = ?2", [key, line_id])?;
        if catalog::flags(&tx, &line.sku)?.0 {
            stock::report_unique_hold(&tx, &line.sku, key, None, now)?;
        }
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets (or clears, with an empty text) the session's note.
    pub fn set_note(&mut self, key: &str, note: &str) -> Result<()> {
        bounds::text("note", note, bounds::MAX_TEXT, true)?;
        self.edit_session(key, |tx| {
            let note = Some(note.trim()).filter(|n| !n.is_empty());
            tx.execute("UPDATE sessions SET note = ?2 WHERE session_key = ?1", rusqlite::params![key, note])?;
            Ok(())
        })
    }

    /// Names an open session with a handle (`table:4`, `tab:Ana`): a tab to park and resume.
    /// `handle_in_use` when another open session has it; naming a session again replaces its
    /// handle.
    pub fn set_handle(&mut self, key: &str, handle: &str) -> Result<()> {
        validate_handle(handle)?;
        self.edit_session(key, |tx| {
            let holder: Option<String> = tx
                .query_row(
                    "SELECT session_key FROM sessions WHERE handle = ?1 AND state = 'open' AND session_key <> ?2",
                    [handle, key],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(holder) = holder {
                return err(ErrorCode::HandleInUse, format!("{handle} already has open session {holder}"));
            }
            tx.execute("UPDATE sessions SET handle = ?2 WHERE session_key = ?1", [key, handle])?;
            Ok(())
        })
    }

    /// Sets the order-level discount in minor units (0 removes it).
    ///
    /// A discount above `max_discount_pct` of the subtotal needs the `large_discount`
    /// permission (or a manager's approval PIN: `permission_denied`, `invalid_pin`,
    /// `pin_locked`). Who allowed it is kept with the session: the commit needs no second
    /// approval unless the basket changes meanwhile.
    pub fn set_discount(&mut self, key: &str, discount_q: i64) -> Result<()> {
        self.gated(|book| book.set_discount_once(key, discount_q))
    }

    fn set_discount_once(&mut self, key: &str, discount_q: i64) -> Result<()> {
        let now = self.now();
        let max_bp = self.settings.max_discount_bp;
        let pin = self.approval_pin.clone();
        self.edit_session(key, |tx| {
            let (subtotal, _, _) = totals(&load_lines(tx, key)?, 0)?;
            if discount_q < 0 || discount_q > subtotal {
                return err(ErrorCode::InvalidDiscount, format!("discount must be between 0 and the subtotal {subtotal} (got {discount_q})"));
            }
            let allowed_by = if permit::large_discount(subtotal, discount_q, max_bp) {
                let who = staff::who(tx)?;
                Some(permit::authorize(tx, &who, Permission::LargeDiscount, pin.as_deref(), now)?.unwrap_or(who.staff_id))
            } else {
                None
            };
            // `touch` bumps the revision by one once this change is made.
            tx.execute(
                "UPDATE sessions SET discount_q = ?2, discount_approved_by = ?3,
                     discount_approved_rev = CASE WHEN ?3 IS NULL THEN NULL ELSE revision + 1 END
                 WHERE session_key = ?1",
                rusqlite::params![key, discount_q, allowed_by.map(|a| a.to_string())],
            )?;
            Ok(())
        })
    }

    fn edit_session(&mut self, key: &str, change: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
        let now = self.now();
        let ttl = self.settings.hold_ttl_secs;
        let tx = db::write_tx(&mut self.conn)?;
        require_open(&load_row(&tx, key)?)?;
        change(&tx)?;
        touch(&tx, key, now, ttl)?;
        tx.commit()?;
        Ok(())
    }

    /// Abandons an open session and releases its holds; each unique item in it writes a
    /// `unique.hold` release (`until: None`) to the outbox.
    pub fn abandon_session(&mut self, key: &str) -> Result<()> {
        let now = self.now();
        let tx = db::write_tx(&mut self.conn)?;
        require_open(&load_row(&tx, key)?)?;
        for line in load_lines(&tx, key)? {
            if catalog::flags(&tx, &line.sku)?.0 {
                stock::report_unique_hold(&tx, &line.sku, key, None, now)?;
            }
        }
        stock::release_holds(&tx, key)?;
        tx.execute(
            "UPDATE sessions SET state = 'abandoned', revision = revision + 1, updated_at = ?2 WHERE session_key = ?1",
            [key, &fmt_time(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Runs the checks and records the revision they saw.
    pub fn check_session(&mut self, key: &str) -> Result<CheckResult> {
        let now = self.now();
        let location = self.settings.location.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let row = load_row(&tx, key)?;
        require_open(&row)?;
        let found = issues(&tx, &row, &load_lines(&tx, key)?, &location, now)?;
        tx.execute("UPDATE sessions SET checked_revision = revision WHERE session_key = ?1", [key])?;
        tx.commit()?;
        Ok(CheckResult {
            session_key: key.to_string(),
            revision: row.revision,
            blocking: found.iter().any(|i| i.severity == Severity::Blocking),
            issues: found,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use tillbook_protocol::events::UniqueHold;
    use tillbook_protocol::limits::{MAX_LINES, MAX_PRICE_Q, MAX_QTY, MAX_TEXT};

    use crate::testkit::{answer, kit};
    use crate::{Channel, CommitOptions, ErrorCode, PricingPolicy, SyncState};

    /// Putting a unique item into a basket, taking it out and abandoning the basket each write
    /// one `unique.hold` row in the same transaction; renewals and the commit write none.
    #[test]
    fn unique_items_in_a_basket_write_hold_rows() {
        let mut k = kit();
        k.enroll("T01");
        let ttl = Duration::seconds(k.book.settings().hold_ttl_secs);
        let s = k.book.open_session(None, None).unwrap().session_key;
        k.book.add_line(&s, "LATTE", 1, None).unwrap();
        assert!(k.unique_holds().is_empty(), "an ordinary product writes no hold row");
        let t0 = k.book.now();
        let ring = k.book.add_line(&s, "RING", 1, None).unwrap();
        let hold = |at, until| UniqueHold { sku: "RING".into(), session_key: s.clone(), until, at };
        assert_eq!(k.unique_holds(), vec![hold(t0, Some(t0 + ttl))]);
        let row = k.book.outbox(0, 10).unwrap().pop().unwrap();
        assert_eq!((row.kind.as_str(), row.order_ref.as_deref(), row.state), ("unique.hold", None, SyncState::Pending));

        // Renewals (later basket changes) report nothing: the first expiry stands.
        k.tick();
        k.book.set_note(&s, "gift wrap").unwrap();
        k.book.add_line(&s, "LATTE", 1, None).unwrap();
        k.book.remove_line(&s, "L1").unwrap();
        assert_eq!(k.unique_holds().len(), 1);

        k.tick();
        let t1 = k.book.now();
        k.book.remove_line(&s, &ring.line_id).unwrap();
        k.tick();
        let t2 = k.book.now();
        k.book.add_line(&s, "RING", 1, None).unwrap();
        k.tick();
        let t3 = k.book.now();
        k.book.abandon_session(&s).unwrap();
        assert_eq!(
            k.unique_holds(),
            vec![hold(t0, Some(t0 + ttl)), hold(t1, None), hold(t2, Some(t2 + ttl)), hold(t3, None)]
        );

        // A sale writes no release: the order releases it on the server.
        let sold = k.book.open_session(None, None).unwrap().session_key;
        k.book.add_line(&sold, "RING", 1, None).unwrap();
        let before = k.book.outbox_summary().unwrap().last_seq;
        let order = k.book.commit(&sold, "k1", CommitOptions::default()).unwrap();
        assert_eq!(k.book.outbox_summary().unwrap().last_seq, before + 1);
        assert_eq!(k.unique_holds().len(), 5);

        // Hold rows are outbox rows like the others: counted, pushed with wire seqs, acknowledged,
        // and no order's sync state depends on them.
        assert_eq!(k.book.outbox_summary().unwrap().pending, 6);
        let wire = k.book.push_page(100).unwrap();
        let kinds: Vec<(u64, &str)> = wire.iter().map(|e| (e.seq, e.kind.as_str())).collect();
        assert_eq!(
            kinds,
            vec![(1, "unique.hold"), (2, "unique.hold"), (3, "unique.hold"), (4, "unique.hold"), (5, "unique.hold"), (6, "order.committed")]
        );
        assert_eq!(k.book.order(&order.order_ref).unwrap().sync_state, SyncState::Sent);
        k.book.ack_push(&answer(6, false)).unwrap();
        let summary = k.book.outbox_summary().unwrap();
        // Applied: these six and the kit's shift.opened, acknowledged at enrolment.
        assert_eq!((summary.pending, summary.sent, summary.applied), (0, 0, 7));
        assert_eq!(k.book.order(&order.order_ref).unwrap().sync_state, SyncState::Applied);
    }

    /// A failed add writes nothing; a removal of an ordinary line writes nothing.
    #[test]
    fn refused_adds_write_no_hold_row() {
        let mut k = kit();
        let a = k.book.open_session(None, None).unwrap().session_key;
        let b = k.book.open_session(None, None).unwrap().session_key;
        k.book.add_line(&a, "RING", 1, None).unwrap();
        let e = k.book.add_line(&b, "RING", 1, None).unwrap_err();
        assert_eq!(e.code, ErrorCode::UniqueUnavailable);
        assert!(e.message.contains("reserved by another session"), "{e}");
        assert_eq!(k.book.add_line(&a, "RING", 1, None).unwrap_err().code, ErrorCode::InvalidQuantity);
        let latte = k.book.add_line(&b, "LATTE", 1, None).unwrap();
        k.book.remove_line(&b, &latte.line_id).unwrap();
        k.book.abandon_session(&b).unwrap();
        assert_eq!(k.unique_holds().len(), 1);
    }

    /// An open basket named as a tab keeps its lines; a name another open basket has is
    /// `handle_in_use`, a name without `KIND:` is `invalid_argument`, and nothing changes.
    #[test]
    fn a_basket_is_named_as_a_tab() {
        let mut k = kit();
        let a = k.book.open_session(None, None).unwrap().session_key;
        k.book.add_line(&a, "LATTE", 2, None).unwrap();
        k.book.set_handle(&a, "tab:Ana").unwrap();
        let view = k.book.session(&a).unwrap();
        assert_eq!((view.handle.as_deref(), view.total_items, view.state.as_str()), (Some("tab:Ana"), 2, "open"));
        k.book.set_handle(&a, "tab:Ana").unwrap();
        let b = k.book.open_session(None, None).unwrap().session_key;
        assert_eq!(k.book.set_handle(&b, "tab:Ana").unwrap_err().code, ErrorCode::HandleInUse);
        assert_eq!(k.book.set_handle(&b, "Ana").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(k.book.session(&b).unwrap().handle, None);
        k.book.set_handle(&a, "table:4").unwrap();
        k.book.set_handle(&b, "tab:Ana").unwrap();
        let listed: Vec<_> = k.book.sessions(None).unwrap().into_iter().filter_map(|s| s.handle).collect();
        assert_eq!(listed.len(), 2);
        k.book.abandon_session(&b).unwrap();
        assert_eq!(k.book.set_handle(&b, "tab:Bia").unwrap_err().code, ErrorCode::SessionNotOpen);
    }

    #[test]
    fn quantities_prices_lines_and_texts_are_bounded() {
        let mut k = kit();
        let mut ch = Channel::pos();
        ch.code = "phone".into();
        ch.pricing = PricingPolicy::Mixed;
        k.book.upsert_channel(&ch).unwrap();
        let s = k.book.open_session(None, Some("phone")).unwrap();
        let key = s.session_key.as_str();
        assert_eq!(k.book.add_line(key, "LATTE", MAX_QTY + 1, None).unwrap_err().code, ErrorCode::InvalidQuantity);
        assert_eq!(k.book.add_line(key, "LATTE", 1, Some(MAX_PRICE_Q + 1)).unwrap_err().code, ErrorCode::InvalidPrice);
        let l = k.book.add_line(key, "LATTE", MAX_QTY, Some(MAX_PRICE_Q)).unwrap();
        assert_eq!(l.total_q, MAX_QTY * MAX_PRICE_Q);
        assert_eq!(k.book.add_line(key, "LATTE", 1, Some(MAX_PRICE_Q)).unwrap_err().code, ErrorCode::InvalidQuantity);
        assert_eq!(k.book.set_quantity(key, &l.line_id, MAX_QTY + 1).unwrap_err().code, ErrorCode::InvalidQuantity);
        for i in 1..MAX_LINES as i64 {
            k.book.add_line(key, "LATTE", 1, Some(i)).unwrap();
        }
        let e = k.book.add_line(key, "LATTE", 1, Some(MAX_PRICE_Q - 1)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument, "{e}");
        assert_eq!(k.book.session(key).unwrap().lines.len(), MAX_LINES);
        assert_eq!(k.book.set_note(key, &"n".repeat(MAX_TEXT + 1)).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(k.book.set_note(key, "a\0b").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(k.book.open_session(Some("table:\0"), None).unwrap_err().code, ErrorCode::InvalidArgument);
    }
}
