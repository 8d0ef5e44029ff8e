//! The server process `it::chaos` kills and restarts: the real `tillbook-server` library,
//! started the way `crates/server/src/main.rs` starts it, in a binary of this package so the
//! test can find it (`CARGO_BIN_EXE_chaos_server`).
//!
//! Usage: `chaos_server --database sqlite:PATH --listen 127.0.0.1:PORT --admin-token TOKEN [--demo]`.
//! Prints `listening ADDR` (flushed) once the socket is bound. Logs go to stderr (`RUST_LOG`,
//! `warn` by default). It never shuts down by itself: the test ends it with SIGKILL.

use std::io::Write;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

struct Args {
    database: String,
    listen: String,
    admin_token: String,
    demo: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args { database: String::new(), listen: String::new(), admin_token: String::new(), demo: false };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--database" => args.database = value("--database")?,
            "--listen" => args.listen = value("--listen")?,
            "--admin-token" => args.admin_token = value("--admin-token")?,
            "--demo" => args.demo = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.database.is_empty() || args.listen.is_empty() || args.admin_token.is_empty() {
        return Err("--database, --listen and --admin-token are required".into());
    }
    Ok(args)
}

async fn run(args: Args) -> Result<(), String> {
    let store = tillbook_server::open(&args.database).await.map_err(|e| format!("open {}: {e}", args.database))?;
    if args.demo {
        store.seed_demo().await.map_err(|e| format!("seed demo: {e}"))?;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("bind {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening {addr}").and_then(|_| out.flush());
    }
    let state = tillbook_server::AppState::new(store, args.admin_token);
    tillbook_server::serve(listener, state).await.map_err(|e| format!("serve: {e}"))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("chaos_server: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos_server: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos_server: {e}");
            ExitCode::from(1)
        }
    }
}
