//! The Tillbook order book: every business rule of a till, over one SQLite file.
//!
//! A [`Book`] owns one connection to the terminal's book file. Every method that changes the
//! book runs in exactly one IMMEDIATE transaction: it either happens whole, together with its
//! outbox rows, or not at all (the one exception: a wrong PIN is recorded in a transaction of
//! its own, so the lockout counts it). The crate does no async, no HTTP and knows nothing of
//! Tauri.
//!
//! Every change is made by a staff member ([`staff`]: the one signed in, or the default
//! cashier) and sales, payments and refunds belong to the open cash-drawer [`shift`].

mod bounds;
pub mod catalog;
pub mod channel;
pub mod clock;
mod commit;
pub mod db;
mod demo;
pub mod error;
pub mod import;
pub mod money;
pub mod order;
pub mod outbox;
pub mod payment;
mod pull;
mod push;
pub mod session;
mod settings;
pub mod shift;
pub mod staff;
pub mod stock;
pub mod sync;
mod tax;
#[cfg(test)]
mod testkit;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use catalog::{OversellPolicy, Product, ProductRecord};
pub use channel::{Channel, EditPolicy, Flow, PricingPolicy};
pub use clock::{Clock, ManualTime};
pub use commit::{CommitOptions, CommitOutcome};
pub use error::{Error, ErrorCode, Result};
pub use order::{OrderEvent, OrderLineView, OrderSummary, OrderView};
pub use outbox::{OutboxRow, OutboxSummary, SyncState};
pub use payment::{
    Declined, GatewayAnswer, PayOptions, PayOutcome, PaymentBackend, PaymentStatus, PaymentView, RefundBy,
    RefundLineView, RefundOutcome, RefundRequest, RefundTenderView, RefundView, Tender, TestGateway,
};
pub use session::{Issue, LineView, SessionSummary, SessionView, Severity};
pub use settings::{
    Fee, InitOptions, Settings, DEFAULT_CLOSE_DIFFERENCE_Q, DEFAULT_MAX_DISCOUNT_BP, DEFAULT_PAYMENT_WINDOW_MINS,
    DEFAULT_RETENTION_DAYS, SETTABLE,
};
pub use shift::{ShiftClose, ShiftView};
pub use staff::StaffView;
pub use stock::{StockLevel, UniqueState};
pub use sync::{Enrollment, PushAck, SyncStatus};
pub use tillbook_protocol::events::StockReason;
pub use tillbook_protocol::shift::{CashMoveKind, CashMovementFigure, SalesFigure, ShiftFigures, TenderFigure};
pub use tillbook_protocol::staff::{Permission, Role};

/// The file name of the book inside a data directory.
pub const BOOK_FILE: &str = "book.sqlite";

/// A terminal's order book.
pub struct Book {
    conn: Connection,
    clock: Clock,
    settings: Settings,
    path: PathBuf,
    /// Where cards are authorized, captured and refunded ([`TestGateway`] unless replaced).
    backend: Box<dyn PaymentBackend + Send>,
    /// A manager's PIN offered for the next actions ([`Book::set_approval_pin`]).
    approval_pin: Option<String>,
}

/// Removes a book file and its WAL and shared-memory companions.
fn remove_book_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book").field("path", &self.path).field("terminal", &self.settings.terminal_code).finish()
    }
}

impl Book {
    /// Creates a new book at `path` (a file; see [`BOOK_FILE`]), with its default cashier
    /// ([`staff`]). A demo book also gets the demo manager, the café's catalog and stock, an
    /// open shift and its orders (see `demo.rs`).
    pub fn init(path: &Path, options: InitOptions) -> Result<Book> {
        let mut conn = db::create(path)?;
        let clock = Clock::system();
        let result = (|| {
            let tx = db::write_tx(&mut conn)?;
            settings::write_initial(&tx, &options)?;
            channel::upsert(&tx, &Channel::pos())?;
            tx.commit()?;
            Ok::<_, Error>(())
        })();
        if let Err(e) = result {
            drop(conn);
            remove_book_files(path);
            return Err(e);
        }
        let settings = settings::read(&conn)?;
        let mut book = Book::from_parts(conn, clock, settings, path);
        if options.demo {
            if let Err(e) = book.load_demo() {
                // A half-loaded demo is no book: leave nothing behind.
                drop(book);
                remove_book_files(path);
                return Err(e);
            }
        }
        Ok(book)
    }

    /// Opens an existing book.
    pub fn open(path: &Path) -> Result<Book> {
        let conn = db::open(path)?;
        let settings = settings::read(&conn)?;
        Ok(Book::from_parts(conn, Clock::system(), settings, path))
    }

    fn from_parts(conn: Connection, clock: Clock, settings: Settings, path: &Path) -> Book {
        Book { conn, clock, settings, path: path.to_path_buf(), backend: Box::new(TestGateway::new()), approval_pin: None }
    }

    /// Replaces the clock (tests move time forward with a manual one).
    pub fn with_clock(mut self, clock: Clock) -> Book {
        self.clock = clock;
        self
    }

    /// Replaces the payment backend cards go through (the built-in [`TestGateway`] by default).
    pub fn with_payment_backend(mut self, backend: Box<dyn PaymentBackend + Send>) -> Book {
        self.backend = backend;
        self
    }

    /// The book's current time, to the microsecond (the precision it stores).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read-only access to the connection, for checks such as `PRAGMA integrity_check`.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Products matching `search`, or all.
    pub fn products(&self, search: Option<&str>) -> Result<Vec<Product>> {
        catalog::list(&self.conn, search)
    }

    /// One product by SKU or barcode.
    pub fn product(&self, sku_or_barcode: &str) -> Result<Product> {
        catalog::resolve(&self.conn, sku_or_barcode)
    }

    /// Inserts or updates products; open sessions are re-priced or flagged in the same
    /// transaction. Returns how many records were written.
    pub fn upsert_products(&mut self, records: &[ProductRecord]) -> Result<usize> {
        let now = self.now();
        let currency = self.settings.currency.clone();
        let tx = db::write_tx(&mut self.conn)?;
        let changed = catalog::upsert(&tx, records, &currency, &clock::fmt_time(now))?;
        session::on_catalog_change(&tx, &changed, now)?;
        tx.commit()?;
        Ok(records.len())
    }

    /// Imports a CSV or JSON catalog file: all rows or none.
    pub fn import_catalog(&mut self, path: &Path) -> Result<usize> {
        let format = import::Format::from_path(path).ok_or_else(|| {
            Error::new(ErrorCode::ImportInvalid, format!("{}: expected a .csv or .json file", path.display()))
        })?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(ErrorCode::ImportInvalid, format!("{}: {e}", path.display())))?;
        let records = import::parse(&text, format, &self.settings.currency)?;
        self.upsert_products(&records)
    }

    /// Adds or replaces a channel.
    pub fn upsert_channel(&mut self, ch: &Channel) -> Result<()> {
        let tx = db::write_tx(&mut self.conn)?;
        channel::upsert(&tx, ch)?;
        tx.commit()?;
        Ok(())
    }

    pub fn channel(&self, code: &str) -> Result<Channel> {
        channel::get(&self.conn, code)
    }

    pub fn channels(&self) -> Result<Vec<Channel>> {
        channel::list(&self.conn)
    }

    /// `PRAGMA integrity_check` of the book file: `true` when SQLite says ok.
    pub fn integrity_ok(&self) -> Result<bool> {
        let s: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }
}
