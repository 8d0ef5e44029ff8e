//! One function per command: a call into the order book and its two renderings.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tillbook_orderbook::{Book, CommitOptions, Error, ErrorCode, InitOptions, Result, StockReason, BOOK_FILE};

use crate::args::{CatalogCmd, Command, OrderCmd, OutboxCmd, SessionCmd, SettingsCmd, StockCmd};
use crate::render::{self, money, table};

/// What a command prints: one JSON object, or text for a person.
pub struct Out {
    pub json: Value,
    pub text: String,
    /// Set when the command did something worth printing and still failed (a declined card):
    /// the process prints its output and exits non-zero with this code.
    pub failed: Option<Failed>,
}

/// A failure that is not an order-book error: its stable code and message.
pub struct Failed {
    pub code: String,
    pub message: String,
}

fn out(json: Value, text: impl Into<String>) -> Result<Out> {
    Ok(Out { json, text: text.into(), failed: None })
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("views serialise")
}

/// The platform's data directory for Tillbook.
pub fn default_data_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "tillbook")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| Error::new(ErrorCode::Io, "no home directory: pass --data-dir"))
}

pub fn run(data_dir: &Path, command: Command, approval_pin: Option<String>) -> Result<Out> {
    let path = data_dir.join(BOOK_FILE);
    if let Command::Init(a) = command {
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(Error::new(ErrorCode::NotABook, format!("{} is not a directory", data_dir.display())));
        }
        let book = Book::init(
            &path,
            InitOptions {
                terminal_code: a.terminal_code,
                currency: a.currency,
                locale: a.locale,
                order_prefix: a.order_prefix,
                demo: a.demo,
            },
        )?;
        let s = book.settings().clone();
        let orders = book.orders(None, 1000)?.len();
        let products = book.products(None)?.len();
        return out(
            json!({"data_dir": data_dir, "book": path, "settings": s, "products": products, "orders": orders}),
            format!(
                "New book at {}\nTerminal {} ({}), {} {}; {products} products, {orders} orders",
                path.display(),
                s.terminal_code,
                s.terminal_id,
                s.currency,
                s.locale
            ),
        );
    }
    if data_dir.exists() && !data_dir.is_dir() {
        return Err(Error::new(ErrorCode::NotABook, format!("{} is not a directory", data_dir.display())));
    }
    let mut book = Book::open(&path)?;
    book.set_approval_pin(approval_pin);
    // Orders left unpaid past their payment window are cancelled before any command sees the
    // book (`tillbook sweep` does it as its command, and reports what it cancelled).
    if !matches!(command, Command::Sweep) {
        book.sweep_payment_window()?;
    }
    match command {
        Command::Init(_) => unreachable!("handled above"),
        Command::Catalog(c) => catalog(&mut book, c),
        Command::Session(c) => session(&mut book, c),
        Command::Commit(a) => {
            let r = book.commit(&a.key, &a.idempotency_key, CommitOptions { checked_revision: a.checked_revision, actor: a.actor })?;
            let word = if r.replayed { "Already committed as" } else { "Committed" };
            let text = format!("{word} {}  total {}", r.order_ref, money(book.settings(), r.total_q));
            out(to_json(&r), text)
        }
        Command::Order(c) => order(&mut book, c),
        Command::Pay(a) => crate::pay::pay(&mut book, a),
        Command::Refund(a) => crate::pay::refund(&mut book, a),
        Command::Sweep => crate::pay::sweep(&mut book),
        Command::Enroll { server, code } => crate::sync::enroll(&mut book, &server, &code),
        Command::Sync(c) => crate::sync::sync(&mut book, c),
        Command::Stock(c) => stock(&mut book, c),
        Command::Settings(c) => settings(&mut book, c),
        Command::Staff(c) => crate::staff::staff(&mut book, c),
        Command::Shift(c) => crate::shift::shift(&mut book, c),
        Command::Receipt(a) => crate::receipt::receipt(&mut book, a),
        Command::Outbox(OutboxCmd::List { after, limit }) => {
            let rows = book.outbox(after, limit)?;
            let summary = book.outbox_summary()?;
            let table_rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.seq.to_string(),
                        r.kind.clone(),
                        outbox_subject(r),
                        render::word(&r.state),
                        r.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        r.event_id.to_string(),
                    ]
                })
                .collect();
            let text = format!(
                "{}\nPending: {}  sent: {}  applied: {}  rejected: {}",
                table(&["SEQ", "KIND", "ORDER / ITEM", "STATE", "CREATED", "EVENT ID"], &table_rows, &[0]),
                summary.pending,
                summary.sent,
                summary.applied,
                summary.rejected
            );
            out(json!({"events": rows, "summary": summary}), text)
        }
    }
}

/// A settable key's value in the settings' JSON (its field) and as text.
fn setting_value(s: &tillbook_orderbook::Settings, key: &str) -> (Value, String) {
    let json = to_json(s);
    let field = match key {
        "tax_rate" => "tax_rate_bp",
        "cash_rounding" => "cash_rounding_q",
        k => k,
    };
    let value = json.get(field).cloned().unwrap_or(Value::Null);
    let text = match key {
        "tax_rate" => tillbook_protocol::tax::format_percent(s.tax_rate_bp),
        "tender_methods" => s.tender_methods.join(","),
        "fees" => {
            let fees: Vec<String> = s
                .fees
                .iter()
                .map(|(m, f)| format!("{m}={}+{}", f.fixed_q, tillbook_protocol::tax::format_percent(f.bp)))
                .collect();
            fees.join(",")
        }
        "category_tax" => {
            let rates: Vec<String> =
                s.category_tax.iter().map(|(c, bp)| format!("{c}={}", tillbook_protocol::tax::format_percent(*bp))).collect();
            rates.join(",")
        }
        "tax_mode" => s.tax_mode.as_str().to_string(),
        _ => match &value {
            Value::String(t) => t.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        },
    };
    (value, text)
}

fn settings_text(s: &tillbook_orderbook::Settings) -> String {
    let fixed = [
        ("terminal_id", s.terminal_id.to_string()),
        ("terminal_code", s.terminal_code.clone()),
        ("store", s.store.clone().unwrap_or_default()),
        ("store_name", s.store_name.clone().unwrap_or_default()),
        ("currency", s.currency.clone()),
        ("order_prefix", s.order_prefix.clone()),
        ("location", s.location.clone()),
    ];
    let mut rows: Vec<Vec<String>> = fixed.into_iter().map(|(k, v)| vec![k.to_string(), v, String::new()]).collect();
    for (key, meaning) in tillbook_orderbook::SETTABLE {
        rows.push(vec![key.to_string(), setting_value(s, key).1, meaning.to_string()]);
    }
    format!("{}\nChange one with `tillbook settings set KEY VALUE`.", table(&["KEY", "VALUE", "SETTABLE AS"], &rows, &[]))
}

fn settings(book: &mut Book, c: SettingsCmd) -> Result<Out> {
    match c {
        SettingsCmd::Show => {
            let s = book.settings().clone();
            out(to_json(&s), settings_text(&s))
        }
        SettingsCmd::Set { key, value } => {
            let s = book.set_setting(&key, &value)?;
            let (set, stored) = setting_value(&s, &key);
            out(json!({"key": key, "value": set, "stored": stored, "settings": to_json(&s)}), format!("{key} = {stored}"))
        }
    }
}

fn catalog(book: &mut Book, c: CatalogCmd) -> Result<Out> {
    match c {
        CatalogCmd::Import { file } => {
            let n = book.import_catalog(&file)?;
            out(json!({"imported": n}), format!("Imported {n} products from {}", file.display()))
        }
        CatalogCmd::List { search } => {
            let products = book.products(search.as_deref())?;
            let s = book.settings();
            let rows: Vec<Vec<String>> = products
                .iter()
                .map(|p| {
                    vec![
                        p.sku.clone(),
                        p.name.clone(),
                        p.category.clone().unwrap_or_default(),
                        money(s, p.price_q),
                        if p.active { "yes" } else { "no" }.into(),
                        p.barcodes.join(" "),
                    ]
                })
                .collect();
            out(json!({"products": products}), table(&["SKU", "NAME", "CATEGORY", "PRICE", "ACTIVE", "BARCODES"], &rows, &[3]))
        }
    }
}

fn session(book: &mut Book, c: SessionCmd) -> Result<Out> {
    match c {
        SessionCmd::Open { handle, channel } => {
            let v = book.open_session(handle.as_deref(), Some(&channel))?;
            out(json!({"session_key": v.session_key, "handle": v.handle, "channel": v.channel}), v.session_key.clone())
        }
        SessionCmd::Add { key, sku, qty, unit_price } => {
            let l = book.add_line(&key, &sku, qty, unit_price)?;
            let text = format!("{}  {} x{}  {}", l.line_id, l.name, l.qty, money(book.settings(), l.total_q));
            out(to_json(&l), text)
        }
        SessionCmd::SetQty { key, line_id, qty } => {
            let l = book.set_quantity(&key, &line_id, qty)?;
            let text = format!("{}  {} x{}  {}", l.line_id, l.name, l.qty, money(book.settings(), l.total_q));
            out(to_json(&l), text)
        }
        SessionCmd::Remove { key, line_id } => {
            book.remove_line(&key, &line_id)?;
            out(json!({"removed": line_id}), format!("Removed {line_id}"))
        }
        SessionCmd::Discount { key, amount, line } => {
            match &line {
                Some(l) => {
                    book.set_line_discount(&key, l, amount)?;
                }
                None => book.set_discount(&key, amount)?,
            }
            show(book, &key)
        }
        SessionCmd::Note { key, text } => {
            book.set_note(&key, &text)?;
            show(book, &key)
        }
        SessionCmd::Show { key } => show(book, &key),
        SessionCmd::Check { key } => {
            let r = book.check_session(&key)?;
            let mut text = format!("Revision {}: {}", r.revision, if r.blocking { "blocked" } else { "ready to commit" });
            for i in &r.issues {
                text.push_str(&format!("\n{}: {} ({})", render::word(&i.severity), i.message, i.code));
            }
            out(to_json(&r), text)
        }
        SessionCmd::List { state } => {
            let list = book.sessions(Some(&state))?;
            let s = book.settings();
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|x| {
                    vec![
                        x.session_key.clone(),
                        x.handle.clone().unwrap_or_default(),
                        x.state.clone(),
                        x.total_items.to_string(),
                        money(s, x.total_q),
                        x.updated_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]
                })
                .collect();
            out(json!({"sessions": list}), table(&["SESSION", "HANDLE", "STATE", "ITEMS", "TOTAL", "UPDATED"], &rows, &[3, 4]))
        }
        SessionCmd::Abandon { key } => {
            book.abandon_session(&key)?;
            out(json!({"session_key": key, "state": "abandoned"}), format!("Abandoned {key}"))
        }
    }
}

fn show(book: &Book, key: &str) -> Result<Out> {
    let v = book.session(key)?;
    let text = render::session(book.settings(), &v);
    out(to_json(&v), text)
}

fn order(book: &mut Book, c: OrderCmd) -> Result<Out> {
    let v = match c {
        OrderCmd::List { status, limit } => {
            let list = book.orders(status.as_deref(), limit)?;
            let s = book.settings();
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|o| {
                    vec![
                        o.order_ref.clone(),
                        o.status.clone(),
                        o.item_count.to_string(),
                        money(s, o.total_q),
                        render::word(&o.payment_status),
                        if o.amount_due_q > 0 { money(s, o.amount_due_q) } else { String::new() },
                        render::word(&o.sync_state),
                        o.committed_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]
                })
                .collect();
            return out(json!({"orders": list}), table(&["REF", "STATUS", "ITEMS", "TOTAL", "PAYMENT", "DUE", "SYNC", "COMMITTED"], &rows, &[2, 3, 5]));
        }
        OrderCmd::Show { order_ref } => book.order(&order_ref)?,
        OrderCmd::Transition { order_ref, status, actor, reason } => {
            book.transition(&order_ref, &status, &actor, reason.as_deref())?
        }
        OrderCmd::Cancel { order_ref, reason, actor } => book.cancel_order(&order_ref, &actor, reason.as_deref())?,
        OrderCmd::Item { order_ref, line_no, status, actor } => book.set_item_status(&order_ref, line_no, &status, &actor)?,
    };
    let text = render::order(book.settings(), &v);
    out(to_json(&v), text)
}

fn stock(book: &mut Book, c: StockCmd) -> Result<Out> {
    let levels = match c {
        StockCmd::Show { sku } => book.stock(sku.as_deref())?,
        StockCmd::Adjust { sku, delta, reason } => {
            let (kind, note) = match StockReason::parse(reason.trim()) {
                Some(r @ (StockReason::Receiving | StockReason::Adjustment)) => (r, String::new()),
                _ => (StockReason::Adjustment, reason),
            };
            vec![book.adjust_stock(&sku, delta, kind, &note)?]
        }
        StockCmd::Count { sku, counted, note } => vec![book.adjust_stock(&sku, counted, StockReason::Count, &note)?],
    };
    let rows: Vec<Vec<String>> = levels
        .iter()
        .map(|l| {
            vec![
                l.sku.clone(),
                l.name.clone(),
                l.on_hand.to_string(),
                l.held.to_string(),
                l.available.to_string(),
                l.oversell.as_str().to_string(),
                l.unique_state.map(|u| render::word(&u)).unwrap_or_default(),
            ]
        })
        .collect();
    out(json!({"items": levels}), table(&["SKU", "NAME", "ON HAND", "HELD", "AVAILABLE", "OVERSELL", "UNIQUE"], &rows, &[2, 3, 4]))
}

/// What an outbox row is about, for the table: its order, or for a `unique.hold` the item and
/// whether a basket took it (until when) or let it go.
fn outbox_subject(r: &tillbook_orderbook::OutboxRow) -> String {
    if let Some(order_ref) = &r.order_ref {
        return order_ref.clone();
    }
    if r.kind == "unique.hold" {
        let sku = r.payload["sku"].as_str().unwrap_or_default();
        return match r.payload["until"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
            Some(until) => format!("{sku} held until {}", until.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S")),
            None => format!("{sku} released"),
        };
    }
    String::new()
}
