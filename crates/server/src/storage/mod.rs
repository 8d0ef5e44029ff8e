//! Where the server keeps everything: one [`Storage`] trait, a backend per database.
//!
//! A backend knows how to open a transaction, run an [`Op`] in it and commit; the logic of
//! every op lives once in [`crate::service`]. [`Store`] is the typed face handlers use.

pub mod postgres;
pub mod sql;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tillbook_protocol::catalog::ProductRecord;
use tillbook_protocol::sync::{PullRequest, PullResponse, PushRequest, PushResponse, StoreInfo};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::service::{
    AdjustRequest, Adjusted, Alerts, CatalogUpserted, Created, DailyReport, Enrolled, Op,
    OrderDetail, OrderPage, OrdersCursor, Reply, StockList, TerminalInfo,
};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A database backend. Runs each op in one transaction and answers only after commit.
pub trait Storage: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Runs `op` in one transaction; storage faults come back as [`Error::Storage`].
    fn run(&self, op: Op) -> BoxFuture<'_, Result<Reply>>;
}

/// Opens the database named by a URL (`sqlite:PATH` or `postgres://…`), migrates it and
/// ensures the defaults (the `main` store, the log heads, the `pos` channel).
pub async fn open(url: &str) -> Result<Store> {
    let storage: Arc<dyn Storage> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(postgres::PgStorage::connect(url).await?)
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            Arc::new(sqlite::SqliteStorage::open(std::path::Path::new(path)).await?)
        } else {
            return Err(Error::InvalidBody(format!(
                "database URL {url:?} must start with sqlite: or postgres://"
            )));
        };
    let store = Store(storage);
    store.run(Op::EnsureDefaults).await?;
    Ok(store)
}

/// The typed face of a [`Storage`]: one method per op.
#[derive(Clone)]
pub struct Store(pub Arc<dyn Storage>);

macro_rules! expect {
    ($reply:expr, $variant:ident) => {
        match $reply {
            Reply::$variant(v) => Ok(v),
            other => Err(Error::Internal(format!("unexpected reply {other:?}"))),
        }
    };
}

// Staff writes: PINs hashed and checked off the transaction, then one op (after `expect!`).
mod staff;

impl Store {
    pub fn backend(&self) -> &'static str {
        self.0.backend()
    }

    pub async fn run(&self, op: Op) -> Result<Reply> {
        self.0.run(op).await
    }

    pub async fn create_store(&self, code: &str, name: &str) -> Result<StoreInfo> {
        let op = Op::CreateStore {
            code: code.into(),
            name: name.into(),
        };
        expect!(self.run(op).await?, Store)
    }

    pub async fn stores(&self) -> Result<Vec<StoreInfo>> {
        expect!(self.run(Op::ListStores).await?, Stores)
    }

    /// Creates a terminal in `store` (the default store when `None`) with `terminal_code`
    /// (the first free `T01`, `T02`, … when `None`).
    pub async fn create_terminal(
        &self,
        terminal_id: Uuid,
        name: &str,
        code_hash: &str,
        store: Option<&str>,
        terminal_code: Option<&str>,
    ) -> Result<Created> {
        let op = Op::CreateTerminal {
            terminal_id,
            name: name.into(),
            code_hash: code_hash.into(),
            store: store.map(str::to_string),
            terminal_code: terminal_code.map(str::to_string),
        };
        expect!(self.run(op).await?, TerminalCreated)
    }

    pub async fn enroll(&self, code_hash: &str, token_hash: &str) -> Result<Enrolled> {
        let op = Op::Enroll {
            code_hash: code_hash.into(),
            token_hash: token_hash.into(),
        };
        expect!(self.run(op).await?, Enrolled)
    }

    pub async fn revoke_terminal(&self, terminal_id: Uuid) -> Result<()> {
        self.run(Op::RevokeTerminal { terminal_id })
            .await
            .map(|_| ())
    }

    /// Terminals of one store (its code) or of every store (`None`).
    pub async fn terminals(&self, store: Option<&str>) -> Result<Vec<TerminalInfo>> {
        let op = Op::ListTerminals {
            store: store.map(str::to_string),
        };
        expect!(self.run(op).await?, Terminals)
    }

    pub async fn terminal_for_token(&self, token_hash: &str) -> Result<Option<Uuid>> {
        expect!(
            self.run(Op::TerminalForToken {
                token_hash: token_hash.into()
            })
            .await?,
            TerminalForToken
        )
    }

    pub async fn push(&self, token_hash: &str, request: PushRequest) -> Result<PushResponse> {
        expect!(
            self.run(Op::Push {
                token_hash: token_hash.into(),
                request: Arc::new(request),
            })
            .await?,
            Pushed
        )
    }

    pub async fn pull(&self, token_hash: &str, request: PullRequest) -> Result<PullResponse> {
        expect!(
            self.run(Op::Pull {
                token_hash: token_hash.into(),
                request
            })
            .await?,
            Pulled
        )
    }

    pub async fn upsert_catalog(&self, products: Vec<ProductRecord>) -> Result<CatalogUpserted> {
        expect!(
            self.run(Op::UpsertCatalog { products }).await?,
            CatalogUpserted
        )
    }

    pub async fn adjust_stock(&self, request: AdjustRequest) -> Result<Adjusted> {
        expect!(self.run(Op::AdjustStock(request)).await?, Adjusted)
    }

    /// A page of orders of one store (its code) or of every store, after a cursor.
    pub async fn orders(
        &self,
        store: Option<&str>,
        limit: u32,
        after: OrdersCursor,
    ) -> Result<OrderPage> {
        let op = Op::ListOrders {
            store: store.map(str::to_string),
            limit,
            after,
        };
        expect!(self.run(op).await?, Orders)
    }

    /// One order by its order id, or by a reference held by one order only.
    pub async fn order(&self, id: &str) -> Result<OrderDetail> {
        expect!(self.run(Op::GetOrder { id: id.into() }).await?, Order).map(|o| *o)
    }

    pub async fn stock(&self, store: Option<&str>) -> Result<StockList> {
        let op = Op::ListStock {
            store: store.map(str::to_string),
        };
        expect!(self.run(op).await?, Stock)
    }

    pub async fn alerts(&self, store: Option<&str>) -> Result<Alerts> {
        let op = Op::Alerts {
            store: store.map(str::to_string),
        };
        expect!(self.run(op).await?, Alerts)
    }

    /// The daily report of a store (its code; `main` when `None`) for one business date.
    pub async fn daily_report(
        &self,
        store: Option<&str>,
        date: chrono::NaiveDate,
    ) -> Result<DailyReport> {
        let op = Op::DailyReport {
            store: store.map(str::to_string),
            date,
        };
        expect!(self.run(op).await?, Report).map(|r| *r)
    }

    /// A store's shifts (of one terminal, of one business date) with their figures.
    pub async fn shifts(
        &self,
        query: crate::service::ShiftQuery,
    ) -> Result<crate::service::ShiftList> {
        expect!(self.run(Op::ListShifts(query)).await?, Shifts)
    }

    pub async fn seed_demo(&self) -> Result<()> {
        self.run(Op::SeedDemo).await.map(|_| ())
    }
}
