//! Helpers of the book's unit tests: a book with a catalog and a manual clock, enrolment and
//! crafted server answers (no server).

use chrono::{DateTime, Duration, TimeZone, Utc};
use tillbook_protocol::catalog::{demo_products, OversellPolicy, ProductRecord};
use tillbook_protocol::events::{EventKind, EventPayload, UniqueHold};
use tillbook_protocol::sync::{Change, EnrollResponse, PullCursor, PullResponse, PushResponse, UniqueReservation};
use uuid::Uuid;

use crate::{Book, Clock, CommitOptions, InitOptions, ManualTime};

pub struct Kit {
    pub book: Book,
    pub time: ManualTime,
    clock: Clock,
    enrolled: bool,
    _dir: tempfile::TempDir,
}

/// A book with the demo catalog (no stock, no orders), a one-of-a-kind `RING` and an open
/// shift with no float, so tests can sell at once.
pub fn kit() -> Kit {
    let mut k = bare_kit();
    k.book.open_shift(0).unwrap();
    k
}

/// [`kit`] without a shift.
pub fn bare_kit() -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let book = Book::init(&dir.path().join("book.sqlite"), InitOptions::default()).unwrap();
    let (clock, time) = Clock::manual(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
    let mut book = book.with_clock(clock.clone());
    let mut records: Vec<ProductRecord> = demo_products();
    records.push(ProductRecord {
        sku: "RING".into(),
        name: "Silver ring".into(),
        price_q: 25_000,
        currency: None,
        category: None,
        barcodes: vec![],
        active: true,
        parent_sku: None,
        variant: None,
        unique: true,
        oversell: OversellPolicy::Allow,
        tax_rate_bp: None,
    });
    let records: Vec<ProductRecord> =
        records.into_iter().map(|p| ProductRecord { currency: Some("BRL".into()), ..p }).collect();
    book.upsert_products(&records).unwrap();
    Kit { book, time, clock, enrolled: false, _dir: dir }
}

impl Kit {
    /// Closes the book and opens it again (a restart), on the same manual clock.
    pub fn reopen(&mut self) {
        let path = self.book.path().to_path_buf();
        self.book = Book::open(&path).unwrap().with_clock(self.clock.clone());
    }

    pub fn tick(&self) {
        self.time.advance(Duration::seconds(1));
    }

    /// Enrols the book with a crafted answer. At the kit's first enrolment what the book wrote
    /// before (the kit's `shift.opened`) is then pushed and acknowledged, and the enrolment
    /// repeated, so the rows a test writes next are wire seqs 1, 2… and `pending` counts only
    /// them (local seqs still count the shift's row).
    pub fn enroll(&mut self, terminal_code: &str) -> EnrollResponse {
        let resp = EnrollResponse {
            terminal_id: Uuid::now_v7(),
            name: format!("Till {terminal_code}"),
            token: "secret".into(),
            protocol: tillbook_protocol::PROTOCOL_VERSION,
            store: "downtown".into(),
            store_name: "Downtown".into(),
            terminal_code: terminal_code.into(),
        };
        self.book.enroll("http://server", &resp).unwrap();
        let first = !std::mem::replace(&mut self.enrolled, true);
        let before = if first { self.book.push_page(10_000).unwrap() } else { Vec::new() };
        if let Some(last) = before.last() {
            self.book.ack_push(&answer(last.seq, false)).unwrap();
            self.book.enroll("http://server", &resp).unwrap();
        }
        resp
    }

    /// Sells `qty` of `sku` and returns the order reference.
    pub fn sell(&mut self, sku: &str, qty: i64) -> String {
        let s = self.book.open_session(None, None).unwrap();
        self.book.add_line(&s.session_key, sku, qty, None).unwrap();
        self.book.commit(&s.session_key, &s.session_key, CommitOptions::default()).unwrap().order_ref
    }

    /// Adds a local manager, "Mia", with PIN [`MANAGER_PIN`], and offers that PIN for the
    /// book's next actions (as `--pin` does).
    pub fn approve_as_manager(&mut self) -> crate::StaffView {
        let m = self.book.add_local_staff("Mia", crate::Role::Manager, MANAGER_PIN).unwrap();
        self.book.set_approval_pin(Some(MANAGER_PIN.into()));
        m
    }

    pub fn on_hand(&self, sku: &str) -> i64 {
        self.book.stock(Some(sku)).unwrap()[0].on_hand
    }

    /// The `unique.hold` payloads in the outbox, oldest first.
    pub fn unique_holds(&self) -> Vec<UniqueHold> {
        self.book
            .outbox(0, 10_000)
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == EventKind::UniqueHold.as_str())
            .map(|r| match EventPayload::from_value(EventKind::UniqueHold, r.payload).unwrap() {
                EventPayload::UniqueHold(h) => h,
                other => panic!("not a hold: {other:?}"),
            })
            .collect()
    }
}

/// The PIN of [`Kit::approve_as_manager`]'s manager.
pub const MANAGER_PIN: &str = "4321";

pub fn answer(last_applied_seq: u64, gap: bool) -> PushResponse {
    PushResponse { last_applied_seq, results: vec![], gap }
}

pub fn page(changes: Vec<Change>, last_applied_seq: u64) -> PullResponse {
    PullResponse { reset: false, changes, cursor: PullCursor { chain: 4, store: 7 }, has_more: false, last_applied_seq }
}

pub fn level(sku: &str, on_hand: i64) -> Change {
    Change::StockLevel { version: 1, sku: sku.into(), location: "main".into(), on_hand }
}

/// A unique item reserved by a till's open basket until `until`, or (`None`) by none.
pub fn reserved(sku: &str, by: Option<(Uuid, DateTime<Utc>)>) -> Change {
    Change::UniqueItem {
        version: 3,
        sku: sku.into(),
        sold_by: None,
        reserved: by.map(|(terminal_id, until)| UniqueReservation { terminal_id, until }),
    }
}
