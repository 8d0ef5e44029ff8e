//! The terminal's side of sync, as state in the book: enrolment, the halt that asks for a new
//! enrolment, and what `sync status` shows. Pushing lives in `push`, pulling in `pull`. No
//! network here: the sync client (`tillbook-sync`) moves these values over HTTP.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use tillbook_protocol::sync::{EnrollResponse, PullCursor};
use uuid::Uuid;

use crate::clock::{fmt_time, parse_time};
use crate::error::{err, ErrorCode, Result};
use crate::{bounds, db, settings, Book};

pub use crate::push::PushAck;

/// Where this terminal is enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    pub server_url: String,
    pub terminal_id: Uuid,
    pub terminal_name: String,
    /// The store's code and name (`None` for a book enrolled before stores existed).
    pub store: Option<String>,
    pub store_name: Option<String>,
    /// The code in this terminal's order references.
    pub terminal_code: String,
    #[serde(skip_serializing)]
    pub token: String,
}

/// What `sync status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub server_url: Option<String>,
    pub terminal_id: Uuid,
    /// The store this terminal is enrolled in, and its code in order references.
    pub store: Option<String>,
    pub terminal_code: String,
    /// Outbox rows the server has not acknowledged yet.
    pub pending: i64,
    pub rejected: i64,
    /// Highest local outbox seq written (from the seq counter), and the highest the server
    /// acknowledged.
    pub last_seq: i64,
    pub acked_seq: i64,
    /// Local seq that wire seq 0 stands for (moves at each enrolment).
    pub seq_base: i64,
    /// The two change-log cursors; `None` until the first full snapshot is in.
    pub pull_cursor: Option<PullCursor>,
    /// Days acknowledged outbox rows are kept.
    pub retention_days: i64,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Why syncing stopped until the terminal is enrolled again.
    pub halted: Option<String>,
    /// True when `halted`: run `tillbook enroll` with a new code.
    pub reenroll_required: bool,
}

pub(crate) struct State {
    pub server_url: Option<String>,
    pub token: Option<String>,
    pub terminal_name: Option<String>,
    pub seq_base: i64,
    pub acked_seq: i64,
    pub pull_cursor: Option<i64>,
    pub pull_cursor_store: Option<i64>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub halted: Option<String>,
}

pub(crate) fn state(conn: &Connection) -> Result<State> {
    Ok(conn.query_row(
        "SELECT server_url, token, terminal_name, seq_base, acked_seq, pull_cursor, last_success_at,
                last_error, last_error_at, halted, pull_cursor_store FROM sync_state WHERE id = 1",
        [],
        |r| {
            Ok(State {
                server_url: r.get(0)?,
                token: r.get(1)?,
                terminal_name: r.get(2)?,
                seq_base: r.get(3)?,
                acked_seq: r.get(4)?,
                pull_cursor: r.get(5)?,
                last_success_at: r.get(6)?,
                last_error: r.get(7)?,
                last_error_at: r.get(8)?,
                halted: r.get(9)?,
                pull_cursor_store: r.get(10)?,
            })
        },
    )?)
}

/// The highest outbox seq ever written: the counter, never `MAX(seq)` of a pruned table.
pub(crate) fn last_seq(conn: &Connection) -> Result<i64> {
    db::counter(conn, "outbox_seq")
}

/// Stops syncing until the terminal is enrolled again (kept in the book).
pub(crate) fn halt(conn: &Connection, why: &str) -> Result<()> {
    conn.execute("UPDATE sync_state SET halted = ?1 WHERE id = 1", [why])?;
    Ok(())
}

/// Halts when the server has applied more of this terminal than the book holds: the book was
/// restored or copied.
pub(crate) fn check_not_ahead(conn: &Connection, s: &State, server_seq: u64) -> Result<Option<String>> {
    let ours = last_seq(conn)? - s.seq_base;
    if i64::try_from(server_seq).map_or(true, |v| v > ours) {
        let why = format!(
            "the server has applied seq {server_seq} from this terminal but this book only holds {ours}: \
             it was restored or copied. Enrol it again with a new code (`tillbook enroll`)"
        );
        halt(conn, &why)?;
        return Ok(Some(why));
    }
    Ok(None)
}

/// `meta` key marking a demo book (`init --demo`) that has not been enrolled yet: set by
/// `load_demo`, cleared by the first enrolment, which leaves demo mode ([`leave_demo`]).
pub(crate) const DEMO_KEY: &str = "demo";

pub(crate) fn is_demo(conn: &Connection) -> Result<bool> {
    Ok(db::meta_get(conn, DEMO_KEY)?.is_some())
}

/// The tables a demo book empties when it leaves demo mode, children before parents (foreign
/// keys are on). Every other table is kept (see the test that checks each table is placed).
const DEMO_TABLES: [&str; 15] = [
    "refund_lines",
    "refund_tenders",
    "refunds",
    "payments",
    "order_taxes",
    "order_events",
    "order_lines",
    "orders",
    "cash_movements",
    "shifts",
    "stock_holds",
    "session_lines",
    "sessions",
    "stock_ledger",
    "outbox",
];

/// Leaves demo mode, inside the enrolment's transaction. Everything a demo book holds was
/// written before its first enrolment, so all of it is demo: the outbox is dropped (never
/// sent), and with it the business data it spoke of: orders and everything tied to them
/// (lines, taxes, events, payments, refunds), sessions, baskets and their holds (unique holds
/// included), shifts and their cash moves, the stock ledger (the server's snapshot comes with
/// the next pull), and the unique items' sold/reserved marks. The catalog, channels, settings
/// and staff stay; counters never go back. Returns the outbox counter: the new `seq_base`, so
/// the first real event is wire seq 1.
fn leave_demo(conn: &Connection) -> Result<i64> {
    for table in DEMO_TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    conn.execute(
        "UPDATE products SET sold_by = NULL, reserved_by = NULL, reserved_until = NULL
         WHERE sold_by IS NOT NULL OR reserved_by IS NOT NULL OR reserved_until IS NOT NULL",
        [],
    )?;
    conn.execute("DELETE FROM meta WHERE key = ?1", [DEMO_KEY])?;
    last_seq(conn)
}

/// The server's wire seq as a local seq.
pub(crate) fn local_seq(s: &State, wire: u64) -> Result<i64> {
    i64::try_from(wire)
        .ok()
        .and_then(|w| w.checked_add(s.seq_base))
        .ok_or_else(|| crate::Error::new(ErrorCode::SyncRejected, format!("the server sent an impossible seq {wire}")))
}

impl Book {
    /// Records a successful enrolment: the server's terminal id, store and terminal code become
    /// this book's (orders rung up before keep their references; new ones use the new code).
    /// Rows already acknowledged under an earlier enrolment are not sent again, unsent ones go
    /// under the new identity, a halt is cleared, and the next pull takes a full snapshot.
    ///
    /// **A demo book leaves demo mode here.** A book made with demo data (`init --demo`, the
    /// app's first start) is marked a demo until its first enrolment, and everything it holds
    /// then is demo: the demo's orders and shift and whatever was rung up on it since. In this
    /// same transaction nothing of it is ever sent: its outbox rows are dropped and `seq_base`
    /// becomes the outbox counter (which never goes back), so the server's first event from
    /// this till, wire seq 1, is its first real one. Its orders with their lines, taxes,
    /// events, payments and refunds, its sessions and holds, shifts and cash moves and its
    /// stock ledger are removed; the catalog, the shop's settings and the staff stay (staff
    /// pulled from the back office then turn off the local ones). No shift is open afterwards:
    /// the till asks for a float (`no_open_shift`). Order references keep counting up. A book
    /// that never was a demo, or one enrolled before, keeps and sends all it sold.
    pub fn enroll(&mut self, server_url: &str, resp: &EnrollResponse) -> Result<Enrollment> {
        settings::validate_terminal_code(&resp.terminal_code)?;
        bounds::text("store", &resp.store, bounds::MAX_CODE, false)?;
        bounds::text("store name", &resp.store_name, bounds::MAX_TEXT, true)?;
        bounds::text("terminal name", &resp.name, bounds::MAX_TEXT, true)?;
        let tx = db::write_tx(&mut self.conn)?;
        let s = state(&tx)?;
        let seq_base = if is_demo(&tx)? { leave_demo(&tx)? } else { s.acked_seq.max(s.seq_base) };
        db::meta_set(&tx, "terminal_id", &resp.terminal_id.to_string())?;
        db::meta_set(&tx, "terminal_code", &resp.terminal_code)?;
        db::meta_set(&tx, "store", &resp.store)?;
        db::meta_set(&tx, "store_name", &resp.store_name)?;
        tx.execute(
            "UPDATE sync_state SET server_url = ?1, token = ?2, terminal_name = ?3, seq_base = ?4,
                 pull_cursor = NULL, pull_cursor_store = NULL, halted = NULL, last_error = NULL,
                 last_error_at = NULL WHERE id = 1",
            rusqlite::params![server_url, resp.token, resp.name, seq_base],
        )?;
        tx.execute("DELETE FROM server_stock", [])?;
        tx.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sent'", [])?;
        let fresh = settings::read(&tx)?;
        tx.commit()?;
        self.settings = fresh;
        self.enrollment()
    }

    /// True while the book is a demo (made with demo data — `init --demo`, the app's first
    /// start — and never enrolled): its first enrolment removes the demo data and sends none
    /// of it (see [`Book::enroll`]).
    pub fn is_demo(&self) -> Result<bool> {
        is_demo(&self.conn)
    }

    /// The enrolment, or `not_enrolled`; `reenroll_required` when syncing was halted.
    pub fn enrollment(&self) -> Result<Enrollment> {
        let s = state(&self.conn)?;
        if let Some(why) = s.halted {
            return err(ErrorCode::ReenrollRequired, why);
        }
        match (s.server_url, s.token) {
            (Some(server_url), Some(token)) => Ok(Enrollment {
                server_url,
                terminal_id: self.settings.terminal_id,
                terminal_name: s.terminal_name.unwrap_or_default(),
                store: self.settings.store.clone(),
                store_name: self.settings.store_name.clone(),
                terminal_code: self.settings.terminal_code.clone(),
                token,
            }),
            _ => err(ErrorCode::NotEnrolled, "this terminal is not enrolled: run `tillbook enroll --server URL --code CODE`"),
        }
    }

    /// Stops syncing under this identity until the terminal is enrolled again (for an answer
    /// only the sync client sees, such as a 422 `payload_mismatch`). Kept in the book.
    pub fn halt_sync(&mut self, why: &str) -> Result<()> {
        let tx = db::write_tx(&mut self.conn)?;
        halt(&tx, why)?;
        tx.commit()?;
        Ok(())
    }

    /// Records the outcome of a sync round.
    pub fn record_sync_result(&mut self, error: Option<&str>) -> Result<()> {
        let now = fmt_time(self.now());
        let tx = db::write_tx(&mut self.conn)?;
        match error {
            None => tx.execute("UPDATE sync_state SET last_success_at = ?1, last_error = NULL WHERE id = 1", [now])?,
            Some(e) => tx.execute("UPDATE sync_state SET last_error = ?1, last_error_at = ?2 WHERE id = 1", [e, &now])?,
        };
        tx.commit()?;
        Ok(())
    }

    /// Queue length, last success and last error, and whether syncing stopped.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let s = state(&self.conn)?;
        let last = last_seq(&self.conn)?;
        let rejected: i64 = self.conn.query_row("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'", [], |r| r.get(0))?;
        let acked = s.acked_seq.max(s.seq_base);
        let pull_cursor = match (s.pull_cursor, s.pull_cursor_store) {
            (Some(chain), Some(store)) => Some(PullCursor { chain: chain as u64, store: store as u64 }),
            _ => None,
        };
        Ok(SyncStatus {
            enrolled: s.server_url.is_some() && s.token.is_some(),
            server_url: s.server_url,
            terminal_id: self.settings.terminal_id,
            store: self.settings.store.clone(),
            terminal_code: self.settings.terminal_code.clone(),
            pending: last - acked,
            rejected,
            last_seq: last,
            acked_seq: acked,
            seq_base: s.seq_base,
            pull_cursor,
            retention_days: settings::read(&self.conn)?.outbox_retention_days,
            last_success_at: s.last_success_at.as_deref().map(parse_time),
            last_error: s.last_error,
            last_error_at: s.last_error_at.as_deref().map(parse_time),
            reenroll_required: s.halted.is_some(),
            halted: s.halted,
        })
    }
}

#[cfg(test)]
mod tests {
    use tillbook_protocol::sync::EnrollResponse;
    use uuid::Uuid;

    use crate::{Book, CommitOptions, ErrorCode, InitOptions, PayOptions, Tender};

    fn answer(code: &str) -> EnrollResponse {
        EnrollResponse {
            terminal_id: Uuid::now_v7(),
            name: format!("Till {code}"),
            token: "secret".into(),
            protocol: tillbook_protocol::PROTOCOL_VERSION,
            store: "main".into(),
            store_name: "Main".into(),
            terminal_code: code.into(),
        }
    }

    fn sell(book: &mut Book, sku: &str, key: &str) -> String {
        let s = book.open_session(None, None).unwrap().session_key;
        book.add_line(&s, sku, 1, None).unwrap();
        let r = book.commit(&s, key, CommitOptions::default()).unwrap().order_ref;
        book.pay(&r, &[Tender::Cash { tendered_q: 100_000 }], PayOptions::default()).unwrap();
        r
    }

    fn count(book: &Book, table: &str) -> i64 {
        book.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }

    /// Every table that holds what a till did (as opposed to what it sells and how).
    const BUSINESS: [&str; 15] = [
        "orders", "order_lines", "order_taxes", "order_events", "payments", "refunds", "refund_tenders",
        "refund_lines", "shifts", "cash_movements", "sessions", "session_lines", "stock_holds", "stock_ledger", "outbox",
    ];

    #[test]
    fn a_demo_book_leaves_demo_mode_at_its_first_enrolment_and_sends_nothing_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::init(&dir.path().join("book.sqlite"), InitOptions { demo: true, ..Default::default() }).unwrap();
        assert!(book.is_demo().unwrap());
        sell(&mut book, "LATTE", "on-the-demo");
        let basket = book.open_session(None, None).unwrap().session_key;
        book.add_line(&basket, "ESPRESSO", 1, None).unwrap();
        let (products, staff, shop) = (book.products(None).unwrap().len(), book.staff_list().unwrap(), book.settings().shop_name.clone());
        let written = book.sync_status().unwrap().last_seq;
        let refs_before = book.orders(None, 100).unwrap().len() as i64;

        book.enroll("http://server", &answer("T05")).unwrap();
        assert!(!book.is_demo().unwrap());
        for table in BUSINESS {
            assert_eq!(count(&book, table), 0, "{table}");
        }
        let s = book.sync_status().unwrap();
        assert_eq!((s.last_seq, s.seq_base, s.acked_seq, s.pending), (written, written, written, 0), "{s:?}");
        assert!(book.push_page(100).unwrap().is_empty());
        assert!(book.current_shift().unwrap().is_none());
        assert_eq!((book.products(None).unwrap().len(), book.staff_list().unwrap(), book.settings().shop_name.clone()), (products, staff, shop));
        assert_eq!(book.settings().terminal_code, "T05");
        // Selling asks for a float first; then the first real events are wire seqs 1, 2…
        let s = book.open_session(None, None).unwrap().session_key;
        book.add_line(&s, "LATTE", 1, None).unwrap();
        assert_eq!(book.commit(&s, "k", CommitOptions::default()).unwrap_err().code, ErrorCode::NoOpenShift);
        book.open_shift(1_000).unwrap();
        let real = book.commit(&s, "k", CommitOptions::default()).unwrap().order_ref;
        assert!(real.ends_with(&format!("-T05-{:04}", refs_before + 1)), "references keep counting up: {real}");
        let page = book.push_page(100).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(page.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), vec!["shift.opened", "order.committed"]);

        // Enrolled again (a new code): no longer a demo, so nothing is removed and the unsent
        // rows go under the new identity.
        book.enroll("http://server", &answer("T06")).unwrap();
        assert_eq!(book.orders(None, 100).unwrap().len(), 1);
        assert!(book.current_shift().unwrap().is_some());
        let s = book.sync_status().unwrap();
        assert_eq!((s.seq_base, s.pending), (written, 2), "{s:?}");
        assert_eq!(book.push_page(100).unwrap().len(), 2);
    }

    /// Each table of the book is either emptied when a demo leaves demo mode or kept on
    /// purpose: a table added by a later migration must be placed in one list or the other.
    #[test]
    fn every_table_is_either_cleared_or_kept_when_a_demo_is_enrolled() {
        // What the till sells and how (the pull refreshes it), who works there, its identity
        // and sync state (`server_stock` is emptied by every enrolment).
        const KEPT: [&str; 9] =
            ["meta", "counters", "products", "barcodes", "channels", "staff", "pin_attempts", "sync_state", "server_stock"];
        let dir = tempfile::tempdir().unwrap();
        let book = Book::init(&dir.path().join("book.sqlite"), InitOptions::default()).unwrap();
        let tables: Vec<String> = book
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let unplaced: Vec<&String> =
            tables.iter().filter(|t| !super::DEMO_TABLES.contains(&t.as_str()) && !KEPT.contains(&t.as_str())).collect();
        assert!(unplaced.is_empty(), "tables neither cleared nor kept when a demo is enrolled: {unplaced:?}");
        for t in super::DEMO_TABLES.iter().chain(KEPT.iter()) {
            assert!(tables.iter().any(|x| x == t), "{t} is not a table of the book");
        }
    }

    #[test]
    fn a_book_that_never_was_a_demo_keeps_and_sends_what_it_sold_before_enrolment() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::init(&dir.path().join("book.sqlite"), InitOptions::default()).unwrap();
        let records: Vec<_> = tillbook_protocol::catalog::demo_products()
            .into_iter()
            .map(|p| crate::ProductRecord { currency: Some("BRL".into()), ..p })
            .collect();
        book.upsert_products(&records).unwrap();
        assert!(!book.is_demo().unwrap());
        book.open_shift(0).unwrap();
        let r = sell(&mut book, "LATTE", "before");
        let written = book.sync_status().unwrap().last_seq;
        book.enroll("http://server", &answer("T02")).unwrap();
        assert_eq!(book.order(&r).unwrap().order_ref, r);
        assert!(book.current_shift().unwrap().is_some());
        let s = book.sync_status().unwrap();
        assert_eq!((s.seq_base, s.pending), (0, written), "{s:?}");
        assert_eq!(book.push_page(100).unwrap().first().map(|e| e.seq), Some(1));
    }
}
