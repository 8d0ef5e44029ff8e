//! The server's story: the storage contract on every backend, then the API over real HTTP
//! on 127.0.0.1, then two servers sharing one PostgreSQL.
//!
//! SQLite always runs; PostgreSQL runs when `TILLBOOK_TEST_POSTGRES_URL` is set, e.g. under
//! `scripts/with-postgres.sh cargo test -p tillbook-server`.

#[path = "story/contract.rs"]
mod contract;
#[path = "story/http_security.rs"]
mod http_security;
#[path = "story/http_sync.rs"]
mod http_sync;
#[path = "story/replicas.rs"]
mod replicas;
#[path = "story/support.rs"]
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_contract_on_every_backend() {
    for db in support::dbs().await {
        eprintln!("storage contract on {}", db.name);
        let store = tillbook_server::open(&db.url).await.expect("open store");
        contract::story(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_round_trip_on_every_backend() {
    for db in support::dbs().await {
        eprintln!("http round trip on {}", db.name);
        http_sync::round_trip(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_security_cases() {
    for db in support::dbs().await {
        eprintln!("security cases on {}", db.name);
        http_security::security(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres() {
    match support::postgres_db().await {
        Some(db) => replicas::two_servers(db).await,
        None => eprintln!(
            "two_servers_on_one_postgres skipped: {} not set",
            support::PG_ENV
        ),
    }
}
