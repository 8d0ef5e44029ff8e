//! Every rule of the order book, through its public API: catalog, channels, sessions, stock,
//! commit, orders and the outbox.

use chrono::{Duration, TimeZone, Utc};
use tillbook_orderbook::{
    Book, Channel, Clock, CommitOptions, EditPolicy, ErrorCode, InitOptions, OversellPolicy, PricingPolicy,
    ProductRecord, Severity, StockReason, SyncState, UniqueState, BOOK_FILE,
};
use tillbook_protocol::events::{EventKind, EventPayload};

use crate::support::{book, product, sign_in_cashier, stocked_book, TempBook};

fn code<T: std::fmt::Debug>(r: tillbook_orderbook::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code
}

fn commit(t: &mut TempBook, key: &str, idem: &str) -> tillbook_orderbook::Result<tillbook_orderbook::CommitOutcome> {
    t.book.commit(key, idem, CommitOptions::default())
}

/// A session with `lines` already added; returns its key.
fn basket(t: &mut TempBook, lines: &[(&str, i64)]) -> String {
    let key = t.book.open_session(None, None).unwrap().session_key;
    for (sku, qty) in lines {
        t.book.add_line(&key, sku, *qty, None).unwrap();
    }
    key
}

fn row_count(t: &TempBook, table: &str) -> i64 {
    t.book.connection().query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// A fingerprint of every table, to show a failed call changed nothing.
fn fingerprint(t: &TempBook) -> Vec<i64> {
    ["products", "sessions", "session_lines", "stock_holds", "stock_ledger", "orders", "order_lines", "order_events", "outbox"]
        .iter()
        .map(|tb| row_count(t, tb))
        .chain(std::iter::once(
            t.book.connection().query_row("SELECT COALESCE(SUM(revision),0) FROM sessions", [], |r| r.get(0)).unwrap(),
        ))
        .collect()
}

// ---- catalog ----

#[test]
fn import_csv_is_all_or_nothing_with_line_numbers() {
    let mut t = book();
    let dir = t.dir.path().to_path_buf();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "sku,name,price\nA,Apple,1.50\nB,Bread,abc\nC,,2\n").unwrap();
    let before = fingerprint(&t);
    let e = t.book.import_catalog(&bad).unwrap_err();
    assert_eq!(e.code, ErrorCode::ImportInvalid);
    assert!(e.message.contains("line 3"), "{}", e.message);
    assert_eq!(fingerprint(&t), before, "nothing imported");

    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "sku,name,price,category,barcodes,oversell,unique,parent_sku,variant\n\
         TEE,T-shirt,20.00,Clothes,111|112,block,no,,\n\
         TEE-L,T-shirt L,21.00,Clothes,,block,no,TEE,Large\n\
         VASE,Old vase,150,Antiques,,allow,yes,,\n",
    )
    .unwrap();
    assert_eq!(t.book.import_catalog(&good).unwrap(), 3);
    let tee = t.book.product("112").unwrap();
    assert_eq!((tee.sku.as_str(), tee.price_q, tee.oversell), ("TEE", 2000, OversellPolicy::Block));
    let large = t.book.product("TEE-L").unwrap();
    assert_eq!((large.parent_sku.as_deref(), large.variant.as_deref()), (Some("TEE"), Some("Large")));
    assert!(t.book.product("VASE").unwrap().unique);
    assert_eq!(t.book.products(Some("shirt")).unwrap().len(), 2);
}

#[test]
fn import_json_rejects_unknown_fields_and_foreign_currency() {
    let mut t = book();
    let f = t.dir.path().join("c.json");
    std::fs::write(&f, "[\n{\"sku\":\"A\",\"name\":\"A\",\"price_q\":1},\n{\"sku\":\"B\",\"name\":\"B\",\"price_q\":1,\"colour\":\"red\"}\n]").unwrap();
    let e = t.book.import_catalog(&f).unwrap_err();
    assert_eq!(e.code, ErrorCode::ImportInvalid);
    assert!(e.message.contains("line 3") && e.message.contains("colour"), "{}", e.message);
    std::fs::write(&f, "{\"products\":[{\"sku\":\"A\",\"name\":\"A\",\"price_q\":1,\"currency\":\"USD\"}]}").unwrap();
    assert_eq!(code(t.book.import_catalog(&f)), ErrorCode::ImportInvalid);
    std::fs::write(&f, "{\"products\":[{\"sku\":\"A\",\"name\":\"A\",\"price_q\":1,\"currency\":\"BRL\"}]}").unwrap();
    assert_eq!(t.book.import_catalog(&f).unwrap(), 1);
    let txt = t.dir.path().join("c.txt");
    std::fs::write(&txt, "x").unwrap();
    assert_eq!(code(t.book.import_catalog(&txt)), ErrorCode::ImportInvalid);
    assert_eq!(code(t.book.import_catalog(&t.dir.path().join("missing.csv"))), ErrorCode::ImportInvalid);
}

#[test]
fn a_barcode_belongs_to_one_product() {
    let mut t = book();
    let mut a = product("A", 1);
    a.barcodes = vec!["123".into()];
    t.book.upsert_products(&[a]).unwrap();
    let mut b = product("B", 1);
    b.barcodes = vec!["123".into()];
    assert_eq!(code(t.book.upsert_products(&[b])), ErrorCode::ImportInvalid);
    assert_eq!(code(t.book.product("B")), ErrorCode::UnknownSku);
}

// ---- sessions ----

#[test]
fn session_lines_have_stable_ids_and_totals() {
    let mut t = stocked_book(50);
    let key = t.book.open_session(Some("table:4"), None).unwrap().session_key;
    let l1 = t.book.add_line(&key, "A", 2, None).unwrap();
    let l2 = t.book.add_line(&key, "B", 1, Some(650)).unwrap();
    assert_eq!((l1.line_id.as_str(), l2.line_id.as_str()), ("L1", "L2"));
    assert_eq!(t.book.add_line(&key, "A", 1, None).unwrap().line_id, "L1", "the same product again raises its line");
    t.book.remove_line(&key, "L2").unwrap();
    assert_eq!(t.book.add_line(&key, "C", 1, None).unwrap().line_id, "L3", "ids are never reused");
    t.book.set_quantity(&key, "L3", 4).unwrap();
    t.book.set_line_discount(&key, "L1", 100).unwrap();
    t.book.set_discount(&key, 50).unwrap();
    t.book.set_note(&key, "no sugar").unwrap();
    let v = t.book.session(&key).unwrap();
    assert_eq!(v.lines.iter().map(|l| l.line_id.as_str()).collect::<Vec<_>>(), ["L1", "L3"]);
    assert_eq!(v.subtotal_q, 3 * 500 - 100 + 4 * 650);
    assert_eq!(v.total_q, v.subtotal_q - 50);
    assert_eq!(v.total_items, 7);
    assert_eq!(v.note.as_deref(), Some("no sugar"));
    assert_eq!(v.handle.as_deref(), Some("table:4"));
}

#[test]
fn bad_session_input_has_codes_and_changes_nothing() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 1)]);
    let before = fingerprint(&t);
    assert_eq!(code(t.book.add_line(&key, "NOPE", 1, None)), ErrorCode::UnknownSku);
    assert_eq!(code(t.book.add_line(&key, "A", 0, None)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.add_line(&key, "A", -2, None)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.add_line(&key, "A", 1, Some(-1))), ErrorCode::InvalidPrice);
    assert_eq!(code(t.book.add_line("nope", "A", 1, None)), ErrorCode::UnknownSession);
    assert_eq!(code(t.book.set_quantity(&key, "L9", 1)), ErrorCode::UnknownLine);
    assert_eq!(code(t.book.set_quantity(&key, "L1", 0)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.remove_line(&key, "L9")), ErrorCode::UnknownLine);
    assert_eq!(code(t.book.set_line_discount(&key, "L1", 501)), ErrorCode::InvalidDiscount);
    assert_eq!(code(t.book.set_discount(&key, -1)), ErrorCode::InvalidDiscount);
    assert_eq!(code(t.book.set_discount(&key, 501)), ErrorCode::InvalidDiscount);
    // Quantities and prices are bounded, so no line or total can overflow.
    use tillbook_protocol::limits::{MAX_PRICE_Q, MAX_QTY};
    assert_eq!(code(t.book.add_line(&key, "B", i64::MAX, None)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.add_line(&key, "B", MAX_QTY + 1, None)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.add_line(&key, "A", i64::MAX, None)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.set_quantity(&key, "L1", MAX_QTY + 1)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.add_line(&key, "B", 1, Some(MAX_PRICE_Q + 1))), ErrorCode::InvalidPrice);
    assert_eq!(code(t.book.set_note(&key, "a\0b")), ErrorCode::InvalidArgument);
    assert_eq!(code(t.book.open_session(Some("table"), None)), ErrorCode::InvalidArgument);
    assert_eq!(code(t.book.open_session(None, Some("web"))), ErrorCode::UnknownChannel);
    assert_eq!(fingerprint(&t), before);
}

#[test]
fn one_open_session_per_handle() {
    let mut t = stocked_book(10);
    let first = t.book.open_session(Some("table:4"), None).unwrap().session_key;
    assert_eq!(code(t.book.open_session(Some("table:4"), None)), ErrorCode::HandleInUse);
    t.book.open_session(Some("table:5"), None).unwrap();
    t.book.abandon_session(&first).unwrap();
    t.book.open_session(Some("table:4"), None).unwrap();
    assert_eq!(t.book.sessions(None).unwrap().len(), 2);
    assert_eq!(t.book.sessions(Some("abandoned")).unwrap().len(), 1);
    assert_eq!(code(t.book.sessions(Some("weird"))), ErrorCode::InvalidArgument);
}

#[test]
fn closed_sessions_refuse_changes() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 1)]);
    t.book.abandon_session(&key).unwrap();
    assert_eq!(code(t.book.add_line(&key, "A", 1, None)), ErrorCode::SessionNotOpen);
    assert_eq!(code(t.book.set_note(&key, "x")), ErrorCode::SessionNotOpen);
    assert_eq!(code(t.book.abandon_session(&key)), ErrorCode::SessionNotOpen);
    assert_eq!(code(commit(&mut t, &key, "k")), ErrorCode::SessionNotOpen);
}

#[test]
fn pricing_policies() {
    let mut t = stocked_book(10);
    let mut ch = Channel::pos();
    ch.code = "web".into();
    ch.pricing = PricingPolicy::External;
    t.book.upsert_channel(&ch).unwrap();
    ch.code = "deal".into();
    ch.pricing = PricingPolicy::Internal;
    t.book.upsert_channel(&ch).unwrap();
    let web = t.book.open_session(None, Some("web")).unwrap().session_key;
    assert_eq!(code(t.book.add_line(&web, "A", 1, Some(1))), ErrorCode::PriceNotAllowed);
    assert_eq!(t.book.add_line(&web, "A", 1, None).unwrap().unit_price_q, 500);
    let deal = t.book.open_session(None, Some("deal")).unwrap().session_key;
    assert_eq!(code(t.book.add_line(&deal, "A", 1, None)), ErrorCode::PriceRequired);
    assert_eq!(t.book.add_line(&deal, "A", 1, Some(123)).unwrap().unit_price_q, 123);
    let pos = basket(&mut t, &[]);
    assert_eq!(t.book.add_line(&pos, "A", 1, Some(450)).unwrap().price_source, "caller");
    assert_eq!(t.book.add_line(&pos, "B", 1, None).unwrap().price_source, "catalog");
    assert_eq!(t.book.channels().unwrap().len(), 3);
}

#[test]
fn append_only_channels_never_shrink_a_session() {
    let mut t = stocked_book(10);
    let mut ch = Channel::pos();
    ch.code = "kitchen".into();
    ch.edit_policy = EditPolicy::AppendOnly;
    t.book.upsert_channel(&ch).unwrap();
    let key = t.book.open_session(None, Some("kitchen")).unwrap().session_key;
    t.book.add_line(&key, "A", 2, None).unwrap();
    t.book.set_quantity(&key, "L1", 3).unwrap();
    assert_eq!(code(t.book.set_quantity(&key, "L1", 1)), ErrorCode::EditNotAllowed);
    assert_eq!(code(t.book.remove_line(&key, "L1")), ErrorCode::EditNotAllowed);
    assert_eq!(t.book.session(&key).unwrap().lines[0].qty, 3);
}

#[test]
fn catalog_changes_reprice_open_sessions_and_flag_gone_products() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 2), ("B", 1)]);
    t.book.add_line(&key, "C", 1, Some(600)).unwrap();
    let rev = t.book.session(&key).unwrap().revision;
    let mut b = product("B", 700);
    b.active = false;
    t.book.upsert_products(&[product("A", 550), b, product("C", 999)]).unwrap();
    let v = t.book.session(&key).unwrap();
    assert!(v.revision > rev, "a catalog change makes earlier checks stale");
    let a = &v.lines[0];
    assert_eq!(a.unit_price_q, 550);
    assert_eq!(a.flags[0].code, "price_changed");
    assert_eq!(v.lines[1].flags[0].code, "product_gone");
    assert_eq!(v.lines[2].unit_price_q, 600, "a caller's price is kept");
    assert!(v.lines[2].flags.is_empty());
    assert!(v.issues.iter().any(|i| i.code == "product_gone" && i.severity == Severity::Blocking));
    assert!(v.issues.iter().any(|i| i.code == "price_changed" && i.severity == Severity::Warning));
    assert_eq!(code(commit(&mut t, &key, "k")), ErrorCode::BlockingIssues);
    assert_eq!(code(t.book.add_line(&key, "B", 1, None)), ErrorCode::ProductInactive);
    t.book.remove_line(&key, "L2").unwrap();
    let out = commit(&mut t, &key, "k").unwrap();
    let order = t.book.order(&out.order_ref).unwrap();
    assert_eq!(order.lines[0].unit_price_q, 550);
    // Product changes never alter a committed order.
    t.book.upsert_products(&[product("A", 1)]).unwrap();
    assert_eq!(t.book.order(&out.order_ref).unwrap(), order);
}

// ---- stock ----

#[test]
fn holds_reduce_available_until_they_expire_or_are_released() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, time) = Clock::manual(Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap());
    let mut b = Book::init(&dir.path().join(BOOK_FILE), InitOptions::default()).unwrap().with_clock(clock);
    b.upsert_products(&[product("A", 500)]).unwrap();
    b.adjust_stock("A", 10, StockReason::Receiving, "").unwrap();
    let key = b.open_session(None, None).unwrap().session_key;
    b.add_line(&key, "A", 3, None).unwrap();
    let s = &b.stock(Some("A")).unwrap()[0];
    assert_eq!((s.on_hand, s.held, s.available), (10, 3, 7));
    time.advance(Duration::minutes(14));
    assert_eq!(b.stock(Some("A")).unwrap()[0].held, 3);
    time.advance(Duration::minutes(2));
    assert_eq!(b.stock(Some("A")).unwrap()[0].held, 0, "a 15-minute hold has run out");
    b.set_quantity(&key, "L1", 4).unwrap();
    assert_eq!(b.stock(Some("A")).unwrap()[0].held, 4, "touching the session takes the hold again");
    b.abandon_session(&key).unwrap();
    assert_eq!(b.stock(Some("A")).unwrap()[0].available, 10);
}

#[test]
fn oversell_policies() {
    let mut t = book();
    let mut warn = product("W", 100);
    warn.oversell = OversellPolicy::Warn;
    let mut block = product("K", 100);
    block.oversell = OversellPolicy::Block;
    t.book.upsert_products(&[product("A", 100), warn, block]).unwrap();
    for sku in ["A", "W", "K"] {
        t.book.adjust_stock(sku, 1, StockReason::Receiving, "").unwrap();
    }
    let key = basket(&mut t, &[("A", 3), ("W", 3)]);
    let check = t.book.check_session(&key).unwrap();
    assert!(!check.blocking);
    assert_eq!(check.issues.len(), 1);
    assert_eq!((check.issues[0].code.as_str(), check.issues[0].severity), ("insufficient_stock", Severity::Warning));
    let o = commit(&mut t, &key, "k1").unwrap();
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, -2, "allow: the sale goes through");
    assert!(!o.replayed);
    let key = basket(&mut t, &[("K", 2)]);
    assert!(t.book.check_session(&key).unwrap().blocking);
    let before = fingerprint(&t);
    assert_eq!(code(commit(&mut t, &key, "k2")), ErrorCode::BlockingIssues);
    assert_eq!(fingerprint(&t), before);
    t.book.set_quantity(&key, "L1", 1).unwrap();
    commit(&mut t, &key, "k2").unwrap();
    assert_eq!(t.book.stock(Some("K")).unwrap()[0].on_hand, 0);
}

#[test]
fn unique_items_go_available_reserved_sold_and_back_on_cancel() {
    let mut t = book();
    let mut vase = product("VASE", 15000);
    vase.unique = true;
    t.book.upsert_products(&[vase]).unwrap();
    t.book.adjust_stock("VASE", 1, StockReason::Receiving, "").unwrap();
    let state = |t: &TempBook| t.book.stock(Some("VASE")).unwrap()[0].unique_state.unwrap();
    assert_eq!(state(&t), UniqueState::Available);
    let a = basket(&mut t, &[("VASE", 1)]);
    assert_eq!(state(&t), UniqueState::Reserved);
    let b = basket(&mut t, &[]);
    assert_eq!(code(t.book.add_line(&b, "VASE", 1, None)), ErrorCode::UniqueUnavailable);
    assert_eq!(code(t.book.add_line(&a, "VASE", 1, None)), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.set_quantity(&a, "L1", 2)), ErrorCode::InvalidQuantity);
    let o = commit(&mut t, &a, "k").unwrap();
    assert_eq!(state(&t), UniqueState::Sold);
    assert_eq!(code(t.book.add_line(&b, "VASE", 1, None)), ErrorCode::UniqueUnavailable);
    t.book.cancel_order(&o.order_ref, "manager", Some("customer changed mind")).unwrap();
    assert_eq!(state(&t), UniqueState::Available);
    t.book.add_line(&b, "VASE", 1, None).unwrap();
}

#[test]
fn an_expired_hold_whose_stock_is_gone_fails_with_hold_expired() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, time) = Clock::manual(Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap());
    let mut b = Book::init(&dir.path().join(BOOK_FILE), InitOptions::default()).unwrap().with_clock(clock);
    b.open_shift(0).unwrap();
    let mut k = product("K", 100);
    k.oversell = OversellPolicy::Block;
    b.upsert_products(&[k]).unwrap();
    b.adjust_stock("K", 1, StockReason::Receiving, "").unwrap();
    let slow = b.open_session(None, None).unwrap().session_key;
    b.add_line(&slow, "K", 1, None).unwrap();
    time.advance(Duration::minutes(16));
    let fast = b.open_session(None, None).unwrap().session_key;
    b.add_line(&fast, "K", 1, None).unwrap();
    b.commit(&fast, "fast", CommitOptions::default()).unwrap();
    assert_eq!(b.commit(&slow, "slow", CommitOptions::default()).unwrap_err().code, ErrorCode::HoldExpired);
    // With stock back, the expired hold is simply taken again.
    b.adjust_stock("K", 1, StockReason::Receiving, "").unwrap();
    b.commit(&slow, "slow", CommitOptions::default()).unwrap();
}

#[test]
fn counts_and_adjustments_keep_on_hand_the_sum_of_deltas() {
    let mut t = stocked_book(10);
    t.book.adjust_stock("A", -3, StockReason::Adjustment, "broken").unwrap();
    let s = t.book.adjust_stock("A", 4, StockReason::Count, "monthly count").unwrap();
    assert_eq!(s.on_hand, 4);
    let sum: i64 = t.book.connection().query_row("SELECT SUM(delta) FROM stock_ledger WHERE sku='A'", [], |r| r.get(0)).unwrap();
    assert_eq!(sum, 4);
    assert_eq!(code(t.book.adjust_stock("A", 0, StockReason::Adjustment, "")), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.adjust_stock("A", -1, StockReason::Count, "")), ErrorCode::InvalidQuantity);
    assert_eq!(code(t.book.adjust_stock("A", 1, StockReason::Sale, "")), ErrorCode::InvalidArgument);
    assert_eq!(code(t.book.adjust_stock("NOPE", 1, StockReason::Receiving, "")), ErrorCode::UnknownSku);
}

// ---- commit ----

#[test]
fn commit_writes_order_lines_stock_events_and_outbox_in_one_go() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 2), ("B", 1)]);
    let outbox_before = t.book.outbox_summary().unwrap().last_seq;
    let o = commit(&mut t, &key, "key-1").unwrap();
    assert!(!o.replayed);
    assert!(o.order_ref.starts_with("ORD-") && o.order_ref.ends_with("-T01-0001"), "{}", o.order_ref);
    let v = t.book.order(&o.order_ref).unwrap();
    assert_eq!((v.status.as_str(), v.total_q, v.lines.len()), ("new", 1700, 2));
    assert_eq!(v.events.len(), 1);
    assert_eq!(v.sync_state, SyncState::Pending);
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 8);
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].held, 0, "holds become the sale");
    let rows = t.book.outbox(outbox_before, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].seq, outbox_before + 1);
    assert_eq!(rows[0].kind, "order.committed");
    assert_eq!(rows[0].payload_hash, tillbook_protocol::payload_hash(&rows[0].payload));
    let EventPayload::OrderCommitted(p) = EventPayload::from_value(EventKind::OrderCommitted, rows[0].payload.clone()).unwrap() else {
        panic!("wrong kind")
    };
    assert_eq!(p.order_ref, o.order_ref);
    assert_eq!(p.stock_deltas.iter().map(|d| d.delta).sum::<i64>(), -3);
    assert_eq!(t.book.session(&key).unwrap().state, "committed");
}

#[test]
fn commit_errors_have_their_codes_and_write_nothing() {
    let mut t = stocked_book(10);
    let empty = basket(&mut t, &[]);
    let before = fingerprint(&t);
    assert_eq!(code(commit(&mut t, &empty, "e")), ErrorCode::EmptySession);
    assert_eq!(code(commit(&mut t, "nope", "n")), ErrorCode::UnknownSession);
    assert_eq!(code(commit(&mut t, &empty, "")), ErrorCode::InvalidArgument);
    assert_eq!(fingerprint(&t), before);

    let key = basket(&mut t, &[("A", 1)]);
    let check = t.book.check_session(&key).unwrap();
    t.book.add_line(&key, "B", 1, None).unwrap();
    let before = fingerprint(&t);
    let opts = CommitOptions { checked_revision: Some(check.revision), actor: None };
    assert_eq!(t.book.commit(&key, "s", opts).unwrap_err().code, ErrorCode::StaleCheck);
    assert_eq!(fingerprint(&t), before);
    // The order records the staff member signed in, never a name the caller gives (staff
    // arrived with shifts: before, `actor` was taken as given).
    let ana = sign_in_cashier(&mut t.book, "ana", "4711");
    let fresh = t.book.check_session(&key).unwrap();
    let opts = CommitOptions { checked_revision: Some(fresh.revision), actor: Some("someone else".into()) };
    let o = t.book.commit(&key, "s", opts).unwrap();
    let first = &t.book.order(&o.order_ref).unwrap().events[0];
    assert_eq!((first.actor.as_str(), first.staff_id), ("ana", Some(ana.staff_id)));
    assert_eq!(code(commit(&mut t, &key, "another")), ErrorCode::SessionNotOpen);
}

#[test]
fn the_same_key_returns_the_same_order_even_after_a_restart() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 1)]);
    let first = commit(&mut t, &key, "idem").unwrap();
    let mut t = t.reopen();
    let before = fingerprint(&t);
    let again = commit(&mut t, &key, "idem").unwrap();
    assert!(again.replayed);
    assert_eq!(again.order_ref, first.order_ref);
    assert_eq!(fingerprint(&t), before, "a replay writes nothing");
    let other = basket(&mut t, &[("B", 1)]);
    assert_eq!(code(commit(&mut t, &other, "idem")), ErrorCode::IdempotencyConflict);
}

#[test]
fn order_references_are_gapless_with_prefix_and_terminal_code() {
    let dir = tempfile::tempdir().unwrap();
    let opts = InitOptions { terminal_code: "T02".into(), order_prefix: "CAFE-".into(), ..InitOptions::default() };
    let mut t = TempBook { book: Book::init(&dir.path().join(BOOK_FILE), opts).unwrap(), dir };
    t.book.open_shift(0).unwrap();
    t.book.upsert_products(&[product("A", 100)]).unwrap();
    let empty = basket(&mut t, &[]);
    assert!(commit(&mut t, &empty, "x").is_err());
    let mut refs = Vec::new();
    for i in 0..3 {
        let k = basket(&mut t, &[("A", 1)]);
        refs.push(commit(&mut t, &k, &format!("k{i}")).unwrap().order_ref);
    }
    let date = chrono::Local::now().format("%Y%m%d").to_string();
    assert_eq!(refs, (1..=3).map(|n| format!("CAFE-{date}-T02-{n:04}")).collect::<Vec<_>>());
}

// ---- orders ----

#[test]
fn status_moves_along_the_flow_with_actor_and_outbox() {
    let mut t = stocked_book(10);
    // The actor is the staff member signed in (the name passed to `transition` is not used).
    let ana = sign_in_cashier(&mut t.book, "ana", "4711");
    let key = basket(&mut t, &[("A", 1)]);
    let r = commit(&mut t, &key, "k").unwrap().order_ref;
    let before = fingerprint(&t);
    assert_eq!(code(t.book.transition(&r, "ready", "ana", None)), ErrorCode::InvalidTransition);
    assert_eq!(code(t.book.transition(&r, "bogus", "ana", None)), ErrorCode::InvalidTransition);
    assert_eq!(code(t.book.transition("ORD-NOPE", "confirmed", "ana", None)), ErrorCode::UnknownOrder);
    assert_eq!(fingerprint(&t), before);
    for s in ["confirmed", "processing", "ready", "completed"] {
        t.book.transition(&r, s, "ana", None).unwrap();
    }
    let v = t.book.order(&r).unwrap();
    assert_eq!(v.status, "completed");
    assert_eq!(v.events.len(), 5);
    assert!(v.events[1..].iter().all(|e| e.actor == "ana" && e.staff_id == Some(ana.staff_id) && e.kind == "status_changed"));
    assert_eq!(code(t.book.cancel_order(&r, "ana", None)), ErrorCode::InvalidTransition, "completed ends an order");
    assert_eq!(t.book.outbox(0, 100).unwrap().iter().filter(|o| o.order_ref.as_deref() == Some(r.as_str())).count(), 5);
    assert_eq!(t.book.orders(Some("completed"), 10).unwrap().len(), 1);
    assert_eq!(t.book.orders(Some("new"), 10).unwrap().len(), 0);
}

#[test]
fn cancel_returns_stock_once() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 3)]);
    let r = commit(&mut t, &key, "k").unwrap().order_ref;
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 7);
    let v = t.book.cancel_order(&r, "ana", Some("wrong table")).unwrap();
    assert_eq!(v.status, "cancelled");
    assert_eq!(v.events.last().unwrap().reason.as_deref(), Some("wrong table"));
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 10);
    assert_eq!(code(t.book.cancel_order(&r, "ana", None)), ErrorCode::InvalidTransition);
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 10);
}

#[test]
fn an_order_completes_by_itself_when_every_item_is_final() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 1), ("B", 2)]);
    let r = commit(&mut t, &key, "k").unwrap().order_ref;
    t.book.set_item_status(&r, 1, "processing", "kitchen").unwrap();
    assert_eq!(code(t.book.set_item_status(&r, 1, "burnt", "kitchen")), ErrorCode::InvalidTransition);
    assert_eq!(code(t.book.set_item_status(&r, 9, "ready", "kitchen")), ErrorCode::UnknownLine);
    t.book.set_item_status(&r, 1, "delivered", "kitchen").unwrap();
    assert_eq!(code(t.book.set_item_status(&r, 1, "ready", "kitchen")), ErrorCode::InvalidTransition);
    assert_eq!(t.book.order(&r).unwrap().status, "new");
    let v = t.book.set_item_status(&r, 2, "cancelled", "kitchen").unwrap();
    assert_eq!(v.status, "completed");
    assert_eq!(v.events.last().unwrap().actor, "system");
    assert_eq!(t.book.stock(Some("B")).unwrap()[0].on_hand, 10, "the cancelled item gave its stock back");
    assert_eq!(t.book.stock(Some("A")).unwrap()[0].on_hand, 9);

    let key = basket(&mut t, &[("C", 1)]);
    let r = commit(&mut t, &key, "k2").unwrap().order_ref;
    assert_eq!(t.book.set_item_status(&r, 1, "cancelled", "kitchen").unwrap().status, "cancelled");
    assert_eq!(t.book.stock(Some("C")).unwrap()[0].on_hand, 10, "stock returned once, not twice");
}

#[test]
fn outbox_seq_is_gapless_across_every_kind_of_change() {
    let mut t = stocked_book(10);
    let key = basket(&mut t, &[("A", 1)]);
    let r = commit(&mut t, &key, "k").unwrap().order_ref;
    let _ = t.book.transition(&r, "ready", "x", None);
    t.book.transition(&r, "confirmed", "x", None).unwrap();
    t.book.set_item_status(&r, 1, "ready", "x").unwrap();
    t.book.adjust_stock("B", 2, StockReason::Receiving, "").unwrap();
    t.book.cancel_order(&r, "x", None).unwrap();
    let seqs: Vec<i64> = t.book.outbox(0, 1000).unwrap().iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let kinds: Vec<String> = t.book.outbox(0, 1000).unwrap().into_iter().map(|r| r.kind).collect();
    // The shift the book opened first, then the opening stock, then what this test did.
    assert_eq!(
        kinds,
        [
            "shift.opened",
            "stock.adjusted",
            "stock.adjusted",
            "stock.adjusted",
            "order.committed",
            "order.status_changed",
            "order.item_status_changed",
            "stock.adjusted",
            "order.status_changed"
        ]
    );
}

// ---- the book file ----

#[test]
fn opening_something_that_is_not_a_book_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.sqlite");
    assert_eq!(code(Book::open(&missing)), ErrorCode::NotInitialized);
    let text = dir.path().join("text.sqlite");
    std::fs::write(&text, "hello, this is not a database at all........................................").unwrap();
    assert_eq!(code(Book::open(&text)), ErrorCode::NotABook);
    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE x(y)").unwrap();
    assert_eq!(code(Book::open(&other)), ErrorCode::NotABook);
    let t = book();
    assert_eq!(code(Book::init(&t.path(), InitOptions::default())), ErrorCode::AlreadyInitialized);
    let bad = InitOptions { currency: "reais".into(), ..InitOptions::default() };
    assert_eq!(code(Book::init(&dir.path().join("b.sqlite"), bad)), ErrorCode::InvalidArgument);
    assert!(!dir.path().join("b.sqlite").exists(), "a refused init leaves no file");
}

#[test]
fn a_book_from_a_newer_version_is_refused_untouched() {
    let t = book();
    let path = t.path();
    drop(t.book);
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let e = Book::open(&path).unwrap_err();
    assert_eq!(e.code, ErrorCode::NewerSchema);
    let v: i64 = rusqlite::Connection::open(&path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(v, 99);
}

#[test]
fn the_book_runs_wal_with_full_sync_and_foreign_keys() {
    let t = book();
    let c = t.book.connection();
    let mode: String = c.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    let sync: i64 = c.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
    let fk: i64 = c.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
    assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    assert!(t.book.integrity_ok().unwrap());
}

#[test]
fn demo_book_has_the_cafe_catalog_and_one_order_per_status() {
    let dir = tempfile::tempdir().unwrap();
    let b = Book::init(&dir.path().join(BOOK_FILE), InitOptions { demo: true, ..InitOptions::default() }).unwrap();
    let mut prices: Vec<(String, i64)> = b.products(None).unwrap().into_iter().map(|p| (p.sku, p.price_q)).collect();
    prices.sort();
    assert_eq!(
        prices,
        [("CAPPUCCINO", 700), ("CARROT_CAKE", 800), ("CROISSANT", 650), ("ESPRESSO", 500), ("LATTE", 750), ("PAIN_AU_CHOCOLAT", 750)]
            .map(|(s, p)| (s.to_string(), p))
    );
    let mut statuses: Vec<String> = b.orders(None, 100).unwrap().into_iter().map(|o| o.status).collect();
    statuses.sort();
    assert_eq!(statuses, ["cancelled", "completed", "confirmed", "new", "processing", "ready"]);
    assert!(b.stock(None).unwrap().iter().all(|s| s.on_hand > 0));
}

#[test]
fn records_can_name_their_own_currency() {
    let mut t = book();
    let rec = ProductRecord { currency: Some("BRL".into()), ..product("A", 1) };
    t.book.upsert_products(&[rec]).unwrap();
    assert_eq!(t.book.product("A").unwrap().currency, "BRL");
}
