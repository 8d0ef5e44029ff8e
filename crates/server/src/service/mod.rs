//! The server's business logic, written once over [`Tx`] and run by either backend.
//!
//! Every request becomes one [`Op`]; a backend opens a transaction, calls [`execute`],
//! commits, and only then is the [`Reply`] sent. An op is `Clone` so a backend can retry
//! it whole after a serialization failure.

pub mod backoffice;
pub mod catalog;
pub mod changelog;
pub mod events;
pub mod push;
pub mod stock;
pub mod terminals;

use tillbook_protocol::catalog::ProductRecord;
use tillbook_protocol::sync::{PullRequest, PullResponse, PushRequest, PushResponse};
use uuid::Uuid;

use crate::error::Result;
use crate::storage::sql::Tx;

pub use backoffice::{Alerts, OrderDetail, OrderPage, StockList};
pub use catalog::CatalogUpserted;
pub use stock::{AdjustRequest, Adjusted};
pub use terminals::{Enrolled, TerminalInfo};

/// One unit of work, run in one transaction.
#[derive(Debug, Clone)]
pub enum Op {
    CreateTerminal {
        terminal_id: Uuid,
        name: String,
        code_hash: String,
    },
    Enroll {
        code_hash: String,
        token_hash: String,
    },
    RevokeTerminal {
        terminal_id: Uuid,
    },
    ListTerminals,
    /// Which terminal a token belongs to, if any (revoked ones included).
    TerminalForToken {
        token_hash: String,
    },
    Push {
        token_hash: String,
        request: PushRequest,
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
        limit: u32,
        after: Option<i64>,
    },
    GetOrder {
        order_ref: String,
    },
    ListStock,
    Alerts,
    SeedDemo,
    /// Logs the default channel settings if they are not logged yet (run at start-up).
    EnsureDefaults,
}

impl Op {
    /// Whether the op only reads (backends may run it in a read-only transaction).
    pub fn read_only(&self) -> bool {
        matches!(
            self,
            Op::ListTerminals
                | Op::TerminalForToken { .. }
                | Op::ListOrders { .. }
                | Op::GetOrder { .. }
                | Op::ListStock
                | Op::Alerts
        )
    }
}

/// What an [`Op`] produced.
#[derive(Debug, Clone)]
pub enum Reply {
    Done,
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
}

/// Runs an op inside the caller's open transaction.
pub async fn execute<T: Tx>(tx: &mut T, op: Op) -> Result<Reply> {
    Ok(match op {
        Op::CreateTerminal {
            terminal_id,
            name,
            code_hash,
        } => {
            terminals::create(tx, terminal_id, &name, &code_hash).await?;
            Reply::Done
        }
        Op::Enroll {
            code_hash,
            token_hash,
        } => Reply::Enrolled(terminals::enroll(tx, &code_hash, &token_hash).await?),
        Op::RevokeTerminal { terminal_id } => {
            terminals::revoke(tx, terminal_id).await?;
            Reply::Done
        }
        Op::ListTerminals => Reply::Terminals(terminals::list(tx).await?),
        Op::TerminalForToken { token_hash } => {
            Reply::TerminalForToken(terminals::for_token(tx, &token_hash).await?)
        }
        Op::Push {
            token_hash,
            request,
        } => Reply::Pushed(push::push(tx, &token_hash, request).await?),
        Op::Pull {
            token_hash,
            request,
        } => Reply::Pulled(changelog::pull(tx, &token_hash, &request).await?),
        Op::UpsertCatalog { products } => {
            Reply::CatalogUpserted(catalog::upsert(tx, &products).await?)
        }
        Op::AdjustStock(request) => Reply::Adjusted(stock::adjust(tx, &request).await?),
        Op::ListOrders { limit, after } => {
            Reply::Orders(backoffice::list_orders(tx, limit, after).await?)
        }
        Op::GetOrder { order_ref } => {
            Reply::Order(Box::new(backoffice::order_detail(tx, &order_ref).await?))
        }
        Op::ListStock => Reply::Stock(backoffice::stock(tx).await?),
        Op::Alerts => Reply::Alerts(backoffice::alerts(tx).await?),
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
