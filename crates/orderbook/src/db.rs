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
    ])
}

/// The schema version this build writes.
pub fn schema_version() -> usize {
    2
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
        .map_err(|e| Error::new(ErrorCode::Storage, format!("migration failed: {e}")))
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

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
        assert_eq!(schema_version(), 2);
    }
}
