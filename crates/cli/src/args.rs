//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{ArgMatches, Args, Parser, Subcommand};
use tillbook_orderbook::Tender;

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

    /// A manager's PIN approving what this command does when the signed-in staff member may
    /// not (refunds, cancelling a paid order, large discounts, cash out, no sale, closing a
    /// shift with a difference).
    #[arg(long, global = true, value_name = "PIN")]
    pub pin: Option<String>,

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
    /// Pay an order: one tender, or several for a split (applied in the order given).
    Pay(PayArgs),
    /// Give money back on a paid order, by amount or by line.
    Refund(RefundArgs),
    /// Cancel the orders left unpaid past their payment window (every command does this first).
    Sweep,
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
    /// Who is at the till: sign in with a PIN, sign out, see who is signed in.
    #[command(subcommand)]
    Staff(StaffCmd),
    /// The cash-drawer shift: open with a float, cash in and out, X-report, close with a count.
    #[command(subcommand)]
    Shift(ShiftCmd),
    /// An order's receipt: text for the screen, or ESC/POS bytes for a thermal printer.
    Receipt(ReceiptArgs),
}

#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// Sign in for this data directory (every later command acts as this staff member).
    Login { pin: String },
    /// Sign out: the till's default cashier acts again.
    Logout,
    /// The staff member signed in.
    Whoami,
    /// The till's staff (pulled from the back office).
    List,
    /// Add a staff member on a till that is not enrolled yet (enrolled tills take staff from
    /// the back office).
    Add {
        name: String,
        /// cashier or manager.
        #[arg(long, default_value = "cashier")]
        role: String,
        /// Their PIN (4-8 digits).
        #[arg(long, value_name = "PIN")]
        new_pin: String,
    },
}

/// Where a report or receipt's ESC/POS bytes go, and the paper they are laid out for.
#[derive(Debug, Args)]
pub struct PrintArgs {
    /// Write ESC/POS bytes to this file or printer device (e.g. /dev/usb/lp0).
    #[arg(long, value_name = "PATH")]
    pub escpos: Option<PathBuf>,
    /// Paper width in millimetres: 58 (32 columns) or 80 (48 columns).
    #[arg(long, default_value_t = 80, value_parser = paper_width)]
    pub width: u32,
}

fn paper_width(s: &str) -> Result<u32, String> {
    match s {
        "58" => Ok(58),
        "80" => Ok(80),
        _ => Err(format!("{s:?} is not a paper width: 58 or 80")),
    }
}

#[derive(Debug, Subcommand)]
pub enum ShiftCmd {
    /// Open a shift with the cash float in the drawer (minor units).
    Open {
        #[arg(long, value_name = "MINOR", allow_negative_numbers = true)]
        float: i64,
    },
    /// Put cash into the drawer.
    CashIn {
        #[arg(value_name = "MINOR", allow_negative_numbers = true)]
        amount: i64,
        #[arg(long)]
        reason: String,
    },
    /// Take cash out of the drawer (needs the cash_out permission).
    CashOut {
        #[arg(value_name = "MINOR", allow_negative_numbers = true)]
        amount: i64,
        #[arg(long)]
        reason: String,
    },
    /// Open the drawer without a sale (needs the no_sale permission).
    NoSale {
        #[arg(long)]
        reason: String,
    },
    /// The open shift's figures so far, without closing it.
    XReport {
        #[command(flatten)]
        print: PrintArgs,
    },
    /// Count the drawer and close the shift; prints the Z-report.
    Close {
        #[arg(long, value_name = "MINOR", allow_negative_numbers = true)]
        counted: i64,
        #[command(flatten)]
        print: PrintArgs,
    },
    /// The open shift, or the shift with this id.
    Show { shift_id: Option<String> },
    /// Recent shifts, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Debug, Args)]
pub struct ReceiptArgs {
    #[arg(value_name = "REF")]
    pub order_ref: String,
    /// A refund's receipt instead of the sale's: the refund id or its idempotency key.
    #[arg(long, value_name = "REFUND")]
    pub refund: Option<String>,
    /// Mark it as a copy (a reprint).
    #[arg(long)]
    pub copy: bool,
    #[command(flatten)]
    pub print: PrintArgs,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// Every setting of the book.
    Show,
    /// Change one setting (`settings show` lists them with what each takes).
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

#[derive(Debug, Args)]
pub struct PayArgs {
    #[arg(value_name = "REF")]
    pub order_ref: String,
    /// Cash handed over, in minor units (beyond what is due is change). Repeatable.
    #[arg(long, value_name = "MINOR", allow_negative_numbers = true)]
    pub cash: Vec<i64>,
    /// A card number, taken through the payment backend. Repeatable.
    #[arg(long, value_name = "NUMBER")]
    pub card: Vec<String>,
    /// A card taken on an external terminal: the terminal's reference (give --last4 after it).
    #[arg(long, value_name = "REF")]
    pub card_ref: Vec<String>,
    /// The last four digits of the card of the --card-ref before it.
    #[arg(long, value_name = "NNNN")]
    pub last4: Vec<String>,
    /// A tender method configured in tender_methods (pix, voucher…). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub method: Vec<String>,
    /// The amount, in minor units, of the --card, --card-ref or --method just before it
    /// (without it: whatever is still due).
    #[arg(long, value_name = "MINOR", allow_negative_numbers = true)]
    pub amount: Vec<i64>,
    #[arg(long, default_value = "cashier")]
    pub actor: String,
    /// The tenders in command-line order (filled from the options above by [`pay_tenders`]).
    #[arg(skip)]
    pub tenders: Vec<Tender>,
}

#[derive(Debug, Args)]
pub struct RefundArgs {
    #[arg(value_name = "REF")]
    pub order_ref: String,
    /// Give back this amount, in minor units.
    #[arg(long, value_name = "MINOR", allow_negative_numbers = true, conflicts_with_all = ["line", "qty"])]
    pub amount: Option<i64>,
    /// Give back units of this line (with --qty). Repeatable.
    #[arg(long, value_name = "LINE_NO", allow_negative_numbers = true)]
    pub line: Vec<i64>,
    /// How many units of the --line before it.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub qty: Vec<i64>,
    /// Put the refunded units back in stock.
    #[arg(long)]
    pub restock: bool,
    /// The same key always gives the same refund.
    #[arg(long)]
    pub idempotency_key: String,
    #[arg(long)]
    pub reason: Option<String>,
    #[arg(long, default_value = "cashier")]
    pub actor: String,
}

/// The tenders of `tillbook pay` in command-line order (clap's indices): `--cash`, `--card`,
/// `--card-ref` and `--method` each start one; `--amount` sets the amount of the one before it,
/// `--last4` the card digits of the `--card-ref` before it.
pub fn pay_tenders(m: &ArgMatches) -> Result<Vec<Tender>, String> {
    let mut items: Vec<(usize, &str, String)> = Vec::new();
    for id in ["cash", "card", "card_ref", "last4", "method", "amount"] {
        if let (Some(indices), Some(values)) = (m.indices_of(id), m.get_raw(id)) {
            for (i, v) in indices.zip(values) {
                items.push((i, id, v.to_string_lossy().into_owned()));
            }
        }
    }
    items.sort_by_key(|(i, _, _)| *i);
    let number = |v: &str| v.trim().parse::<i64>().map_err(|_| format!("{v:?} is not a whole number of minor units"));
    let mut tenders: Vec<Tender> = Vec::new();
    for (_, id, v) in items {
        match id {
            "cash" => tenders.push(Tender::Cash { tendered_q: number(&v)? }),
            "card" => tenders.push(Tender::Card { number: v, amount_q: None }),
            "card_ref" => tenders.push(Tender::ExternalCard { last4: String::new(), reference: v, amount_q: None }),
            "method" => tenders.push(Tender::Method { name: v, amount_q: None }),
            "amount" => match tenders.last_mut() {
                Some(Tender::Card { amount_q, .. } | Tender::ExternalCard { amount_q, .. } | Tender::Method { amount_q, .. }) => {
                    if amount_q.is_some() {
                        return Err("--amount is given twice for one tender".into());
                    }
                    *amount_q = Some(number(&v)?);
                }
                Some(Tender::Cash { .. } | Tender::ExactCash) => return Err("--amount does not apply to --cash: give the cash handed over as --cash N".into()),
                None => return Err("--amount must follow the --card, --card-ref or --method it applies to".into()),
            },
            _ => match tenders.last_mut() {
                Some(Tender::ExternalCard { last4, .. }) if last4.is_empty() => *last4 = v,
                _ => return Err("--last4 must follow the --card-ref it belongs to".into()),
            },
        }
    }
    if tenders.is_empty() {
        return Err("give at least one tender: --cash N, --card NUMBER, --card-ref REF --last4 NNNN or --method NAME".into());
    }
    if tenders.iter().any(|t| matches!(t, Tender::ExternalCard { last4, .. } if last4.is_empty())) {
        return Err("--card-ref needs --last4 NNNN after it".into());
    }
    Ok(tenders)
}
