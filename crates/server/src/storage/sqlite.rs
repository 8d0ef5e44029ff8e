//! The SQLite backend: one file, WAL, `synchronous=FULL`, one connection behind a mutex.
//!
//! Each op runs on a blocking thread inside one transaction (`BEGIN IMMEDIATE` for writes,
//! so the write lock is taken up front). The service code is async only in form: every
//! [`Tx`] call here completes at once, so the op is driven to the end with `block_on`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use crate::error::{Error, Result};
use crate::service::{self, Op, Reply};
use crate::storage::sql::{Row, Tx, Val};
use crate::storage::{BoxFuture, Storage};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_stores.sql"),
    include_str!("../../migrations/sqlite/0003_payments.sql"),
    include_str!("../../migrations/sqlite/0004_shifts_staff.sql"),
];

/// Whether SQLite reports a transient fault: the database is busy or locked by another
/// connection (past the busy timeout). Everything else is a fault of ours or of the file.
pub fn transient(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A database error as the server's error: busy/locked is [`Error::Storage`] (503), anything
/// else [`Error::Internal`] (500).
fn storage_err(e: rusqlite::Error) -> Error {
    if transient(&e) {
        Error::Storage(format!("sqlite: {e}"))
    } else {
        Error::Internal(format!("sqlite: {e}"))
    }
}

pub struct SqliteStorage {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStorage {
    /// Opens (creating if needed) and migrates the database file.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || open_blocking(&path))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        Ok(SqliteStorage {
            conn: Arc::new(Mutex::new(conn)),
        })
    }
}

fn open_blocking(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path).map_err(storage_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(storage_err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(storage_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(storage_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(storage_err)?;
    conn.set_prepared_statement_cache_capacity(256);
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    migrations.to_latest(&mut conn).map_err(|e| match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => storage_err(err),
        e => Error::Internal(format!("sqlite migrations: {e}")),
    })?;
    Ok(conn)
}

impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn run(&self, op: Op) -> BoxFuture<'_, Result<Reply>> {
        let conn = self.conn.clone();
        Box::pin(async move {
            let handle = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                // A panic mid-op unwound through the transaction, which rolled back: the
                // connection itself is fine.
                let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                let behavior = if op.read_only() {
                    TransactionBehavior::Deferred
                } else {
                    TransactionBehavior::Immediate
                };
                let tx = conn
                    .transaction_with_behavior(behavior)
                    .map_err(storage_err)?;
                let reply = handle.block_on(service::execute(&mut SqliteTx { tx: &tx }, op))?;
                tx.commit().map_err(storage_err)?;
                Ok(reply)
            })
            .await
            .map_err(|e| Error::Internal(format!("sqlite worker: {e}")))?
        })
    }
}

struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

/// `$1` placeholders (shared SQL) become `?1` (SQLite's positional form). Byte-wise: `$` and
/// `?` are one byte each and never part of a longer UTF-8 sequence.
fn positional(sql: &str) -> String {
    let mut out = sql.as_bytes().to_vec();
    for i in 1..out.len() {
        if out[i - 1] == b'$' && out[i].is_ascii_digit() {
            out[i - 1] = b'?';
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced")
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Text(Some(t)) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Val::Int(None) | Val::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn read_row(row: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
    let mut vals = Vec::with_capacity(columns);
    for i in 0..columns {
        vals.push(match row.get_ref(i)? {
            ValueRef::Null => Val::Text(None),
            ValueRef::Integer(n) => Val::Int(Some(n)),
            ValueRef::Text(t) => Val::Text(Some(String::from_utf8_lossy(t).into_owned())),
            ValueRef::Real(f) => Val::Int(Some(f as i64)),
            ValueRef::Blob(b) => Val::Text(Some(hex::encode(b))),
        });
    }
    Ok(Row(vals))
}

impl Tx for SqliteTx<'_> {
    const FOR_UPDATE: &'static str = "";
    const BYTE_ORDER: &'static str = "";

    async fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let mut stmt = self
            .tx
            .prepare_cached(&positional(sql))
            .map_err(storage_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(storage_err)?;
        Ok(n as u64)
    }

    async fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let mut stmt = self
            .tx
            .prepare_cached(&positional(sql))
            .map_err(storage_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(storage_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(storage_err)? {
            out.push(read_row(row, columns).map_err(storage_err)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn busy_and_locked_are_transient_other_faults_internal() {
        use rusqlite::ffi;
        let failure =
            |code| super::storage_err(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None));
        assert_eq!(failure(ffi::SQLITE_BUSY).code(), "storage_unavailable");
        assert_eq!(failure(ffi::SQLITE_LOCKED).code(), "storage_unavailable");
        assert_eq!(failure(ffi::SQLITE_CONSTRAINT).code(), "internal");
        assert_eq!(failure(ffi::SQLITE_CORRUPT).code(), "internal");
        assert_eq!(
            super::storage_err(rusqlite::Error::QueryReturnedNoRows).code(),
            "internal"
        );
    }

    #[test]
    fn dollar_placeholders_become_positional() {
        assert_eq!(
            super::positional("a = $1 AND b = $12, '$x'"),
            "a = ?1 AND b = ?12, '$x'"
        );
    }
}
