//! The small SQL surface the backends share: one transaction, parameters and rows.
//!
//! The service layer is written once against [`Tx`] in plain, Postgres-compatible SQL with
//! `$1`-style parameters; each backend runs it inside its own transaction.

use crate::error::{Error, Result};

/// A parameter or a column value. Nulls are typed so PostgreSQL can bind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(Some(v as i64))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_string()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::Text(v)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_string))
    }
}
impl From<uuid::Uuid> for Val {
    fn from(v: uuid::Uuid) -> Self {
        Val::Text(Some(v.to_string()))
    }
}

/// Builds a parameter list: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::storage::sql::Val::from($v)),*][..] };
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Val>);

impl Row {
    fn at(&self, i: usize) -> Result<&Val> {
        self.0
            .get(i)
            .ok_or_else(|| Error::Internal(format!("no column {i}")))
    }

    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.at(i)? {
            Val::Int(v) => Ok(*v),
            Val::Text(None) => Ok(None),
            Val::Text(Some(t)) => Err(Error::Internal(format!("column {i} is text {t:?}"))),
        }
    }

    pub fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?
            .ok_or_else(|| Error::Internal(format!("column {i} is null")))
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.at(i)? {
            Val::Text(v) => Ok(v.clone()),
            Val::Int(None) => Ok(None),
            Val::Int(Some(n)) => Err(Error::Internal(format!("column {i} is integer {n}"))),
        }
    }

    pub fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?
            .ok_or_else(|| Error::Internal(format!("column {i} is null")))
    }

    pub fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.i64(i)? != 0)
    }
}

/// One open transaction of a backend. Committed or rolled back by the backend, never here.
#[allow(async_fn_in_trait)]
pub trait Tx {
    /// `" FOR UPDATE"` where the engine has row locks, empty where the whole database is
    /// already locked for the transaction (SQLite).
    const FOR_UPDATE: &'static str;

    /// A `COLLATE` clause that compares text byte by byte, as the tills (SQLite, Rust) do:
    /// empty on SQLite (BINARY is its default), `"C"` on PostgreSQL (whose default follows
    /// the database's locale).
    const BYTE_ORDER: &'static str;

    /// Runs a statement, returns the number of rows changed.
    async fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64>;

    /// Runs a query, returns every row.
    async fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>>;

    /// The first row, if any.
    async fn query_opt(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Exactly one row.
    async fn query_one(&mut self, sql: &str, params: &[Val]) -> Result<Row> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| Error::Internal(format!("no row for {sql}")))
    }

    /// Inserts rows into `table`: `values` holds them one after another, a value per column
    /// of `columns`; `tail` follows each statement (`ON CONFLICT …`). Returns how many rows
    /// went in. By default multi-row `VALUES` statements, a few per call (a backend may
    /// do better: PostgreSQL sends one statement of a column array each).
    async fn insert(
        &mut self,
        table: &str,
        columns: &[&str],
        values: Vec<Val>,
        tail: &str,
    ) -> Result<u64> {
        let width = columns.len();
        let mut left = values.len() / width;
        let mut at = 0;
        let mut inserted = 0;
        while left > 0 {
            let n = chunk(left);
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            placeholders(&mut sql, n, width);
            sql.push_str(tail);
            inserted += self
                .exec(&sql, &values[at * width..(at + n) * width])
                .await?;
            at += n;
            left -= n;
        }
        Ok(inserted)
    }

    /// Inserts rows as [`Tx::insert`] does, unless one's `key` (a unique column; empty: any
    /// unique key of the table) is already taken: then false, and the transaction must roll
    /// back to a savepoint before its next statement (some rows may be in, or none). By
    /// default the taken rows are skipped (`ON CONFLICT … DO NOTHING`) and counted; a
    /// backend may instead fail the plain statement, which costs the database less.
    async fn insert_new(
        &mut self,
        table: &str,
        columns: &[&str],
        values: Vec<Val>,
        key: &str,
    ) -> Result<bool> {
        let rows = (values.len() / columns.len()) as u64;
        let tail = if key.is_empty() {
            " ON CONFLICT DO NOTHING".to_string()
        } else {
            format!(" ON CONFLICT ({key}) DO NOTHING")
        };
        Ok(self.insert(table, columns, values, &tail).await? == rows)
    }
}

/// The server's clock as stored text: RFC 3339, UTC, microseconds (sorts as text).
pub fn now_text() -> String {
    timestamp_text(chrono::Utc::now())
}

pub fn timestamp_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Most rows one multi-row statement carries (13 columns × 1024 rows stays far below both
/// engines' parameter limits).
const MAX_ROWS: usize = 1024;

/// The largest power of two not above `n` (and not above [`MAX_ROWS`]): statements come in a
/// few shapes only, so the backends' statement caches stay small.
fn chunk(n: usize) -> usize {
    let n = n.min(MAX_ROWS);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

fn placeholders(sql: &mut String, rows: usize, width: usize) {
    use std::fmt::Write;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", r * width + c + 1);
        }
        sql.push(')');
    }
}

/// Rows waiting to be inserted into one table, written by [`Rows::flush`] with
/// [`Tx::insert`]: a page of events costs a statement or a few per table, not one per row.
#[derive(Debug)]
pub struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<Val>,
}

impl Rows {
    pub const fn new(table: &'static str, columns: &'static [&'static str]) -> Rows {
        Rows {
            table,
            columns,
            values: Vec::new(),
        }
    }

    /// Queues one row; `row` holds a value per column, in order.
    pub fn push(&mut self, row: impl IntoIterator<Item = Val>) {
        let before = self.values.len();
        self.values.extend(row);
        debug_assert_eq!(
            self.values.len() - before,
            self.columns.len(),
            "{}",
            self.table
        );
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// How many rows are queued.
    pub fn len(&self) -> usize {
        self.values.len() / self.columns.len()
    }

    /// Replaces the value of `column` in queued row `row` (counted from 0 in the order
    /// queued, since the last flush).
    pub fn set(&mut self, row: usize, column: usize, value: Val) {
        let width = self.columns.len();
        self.values[row * width + column] = value;
    }

    /// Numbers the queued rows in `column`: `after + 1`, `after + 2`, … in the order queued;
    /// returns the last number given (`after` when none is queued).
    pub fn number(&mut self, column: usize, after: i64) -> i64 {
        let width = self.columns.len();
        let mut n = after;
        for row in self.values.chunks_mut(width) {
            n += 1;
            row[column] = Val::from(n);
        }
        n
    }

    /// Inserts every queued row, in the order queued.
    pub async fn flush<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        self.write(tx, "").await.map(|_| ())
    }

    /// Inserts the queued rows unless one's `key` (a unique column; empty: any unique key
    /// of the table) is taken: false then, and the transaction must roll back to a savepoint
    /// before its next statement ([`Tx::insert_new`]).
    pub async fn flush_new<T: Tx>(&mut self, tx: &mut T, key: &str) -> Result<bool> {
        if self.values.is_empty() {
            return Ok(true);
        }
        let values = std::mem::take(&mut self.values);
        tx.insert_new(self.table, self.columns, values, key).await
    }

    /// Inserts the queued rows with `tail` after the statement (an `ON CONFLICT … DO
    /// UPDATE`: no two queued rows may share the conflict key).
    pub async fn upsert<T: Tx>(&mut self, tx: &mut T, tail: &str) -> Result<()> {
        self.write(tx, tail).await.map(|_| ())
    }

    /// Writes the queued rows with `tail` after each statement; how many rows went in.
    async fn write<T: Tx>(&mut self, tx: &mut T, tail: &str) -> Result<u64> {
        if self.values.is_empty() {
            return Ok(0);
        }
        let values = std::mem::take(&mut self.values);
        tx.insert(self.table, self.columns, values, tail).await
    }
}

/// Runs `sql` over `keys`, a few statements at most. In `sql`, `{keys}` stands for a
/// one-column relation `k` (its column is `column1`) holding a chunk of the keys, cast to
/// `ty` (`BIGINT` or `TEXT`); `fixed` are the query's own parameters, `$1` on. Write it as
/// `SELECT … FROM {keys} CROSS JOIN t WHERE t.col = k.column1`.
///
/// Both engines then loop over the keys and probe `t`'s index, statistics or not: SQLite
/// keeps the order a `CROSS JOIN` names, and PostgreSQL sees how many keys there are (a long
/// `IN (…)` list, without statistics, looks to it like it matches every row, and it scans
/// the table). Keys go in chunks of a power of two, the last one padded with repeats of its
/// last key so statements come in a few shapes: a row may come back more than once.
pub async fn query_keys<T: Tx>(
    tx: &mut T,
    sql: &str,
    fixed: &[Val],
    ty: &str,
    keys: &[Val],
) -> Result<Vec<Row>> {
    query_tuples(tx, sql, fixed, &[ty], keys).await
}

/// [`query_keys`] over keys of several columns: `keys` holds them one after the other,
/// `tys.len()` values each; in `sql`, `k` has the columns `column1`, `column2`, … cast to
/// `tys`.
pub async fn query_tuples<T: Tx>(
    tx: &mut T,
    sql: &str,
    fixed: &[Val],
    tys: &[&str],
    keys: &[Val],
) -> Result<Vec<Row>> {
    use std::fmt::Write;
    let width = tys.len();
    debug_assert!(width > 0);
    let mut out = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let count = rest.len() / width;
        let n = if count >= MAX_ROWS {
            MAX_ROWS
        } else {
            count.next_power_of_two()
        };
        let take = n.min(count);
        let mut params: Vec<Val> = Vec::with_capacity(fixed.len() + n * width);
        params.extend_from_slice(fixed);
        params.extend_from_slice(&rest[..take * width]);
        let last = &rest[(take - 1) * width..take * width];
        for _ in take..n {
            params.extend_from_slice(last);
        }
        let mut values = String::from("(VALUES ");
        for i in 0..n {
            values.push_str(if i > 0 { ", (" } else { "(" });
            for (c, ty) in tys.iter().enumerate() {
                if c > 0 {
                    values.push_str(", ");
                }
                let _ = write!(values, "CAST(${} AS {ty})", fixed.len() + i * width + c + 1);
            }
            values.push(')');
        }
        values.push_str(") AS k");
        out.extend(tx.query(&sql.replace("{keys}", &values), &params).await?);
        rest = &rest[take * width..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_powers_of_two() {
        assert_eq!(super::chunk(1), 1);
        assert_eq!(super::chunk(500), 256);
        assert_eq!(super::chunk(1024), 1024);
        assert_eq!(super::chunk(5000), 1024);
        let mut sql = String::new();
        super::placeholders(&mut sql, 2, 3);
        assert_eq!(sql, "($1, $2, $3), ($4, $5, $6)");
    }
}
