//! The PostgreSQL backend: tokio-postgres with a deadpool pool, plain SQL only.
//!
//! Ops run in READ COMMITTED transactions and serialise where they must with row locks
//! (`SELECT … FOR UPDATE` on the terminal's row for its pushes, on a scope's `log_heads` row
//! for that change log's versions and its store's order feed). Serialization failures, deadlocks and unique-key races are
//! retried a bounded number of times; the server keeps no state of its own, so any number of
//! server processes can share one database. Rows go in as one `INSERT … SELECT * FROM
//! unnest(…)` per table, a column array each ([`Tx::insert`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;

use crate::error::{Error, Result};
use crate::service::{self, Op, Reply};
use crate::storage::sql::{now_text, Row, Tx, Val};
use crate::storage::{BoxFuture, Storage};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_stores.sql")),
    (
        3,
        include_str!("../../migrations/postgres/0003_payments.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_shifts_staff.sql"),
    ),
];

/// Attempts per op when the database asks for a retry.
const MAX_ATTEMPTS: u32 = 8;

pub struct PgStorage {
    pool: Pool,
}

/// Whether a SQLSTATE names a transient fault: connection exceptions (class 08), insufficient
/// resources (53), serialization failure, deadlock, lock not available, query cancelled.
pub fn transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "40001" | "40P01" | "55P03" | "57014")
}

/// A database error as the server's error: transient faults are [`Error::Storage`] (503),
/// anything else (a constraint, a bad statement, a missing table) [`Error::Internal`] (500).
fn storage_err(e: &tokio_postgres::Error) -> Error {
    let transient = match e.code() {
        Some(code) => transient_sqlstate(code.code()),
        // No SQLSTATE: the connection closed or its socket failed, or a client-side fault
        // (a value that does not convert), which is ours.
        None => {
            e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        }
    };
    if transient {
        Error::Storage(format!("postgres: {e}"))
    } else {
        Error::Internal(format!("postgres: {e}"))
    }
}

/// A pool failure: a timeout or a connection that cannot be made is transient.
fn pool_err(e: deadpool_postgres::PoolError) -> Error {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Backend(e) => storage_err(&e),
        PoolError::Timeout(_) | PoolError::Closed => Error::Storage(format!("postgres pool: {e}")),
        e => Error::Internal(format!("postgres pool: {e}")),
    }
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

impl PgStorage {
    /// Connects a pool and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::InvalidBody(format!("bad postgres URL: {e}")))?;
        config.connect_timeout(Duration::from_secs(10));
        // Statements are prepared once per connection, but planned on every run: a cached
        // generic plan made while a table was small (a fresh database, no statistics yet)
        // would go on scanning it whole once it has grown.
        let options = match config.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c plan_cache_mode=force_custom_plan"),
            _ => "-c plan_cache_mode=force_custom_plan".to_string(),
        };
        config.options(options);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Internal(format!("postgres pool: {e}")))?;
        let storage = PgStorage { pool };
        storage.migrate().await?;
        Ok(storage)
    }

    /// Applies missing migrations; the version row is inserted first, so two servers
    /// starting together apply each migration once.
    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        for attempt in 0.. {
            let created = client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations \
                     (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
                )
                .await;
            match created {
                Ok(()) => break,
                Err(e) if attempt < 5 && (retryable(&e) || e.code().is_some()) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(storage_err(&e)),
            }
        }
        for (version, sql) in MIGRATIONS {
            let tx = client.transaction().await.map_err(|e| storage_err(&e))?;
            let claimed = tx
                .execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2) \
                     ON CONFLICT (version) DO NOTHING",
                    &[version, &now_text()],
                )
                .await
                .map_err(|e| storage_err(&e))?;
            if claimed == 0 {
                tx.rollback().await.map_err(|e| storage_err(&e))?;
                continue;
            }
            tracing::info!(version, "applying postgres migration");
            tx.batch_execute(sql).await.map_err(|e| storage_err(&e))?;
            tx.commit().await.map_err(|e| storage_err(&e))?;
        }
        Ok(())
    }

    /// One attempt; `Err((error, retry))`.
    async fn attempt(&self, op: Op) -> std::result::Result<Reply, (Error, bool)> {
        let mut client = self.pool.get().await.map_err(|e| (pool_err(e), false))?;
        let read_only = op.read_only();
        let tx = client
            .build_transaction()
            .read_only(read_only)
            .start()
            .await
            .map_err(|e| (storage_err(&e), retryable(&e)))?;
        let mut pg = PgTx {
            tx,
            retry: AtomicBool::new(false),
        };
        match service::execute(&mut pg, op).await {
            Ok(reply) => {
                let PgTx { tx, .. } = pg;
                tx.commit()
                    .await
                    .map_err(|e| (storage_err(&e), retryable(&e)))?;
                Ok(reply)
            }
            Err(e) => {
                let retry = pg.retry.load(Ordering::Relaxed);
                // Dropping the transaction rolls it back.
                Err((e, retry))
            }
        }
    }
}

impl Storage for PgStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn run(&self, op: Op) -> BoxFuture<'_, Result<Reply>> {
        Box::pin(async move {
            let mut attempt = 1;
            loop {
                match self.attempt(op.clone()).await {
                    Ok(reply) => return Ok(reply),
                    Err((e, true)) if attempt < MAX_ATTEMPTS => {
                        tracing::debug!(attempt, "retrying after {e}");
                        let jitter = u64::from(rand::random::<u8>() % 20);
                        tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt) + jitter))
                            .await;
                        attempt += 1;
                    }
                    Err((e, _)) => return Err(e),
                }
            }
        })
    }
}

struct PgTx<'a> {
    tx: deadpool_postgres::Transaction<'a>,
    retry: AtomicBool,
}

impl PgTx<'_> {
    fn fail(&self, e: tokio_postgres::Error) -> Error {
        if retryable(&e) {
            self.retry.store(true, Ordering::Relaxed);
        }
        storage_err(&e)
    }
}

fn bind(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Val::Int(v) => v as &(dyn ToSql + Sync),
            Val::Text(v) => v as &(dyn ToSql + Sync),
        })
        .collect()
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row> {
    let mut vals = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let get_err =
            |e: tokio_postgres::Error| Error::Internal(format!("column {}: {e}", col.name()));
        vals.push(if *ty == Type::INT8 {
            Val::Int(row.try_get::<_, Option<i64>>(i).map_err(get_err)?)
        } else if *ty == Type::INT4 {
            Val::Int(
                row.try_get::<_, Option<i32>>(i)
                    .map_err(get_err)?
                    .map(i64::from),
            )
        } else if *ty == Type::INT2 {
            Val::Int(
                row.try_get::<_, Option<i16>>(i)
                    .map_err(get_err)?
                    .map(i64::from),
            )
        } else if *ty == Type::BOOL {
            Val::Int(
                row.try_get::<_, Option<bool>>(i)
                    .map_err(get_err)?
                    .map(i64::from),
            )
        } else {
            Val::Text(row.try_get::<_, Option<String>>(i).map_err(get_err)?)
        });
    }
    Ok(Row(vals))
}

/// One column of rows to insert, as the array PostgreSQL unnests.
enum Column {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

/// Splits row-major `values` into one array per column (a column's values share a type).
fn columns_of(names: &[&str], values: Vec<Val>) -> Result<Vec<Column>> {
    let width = names.len();
    let rows = values.len() / width;
    let mut out: Vec<Column> = values[..width]
        .iter()
        .map(|v| match v {
            Val::Int(_) => Column::Int(Vec::with_capacity(rows)),
            Val::Text(_) => Column::Text(Vec::with_capacity(rows)),
        })
        .collect();
    for (i, v) in values.into_iter().enumerate() {
        match (&mut out[i % width], v) {
            (Column::Int(c), Val::Int(v)) => c.push(v),
            (Column::Text(c), Val::Text(v)) => c.push(v),
            _ => {
                let name = names[i % width];
                return Err(Error::Internal(format!("column {name} mixes types")));
            }
        }
    }
    Ok(out)
}

impl PgTx<'_> {
    async fn insert_arrays(
        &self,
        table: &str,
        columns: &[&str],
        arrays: &[Column],
        tail: &str,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        let casts: Vec<String> = arrays
            .iter()
            .enumerate()
            .map(|(i, c)| match c {
                Column::Int(_) => format!("${}::bigint[]", i + 1),
                Column::Text(_) => format!("${}::text[]", i + 1),
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) SELECT * FROM unnest({}){tail}",
            columns.join(", "),
            casts.join(", ")
        );
        let params: Vec<&(dyn ToSql + Sync)> = arrays
            .iter()
            .map(|c| match c {
                Column::Int(v) => v as &(dyn ToSql + Sync),
                Column::Text(v) => v as &(dyn ToSql + Sync),
            })
            .collect();
        let stmt = self.tx.prepare_cached(&sql).await?;
        self.tx.execute(&stmt, &params).await
    }
}

impl Tx for PgTx<'_> {
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const BYTE_ORDER: &'static str = " COLLATE \"C\"";

    /// One statement however many rows: `INSERT … SELECT * FROM unnest($1::bigint[], …)`,
    /// a parameter per column (one statement shape per table, planned in no time).
    async fn insert(
        &mut self,
        table: &str,
        columns: &[&str],
        values: Vec<Val>,
        tail: &str,
    ) -> Result<u64> {
        if values.is_empty() {
            return Ok(0);
        }
        let arrays = columns_of(columns, values)?;
        self.insert_arrays(table, columns, &arrays, tail)
            .await
            .map_err(|e| self.fail(e))
    }

    /// A plain insert that fails on a taken key (an `ON CONFLICT` insert checks and
    /// confirms each row on its own, which costs PostgreSQL far more); the caller rolls back
    /// to its savepoint.
    async fn insert_new(
        &mut self,
        table: &str,
        columns: &[&str],
        values: Vec<Val>,
        _key: &str,
    ) -> Result<bool> {
        if values.is_empty() {
            return Ok(true);
        }
        let arrays = columns_of(columns, values)?;
        match self.insert_arrays(table, columns, &arrays, "").await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let stmt = self
            .tx
            .prepare_cached(sql)
            .await
            .map_err(|e| self.fail(e))?;
        self.tx
            .execute(&stmt, &bind(params))
            .await
            .map_err(|e| self.fail(e))
    }

    async fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let stmt = self
            .tx
            .prepare_cached(sql)
            .await
            .map_err(|e| self.fail(e))?;
        let rows = self
            .tx
            .query(&stmt, &bind(params))
            .await
            .map_err(|e| self.fail(e))?;
        rows.iter().map(read_row).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_transient_sqlstates_are_storage_unavailable() {
        for code in [
            "08006", "08003", "40001", "40P01", "55P03", "57014", "53300", "53100",
        ] {
            assert!(super::transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "42601", "22003", "23502", "XX000"] {
            assert!(!super::transient_sqlstate(code), "{code}");
        }
    }
}
