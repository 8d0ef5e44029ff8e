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
}

/// The server's clock as stored text: RFC 3339, UTC, microseconds (sorts as text).
pub fn now_text() -> String {
    timestamp_text(chrono::Utc::now())
}

pub fn timestamp_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
