//! Opening a book file: pragmas, identity check, migrations, and the write transaction.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use crate::error::{err, Error, ErrorCode, Result};

/// `PRAGMA application_id` of every Tillbook book ("TILL").
pub const APPLICATION_ID: i32 = 0x5449_4C4C;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/0001_book.sql")),
        M::up(include_str!("migrations/0002_sync.sql")),
        M::up(include_str!("migrations/0003_identity.sql")),
        M::up(include_str!("migrations/0004_reserved.sql")),
        M::up(include_str!("migrations/0005_payments.sql")),
        M::up(include_str!("migrations/0006_staff_shifts.sql")),
    ])
}

/// The schema version this build writes.
pub fn schema_version() -> usize {
    6
}

fn apply_pragmas(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Every statement of a ring-up and a commit stays prepared (the default keeps 16).
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Creates a new book file. Fails if one is already there.
pub fn create(path: &Path) -> Result<Connection> {
    if path.exists() && std::fs::metadata(path)?.len() > 0 {
        return err(
            ErrorCode::AlreadyInitialized,
            format!("{} already holds a book", path.display()),
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut conn = Connection::open(path)?;
    apply_pragmas(&conn)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens an existing book, upgrading its schema if this build is newer.
pub fn open(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return err(
            ErrorCode::NotInitialized,
            format!("no book at {} (run `tillbook init` first)", path.display()),
        );
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| not_a_book(path, e))?;
    if app_id != APPLICATION_ID {
        return err(
            ErrorCode::NotABook,
            format!("{} is a SQLite file but not a Tillbook book", path.display()),
        );
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > schema_version() as i64 {
        return err(
            ErrorCode::NewerSchema,
            format!(
                "{} was written by a newer Tillbook (schema {version}, this build knows {}); upgrade Tillbook",
                path.display(),
                schema_version()
            ),
        );
    }
    apply_pragmas(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn not_a_book(path: &Path, e: rusqlite::Error) -> Error {
    Error::new(ErrorCode::NotABook, format!("{} is not a Tillbook book: {e}", path.display()))
}

fn migrate(conn: &mut Connection) -> Result<()> {
    migrations()
        .to_latest(conn)
        .map_err(|e| Error::new(ErrorCode::Storage, format!("migration failed: {e}")))?;
    backfill_order_ids(conn)?;
    crate::staff::ensure_default_cashier(conn)
}

/// Gives every order written before schema 3 its `order_id`, and puts it in the payloads of
/// its outbox rows the server has not acknowledged yet (re-hashed; acknowledged rows are never
/// touched). Runs in one transaction; a crash leaves it to the next open.
fn backfill_order_ids(conn: &mut Connection) -> Result<()> {
    let missing: i64 = conn.query_row("SELECT COUNT(*) FROM orders WHERE order_id IS NULL", [], |r| r.get(0))?;
    if missing == 0 {
        return Ok(());
    }
    let tx = write_tx(conn)?;
    let acked: i64 = tx.query_row("SELECT MAX(acked_seq, seq_base) FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    let refs: Vec<String> = tx
        .prepare("SELECT order_ref FROM orders WHERE order_id IS NULL ORDER BY ref_seq")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for order_ref in refs {
        let order_id = uuid::Uuid::now_v7().to_string();
        tx.execute("UPDATE orders SET order_id = ?2 WHERE order_ref = ?1", [&order_ref, &order_id])?;
        let rows: Vec<(i64, String)> = tx
            .prepare("SELECT seq, payload FROM outbox WHERE order_ref = ?1 AND seq > ?2")?
            .query_map(rusqlite::params![order_ref, acked], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (seq, text) in rows {
            let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
            if obj.contains_key("order_id") {
                continue;
            }
            obj.insert("order_id".into(), serde_json::Value::String(order_id.clone()));
            let text = tillbook_protocol::canonical_json(&serde_json::Value::Object(obj));
            let hash = tillbook_protocol::text_hash(&text);
            tx.execute("UPDATE outbox SET payload = ?2, payload_hash = ?3 WHERE seq = ?1", rusqlite::params![seq, text, hash])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Starts the one kind of write transaction the book uses: IMMEDIATE, so the write lock is
/// taken up front and a busy book waits (busy_timeout) instead of failing mid-way.
pub fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// Reads a `meta` value.
pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a `meta` value.
pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// The current value of a counter (0 before its first use).
pub fn counter(conn: &Connection, name: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM counters WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Takes the next value of a gapless counter. Must run inside the write transaction that uses
/// it: a rollback gives the number back.
pub fn next_counter(conn: &Connection, name: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO counters(name, value) VALUES (?1, 1)
             ON CONFLICT(name) DO UPDATE SET value = value + 1
             RETURNING value",
        )?
        .query_row([name], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book written at schema 2 gets order ids, and its unacknowledged order payloads carry
    /// them (re-hashed); acknowledged rows stay as they were.
    #[test]
    fn schema_2_orders_are_backfilled() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations().to_version(&mut conn, 2).unwrap();
        for (r, seq) in [("ORD-1", 1), ("ORD-2", 2)] {
            conn.execute(
                "INSERT INTO orders(order_ref, ref_seq, session_key, idempotency_key, channel, status, currency,
                     subtotal_q, discount_q, total_q, item_count, business_date, committed_at)
                 VALUES (?1, ?2, ?1, ?1, 'pos', 'new', 'BRL', 0, 0, 0, 0, '2026-01-01', 'x')",
                rusqlite::params![r, seq],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO outbox(seq, event_id, kind, payload, payload_hash, order_ref, created_at)
                 VALUES (?1, ?2, 'order.committed', '{\"order_ref\":\"x\"}', 'h', ?3, 'x')",
                rusqlite::params![seq, format!("e{seq}"), r],
            )
            .unwrap();
        }
        conn.execute("UPDATE sync_state SET acked_seq = 1, pull_cursor = 7", []).unwrap();
        migrate(&mut conn).unwrap();
        let ids: Vec<Option<String>> =
            conn.prepare("SELECT order_id FROM orders").unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        assert!(ids.iter().all(|i| i.as_deref().is_some_and(|i| uuid::Uuid::parse_str(i).is_ok())));
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT payload, payload_hash FROM outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows[0], (r#"{"order_ref":"x"}"#.to_string(), "h".to_string()));
        assert!(rows[1].0.contains("order_id"));
        assert_eq!(rows[1].1, tillbook_protocol::text_hash(&rows[1].0));
        let cursor: Option<i64> = conn.query_row("SELECT pull_cursor FROM sync_state", [], |r| r.get(0)).unwrap();
        assert_eq!(cursor, None);
    }

    /// A schema-5 book keeps its orders; they belong to no shift, and the book gets its default
    /// cashier.
    #[test]
    fn schema_5_books_keep_their_data_and_get_a_default_cashier() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations().to_version(&mut conn, 5).unwrap();
        conn.execute(
            "INSERT INTO orders(order_ref, ref_seq, session_key, idempotency_key, channel, status, currency,
                 subtotal_q, discount_q, total_q, item_count, business_date, committed_at, order_id)
             VALUES ('ORD-1', 1, 's', 'k', 'pos', 'new', 'BRL', 750, 0, 750, 1, '2026-01-01', 'x', 'id-1')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let row: (i64, Option<String>, Option<String>) =
            conn.query_row("SELECT total_q, shift_id, staff_id FROM orders", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        assert_eq!(row, (750, None, None));
        let who = crate::staff::who(&conn).unwrap();
        assert_eq!((who.name.as_str(), who.role), ("Cashier", tillbook_protocol::staff::Role::Cashier));
        migrate(&mut conn).unwrap();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "one default cashier, however often the book opens");
    }

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
        assert_eq!(schema_version(), 6);
        assert_eq!(migrations().pending_migrations(&Connection::open_in_memory().unwrap()).unwrap(), 6);
    }
}
