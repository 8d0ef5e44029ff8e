//! The app's managed state: the UI's order book behind a `std::sync::Mutex` (taken briefly by
//! each command, never across an await), where the book lives, and what the commands share
//! with the background sync task.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tauri::{Manager, Runtime};
use tillbook_orderbook::{Book, InitOptions, BOOK_FILE};
use tokio::sync::Notify;

use crate::error::AppResult;
use crate::transport::SyncInfo;

/// The environment variable that names the data directory (else the app data dir).
pub const DATA_DIR_ENV: &str = "TILLBOOK_DATA_DIR";

/// How many rejected events `SyncInfo` lists.
pub const REJECTIONS_SHOWN: usize = 50;
/// Orders whose sync state `SyncInfo` carries (the latest).
pub const ORDERS_SHOWN: usize = 20;

/// What the UI's commands and the sync task share.
#[derive(Debug, Default)]
pub struct SyncShared {
    /// Wakes the sync task at once (a checkout, a payment, an enrolment, `sync_now`).
    pub wake: Notify,
    /// The last round reached the server (`Some(true)`), could not (`Some(false)`), or none
    /// ran yet (`None`).
    online: Mutex<Option<bool>>,
    /// Bumped when the book's identity changes (enrolment): the sync task opens its book again.
    epoch: AtomicU64,
}

impl SyncShared {
    pub fn online(&self) -> Option<bool> {
        *self.online.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_online(&self, online: Option<bool>) {
        *self.online.lock().unwrap_or_else(|p| p.into_inner()) = online;
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The book's identity changed: the sync task reopens its book, now.
    pub fn identity_changed(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// The managed state of the app.
pub struct AppState {
    book: Mutex<Book>,
    pub data_dir: PathBuf,
    pub book_path: PathBuf,
    pub sync: Arc<SyncShared>,
}

impl AppState {
    /// Opens the book in `data_dir` (`book.sqlite`, what `tillbook --data-dir DIR` opens), or,
    /// on first start, creates a demo book there: the demo café's catalog, a shift open with
    /// the demo float and the default cashier acting, so the till sells offline at once.
    pub fn open(data_dir: &Path) -> AppResult<AppState> {
        std::fs::create_dir_all(data_dir).map_err(tillbook_orderbook::Error::from)?;
        let book_path = data_dir.join(BOOK_FILE);
        let book = if book_path.exists() {
            Book::open(&book_path)?
        } else {
            tracing::info!(path = %book_path.display(), "no book yet: creating the demo till");
            Book::init(&book_path, demo_options())?
        };
        Ok(AppState { book: Mutex::new(book), data_dir: data_dir.to_path_buf(), book_path, sync: Arc::default() })
    }

    /// The UI's book. A command holds the guard for its one call and drops it before any await.
    pub fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while holding the lock left no half-written change (every write is one
        // transaction that rolled back), so the book is still good.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the UI's book by one opened afresh (after another connection changed the
    /// book's identity: the settings a `Book` keeps are read when it opens).
    pub fn replace_book(&self, book: Book) {
        *self.book() = book;
    }

    /// The sync badge's state, read from the UI's book.
    pub fn sync_info(&self) -> AppResult<SyncInfo> {
        let book = self.book();
        sync_info(&book, self.sync.online())
    }
}

/// The sync badge's state as `book` sees it.
pub fn sync_info(book: &Book, online: Option<bool>) -> AppResult<SyncInfo> {
    let status = book.sync_status()?;
    let rejected = if status.rejected > 0 { book.rejected_events(REJECTIONS_SHOWN)? } else { Vec::new() };
    let orders = book.orders(None, ORDERS_SHOWN)?;
    Ok(SyncInfo::of(&status, &rejected, &orders, online))
}

/// The first start's book: the demo till `T01`, BRL, pt-BR.
pub fn demo_options() -> InitOptions {
    InitOptions {
        terminal_code: "T01".into(),
        currency: "BRL".into(),
        locale: "pt-BR".into(),
        demo: true,
        ..InitOptions::default()
    }
}

/// Whether `book` is a demo book (made on first start and never enrolled: its first enrolment
/// drops the demo data and sends none of it).
pub fn is_demo(book: &Book) -> AppResult<bool> {
    Ok(book.is_demo()?)
}

/// The data directory: `TILLBOOK_DATA_DIR` when set, else the app data dir
/// (`$XDG_DATA_HOME/app.tillbook.till/` on Linux).
pub fn data_dir<R: Runtime>(app: &impl Manager<R>) -> AppResult<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    app.path()
        .app_data_dir()
        .map_err(|e| crate::error::AppError::new("io", format!("no app data directory: {e}; set {DATA_DIR_ENV}")))
}
