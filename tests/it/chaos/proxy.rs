//! The fault-injecting proxy between the terminals and the server: per connection it passes
//! the request through, drops the connection before forwarding it, forwards it and drops the
//! connection before the answer, or sends it to the server twice (the copy on its own
//! connection, a little later, its answer thrown away).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};


#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Pass,
    /// The request is read, never forwarded; the connection is closed.
    DropBefore,
    /// The request is forwarded and answered; the connection is closed before the answer.
    DropAfter,
    /// The request is forwarded twice, the copy on its own connection; its answer is dropped.
    Duplicate,
}

#[derive(Default)]
pub struct ProxyStats {
    /// (fault, request path) → count.
    pub counts: Mutex<BTreeMap<(Fault, String), u64>>,
    /// Requests that found the server down.
    pub refused: AtomicU64,
}

impl ProxyStats {
    pub fn count(&self, fault: Fault, path: &str) -> u64 {
        self.counts.lock().unwrap().get(&(fault, path.to_string())).copied().unwrap_or(0)
    }

    pub fn faults(&self) -> u64 {
        self.counts.lock().unwrap().iter().filter(|((f, _), _)| *f != Fault::Pass).map(|(_, n)| n).sum()
    }
}

pub struct Proxy {
    addr: SocketAddr,
    faults_on: Arc<AtomicBool>,
    /// While set, every request is dropped unanswered, as if the server were down.
    closed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    pub stats: Arc<ProxyStats>,
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
    pub fn start(upstream: SocketAddr, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let faults_on = Arc::new(AtomicBool::new(false));
        let closed = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(ProxyStats::default());
        let (f, c, s, st) = (faults_on.clone(), closed.clone(), stop.clone(), stats.clone());
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let rng = StdRng::seed_from_u64(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let (f, c, st) = (f.clone(), c.clone(), st.clone());
                std::thread::spawn(move || handle(conn, upstream, rng, &f, &c, &st));
            }
        });
        Proxy { addr, faults_on, closed, stop, stats }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_faults(&self, on: bool) {
        self.faults_on.store(on, Ordering::SeqCst);
    }

    /// Closes the way to the server (every request dropped unanswered), or opens it again.
    pub fn set_closed(&self, closed: bool) {
        self.closed.store(closed, Ordering::SeqCst);
    }
}

fn handle(client: TcpStream, upstream: SocketAddr, mut rng: StdRng, faults_on: &AtomicBool, closed: &AtomicBool, stats: &ProxyStats) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = client.set_write_timeout(Some(Duration::from_secs(20)));
    let Ok(read_half) = client.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut client = client;
    // Every request goes upstream with `Connection: close`, so the server's answer closes the
    // connection too and a client connection carries one request.
    let Some(req) = read_request(&mut reader) else { return };
    if closed.load(Ordering::SeqCst) {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
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
