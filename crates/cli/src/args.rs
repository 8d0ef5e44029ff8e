//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tillbook: the offline-first till, headless.
#[derive(Debug, Parser)]
#[command(name = "tillbook", version, about, propagate_version = true)]
pub struct Cli {
    /// Directory holding the book (default: the platform's data directory).
    #[arg(long, global = true, env = "TILLBOOK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Print one JSON object per command; errors as {"code", "message"}.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new book in the data directory.
    Init(InitArgs),
    /// Products: import and list.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Open baskets, tabs and draft orders.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Turn a session into an order.
    Commit(CommitArgs),
    /// Committed orders.
    #[command(subcommand)]
    Order(OrderCmd),
    /// Stock levels and adjustments.
    #[command(subcommand)]
    Stock(StockCmd),
    /// Changes waiting for the server.
    #[command(subcommand)]
    Outbox(OutboxCmd),
    /// Enrol this terminal with a server, using a one-time code from the back office.
    Enroll {
        /// The server's base URL, e.g. http://127.0.0.1:8740
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
    },
    /// Push the outbox and pull changes.
    #[command(subcommand)]
    Sync(SyncCmd),
    /// The book's settings: show them, or change one.
    #[command(subcommand)]
    Settings(SettingsCmd),
}

#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// Every setting of the book.
    Show,
    /// Change one setting: outbox_retention_days (1-3650) or hold_ttl_secs (1-604800).
    Set {
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SyncCmd {
    /// Push everything and pull everything; exits 0 when the queue is empty and the cursor current.
    Run {
        /// Keep syncing (every --interval seconds; backoff with jitter while the server is away).
        #[arg(long)]
        watch: bool,
        #[arg(long, default_value_t = 5)]
        interval: u64,
        /// Outbox rows per push request.
        #[arg(long, default_value_t = 200)]
        page: usize,
    },
    /// Queue length, last success, last error.
    Status,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Terminal code used in order references.
    #[arg(long, default_value = "T01")]
    pub terminal_code: String,
    /// ISO-4217 currency of every price.
    #[arg(long, default_value = "BRL")]
    pub currency: String,
    /// Display locale.
    #[arg(long, default_value = "pt-BR")]
    pub locale: String,
    /// Order reference prefix.
    #[arg(long, default_value = "ORD-")]
    pub order_prefix: String,
    /// Load the demo catalog, stock and orders.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// Import products from a .csv or .json file (all rows or none).
    Import { file: PathBuf },
    /// List products.
    List {
        /// Only products whose SKU, name, category or barcode contains this.
        #[arg(long)]
        search: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// Open a session, optionally for a handle such as table:4.
    Open {
        #[arg(long, value_name = "KIND:REF")]
        handle: Option<String>,
        #[arg(long, default_value = "pos")]
        channel: String,
    },
    /// Add a product (SKU or barcode).
    Add {
        key: String,
        sku: String,
        #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
        qty: i64,
        /// Unit price in minor units (when the channel allows a caller's price).
        #[arg(long, value_name = "MINOR", allow_negative_numbers = true)]
        unit_price: Option<i64>,
    },
    /// Set a line's quantity.
    SetQty {
        key: String,
        line_id: String,
        #[arg(allow_negative_numbers = true)]
        qty: i64,
    },
    /// Remove a line.
    Remove { key: String, line_id: String },
    /// Set a discount in minor units: the order's, or a line's with --line.
    Discount {
        key: String,
        #[arg(allow_negative_numbers = true)]
        amount: i64,
        #[arg(long)]
        line: Option<String>,
    },
    /// Set the session's note (empty text clears it).
    Note { key: String, text: String },
    /// Show lines, totals and issues.
    Show { key: String },
    /// Run the stock and price checks and record the revision they saw.
    Check { key: String },
    /// List sessions.
    List {
        /// open, committed, abandoned or all.
        #[arg(long, default_value = "open")]
        state: String,
    },
    /// Abandon a session and release its stock holds.
    Abandon { key: String },
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    pub key: String,
    /// The same key always returns the same order.
    #[arg(long)]
    pub idempotency_key: String,
    /// Fail with stale_check if the session changed after this checked revision.
    #[arg(long)]
    pub checked_revision: Option<i64>,
    #[arg(long)]
    pub actor: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// List orders, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show an order with its lines, events and sync state.
    Show {
        #[arg(value_name = "REF")]
        order_ref: String,
    },
    /// Move an order along its channel's flow.
    Transition {
        #[arg(value_name = "REF")]
        order_ref: String,
        status: String,
        #[arg(long, default_value = "cashier")]
        actor: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Cancel an order and return its stock.
    Cancel {
        #[arg(value_name = "REF")]
        order_ref: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, default_value = "cashier")]
        actor: String,
    },
    /// Set a line's kitchen status (processing, ready, delivered, cancelled).
    Item {
        #[arg(value_name = "REF")]
        order_ref: String,
        line_no: i64,
        status: String,
        #[arg(long, default_value = "kitchen")]
        actor: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StockCmd {
    /// Stock of one SKU or of every product.
    Show { sku: Option<String> },
    /// Record a signed change (receiving, breakage…).
    Adjust {
        sku: String,
        #[arg(allow_negative_numbers = true)]
        delta: i64,
        /// receiving, adjustment, or any text (recorded as an adjustment with that note).
        #[arg(long)]
        reason: String,
    },
    /// Record a physical count: on-hand becomes the counted quantity.
    Count {
        sku: String,
        #[arg(allow_negative_numbers = true)]
        counted: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCmd {
    /// Outbox rows with their sync state.
    List {
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
}
