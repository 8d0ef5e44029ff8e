//! The server's business logic, written once over [`Tx`] and run by either backend.
//!
//! Every request becomes one [`Op`]; a backend opens a transaction, calls [`execute`],
//! commits, and only then is the [`Reply`] sent. An op is `Clone` so a backend can retry
//! it whole after a serialization failure.

pub mod backoffice;
pub mod catalog;
pub mod changelog;
pub mod events;
pub mod orders;
pub mod push;
pub mod report;
pub mod shifts;
pub mod staff;
pub mod stock;
pub mod stores;
pub mod terminals;
pub mod unique;
pub mod validate;

use tillbook_protocol::catalog::ProductRecord;
use tillbook_protocol::sync::{PullRequest, PullResponse, PushRequest, PushResponse, StoreInfo};
use uuid::Uuid;

use crate::error::Result;
use crate::storage::sql::Tx;

pub use backoffice::{Alerts, StockList};
pub use catalog::CatalogUpserted;
pub use orders::{OrderDetail, OrderPage, OrdersCursor};
pub use report::DailyReport;
pub use shifts::{ShiftList, ShiftQuery};
pub use staff::{ActivePins, NewStaff, StaffChange, StaffInfo};
pub use stock::{AdjustRequest, Adjusted};
pub use terminals::{Created, Enrolled, TerminalInfo};

/// One unit of work, run in one transaction.
#[derive(Debug, Clone)]
pub enum Op {
    CreateStore {
        code: String,
        name: String,
    },
    ListStores,
    CreateTerminal {
        terminal_id: Uuid,
        name: String,
        code_hash: String,
        /// The store's code; the default store when `None`.
        store: Option<String>,
        /// The terminal code; the first free `T01`, `T02`, … when `None`.
        terminal_code: Option<String>,
    },
    Enroll {
        code_hash: String,
        token_hash: String,
    },
    RevokeTerminal {
        terminal_id: Uuid,
    },
    ListTerminals {
        store: Option<String>,
    },
    /// Which terminal a token belongs to, if any (revoked ones included).
    TerminalForToken {
        token_hash: String,
    },
    Push {
        token_hash: String,
        /// Shared: a retry clones the op, not the page.
        request: std::sync::Arc<PushRequest>,
    },
    Pull {
        token_hash: String,
        request: PullRequest,
    },
    UpsertCatalog {
        products: Vec<ProductRecord>,
    },
    AdjustStock(AdjustRequest),
    ListOrders {
        store: Option<String>,
        limit: u32,
        after: OrdersCursor,
    },
    /// One order by its order id, or by a reference held by one order only.
    GetOrder {
        id: String,
    },
    ListStock {
        store: Option<String>,
    },
    Alerts {
        store: Option<String>,
    },
    /// The daily report of a store (`main` when `None`) for one business date.
    DailyReport {
        store: Option<String>,
        date: chrono::NaiveDate,
    },
    /// A store's shifts with their figures.
    ListShifts(ShiftQuery),
    ListStaff,
    /// The active staff's PIN hashes but `except`'s (which must exist).
    ActivePins {
        except: Option<Uuid>,
    },
    CreateStaff(NewStaff),
    UpdateStaff(StaffChange),
    SeedDemo,
    /// The default store, every store's log head and the default channel (run at start-up).
    EnsureDefaults,
}

impl Op {
    /// Whether the op only reads (backends may run it in a read-only transaction).
    pub fn read_only(&self) -> bool {
        matches!(
            self,
            Op::ListStores
                | Op::ListTerminals { .. }
                | Op::TerminalForToken { .. }
                | Op::ListOrders { .. }
                | Op::GetOrder { .. }
                | Op::ListStock { .. }
                | Op::Alerts { .. }
                | Op::DailyReport { .. }
                | Op::ListShifts(_)
                | Op::ListStaff
                | Op::ActivePins { .. }
        )
    }
}

/// What an [`Op`] produced.
#[derive(Debug, Clone)]
pub enum Reply {
    Done,
    Store(StoreInfo),
    Stores(Vec<StoreInfo>),
    TerminalCreated(Created),
    Enrolled(Enrolled),
    Terminals(Vec<TerminalInfo>),
    TerminalForToken(Option<Uuid>),
    Pushed(PushResponse),
    Pulled(PullResponse),
    CatalogUpserted(CatalogUpserted),
    Adjusted(Adjusted),
    Orders(OrderPage),
    Order(Box<OrderDetail>),
    Stock(StockList),
    Alerts(Alerts),
    Report(Box<DailyReport>),
    Shifts(ShiftList),
    Staff(Vec<StaffInfo>),
    Pins(ActivePins),
    /// A staff member as written; `None`: the PINs checked against changed, nothing written.
    StaffWritten(Option<StaffInfo>),
}

/// Runs an op inside the caller's open transaction.
pub async fn execute<T: Tx>(tx: &mut T, op: Op) -> Result<Reply> {
    Ok(match op {
        Op::CreateStore { code, name } => Reply::Store(stores::create(tx, &code, &name).await?),
        Op::ListStores => Reply::Stores(stores::list(tx).await?),
        Op::CreateTerminal {
            terminal_id,
            name,
            code_hash,
            store,
            terminal_code,
        } => Reply::TerminalCreated(
            terminals::create(
                tx,
                terminal_id,
                &name,
                &code_hash,
                store.as_deref(),
                terminal_code.as_deref(),
            )
            .await?,
        ),
        Op::Enroll {
            code_hash,
            token_hash,
        } => Reply::Enrolled(terminals::enroll(tx, &code_hash, &token_hash).await?),
        Op::RevokeTerminal { terminal_id } => {
            terminals::revoke(tx, terminal_id).await?;
            Reply::Done
        }
        Op::ListTerminals { store } => {
            Reply::Terminals(terminals::list(tx, store.as_deref()).await?)
        }
        Op::TerminalForToken { token_hash } => {
            Reply::TerminalForToken(terminals::for_token(tx, &token_hash).await?)
        }
        Op::Push {
            token_hash,
            request,
        } => Reply::Pushed(push::push(tx, &token_hash, &request).await?),
        Op::Pull {
            token_hash,
            request,
        } => Reply::Pulled(changelog::pull(tx, &token_hash, &request).await?),
        Op::UpsertCatalog { products } => {
            Reply::CatalogUpserted(catalog::upsert(tx, &products).await?)
        }
        Op::AdjustStock(request) => Reply::Adjusted(stock::adjust(tx, &request).await?),
        Op::ListOrders {
            store,
            limit,
            after,
        } => Reply::Orders(orders::list(tx, store.as_deref(), limit, &after).await?),
        Op::GetOrder { id } => Reply::Order(Box::new(orders::detail(tx, &id).await?)),
        Op::ListStock { store } => Reply::Stock(backoffice::stock(tx, store.as_deref()).await?),
        Op::Alerts { store } => Reply::Alerts(backoffice::alerts(tx, store.as_deref()).await?),
        Op::DailyReport { store, date } => {
            Reply::Report(Box::new(report::daily(tx, store.as_deref(), date).await?))
        }
        Op::ListShifts(q) => Reply::Shifts(shifts::list(tx, &q).await?),
        Op::ListStaff => Reply::Staff(staff::list(tx).await?),
        Op::ActivePins { except } => Reply::Pins(staff::active_pins(tx, except).await?),
        Op::CreateStaff(s) => Reply::StaffWritten(staff::create(tx, &s).await?),
        Op::UpdateStaff(c) => Reply::StaffWritten(staff::update(tx, &c).await?),
        Op::SeedDemo => {
            catalog::seed_demo(tx).await?;
            Reply::Done
        }
        Op::EnsureDefaults => {
            catalog::ensure_defaults(tx).await?;
            Reply::Done
        }
    })
}
