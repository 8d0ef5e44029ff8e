//! The server's story: the storage contract, then the API over real HTTP on 127.0.0.1, then
//! two servers sharing one PostgreSQL.
//!
//! Every story runs on SQLite by default. Its `_postgres` twin is `#[ignore]`d: run it under
//! `scripts/with-postgres.sh cargo test -p tillbook-server -- --include-ignored` (it panics
//! when `TILLBOOK_TEST_POSTGRES_URL` is not set, so it never passes without PostgreSQL).

#[path = "story/contract.rs"]
mod contract;
#[path = "story/counts.rs"]
mod counts;
#[path = "story/http_security.rs"]
mod http_security;
#[path = "story/http_stores.rs"]
mod http_stores;
#[path = "story/http_sync.rs"]
mod http_sync;
#[path = "story/migrate.rs"]
mod migrate;
#[path = "story/payments.rs"]
mod payments;
#[path = "story/replicas.rs"]
mod replicas;
#[path = "story/report.rs"]
mod report;
#[path = "story/shift_kit.rs"]
mod shift_kit;
#[path = "story/shift_rules.rs"]
mod shift_rules;
#[path = "story/shifts.rs"]
mod shifts;
#[path = "story/staff.rs"]
mod staff;
#[path = "story/stores.rs"]
mod stores;
#[path = "story/support.rs"]
mod support;

async fn contract_on(db: support::Db) {
    let store = tillbook_server::open(&db.url).await.expect("open store");
    contract::story(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_contract_sqlite() {
    contract_on(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn storage_contract_postgres() {
    contract_on(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_round_trip_sqlite() {
    http_sync::round_trip(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn http_round_trip_postgres() {
    http_sync::round_trip(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_security_sqlite() {
    http_security::security(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn http_security_postgres() {
    http_security::security(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_stores_sqlite() {
    http_stores::stores(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn http_stores_postgres() {
    http_stores::stores(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_from_0001_sqlite() {
    migrate::from_0001_sqlite().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn migration_from_0001_postgres() {
    migrate::from_0001_postgres(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn two_servers_postgres() {
    replicas::two_servers(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn store_push_not_blocked_by_another_store_postgres() {
    replicas::stores_do_not_wait(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn storage_errors_503_vs_500_postgres() {
    replicas::transient_vs_internal(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_refunds_taxes_sqlite() {
    payments::payments(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn payments_refunds_taxes_postgres() {
    payments::payments(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daily_report_sqlite() {
    report::daily_report(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn daily_report_postgres() {
    report::daily_report(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn staff_sqlite() {
    staff::staff(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn staff_postgres() {
    staff::staff(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shift_figures_sqlite() {
    shifts::figures(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn shift_figures_postgres() {
    shifts::figures(support::postgres_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shift_rules_sqlite() {
    shift_rules::rules(support::sqlite_db()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn shift_rules_postgres() {
    shift_rules::rules(support::postgres_db().await).await;
}
