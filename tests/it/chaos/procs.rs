//! The chaos test's child processes: the server (`chaos_server`) on a fixed port and database,
//! and the terminals (`chaos_terminal`), each read line by line into a [`TermLog`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::{ADMIN, ORDERS, UNIQUE_SKU};

/// A child process, killed (SIGKILL) and reaped when dropped.
pub struct Proc(Child);

impl Proc {
    pub fn kill(mut self) {
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

/// The server process on a fixed port and database.
pub struct ServerProc {
    pub port: u16,
    /// `sqlite:PATH` or a PostgreSQL URL.
    pub database: String,
    pub log: PathBuf,
    pub proc: Option<Proc>,
    pub starts: u32,
}

impl ServerProc {
    pub fn new(port: u16, database: String, log: PathBuf) -> ServerProc {
        ServerProc { port, database, log, proc: None, starts: 0 }
    }

    /// Starts the server and waits (bounded) until it listens.
    pub fn start(&mut self) {
        assert!(self.proc.is_none(), "the server is already running");
        for attempt in 0..50 {
            let mut child = Command::new(env!("CARGO_BIN_EXE_chaos_server"))
                .args(["--database", &self.database])
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

    pub fn kill(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
        }
    }
}

/// What one terminal's processes have said, across restarts.
#[derive(Default)]
pub struct TermLog {
    pub committed: BTreeSet<String>,
    pub cancelled: BTreeSet<String>,
    /// Between `sync start` and its end line, in the current process.
    in_sync: bool,
    pub rung: bool,
    pub syncs_ok: u64,
    /// `sync err` lines by code.
    pub sync_errors: BTreeMap<String, u64>,
    /// Non-transient sync errors, in full.
    pub bad_sync_errors: Vec<String>,
    /// When set, the current process is killed this long after its next `sync start`.
    pub kill_in_sync: Option<Duration>,
    pub mid_sync_kills: u32,
    /// Orders reported while the server process was down: sold offline.
    pub offline_commits: u32,
    /// Orders that sold the unique item, and the book's refusals by code.
    pub unique_sold: BTreeSet<String>,
    pub unique_refused: BTreeMap<String, u64>,
    pub item_moves: u64,
    pub adjustments: u64,
    pub counts: u64,
}

/// The running process of a terminal and its generation (one per start).
type Slot = Arc<Mutex<Option<(u64, Proc)>>>;

pub struct Terminal {
    pub name: String,
    pub book: PathBuf,
    /// The store and terminal code the server gave it at enrolment.
    pub store: String,
    pub code: String,
    pub log: Arc<Mutex<TermLog>>,
    /// Whether the server process is running (kept by the test).
    server_up: Arc<AtomicBool>,
    stderr: PathBuf,
    proc: Slot,
    pub restart_at: Option<Instant>,
    pub starts: u64,
}

impl Terminal {
    pub fn new(name: String, book: PathBuf, store: String, code: String, stderr: PathBuf, server_up: Arc<AtomicBool>) -> Terminal {
        Terminal {
            name,
            book,
            store,
            code,
            log: Arc::new(Mutex::new(TermLog::default())),
            server_up,
            stderr,
            proc: Arc::new(Mutex::new(None)),
            restart_at: None,
            starts: 0,
        }
    }

    pub fn start(&mut self, seed: u64, pace_ms: u64) {
        let mut slot = self.proc.lock().unwrap();
        assert!(slot.is_none());
        self.starts += 1;
        let generation = self.starts;
        let mut child = Command::new(env!("CARGO_BIN_EXE_chaos_terminal"))
            .arg(&self.book)
            .arg(ORDERS.to_string())
            .arg((seed ^ generation.wrapping_mul(0x2545_F491_4F6C_DD1D)).to_string())
            .arg(pace_ms.to_string())
            .arg(UNIQUE_SKU)
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
                    (Some("unique"), Some("sold")) => {
                        l.unique_sold.insert(words.next().unwrap_or("").to_string());
                    }
                    (Some("unique"), Some("refused")) => {
                        *l.unique_refused.entry(words.next().unwrap_or("").to_string()).or_insert(0) += 1;
                    }
                    (Some("item"), _) => l.item_moves += 1,
                    (Some("adjusted"), _) => l.adjustments += 1,
                    (Some("counted"), _) => l.counts += 1,
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

    pub fn running(&self) -> bool {
        self.proc.lock().unwrap().is_some()
    }

    /// Kills the process now; true when it was in the middle of a sync.
    pub fn kill(&mut self) -> bool {
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
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let mut slot = self.proc.lock().unwrap();
        let status = slot.as_mut().and_then(|(_, p)| p.exited())?;
        *slot = None;
        Some(status)
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
