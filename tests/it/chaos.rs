//! Chaos: three terminal processes ring up orders online and offline through a TCP proxy that
//! drops and duplicates requests, while the server process and the terminals are killed with
//! SIGKILL at random; at the end every queue drains and the server holds exactly what the
//! terminals committed, with stock equal to the opening stock plus every delta.
//!
//! Loopback only. The chaos phase lasts `TILLBOOK_CHAOS_SECS` seconds (40 by default);
//! `TILLBOOK_CHAOS_SEED` replays the random choices (not the timing) of a run.
//!
//! - `chaos_server` (tests/src/bin) is the real server library on a SQLite file, killed and
//!   restarted on the same file and port.
//! - `chaos_terminal` (tests/src/bin) rings orders into its book and syncs every few orders.
//! - [`Proxy`] sits between the terminals and the server: per connection it passes the
//!   request through, drops the connection before forwarding it, forwards it and drops the
//!   connection before the answer, or sends it to the server twice (the copy on its own
//!   connection, a little later, its answer thrown away).
//!
//! At the end, with the faults off, every terminal finishes its orders and a last in-process
//! sync drains every queue. Then: no queue holds a row, nothing was rejected, every order a
//! process reported is in its book, the server lists exactly the books' orders (none missing,
//! none twice), each SKU's on-hand is the opening stock plus every delta in the outboxes, each
//! terminal's cursor on the server is its last seq, and a terminal that pulled to the head
//! sees the server's stock. The chaos must have happened too: server restarts, SIGKILLs
//! mid-sync, each fault on a push, requests that found the server down, offline sales.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tillbook_orderbook::{Book, InitOptions};
use tillbook_protocol::events::{EventKind, EventPayload};

const ADMIN: &str = "chaos-admin-token";
const TERMINALS: usize = 3;
/// Orders each terminal rings up (besides the six demo orders of its book).
const ORDERS: i64 = 40;

// ---------------------------------------------------------------------------------------
// The fault-injecting proxy.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Pass,
    /// The request is read, never forwarded; the connection is closed.
    DropBefore,
    /// The request is forwarded and answered; the connection is closed before the answer.
    DropAfter,
    /// The request is forwarded twice, the copy on its own connection; its answer is dropped.
    Duplicate,
}

#[derive(Default)]
struct ProxyStats {
    /// (fault, request path) → count.
    counts: Mutex<BTreeMap<(Fault, String), u64>>,
    /// Requests that found the server down.
    refused: AtomicU64,
}

impl ProxyStats {
    fn count(&self, fault: Fault, path: &str) -> u64 {
        self.counts.lock().unwrap().get(&(fault, path.to_string())).copied().unwrap_or(0)
    }

    fn faults(&self) -> u64 {
        self.counts.lock().unwrap().iter().filter(|((f, _), _)| *f != Fault::Pass).map(|(_, n)| n).sum()
    }
}

struct Proxy {
    addr: SocketAddr,
    faults_on: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    stats: Arc<ProxyStats>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// One HTTP/1.1 request: its head (rewritten to `Connection: close`), body and path.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
    path: String,
}

impl Proxy {
    fn start(upstream: SocketAddr, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let faults_on = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(ProxyStats::default());
        let (f, s, st) = (faults_on.clone(), stop.clone(), stats.clone());
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let rng = StdRng::seed_from_u64(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let (f, st) = (f.clone(), st.clone());
                std::thread::spawn(move || handle(conn, upstream, rng, &f, &st));
            }
        });
        Proxy { addr, faults_on, stop, stats }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn faults(&self, on: bool) {
        self.faults_on.store(on, Ordering::SeqCst);
    }
}

fn handle(client: TcpStream, upstream: SocketAddr, mut rng: StdRng, faults_on: &AtomicBool, stats: &ProxyStats) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = client.set_write_timeout(Some(Duration::from_secs(20)));
    let Ok(read_half) = client.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut client = client;
    // Every request goes upstream with `Connection: close`, so the server's answer closes the
    // connection too and a client connection carries one request.
    let Some(req) = read_request(&mut reader) else { return };
    let fault = if faults_on.load(Ordering::SeqCst) {
        match rng.random_range(0..100) {
            0..55 => Fault::Pass,
            55..70 => Fault::DropBefore,
            70..85 => Fault::DropAfter,
            _ => Fault::Duplicate,
        }
    } else {
        Fault::Pass
    };
    *stats.counts.lock().unwrap().entry((fault, req.path.clone())).or_insert(0) += 1;
    match fault {
        Fault::DropBefore => {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Fault::Duplicate => {
            let copy = Request { head: req.head.clone(), body: req.body.clone(), path: req.path.clone() };
            let delay = Duration::from_millis(rng.random_range(0..150));
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let _ = forward(upstream, &copy);
            });
        }
        Fault::Pass | Fault::DropAfter => {}
    }
    let answer = match forward(upstream, &req) {
        Some(a) => a,
        None => {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    if fault == Fault::DropAfter {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let _ = client.write_all(&answer).and_then(|_| client.flush());
    let _ = client.shutdown(Shutdown::Both);
}

/// Reads one request; `None` at end of stream or on anything this proxy does not speak.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let path = request_line.split_whitespace().nth(1)?.split('?').next()?.to_string();
    let mut head = request_line.into_bytes();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => return None,
            "connection" | "keep-alive" | "proxy-connection" => continue,
            _ => {}
        }
        head.extend_from_slice(line.as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { head, body, path })
}

/// Sends a request to the server and reads the whole answer (the server closes the
/// connection after it). `None` when the server is down or dies mid-answer.
fn forward(upstream: SocketAddr, req: &Request) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)).ok()?;
    // While the server is down, a loopback connect may pick the server's own port as its
    // source and connect to itself: that is not the server.
    if s.local_addr().ok()?.port() == upstream.port() {
        return None;
    }
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(&req.head).ok()?;
    s.write_all(&req.body).ok()?;
    s.flush().ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    if answer.is_empty() {
        return None;
    }
    Some(answer)
}

// ---------------------------------------------------------------------------------------
// Child processes.

/// A child process, killed (SIGKILL) and reaped when dropped.
struct Proc(Child);

impl Proc {
    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// `Some(exit status)` when the process ended by itself.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn log_file(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap()
}

/// The server process on a fixed port and database file.
struct ServerProc {
    port: u16,
    db: PathBuf,
    log: PathBuf,
    proc: Option<Proc>,
    starts: u32,
}

impl ServerProc {
    /// Starts the server and waits (bounded) until it listens.
    fn start(&mut self) {
        assert!(self.proc.is_none(), "the server is already running");
        for attempt in 0..50 {
            let mut child = Command::new(env!("CARGO_BIN_EXE_chaos_server"))
                .args(["--database", &format!("sqlite:{}", self.db.display())])
                .args(["--listen", &format!("127.0.0.1:{}", self.port)])
                .args(["--admin-token", ADMIN, "--demo"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log_file(&self.log))
                .spawn()
                .expect("spawn chaos_server");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = tx.send(line);
            });
            let mut proc = Proc(child);
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.starts_with("listening") => {
                    self.proc = Some(proc);
                    self.starts += 1;
                    return;
                }
                _ => {
                    // The port may still be held by a dying connection: try again shortly.
                    let status = proc.exited();
                    eprintln!("chaos: server start attempt {attempt} failed ({status:?}); retrying");
                    proc.kill();
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        panic!("the server did not start; see {}", self.log.display());
    }

    fn kill(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
        }
    }
}

/// What one terminal's processes have said, across restarts.
#[derive(Default)]
struct TermLog {
    committed: BTreeSet<String>,
    cancelled: BTreeSet<String>,
    /// Between `sync start` and its end line, in the current process.
    in_sync: bool,
    rung: bool,
    syncs_ok: u64,
    /// `sync err` lines by code.
    sync_errors: BTreeMap<String, u64>,
    /// Non-transient sync errors, in full.
    bad_sync_errors: Vec<String>,
    /// When set, the current process is killed this long after its next `sync start`.
    kill_in_sync: Option<Duration>,
    mid_sync_kills: u32,
    /// Orders reported while the server process was down: sold offline.
    offline_commits: u32,
}

/// The running process of a terminal and its generation (one per start).
type Slot = Arc<Mutex<Option<(u64, Proc)>>>;

struct Terminal {
    book: PathBuf,
    log: Arc<Mutex<TermLog>>,
    /// Whether the server process is running (kept by the test).
    server_up: Arc<AtomicBool>,
    stderr: PathBuf,
    proc: Slot,
    restart_at: Option<Instant>,
    starts: u64,
}

impl Terminal {
    fn new(book: PathBuf, stderr: PathBuf, server_up: Arc<AtomicBool>) -> Terminal {
        Terminal {
            book,
            log: Arc::new(Mutex::new(TermLog::default())),
            server_up,
            stderr,
            proc: Arc::new(Mutex::new(None)),
            restart_at: None,
            starts: 0,
        }
    }

    fn start(&mut self, seed: u64, pace_ms: u64) {
        let mut slot = self.proc.lock().unwrap();
        assert!(slot.is_none());
        self.starts += 1;
        let generation = self.starts;
        let mut child = Command::new(env!("CARGO_BIN_EXE_chaos_terminal"))
            .arg(&self.book)
            .arg(ORDERS.to_string())
            .arg((seed ^ generation.wrapping_mul(0x2545_F491_4F6C_DD1D)).to_string())
            .arg(pace_ms.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file(&self.stderr))
            .spawn()
            .expect("spawn chaos_terminal");
        let stdout = child.stdout.take().unwrap();
        {
            let mut l = self.log.lock().unwrap();
            l.in_sync = false;
            l.kill_in_sync = None;
        }
        *slot = Some((generation, Proc(child)));
        let (log, proc, server_up) = (self.log.clone(), self.proc.clone(), self.server_up.clone());
        // Lines of a killed process may still be read after its successor started: what it
        // committed counts, its sync state does not.
        let current = move |proc: &Slot| proc.lock().unwrap().as_ref().is_some_and(|(g, _)| *g == generation);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let mut l = log.lock().unwrap();
                let mut words = line.splitn(3, ' ');
                match (words.next(), words.next()) {
                    (Some("committed"), Some(r)) => {
                        l.committed.insert(r.to_string());
                        if !server_up.load(Ordering::SeqCst) {
                            l.offline_commits += 1;
                        }
                    }
                    (Some("cancelled"), Some(r)) => {
                        l.cancelled.insert(r.to_string());
                    }
                    (Some("sync"), Some("start")) if current(&proc) => {
                        l.in_sync = true;
                        if let Some(delay) = l.kill_in_sync.take() {
                            drop(l);
                            std::thread::sleep(delay);
                            let mut slot = proc.lock().unwrap();
                            if slot.as_ref().is_some_and(|(g, _)| *g == generation) {
                                let (_, p) = slot.take().unwrap();
                                let mid_sync = log.lock().unwrap().in_sync;
                                p.kill();
                                if mid_sync {
                                    log.lock().unwrap().mid_sync_kills += 1;
                                }
                            }
                        }
                    }
                    (Some("sync"), Some("ok")) => {
                        l.in_sync = false;
                        l.syncs_ok += 1;
                    }
                    (Some("sync"), Some("err")) => {
                        l.in_sync = false;
                        let code = words.next().unwrap_or("").split(' ').next().unwrap_or("").to_string();
                        if code != "server_unreachable" {
                            l.bad_sync_errors.push(line.clone());
                        }
                        *l.sync_errors.entry(code).or_insert(0) += 1;
                    }
                    (Some("rung"), _) => l.rung = true,
                    _ => {}
                }
            }
        });
    }

    fn running(&self) -> bool {
        self.proc.lock().unwrap().is_some()
    }

    /// Kills the process now; true when it was in the middle of a sync.
    fn kill(&mut self) -> bool {
        let taken = self.proc.lock().unwrap().take();
        let mid_sync = self.log.lock().unwrap().in_sync;
        match taken {
            Some((_, p)) => {
                p.kill();
                if mid_sync {
                    self.log.lock().unwrap().mid_sync_kills += 1;
                }
                mid_sync
            }
            None => false,
        }
    }

    /// `Some(status)` when the process ended by itself (it is then gone from the slot).
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let mut slot = self.proc.lock().unwrap();
        let status = slot.as_mut().and_then(|(_, p)| p.exited())?;
        *slot = None;
        Some(status)
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------
// The back office, straight to the server (never through the proxy).

struct Admin {
    base: String,
    http: reqwest::Client,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    async fn stock(&self) -> BTreeMap<(String, String), i64> {
        let v = self.call(reqwest::Method::GET, "/v1/admin/stock", None).await;
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let key = (i["sku"].as_str().unwrap().to_string(), i["location"].as_str().unwrap().to_string());
                (key, i["on_hand"].as_i64().unwrap())
            })
            .collect()
    }

    /// Every order ref on the server, page by page, in the order listed.
    async fn order_refs(&self) -> Vec<String> {
        let mut refs = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("/v1/admin/orders?limit=1000&after={a}"),
                None => "/v1/admin/orders?limit=1000".to_string(),
            };
            let v = self.call(reqwest::Method::GET, &path, None).await;
            refs.extend(v["orders"].as_array().unwrap().iter().map(|o| o["ref"].as_str().unwrap().to_string()));
            match v["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => return refs,
            }
        }
    }
}

/// A port for the server below the ephemeral range (so no outgoing connection takes it
/// while the server is down), free now.
fn server_port(rng: &mut StdRng) -> u16 {
    for _ in 0..200 {
        let port = rng.random_range(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn between(rng: &mut StdRng, lo_ms: u64, hi_ms: u64) -> Duration {
    Duration::from_millis(rng.random_range(lo_ms..=hi_ms))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_and_server_survive_chaos_exactly_once() {
    let started = Instant::now();
    let secs: u64 = std::env::var("TILLBOOK_CHAOS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let seed: u64 = std::env::var("TILLBOOK_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    eprintln!("chaos: seed {seed} (TILLBOOK_CHAOS_SEED), {secs}s of chaos (TILLBOOK_CHAOS_SECS)");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();

    // The server, the proxy in front of it, the back office beside it.
    let mut server = ServerProc {
        port: server_port(&mut rng),
        db: dir.path().join("server.db"),
        log: dir.path().join("server.log"),
        proc: None,
        starts: 0,
    };
    server.start();
    let server_up = Arc::new(AtomicBool::new(true));
    let upstream: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let proxy = Proxy::start(upstream, seed);
    let admin = Admin { base: format!("http://{upstream}"), http: reqwest::Client::builder().no_proxy().build().unwrap() };
    let opening = admin.stock().await;
    assert!(!opening.is_empty(), "the demo stock is seeded");

    // Three books with the demo café (six demo orders each), enrolled through the proxy.
    let mut terms = Vec::new();
    for i in 1..=TERMINALS {
        let created = admin.call(reqwest::Method::POST, "/v1/admin/terminals", Some(json!({"name": format!("Till {i}")}))).await;
        let code = created["enrollment_code"].as_str().unwrap().to_string();
        let path = dir.path().join(format!("t{i}.sqlite"));
        let options = InitOptions { terminal_code: format!("T0{i}"), demo: true, ..InitOptions::default() };
        let mut book = Book::init(&path, options).unwrap();
        tillbook_sync::enroll(&mut book, &proxy.url(), &code).await.unwrap();
        drop(book);
        terms.push(Terminal::new(path, dir.path().join(format!("t{i}.log")), server_up.clone()));
    }

    // The chaos phase.
    let chaos = Duration::from_secs(secs);
    let pace_ms = secs * 600 / ORDERS as u64;
    proxy.faults(true);
    for t in terms.iter_mut() {
        t.start(rng.random(), pace_ms);
    }
    let begin = Instant::now();
    let mut server_kill_at = begin + between(&mut rng, 1500, 5000);
    let mut server_down_until: Option<Instant> = None;
    let mut next_terminal_kill = begin + between(&mut rng, 500, 2000);
    let (mut server_kills, mut offline_time) = (0u32, Duration::ZERO);
    let mut failures = Vec::new();
    while begin.elapsed() < chaos {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = Instant::now();
        for (i, t) in terms.iter_mut().enumerate() {
            if let Some(status) = t.exited() {
                failures.push(format!("terminal {} exited by itself ({status}): {}", i + 1, t.stderr_text()));
            }
            if !t.running() {
                match t.restart_at {
                    // Killed mid-sync by its reader: back after a pause.
                    None => t.restart_at = Some(now + between(&mut rng, 0, 1500)),
                    Some(at) if now >= at => {
                        t.restart_at = None;
                        t.start(rng.random(), pace_ms);
                    }
                    Some(_) => {}
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        // The server: up for a few seconds, then killed and kept down a while (the terminals
        // sell offline), then started again on the same file.
        match server_down_until {
            None if now >= server_kill_at => {
                server_up.store(false, Ordering::SeqCst);
                server.kill();
                server_kills += 1;
                let down = between(&mut rng, 300, 3000);
                server_down_until = Some(now + down);
                offline_time += down;
            }
            Some(until) if now >= until => {
                server.start();
                server_up.store(true, Ordering::SeqCst);
                server_down_until = None;
                server_kill_at = Instant::now() + between(&mut rng, 2000, 8000);
            }
            _ => {}
        }
        // A terminal dies with SIGKILL and comes back: at a random moment, or a few
        // milliseconds into its next sync (before its push is sent, while it is in flight,
        // after the answer and before the book has it).
        if now >= next_terminal_kill {
            next_terminal_kill = now + between(&mut rng, 500, 2500);
            let running: Vec<usize> = (0..terms.len()).filter(|&i| terms[i].running()).collect();
            if !running.is_empty() {
                let i = running[rng.random_range(0..running.len())];
                if rng.random_bool(0.5) {
                    terms[i].log.lock().unwrap().kill_in_sync = Some(between(&mut rng, 0, 40));
                } else {
                    terms[i].kill();
                    terms[i].restart_at = Some(now + between(&mut rng, 0, 1500));
                }
            }
        }
    }
    let chaos_took = begin.elapsed();
    let terminal_kills: u64 = terms.iter().map(|t| t.starts - 1).sum();
    let mid_sync_kills: u32 = terms.iter().map(|t| t.log.lock().unwrap().mid_sync_kills).sum();
    let offline_commits: u32 = terms.iter().map(|t| t.log.lock().unwrap().offline_commits).sum();

    // Calm: no more faults, every terminal stopped, the server restarted cleanly.
    proxy.faults(false);
    for t in terms.iter_mut() {
        t.kill();
        t.restart_at = None;
    }
    server_up.store(false, Ordering::SeqCst);
    server.kill();
    server.start();
    server_up.store(true, Ordering::SeqCst);
    // Each terminal finishes its orders (if the chaos left some) with no faults in the way.
    let calm = Instant::now();
    for t in terms.iter_mut() {
        t.start(rng.random(), 0);
    }
    while terms.iter().any(|t| !t.log.lock().unwrap().rung) {
        for (i, t) in terms.iter_mut().enumerate() {
            if let Some(status) = t.exited() {
                panic!("terminal {} exited by itself ({status}): {}", i + 1, t.stderr_text());
            }
        }
        assert!(calm.elapsed() < Duration::from_secs(120), "the terminals did not finish their orders in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in terms.iter_mut() {
        t.kill();
    }
    // The last sync, in-process, until every queue is empty.
    let options = tillbook_sync::Options {
        push_page: 50,
        attempts: 3,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        ..tillbook_sync::Options::default()
    };
    let mut books = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        let mut book = Book::open(&t.book).unwrap();
        let mut drained = false;
        for _ in 0..20 {
            match tillbook_sync::run(&mut book, &options).await {
                Ok(_) if book.sync_status().unwrap().pending == 0 => {
                    drained = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => assert!(e.is_transient(), "terminal {}: {e}", i + 1),
            }
        }
        assert!(drained, "terminal {}: the queue did not drain: {:?}", i + 1, book.sync_status().unwrap());
        books.push(book);
    }
    let final_took = calm.elapsed();

    // What happened.
    let counts = proxy.stats.counts.lock().unwrap().clone();
    eprintln!(
        "chaos: {:.1}s chaos, {:.1}s calm; server killed {server_kills} times (offline ~{:.1}s, {} starts, \
         {} requests found it down, {offline_commits} orders sold meanwhile); terminals killed {terminal_kills} times \
         ({mid_sync_kills} mid-sync); proxy: {counts:?}",
        chaos_took.as_secs_f64(),
        final_took.as_secs_f64(),
        offline_time.as_secs_f64(),
        server.starts,
        proxy.stats.refused.load(Ordering::Relaxed),
    );
    for (i, t) in terms.iter().enumerate() {
        let l = t.log.lock().unwrap();
        eprintln!(
            "chaos: terminal {}: {} starts, {} orders reported, {} cancelled, {} syncs ok, sync errors {:?}",
            i + 1,
            t.starts,
            l.committed.len(),
            l.cancelled.len(),
            l.syncs_ok,
            l.sync_errors
        );
    }

    // The chaos really happened.
    assert!(server_kills > 0 && server.starts > server_kills, "the server was never killed and restarted");
    assert!(terminal_kills > 0, "no terminal was killed");
    assert!(mid_sync_kills > 0, "no terminal was killed mid-sync");
    assert!(offline_commits > 0, "no order was sold while the server was down");
    assert!(proxy.stats.faults() > 0, "the proxy injected no fault");
    let push = "/v1/sync/push";
    for fault in [Fault::DropBefore, Fault::DropAfter, Fault::Duplicate] {
        assert!(proxy.stats.count(fault, push) > 0, "the proxy never applied {fault:?} to a push: {counts:?}");
    }
    assert!(proxy.stats.refused.load(Ordering::Relaxed) > 0, "no request found the server down");

    // Every queue is empty, nothing was rejected, no sync failed for a reason other than an
    // unreachable server.
    let mut book_refs = BTreeSet::new();
    let mut book_orders = 0usize;
    let mut deltas: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (i, (t, book)) in terms.iter().zip(&books).enumerate() {
        let n = i + 1;
        let log = t.log.lock().unwrap();
        assert!(log.bad_sync_errors.is_empty(), "terminal {n}: {:#?}", log.bad_sync_errors);
        let status = book.sync_status().unwrap();
        assert_eq!(status.pending, 0, "terminal {n}: {status:?}");
        assert_eq!(status.rejected, 0, "terminal {n}: {status:?}");
        assert!(status.halted.is_none(), "terminal {n}: {status:?}");
        let summary = book.outbox_summary().unwrap();
        assert_eq!((summary.pending, summary.sent, summary.rejected), (0, 0, 0), "terminal {n}: {summary:?}");
        assert_eq!(summary.applied, summary.last_seq, "terminal {n}: {summary:?}");
        assert!(book.integrity_ok().unwrap());
        let rung: i64 = book
            .connection()
            .query_row("SELECT COUNT(*) FROM orders WHERE idempotency_key LIKE 'o-%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rung, ORDERS, "terminal {n}");
        let orders = book.orders(None, 1_000_000).unwrap();
        assert_eq!(orders.len() as i64, ORDERS + 6, "terminal {n}: its orders and the six demo orders");
        let refs: BTreeSet<String> = orders.iter().map(|o| o.order_ref.clone()).collect();
        // Every order a process reported committed before it was killed is in its book.
        let lost: Vec<_> = log.committed.difference(&refs).collect();
        assert!(lost.is_empty(), "terminal {n} reported orders its book does not hold: {lost:?}");
        book_orders += refs.len();
        book_refs.extend(refs);
        for row in book.outbox(0, 1_000_000).unwrap() {
            let kind = EventKind::parse(&row.kind).unwrap();
            let payload = EventPayload::from_value(kind, row.payload.clone()).unwrap();
            for d in payload.stock_deltas() {
                *deltas.entry((d.sku.clone(), d.location.clone())).or_insert(0) += d.delta;
            }
        }
    }
    assert_eq!(book_refs.len(), book_orders, "order refs are unique across terminals");

    // The server holds exactly the orders the terminals committed: none missing, none twice.
    let server_refs = admin.order_refs().await;
    let server_set: BTreeSet<String> = server_refs.iter().cloned().collect();
    assert_eq!(server_refs.len(), server_set.len(), "an order is listed twice");
    let missing: Vec<_> = book_refs.difference(&server_set).collect();
    let extra: Vec<_> = server_set.difference(&book_refs).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing on the server: {missing:?}; unknown to the books: {extra:?}");
    assert_eq!(server_refs.len(), TERMINALS * (ORDERS as usize + 6));

    // Each SKU's on-hand is the opening stock plus every delta the terminals wrote, once.
    let stock = admin.stock().await;
    let keys: BTreeSet<_> = opening.keys().chain(deltas.keys()).chain(stock.keys()).cloned().collect();
    for key in keys {
        let want = opening.get(&key).copied().unwrap_or(0) + deltas.get(&key).copied().unwrap_or(0);
        assert_eq!(stock.get(&key).copied().unwrap_or(0), want, "on-hand of {key:?}");
    }
    assert!(deltas.values().any(|d| *d != 0), "the terminals moved stock");

    // Rule 9: once a terminal has pulled to the head, its view of stock is the server's.
    for (i, book) in books.iter_mut().enumerate() {
        tillbook_sync::run(book, &options).await.unwrap_or_else(|e| panic!("terminal {}: {e}", i + 1));
        for level in book.stock(None).unwrap() {
            let key = (level.sku.clone(), level.location.clone());
            assert_eq!(Some(level.on_hand), stock.get(&key).copied(), "terminal {}: on-hand of {key:?}", i + 1);
        }
    }

    // The server agrees on each terminal's cursor and recorded no rejection.
    let terminals = admin.call(reqwest::Method::GET, "/v1/admin/terminals", None).await;
    for book in &books {
        let id = book.settings().terminal_id.to_string();
        let t = terminals["terminals"].as_array().unwrap().iter().find(|t| t["terminal_id"] == id.as_str()).unwrap();
        let s = book.sync_status().unwrap();
        assert_eq!(t["last_applied_seq"].as_i64().unwrap(), s.last_seq - s.seq_base, "{t}");
        assert_eq!(t["rejected"].as_i64().unwrap(), 0, "{t}");
    }
    let alerts = admin.call(reqwest::Method::GET, "/v1/admin/alerts", None).await;
    assert_eq!(alerts["rejected"].as_array().unwrap().len(), 0, "{alerts}");
    drop(proxy);
    server.kill();
    eprintln!("chaos: done in {:.1}s", started.elapsed().as_secs_f64());
}
