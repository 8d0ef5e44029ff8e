//! `tillbook-server`: parses the command line and runs the server.

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A push parses, hashes and drops many small JSON values and row buffers: mimalloc serves
/// those allocations much faster than the system allocator (malloc and free were a quarter of
/// the server's CPU in the backlog benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tillbook's central server: terminal sync and the back-office API.
#[derive(Debug, Parser)]
#[command(name = "tillbook-server", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8740")]
    listen: String,
    /// `sqlite:PATH` (zero set-up) or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, default_value = "sqlite:tillbook-server.db")]
    database: String,
    /// Bearer token of the back-office API. Generated and printed when not given.
    #[arg(long, env = "TILLBOOK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Seed the demo catalog and stock (idempotent).
    #[arg(long)]
    demo: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let store = tillbook_server::open(&args.database).await?;
    if args.demo {
        store.seed_demo().await?;
        tracing::info!("demo catalog and stock seeded");
    }
    let admin_token = match args.admin_token.filter(|t| !t.trim().is_empty()) {
        Some(t) => t,
        None => {
            let t = tillbook_server::secret::new_token();
            eprintln!("no --admin-token / TILLBOOK_ADMIN_TOKEN given; this run's admin token: {t}");
            t
        }
    };
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, backend = store.backend(), "tillbook-server listening");
    let state = tillbook_server::AppState::new(store, admin_token);
    tillbook_server::serve_until(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish the requests in flight.
async fn shutdown_signal() {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}
