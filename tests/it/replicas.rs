//! Two `tillbook-server` processes on one PostgreSQL behind a round-robin balancer on
//! 127.0.0.1: terminals syncing through either replica end with every order exactly once and
//! exact stock. Runs when `TILLBOOK_TEST_POSTGRES_URL` names a server (`scripts/with-postgres.sh`).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tillbook_orderbook::{Book, CommitOptions, InitOptions, BOOK_FILE};
use tillbook_protocol::events::{EventKind, EventPayload};

const ADMIN: &str = "replica-admin";

struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `chaos_server` (the real server library) on port 0; returns it and its address.
fn replica(database: &str) -> (Replica, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaos_server"))
        .args(["--database", database, "--listen", "127.0.0.1:0", "--admin-token", ADMIN, "--demo"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn chaos_server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("replica did not start");
    let addr = line.trim().strip_prefix("listening ").expect("listening line").parse().unwrap();
    (Replica(child), addr)
}

/// A TCP balancer: each new connection goes to the next replica in turn.
fn balancer(upstreams: Vec<SocketAddr>) -> (SocketAddr, Arc<Vec<AtomicUsize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served: Arc<Vec<AtomicUsize>> = Arc::new(upstreams.iter().map(|_| AtomicUsize::new(0)).collect());
    let counts = served.clone();
    std::thread::spawn(move || {
        for (i, conn) in listener.incoming().enumerate() {
            let Ok(client) = conn else { continue };
            let which = i % upstreams.len();
            let Ok(server) = TcpStream::connect_timeout(&upstreams[which], Duration::from_secs(2)) else { continue };
            counts[which].fetch_add(1, Ordering::Relaxed);
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c1, mut s1) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut s1);
                let _ = s1.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, served)
}

async fn admin(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh"]
async fn two_server_processes_count_every_sale_once_postgres() {
    let base_url = std::env::var("TILLBOOK_TEST_POSTGRES_URL")
        .expect("TILLBOOK_TEST_POSTGRES_URL is not set: run under scripts/with-postgres.sh");
    let (client, conn) = tokio_postgres::connect(&base_url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let name = format!("tillbook_replicas_{}", uuid::Uuid::now_v7().simple());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let database = format!("{}/{name}", base_url.rsplit_once('/').unwrap().0);

    let (_first, a) = replica(&database);
    let (_second, b) = replica(&database);
    let (lb, served) = balancer(vec![a, b]);
    let lb_url = format!("http://{lb}");
    let direct = format!("http://{a}");
    let opening = admin(&direct, reqwest::Method::GET, "/v1/admin/stock", None).await;

    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut books = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let opts = InitOptions { terminal_code: format!("R{i}"), demo: true, ..InitOptions::default() };
        let mut book = Book::init(&d.path().join(BOOK_FILE), opts).unwrap();
        let created = admin(&direct, reqwest::Method::POST, "/v1/admin/terminals", Some(json!({"name": format!("R{i}")}))).await;
        tillbook_sync::enroll(&mut book, &lb_url, created["enrollment_code"].as_str().unwrap()).await.unwrap();
        // Enrolment ended demo mode (the demo's data is never sent): a real shift to sell in.
        book.open_shift(0).unwrap();
        books.push(book);
    }
    // Rounds of selling and syncing; each sync is a new connection, so it lands on either replica.
    let opts = tillbook_sync::Options { push_page: 2, attempts: 3, ..tillbook_sync::Options::default() };
    let mut handles = Vec::new();
    for (i, mut book) in books.into_iter().enumerate() {
        let opts = opts.clone();
        handles.push(tokio::spawn(async move {
            for round in 0..8 {
                for n in 0..3 {
                    let s = book.open_session(None, None).unwrap().session_key;
                    book.add_line(&s, if n % 2 == 0 { "LATTE" } else { "CROISSANT" }, 1 + n, None).unwrap();
                    book.commit(&s, &format!("r{i}-{round}-{n}"), CommitOptions::default()).unwrap();
                }
                tillbook_sync::run(&mut book, &opts).await.unwrap();
            }
            book
        }));
    }
    let mut books = Vec::new();
    for h in handles {
        books.push(h.await.unwrap());
    }

    assert!(served.iter().all(|n| n.load(Ordering::Relaxed) > 0), "both replicas served requests");
    let mut expected: Vec<String> = Vec::new();
    let mut deltas: std::collections::BTreeMap<String, i64> = Default::default();
    for book in &books {
        assert_eq!(book.sync_status().unwrap().pending, 0);
        expected.extend(book.orders(None, 1000).unwrap().into_iter().map(|o| o.order_ref));
        for row in book.outbox(0, 10_000).unwrap() {
            let p = EventPayload::from_value(EventKind::parse(&row.kind).unwrap(), row.payload).unwrap();
            for d in p.stock_deltas() {
                *deltas.entry(d.sku.clone()).or_default() += d.delta;
            }
        }
    }
    let orders = admin(&direct, reqwest::Method::GET, "/v1/admin/orders?limit=1000", None).await;
    let mut got: Vec<String> = orders["orders"].as_array().unwrap().iter().map(|o| o["ref"].as_str().unwrap().to_string()).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "every order once, none missing");
    let stock = admin(&direct, reqwest::Method::GET, "/v1/admin/stock", None).await;
    for item in stock["items"].as_array().unwrap() {
        let sku = item["sku"].as_str().unwrap();
        let before = opening["items"].as_array().unwrap().iter().find(|i| i["sku"] == sku).unwrap()["on_hand"].as_i64().unwrap();
        assert_eq!(item["on_hand"].as_i64().unwrap(), before + deltas.get(sku).copied().unwrap_or(0), "{sku}");
    }
}
