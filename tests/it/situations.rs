//! Situations from the field, driven only through the public interfaces: the `tillbook` binary
//! (a subprocess with `--json --data-dir DIR`) and the `tillbook-server` binary (a subprocess on
//! a SQLite file in a temp dir, on 127.0.0.1) with its HTTP JSON API.
//!
//! The binaries are taken from `TILLBOOK_BIN_DIR` when it is set, else from the target directory
//! this test executable lives in (`target/debug/deps/it-HASH` → `target/debug/`).
//!
//! Every wait is a poll for a condition with a deadline; every child process is killed on drop.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

mod demo_enrolment;
mod money;

const ADMIN: &str = "situations-admin-token";
/// Any single CLI command but `sync run`.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// One `tillbook sync run` against a server on loopback: a busy loop or an endless retry fails.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
const SERVER_START: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Binaries and processes
// ---------------------------------------------------------------------------------------------

fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TILLBOOK_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/debug/deps/it-HASH → target/debug
    exe.parent().and_then(Path::parent).expect("the test executable sits in target/<profile>/deps").to_path_buf()
}

fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "{} not found: build the workspace binaries (`cargo build --workspace --bins`) or set TILLBOOK_BIN_DIR",
        p.display()
    );
    p
}

/// What a finished (or killed) process printed.
struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

fn short(s: &str) -> String {
    const MAX: usize = 2000;
    if s.len() <= MAX {
        s.to_string()
    } else {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} bytes in all)", &s[..cut], s.len())
    }
}

/// Runs `cmd` to completion, killing it at `timeout`.
fn run_bounded(cmd: &mut Command, timeout: Duration) -> Ran {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    });
    let deadline = Instant::now() + timeout;
    let (status, timed_out) = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break (s.code(), false);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ran { status, stdout: t_out.join().unwrap_or_default(), stderr: t_err.join().unwrap_or_default(), timed_out }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// The server: a `tillbook-server` process on a SQLite file
// ---------------------------------------------------------------------------------------------

struct Server {
    child: Option<Child>,
    port: u16,
    base: String,
    dir: TempDir,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An HTTP answer: status and JSON body (`Value::Null` when the body is not JSON).
struct Answer {
    status: u16,
    body: Value,
    text: String,
}

impl Server {
    /// A server on a fresh SQLite file, seeded with the demo catalog and stock.
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let mut s = Server { child: None, port: 0, base: String::new(), dir, rt, http };
        let mut tries = 0;
        loop {
            tries += 1;
            s.port = free_port();
            s.base = format!("http://127.0.0.1:{}", s.port);
            if s.launch(true) {
                return s;
            }
            assert!(tries < 3, "tillbook-server did not start in {tries} tries: {}", s.log());
        }
    }

    fn db_path(&self) -> PathBuf {
        self.dir.path().join("server.db")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Starts the process on `self.port`; true once `/v1/health` answers, false when the
    /// process exited first (the port was taken).
    fn launch(&mut self, demo: bool) -> bool {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).unwrap();
        let mut cmd = Command::new(bin("tillbook-server"));
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--database")
            .arg(format!("sqlite:{}", self.db_path().display()))
            .arg("--admin-token")
            .arg(ADMIN)
            .env_remove("TILLBOOK_ADMIN_TOKEN")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if demo {
            cmd.arg("--demo");
        }
        let child = cmd.spawn().expect("spawn tillbook-server");
        self.child = Some(child);
        let deadline = Instant::now() + SERVER_START;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                eprintln!("tillbook-server exited early ({status}) on port {}", self.port);
                return false;
            }
            let url = format!("{}/v1/health", self.base);
            let ok = self.rt.block_on(async {
                match self.http.get(&url).timeout(Duration::from_secs(2)).send().await {
                    Ok(r) => r.status().is_success(),
                    Err(_) => false,
                }
            });
            if ok {
                return true;
            }
            assert!(Instant::now() < deadline, "tillbook-server did not answer /v1/health within {SERVER_START:?}: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process (SIGKILL: SQLite keeps every committed transaction).
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the stopped server again on the same port and database (no demo seeding).
    fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server first");
        let deadline = Instant::now() + SERVER_START;
        while !self.launch(false) {
            assert!(Instant::now() < deadline, "tillbook-server could not listen on its port again: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The database file and its -wal/-shm, as they are now (the server must be stopped).
    fn snapshot(&self, into: &Path) {
        assert!(self.child.is_none(), "stop the server before copying its database");
        std::fs::create_dir_all(into).unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", self.db_path().display()));
            let to = into.join(format!("server.db{suffix}"));
            if from.exists() {
                std::fs::copy(&from, &to).unwrap();
            } else if to.exists() {
                std::fs::remove_file(&to).unwrap();
            }
        }
    }

    /// Puts an earlier snapshot back in place of the database (the server must be stopped).
    fn restore(&self, from: &Path) {
        assert!(self.child.is_none(), "stop the server before restoring its database");
        for suffix in ["", "-wal", "-shm"] {
            let src = from.join(format!("server.db{suffix}"));
            let dst = PathBuf::from(format!("{}{suffix}", self.db_path().display()));
            if src.exists() {
                std::fs::copy(&src, &dst).unwrap();
            } else if dst.exists() {
                std::fs::remove_file(&dst).unwrap();
            }
        }
    }

    fn request(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> Answer {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut req = self.http.request(method.clone(), &url).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            Answer { status, body, text }
        })
    }

    /// An admin call that must succeed.
    fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let a = self.request(method.clone(), path, ADMIN, body);
        assert!((200..300).contains(&a.status), "{method} {path}: HTTP {} {}", a.status, short(&a.text));
        a.body
    }

    fn get(&self, path: &str) -> Value {
        self.admin(reqwest::Method::GET, path, None)
    }

    /// `POST /v1/admin/terminals`: the whole answer.
    fn new_terminal(&self, body: Value) -> Value {
        self.admin(reqwest::Method::POST, "/v1/admin/terminals", Some(body))
    }

    /// A one-time code for a terminal of the default store, code picked by the server.
    fn code(&self, name: &str) -> String {
        let v = self.new_terminal(json!({"name": name}));
        text(&v, "enrollment_code", "POST /v1/admin/terminals").to_string()
    }

    /// Every order the back office shows (optionally `?store=`), in pages.
    fn orders(&self, store: Option<&str>) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..100 {
            let mut path = "/v1/admin/orders?limit=1000".to_string();
            if let Some(s) = store {
                path.push_str(&format!("&store={s}"));
            }
            if let Some(a) = &after {
                path.push_str(&format!("&after={a}"));
            }
            let v = self.get(&path);
            all.extend(array(&v, "orders", &path).iter().cloned());
            match v.get("next").and_then(Value::as_str) {
                Some(n) => after = Some(n.to_string()),
                None => return all,
            }
        }
        panic!("more than 100 pages of orders");
    }

    /// The back office's on-hand of a SKU in a store (0 when it has no level).
    fn on_hand(&self, store: &str, sku: &str) -> i64 {
        let path = format!("/v1/admin/stock?store={store}");
        let v = self.get(&path);
        let items: Vec<&Value> = array(&v, "items", &path).iter().filter(|i| i["sku"] == sku).collect();
        assert!(items.len() <= 1, "{path}: more than one level for {sku} in one store: {items:?}");
        items.first().map(|i| i["on_hand"].as_i64().expect("on_hand is an integer")).unwrap_or(0)
    }

    fn alerts(&self) -> Value {
        self.get("/v1/admin/alerts")
    }

    fn protocol(&self) -> u64 {
        let a = self.request(reqwest::Method::GET, "/v1/health", ADMIN, None);
        a.body["protocol"].as_u64().expect("health names the protocol version")
    }
}

// ---------------------------------------------------------------------------------------------
// JSON helpers that fail with a clear message
// ---------------------------------------------------------------------------------------------

fn text<'a>(v: &'a Value, field: &str, ctx: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or_else(|| panic!("{ctx}: no text field `{field}` in {v}"))
}

fn array<'a>(v: &'a Value, field: &str, ctx: &str) -> &'a Vec<Value> {
    v.get(field).and_then(Value::as_array).unwrap_or_else(|| panic!("{ctx}: no array `{field}` in {}", short(&v.to_string())))
}

/// `ref`s of a list of back-office orders.
fn refs(orders: &[Value]) -> Vec<String> {
    orders.iter().map(|o| text(o, "ref", "admin order").to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// A till: a `tillbook` data directory
// ---------------------------------------------------------------------------------------------

struct Till {
    name: String,
    root: TempDir,
}

impl Till {
    /// `tillbook init` with `args` (no demo data: the catalog comes from a file or the server),
    /// then `tillbook shift open --float 0`: a till sells only in an open shift.
    fn init(name: &str, args: &[&str]) -> Till {
        let t = Till { name: name.to_string(), root: tempfile::tempdir().unwrap() };
        let mut all = vec!["init"];
        all.extend_from_slice(args);
        t.run(&all);
        t.run(&["shift", "open", "--float", "0"]);
        t
    }

    /// A byte-for-byte copy of `other`'s data directory (no process holds it: every CLI
    /// command has exited), as a cloned or restored till.
    fn copy_of(other: &Till, name: &str) -> Till {
        let t = Till { name: name.to_string(), root: tempfile::tempdir().unwrap() };
        let from = other.data();
        std::fs::create_dir_all(t.data()).unwrap();
        let mut copied = 0;
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), t.data().join(entry.file_name())).unwrap();
                copied += 1;
            }
        }
        assert!(copied > 0, "nothing to copy in {}", from.display());
        t
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn exec(&self, args: &[&str], timeout: Duration) -> Ran {
        let mut cmd = Command::new(bin("tillbook"));
        cmd.arg("--json").arg("--data-dir").arg(self.data()).args(args).env_remove("TILLBOOK_DATA_DIR");
        run_bounded(&mut cmd, timeout)
    }

    /// A command's JSON, or its `{code, message}` error.
    fn try_run_within(&self, args: &[&str], timeout: Duration) -> Result<Value, Value> {
        let r = self.exec(args, timeout);
        assert!(
            !r.timed_out,
            "{}: `tillbook {}` did not finish within {timeout:?} (a busy loop or endless retry?)\nstdout: {}\nstderr: {}",
            self.name,
            args.join(" "),
            short(&r.stdout),
            short(&r.stderr)
        );
        let v: Value = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{}: `tillbook {}` printed no JSON ({e}); status {:?}\nstdout: {}\nstderr: {}",
                self.name,
                args.join(" "),
                r.status,
                short(&r.stdout),
                short(&r.stderr)
            )
        });
        if r.status == Some(0) {
            Ok(v)
        } else {
            assert!(
                v.get("code").and_then(Value::as_str).is_some() && v.get("message").and_then(Value::as_str).is_some(),
                "{}: `tillbook {}` failed (status {:?}) without a {{code, message}} error: {v}",
                self.name,
                args.join(" "),
                r.status
            );
            Err(v)
        }
    }

    fn try_run(&self, args: &[&str]) -> Result<Value, Value> {
        self.try_run_within(args, CLI_TIMEOUT)
    }

    fn run(&self, args: &[&str]) -> Value {
        self.try_run(args).unwrap_or_else(|e| panic!("{}: `tillbook {}` failed: {e}", self.name, args.join(" ")))
    }

    fn import(&self, products: Value) {
        let file = self.root.path().join("catalog.json");
        std::fs::write(&file, serde_json::to_vec(&json!({"products": products})).unwrap()).unwrap();
        self.run(&["catalog", "import", file.to_str().unwrap()]);
    }

    fn open_session(&self) -> String {
        let v = self.run(&["session", "open"]);
        text(&v, "session_key", "session open").to_string()
    }

    /// Rings up `items` and commits; the order's reference.
    fn sell(&self, items: &[(&str, i64)], key: &str) -> String {
        let s = self.open_session();
        for (sku, qty) in items {
            self.run(&["session", "add", &s, sku, "--qty", &qty.to_string()]);
        }
        let v = self.run(&["commit", &s, "--idempotency-key", key]);
        text(&v, "order_ref", "commit").to_string()
    }

    /// `tillbook enroll`: its JSON.
    fn enroll(&self, server: &Server, code: &str) -> Value {
        self.run(&["enroll", "--server", &server.base, "--code", code])
    }

    fn try_sync(&self) -> Result<Value, Value> {
        self.try_run_within(&["sync", "run"], SYNC_TIMEOUT)
    }

    fn sync(&self) -> Value {
        self.try_sync().unwrap_or_else(|e| panic!("{}: `tillbook sync run` failed: {e}", self.name))
    }

    fn status(&self) -> Value {
        self.run(&["sync", "status"])
    }

    /// The till's own view of a SKU's on-hand.
    fn on_hand(&self, sku: &str) -> i64 {
        let v = self.run(&["stock", "show", sku]);
        let items = array(&v, "items", "stock show");
        assert_eq!(items.len(), 1, "{}: stock show {sku}: {v}", self.name);
        items[0]["on_hand"].as_i64().expect("on_hand")
    }

    /// The till's orders (newest first).
    fn orders(&self) -> Vec<Value> {
        let v = self.run(&["order", "list", "--limit", "1000"]);
        array(&v, "orders", "order list").clone()
    }

    /// The terminal's bearer token, read from the book (a test may; the CLI never shows it).
    fn token(&self) -> String {
        let conn = rusqlite::Connection::open(self.data().join("book.sqlite")).expect("open the book");
        conn.query_row("SELECT token FROM sync_state", [], |r| r.get::<_, Option<String>>(0))
            .expect("sync_state.token")
            .expect("the till is enrolled: it holds a token")
    }
}

/// Asserts every order of the till reached the server (`sync_state` applied).
fn assert_all_applied(till: &Till) {
    let bad: Vec<String> = till
        .orders()
        .iter()
        .filter(|o| o["sync_state"] != "applied")
        .map(|o| {
            let r = o["ref"].as_str().unwrap_or_default();
            let why = till.run(&["order", "show", r]).get("sync_reason").cloned().unwrap_or(Value::Null);
            format!("{r} is {} ({why})", o["sync_state"])
        })
        .collect();
    assert!(bad.is_empty(), "{}: orders the server did not apply: {bad:?}", till.name);
}

/// Product records for a till's catalog file, as the demo server has them.
fn demo_catalog() -> Value {
    json!([
        {"sku": "ESPRESSO", "name": "Espresso", "price_q": 500, "currency": "BRL", "category": "Coffee"},
        {"sku": "LATTE", "name": "Latte", "price_q": 750, "currency": "BRL", "category": "Coffee"},
    ])
}

/// A product record for `PUT /v1/admin/catalog`.
fn product(sku: &str, name: &str, price_q: i64, unique: bool) -> Value {
    json!({"sku": sku, "name": name, "price_q": price_q, "currency": "BRL", "category": "Gifts", "unique": unique})
}

fn put_catalog(server: &Server, products: Value) {
    server.admin(reqwest::Method::PUT, "/v1/admin/catalog", Some(json!({"products": products})));
}

fn receive(server: &Server, sku: &str, qty: i64) {
    server.admin(reqwest::Method::POST, "/v1/admin/stock/adjust", Some(json!({"sku": sku, "delta": qty, "reason": "receiving"})));
}

/// An enrolled till that has pulled the server's catalog and stock. `init_code` keeps old
/// books' references apart where a test is not about shared codes.
fn enrolled_till(server: &Server, name: &str, init_code: &str) -> (Till, Value) {
    let till = Till::init(name, &["--terminal-code", init_code]);
    let e = till.enroll(server, &server.code(name));
    till.sync();
    (till, e)
}

// ---------------------------------------------------------------------------------------------
// The situations
// ---------------------------------------------------------------------------------------------

/// Two books made with the default terminal code (T01) sell before and after they are enrolled
/// with the same server: every sale of both reaches the back office, each under its own
/// terminal, and the server gives each till its own code for the orders it rings from then on.
#[test]
fn two_tills_with_the_same_code_both_reach_the_back_office() {
    let server = Server::start();
    let espresso0 = server.on_hand("main", "ESPRESSO");
    let latte0 = server.on_hand("main", "LATTE");

    let a = Till::init("till A", &[]);
    let b = Till::init("till B", &[]);
    a.import(demo_catalog());
    b.import(demo_catalog());
    // Offline, before enrolment: both print the same kind of reference.
    let a1 = a.sell(&[("ESPRESSO", 1)], "a-1");
    let b1 = b.sell(&[("ESPRESSO", 1)], "b-1");
    assert_eq!(a1, b1, "both books were made with the default code: same first reference");

    let ea = a.enroll(&server, &server.code("Counter A"));
    let eb = b.enroll(&server, &server.code("Counter B"));
    let a2 = a.sell(&[("LATTE", 1)], "a-2");
    let b2 = b.sell(&[("LATTE", 1)], "b-2");
    a.sync();
    b.sync();
    // A second round moves nothing and counts nothing twice.
    a.sync();
    b.sync();

    // Every sale reached the back office: nothing rejected at either till.
    assert_all_applied(&a);
    assert_all_applied(&b);
    let orders = server.orders(None);
    assert_eq!(orders.len(), 4, "the back office holds every sale of both tills: {:?}", refs(&orders));
    let id_a = text(&ea, "terminal_id", "enroll A").to_string();
    let id_b = text(&eb, "terminal_id", "enroll B").to_string();
    assert_ne!(id_a, id_b);
    let of = |id: &str| -> Vec<String> {
        let mut r: Vec<String> = orders.iter().filter(|o| o["terminal_id"] == id).map(|o| o["ref"].as_str().unwrap().to_string()).collect();
        r.sort();
        r
    };
    let mut want_a = vec![a1.clone(), a2.clone()];
    want_a.sort();
    let mut want_b = vec![b1.clone(), b2.clone()];
    want_b.sort();
    assert_eq!(of(&id_a), want_a, "till A's orders under its own terminal");
    assert_eq!(of(&id_b), want_b, "till B's orders under its own terminal");
    assert_eq!(server.on_hand("main", "ESPRESSO"), espresso0 - 2, "both espressos are counted");
    assert_eq!(server.on_hand("main", "LATTE"), latte0 - 2, "both lattes are counted");

    // The server assigned the codes, unique within the store, and new references use them.
    let code_a = text(&ea, "terminal_code", "tillbook enroll --json").to_string();
    let code_b = text(&eb, "terminal_code", "tillbook enroll --json").to_string();
    assert_ne!(code_a, code_b, "two terminals of one store never share a code");
    assert_eq!(text(&ea, "store", "tillbook enroll --json"), "main");
    assert_eq!(text(&eb, "store", "tillbook enroll --json"), "main");
    text(&ea, "store_name", "tillbook enroll --json");
    assert!(a2.contains(&format!("-{code_a}-")), "after enrolment A's references use {code_a}: {a2}");
    assert!(b2.contains(&format!("-{code_b}-")), "after enrolment B's references use {code_b}: {b2}");
    assert_ne!(a2, b2);
    // Orders rung before enrolment keep their reference.
    assert_eq!(a.run(&["order", "show", &a1])["ref"], a1.as_str(), "order show {a1}");
    assert_eq!(b.run(&["order", "show", &b1])["ref"], b1.as_str(), "order show {b1}");

    // The back office tells the two apart by terminal, not by printed reference.
    let mut ids = std::collections::BTreeSet::new();
    for o in &orders {
        let ctx = format!("admin order {}", o["ref"]);
        ids.insert(text(o, "order_id", &ctx).to_string());
        assert_eq!(text(o, "store", &ctx), "main");
        text(o, "terminal_code", &ctx);
    }
    assert_eq!(ids.len(), 4, "each order has its own order_id");
    for (r, code) in [(&a2, &code_a), (&b2, &code_b)] {
        let o = orders.iter().find(|o| o["ref"] == r.as_str()).unwrap();
        assert_eq!(text(o, "terminal_code", "admin order"), code.as_str(), "{r}");
    }
}

/// Till A sells 3 espressos while till B, which has not seen that sale, counts the shelf later.
/// Whether A's sale or B's count reaches the server first, the server ends at the count: a count
/// is a baseline at the moment it was taken, so the sale is not subtracted twice.
fn stale_count(sale_arrives_first: bool) {
    let server = Server::start();
    let (a, _) = enrolled_till(&server, "till A", "A1");
    let (b, _) = enrolled_till(&server, "till B", "B1");
    let s0 = server.on_hand("main", "ESPRESSO");
    assert_eq!(b.on_hand("ESPRESSO"), s0, "B starts from the server's stock");
    let counted = s0 - 10;

    // A count taken before a sale: the sale after it still counts (LATTE).
    let latte_counted = server.on_hand("main", "LATTE") - 4;
    b.run(&["stock", "count", "LATTE", &latte_counted.to_string()]);

    a.sell(&[("ESPRESSO", 3)], "a-espresso");
    a.sell(&[("LATTE", 2)], "a-latte");
    if sale_arrives_first {
        a.sync();
        // B has not pulled since: its view is stale when it counts.
        assert_eq!(b.on_hand("ESPRESSO"), s0, "B has not seen A's sale");
        b.run(&["stock", "count", "ESPRESSO", &counted.to_string()]);
        b.sync();
    } else {
        b.run(&["stock", "count", "ESPRESSO", &counted.to_string()]);
        b.sync();
        a.sync();
    }
    let espresso = server.on_hand("main", "ESPRESSO");
    let latte = server.on_hand("main", "LATTE");
    assert_eq!(
        (espresso, latte),
        (counted, latte_counted - 2),
        "ESPRESSO counted {counted} after A's sale of 3 (server had {s0}): on-hand must be the count; \
         LATTE counted {latte_counted} before A's sale of 2: on-hand must be the count − 2"
    );
    // Both tills come to the server's view.
    a.sync();
    b.sync();
    for t in [&a, &b] {
        assert_eq!(t.on_hand("ESPRESSO"), counted, "{} after sync", t.name);
        assert_eq!(t.on_hand("LATTE"), latte_counted - 2, "{} after sync", t.name);
    }
    assert_eq!(server.on_hand("main", "ESPRESSO"), counted, "syncing again changes nothing");
}

#[test]
fn a_count_on_a_stale_till_does_not_subtract_another_tills_sale_twice() {
    stale_count(true);
}

#[test]
fn a_count_on_a_stale_till_arriving_before_the_sale_is_still_the_baseline() {
    stale_count(false);
}

/// The server's database is put back to an older copy: one `tillbook sync run` (in bounded
/// time) gives it back every order the till holds, with exact stock.
#[test]
fn a_server_restored_from_a_backup_gets_everything_back() {
    let mut server = Server::start();
    let s0 = server.on_hand("main", "ESPRESSO");
    let (till, _) = enrolled_till(&server, "till", "R1");
    let mut sold = 0;
    let mut all = Vec::new();
    for i in 0..2 {
        all.push(till.sell(&[("ESPRESSO", 1)], &format!("before-{i}")));
        sold += 1;
    }
    till.sync();
    assert_eq!(server.orders(None).len(), 2);

    // The backup: the database as it is now.
    server.stop();
    let backup = server.dir.path().join("backup");
    server.snapshot(&backup);
    server.restart();

    for i in 0..3 {
        all.push(till.sell(&[("ESPRESSO", 2)], &format!("after-{i}")));
        sold += 2;
    }
    till.sync();
    assert_eq!(server.orders(None).len(), 5);
    assert_eq!(till.status()["pending"], 0, "everything acknowledged");

    // Disaster: the server comes back from the backup, three orders short.
    server.stop();
    server.restore(&backup);
    server.restart();
    assert_eq!(server.orders(None).len(), 2, "the restored server lost the last three orders");
    all.push(till.sell(&[("ESPRESSO", 1)], "after-restore"));
    sold += 1;

    let report = till.try_sync();
    let mut have = refs(&server.orders(None));
    have.sort();
    all.sort();
    assert!(report.is_ok(), "sync run against the restored server failed: {:?}; server holds {have:?}", report.err());
    assert_eq!(have, all, "after one sync run the restored server holds every order of the till");
    assert_eq!(server.on_hand("main", "ESPRESSO"), s0 - sold, "exact stock: every sale once");
    assert_all_applied(&till);
    // Nothing is sent twice on the next round.
    till.sync();
    assert_eq!(server.orders(None).len(), all.len());
    assert_eq!(server.on_hand("main", "ESPRESSO"), s0 - sold);
    let st = till.status();
    assert_eq!(st["retention_days"], 30, "acknowledged rows are kept 30 days: sync status --json {st}");
}

/// A till's data directory is copied; the original and the copy both sell and sync. The one
/// that finds the server holding other events at its seqs stops (`reenroll_required`, kept in
/// the book) and never pushes again under that identity; enrolled again, its unsynced sales
/// arrive as the new terminal's orders, never merged with the original's.
#[test]
fn a_cloned_till_is_asked_to_reenrol_and_its_sales_arrive_under_a_new_identity() {
    let server = Server::start();
    let s0 = server.on_hand("main", "ESPRESSO");
    let (original, e1) = enrolled_till(&server, "original", "C1");
    let first_id = text(&e1, "terminal_id", "enroll").to_string();
    let o1 = original.sell(&[("ESPRESSO", 1)], "o-1");
    original.sync();

    let clone = Till::copy_of(&original, "clone");
    let o2 = original.sell(&[("ESPRESSO", 2)], "o-2");
    let c1 = clone.sell(&[("ESPRESSO", 4)], "c-1");
    let c2 = clone.sell(&[("LATTE", 1)], "c-2");
    original.sync();
    let before = server.orders(None);
    assert_eq!(before.len(), 2);

    // The clone finds the server holding other events at the seqs it holds.
    let err = clone
        .try_sync()
        .err()
        .unwrap_or_else(|| panic!("the clone synced as if nothing happened; server orders: {:?}", refs(&server.orders(None))));
    assert_eq!(err["code"], "reenroll_required", "the clone must be asked to re-enrol: {err}");
    let st = clone.status();
    assert!(st["halted"].as_str().is_some_and(|h| !h.is_empty()), "sync status shows why it stopped: {st}");
    assert_eq!(st["reenroll_required"], true, "sync status --json: {st}");
    // Kept in the book: again, and nothing pushed under the original's identity.
    let again = clone.try_sync().expect_err("a halted till does not sync");
    assert_eq!(again["code"], "reenroll_required", "{again}");
    assert_eq!(refs(&server.orders(None)), refs(&before), "a halted till never pushes again");
    assert_eq!(server.on_hand("main", "ESPRESSO"), s0 - 3);

    // Enrolled again with a new code: its unsynced sales arrive as the new terminal's orders.
    let e2 = clone.enroll(&server, &server.code("clone, re-enrolled"));
    let second_id = text(&e2, "terminal_id", "enroll").to_string();
    assert_ne!(first_id, second_id);
    clone.sync();
    assert_eq!(clone.status()["reenroll_required"], false);
    let after = server.orders(None);
    let of = |id: &str| -> Vec<String> {
        let mut r: Vec<String> = after.iter().filter(|o| o["terminal_id"] == id).map(|o| o["ref"].as_str().unwrap().to_string()).collect();
        r.sort();
        r
    };
    let mut want_first = vec![o1.clone(), o2.clone()];
    want_first.sort();
    let mut want_second = vec![c1.clone(), c2.clone()];
    want_second.sort();
    assert_eq!(of(&first_id), want_first, "the original's orders stay the original's");
    let why: Vec<Value> = [&c1, &c2].iter().map(|r| clone.run(&["order", "show", r])["sync_reason"].clone()).collect();
    assert_eq!(of(&second_id), want_second, "the clone's sales arrive under its new identity (at the clone: {why:?})");
    assert_eq!(after.len(), 4);
    assert_eq!(server.on_hand("main", "ESPRESSO"), s0 - 7, "every sale once");
    assert_all_applied(&clone);
    // The original is unaffected.
    let o3 = original.sell(&[("ESPRESSO", 1)], "o-3");
    original.sync();
    assert_all_applied(&original);
    assert!(refs(&server.orders(None)).contains(&o3));
    assert_eq!(server.on_hand("main", "ESPRESSO"), s0 - 8);
}

/// `Ok(())` when the till refuses to sell `sku` (at add: `unique_unavailable`; at commit:
/// `blocking_issues` naming `unique_unavailable`), else the reference of the order it rang.
fn try_sell_unique(till: &Till, sku: &str, key: &str) -> Result<(), String> {
    let s = till.open_session();
    if let Err(e) = till.try_run(&["session", "add", &s, sku]) {
        assert_eq!(e["code"], "unique_unavailable", "{}: adding {sku}: {e}", till.name);
        return Ok(());
    }
    match till.try_run(&["commit", &s, "--idempotency-key", key]) {
        Err(e) => {
            assert_eq!(e["code"], "blocking_issues", "{}: committing {sku}: {e}", till.name);
            let shown = till.run(&["session", "show", &s]);
            assert!(
                e["message"].as_str().unwrap_or("").contains("unique_unavailable") || shown.to_string().contains("unique_unavailable"),
                "{}: the blocking issue is unique_unavailable: {e} / {shown}",
                till.name
            );
            Ok(())
        }
        Ok(v) => Err(text(&v, "order_ref", "commit").to_string()),
    }
}

/// A one-of-a-kind item sold by one online till reaches the other by pull: the other never
/// sells it again.
#[test]
fn a_unique_item_sold_by_one_till_is_not_sold_by_another_online() {
    let server = Server::start();
    put_catalog(&server, json!([product("VASE-1", "Blue vase", 12000, true)]));
    receive(&server, "VASE-1", 1);
    let (a, _) = enrolled_till(&server, "till A", "A1");
    let (b, _) = enrolled_till(&server, "till B", "B1");

    let sold = a.sell(&[("VASE-1", 1)], "a-vase");
    a.sync();
    b.sync();
    if let Err(r) = try_sell_unique(&b, "VASE-1", "b-vase") {
        panic!("till B sold the one-of-a-kind VASE-1 again as {r} after A sold it as {sold} and B pulled");
    }
    // The seller does not sell it twice either.
    if let Err(r) = try_sell_unique(&a, "VASE-1", "a-vase-2") {
        panic!("till A sold VASE-1 twice: {sold} and {r}");
    }
    b.sync();
    let orders = server.orders(None);
    assert_eq!(refs(&orders), vec![sold.clone()], "one sale of the unique item");
    let alerts = server.alerts();
    assert!(array(&alerts, "conflicts", "alerts").is_empty(), "no conflict: {alerts}");
}

/// A one-of-a-kind item in an open basket at one online till is reserved for the others: they
/// pull the reservation and cannot put it in a basket, until the first till lets it go.
#[test]
fn a_unique_item_in_one_tills_basket_is_reserved_at_the_others() {
    let server = Server::start();
    put_catalog(&server, json!([product("VASE-R", "Red vase", 9000, true)]));
    receive(&server, "VASE-R", 1);
    let (a, _) = enrolled_till(&server, "till A", "A1");
    let (b, _) = enrolled_till(&server, "till B", "B1");

    let basket = a.open_session();
    a.run(&["session", "add", &basket, "VASE-R"]);
    a.sync();
    b.sync();
    let other = b.open_session();
    let refused = b.try_run(&["session", "add", &other, "VASE-R"]);
    let e = refused.expect_err("till B put VASE-R in a basket while till A's basket holds it");
    assert_eq!(e["code"], "unique_unavailable", "{e}");
    let stock = b.run(&["stock", "show", "VASE-R"]);
    assert_eq!(stock["items"][0]["unique_state"], "reserved", "till B sees it reserved: {stock}");

    // A lets it go; once B has pulled that, B may sell it, and A then sees it sold.
    a.run(&["session", "abandon", &basket]);
    a.sync();
    b.sync();
    b.run(&["session", "add", &other, "VASE-R"]);
    let sold = text(&b.run(&["commit", &other, "--idempotency-key", "b-vase"]), "order_ref", "commit").to_string();
    b.sync();
    a.sync();
    if let Err(r) = try_sell_unique(&a, "VASE-R", "a-vase") {
        panic!("till A sold VASE-R as {r} after B sold it as {sold}");
    }
    assert_eq!(refs(&server.orders(None)), vec![sold], "one sale of the unique item");
    assert!(array(&server.alerts(), "conflicts", "alerts").is_empty());
}

/// Identifiers an alert uses for an order (a reference, an order id, or an object with either).
fn conflict_ids(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for o in array(c, "orders", "conflict") {
        match o {
            Value::String(s) => out.push(s.clone()),
            Value::Object(m) => {
                for k in ["ref", "order_ref", "order_id"] {
                    if let Some(s) = m.get(k).and_then(Value::as_str) {
                        out.push(s.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Two tills sell the same one-of-a-kind items offline: the back office flags each as a conflict,
/// judged from the server's catalog (VASE-2 became unique after the tills last pulled), until
/// one of the orders is cancelled.
#[test]
fn unique_item_sold_offline_by_two_tills_is_a_conflict_until_one_is_cancelled() {
    let server = Server::start();
    put_catalog(&server, json!([product("VASE-1", "Blue vase", 12000, true), product("VASE-2", "Red vase", 9000, false)]));
    receive(&server, "VASE-1", 1);
    receive(&server, "VASE-2", 1);
    let (a, _) = enrolled_till(&server, "till A", "A1");
    let (b, _) = enrolled_till(&server, "till B", "B1");
    // The back office learns VASE-2 is one of a kind; the tills are offline and do not hear it.
    put_catalog(&server, json!([product("VASE-2", "Red vase", 9000, true)]));

    let ra = a.sell(&[("VASE-1", 1), ("VASE-2", 1)], "a-vases");
    let rb = b.sell(&[("VASE-1", 1), ("VASE-2", 1)], "b-vases");
    a.sync();
    b.sync();
    assert_all_applied(&a);
    assert_all_applied(&b);
    let all = server.orders(None);
    let id_of = |r: &str| -> Vec<String> {
        let o = all.iter().find(|o| o["ref"] == r).unwrap_or_else(|| panic!("{r} is not at the back office: {:?}", refs(&all)));
        let mut ids = vec![r.to_string()];
        if let Some(id) = o.get("order_id").and_then(Value::as_str) {
            ids.push(id.to_string());
        }
        ids
    };
    let (ids_a, ids_b) = (id_of(&ra), id_of(&rb));
    let names = |c: &Value, ids: &[String]| conflict_ids(c).iter().any(|x| ids.contains(x));

    let alerts = server.alerts();
    let conflicts = array(&alerts, "conflicts", "GET /v1/admin/alerts").clone();
    for sku in ["VASE-1", "VASE-2"] {
        let c = conflicts
            .iter()
            .find(|c| c["sku"] == sku)
            .unwrap_or_else(|| panic!("two tills sold the one-of-a-kind {sku}: the back office must flag it: {alerts}"));
        assert!(names(c, &ids_a) && names(c, &ids_b), "the {sku} conflict names both orders ({ra}, {rb}): {c}");
    }

    // Cancelling one of the orders clears the conflicts.
    b.run(&["order", "cancel", &rb, "--reason", "sold elsewhere"]);
    b.sync();
    let status = server.orders(None).iter().find(|o| o["ref"] == rb.as_str()).map(|o| o["status"].clone());
    assert_eq!(status, Some(json!("cancelled")), "{rb} is cancelled at the back office");
    let alerts = server.alerts();
    let left: Vec<&Value> = array(&alerts, "conflicts", "alerts").iter().filter(|c| c["sku"] == "VASE-1" || c["sku"] == "VASE-2").collect();
    assert!(left.is_empty(), "the cancelled order ends the conflicts: {left:?}");
}

/// A terminal of one store can neither read nor write another store's data: 403 with a JSON
/// `{code, message}`; the back office's `?store=` keeps the stores apart.
#[test]
fn a_terminal_cannot_read_another_stores_data() {
    let server = Server::start();
    let created = server.admin(reqwest::Method::POST, "/v1/admin/stores", Some(json!({"code": "north", "name": "North"})));
    assert_eq!(created["code"], "north", "POST /v1/admin/stores: {created}");
    let stores = server.get("/v1/admin/stores");
    // `{stores: [...]}` or a bare list.
    let list = match &stores {
        Value::Array(a) => a,
        _ => array(&stores, "stores", "GET /v1/admin/stores"),
    };
    let codes: Vec<&str> = list.iter().filter_map(|s| s["code"].as_str()).collect();
    assert!(codes.contains(&"main") && codes.contains(&"north"), "stores: {stores}");

    let north0 = server.on_hand("north", "ESPRESSO");
    let main0 = server.on_hand("main", "ESPRESSO");
    // A till in each store; codes are unique within a store, so both may be T01.
    let tm = server.new_terminal(json!({"name": "Main counter"}));
    assert_eq!(tm["store"], "main", "{tm}");
    let tn = server.new_terminal(json!({"name": "North counter", "store": "north"}));
    assert_eq!(tn["store"], "north", "{tn}");
    assert_eq!(tn["terminal_code"], "T01", "the first free code of the north store: {tn}");
    let m = Till::init("main till", &["--terminal-code", "M1"]);
    let n = Till::init("north till", &["--terminal-code", "N1"]);
    m.enroll(&server, text(&tm, "enrollment_code", "terminal"));
    let en = n.enroll(&server, text(&tn, "enrollment_code", "terminal"));
    assert_eq!(en["store"], "north", "tillbook enroll --json: {en}");
    assert_eq!(en["store_name"], "North", "tillbook enroll --json: {en}");
    m.sync();
    n.sync();
    let rm = m.sell(&[("ESPRESSO", 2)], "m-1");
    let rn = n.sell(&[("ESPRESSO", 1)], "n-1");
    m.sync();
    n.sync();
    assert_all_applied(&m);
    assert_all_applied(&n);

    // The back office keeps the stores apart.
    assert_eq!(refs(&server.orders(Some("north"))), vec![rn.clone()], "north's orders");
    assert_eq!(refs(&server.orders(Some("main"))), vec![rm.clone()], "main's orders");
    assert_eq!(server.on_hand("north", "ESPRESSO"), north0 - 1);
    assert_eq!(server.on_hand("main", "ESPRESSO"), main0 - 2);
    assert_eq!(n.on_hand("ESPRESSO"), north0 - 1, "the north till sees its own store's stock");

    // The north terminal's own token against the other store.
    let token = n.token();
    let terminal_id = text(&en, "terminal_id", "enroll").to_string();
    let protocol = server.protocol();
    let forbidden = |what: &str, a: Answer, code: Option<&str>| {
        assert_eq!(a.status, 403, "{what}: must be 403, got {} {}", a.status, short(&a.text));
        let c = a.body.get("code").and_then(Value::as_str).unwrap_or_else(|| panic!("{what}: no JSON {{code}}: {}", a.text));
        assert!(a.body.get("message").and_then(Value::as_str).is_some(), "{what}: no JSON {{message}}: {}", a.text);
        if let Some(want) = code {
            assert_eq!(c, want, "{what}: {}", a.text);
        }
    };
    let pull = json!({"protocol": protocol, "terminal_id": terminal_id, "store": "main", "cursor": null, "limit": 100});
    forbidden("pull naming main", server.request(reqwest::Method::POST, "/v1/sync/pull", &token, Some(pull)), Some("forbidden_store"));
    let push = json!({"protocol": protocol, "terminal_id": terminal_id, "store": "main", "events": []});
    forbidden("push naming main", server.request(reqwest::Method::POST, "/v1/sync/push", &token, Some(push)), Some("forbidden_store"));
    for path in
        ["/v1/admin/orders?store=main", "/v1/admin/stock?store=main", "/v1/admin/alerts?store=main", "/v1/admin/terminals?store=main"]
    {
        forbidden(path, server.request(reqwest::Method::GET, path, &token, None), None);
    }
    forbidden("GET main's order by reference", server.request(reqwest::Method::GET, &format!("/v1/admin/orders/{rm}"), &token, None), None);
    // Its own store it may read.
    let own = json!({"protocol": protocol, "terminal_id": terminal_id, "store": "north", "cursor": null, "limit": 100});
    let a = server.request(reqwest::Method::POST, "/v1/sync/pull", &token, Some(own));
    assert_eq!(a.status, 200, "pull of its own store: {}", short(&a.text));
}

/// Rewrites the payload of the outbox row at `seq` with `change` and stores its new hash, as a
/// till with a bug (or a tampered book) would send it. The book file is closed (no process runs).
fn tamper(till: &Till, seq: i64, change: impl FnOnce(&mut Value)) {
    let conn = rusqlite::Connection::open(till.data().join("book.sqlite")).expect("open the book");
    let text: String = conn.query_row("SELECT payload FROM outbox WHERE seq = ?1", [seq], |r| r.get(0)).expect("outbox row");
    let mut payload: Value = serde_json::from_str(&text).unwrap();
    change(&mut payload);
    let hash = tillbook_protocol::payload_hash(&payload);
    let changed = conn
        .execute(
            "UPDATE outbox SET payload = ?2, payload_hash = ?3 WHERE seq = ?1",
            rusqlite::params![seq, tillbook_protocol::canonical_json(&payload), hash],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// The outbox seq of an order's first row of `kind`.
fn seq_of(till: &Till, order_ref: &str, kind: &str) -> i64 {
    let conn = rusqlite::Connection::open(till.data().join("book.sqlite")).expect("open the book");
    conn.query_row(
        "SELECT seq FROM outbox WHERE order_ref = ?1 AND kind = ?2 ORDER BY seq LIMIT 1",
        rusqlite::params![order_ref, kind],
        |r| r.get(0),
    )
    .expect("outbox row of the order")
}

/// Events that break the rules (totals that do not add up, a quantity of zero, a NUL in a
/// name, a status move the channel's flow does not allow) are each recorded as rejected with a
/// reason: the queue goes on, the good sales around them arrive, the till shows why, and the
/// rejected ones move no stock.
#[test]
fn events_that_break_the_rules_are_rejected_without_blocking_the_queue() {
    let server = Server::start();
    let (till, _) = enrolled_till(&server, "till", "P1");
    let espresso0 = server.on_hand("main", "ESPRESSO");
    let good_before = till.sell(&[("ESPRESSO", 1)], "good-1");
    let bad_total = till.sell(&[("ESPRESSO", 2)], "bad-total");
    let bad_qty = till.sell(&[("ESPRESSO", 1), ("LATTE", 1)], "bad-qty");
    let bad_name = till.sell(&[("LATTE", 1)], "bad-name");
    let moved = till.sell(&[("LATTE", 1)], "moved");
    till.run(&["order", "transition", &moved, "confirmed"]);
    let good_after = till.sell(&[("ESPRESSO", 3)], "good-2");

    tamper(&till, seq_of(&till, &bad_total, "order.committed"), |p| {
        p["total_q"] = json!(p["total_q"].as_i64().unwrap() + 100);
    });
    tamper(&till, seq_of(&till, &bad_qty, "order.committed"), |p| {
        p["lines"][1]["qty"] = json!(0);
        p["lines"][1]["total_q"] = json!(0);
        p["subtotal_q"] = p["lines"][0]["total_q"].clone();
        p["total_q"] = p["lines"][0]["total_q"].clone();
    });
    tamper(&till, seq_of(&till, &bad_name, "order.committed"), |p| {
        p["lines"][0]["name"] = json!("Lat\u{0}te");
    });
    tamper(&till, seq_of(&till, &moved, "order.status_changed"), |p| {
        p["to"] = json!("completed");
    });

    till.sync();
    let status = till.status();
    assert_eq!(status["pending"], 0, "the queue drained: {status}");
    assert_eq!(status["rejected"], 4, "four events rejected: {status}");
    for (r, what) in [(&bad_total, "total"), (&bad_qty, "quantity"), (&bad_name, "NUL"), (&moved, "flow")] {
        let v = till.run(&["order", "show", r]);
        assert_eq!(v["sync_state"], "rejected", "{what}: {r} must be rejected: {v}");
        let reason = v["sync_reason"].as_str().unwrap_or_default();
        assert!(!reason.is_empty(), "{what}: {r} is rejected with a reason: {v}");
    }
    for r in [&good_before, &good_after] {
        assert_eq!(till.run(&["order", "show", r])["sync_state"], "applied", "{r}");
    }
    let on_server = refs(&server.orders(None));
    for r in [&good_before, &good_after, &moved] {
        assert!(on_server.contains(r), "{r} reached the back office: {on_server:?}");
    }
    for r in [&bad_total, &bad_qty, &bad_name] {
        assert!(!on_server.contains(r), "{r} must not be in the back office: {on_server:?}");
    }
    let alerts = server.alerts();
    let rejected = array(&alerts, "rejected", "alerts");
    assert_eq!(rejected.len(), 4, "the back office sees every rejection: {alerts}");
    assert!(rejected.iter().all(|e| e["reason"].as_str().is_some_and(|r| !r.is_empty())), "{alerts}");
    // Only the good sales moved stock; the order whose move was rejected stays as it was.
    assert_eq!(server.on_hand("main", "ESPRESSO"), espresso0 - 4);
    let moved_on_server = server.orders(None).into_iter().find(|o| o["ref"] == moved.as_str()).unwrap();
    assert_eq!(moved_on_server["status"], "new", "{moved_on_server}");
}
